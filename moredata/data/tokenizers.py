"""Tokenizers: char-level (nanoGPT's shakespeare_char) and byte-level BPE (the `tokenizers` library).

Both serialise to a plain JSON dict (`to_dict`/`tokenizer_from_dict`) that is stored beside prepared data
(`tokenizer.json`) and inside every checkpoint, so a model is usable from its checkpoint file alone.
"""
from __future__ import annotations

import json
import re
from typing import Iterable, Protocol

import numpy as np

# Special tokens for encoders (masked LM, classification): ids after the regular vocabulary, so adding them
# never moves an existing id and every checkpoint written before them still loads with the same ids.
# Text never encodes to them; decode skips them. A model that uses them has `total_vocab_size` rows.
SPECIAL_TOKENS = ("<pad>", "<mask>", "<cls>", "<sep>")


class Tokenizer(Protocol):
    kind: str
    vocab_size: int

    def encode(self, text: str) -> list[int]: ...
    def decode(self, ids: Iterable[int]) -> str: ...
    def to_dict(self) -> dict: ...


class SpecialTokens:
    """`special_ids` ({"<pad>": id, ...}) and `total_vocab_size` for a tokenizer with `vocab_size`."""

    vocab_size: int

    @property
    def special_ids(self) -> dict[str, int]:
        return {name: self.vocab_size + i for i, name in enumerate(SPECIAL_TOKENS)}

    @property
    def total_vocab_size(self) -> int:
        return self.vocab_size + len(SPECIAL_TOKENS)

    @property
    def pad_id(self) -> int:
        return self.vocab_size

    @property
    def mask_id(self) -> int:
        return self.vocab_size + 1

    @property
    def cls_id(self) -> int:
        return self.vocab_size + 2

    @property
    def sep_id(self) -> int:
        return self.vocab_size + 3

    def _regular(self, ids: Iterable[int]) -> np.ndarray:
        arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64).reshape(-1)
        return arr[(arr >= 0) & (arr < self.vocab_size)]  # special ids decode to nothing


class CharTokenizer(SpecialTokens):
    """One id per distinct character of the training text, sorted (nanoGPT's stoi/itos)."""

    kind = "char"

    def __init__(self, chars: str):
        if len(set(chars)) != len(chars):
            raise ValueError("char tokenizer alphabet has repeated characters")
        self.chars = chars
        self.stoi = {ch: i for i, ch in enumerate(chars)}
        self.vocab_size = len(chars)
        # vectorised decode: ids -> characters with one numpy take
        self._itos = np.array(list(chars), dtype=object) if chars else np.array([], dtype=object)

    @classmethod
    def train(cls, text: str) -> "CharTokenizer":
        return cls("".join(sorted(set(text))))

    def encode(self, text: str) -> list[int]:
        try:
            return [self.stoi[c] for c in text]
        except KeyError as e:
            raise ValueError(f"character {e.args[0]!r} is not in the tokenizer's alphabet") from None

    def encode_array(self, text: str) -> np.ndarray:
        """Whole-corpus encode through a lookup table on code points (no per-character dict lookups)."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        table_size = max(ord(c) for c in self.chars) + 1 if self.chars else 1
        table = np.full(max(table_size, 1), -1, dtype=np.int64)
        table[[ord(c) for c in self.chars]] = np.arange(self.vocab_size)
        if codes.size and codes.max() >= table.size:
            bad = chr(int(codes[codes >= table.size][0]))
            raise ValueError(f"character {bad!r} is not in the tokenizer's alphabet")
        ids = table[codes]
        if (ids < 0).any():
            raise ValueError(f"character {chr(int(codes[ids < 0][0]))!r} is not in the tokenizer's alphabet")
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self._itos[self._regular(ids)])

    def to_dict(self) -> dict:
        return {"kind": self.kind, "chars": self.chars}


class BPETokenizer(SpecialTokens):
    """Byte-level BPE (GPT-2 style pre-tokenisation) trained with Hugging Face `tokenizers`."""

    kind = "bpe"

    def __init__(self, tok):
        self._tok = tok
        self.vocab_size = tok.get_vocab_size()

    @classmethod
    def train(cls, texts: list[str], vocab_size: int = 4096, min_frequency: int = 2) -> "BPETokenizer":
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers import decoders, models, pre_tokenizers, trainers

        tok = HFTokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte encodes: no unknown tokens
            show_progress=False,
        )
        tok.train_from_iterator(texts, trainer=trainer)
        return cls(tok)

    def encode(self, text: str) -> list[int]:
        return self._tok.encode(text).ids

    def encode_array(self, text: str) -> np.ndarray:
        """The same ids as `encode(text)`, encoded in pieces in parallel (Rust threads).

        The pieces are cut only where the byte-level pre-tokenizer itself splits, so no merge is lost:
        between a non-space and a space (GPT-2's pattern groups a space run with the word that follows it,
        never with the word before). Cutting at line ends instead would keep a newline from merging with
        the next line's indentation, as `encode` does: train.bin would differ from what sampling sees."""
        cuts = [0]
        while cuts[-1] + _PIECE_CHARS < len(text):
            m = _WORD_THEN_SPACE.search(text, cuts[-1] + _PIECE_CHARS)
            if m is None:
                break
            cuts.append(m.end())
        cuts.append(len(text))
        encs = self._tok.encode_batch([text[a:b] for a, b in zip(cuts, cuts[1:]) if b > a])
        if not encs:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([np.asarray(e.ids, dtype=np.int64) for e in encs])

    def decode(self, ids: Iterable[int]) -> str:
        return self._tok.decode(self._regular(ids).tolist())

    def to_dict(self) -> dict:
        return {"kind": self.kind, "tokenizer_json": self._tok.to_str()}


_PIECE_CHARS = 1 << 16  # about this many characters per piece encoded in parallel
_WORD_THEN_SPACE = re.compile(r"\S(?=\s)")  # a cut after the match is a pre-tokenizer boundary


def encode_known(tokenizer, text: str) -> list[int]:
    """`tokenizer.encode(text)`, leaving out the characters a char tokenizer never saw (a query or a
    document may hold any character; a BPE tokenizer encodes every byte anyway)."""
    if isinstance(tokenizer, CharTokenizer):
        text = "".join(c for c in text if c in tokenizer.stoi)
    return tokenizer.encode(text)


def tokenizer_from_dict(d: dict) -> Tokenizer:
    from moredata.errors import InvalidArgument

    if not isinstance(d, dict):
        raise InvalidArgument(f"a tokenizer must be a JSON object, got {type(d).__name__}")
    kind = d.get("kind")
    if kind == "char":
        return CharTokenizer(d["chars"])
    if kind == "bpe":
        from tokenizers import Tokenizer as HFTokenizer

        return BPETokenizer(HFTokenizer.from_str(d["tokenizer_json"]))
    raise InvalidArgument(f"unknown tokenizer kind {kind!r} (expected 'char' or 'bpe')")


def tokenizer_from_json(text: str) -> Tokenizer:
    return tokenizer_from_dict(json.loads(text))


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 when every id fits, else uint32 (the on-disk format of train.bin/val.bin)."""
    return np.dtype(np.uint16) if vocab_size <= 2**16 else np.dtype(np.uint32)
