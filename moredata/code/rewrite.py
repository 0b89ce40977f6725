"""Syntax-aware rewrites of one definition's code: comments, names, type hints, operators.

Each function takes source text and returns new text (or None when the rewrite does not apply), editing
byte spans that a tree-sitter parse found, so nothing inside a string literal is ever touched. The
augmentations (`augmentations.py`) turn these rewrites into new samples.
"""

from __future__ import annotations

import builtins
import functools
import keyword
import random

import tree_sitter as ts

from moredata.code.languages import STRING_TYPES, grammar, parser

_OPERATORS = {
    "python": "[(binary_operator operator: _ @op) (comparison_operator operators: _ @op) (boolean_operator operator: _ @op)]",
}
_SWAP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "==", "+": "-", "-": "+",
         "and": "or", "or": "and", "&&": "||", "||": "&&", "*": "/", "//": "/"}
_PY_RESERVED = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | {"self", "cls"}
_PY_DYNAMIC = frozenset({"locals", "vars", "eval", "exec", "globals", "__class__", "super"})
# neutral replacement names; a numeric suffix is added when one is already taken
_NAMES = ("value", "item", "result", "acc", "current", "data", "entry", "elem", "arg", "temp", "total",
          "key", "node", "obj", "part", "count", "buf", "seq", "out", "aux")


