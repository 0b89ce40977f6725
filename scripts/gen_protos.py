"""Regenerates the Python gRPC code from protos/ into moredata/rpc/proto/ (committed).

    python scripts/gen_protos.py           # regenerate
    python scripts/gen_protos.py --check   # exit 1 if the committed code is stale

protoc writes one folder per proto package (`moredata/common/v1/common_pb2.py`) and imports by that
path (`from moredata.common.v1 import common_pb2`). The module names are unique across the packages, so
they lie flat in one folder and their imports are rewritten to it (`from moredata.rpc.proto import
common_pb2`): one short import path, with a file at every path an import names. grpcio-tools is pinned in pyproject.toml:
another version writes different code and --check would flag it.
"""
from __future__ import annotations

import filecmp
import re
import shutil
import sys
import tempfile
from pathlib import Path

from moredata.cli import CliParser

ROOT = Path(__file__).resolve().parents[1]
PROTO_DIR = ROOT / "protos"
OUT_DIR = ROOT / "moredata" / "rpc" / "proto"
PACKAGE = "moredata.rpc.proto"
_IMPORT = re.compile(r"^from moredata(?:\.\w+)*\.v1 import", re.M)


def generate(out_dir: Path) -> None:
    import grpc_tools
    from grpc_tools import protoc

    protos = sorted(str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.rglob("*.proto"))
    include = str(Path(grpc_tools.__file__).parent / "_proto")  # google/protobuf/*.proto
    args = ["protoc", f"-I{PROTO_DIR}", f"-I{include}", f"--python_out={out_dir}", f"--pyi_out={out_dir}",
            f"--grpc_python_out={out_dir}", *protos]
    with tempfile.TemporaryDirectory() as tmp:
        args = [a.replace(f"={out_dir}", f"={tmp}") for a in args]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        out_dir.mkdir(parents=True, exist_ok=True)
        for py in sorted(Path(tmp).rglob("*.py*")):
            if (out_dir / py.name).exists():
                raise SystemExit(f"two proto packages generate {py.name}: rename one .proto file")
            (out_dir / py.name).write_text(_IMPORT.sub(f"from {PACKAGE} import", py.read_text()))
    (out_dir / "__init__.py").write_text('"""Generated gRPC code (scripts/gen_protos.py); do not edit."""\n')


def _tree(d: Path) -> dict[str, Path]:
    return {str(p.relative_to(d)): p for p in d.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def stale_files(out_dir: Path = OUT_DIR) -> list[str]:
    """Files that differ between a fresh generation and out_dir (added, missing or changed)."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh)
        a, b = _tree(fresh), _tree(out_dir) if out_dir.is_dir() else {}
        return sorted(k for k in a.keys() | b.keys()
                      if k not in a or k not in b or not filecmp.cmp(a[k], b[k], shallow=False))


def main() -> None:
    ap = CliParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only check that the committed code is fresh")
    args = ap.parse_args()
    if args.check:
        stale = stale_files()
        if stale:
            print("generated proto code is stale; run: python scripts/gen_protos.py\n  " + "\n  ".join(stale))
            sys.exit(1)
        print("generated proto code is up to date")
        return
    shutil.rmtree(OUT_DIR, ignore_errors=True)
    OUT_DIR.mkdir(parents=True)
    generate(OUT_DIR)
    print(f"generated {len(_tree(OUT_DIR))} files into {OUT_DIR.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
