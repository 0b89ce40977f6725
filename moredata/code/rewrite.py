"""Syntax-aware rewrites of one definition's code: comments, names, type hints, operators.

Each function takes source text and returns new text (or None when the rewrite does not apply), editing
byte spans that a tree-sitter parse found, so nothing inside a string literal is ever touched. The
augmentations (`augmentations.py`) turn these rewrites into new samples.
"""

from __future__ import annotations

import builtins
import keyword
import random

import tree_sitter as ts

from moredata.code.languages import STRING_TYPES, grammar, parser

# plant_bug's swaps, each within a class whose members take the same operand types, so the bug runs and is
# wrong instead of being a type error: comparison for comparison, equality for inequality, and for or
_SWAP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "==",
         "and": "or", "or": "and", "&&": "||", "||": "&&"}
_ARITH = {"+": "-", "-": "+"}  # only with a number literal on one side and no string: `i + 1`, never `"a" + s`
_BINARY = frozenset({"binary_operator", "comparison_operator", "boolean_operator", "binary_expression"})
_NUMBERS = frozenset({"integer", "float", "number_literal", "int_literal", "float_literal", "integer_literal",
                      "decimal_integer_literal", "decimal_floating_point_literal", "number"})
_INDEXES = frozenset({"subscript", "slice", "subscript_expression", "index_expression", "array_access",
                      "element_reference"})
_DIVIDES = frozenset({"/", "//", "%"})
_STRINGS = STRING_TYPES | {"concatenated_string"}  # operands beside which no arithmetic edit is type-safe
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


def _operands(parent: ts.Node) -> list[ts.Node]:
    return [c for c in parent.named_children if c.type not in ("comment", "line_comment", "block_comment")]


def _bug_candidates(root: ts.Node) -> list[tuple[int, int, str, str]]:
    """Every type-safe edit: (start, end, replacement, "old -> new")."""
    out = []
    for n in _walk(root):
        parent = n.parent
        if parent is None:
            continue
        text = n.text.decode("utf-8", "replace")
        if not n.is_named and parent.type in _BINARY:
            operands = _operands(parent)
            if text in _SWAP:
                out.append((n.start_byte, n.end_byte, _SWAP[text], f"{text} -> {_SWAP[text]}"))
            elif text in _ARITH and any(o.type in _NUMBERS for o in operands) \
                    and not any(o.type in _STRINGS for o in operands):
                out.append((n.start_byte, n.end_byte, _ARITH[text], f"{text} -> {_ARITH[text]}"))
        elif n.type in _NUMBERS and text.isdigit() and (parent.type in _BINARY or parent.type in _INDEXES):
            # an off-by-one on an integer literal; never one that makes a divisor 0, never beside a string
            siblings = _operands(parent)
            if any(o.type in _STRINGS for o in siblings):
                continue
            op = parent.child_by_field_name("operator")
            k = int(text)
            for new in (k + 1, k - 1):
                if new < 0 or (new == 0 and op is not None and op.type in _DIVIDES and op.end_byte <= n.start_byte):
                    continue
                out.append((n.start_byte, n.end_byte, str(new), f"{text} -> {new}"))
        elif parent.type == "slice" and n.is_named and n.type not in _NUMBERS and n.type not in ("comment",) \
                and n.type not in _STRINGS and n.type != "none":
            # a slice bound off by one: xs[len(xs) - k:] -> xs[len(xs) - k + 1:]
            simple = n.type in ("identifier", "call", "attribute", "subscript", "parenthesized_expression") or (
                n.type == "binary_operator" and n.child_by_field_name("operator").type in _ARITH)
            bound = text if simple else f"({text})"
            for sign in ("+", "-"):
                out.append((n.start_byte, n.end_byte, f"{bound} {sign} 1", f"{text} -> {bound} {sign} 1"))
    return out


def plant_bug(text: str, language: str, rng: random.Random) -> tuple[str, str] | None:
    """One type-safe logic bug: a comparison or boolean operator swapped within its class, `+`/`-` swapped
    beside a number, an integer literal or a slice bound off by one. (buggy code, "old -> new") or None.
    The result parses; nothing inside a string is touched."""
    data, tree = _parse(text, language)
    if tree.root_node.has_error:
        return None
    candidates = _bug_candidates(tree.root_node)
    rng.shuffle(candidates)
    for start, end, new, change in candidates[:8]:
        buggy = _edit(data, [(start, end, new.encode())])
        if not parser(language).parse(buggy).root_node.has_error:
            return buggy.decode("utf-8"), change
    return None


# -- Python: scope-aware renaming -------------------------------------------------------------------------
def _walk(node: ts.Node):
    stack = [node]
    while stack:  # iterative: deep trees must not hit the recursion limit
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


_PATTERN_TYPES = frozenset({"pattern_list", "tuple_pattern", "list_pattern", "list_splat_pattern", "tuple", "list",
                            "parenthesized_expression"})


def _pattern_names(node: ts.Node) -> list[ts.Node]:
    """Identifiers bound by an assignment target (`a`, `a, b`, `[a, *b]`), never `x.attr` or `x[i]`.
    Iterative: a target nested 1000 deep (`[[[...a...]]] = v`) must not hit the recursion limit."""
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        if n.type == "identifier":
            out.append(n)
        elif n.type in _PATTERN_TYPES:
            stack.extend(reversed(n.named_children))
    return out


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


_IMPORTS = frozenset({"import_statement", "import_from_statement", "future_import_statement"})


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
    keywords, nested_params = set(), set()
    for n in _walk(fn.child_by_field_name("body")):
        t = n.type
        if t == "identifier":
            seen.add(n.text.decode())
        elif t in ("global_statement", "nonlocal_statement"):
            excluded.update(c.text.decode() for c in n.named_children)
        elif t in _IMPORTS:  # renaming `path` would need `from os import path as x`: leave imported names be
            excluded.update(i.text.decode() for i in _walk(n) if i.type == "identifier")
        elif t == "interpolation" and any(c.type == "=" for c in n.children):
            # f"{total=}" prints the name itself: renaming it would change the output
            excluded.update(i.text.decode() for i in _walk(n) if i.type == "identifier")
        elif t == "keyword_argument":
            name = n.child_by_field_name("name")
            if name is not None:
                keywords.add(name.text.decode())
        elif t in ("function_definition", "lambda"):
            if t == "function_definition":  # a nested def binds its name too: `def to_call()` beside `to_call = f`
                excluded.add(n.child_by_field_name("name").text.decode())
            params = n.child_by_field_name("parameters")
            if params is not None:
                nested_params.update(p.text.decode() for p in _param_names(params))
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
        return set(), seen
    excluded |= keywords & nested_params  # g(x=1) calling a nested def whose parameter x would be renamed  # locals()/eval() read names as strings: renaming could change behaviour
    return {b for b in bound - excluded - _PY_RESERVED if not b.startswith("__")}, seen


def rename_python_locals(text: str, rng: random.Random, taken: set[str] = frozenset()) -> tuple[str, dict] | None:
    """Rename a Python function's parameters and locals consistently: (new code, {old: new}) or None.

    Never renames globals, attributes (`x.name`), keyword-argument names at call sites (`f(name=...)`),
    imported names and module paths, names shown by an f-string `{x=}`, keywords, builtins, `self`/`cls`,
    or anything in a function that uses `locals()`/`eval()` or defines a class.
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
        if parent.type == "dotted_name":  # import paths (their names are excluded above) and `case a.B()` patterns
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
