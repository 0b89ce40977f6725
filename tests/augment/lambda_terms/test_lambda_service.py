"""LambdaTraceService on a real augment server over loopback: the file's lines, bad requests, cancel."""
import json
import time

import grpc
import pytest
from conftest import wait_until

from moredata.lambda_terms.traces import TraceSettings, chunk_lines
from moredata.rpc.proto import lambda_traces_pb2 as pb
from moredata.rpc.proto import lambda_traces_pb2_grpc
from services.augment.main import serve
from services.augment.settings import AugmentSettings


@pytest.fixture(scope="module")
def stub():
    handle = serve(AugmentSettings(address="127.0.0.1:0", max_lambda_count=1_000_000), install_signals=False)
    channel = grpc.insecure_channel(f"127.0.0.1:{handle.port}")
    yield lambda_traces_pb2_grpc.LambdaTraceServiceStub(channel), handle
    channel.close()
    handle.stop(0)


def test_streams_the_same_lines_as_the_generator(stub):
    s, _ = stub
    chunks = list(s.StreamTraces(pb.LambdaTracesRequest(count=2_500, seed=5, chunk_size=1000), timeout=60))
    assert [c.chunk_id for c in chunks] == [0, 1, 2] and [len(c.lines) for c in chunks] == [1000, 1000, 500]
    settings = TraceSettings()
    assert list(chunks[2].lines) == chunk_lines(5, 2, 500, settings)
    assert json.loads(chunks[0].lines[0])["meta"]["seed"] == 5
    # a resumed stream continues where the first left off
    rest = list(s.StreamTraces(pb.LambdaTracesRequest(count=2_500, seed=5, chunk_size=1000, first_chunk=2),
                               timeout=60))
    assert [c.chunk_id for c in rest] == [2] and rest[0].lines == chunks[2].lines
    custom = next(s.StreamTraces(pb.LambdaTracesRequest(count=50, seed=1, depths=[6, 7], sizes=[40, 50],
                                                        max_steps=20), timeout=60))
    metas = [json.loads(x)["meta"] for x in custom.lines]
    assert {m["cycle"] for m in metas} == {0} and max(m["step"] for m in metas) < 20


@pytest.mark.parametrize("request_kw, words", [
    (dict(count=0), "count must be in [1, 1000000]"),
    (dict(count=2_000_000), "count must be in"),
    (dict(count=10, depths=[6, 7], sizes=[80]), "same length"),
    (dict(count=10, depths=[1], sizes=[80]), "every depth must be in [2, 64]"),
    (dict(count=10, depths=[6], sizes=[10**6]), "every size must be in"),
    (dict(count=10, depths=[6], sizes=[4]), "every size must be in [5,"),
    (dict(count=10, max_size=3), "max_size must be >= 5"),
    (dict(count=10, max_steps=10**6), "max_steps must be at most"),
    (dict(count=10, chunk_size=10**6), "chunk_size must be at most"),
    (dict(count=10, first_chunk=5), "past the last chunk"),
    (dict(count=5, seed=-1), "seed must be >= 0"),
    (dict(count=5, seed=-2**63), "seed must be >= 0"),
    # issue 23's request: every value within its own bound, together minutes of work and GBs of memory
    (dict(count=10_000, chunk_size=10_000, seed=3, max_steps=100_000, max_size=100_000, depths=[64],
          sizes=[10_000]), "max_steps x max_size must be at most"),
    (dict(count=10_000, chunk_size=10_000, seed=3, max_steps=1000, max_size=100_000, depths=[64],
          sizes=[10_000]), "chunk_size x max_size must be at most"),
])
def test_bad_requests_are_invalid_argument(stub, request_kw, words):
    s, _ = stub
    with pytest.raises(grpc.RpcError) as e:
        next(s.StreamTraces(pb.LambdaTracesRequest(**request_kw), timeout=10))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and words in e.value.details()


def test_a_cancelled_stream_stops_computing_within_its_chunk(stub):
    """A chunk that takes minutes (200 traces of up to 1000 steps over terms up to 100k nodes) stops
    within a reduction step of the client leaving, not at the chunk's end."""
    s, handle = stub
    call = s.StreamTraces(pb.LambdaTracesRequest(count=200, chunk_size=200, seed=3, max_steps=1000,
                                                 max_size=100_000, depths=[64], sizes=[10_000]), timeout=600)
    assert wait_until(lambda: handle.traces.computing == 1, 30)
    time.sleep(0.5)  # well inside the chunk
    assert handle.traces.computing == 1
    cancelled = time.monotonic()
    call.cancel()
    assert wait_until(lambda: handle.traces.computing == 0, 30)
    stopped_s = time.monotonic() - cancelled
    assert stopped_s < 2.0, stopped_s


def test_cancel_stops_the_stream(stub):
    s, handle = stub
    call = s.StreamTraces(pb.LambdaTracesRequest(count=1_000_000, seed=1, chunk_size=100), timeout=120)
    assert next(call).chunk_id == 0
    call.cancel()
    with pytest.raises(grpc.RpcError) as e:
        for _ in call:
            pass
    assert e.value.code() == grpc.StatusCode.CANCELLED
    # the server's slot and thread come back: a new stream is served at once
    assert next(s.StreamTraces(pb.LambdaTracesRequest(count=10, seed=2), timeout=30)).chunk_id == 0
