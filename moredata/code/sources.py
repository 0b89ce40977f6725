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
    path: str  # as the user named it; when walked: the source root's name, then the path below the root
    language: str
    text: str
    module: str = ""  # Python: the dotted module a test imports it by ("" for other languages)

    @property
    def data(self) -> bytes:
        return self.text.encode("utf-8")


def line_stats(text: str) -> tuple[int, float, int]:
    """(lines, mean line length, max line length) without building a list of lines twice."""
    lines = text.splitlines() or [""]
    lengths = [len(line) for line in lines]
    return len(lines), sum(lengths) / len(lengths), max(lengths)


# node types only C++ has: a `.h` file (C's extension by default) holding any of them is read as C++
# (`extern "C"` guards are linkage specifications, which C headers have too, so they do not count)
CPP_ONLY = frozenset({
    "namespace_definition", "template_declaration", "class_specifier", "access_specifier", "qualified_identifier",
    "using_declaration", "alias_declaration", "lambda_expression", "new_expression", "delete_expression",
    "template_type", "template_function", "destructor_name", "operator_name", "throw_statement", "try_statement",
})


def header_language(data: bytes) -> str:
    """"cpp" when a header's C++ parse holds C++-only constructs, else "c"."""
    from moredata.code.languages import parser

    stack = [parser("cpp").parse(data).root_node]
    while stack:  # iterative: a deeply nested header must not hit the recursion limit
        node = stack.pop()
        if node.type in CPP_ONLY:
            return "cpp"
        stack.extend(node.children)
    return "c"


def module_name(rel: str, package_dir: str | None = None) -> str:
    """The dotted module of a Python file: its path below the source root (`json/decoder.py` ->
    `json.decoder`, `pkg/__init__.py` -> `pkg`); when the file sits in a package on disk (`package_dir`, its
    folder, has `__init__.py`), the package chain up to the first folder without one, which also covers a
    root that is itself a package (`build-dataset site-packages/pip`: `pip._vendor.rich.text`)."""
    stem = os.path.splitext(os.path.basename(rel))[0]
    parts = [] if stem == "__init__" else [stem]
    if package_dir is not None and os.path.isfile(os.path.join(package_dir, "__init__.py")):
        d = os.path.abspath(package_dir)
        while os.path.isfile(os.path.join(d, "__init__.py")) and os.path.dirname(d) != d:
            parts.insert(0, os.path.basename(d))
            d = os.path.dirname(d)
    else:
        parts = [p for p in os.path.dirname(rel).replace("\\", "/").split("/") if p not in ("", ".", "..")] + parts
    return ".".join(parts) or stem


def check_source(path: str, data: bytes, max_file_bytes: int, module: str | None = None
                 ) -> tuple[SourceFile | None, str | None]:
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
    if language == "c" and path.lower().endswith(".h"):
        language = header_language(data)
    if language == "python" and module is None:
        module = module_name(path)
    return SourceFile(path, language, text, module or ""), None


def read_source(path: str, root: str, max_file_bytes: int, label: str = "") -> tuple[SourceFile | None, str | None]:
    """Read one file from disk; the size is checked before reading so a huge file costs nothing. Its sample
    path is `label/<path below root>` (label: the root's name, see root_labels)."""
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
    module = module_name(rel, os.path.dirname(path)) if language_for(path) == "python" else None
    return check_source(f"{label}/{rel}" if label else rel, data, max_file_bytes, module)


def root_labels(roots: Iterable[str]) -> dict[str, str]:
    """A short name per source root for sample paths: its last folder name, with as many parent names as
    it takes to tell it from the other roots (`a/src`, `b/src` -> `a/src`, `b/src`; `lib`, `vendor` -> as is).
    A file given as a root is labelled by its folder's name."""
    full = {r: [p for p in os.path.abspath(r if not os.path.isfile(r) else os.path.dirname(r)).split(os.sep) if p]
            for r in roots}
    labels = {}
    for r, parts in full.items():
        for k in range(1, len(parts) + 1):
            label = "/".join(parts[-k:])
            others = ["/".join(p[-k:]) for o, p in full.items() if o != r and p != parts]
            if label not in others:
                break
        labels[r] = label or "root"
    return labels


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
