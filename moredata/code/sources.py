"""Reading source files: which ones the builder takes, and why it skips the others.

A file is skipped (and counted under its reason) when it is not a language the builder reads, larger than
`max_file_bytes`, binary (a NUL byte in its first 8 KiB), not UTF-8, or minified (a line over 1000
characters, or a mean line length over 100: the BigCode filters, applied to the whole file). Nothing here
raises for a bad file: the reason is the answer.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from moredata.code.languages import language_for

SKIP_REASONS = ("unsupported", "too_large", "binary", "undecodable", "minified", "empty", "unreadable")
MAX_LINE_CHARS = 1000
MAX_MEAN_LINE_CHARS = 100.0


@dataclass(frozen=True)
class SourceFile:
    path: str  # as the user named it (relative to the source root when walked)
    language: str
    text: str

    @property
    def data(self) -> bytes:
        return self.text.encode("utf-8")


def line_stats(text: str) -> tuple[int, float, int]:
    """(lines, mean line length, max line length) without building a list of lines twice."""
    lines = text.splitlines() or [""]
    lengths = [len(line) for line in lines]
    return len(lines), sum(lengths) / len(lengths), max(lengths)


def check_source(path: str, data: bytes, max_file_bytes: int) -> tuple[SourceFile | None, str | None]:
    """The decoded file, or None and the reason it is skipped."""
    language = language_for(path)
    if language is None:
        return None, "unsupported"
    if len(data) > max_file_bytes:
        return None, "too_large"
    if not data.strip():
        return None, "empty"
    if b"\0" in data[:8192]:
        return None, "binary"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "undecodable"
    _, mean_len, max_len = line_stats(text)
    if max_len > MAX_LINE_CHARS or mean_len > MAX_MEAN_LINE_CHARS:
        return None, "minified"
    return SourceFile(path, language, text), None


def read_source(path: str, root: str, max_file_bytes: int) -> tuple[SourceFile | None, str | None]:
    """Read one file from disk; the size is checked before reading so a huge file costs nothing."""
    rel = os.path.relpath(path, root) if root else path
    if language_for(path) is None:
        return None, "unsupported"
    try:
        if os.path.getsize(path) > max_file_bytes:
            return None, "too_large"
        with open(path, "rb") as f:
            data = f.read(max_file_bytes + 1)
    except OSError:
        return None, "unreadable"
    return check_source(rel, data, max_file_bytes)


def walk_sources(roots: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(path, root) for every regular file under the roots, sorted so a run is reproducible."""
    for root in roots:
        if os.path.isfile(root):
            yield root, os.path.dirname(root)
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                if os.path.isfile(path) and not os.path.islink(path):
                    yield path, root
