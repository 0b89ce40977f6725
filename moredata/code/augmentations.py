"""Augmentations: new samples, each with its own task and instruction, made from a split function.

| augmentation          | languages | context -> completion                                           | task                 |
|-----------------------|-----------|-----------------------------------------------------------------|----------------------|
| `strip_comments`      | all       | the function -> the function without comments                   | refactor             |
| `plant_bug`           | all       | the function with one operator swapped -> the original          | debug                |
| `rename`              | Python    | renamed signature -> renamed body (locals and parameters only)  | function_completion  |
| `strip_type_hints`    | Python    | annotated function -> the function without annotations          | refactor             |
| `add_type_hints`      | Python    | unannotated function -> the annotated original                  | add_type_hints       |
| `implement_from_spec` | Python    | signature and docstring -> the rest of the body                 | implement_from_spec  |
| `doctest_tests`       | Python    | a top-level function with doctest examples -> a pytest test     | write_tests          |
| `explain`             | all       | code without its documentation -> the documentation's prose     | explain              |

Each applies only where it means something (a function with comments, with annotations, with doctests...).
Randomness (which operator, which names) comes from the generator passed in, seeded per sample by the caller.
"""

from __future__ import annotations

import ast
import doctest
import functools
import random
import re
import textwrap
from dataclasses import replace

import tree_sitter as ts

from moredata.code.languages import grammar, parser
from moredata.code.rewrite import (
    _function_node,
    _parse,
    plant_bug,
    rename_python_locals,
    strip_comments,
    strip_python_type_hints,
)
from moredata.code.sources import module_name
from moredata.code.splitter import CodeSample, python_docstring

AUGMENTATIONS = ("strip_comments", "plant_bug", "rename", "strip_type_hints", "add_type_hints",
                 "implement_from_spec", "doctest_tests", "explain")
TASK = {"strip_comments": "refactor", "plant_bug": "debug", "rename": "function_completion",
        "strip_type_hints": "refactor", "add_type_hints": "add_type_hints",
        "implement_from_spec": "implement_from_spec", "doctest_tests": "write_tests", "explain": "explain"}


def definition_text(data: bytes, sample: CodeSample) -> str:
    """The definition's own source, dedented (from the start of its first line, so methods dedent too)."""
    start, end = sample.meta["def_span"]
    line_start = data.rfind(b"\n", 0, start) + 1
    text = data[line_start:end].decode("utf-8", errors="replace")
    if data[line_start:start].strip():  # something else sits before the definition on its line
        text = data[start:end].decode("utf-8", errors="replace")
    return textwrap.dedent(text)


def _new(sample: CodeSample, augmentation: str, context: str, completion: str, **meta) -> CodeSample:
    return replace(sample, kind=augmentation, augmentation=augmentation, task=TASK[augmentation],
                   context=context, completion=completion, instruction="", quality=0.0, weight=0.0,
                   meta={**{k: v for k, v in sample.meta.items() if k in ("parses", "def_span")},
                         "source_kind": sample.kind, **meta})


