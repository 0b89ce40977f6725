"""Splitting documents into chunks that keep their offsets into the source.

    chunks = split(text, "semantic", min_length=200, max_length=1200)
    for c in chunks:
        text[c.start:c.end] == c.text      # always (the chunk is a slice of the source, never rewritten)
        c.headings                          # ["Install", "From source"] for semantic splits

Methods: `paragraph` (blank lines), `sentence` (sentence ends, abbreviations and decimals kept whole),
`chunk` (fixed size in characters or whitespace tokens, with overlap), `semantic` (Markdown `#` and
RST underlined headings; each chunk carries its heading path), `regex` (a user pattern whose matches
separate chunks; validated, and run with a timeout so a catastrophic pattern cannot hang the service).
Afterwards pieces shorter than `min_length` are merged into a neighbour (within the same section) and
pieces longer than `max_length` are cut at the last whitespace before the limit.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

import regex as re_timeout  # the `regex` package: like `re`, plus a timeout per call

from moredata.errors import InvalidArgument

METHODS = ("paragraph", "sentence", "chunk", "semantic", "regex")
REGEX_TIMEOUT_S = 1.0


@dataclass
class Chunk:
    start: int  # offsets into the source text: text[start:end] is the chunk
    end: int
    text: str
    headings: list[str] = field(default_factory=list)  # semantic splits: the heading path, outermost first


def _spans_to_chunks(text: str, spans: list[tuple[int, int]], headings: list[list[str]] | None = None) -> list[Chunk]:
    """Trims whitespace off each span (offsets follow) and drops empty ones."""
    out = []
    for i, (a, b) in enumerate(spans):
        piece = text[a:b]
        lead = len(piece) - len(piece.lstrip())
        trail = len(piece) - len(piece.rstrip())
        a, b = a + lead, b - trail
        if b > a:
            out.append(Chunk(a, b, text[a:b], list(headings[i]) if headings else []))
    return out


def _between(text: str, separators: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans between separator matches."""
    spans, pos = [], 0
    for a, b in separators:
        spans.append((pos, a))
        pos = b
    spans.append((pos, len(text)))
    return spans


def split_paragraphs(text: str) -> list[Chunk]:
    return _spans_to_chunks(text, _between(text, [m.span() for m in re.finditer(r"\n[ \t]*\n\s*", text)]))


# Abbreviations that end with a period but not a sentence (lower-cased, without the period)
ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "cf", "al", "fig",
                 "figs", "eq", "eqs", "no", "vol", "pp", "approx", "dept", "inc", "ltd", "co", "jan", "feb", "mar",
                 "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "ca", "resp", "ref", "refs", "sec"}
# starts only at the first of a run of end marks, and possessive: linear even on 60 KB of "....."
_SENTENCE_END = re.compile(r"(?<![.!?])[.!?]++[\"')\]]*+(?=\s|$)")


_LOOKBACK = 64  # longer than any abbreviation or initial worth checking
_LAST_WORD = re.compile(r"([\w.]+)$")
_NEXT_CHAR = re.compile(r"\S")


def split_sentences(text: str) -> list[Chunk]:
    ends = []
    # Linear time: each sentence end looks back over a bounded window for its word and forward to the
    # next non-space character; neither copies nor searches the text before or after it (that was
    # quadratic: 140 KB took 23 s, 10 MB hours).
    for m in _SENTENCE_END.finditer(text):
        word = _LAST_WORD.search(text, max(0, m.start() - _LOOKBACK), m.start())
        w = word.group(1).lower() if word else ""
        if text[m.start()] == "." and (w in ABBREVIATIONS or re.fullmatch(r"[a-z]", w)):
            continue  # "Dr. Smith", "e.g. this", "J. Smith": not an end
        following = _NEXT_CHAR.search(text, m.end())
        nxt = following.group(0) if following else ""
        if text[m.start()] == "." and nxt and nxt.islower():
            continue  # a period followed by a lower-case word is rarely a sentence end
        ends.append(m.end())
    spans, pos = [], 0
    for e in ends:
        spans.append((pos, e))
        pos = e
    spans.append((pos, len(text)))
    return _spans_to_chunks(text, spans)


