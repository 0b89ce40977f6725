"""nanoGPT's meta.pkl (char-level vocabularies), read without running anything it might hold."""
from __future__ import annotations

import pickle
from pathlib import Path

from moredata.data.tokenizers import CharTokenizer
from moredata.errors import InvalidArgument


class _PlainUnpickler(pickle.Unpickler):
    """Admits only what pickle builds without globals (dicts, lists, strings, numbers): nanoGPT's
    meta.pkl is {'vocab_size': int, 'itos': {int: str}, 'stoi': {str: int}}. Any class or function is
    refused, so a crafted file cannot run code."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"meta.pkl may hold only plain values, not {module}.{name}")


def read_nanogpt_meta(path: Path) -> CharTokenizer:
    """The char tokenizer in a nanoGPT meta.pkl (plain values only; see _PlainUnpickler)."""
    try:
        if path.stat().st_size > 16 * 2**20:
            raise ValueError("over 16 MiB")
        with open(path, "rb") as f:
            meta = _PlainUnpickler(f).load()
        itos = meta["itos"]
        return CharTokenizer("".join(itos[i] for i in range(len(itos))))
    except (OSError, pickle.UnpicklingError, ValueError, KeyError, TypeError, EOFError, AttributeError) as e:
        raise InvalidArgument(f"{path} is not a nanoGPT char-level meta.pkl: {e}") from None
