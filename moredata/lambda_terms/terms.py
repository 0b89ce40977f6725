"""Untyped lambda terms in de Bruijn notation: the text syntax, a parser and a printer, without recursion.

Text syntax (README.md beside this file has examples):
    term   := "\\." term            a lambda; its body extends as far right as possible
            | atom atom ...         application, left-associative: `a b c` is `(a b) c`
    atom   := INDEX | "(" term ")"
    INDEX  := 0 | 1 | 2 ...         de Bruijn index, 0 = the nearest enclosing lambda
Whitespace separates indices (`0 1`) and is otherwise free. The printer writes the shortest form the
parser reads back: `\\.\\.1 (1 0)` is Church's successor body, `(\\.0 0) (\\.0 0)` is omega.

In memory a term is a flat list in prefix (Polish) order: LAM (-1) then its body, APP (-2) then function
and argument, an index as itself (>= 0). Walking that list needs no recursion (depth 1,000 and size
10,000 are ordinary) and a subterm is a slice.
"""
from __future__ import annotations

import re

from moredata.errors import InvalidArgument

LAM, APP = -1, -2
Term = list  # prefix order: LAM / APP / index

_TOKEN = re.compile(r"\\\.|\(|\)|\d+|\s+|.", re.S)


class TermSyntaxError(InvalidArgument):
    """A malformed term: the message names the position (0-based character offset) and the reason."""


def parse(text: str) -> Term:
    """The term written in `text` (see the module docstring); TermSyntaxError with position and reason."""
    # frames: [kind, start position, items]; kind "top" | "paren" | "lam"; items: prefix lists of atoms
    frames: list[list] = [["top", 0, []]]
    for m in _TOKEN.finditer(text):
        tok, pos = m.group(), m.start()
        if tok.isspace():
            continue
        if tok.isdigit():
            frames[-1][2].append([int(tok)])
        elif tok == "(":
            frames.append(["paren", pos, []])
        elif tok == "\\.":
            frames.append(["lam", pos, []])
        elif tok == ")":
            _close_lambdas(frames, pos)
            kind, start, items = frames.pop()
            if kind != "paren":
                raise TermSyntaxError(f"position {pos}: ')' without a matching '('")
            if not items:
                raise TermSyntaxError(f"position {start}: empty parentheses")
            frames[-1][2].append(_sequence(items))
        elif tok == "\\":
            raise TermSyntaxError(f"position {pos}: a lambda is written '\\.', got '\\' without '.'")
        else:
            raise TermSyntaxError(f"position {pos}: unexpected character {tok!r}")
    _close_lambdas(frames, len(text))
    kind, start, items = frames.pop()
    if kind == "paren":
        raise TermSyntaxError(f"position {start}: '(' is never closed")
    if not items:
        raise TermSyntaxError("position 0: the term is empty")
    return _sequence(items)


def _close_lambdas(frames: list[list], pos: int) -> None:
    while frames[-1][0] == "lam":
        _, start, items = frames.pop()
        if not items:
            raise TermSyntaxError(f"position {start}: a lambda without a body (at {pos})")
        frames[-1][2].append([LAM, *_sequence(items)])


def _sequence(items: list[Term]) -> Term:
    """Left-associative application of items: `a b c` = APP APP a b c in prefix order."""
    out = [APP] * (len(items) - 1)
    for it in items:
        out += it
    return out


_INDEX_TEXT = [str(i) for i in range(1024)]


def to_text(t: Term, lam: str = "\\.", space: str = " ", names: list[str] | str = _INDEX_TEXT) -> str:
    """The shortest text the parser reads back as t (a lambda in function or argument position, and an
    application in argument position, get parentheses). `lam`, `space` and `names` (index k's spelling,
    for k < len(names)) give other spellings of the same structure (compact.py)."""
    out: list[str] = []
    append = out.append
    # the current node's context (0 top/body, 1 function, 2 argument) and the text due once its subtree
    # is complete; `pending` holds the same for each argument still to come, innermost last
    ctx, suffix = 0, ""
    pending: list[tuple[int, str]] = []
    n_names = len(names)
    lam_paren = "(" + lam
    for x in t:
        if x >= 0:
            append(names[x] if x < n_names else str(x))
            if suffix:
                append(suffix)
            if pending:
                ctx, suffix = pending.pop()
        elif x == LAM:
            if ctx:
                append(lam_paren)
                suffix = ")" + suffix
            else:
                append(lam)
            ctx = 0
        else:
            if ctx == 2:
                append("(")
                pending.append((2, ")" + suffix))
            else:
                pending.append((2, suffix))
            ctx, suffix = 1, space
    return "".join(out)


def subterm_end(t: Term, i: int) -> int:
    """The index just past the subterm that starts at i."""
    need = 1
    while need:
        x = t[i]
        if x == APP:
            need += 1
        elif x >= 0:
            need -= 1
        i += 1
    return i


def lambda_depth(t: Term) -> int:
    """The lambda nesting depth: the most lambdas on one path from the root (the users' "depth").
    `\\.\\.\\.\\.\\.\\.(\\.0) 0` (a redex under 6 lambdas) has lambda depth 7, tree depth 9."""
    return profile(t)[1]


def tree_depth(t: Term) -> int:
    """Nodes on the longest path from the root (a lone index has tree depth 1)."""
    return profile(t)[0]


def profile(t: Term, at: int = -1) -> tuple[int, int, int, int]:
    """(tree depth, lambda depth, nodes above position `at`, lambdas above position `at`) in one pass
    (the last two are 0 when `at` is -1 or past the end)."""
    d = lam = best_d = best_l = above_d = above_l = 0  # d, lam: nodes and lambdas above the current node
    pending: list[tuple[int, int]] = []  # (d, lam) of each argument still to come, innermost last
    push, pop = pending.append, pending.pop
    n = len(t)
    for i in range(n):
        x = t[i]
        if i == at:
            above_d, above_l = d, lam
        if x == LAM:
            d += 1
            lam += 1
        elif x == APP:
            d += 1
            push((d, lam))  # its argument sits where its function does
        else:  # a leaf ends a path: d + 1 nodes, lam lambdas; the next node is the innermost argument
            if d >= best_d:
                best_d = d + 1
            if lam > best_l:
                best_l = lam
            if pending:
                d, lam = pop()
    return best_d, best_l, above_d, above_l


def is_closed(t: Term) -> bool:
    """No index points past the lambdas above it."""
    binders = 0
    stack: list[int] = []  # per open node: -1 for a lambda, else APP children still to come
    for x in t:
        if x == LAM:
            binders += 1
            stack.append(-1)
        elif x == APP:
            stack.append(2)
        else:
            if x >= binders:
                return False
            while stack:
                if stack[-1] == -1:
                    stack.pop()
                    binders -= 1
                    continue
                stack[-1] -= 1
                if stack[-1]:
                    break
                stack.pop()
    return True