def split_fixed(text: str, size: int, overlap: int = 0, unit: str = "char") -> list[Chunk]:
    """Windows of `size` characters (unit "char") or whitespace tokens (unit "token"), each starting
    `size - overlap` after the last."""
    if size < 1 or not 0 <= overlap < size:
        raise InvalidArgument(f"chunk needs size >= 1 and 0 <= overlap < size, got size={size}, overlap={overlap}")
    if unit not in ("char", "token"):
        raise InvalidArgument(f"chunk unit must be 'char' or 'token', got {unit!r}")
    step = size - overlap
    if unit == "char":
        spans = [(a, min(a + size, len(text))) for a in range(0, max(len(text) - overlap, 1), step)]
    else:
        tokens = [m.span() for m in re.finditer(r"\S+", text)]
        spans = [(tokens[i][0], tokens[min(i + size, len(tokens)) - 1][1])
                 for i in range(0, max(len(tokens) - overlap, 1), step)] if tokens else []
    return _spans_to_chunks(text, spans)


# Every pattern here matches in linear time: one way to match each line (no nested or adjacent
# quantifiers over the same characters), the fine parts done in Python on the matched line. The old
# ones were quadratic: "# a" + 40,000 spaces + "x" took 10.9 s, 60 KB of "a" 21.7 s, holding the GIL.
_MD_HEADING = re.compile(r"^(#{1,6})[ \t]+([^\n]*)$", re.M)
_RST_UNDERLINE = re.compile(r"^(?P<title>[^\n]+)\n(?P<line>([=\-~^\"'`#*+:.])\3{2,}+)[ \t]*+$", re.M)
_FENCE = re.compile(r"^```", re.M)


def _heading_title(raw: str) -> str:
    """A Markdown heading's text without its optional closing #s (which must follow a space)."""
    t = raw.rstrip(" \t")
    bare = t.rstrip("#")
    if bare != t and (not bare or bare[-1] in " \t"):
        t = bare
    return t.strip()


def _fence_spans(text: str) -> list[int]:
    """Fence starts and ends, alternating, as a sorted flat list: a position is inside a fence when an
    odd number of them lie at or before it (bisect, not a scan per heading). An unclosed fence runs
    to the end of the text."""
    marks = [m.start() for m in _FENCE.finditer(text)]
    flat = []
    for i in range(0, len(marks), 2):
        flat.append(marks[i])
        flat.append(text.find("\n", marks[i + 1]) + 1 or len(text) if i + 1 < len(marks) else len(text))
    return flat


def split_semantic(text: str) -> list[Chunk]:
    """Sections under Markdown or RST headings (code fences skipped); a section's chunk carries the path
    of headings above it. RST levels follow the order in which underline characters first appear."""
    fences = _fence_spans(text)
    in_fence = lambda pos: bisect.bisect_right(fences, pos) % 2 == 1  # noqa: E731
    heads: list[tuple[int, int, int, str]] = []  # (start, body start, level, title)
    for m in _MD_HEADING.finditer(text):
        if not in_fence(m.start()):
            heads.append((m.start(), m.end(), len(m.group(1)), _heading_title(m.group(2))))
    rst_levels: dict[str, int] = {}
    for m in _RST_UNDERLINE.finditer(text):
        title = m.group("title").strip()
        if (not title or in_fence(m.start()) or m.group("line").startswith("```")  # a fence, not an underline
                or len(m.group("line").strip()) < len(title) * 0.6):
            continue
        level = rst_levels.setdefault(m.group("line")[0], len(rst_levels) + 1)
        heads.append((m.start(), m.end(), level, m.group("title").strip()))
    heads.sort()
    spans, paths, path = [], [], []
    first = heads[0][0] if heads else len(text)
    spans.append((0, first))
    paths.append([])
    for i, (start, body, level, title) in enumerate(heads):
        path = [p for p in path if p[0] < level] + [(level, title)]
        end = heads[i + 1][0] if i + 1 < len(heads) else len(text)
        spans.append((body, end))
        paths.append([t for _, t in path])
    return _spans_to_chunks(text, spans, paths)


