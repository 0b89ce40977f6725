"""The image installs docker/requirements.lock: every runtime dependency in pyproject.toml must be in it
(a dependency added without re-locking passes every unit test and breaks only the container)."""
import re
import tomllib

from conftest import ROOT


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0].strip().lower().replace("_", "-")


def test_every_runtime_dependency_is_locked():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(d) for d in project["dependencies"] + project["optional-dependencies"]["minilm"]}
    locked = {_name(line) for line in (ROOT / "docker" / "requirements.lock").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    assert wanted - locked == set(), "run: .venv/bin/python scripts/lock_requirements.py"
