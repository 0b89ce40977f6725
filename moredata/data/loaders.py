"""Text files -> splits -> padded DataLoaders, for the Python training API.

    train, val, test = load_and_split_data("input.txt", split_method="paragraphs", val_split=0.1, test_split=0.1)
    tok = train_tokenizer(train, kind="char")
    train_dl, val_dl = create_dataloaders(train, val, tok, batch_size=32, max_length=128)

A batch is {"input_ids": (B, T) long, "attention_mask": (B, T) long}, padded on the right with the
tokenizer's `<pad>` id (after its regular vocabulary, see moredata.data.tokenizers).

(prompt, completion) pairs (moredata.data.pairs), for `Trainer(..., completion_only_loss=True)`:
    train_dl, val_dl = create_pair_dataloaders(train_pairs, val_pairs, tok, separator="|", end="\n")
Their batches also hold "loss_mask": (B, T) long, 1 on the completion's tokens (and its end).

(source, target) pairs for the encoder-decoder (model_type `transformer`):
    train_dl, val_dl = create_seq2seq_dataloaders(train_pairs, val_pairs, tok, batch_size=32, max_length=64)
Their batches are the model's keyword arguments (Seq2SeqCollate): src_ids, src_mask, tgt_in (<cls> then the
target) and tgt_out (the target then <sep>, the end the model learns to emit; -100 on padding), so
`EncoderDecoderModel.generate(src, src_mask, bos_id=tok.cls_id, eos_id=tok.sep_id)` answers a source.
"""
from __future__ import annotations

import random
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from moredata.data.pairs import DEFAULT_END, DEFAULT_SEPARATOR, encode_pairs
from moredata.data.tokenizers import BPETokenizer, CharTokenizer
from moredata.errors import InvalidArgument

SPLIT_METHODS = ("lines", "paragraphs", "chunks")