def split_regex(text: str, pattern: str) -> list[Chunk]:
    """Chunks between matches of a user pattern (a pattern with a capture group is fine: only the match
    span counts). A pattern that does not compile, matches the empty string, or runs past the timeout
    is a ValueError naming the problem."""
    if not pattern:
        raise InvalidArgument("regex split needs a non-empty pattern")
    try:
        compiled = re_timeout.compile(pattern)
    except re_timeout.error as e:
        raise InvalidArgument(f"invalid regex {pattern!r}: {e}") from None
    if compiled.fullmatch(""):
        raise InvalidArgument(f"regex {pattern!r} matches the empty string: it cannot separate chunks")
    try:
        seps = [m.span() for m in compiled.finditer(text, timeout=REGEX_TIMEOUT_S)]
    except TimeoutError:
        raise InvalidArgument(f"regex {pattern!r} took over {REGEX_TIMEOUT_S:g} s on this text "
                         f"(catastrophic backtracking?)") from None
    return _spans_to_chunks(text, _between(text, seps))


def _cut(c: Chunk, max_length: int) -> list[Chunk]:
    """Splits a chunk longer than max_length at the last whitespace before each limit."""
    out, a = [], 0
    text = c.text
    while len(text) - a > max_length:
        cut = text.rfind(" ", a + 1, a + max_length + 1)
        cut = text.rfind("\n", a + 1, a + max_length + 1) if cut <= a else cut
        cut = a + max_length if cut <= a else cut
        out.append((a, cut))
        a = cut
    out.append((a, len(text)))
    pieces = []
    for x, y in out:
        piece = text[x:y]
        lead = len(piece) - len(piece.lstrip())
        x, y = x + lead, y - (len(piece) - len(piece.rstrip()))
        if y > x:
            pieces.append(Chunk(c.start + x, c.start + y, text[x:y], list(c.headings)))
    return pieces


def _merge_small(text: str, chunks: list[Chunk], min_length: int, max_length: int | None) -> list[Chunk]:
    """Merges a chunk shorter than min_length into the next one of the same section (or the previous),
    unless the merge would pass max_length."""
    out: list[Chunk] = []
    for c in chunks:
        prev = out[-1] if out else None
        if prev is not None and prev.headings == c.headings and (len(prev.text) < min_length or len(c.text) < min_length) \
                and (max_length is None or c.end - prev.start <= max_length):
            out[-1] = Chunk(prev.start, c.end, text[prev.start:c.end], prev.headings)
        else:
            out.append(c)
    return out


def split(text: str, method: str = "paragraph", *, min_length: int = 0, max_length: int | None = None,
          size: int = 1000, overlap: int = 0, unit: str = "char", pattern: str = "") -> list[Chunk]:
    if method not in METHODS:
        raise InvalidArgument(f"unknown split method {method!r}; use one of {', '.join(METHODS)}")
    if min_length < 0 or (max_length is not None and (max_length < 1 or max_length < min_length)):
        raise InvalidArgument(f"need 0 <= min_length <= max_length, got {min_length}, {max_length}")
    if method == "paragraph":
        chunks = split_paragraphs(text)
    elif method == "sentence":
        chunks = split_sentences(text)
    elif method == "chunk":
        chunks = split_fixed(text, size, overlap, unit)
    elif method == "semantic":
        chunks = split_semantic(text)
    else:
        chunks = split_regex(text, pattern)
    if min_length > 0:
        chunks = _merge_small(text, chunks, min_length, max_length)
    if max_length is not None:
        chunks = [piece for c in chunks for piece in _cut(c, max_length)]
    return chunks