def _edit(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Apply non-overlapping (start, end, replacement) edits, last first so earlier offsets stay valid."""
    for start, end, rep in sorted(edits, reverse=True):
        data = data[:start] + rep + data[end:]
    return data


def _parse(text: str, language: str) -> tuple[bytes, ts.Tree]:
    data = text.encode("utf-8")
    return data, parser(language).parse(data)


@functools.lru_cache(maxsize=None)
def _operator_query(language: str) -> ts.Query:
    g = grammar(language)
    return ts.Query(g.language, _OPERATORS.get(language, "(binary_expression operator: _ @op)"))


def strip_comments(text: str, language: str) -> str | None:
    """The code without its comments; lines left blank by a removed comment go too. None if it had none."""
    data, tree = _parse(text, language)
    if tree.root_node.has_error:
        return None
    nodes = ts.QueryCursor(grammar(language).comments).captures(tree.root_node).get("comment", [])
    if not nodes:
        return None
    edits = []
    for n in nodes:
        start, end = n.start_byte, n.end_byte
        line_start = data.rfind(b"\n", 0, start) + 1
        line_end = data.find(b"\n", end)
        line_end = len(data) if line_end < 0 else line_end
        if not data[line_start:start].strip() and not data[end:line_end].strip():
            start, end = line_start, min(len(data), line_end + 1)  # a whole-line comment: drop the line
        else:
            while start > line_start and data[start - 1:start] in (b" ", b"\t"):
                start -= 1  # the spaces before a trailing comment
            if data[end:line_end].strip() and start > line_start:  # an inline /* */ between tokens
                edits.append((start, end, b" "))  # keep one space
                continue
        edits.append((start, end, b""))
    return _edit(data, edits).decode("utf-8")


def _joins_strings(op: ts.Node) -> bool:
    """`"a" + x` is a concatenation: `-` there is a type error any compiler finds, not a logic bug."""
    return any(c.type in STRING_TYPES or c.type in ("string", "template_string", "interpreted_string_literal")
               for c in op.parent.named_children)


def plant_bug(text: str, language: str, rng: random.Random) -> tuple[str, str] | None:
    """Swap one binary operator (`<` -> `<=`, `+` -> `-`, `and` -> `or` ...): (buggy code, what changed)."""
    data, tree = _parse(text, language)
    if tree.root_node.has_error:
        return None
    ops = [n for n in ts.QueryCursor(_operator_query(language)).captures(tree.root_node).get("op", [])
           if n.type in _SWAP and not (n.type in "+-" and _joins_strings(n))]
    if not ops:
        return None
    op = rng.choice(sorted(ops, key=lambda n: n.start_byte))
    new = _SWAP[op.type]
    return _edit(data, [(op.start_byte, op.end_byte, new.encode())]).decode("utf-8"), f"{op.type} -> {new}"


# -- Python: scope-aware renaming -------------------------------------------------------------------------
def _walk(node: ts.Node):
    stack = [node]
    while stack:  # iterative: deep trees must not hit the recursion limit
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def _pattern_names(node: ts.Node) -> list[ts.Node]:
    """Identifiers bound by an assignment target (`a`, `a, b`, `[a, *b]`), never `x.attr` or `x[i]`."""
    if node.type == "identifier":
        return [node]
    if node.type in ("pattern_list", "tuple_pattern", "list_pattern", "list_splat_pattern", "tuple", "list",
                     "parenthesized_expression"):
        return [i for c in node.named_children for i in _pattern_names(c)]
    return []


def _param_names(params: ts.Node) -> list[ts.Node]:
    out = []
    for p in params.named_children:
        if p.type == "identifier":
            out.append(p)
        elif p.type in ("default_parameter", "typed_default_parameter"):
            out.append(p.child_by_field_name("name"))
        elif p.type in ("typed_parameter", "list_splat_pattern", "dictionary_splat_pattern"):
            ident = next((c for c in p.named_children if c.type == "identifier"), None)
            if ident is not None:
                out.append(ident)
    return [n for n in out if n is not None and n.type == "identifier"]


def _function_node(tree: ts.Tree) -> ts.Node | None:
    for c in tree.root_node.named_children:
        if c.type == "decorated_definition":
            c = c.child_by_field_name("definition")
        if c is not None and c.type == "function_definition":
            return c
    return None


def python_locals(fn: ts.Node) -> tuple[set[str], set[str]]:
    """(parameter and local names safe to rename, every identifier in the function)."""
    params = {n.text.decode() for n in _param_names(fn.child_by_field_name("parameters"))}
    bound, excluded, seen = set(params), set(), set()
    for n in _walk(fn.child_by_field_name("body")):
        t = n.type
        if t == "identifier":
            seen.add(n.text.decode())
        elif t in ("global_statement", "nonlocal_statement"):
            excluded.update(c.text.decode() for c in n.named_children)
        elif t == "class_definition":
            return set(), seen  # class bodies turn locals into attributes: leave such functions alone
        elif t in ("assignment", "augmented_assignment", "for_statement", "for_in_clause"):
            bound.update(i.text.decode() for i in _pattern_names(n.child_by_field_name("left")))
        elif t == "named_expression":
            bound.add(n.child_by_field_name("name").text.decode())
        elif t == "as_pattern":
            alias = n.child_by_field_name("alias")
            if alias is not None:
                bound.update(i.text.decode() for i in _pattern_names(alias.named_children[0] if alias.named_children else alias))
    if seen & _PY_DYNAMIC:
        return set(), seen  # locals()/eval() read names as strings: renaming could change behaviour
    return {b for b in bound - excluded - _PY_RESERVED if not b.startswith("__")}, seen


def rename_python_locals(text: str, rng: random.Random, taken: set[str] = frozenset()) -> tuple[str, dict] | None:
    """Rename a Python function's parameters and locals consistently: (new code, {old: new}) or None.

    Never renames globals, attributes (`x.name`), keyword-argument names at call sites (`f(name=...)`),
    keywords, builtins, `self`/`cls`, or anything in a function that uses `locals()`/`eval()` or defines a class.
    """
    data, tree = _parse(text, "python")
    fn = _function_node(tree)
    if tree.root_node.has_error or fn is None:
        return None
    names, seen = python_locals(fn)
    if not names:
        return None
    used = set(seen) | set(taken) | {fn.child_by_field_name("name").text.decode()}
    pool = list(_NAMES)
    rng.shuffle(pool)
    mapping = {}
    for i, old in enumerate(sorted(names)):
        new, k = pool[i % len(pool)], 1
        while new in used or new in _PY_RESERVED:
            k += 1
            new = f"{pool[i % len(pool)]}{k}"
        used.add(new)
        mapping[old] = new
    edits = []
    for n in _walk(fn):
        if n.type != "identifier" or n.text.decode() not in mapping:
            continue
        parent = n.parent
        if parent.type == "attribute" and parent.child_by_field_name("attribute") == n:
            continue
        if parent.type == "keyword_argument" and parent.child_by_field_name("name") == n:
            continue
        if parent.type == "function_definition" and parent.child_by_field_name("name") == n:
            continue
        edits.append((n.start_byte, n.end_byte, mapping[n.text.decode()].encode()))
    return _edit(data, edits).decode("utf-8"), mapping


def strip_python_type_hints(text: str) -> str | None:
    """The code without parameter, return and variable annotations; None when there were none."""
    data, tree = _parse(text, "python")
    if tree.root_node.has_error:
        return None
    edits = []
    for n in _walk(tree.root_node):
        if n.type in ("typed_parameter", "typed_default_parameter"):
            typ = n.child_by_field_name("type")
            name = n.child_by_field_name("name") if n.type == "typed_default_parameter" else n.named_children[0]
            if typ is not None and name is not None:
                edits.append((name.end_byte, typ.end_byte, b""))
                if n.type == "typed_default_parameter":  # `x: int = 1` -> `x=1` (PEP 8 for unannotated)
                    value = n.child_by_field_name("value")
                    edits[-1] = (name.end_byte, value.start_byte, b"=")
        elif n.type == "function_definition":
            ret = n.child_by_field_name("return_type")
            if ret is not None:
                params = n.child_by_field_name("parameters")
                edits.append((params.end_byte, ret.end_byte, b""))
        elif n.type == "assignment" and n.child_by_field_name("type") is not None:
            left, typ, right = (n.child_by_field_name(k) for k in ("left", "type", "right"))
            if right is not None:  # `x: int = 1` -> `x = 1`; a bare `x: int` declaration stays
                edits.append((left.end_byte, right.start_byte, b" = "))
    if not edits:
        return None
    return _edit(data, edits).decode("utf-8")
