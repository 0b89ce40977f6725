"""Syntax-aware splitting of one source file into (context, completion) samples.

Four kinds, each on a real syntactic boundary found by the language's tree-sitter queries:

- ``function``: context = the file up to and including the signature; completion = the body. In Python the
  body is the span of the block's statements (first to last, comments around them excluded: exactly what
  `ast` calls the body); in the brace languages it is the body node itself, braces included.
- ``class``: context = the file through the header and the first members; completion = the remaining members
  (and the closing brace).
- ``docstring``: the definition (dedented) without its docstring (Python) or its leading doc comment (other
  languages) -> the docstring or comment.
- ``fallback``: when a file yields no definition whose own subtree parses cleanly, a split at a top-level statement
  boundary near the middle of the file.

Contexts longer than `max_context_chars` keep their tail, cut at a line start, so a sample stays a
useful length; `meta.context_truncated` says so.
"""

from __future__ import annotations

import random
import re
import textwrap
from dataclasses import dataclass, field

import tree_sitter as ts
from pydantic import Field

from moredata.code.languages import comment_types, grammar, parser
from moredata.code.sources import SourceFile
from moredata.options import Options


class SplitOptions(Options):
    max_samples_per_file: int = Field(16, ge=1)  # definitions past this are sampled (seeded) so one huge file cannot dominate
    max_context_chars: int = Field(8192, ge=0)  # 0 keeps the whole prefix
    min_completion_chars: int = Field(16, ge=0)  # one-line trivial bodies teach little
    max_completion_chars: int = Field(8192, ge=1)


@dataclass
class CodeSample:
    kind: str  # function | class | docstring | fallback, or the augmentation's task
    language: str
    path: str
    start_line: int  # 1-based, inclusive: the definition's lines in the file
    end_line: int
    name: str
    context: str
    completion: str
    task: str = ""  # the instruction group (set by the kind or the augmentation)
    augmentation: str = ""
    instruction: str = ""
    quality: float = 0.0
    weight: float = 0.0
    meta: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)  # dataclasses.asdict deep-copies recursively: 5x slower, and meta is flat
        d["meta"] = dict(self.meta)
        return d


_COLUMN_ZERO = re.compile(rb"\n(?=[^ \t\n}])")
TASK_OF_KIND = {"function": "function_completion", "class": "class_completion", "docstring": "add_docstring",
                "fallback": "function_completion"}


def _text(data: bytes, start: int, end: int) -> str:
    return data[start:end].decode("utf-8", errors="replace")


def _definition(data: bytes, start: int, end: int) -> str:
    """A definition's text from the start of its line (so a method's body dedents with it)."""
    line = _line_start(data, start)
    return _text(data, line if not data[line:start].strip() else start, end)


def _line_start(data: bytes, pos: int) -> int:
    return data.rfind(b"\n", 0, pos) + 1


def _trim_context(text: str, limit: int, cut_already: bool = False) -> tuple[str, bool]:
    """The text's tail of at most `limit` characters, starting at a line start; (text, truncated)."""
    if limit <= 0 or (len(text) <= limit and not cut_already):
        return text, False
    cut = text.find("\n", max(0, len(text) - limit) if not cut_already else 0)
    return (text[cut + 1:] if cut >= 0 else text[-limit:]), True


def function_name(name_node: ts.Node) -> str:
    """The name of a definition; C/C++ names sit inside declarators (`*f(int)`, `A::f`)."""
    node = name_node
    while node.type in ("function_declarator", "pointer_declarator", "reference_declarator",
                        "parenthesized_declarator", "attributed_declarator"):
        inner = node.child_by_field_name("declarator")
        if inner is None:
            break
        node = inner
    return node.text.decode("utf-8", errors="replace")


def _members(body: ts.Node, comments: tuple[str, ...]) -> list[ts.Node]:
    return [c for c in body.named_children if c.type not in comments]


def python_docstring(body: ts.Node) -> ts.Node | None:
    """The docstring statement of a Python block, or None."""
    for child in body.named_children:
        if child.type == "comment":
            continue
        if child.type == "expression_statement" and child.named_child_count == 1 \
                and child.named_children[0].type in ("string", "concatenated_string"):
            return child
        return None
    return None


ATTRIBUTES = frozenset({"attribute_item", "decorator", "annotation", "marker_annotation"})


def leading_comment(defn: ts.Node, comments: tuple[str, ...]) -> tuple[int, int] | None:
    """Byte span of the comment block directly above a definition (each comment on the line above the next);
    attributes between the comment and the definition (`#[inline]`, `@Override`) are stepped over."""
    start = end = None
    row = defn.start_point[0]
    node = defn.prev_sibling
    while node is not None and node.type in ATTRIBUTES and node.end_point[0] in (row - 1, row):
        row = node.start_point[0]
        node = node.prev_sibling
    while node is not None and node.type in comments and node.end_point[0] in (row - 1, row) \
            and node.end_point[0] < defn.start_point[0]:
        start = node.start_byte
        end = end if end is not None else node.end_byte
        row = node.start_point[0]
        node = node.prev_sibling
    return None if start is None else (start, end)