def _docstring_prose(literal: str) -> str:
    """A docstring literal or doc comment without its quotes or comment markers."""
    text = literal.strip()
    m = re.match(r'^[rRbBuU]{0,2}("""|\'\'\'|"|\')(.*)\1$', text, re.S)
    if m:
        return textwrap.dedent(m.group(2)).strip()
    lines = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(///?!?|/\*\*?|\*/|\*(?!/))", "", line)
        lines.append(re.sub(r"\*/\s*$", "", line))
    return textwrap.dedent("\n".join(lines)).strip()


def _is_print(expr: ast.Expression) -> bool:
    body = expr.body
    return isinstance(body, ast.Call) and isinstance(body.func, ast.Name) and body.func.id == "print"


_NOT_LITERAL = object()
_LITERAL_ERRORS = (ValueError, SyntaxError, TypeError, RecursionError, MemoryError)


def _assertion(source: str, want: str) -> tuple[list[str], str]:
    """The test lines checking one example's expected output, and what they need ("capsys", "pytest" or "")."""
    try:
        value = ast.literal_eval(want)
    except _LITERAL_ERRORS:
        value = _NOT_LITERAL
    if value is _NOT_LITERAL:
        # what doctest compares: what the example printed, then the repr of its value (if not None); runs of
        # whitespace compared as one space, as doctest's NORMALIZE_WHITESPACE (array reprs wrap)
        return ["    capsys.readouterr()", f"    _value = ({source})",
                "    _shown = capsys.readouterr().out + ('' if _value is None else repr(_value))",
                f"    assert ' '.join(_shown.split()) == {' '.join(want.split())!r}"], "capsys"
    places = len(want.split(".", 1)[1].split("e")[0].split("E")[0]) if isinstance(value, float) and "." in want else 0
    if places >= 2:
        # a float written with 2+ decimals matches to that precision, as doctest's NUMBER option (0.69 for
        # 0.6956); one decimal (1.0, 0.5) is an exact value in practice and stays exact
        return [f"    assert ({source}) == pytest.approx({want}, abs=1e-{places})"], "pytest"
    op = "is" if value is None or isinstance(value, bool) else "=="
    return [f"    assert ({source}) {op} {want}"], ""  # parenthesised: `a == b` is one operand


def _doctest_test(name: str, module: str, docstring: str, top_level: frozenset[str] = frozenset()) -> str | None:
    """A pytest function from a docstring's doctest examples, importing the function, and the module's other
    top-level names the examples use, from the module it came from.

    Examples run in order, as doctest runs them, so a later one sees what an earlier one set: a one-line
    expression with a one-line expected output becomes an assertion: a literal compared by value (`assert
    (f(2)) == 4`), anything else as doctest compares it, what the example printed (pytest's `capsys`) then
    the repr of its value, whitespace runs as one space (so `array(...)` outputs need no numpy import and
    a function that prints is checked on what it prints); a float with two or more decimals to the
    precision written (`0.69` for 0.6956, as doctest's NUMBER option). Every other example (multi-line,
    `print(...)`, an output with `...` or several lines) still runs, as a plain statement; one expected to
    raise is left out. At the first example that does not parse the test stops (what follows may need it).
    None when no assertion is made or the test would not parse."""
    try:
        examples = doctest.DocTestParser().get_examples(docstring)
    except ValueError:
        return None
    lines, asserts, used, needs = [], 0, {name}, set()
    for ex in examples:
        source, want = ex.source.strip(), ex.want.strip()
        if want.startswith("Traceback"):
            continue
        try:
            ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            break
        used.update(w for w in _IDENT.findall(source) if w in top_level)
        if want and "\n" not in source and "\n" not in want and "..." not in want:
            try:
                expr = ast.parse(source, mode="eval")
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                expr = None  # a statement with output (`x = f()` does not print): run it
            if expr is not None and not _is_print(expr):
                more, need = _assertion(source, want)
                lines += more
                needs.add(need)
                asserts += 1
                continue
        lines.append(textwrap.indent(source, "    "))
    if not asserts:
        return None
    test = (("import pytest\n" if "pytest" in needs else "") + f"from {module} import {', '.join(sorted(used))}\n\n\n"
            f"def test_{name}({'capsys' if 'capsys' in needs else ''}):\n" + "\n".join(lines) + "\n")
    try:
        ast.parse(test)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return test


_IDENT = re.compile(r"(?<![.\w])[A-Za-z_]\w*")


def _python_top_level_names(data: bytes) -> frozenset[str]:
    """Names a Python module defines at top level (functions, classes, simple assignments, imports)."""
    names = set()
    for c in parser("python").parse(data).root_node.named_children:
        if c.type == "decorated_definition":
            c = c.child_by_field_name("definition") or c
        if c.type in ("function_definition", "class_definition"):
            names.add(c.child_by_field_name("name").text.decode())
        elif c.type == "expression_statement" and c.named_children and c.named_children[0].type == "assignment":
            left = c.named_children[0].child_by_field_name("left")
            if left is not None and left.type == "identifier":
                names.add(left.text.decode())
        elif c.type in ("import_statement", "import_from_statement"):
            # the names an import binds: `import a.b` binds a, `import a as x` and `from m import a as x` bind x
            module = c.child_by_field_name("module_name")
            for item in c.named_children:
                if item == module:
                    continue
                if item.type == "aliased_import":
                    names.add(item.child_by_field_name("alias").text.decode())
                elif item.type == "dotted_name":
                    names.add(item.text.decode().split(".")[0] if c.type == "import_statement"
                              else item.text.decode().rsplit(".", 1)[-1])
    return frozenset(names)


def _python_docstring_parts(code: str) -> tuple[str, str, str] | None:
    """(code up to and including the docstring line, the rest of the body, the docstring's raw content)."""
    data, tree = _parse(code, "python")
    fn = _function_node(tree)
    if fn is None or tree.root_node.has_error:
        return None
    body = fn.child_by_field_name("body")
    doc = python_docstring(body)
    if doc is None:
        return None
    rest = [c for c in body.named_children if c.start_byte > doc.end_byte and c.type != "comment"]
    if not rest:
        return None
    raw = "".join(c.text.decode() for c in ts.QueryCursor(_string_content_query()).captures(doc).get("c", []))
    head = data[:rest[0].start_byte].decode()
    return head, data[rest[0].start_byte:rest[-1].end_byte].decode(), raw


@functools.lru_cache(maxsize=1)
def _string_content_query() -> ts.Query:
    return ts.Query(grammar("python").language, "(string_content) @c")


def augment(sample: CodeSample, data: bytes, rng: random.Random,
            enabled: tuple[str, ...] = AUGMENTATIONS, module: str = "") -> list[CodeSample]:
    """The augmented samples of one split sample (function and docstring kinds; others have none).
    `module`: the dotted module the file is imported by (`SourceFile.module`; from the path when empty)."""
    out: list[CodeSample] = []
    if sample.kind == "docstring" and "explain" in enabled:
        prose = _docstring_prose(sample.completion)
        if len(prose) >= 20:
            out.append(_new(sample, "explain", sample.context, prose))
    if sample.kind != "function" or "def_span" not in sample.meta:
        return out
    code = definition_text(data, sample)
    lang = sample.language
    if "strip_comments" in enabled:
        stripped = strip_comments(code, lang)
        if stripped and stripped.strip() != code.strip():
            out.append(_new(sample, "strip_comments", code, stripped))
    if "plant_bug" in enabled:
        bug = plant_bug(code, lang, rng)
        if bug:
            out.append(_new(sample, "plant_bug", bug[0], code, change=bug[1]))
    if lang != "python":
        return out
    if "rename" in enabled:
        renamed = rename_python_locals(code, rng)
        if renamed:
            text, mapping = renamed
            rdata, rtree = _parse(text, "python")
            fn = _function_node(rtree)
            stmts = [c for c in fn.child_by_field_name("body").named_children if c.type != "comment"]
            if stmts:
                start, end = stmts[0].start_byte, stmts[-1].end_byte
                out.append(_new(sample, "rename", rdata[:start].decode(), rdata[start:end].decode(), renamed=mapping))
    if "strip_type_hints" in enabled or "add_type_hints" in enabled:
        plain = strip_python_type_hints(code)
        if plain:
            if "strip_type_hints" in enabled:
                out.append(_new(sample, "strip_type_hints", code, plain))
            if "add_type_hints" in enabled:
                out.append(_new(sample, "add_type_hints", plain, code))
    if "implement_from_spec" in enabled or "doctest_tests" in enabled:
        parts = _python_docstring_parts(code)
        if parts:
            head, rest, raw = parts
            if "implement_from_spec" in enabled:
                out.append(_new(sample, "implement_from_spec", head, rest))
            top_level = data[data.rfind(b"\n", 0, sample.meta["def_span"][0]) + 1:][:4] == b"def "
            if "doctest_tests" in enabled and top_level and ">>>" in raw:
                test = _doctest_test(sample.name, module or module_name(sample.path), textwrap.dedent(raw),
                                     _python_top_level_names(data))
                if test:
                    out.append(_new(sample, "doctest_tests", code, test))
    return out
