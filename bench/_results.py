"""The one way a benchmark writes its results: `write_results(path, fields)`.

The file is written atomically (temp file + rename) and holds the script's own fields at the top level
(as before, so the README's figures stay traceable to their keys) plus `run`, one envelope for all:

    "run": {"command": "python bench/lambda_gen.py --seed 3", "commit": "4d114db" (+ "-dirty"),
            "date": "2026-12-05T23:59:00Z", "machine": {"cpu": "...", "cores": 2, "gpu": null, "torch": "2.13.0"}}
"""
from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from moredata.atomic import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def _commit() -> str | None:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (head + ("-dirty" if dirty else "")) or None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """CPU model and cores, GPU (name, or None), torch version."""
    info = {"cpu": _cpu_model(), "cores": os.cpu_count(), "gpu": None, "torch": None}
    try:
        import torch

        info["torch"] = torch.__version__
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return info


def envelope() -> dict:
    return {"command": shlex.join(["python", *sys.argv]), "commit": _commit(),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "machine": machine()}


def write_results(path: str | Path, fields: dict, indent: int = 2) -> Path:
    """Writes `fields` with the run envelope to `path` (a bare name goes under bench/results/)."""
    path = Path(path)
    if path.parent == Path("."):
        path = RESULTS / (path.name if path.suffix else f"{path.name}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({**fields, "run": envelope()}, indent=indent) + "\n")
    return path
