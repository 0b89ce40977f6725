"""The house rules, read from the imports themselves (DESIGN.md, "Layout"):

- the folder is the import name: every `moredata.x.y` / `services.x.y` import leads to a file at that path;
- the library (`moredata/`) never imports a service;
- no service imports another (`services/rag` may import `moredata`, never `services/generator`);
- bench scripts and tests reach the code through its import path, never by patching `sys.path`.
"""
from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGES = ("moredata", "services")
TREES = ("moredata", "services", "tests", "bench", "scripts")
SKIP = ("tests/augment/code/data",)  # real third-party files kept as they are (test inputs)


def python_files(root: Path):
    for tree in TREES:
        for path in sorted((root / tree).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if "__pycache__" not in rel and not rel.startswith(SKIP):
                yield path


def module_of(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(root: Path, path: Path):
    """(line, imported module) for each import in `path`; `from a import b` gives `a.b` when `b` is a
    module (a file or folder at a/b), else `a`. Relative imports are resolved against the file's package."""
    tree = ast.parse(path.read_text(), str(path))
    package = module_of(root, path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            yield node.lineno, base
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if _path_of(root, sub) is not None or alias.name == "*":
                    yield node.lineno, sub if alias.name != "*" else base
                elif not _defines(root, base, alias.name):
                    yield node.lineno, sub  # neither a module nor a name of `base`: reported as missing


def _defines(root: Path, module: str, name: str) -> bool:
    """Whether `module` (a file of this tree) binds `name` at its top level, or answers any name
    through a module `__getattr__` (for `moredata/__init__.py`: the names of its `_EXPORTS`). Outside the two packages
    it is not ours to check."""
    path = _path_of(root, module)
    if path is None or module.split(".")[0] not in PACKAGES:
        return True
    tree = ast.parse(path.read_text(), str(path))
    bound = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict) and "_EXPORTS" in bound:
            exports = {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    if "exports" in locals():  # lazy exports (moredata/__init__.py): `__getattr__` answers just these
        return name in bound or name in exports
    return name in bound or "__getattr__" in bound


def _path_of(root: Path, module: str) -> Path | None:
    rel = Path(*module.split("."))
    for candidate in (root / rel.with_suffix(".py"), root / rel / "__init__.py", root / rel.with_suffix(".pyi")):
        if candidate.is_file():
            return candidate
    return None


def violations(root: Path) -> list[str]:
    found = []
    for path in python_files(root):
        rel = path.relative_to(root).as_posix()
        home = rel.split("/")
        for line, module in imports_of(root, path):
            top = module.split(".")[0]
            if top not in PACKAGES:
                continue
            where = f"{rel}:{line} imports {module}"
            if _path_of(root, module) is None:
                found.append(f"{where}, which has no file at {module.replace('.', '/')}(.py)")
            if home[0] == "moredata" and top == "services":
                found.append(f"{where}: the library imports a service")
            if home[0] == "services" and top == "services" and len(home) > 2:
                theirs = module.split(".")
                if len(theirs) > 1 and theirs[1] != home[1]:
                    found.append(f"{where}: services/{home[1]} imports another service")
    return found


def test_every_import_leads_to_its_file_and_no_boundary_is_crossed():
    assert violations(ROOT) == []


def test_no_script_patches_sys_path():
    patched = [p.relative_to(ROOT).as_posix() for p in python_files(ROOT)
               if "sys.path.insert" in p.read_text() or "sys.path.append" in p.read_text()]
    # two tests start a child python on purpose with a path given on its command line (a checkpoint
    # written by code that must not import moredata); they are the only exceptions
    assert set(patched) <= {"tests/rag/test_store.py", "tests/test_checkpoint.py", "tests/test_boundaries.py"}


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


BASE = {"moredata/__init__.py": "", "moredata/errors.py": "x = 1\n", "services/__init__.py": "",
        "services/rag/__init__.py": "", "services/rag/app.py": "from moredata.errors import x\n",
        "services/generator/__init__.py": "", "services/generator/core.py": "from . import servicer\n",
        "services/generator/servicer.py": "", "tests/__init__.py": "", "bench/x.py": "", "scripts/y.py": ""}


def test_the_checker_passes_a_clean_tree_and_names_each_kind_of_violation(tmp_path):
    assert violations(_tree(tmp_path / "clean", BASE)) == []
    bad = _tree(tmp_path / "bad", {
        **BASE,
        "services/rag/app.py": "from services.generator.core import GeneratorCore\n",
        "moredata/errors.py": "import services.rag.app\n",
        "services/generator/servicer.py": "from moredata.nowhere import thing\nfrom ..rag import app\n"
                                          "from moredata import errors, gone\nfrom moredata.errors import Missing\n",
    })
    found = violations(bad)
    assert any("services/rag/app.py:1" in v and "another service" in v for v in found), found
    assert any("moredata/errors.py:1" in v and "the library imports a service" in v for v in found), found
    assert any("moredata.nowhere" in v and "no file" in v for v in found), found
    assert any("services/generator/servicer.py:2" in v and "another service" in v for v in found), found
    assert any("servicer.py:3 imports moredata.gone" in v for v in found), found  # moved away: neither module nor name
    assert any("servicer.py:4 imports moredata.errors.Missing" in v for v in found), found
    assert not any("moredata.errors," in v or v.endswith("imports moredata.errors") for v in found), found


def test_every_bench_script_answers_help_without_running(tmp_path):
    """`python bench/NAME.py --help` prints usage and exits 0 without starting the benchmark (one once ran
    the whole benchmark and overwrote its committed results): no result file changes."""
    import subprocess
    import sys

    results = ROOT / "bench" / "results"
    before = {p.name: p.stat().st_mtime_ns for p in results.iterdir()}
    for script in sorted((ROOT / "bench").glob("[a-z]*.py")):
        r = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120,
                           cwd=tmp_path)
        assert r.returncode == 0 and "usage:" in r.stdout, (script.name, r.stderr[-500:])
    assert {p.name: p.stat().st_mtime_ns for p in results.iterdir()} == before
