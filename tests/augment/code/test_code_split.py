"""Syntax-aware splits land on real boundaries: Python checked against `ast`, the other languages against
the body nodes of an independent tree-sitter walk. Inputs are real files (tests/augment/code/data)."""
import ast
import re
from pathlib import Path

import pytest

from moredata.code.languages import language_for, parser
from moredata.code.sources import SourceFile, check_source
from moredata.code.splitter import FileSplitter, SplitOptions

DATA = Path(__file__).parent / "data"
ALL = SplitOptions(max_samples_per_file=100_000, max_context_chars=0, min_completion_chars=1, max_completion_chars=10**7)


def source(rel: str) -> SourceFile:
    path = DATA / rel
    s, reason = check_source(rel, path.read_bytes(), 10**7)
    assert reason is None, reason
    return s


def byte_offset(data: bytes, line: int, col: int) -> int:
    starts = [0] + [i + 1 for i, b in enumerate(data) if b == 10]
    return starts[line - 1] + col


@pytest.mark.parametrize("rel", ["python/colorsys.py", "python/textwrap.py"])
def test_python_function_completions_are_exactly_the_ast_bodies(rel):
    src = source(rel)
    data = src.data
    tree = ast.parse(src.text)
    bodies = {}
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = byte_offset(data, fn.body[0].lineno, fn.body[0].col_offset)
            b = byte_offset(data, fn.body[-1].end_lineno, fn.body[-1].end_col_offset)
            bodies[(fn.name, fn.lineno)] = data[a:b].decode()
    samples = [s for s in FileSplitter(ALL).split(src) if s.kind == "function"]
    assert len(samples) == len(bodies) > 5
    for s in samples:
        assert s.completion == bodies[(s.name, s.start_line)]
        # the context is the file up to and including the signature, so context + completion is a prefix
        assert src.text.startswith(s.context + s.completion)
        assert re.findall(r"\bdef (\w+)\(", s.context)[-1] == s.name  # the last signature is this function's
        assert s.language == "python" and s.path == rel and s.end_line >= s.start_line


