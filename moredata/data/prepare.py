"""prepare: text files -> train.bin / val.bin (raw token ids) + tokenizer.json + meta.json.

    moredata-prepare data/tinyshakespeare/input.txt --out_dir data/shakespeare_char
    moredata-prepare notes/*.md --tokenizer bpe --vocab_size 4096 --out_dir data/notes_bpe

As nanoGPT's shakespeare_char: the first (1 - val_fraction) of the text trains, the rest validates.
Ids are stored little-endian, uint16 when the vocabulary fits, else uint32 (meta.json says which).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from moredata.atomic import atomic_write_bytes, atomic_write_text
from moredata.cli import CliParser, exit_on_user_error
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
            val_fraction: float = 0.1, block_size: int = 256) -> dict:
    """Tokenizes `inputs` into out_dir; returns the meta dict it wrote. Raises UserError on bad input."""
    if not 0.0 < val_fraction < 1.0:
        raise UserError(f"val_fraction must be in (0, 1), got {val_fraction}")
    if block_size < 1:
        raise UserError(f"block_size must be >= 1, got {block_size}")
    text = "".join(read_text(p) for p in inputs)
    n = len(text)
    split = int(n * (1.0 - val_fraction))
    train_text, val_text = text[:split], text[split:]
    if tokenizer == "char":
        tok = CharTokenizer.train(text)
    elif tokenizer == "bpe":
        if vocab_size < 257:
            raise UserError(f"vocab_size must be >= 257 for byte-level BPE (256 bytes + merges), got {vocab_size}")
        tok = BPETokenizer.train([train_text], vocab_size=vocab_size)
    else:
        raise UserError(f"unknown tokenizer {tokenizer!r} (expected 'char' or 'bpe')")
    dtype = token_dtype(tok.vocab_size).newbyteorder("<")
    train_ids = tok.encode_array(train_text).astype(dtype)
    val_ids = tok.encode_array(val_text).astype(dtype)
    need = block_size + 1  # one (x, y) pair needs block_size + 1 consecutive tokens
    for name, ids in (("train", train_ids), ("val", val_ids)):
        if ids.size < need:
            raise UserError(
                f"corpus too short for block_size {block_size}: the {name} split has {ids.size} tokens, "
                f"needs at least {need} (add text, lower block_size or change val_fraction)"
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out_dir / "train.bin", train_ids.tobytes())
    atomic_write_bytes(out_dir / "val.bin", val_ids.tobytes())
    atomic_write_text(out_dir / "tokenizer.json", json.dumps(tok.to_dict()))
    meta = {
        "vocab_size": tok.vocab_size,
        "dtype": dtype.name,
        "tokenizer": tok.kind,
        "train_tokens": int(train_ids.size),
        "val_tokens": int(val_ids.size),
        "characters": n,
        "sources": [str(p) for p in inputs],
    }
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
    return p


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    meta = prepare(args.inputs, args.out_dir, args.tokenizer, args.vocab_size, args.val_fraction, args.block_size)
    print(
        f"prepared {args.out_dir}: {meta['tokenizer']} tokenizer, vocab {meta['vocab_size']}, "
        f"train {meta['train_tokens']:,} tokens, val {meta['val_tokens']:,} tokens ({meta['dtype']})",
        file=sys.stdout,
    )


if __name__ == "__main__":
    main()