def load_and_split_data(file_path: str | Path, split_method: str = "paragraphs", val_split: float = 0.1,
                        test_split: float = 0.0, chunk_chars: int = 512, shuffle: bool = True,
                        seed: int = 1337) -> tuple[list[str], list[str], list[str]]:
    """(train, val, test) texts. `lines`: one text per non-empty line; `paragraphs`: blank-line separated
    blocks; `chunks`: consecutive pieces of `chunk_chars` characters cut at a line end. Shuffled with the
    seed before the split unless `shuffle=False` (then val and test are the end of the file)."""
    if split_method not in SPLIT_METHODS:
        raise InvalidArgument(f"split_method must be one of {', '.join(SPLIT_METHODS)}, got {split_method!r}")
    if not (0 <= val_split < 1 and 0 <= test_split < 1 and val_split + test_split < 1):
        raise InvalidArgument(f"val_split and test_split must be in [0, 1) with a sum under 1, got "
                              f"{val_split} and {test_split}")
    try:
        text = Path(file_path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidArgument(f"cannot read {file_path}: {e}") from None
    if split_method == "lines":
        texts = [ln for ln in text.splitlines() if ln.strip()]
    elif split_method == "paragraphs":
        texts = [p.strip("\n") for p in text.split("\n\n") if p.strip()]
    else:
        texts, start = [], 0
        while start < len(text):
            end = min(len(text), start + chunk_chars)
            cut = text.rfind("\n", start + 1, end) if end < len(text) else end
            end = cut + 1 if cut > start else end
            texts.append(text[start:end])
            start = end
    if len(texts) < 3:
        raise InvalidArgument(f"{file_path} gives {len(texts)} texts with split_method={split_method!r}; need 3+")
    if shuffle:
        random.Random(seed).shuffle(texts)
    n_val, n_test = max(1, int(len(texts) * val_split)) if val_split else 0, int(len(texts) * test_split)
    train = texts[: len(texts) - n_val - n_test]
    return train, texts[len(train): len(train) + n_val], texts[len(train) + n_val:]


def train_tokenizer(texts: list[str], kind: str = "char", vocab_size: int = 4096):
    """A char-level or byte-level BPE tokenizer trained on the texts."""
    if kind == "char":
        return CharTokenizer.train("".join(texts))
    if kind == "bpe":
        return BPETokenizer.train(texts, vocab_size=vocab_size)
    raise InvalidArgument(f"tokenizer kind must be 'char' or 'bpe', got {kind!r}")


class TextDataset(Dataset):
    """Texts encoded once, truncated to `max_length` ids."""

    def __init__(self, texts: list[str], tokenizer, max_length: int):
        self.tokenizer = tokenizer
        self.ids = [torch.tensor(tokenizer.encode(t)[:max_length], dtype=torch.long) for t in texts]
        self.ids = [x for x in self.ids if x.numel() >= 2]

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.ids[i]


class PairDataset(Dataset):
    """(prompt, completion) pairs encoded once as `prompt + separator + completion + end`, each with its
    loss mask (1 on the completion and end), truncated to `max_length` ids; pairs whose completion would be
    cut off entirely are left out (nothing to learn from them)."""

    def __init__(self, pairs: list[tuple[str, str]], tokenizer, max_length: int,
                 separator: str = DEFAULT_SEPARATOR, end: str = DEFAULT_END):
        self.tokenizer = tokenizer
        self.rows = []
        for pair in pairs:
            ids, mask = encode_pairs(tokenizer, [pair], separator, end)
            ids, mask = ids[:max_length], mask[:max_length]
            if mask[1:].any():  # a target position is a completion token
                self.rows.append((torch.from_numpy(ids.astype("int64")), torch.from_numpy(mask.astype("int64"))))

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.rows[i]


class PadCollate:
    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, rows: list) -> dict:
        pairs = isinstance(rows[0], tuple)  # PairDataset rows: (ids, loss mask)
        seqs = [r[0] for r in rows] if pairs else rows
        T = max(r.numel() for r in seqs)
        ids = torch.full((len(rows), T), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), T), dtype=torch.long)
        loss_mask = torch.zeros((len(rows), T), dtype=torch.long)
        for i, r in enumerate(seqs):
            ids[i, : r.numel()] = r
            mask[i, : r.numel()] = 1
            if pairs:
                loss_mask[i, : r.numel()] = rows[i][1]
        batch = {"input_ids": ids, "attention_mask": mask}
        return batch | {"loss_mask": loss_mask} if pairs else batch


def create_pair_dataloaders(train_pairs: list[tuple[str, str]], val_pairs: list[tuple[str, str]], tokenizer,
                            batch_size: int = 32, max_length: int = 128, separator: str = DEFAULT_SEPARATOR,
                            end: str = DEFAULT_END, shuffle: bool = True, seed: int = 1337) -> tuple[DataLoader, DataLoader]:
    """Padded loaders of (prompt, completion) pairs whose batches carry a loss mask (see PairDataset)."""
    if batch_size < 1 or max_length < 2:
        raise InvalidArgument("batch_size must be at least 1 and max_length at least 2")
    train = PairDataset(train_pairs, tokenizer, max_length, separator, end)
    val = PairDataset(val_pairs, tokenizer, max_length, separator, end)
    if not len(train) or not len(val):
        raise InvalidArgument(f"train and val need at least one pair whose completion starts within "
                              f"max_length ({max_length}) tokens")
    return _loaders(train, val, tokenizer, batch_size, shuffle, seed)


def _loaders(train: Dataset, val: Dataset, tokenizer, batch_size: int, shuffle: bool, seed: int):
    collate = PadCollate(tokenizer.pad_id)
    g = torch.Generator().manual_seed(seed)
    return (DataLoader(train, batch_size=batch_size, shuffle=shuffle, collate_fn=collate, generator=g, drop_last=False),
            DataLoader(val, batch_size=batch_size, shuffle=False, collate_fn=collate))