def test_python_docstring_samples_hold_the_docstring_and_code_without_it():
    src = source("python/textwrap.py")
    docs = {}
    for fn in ast.walk(ast.parse(src.text)):
        if isinstance(fn, (ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(fn, clean=False):
            docs[(fn.name, fn.lineno)] = ast.get_docstring(fn, clean=False)
    samples = [s for s in FileSplitter(ALL).split(src) if s.kind == "docstring"]
    assert len(samples) >= 10
    for s in samples:
        assert ast.literal_eval(s.completion) == docs[(s.name, s.start_line)]
        assert s.completion not in s.context
        ast.parse(s.context)  # the definition, dedented, still parses without its docstring


def test_python_class_completion_is_the_remaining_members():
    src = source("python/textwrap.py")
    classes = [s for s in FileSplitter(ALL).split(src) if s.kind == "class"]
    assert [c.name for c in classes] == ["TextWrapper"]
    c = classes[0]
    # header and the first members in the context, the rest (through the last member) in the completion
    assert "class TextWrapper" in c.context and src.text.startswith(c.context + c.completion)
    assert not c.completion[0].isspace() and c.completion.endswith('return "\\n".join(self.wrap(text))')


def body_spans(language: str, data: bytes) -> set[tuple[int, int]]:
    """Every node that is some definition's `body` field, found by walking the whole tree."""
    spans, stack = set(), [parser(language).parse(data).root_node]
    while stack:
        n = stack.pop()
        body = n.child_by_field_name("body")
        if body is not None:
            spans.add((body.start_byte, body.end_byte))
        stack.extend(n.children)
    return spans


@pytest.mark.parametrize("rel, min_functions", [
    ("go/builder.go", 8), ("go/search.go", 5), ("rust/time.rs", 30), ("java/StringJoiner.java", 8),
    ("js/ms.js", 4), ("ts/tiny-invariant.ts", 1), ("c/realpath.c", 1), ("cpp/extension.cpp", 3),
])
def test_brace_language_completions_are_body_nodes(rel, min_functions):
    src = source(rel)
    data = src.data
    spans = body_spans(src.language, data)
    samples = FileSplitter(ALL).split(src)
    functions = [s for s in samples if s.kind == "function"]
    assert len(functions) >= min_functions
    for s in functions:
        a, b = s.meta["completion_span"]
        assert (a, b) in spans  # first and last byte are a body node's
        assert s.completion == data[a:b].decode() and s.completion[0] == "{" and s.completion[-1] == "}"
        assert data.decode().startswith(s.context + s.completion)
        assert s.name and s.name in s.context


def test_class_and_doc_comment_kinds_in_other_languages():
    java = FileSplitter(ALL).split(source("java/StringJoiner.java"))
    assert any(s.kind == "class" and s.name == "StringJoiner" for s in java)
    docs = [s for s in java if s.kind == "docstring"]
    assert docs and all(s.completion.startswith("/**") and s.completion.endswith("*/") for s in docs)
    assert all(s.completion not in s.context for s in docs)
    rust = FileSplitter(ALL).split(source("rust/time.rs"))
    assert any(s.kind == "class" and s.name == "Duration" for s in rust)  # impl Duration { ... }
    # doc comments above an attribute (#[inline], #[must_use]) still belong to the function
    assert sum(s.kind == "docstring" for s in rust) >= 20
    go = FileSplitter(ALL).split(source("go/builder.go"))
    assert any(s.kind == "docstring" and s.completion.startswith("//") for s in go)


def test_clean_definitions_are_taken_from_a_file_that_does_not_parse():
    text = (DATA / "python/colorsys.py").read_text()
    samples = FileSplitter(ALL).split(SourceFile("broken.py", "python", text + "\ndef broken(:\n    return )\n"))
    assert {s.name for s in samples if s.kind == "function"} == {"rgb_to_yiq", "yiq_to_rgb", "rgb_to_hls", "hls_to_rgb",
                                                                  "_v", "rgb_to_hsv", "hsv_to_rgb"}
    assert all(s.meta["parses"] is False for s in samples)


def test_a_file_without_clean_definitions_falls_back_to_a_statement_boundary():
    text = (DATA / "python/colorsys.py").read_text()
    broken = text[: text.index("\ndef ")] + "\nx = (1,\n"  # the module's statements, then an unclosed tuple
    src = SourceFile("broken.py", "python", broken)
    samples = FileSplitter(ALL).split(src)
    assert [s.kind for s in samples] == ["fallback"]
    s = samples[0]
    assert s.context + s.completion == broken[: len(s.context) + len(s.completion)]
    assert s.context.endswith("\n") and not s.completion[0].isspace()  # a top-level statement starts there
    assert 0.2 * len(broken) <= len(s.context) <= 0.8 * len(broken)
    assert s.meta["parses"] is False


def test_samples_per_file_are_capped_reproducibly():
    src = source("rust/time.rs")
    few = FileSplitter(SplitOptions(max_samples_per_file=5)).split(src, seed=3)
    assert len(few) == 5
    assert [s.start_line for s in few] == [s.start_line for s in FileSplitter(SplitOptions(max_samples_per_file=5)).split(src, seed=3)]


def test_deep_nesting_does_not_hit_the_recursion_limit():
    depth = 400
    code = "def f(x):\n" + "".join("    " * (i + 1) + f"if x > {i}:\n" for i in range(depth)) + "    " * (depth + 1) + "return x\n"
    s = FileSplitter(ALL).split(SourceFile("deep.py", "python", code))
    assert s and s[0].kind == "function"


def test_languages_by_extension():
    assert [language_for(p) for p in ("a.py", "b.ts", "c.tsx", "d.h", "e.hpp", "f.rs", "g.txt")] == \
        ["python", "typescript", "tsx", "c", "cpp", "rust", None]


def test_split_says_when_a_file_gives_no_samples(tmp_path, capsys):
    """Issue 23: `moredata-code split` on a file that does not parse printed nothing and exited 0."""
    from moredata.code.cli import main

    bad = tmp_path / "bad.py"
    bad.write_text("def (:\n  ))) {{{\n")
    with pytest.raises(SystemExit) as e:
        main(["split", str(bad)])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "no samples" in err and "python" in err and err.count("\n") == 1
    good = tmp_path / "good.py"
    good.write_text("def add(a, b):\n    '''Adds two numbers.'''\n    total = a + b\n    return total\n")
    main(["split", str(good)])
    assert '"kind": "function"' in capsys.readouterr().out


def test_the_readme_counts_the_shipped_templates():
    """The code README's "N templates in M task groups" is the file's count (it said 64 for 61)."""
    import json
    import re

    from conftest import ROOT

    book = json.loads((ROOT / "moredata" / "code" / "templates" / "instructions.json").read_text())
    said = re.search(r"(\d+) templates in (\d+) task groups", (ROOT / "moredata" / "code" / "README.md").read_text())
    assert said and (int(said[1]), int(said[2])) == (sum(len(v) for v in book.values()), len(book))
