#!/usr/bin/env bash
# Sets up a fresh machine for moredata: Debian packages where missing, then a virtual environment in
# .venv with the project installed editable (torch pinned to 2.13.0). Safe to run again: it only adds
# what is missing. Used by scripts/demo.sh, scripts/test.sh and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the project needs at run or test time (redis-server for the ring buffer, espeak-ng for real speech in the augment tests)
APT_PACKAGES=(redis-server espeak-ng)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for cand in python3.11 python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PY=$cand; break
    fi
  done
fi
if [ -z "$PY" ]; then
  missing+=(python3.11 python3.11-venv)
  PY=python3.11
elif ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  missing+=(python3.11-venv)
fi
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $PY"
  "$PY" -m venv .venv
fi
# torch first and pinned: an unpinned or ranged torch pulls gigabytes of CUDA wheels on Linux
.venv/bin/python -m pip install -q torch==2.13.0
# compat mode: a plain .pth with the repository root, so static tools (pyright, mypy, IDEs) follow every import
# to its file, and bench/ (`python bench/NAME.py`) imports its helpers as `bench.x` without sys.path patching
.venv/bin/python -m pip install -q -e ".[dev]" --config-settings editable_mode=compat
echo "setup: done ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
