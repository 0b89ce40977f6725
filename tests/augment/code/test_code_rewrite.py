"""Augmentations on real code: renamed Python parses and behaves the same, comment stripping never touches
strings, type hints come off cleanly, a planted bug is exactly one operator."""
import ast
import random
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from moredata.code.augmentations import augment, definition_text
from moredata.code.languages import STRING_TYPES, parser
from moredata.code.rewrite import plant_bug, rename_python_locals, strip_comments, strip_python_type_hints
from moredata.code.sources import SourceFile
from moredata.code.splitter import FileSplitter, SplitOptions

DATA = Path(__file__).parent / "data"
ALL = SplitOptions(max_samples_per_file=10_000, max_context_chars=0, min_completion_chars=1, max_completion_chars=10**7)


def functions(rel: str):
    text = (DATA / rel).read_text()
    src = SourceFile(rel, {"py": "python", "go": "go", "js": "javascript", "java": "java", "rs": "rust", "c": "c",
                           "cpp": "cpp", "ts": "typescript"}[rel.rsplit(".", 1)[1]], text)
    return src, [s for s in FileSplitter(ALL).split(src) if s.kind == "function"]


def strings(code: str, language: str) -> Counter:
    out, stack = Counter(), [parser(language).parse(code.encode()).root_node]
    while stack:
        n = stack.pop()
        if n.type in STRING_TYPES:
            out[n.text] += 1
            continue
        stack.extend(n.children)
    return out


def test_renamed_colorsys_functions_parse_and_behave_the_same():
    import colorsys

    src, fns = functions("python/colorsys.py")
    rng = random.Random(0)
    points = [(rng.random(), rng.random(), rng.random()) for _ in range(200)]
    renamed_any = 0
    for s in fns:
        code = definition_text(src.data, s)
        out = rename_python_locals(code, random.Random(1))
        if out is None:
            continue
        new, mapping = out
        renamed_any += 1
        tree = ast.parse(new)
        fn = tree.body[0]
        assert fn.name == s.name  # the function keeps its name; its parameters and locals do not
        assert {a.arg for a in fn.args.args}.isdisjoint(mapping) and mapping
        namespace = dict(vars(colorsys))  # the module's globals (ONE_THIRD, _v, ...) as the original sees them
        exec(compile(tree, "renamed", "exec"), namespace)
        for p in points:
            assert namespace[s.name](*p[: fn.args.args.__len__()]) == getattr(colorsys, s.name)(*p[: len(fn.args.args)])
    assert renamed_any >= 6


def test_rename_leaves_globals_attributes_keywords_and_builtins_alone():
    code = textwrap.dedent('''
        def f(items, key=None):
            global COUNT
            COUNT += 1
            total = len(items)
            for item in items:
                total += item.size + sorted(items, key=key)[0].size
            return dict(total=total, key=key)
    ''').strip() + "\n"
    new, mapping = rename_python_locals(code, random.Random(3))
    assert set(mapping) == {"items", "key", "total", "item"}
    assert "global COUNT" in new and "COUNT += 1" in new  # a global
    assert ".size" in new and "len(" in new and "sorted(" in new and "dict(" in new  # attributes, builtins
    assert f"key={mapping['key']}" in new and f"total={mapping['total']}" in new  # call keywords keep their names
    namespace = {"COUNT": 0}
    exec(new, namespace)

    class Box:
        def __init__(self, size):
            self.size = size

    size = lambda b: b.size  # noqa: E731
    original = {"COUNT": 0}
    exec(code, original)
    boxes = [Box(2), Box(1), Box(5)]
    # called positionally: parameter names are part of what was renamed
    assert namespace["f"](boxes, size) == original["f"](boxes, size) == {"total": 3 + (2 + 1) + (1 + 1) + (5 + 1), "key": size}
    assert namespace["COUNT"] == original["COUNT"] == 1


def test_functions_using_locals_or_defining_classes_are_not_renamed():
    assert rename_python_locals("def f(a):\n    b = a\n    return locals()\n", random.Random(0)) is None
    assert rename_python_locals("def f(a):\n    class C:\n        x = a\n    return C\n", random.Random(0)) is None


@pytest.mark.parametrize("rel", ["python/textwrap.py", "go/builder.go", "js/ms.js", "java/StringJoiner.java",
                                 "rust/time.rs", "c/realpath.c"])
