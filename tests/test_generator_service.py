"""The generator gRPC service with a real Redis and a real server on loopback."""
import time

import grpc
import pytest
from conftest import free_port, tiny_flags, wait_until
from grpc_health.v1 import health_pb2, health_pb2_grpc

from moredata.rpc.proto import generator_pb2, generator_pb2_grpc
from moredata.rpc.tensor_codec import tensor_from_proto
from moredata.training.config import load_settings
from moredata.training.loop import TrainingLoop
from services.generator.main import parse_settings, serve


@pytest.fixture(scope="module")
def ckpt_dir(char_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpts")
    TrainingLoop(load_settings(tiny_flags(char_data, out / "run", max_iters=20, eval_interval=10))).run()
    return out


@pytest.fixture
def generator(redis_server, char_data, ckpt_dir):
    def start(**over):
        flags = {"address": f"127.0.0.1:{free_port()}", "redis_url": f"redis://127.0.0.1:{redis_server.port}/0",
                 "data_dir": str(char_data), "checkpoint_dir": str(ckpt_dir), "min_prefix_length": 4,
                 "max_prefix_length": 16, "enhanced_buffer_size": 64, "enhanced_generation_batch_size": 8,
                 # these tests read a ring the service fills with nobody drawing: the whole ring is the reserve,
                 # written flat out (demand pacing has its own tests)
                 "enhanced_generation_reserve": 10**9, "enhanced_generation_idle_share": 1.0,
                 "max_stream_batch": 256, "max_checkpoint_mb": 50, "device": "cpu", "stream_wait_s": 1.0, **over}
        settings = parse_settings([f"--{k}={v}" for k, v in flags.items()])
        handle, core = serve(settings, install_signals=False)
        channel = grpc.insecure_channel(f"127.0.0.1:{handle.port}")
        started.append((handle, core, channel))
        return handle, core, generator_pb2_grpc.GeneratorServiceStub(channel), channel

    started = []
    yield start
    for handle, core, channel in started:
        channel.close()
        handle.stop(0.5, on_shutdown=core.close)


def _health(channel):
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status


def _wait(pred, timeout=60):
    return wait_until(pred, timeout)


def test_not_serving_until_a_model_is_loaded(generator):
    handle, core, stub, channel = generator()
    assert _health(channel) == health_pb2.HealthCheckResponse.NOT_SERVING
    with pytest.raises(grpc.RpcError) as e:
        next(stub.StreamSamples(generator_pb2.StreamSamplesRequest(batch_size=4), timeout=5))
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    resp = stub.UpdateModel(generator_pb2.UpdateModelRequest(checkpoint_path="run/best.pt"), timeout=30)
    assert resp.model.model_version == 1 and resp.model.block_size == 32 and resp.model.tokenizer_kind == "char"
    assert _wait(lambda: _health(channel) == health_pb2.HealthCheckResponse.SERVING)


def test_streams_batches_and_reports_status(generator):
    handle, core, stub, channel = generator(checkpoint="run/best.pt")
    assert _wait(lambda: core.buffer.size() >= 16)
    batches = list(stub.StreamSamples(generator_pb2.StreamSamplesRequest(batch_size=12, max_batches=3), timeout=10))
    assert len(batches) == 3
    for b in batches:
        t = tensor_from_proto(b.tokens).long()
        assert tuple(t.shape) == (12, 33) and int(t.max()) < 65 and list(b.fragment_versions) == [1] * 12
    st = stub.GetStatus(generator_pb2.GetStatusRequest(), timeout=5)
    assert st.buffer_capacity == 64 and st.buffer_filled >= 16 and st.model.model_version == 1
    assert st.fragments_generated_per_s > 0 and st.fragments_served_per_s > 0


def test_model_update_refreshes_the_ring(generator, ckpt_dir):
    handle, core, stub, channel = generator(checkpoint="run/best.pt")
    assert _wait(lambda: core.buffer.is_full())
    resp = stub.UpdateModel(generator_pb2.UpdateModelRequest(checkpoint_path=str(ckpt_dir / "run" / "best.pt")),
                            timeout=30)
    assert resp.model.model_version == 2
    assert _wait(lambda: core.buffer.version_counts().get(2, 0) >= 16)
    b = next(stub.StreamSamples(generator_pb2.StreamSamplesRequest(batch_size=50), timeout=10))
    assert set(b.fragment_versions) == {2} and b.model_version == 2  # old text no longer served
    # nothing of version 3 exists: the call sends no (empty) batch and ends after stream_wait_s
    fresh = list(stub.StreamSamples(generator_pb2.StreamSamplesRequest(batch_size=5, min_model_version=3), timeout=10))
    assert fresh == []


def test_trainer_client_sees_a_new_model_within_a_few_batches(generator, ckpt_dir):
    """The client asks for a bounded number of batches per call: after a model update the batches it
    hands the trainer come from the new model within a few takes, not after thousands of stale ones
    buffered in the transport (what an unbounded stream did)."""
    from moredata.enhanced.remote_source import RemoteSampleSource

    handle, core, stub, channel = generator(checkpoint="run/best.pt")
    assert _wait(lambda: core.buffer.is_full())
    source = RemoteSampleSource(f"127.0.0.1:{handle.port}", rows_per_batch=4, fragment_len=33, vocab_size=65,
                                prefetch=4)
    try:
        assert _wait(lambda: source.fill() == 4)
        time.sleep(1.0)  # an unbounded stream would now have thousands of v1 batches in flight
        stub.UpdateModel(generator_pb2.UpdateModelRequest(checkpoint_path="run/best.pt"), timeout=30)
        assert _wait(lambda: core.buffer.version_counts().get(2, 0) == 64)
        takes = 0
        while source.model_version < 2 and takes < 40:
            if len(source.take(4)) == 0:
                time.sleep(0.01)
            takes += 1
        assert source.model_version == 2 and takes <= 3 * 4, takes
    finally:
        source.close()


def test_upload_model_in_chunks(generator, ckpt_dir):
    handle, core, stub, channel = generator()
    data = (ckpt_dir / "run" / "best.pt").read_bytes()
    chunks = [generator_pb2.CheckpointChunk(data=data[i:i + 65536], total_size=len(data) if i == 0 else 0)
              for i in range(0, len(data), 65536)]
    resp = stub.UploadModel(iter(chunks), timeout=30)
    kept = list((ckpt_dir / "uploads").glob("upload-*.pt"))
    assert resp.model.model_version == 1 and len(kept) == 1 and kept[0].read_bytes() == data


@pytest.mark.parametrize("kind", ["outside", "dotdot", "n_zero", "n_big", "garbage", "short", "empty"])
def test_bad_requests_are_invalid_argument(generator, ckpt_dir, tmp_path, kind):
    handle, core, stub, channel = generator(checkpoint="run/best.pt")
    outside = tmp_path / "evil.pt"
    outside.write_bytes((ckpt_dir / "run" / "best.pt").read_bytes())
    calls = {
        "outside": lambda: stub.UpdateModel(generator_pb2.UpdateModelRequest(checkpoint_path=str(outside)), timeout=5),
        "dotdot": lambda: stub.UpdateModel(generator_pb2.UpdateModelRequest(checkpoint_path="../../etc/passwd"),
                                           timeout=5),
        "missing": lambda: stub.UpdateModel(generator_pb2.UpdateModelRequest(checkpoint_path="run/nope.pt"),
                                            timeout=5),
        "n_zero": lambda: next(stub.StreamSamples(generator_pb2.StreamSamplesRequest(batch_size=0), timeout=5)),
        "n_big": lambda: next(stub.StreamSamples(generator_pb2.StreamSamplesRequest(batch_size=257), timeout=5)),
        "garbage": lambda: stub.UploadModel(iter([generator_pb2.CheckpointChunk(data=b"not a checkpoint" * 100)]),
                                            timeout=5),
        "short": lambda: stub.UploadModel(iter([generator_pb2.CheckpointChunk(data=b"abc", total_size=10)]), timeout=5),
        "empty": lambda: stub.UploadModel(iter([]), timeout=5),
    }
    with pytest.raises(grpc.RpcError) as e:
        calls[kind]()
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and e.value.details()
    assert core.model_version == 1  # nothing changed


def test_redis_down_flips_health(generator, redis_server):
    handle, core, stub, channel = generator(checkpoint="run/best.pt")
    assert _wait(lambda: _health(channel) == health_pb2.HealthCheckResponse.SERVING)
    redis_server.stop()
    assert _wait(lambda: _health(channel) == health_pb2.HealthCheckResponse.NOT_SERVING, timeout=20)
    with pytest.raises(grpc.RpcError) as e:
        next(stub.StreamSamples(generator_pb2.StreamSamplesRequest(batch_size=4), timeout=10))
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    redis_server.start()
    assert _wait(lambda: _health(channel) == health_pb2.HealthCheckResponse.SERVING, timeout=20)
    assert _wait(lambda: core.buffer.size() > 0, timeout=30)  # the worker refills the new, empty ring


def test_settings_errors():
    from moredata.errors import UserError

    with pytest.raises(UserError, match="unknown setting 'bogus'"):
        parse_settings(["--bogus=1"])
    with pytest.raises(UserError, match="unknown setting 'redis_ur' \\(did you mean 'redis_url'\\?\\)"):
        parse_settings(["--redis_ur=redis://x"])
    with pytest.raises(UserError, match="'enhanced_buffer_size'"):
        parse_settings(["--enhanced_buffer_size=0"])
    with pytest.raises(UserError, match="min_prefix_length"):
        parse_settings(["--min_prefix_length=9", "--max_prefix_length=4"])
