"""Reading JSONL and .jsonl.gz files: one dict per non-blank line, bad input named by file and line.

    for n, d in numbered_jsonl(path): ...   # n: the line's number in the file (blank lines count)
    for d in read_jsonl(path): ...
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

from moredata.errors import InvalidArgument


def numbered_jsonl(path: Path):
    """(line number, dict) of every non-blank line; InvalidArgument for a folder, a missing or unreadable
    file, or a line that is not a JSON object (naming the line)."""
    path = Path(path)
    if path.is_dir():
        raise InvalidArgument(f"{path} is a directory: give a .jsonl or .jsonl.gz file")
    if not path.is_file():
        raise InvalidArgument(f"{path}: no such file")
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        d = json.loads(line)
                    except json.JSONDecodeError as e:
                        raise InvalidArgument(f"{path}:{n}: not JSON ({e.msg})") from None
                    if not isinstance(d, dict):
                        raise InvalidArgument(f"{path}:{n}: a JSON {type(d).__name__}, not an object")
                    yield n, d
    except (OSError, UnicodeDecodeError, EOFError) as e:
        raise InvalidArgument(f"{path}: unreadable ({e})") from None


def read_jsonl(path: Path):
    """The dicts of a JSONL(.gz) file (see numbered_jsonl)."""
    for _, d in numbered_jsonl(path):
        yield d
