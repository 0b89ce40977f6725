"""CodeDataService on a real augment server over loopback: split, augment and build as RPCs; bad
requests are INVALID_ARGUMENT with the reason; a cancelled build stops."""
import json
from pathlib import Path

import grpc
import pytest

from moredata.rpc.proto import code_data_pb2 as pb
from moredata.rpc.proto import code_data_pb2_grpc
from services.augment.main import serve
from services.augment.settings import AugmentSettings

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def stub():
    handle = serve(AugmentSettings(address="127.0.0.1:0", max_code_files=50), install_signals=False)
    channel = grpc.insecure_channel(f"127.0.0.1:{handle.port}", options=[("grpc.max_receive_message_length", 2**28)])
    yield code_data_pb2_grpc.CodeDataServiceStub(channel)
    channel.close()
    handle.stop(0)


def code_file(rel: str, **kw) -> pb.CodeFile:
    return pb.CodeFile(path=rel, content=(DATA / rel).read_bytes(), **kw)


def test_split_file(stub):
    plain = [json.loads(s) for s in stub.SplitFile(pb.SplitFileRequest(file=code_file("go/search.go")), timeout=30).samples]
    assert plain and {s["kind"] for s in plain} <= {"function", "class", "docstring", "fallback"}
    assert all(s["language"] == "go" and s["path"] == "go/search.go" and s["instruction"] for s in plain)
    both = [json.loads(s) for s in stub.SplitFile(pb.SplitFileRequest(file=code_file("go/search.go"), augment=True),
                                                  timeout=30).samples]
    assert len(both) > len(plain) and {"plant_bug", "strip_comments"} & {s["kind"] for s in both}
    # a language named explicitly wins over the extension
    named = stub.SplitFile(pb.SplitFileRequest(file=pb.CodeFile(path="snippet", language="python",
                                                                 content=(DATA / "python/colorsys.py").read_bytes())),
                           timeout=30)
    assert {json.loads(s)["language"] for s in named.samples} == {"python"}


def test_augment_sample(stub):
    code = b"def area(w, h):\n    # the product\n    result = w * h\n    return result if result > 0 else 0\n"
    r = stub.AugmentSample(pb.AugmentSampleRequest(definition=pb.CodeFile(path="a.py", content=code), name="area",
                                                   seed=1), timeout=30)
    kinds = {json.loads(s)["kind"]: json.loads(s) for s in r.samples}
    assert {"strip_comments", "plant_bug", "rename"} <= set(kinds)
    assert "# the product" not in kinds["strip_comments"]["completion"]
    only = stub.AugmentSample(pb.AugmentSampleRequest(definition=pb.CodeFile(path="a.py", content=code),
                                                      augmentations=["plant_bug"]), timeout=30)
    assert [json.loads(s)["kind"] for s in only.samples] == ["plant_bug"]


def test_build_dataset_streams_samples_then_the_summary(stub):
    files = [code_file(r) for r in ("python/textwrap.py", "go/builder.go", "java/StringJoiner.java", "js/ms.js")]
    files.append(pb.CodeFile(path="bin.c", content=b"\0\1\2" * 10))
    chunks = list(stub.BuildDataset(pb.BuildDatasetRequest(files=files, seed=3, chunk_size=50), timeout=120))
    summary = json.loads(chunks[-1].summary_json)
    samples = [json.loads(s) for c in chunks[:-1] for s in c.samples]
    assert all(len(c.samples) <= 50 for c in chunks) and not any(c.summary_json for c in chunks[:-1])
    assert len(samples) == summary["samples"] > 50
    assert summary["files_read"] == 4 and summary["files_skipped"] == {"binary": 1}
    assert {s["language"] for s in samples} == {"python", "go", "java", "javascript"}


@pytest.mark.parametrize("call, request_, words", [
    ("SplitFile", pb.SplitFileRequest(), "file is required"),
    ("SplitFile", pb.SplitFileRequest(file=pb.CodeFile(path="x.txt", content=b"hello")), "unknown extension"),
    ("SplitFile", pb.SplitFileRequest(file=pb.CodeFile(path="x.py", content=b"\0\1" * 5)), "binary"),
    ("SplitFile", pb.SplitFileRequest(file=pb.CodeFile(path="x.py", content=b"x = '\xe9'")), "undecodable"),
    ("SplitFile", pb.SplitFileRequest(file=pb.CodeFile(path="x.py", content=b"x=1", language="cobol")), "cobol"),
    ("SplitFile", pb.SplitFileRequest(file=pb.CodeFile(path="", content=b"x=1")), "path must be"),
    ("AugmentSample", pb.AugmentSampleRequest(definition=pb.CodeFile(path="a.py", content=b"x = 1\n")), "no function"),
    ("AugmentSample", pb.AugmentSampleRequest(definition=pb.CodeFile(path="a.py", content=b"def f():\n    return 1\n"),
                                              augmentations=["shuffle"]), "unknown augmentations"),
    ("BuildDataset", pb.BuildDatasetRequest(), "send 1 to 50 files"),
    ("BuildDataset", pb.BuildDatasetRequest(files=[pb.CodeFile(path="a.py", content=b"x=1")] * 51), "send 1 to 50"),
    ("BuildDataset", pb.BuildDatasetRequest(files=[pb.CodeFile(path="a.py", content=b"x=1")], threshold=1.5), "threshold"),
    ("BuildDataset", pb.BuildDatasetRequest(files=[pb.CodeFile(path="a.py", content=b"x=1")], num_perm=3), "num_perm"),
    ("BuildDataset", pb.BuildDatasetRequest(files=[pb.CodeFile(path="a.py", content=b"x=1", language="x")]), "language"),
])
def test_bad_requests_are_invalid_argument(stub, call, request_, words):
    with pytest.raises(grpc.RpcError) as e:
        result = getattr(stub, call)(request_, timeout=30)
        if call == "BuildDataset":
            list(result)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and words in e.value.details()


def test_a_cancelled_build_stops_and_the_server_goes_on(stub):
    files = [code_file("rust/time.rs")] * 40
    stream = stub.BuildDataset(pb.BuildDatasetRequest(files=files, chunk_size=1), timeout=120)
    first = next(stream)
    assert first.samples
    stream.cancel()
    with pytest.raises(grpc.RpcError) as e:
        list(stream)
    assert e.value.code() == grpc.StatusCode.CANCELLED
    # the server still answers
    assert stub.SplitFile(pb.SplitFileRequest(file=code_file("c/realpath.c")), timeout=30).samples