def test_comment_stripping_leaves_strings_intact(rel):
    text = (DATA / rel).read_text()
    language = {"py": "python", "go": "go", "js": "javascript", "java": "java", "rs": "rust", "c": "c"}[rel.rsplit(".", 1)[1]]
    stripped = strip_comments(text, language)
    assert stripped is not None and len(stripped) < len(text)
    tree = parser(language).parse(stripped.encode())
    assert not tree.root_node.has_error
    assert strings(stripped, language) == strings(text, language)  # every literal, byte for byte
    # and no comment survives
    stack, comments = [tree.root_node], 0
    while stack:
        n = stack.pop()
        comments += n.type in ("comment", "line_comment", "block_comment")
        stack.extend(n.children)
    assert comments == 0


def test_comment_markers_inside_strings_are_not_comments():
    code = 's = "# not a comment"  # a comment\nt = \'\'\'\n# still a string\n\'\'\'\n'
    assert strip_comments(code, "python") == 's = "# not a comment"\nt = \'\'\'\n# still a string\n\'\'\'\n'
    js = 'const u = "http://x.org"; // a comment\nconst r = /\\/\\/ not a comment/;\n'
    assert strip_comments(js, "javascript") == 'const u = "http://x.org";\nconst r = /\\/\\/ not a comment/;\n'


def test_type_hints_come_off_and_the_code_still_parses():
    code = textwrap.dedent('''
        def f(a: int, b: list[str] = None, *args: int, **kw: dict) -> dict[str, int]:
            n: int = len(a)
            m: float
            return {"n": n}
    ''')
    plain = strip_python_type_hints(code)
    fn = ast.parse(plain).body[0]
    assert fn.returns is None and all(a.annotation is None for a in fn.args.args)
    assert fn.args.vararg.annotation is None and fn.args.kwarg.annotation is None
    assert "n = len(a)" in plain and "b=None" in plain and "m: float" in plain  # a bare declaration stays
    assert strip_python_type_hints("def f(a, b=1):\n    return a\n") is None


@pytest.mark.parametrize("rel", ["python/colorsys.py", "go/search.go", "java/StringJoiner.java", "js/ms.js"])
def test_a_planted_bug_is_one_swapped_operator(rel):
    src, fns = functions(rel)
    planted = 0
    for s in fns:
        code = definition_text(src.data, s)
        out = plant_bug(code, s.language, random.Random(s.start_line))
        if out is None:
            continue
        buggy, change = out
        planted += 1
        assert not parser(s.language).parse(buggy.encode()).root_node.has_error
        old, new = change.split(" -> ")
        assert buggy != code and len(buggy) - len(code) == len(new) - len(old)
    assert planted >= 2


def test_augment_makes_samples_with_their_own_tasks():
    src, fns = functions("python/textwrap.py")
    made = Counter()
    for s in fns:
        for a in augment(s, src.data, random.Random(s.start_line)):
            made[a.kind] += 1
            assert a.augmentation == a.kind and a.task and a.meta["source_kind"] == "function"
            if a.kind in ("rename", "implement_from_spec"):  # context + completion is the whole function again
                ast.parse(textwrap.dedent(a.context + a.completion))
            elif a.kind in ("strip_comments", "plant_bug"):  # the completion is the whole function
                ast.parse(a.completion)
    assert made["rename"] >= 5 and made["implement_from_spec"] >= 5 and made["plant_bug"] >= 3


def test_doctests_become_a_pytest_test():
    code = textwrap.dedent('''
        def double(x):
            """Twice x.

            >>> double(2)
            4
            >>> y = 5
            >>> double(y)
            10
            """
            return 2 * x
    ''').lstrip()
    src = SourceFile("pkg/mathy.py", "python", code)
    fn = [s for s in FileSplitter(ALL).split(src) if s.kind == "function"][0]
    tests = [a for a in augment(fn, src.data, random.Random(0)) if a.kind == "doctest_tests"]
    assert len(tests) == 1
    namespace = {}
    exec(code, namespace)
    test_code = tests[0].completion.replace("from pkg.mathy import double\n", "")
    exec(test_code, namespace)
    namespace["test_double"]()  # the generated test runs and passes against the real function
    assert "assert (double(2)) == 4" in tests[0].completion and "y = 5" in tests[0].completion


def test_string_concatenation_is_not_turned_into_a_type_error():
    assert plant_bug('func f() string { return "a" + g() }', "go", random.Random(0)) is None
    assert plant_bug("def f(a):\n    return 'x' + a\n", "python", random.Random(0)) is None
    assert plant_bug("def f(a):\n    return a + 1\n", "python", random.Random(0))[1] == "+ -> -"
