"""Prepared token files (train.bin / val.bin + meta.json), as written by moredata-prepare."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def read_meta(data_dir: str | Path) -> dict:
    """meta.json, or nanoGPT's defaults for a GPT-2-BPE folder without one (uint16, vocab unknown)."""
    path = Path(data_dir) / "meta.json"
    if path.is_file():
        return json.loads(path.read_text())
    return {"vocab_size": None, "dtype": "uint16", "tokenizer": None}


def open_split(data_dir: str | Path, split: str, meta: dict | None = None) -> np.memmap:
    """The split's token ids, memory-mapped read-only (little-endian)."""
    meta = meta or read_meta(data_dir)
    path = Path(data_dir) / f"{split}.bin"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run moredata-prepare first (see README)")
    return np.memmap(path, dtype=np.dtype(meta["dtype"]).newbyteorder("<"), mode="r")
