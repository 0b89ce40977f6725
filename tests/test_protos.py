"""Generated proto code: fresh, importable, and a stale copy is detected."""
import importlib.util
import shutil
import sys

from conftest import ROOT

spec = importlib.util.spec_from_file_location("gen_protos", ROOT / "scripts" / "gen_protos.py")
gen_protos = importlib.util.module_from_spec(spec)
sys.modules["gen_protos"] = gen_protos
spec.loader.exec_module(gen_protos)


def test_committed_code_is_fresh():
    assert gen_protos.stale_files() == []


def test_stale_code_is_detected(tmp_path):
    copy = tmp_path / "proto"
    shutil.copytree(gen_protos.OUT_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert gen_protos.stale_files(copy) == []
    victim = copy / "generator_pb2.py"
    victim.write_text(victim.read_text().replace("StreamSamples", "StreamSample"))
    (copy / "common_pb2.pyi").unlink()
    assert gen_protos.stale_files(copy) == ["common_pb2.pyi", "generator_pb2.py"]


def test_every_proto_has_a_versioned_package():
    for proto in (ROOT / "protos").rglob("*.proto"):
        rel = proto.relative_to(ROOT / "protos")
        expected = ".".join(rel.parts[:-1])  # moredata/common/v1/x.proto -> moredata.common.v1
        assert f"package {expected};" in proto.read_text() and rel.parts[-2] == "v1"


def test_generated_services_import():
    from moredata.rpc.proto import generator_pb2, generator_pb2_grpc

    svc = generator_pb2.DESCRIPTOR.services_by_name["GeneratorService"]
    assert {m.name for m in svc.methods} == {"StreamSamples", "UpdateModel", "UploadModel", "GetStatus"}
    assert hasattr(generator_pb2_grpc, "GeneratorServiceStub")