def create_dataloaders(train_texts: list[str], val_texts: list[str], tokenizer, batch_size: int = 32,
                       max_length: int = 128, shuffle: bool = True, seed: int = 1337) -> tuple[DataLoader, DataLoader]:
    if batch_size < 1 or max_length < 2:
        raise InvalidArgument("batch_size must be at least 1 and max_length at least 2")
    train = TextDataset(train_texts, tokenizer, max_length)
    val = TextDataset(val_texts, tokenizer, max_length)
    if not len(train) or not len(val):
        raise InvalidArgument("train and val need at least one text of 2+ tokens each")
    return _loaders(train, val, tokenizer, batch_size, shuffle, seed)


class Seq2SeqDataset(Dataset):
    """(source, target) pairs encoded once: source ids (at most max_length) and target ids (at most
    max_length - 1, so the target plus its end fits); pairs with an empty side are left out."""

    def __init__(self, pairs: list[tuple[str, str]], tokenizer, max_length: int):
        self.tokenizer = tokenizer
        self.rows = []
        for i, pair in enumerate(pairs):
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(t, str) for t in pair)):
                raise InvalidArgument(f"pair {i} must be a (source, target) pair of strings, got {pair!r:.80}")
            src, tgt = tokenizer.encode(pair[0])[:max_length], tokenizer.encode(pair[1])[:max_length - 1]
            if src and tgt:
                self.rows.append((torch.tensor(src, dtype=torch.long), torch.tensor(tgt, dtype=torch.long)))

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.rows[i]


class Seq2SeqCollate:
    """Rows of (source ids, target ids) -> the encoder-decoder's keyword arguments, padded on the right."""

    def __init__(self, tokenizer):
        self.pad_id, self.bos_id, self.eos_id = tokenizer.pad_id, tokenizer.cls_id, tokenizer.sep_id

    def __call__(self, rows: list) -> dict:
        from moredata.models.encoder_only import IGNORE_INDEX

        B, S, T = len(rows), max(r[0].numel() for r in rows), max(r[1].numel() for r in rows) + 1
        src = torch.full((B, S), self.pad_id, dtype=torch.long)
        src_mask = torch.zeros((B, S), dtype=torch.long)
        tgt_in = torch.full((B, T), self.pad_id, dtype=torch.long)
        tgt_out = torch.full((B, T), IGNORE_INDEX, dtype=torch.long)
        for i, (s, t) in enumerate(rows):
            n, m = s.numel(), t.numel()
            src[i, :n], src_mask[i, :n] = s, 1
            tgt_in[i, 0], tgt_in[i, 1:m + 1] = self.bos_id, t
            tgt_out[i, :m], tgt_out[i, m] = t, self.eos_id
        return {"src_ids": src, "src_mask": src_mask, "tgt_in": tgt_in, "tgt_out": tgt_out}


def create_seq2seq_dataloaders(train_pairs: list[tuple[str, str]], val_pairs: list[tuple[str, str]], tokenizer,
                               batch_size: int = 32, max_length: int = 128, shuffle: bool = True,
                               seed: int = 1337) -> tuple[DataLoader, DataLoader]:
    """Padded loaders of (source, target) pairs for the encoder-decoder (see Seq2SeqCollate)."""
    if batch_size < 1 or max_length < 2:
        raise InvalidArgument("batch_size must be at least 1 and max_length at least 2")
    train, val = Seq2SeqDataset(train_pairs, tokenizer, max_length), Seq2SeqDataset(val_pairs, tokenizer, max_length)
    if not len(train) or not len(val):
        raise InvalidArgument("train and val need at least one pair with a non-empty source and target")
    collate, g = Seq2SeqCollate(tokenizer), torch.Generator().manual_seed(seed)
    return (DataLoader(train, batch_size=batch_size, shuffle=shuffle, collate_fn=collate, generator=g),
            DataLoader(val, batch_size=batch_size, shuffle=False, collate_fn=collate))