class FileSplitter:
    """Splits files of one language; holds nothing but the options, so one instance serves a whole worker."""

    def __init__(self, options: SplitOptions | None = None):
        self.options = options or SplitOptions()

    def parse(self, data: bytes, language: str) -> ts.Tree:
        return parser(language).parse(data)

    def split(self, source: SourceFile, seed: int = 0, tree: ts.Tree | None = None) -> list[CodeSample]:
        data = source.data
        tree = tree or self.parse(data, source.language)
        root = tree.root_node
        limit = self.options.max_samples_per_file
        # definitions are taken from a file with parse errors too, as long as their own subtree has none
        # (C/C++ macros often confuse the grammar somewhere in a file that is otherwise fine)
        matches = [caps for _, caps in grammar(source.language).matches(root)
                   if not (caps.get("fn") or caps["cls"])[0].has_error]
        rng = random.Random(f"{seed}:{source.path}") if len(matches) > limit else None
        if rng is not None:  # choose before building any text: a huge file costs what its sample costs
            matches = [matches[i] for i in sorted(rng.sample(range(len(matches)), limit))]
        samples: list[CodeSample] = []
        for caps in matches:
            samples += self._function(source, data, caps) if "fn" in caps else self._class(source, data, caps)
        if not samples:
            fallback = self._fallback(source, data, root, seed)
            samples = [fallback] if fallback else []
        for s in samples:
            s.meta["parses"] = not root.has_error
        if len(samples) > limit:  # a function gives a completion and a docstring sample
            rng = rng or random.Random(f"{seed}:{source.path}")
            samples = [samples[i] for i in sorted(rng.sample(range(len(samples)), limit))]
        return samples

    # -- the kinds -------------------------------------------------------------------------------------
    def _sample(self, source: SourceFile, data: bytes, kind: str, defn: ts.Node, name: str,
                ctx_end: int, comp_start: int, comp_end: int, ctx_start: int = 0) -> CodeSample | None:
        completion = _text(data, comp_start, comp_end)
        o = self.options
        if not (o.min_completion_chars <= len(completion.strip()) and len(completion) <= o.max_completion_chars):
            return None
        if o.max_context_chars > 0 and ctx_end - ctx_start > o.max_context_chars:
            ctx_start = ctx_end - o.max_context_chars  # decode only the tail: at most that many characters
        context, truncated = _trim_context(_text(data, ctx_start, ctx_end), o.max_context_chars, ctx_start > 0)
        return CodeSample(kind, source.language, source.path, defn.start_point[0] + 1, defn.end_point[0] + 1, name,
                          context, completion, task=TASK_OF_KIND[kind],
                          meta={"context_truncated": truncated, "completion_span": [comp_start, comp_end],
                                "def_span": [defn.start_byte, defn.end_byte]})

    def _function(self, source: SourceFile, data: bytes, caps: dict) -> list[CodeSample]:
        comments = comment_types(source.language)
        defn, body, name = caps["fn"][0], caps["body"][0], function_name(caps["name"][0])
        if source.language == "python":
            stmts = _members(body, comments)
            if not stmts:
                return []
            start, end = stmts[0].start_byte, stmts[-1].end_byte
        else:
            start, end = body.start_byte, body.end_byte
        out = [self._sample(source, data, "function", defn, name, start, start, end),
               self._docstring(source, data, defn, body, name, comments)]
        return [s for s in out if s is not None]

    def _docstring(self, source: SourceFile, data: bytes, defn: ts.Node, body: ts.Node, name: str,
                   comments: tuple[str, ...]) -> CodeSample | None:
        if source.language == "python":
            doc = python_docstring(body)
            if doc is None or len(_members(body, comments)) < 2:
                return None  # a body that is only a docstring has nothing left to describe
            # the definition with the docstring's lines removed (they hold nothing else in real code)
            a, b = _line_start(data, doc.start_byte), data.find(b"\n", doc.end_byte)
            b = len(data) if b < 0 else b + 1
            code = _definition(data, defn.start_byte, a) + _text(data, b, defn.end_byte)
            s = self._sample(source, data, "docstring", defn, name, 0, doc.start_byte, doc.end_byte)
        else:
            span = leading_comment(defn, comments)
            if span is None:
                return None
            code = _definition(data, defn.start_byte, defn.end_byte)
            s = self._sample(source, data, "docstring", defn, name, 0, span[0], span[1])
        if s is None:
            return None
        s.context, s.meta["context_truncated"] = _trim_context(textwrap.dedent(code), self.options.max_context_chars)
        return s

    def _class(self, source: SourceFile, data: bytes, caps: dict) -> list[CodeSample]:
        defn, body = caps["cls"][0], caps["body"][0]
        members = _members(body, comment_types(source.language))
        if len(members) < 2:
            return []
        k = max(1, min(3, len(members) // 2))  # header plus the first k members -> the rest
        start = members[k].start_byte
        end = members[-1].end_byte if source.language == "python" else body.end_byte
        s = self._sample(source, data, "class", defn, function_name(caps["name"][0]), start, start, end)
        return [s] if s else []

    def _fallback(self, source: SourceFile, data: bytes, root: ts.Node, seed: int) -> CodeSample | None:
        """Split at a top-level statement boundary near the middle (ERROR regions are never a boundary)."""
        n = len(data)
        bounds = [c.start_byte for c in root.children
                  if c.type != "ERROR" and not c.is_missing and c.start_byte == _line_start(data, c.start_byte)
                  and 0.2 * n <= c.start_byte <= 0.8 * n]
        if not bounds:  # nothing parsed at top level: a line that starts at column 0 (one regex scan)
            bounds = [m.end() for m in _COLUMN_ZERO.finditer(data, int(0.2 * n), int(0.8 * n))]
        if not bounds:
            return None
        target = random.Random(f"{seed}:{source.path}:fallback").uniform(0.3, 0.7) * n
        cut = min(bounds, key=lambda b: abs(b - target))
        end = min(n, cut + self.options.max_completion_chars)
        end = data.rfind(b"\n", cut, end) + 1 if end < n else n
        if end <= cut:
            return None
        s = self._sample(source, data, "fallback", root, "", cut, cut, end)
        if s:
            s.start_line, s.end_line = data.count(b"\n", 0, cut) + 1, data.count(b"\n", 0, end) + 1
        return s
