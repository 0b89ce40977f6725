"""prepare: text files -> train.bin / val.bin (raw token ids) + tokenizer.json + meta.json.

    moredata-prepare data/tinyshakespeare/input.txt --out_dir data/shakespeare_char
    moredata-prepare notes/*.md --tokenizer bpe --vocab_size 4096 --out_dir data/notes_bpe
    moredata-prepare steps.jsonl --pairs --prompt_key input --completion_key target --separator '|' \
        --end $'\n' --out_dir data/lambda       # (prompt, completion) pairs: + a loss mask per split

As nanoGPT's shakespeare_char: the first (1 - val_fraction) of the text trains, the rest validates.
Ids are stored little-endian, uint16 when the vocabulary fits, else uint32 (meta.json says which).
With --pairs the inputs are JSONL(.gz) of pairs (moredata/data/pairs.py), split by pairs, and each split
also gets `<split>.loss_mask.bin` (uint8, 1 on completion tokens) for `completion_only_loss`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from moredata.atomic import atomic_write_bytes, atomic_write_text
from moredata.cli import CliParser, exit_on_user_error
from moredata.data.pairs import DEFAULT_END, DEFAULT_SEPARATOR, encode_pieces, pair_pieces, read_pairs
from moredata.data.tokenizers import BPETokenizer, CharTokenizer, token_dtype
from moredata.errors import UserError


def read_text(path: Path) -> str:
    """Reads a UTF-8 text file, refusing empty, binary and non-UTF-8 input with the reason."""
    if not path.is_file():
        raise UserError(f"input file not found: {path}")
    raw = path.read_bytes()
    if not raw.strip():
        raise UserError(f"input file is empty: {path}")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise UserError(f"input file looks binary (NUL byte at offset {nul}): {path}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"input file is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}): {path}") from None


def prepare(inputs: list[Path], out_dir: Path, tokenizer: str = "char", vocab_size: int = 4096,
            val_fraction: float = 0.1, block_size: int = 256, pairs: bool = False, prompt_key: str = "prompt",
            completion_key: str = "completion", separator: str = DEFAULT_SEPARATOR, end: str = DEFAULT_END) -> dict:
    """Tokenizes `inputs` into out_dir; returns the meta dict it wrote. Raises UserError on bad input.
    With `pairs`, the inputs are JSONL of (prompt, completion) pairs and each split gets a loss mask."""
    if not 0.0 < val_fraction < 1.0:
        raise UserError(f"val_fraction must be in (0, 1), got {val_fraction}")
    if block_size < 1:
        raise UserError(f"block_size must be >= 1, got {block_size}")
    if tokenizer not in ("char", "bpe"):
        raise UserError(f"unknown tokenizer {tokenizer!r} (expected 'char' or 'bpe')")
    if tokenizer == "bpe" and vocab_size < 257:
        raise UserError(f"vocab_size must be >= 257 for byte-level BPE (256 bytes + merges), got {vocab_size}")
    if pairs:
        rows = [p for path in inputs for p in read_pairs(path, prompt_key, completion_key)]
        if len(rows) < 2:
            raise UserError(f"--pairs needs at least 2 pairs (one to train, one to validate), got {len(rows)}")
        cut = min(len(rows) - 1, max(1, int(len(rows) * (1.0 - val_fraction))))
        # each split as alternating (prompt + separator, completion + end) pieces, built once
        splits = {"train": pair_pieces(rows[:cut], separator, end), "val": pair_pieces(rows[cut:], separator, end)}
        train_text = "".join(splits["train"])
        text = train_text + "".join(splits["val"])
    else:
        text = "".join(read_text(p) for p in inputs)
        split = int(len(text) * (1.0 - val_fraction))
        train_text = text[:split]
        splits = {"train": train_text, "val": text[split:]}
    tok = CharTokenizer.train(text) if tokenizer == "char" else BPETokenizer.train([train_text], vocab_size=vocab_size)
    dtype = token_dtype(tok.vocab_size).newbyteorder("<")
    encoded = {}
    for name, part in splits.items():
        ids, mask = encode_pieces(tok, part) if pairs else (tok.encode_array(part), None)
        encoded[name] = (ids.astype(dtype), mask)
    need = block_size + 1  # one (x, y) pair needs block_size + 1 consecutive tokens
    for name, (ids, _) in encoded.items():
        if ids.size < need:
            raise UserError(
                f"corpus too short for block_size {block_size}: the {name} split has {ids.size} tokens, "
                f"needs at least {need} (add text, lower block_size or change val_fraction)"
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, (ids, mask) in encoded.items():
        atomic_write_bytes(out_dir / f"{name}.bin", ids.tobytes())
        if mask is not None:
            atomic_write_bytes(out_dir / f"{name}.loss_mask.bin", mask.tobytes())
        elif (out_dir / f"{name}.loss_mask.bin").exists():  # a mask of earlier pairs would not fit this text
            (out_dir / f"{name}.loss_mask.bin").unlink()
    atomic_write_text(out_dir / "tokenizer.json", json.dumps(tok.to_dict()))
    meta = {
        "vocab_size": tok.vocab_size,
        "dtype": dtype.name,
        "tokenizer": tok.kind,
        "train_tokens": int(encoded["train"][0].size),
        "val_tokens": int(encoded["val"][0].size),
        "characters": len(text),
        "sources": [str(p) for p in inputs],
    }
    if pairs:
        meta |= {"loss_mask": True, "train_pairs": len(splits["train"]) // 2, "val_pairs": len(splits["val"]) // 2,
                 "separator": separator, "end": end,
                 "completion_tokens": {k: int(m.sum()) for k, (_, m) in encoded.items()}}
    atomic_write_text(out_dir / "meta.json", json.dumps(meta, indent=2))
    return meta


def build_parser() -> argparse.ArgumentParser:
    p = CliParser(prog="moredata-prepare", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("inputs", nargs="+", type=Path, help="UTF-8 text files, concatenated in order")
    p.add_argument("--out_dir", type=Path, required=True, help="where train.bin, val.bin, tokenizer.json go")
    p.add_argument("--tokenizer", default="char", choices=["char", "bpe"], help="char-level or byte-level BPE")
    p.add_argument("--vocab_size", type=int, default=4096, help="BPE vocabulary size (ignored for char)")
    p.add_argument("--val_fraction", type=float, default=0.1, help="share of the text (its end) kept for validation")
    p.add_argument("--block_size", type=int, default=256, help="context length the data must support")
    p.add_argument("--pairs", action="store_true", help="inputs are JSONL(.gz) of (prompt, completion) pairs: "
                   "also write a loss mask per split, for the trainer's completion_only_loss")
    p.add_argument("--prompt_key", default="prompt", help="with --pairs: the prompt's JSON field (or fields, "
                   "comma-separated, joined by a newline: instruction,context for moredata-code samples)")
    p.add_argument("--completion_key", default="completion", help="with --pairs: the completion's JSON field")
    p.add_argument("--separator", default=DEFAULT_SEPARATOR, help="with --pairs: text between prompt and completion")
    p.add_argument("--end", default=DEFAULT_END, help="with --pairs: text after each completion (in the loss: "
                   "the model learns to stop)")
    return p


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    meta = prepare(args.inputs, args.out_dir, args.tokenizer, args.vocab_size, args.val_fraction, args.block_size,
                   args.pairs, args.prompt_key, args.completion_key, args.separator, args.end)
    print(
        f"prepared {args.out_dir}: {meta['tokenizer']} tokenizer, vocab {meta['vocab_size']}, "
        f"train {meta['train_tokens']:,} tokens, val {meta['val_tokens']:,} tokens ({meta['dtype']})",
        file=sys.stdout,
    )


if __name__ == "__main__":
    main()
