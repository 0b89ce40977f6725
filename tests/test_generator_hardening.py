"""Issue 11, generator items 1-8: what one bad request or a misbehaving Redis used to do to the shared
service, each against a real server on loopback, a real redis-server and real checkpoint files."""
import concurrent.futures
import os
import resource
import threading
import time

import grpc
import numpy as np
import pytest
import torch
from conftest import RedisServer, deflated_checkpoint, free_port, tiny_flags, wait_until
from grpc_health.v1 import health_pb2, health_pb2_grpc

from moredata.enhanced.remote_source import RemoteSampleSource
from moredata.models.checkpoint import save_checkpoint
from moredata.models.decoder_only import GPT, GPTConfig
from moredata.rpc.proto import generator_pb2, generator_pb2_grpc
from moredata.training.config import load_settings
from moredata.training.loop import TrainingLoop
from services.generator.main import parse_settings, serve

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture(scope="module")
def ckpt_dir(char_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpts")
    TrainingLoop(load_settings(tiny_flags(char_data, out / "run", max_iters=10, eval_interval=10, plot=False))).run()
    return out


@pytest.fixture(scope="module")
def good(ckpt_dir):
    return torch.load(ckpt_dir / "run" / "best.pt", weights_only=True)


def write_variant(ckpt_dir, name: str, good: dict, **change) -> str:
    """A copy of the good checkpoint with some top-level or model_args values replaced."""
    ckpt = {**good, "model_args": dict(good["model_args"])}
    for k, v in change.items():
        if k in ckpt["model_args"] or k in ("block_size", "vocab_size", "n_head", "n_embd", "n_layer"):
            ckpt["model_args"][k] = v
        else:
            ckpt[k] = v
    save_checkpoint(ckpt_dir / name, ckpt)
    return name


@pytest.fixture
def generator(redis_server, char_data, ckpt_dir):
    started = []

    def start(redis=None, **over):
        redis = redis or redis_server
        flags = {"address": f"127.0.0.1:{free_port()}", "redis_url": f"redis://127.0.0.1:{redis.port}/0",
                 "data_dir": str(char_data), "checkpoint_dir": str(ckpt_dir), "min_prefix_length": 4,
                 "max_prefix_length": 16, "enhanced_buffer_size": 64, "enhanced_generation_batch_size": 8,
                 # these tests read a ring the service fills with nobody drawing: the whole ring is the reserve,
                 # written flat out (demand pacing has its own tests)
                 "enhanced_generation_reserve": 10**9, "enhanced_generation_idle_share": 1.0,
                 "max_checkpoint_mb": 50, "device": "cpu", "stream_wait_s": 1.0, **over}
        handle, core = serve(parse_settings([f"--{k}={v}" for k, v in flags.items()]), install_signals=False)
        channel = grpc.insecure_channel(f"127.0.0.1:{handle.port}")
        started.append((handle, core, channel))
        return handle, core, generator_pb2_grpc.GeneratorServiceStub(channel), channel

    yield start
    for handle, core, channel in started:
        channel.close()
        handle.stop(0.5, on_shutdown=core.close)


def health(channel, timeout=5):
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout).status


def update(stub, path, timeout=30):
    return stub.UpdateModel(generator_pb2.UpdateModelRequest(checkpoint_path=path), timeout=timeout)


def refused(fn) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as e:
        fn()
    return e.value


# --- 1. a bad model never touches the shared ring; a stale ring is recovered ----------------------------

def test_a_checkpoint_that_disagrees_with_its_weights_leaves_redis_untouched(generator, ckpt_dir, good,
                                                                               redis_server):
    handle, core, stub, channel = generator()
    bad = write_variant(ckpt_dir, "bad_block.pt", good, block_size=16)  # weights are for 32
    e = refused(lambda: update(stub, bad))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "wpe" in e.details()
    assert redis_server.client().keys("moredata:ring:*") == []  # nothing shared was written
    assert update(stub, "run/best.pt").model.model_version == 1  # the good one is still accepted
    assert redis_server.client().hget("moredata:ring:meta", "fragment_len") == b"33"


def test_a_stale_ring_of_another_size_is_taken_over_when_nobody_writes_to_it(generator, redis_server):
    r = redis_server.client()
    r.hset("moredata:ring:meta", mapping={"capacity": "64", "fragment_len": "17", "dtype": "<u2"})
    handle, core, stub, channel = generator(checkpoint="run/best.pt")
    assert wait_until(lambda: health(channel) == SERVING, 30)
    assert r.hget("moredata:ring:meta", "fragment_len") == b"33"


def test_a_ring_in_use_by_a_live_generator_of_another_size_is_refused(generator, ckpt_dir, redis_server):
    r = redis_server.client()
    r.hset("moredata:ring:meta", mapping={"capacity": "64", "fragment_len": "17", "dtype": "<u2"})
    r.zadd("moredata:ring:writers", {"someone-else": 10**13})  # beats far into the future
    handle, core, stub, channel = generator()
    e = refused(lambda: update(stub, "run/best.pt"))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION and "ring_prefix" in e.details()
    assert r.hget("moredata:ring:meta", "fragment_len") == b"17"  # the other generator's ring is intact
    st = stub.GetStatus(generator_pb2.GetStatusRequest(), timeout=5)
    assert not st.serving and st.degraded_reason


# --- 2. declared sizes are checked against the weights present and a memory bound ------------------------

def test_a_tiny_file_declaring_a_huge_vocabulary_is_refused_without_allocating(generator, ckpt_dir, good):
    handle, core, stub, channel = generator()
    bad = write_variant(ckpt_dir, "huge_vocab.pt", good, vocab_size=2**24)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB, the peak so far
    e = refused(lambda: update(stub, bad))
    grew_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "wte" in e.details()
    assert grew_mb < 200, grew_mb  # 2**24 x 32 floats would be 2 GiB


def test_a_model_over_the_memory_bound_is_refused(generator):
    handle, core, stub, channel = generator(max_model_mb=0.01)
    e = refused(lambda: update(stub, "run/best.pt"))
    assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "max_model_mb" in e.details()


# --- 3. a model must fit the served data -------------------------------------------------------------------

def _model_with_vocab(ckpt_dir, good, vocab: int) -> str:
    args = {**good["model_args"], "vocab_size": vocab}
    model = GPT(GPTConfig(**args))
    name = f"vocab{vocab}.pt"
    save_checkpoint(ckpt_dir / name, {**good, "model_args": args, "model": model.state_dict()})
    return name


@pytest.mark.parametrize("vocab", [100, 10])
def test_a_model_with_another_vocabulary_is_refused(generator, ckpt_dir, good, vocab):
    handle, core, stub, channel = generator()
    e = refused(lambda: update(stub, _model_with_vocab(ckpt_dir, good, vocab)))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "vocabulary" in e.details()
    assert core.model_version == 0 and health(channel) == NOT_SERVING


def test_a_model_with_another_tokenizer_is_refused(generator, ckpt_dir, good):
    tok = dict(good["tokenizer"])
    tok["chars"] = tok["chars"][::-1]  # same size, other ids
    handle, core, stub, channel = generator()
    e = refused(lambda: update(stub, write_variant(ckpt_dir, "other_tok.pt", good, tokenizer=tok)))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "tokenizer" in e.details()


def test_health_is_not_serving_while_every_round_fails(generator, redis_server):
    handle, core, stub, channel = generator(checkpoint="run/best.pt")
    assert wait_until(lambda: health(channel) == SERVING, 30)
    real = core.worker.generate_round
    core.worker.generate_round = lambda: (_ for _ in ()).throw(RuntimeError("cuda error: device lost"))
    assert wait_until(lambda: health(channel) == NOT_SERVING, 30)
    st = stub.GetStatus(generator_pb2.GetStatusRequest(), timeout=5)
    assert not st.serving and "device lost" in st.degraded_reason
    core.worker.generate_round = real
    assert wait_until(lambda: health(channel) == SERVING, 30)


# --- 4. idle streams never starve health or status ----------------------------------------------------------

def test_idle_sample_streams_and_stalled_uploads_do_not_starve_health(generator):
    handle, core, stub, channel = generator(checkpoint="run/best.pt", stream_wait_s=300, idle_timeout_s=2)
    assert wait_until(lambda: health(channel) == SERVING, 30)
    waiting = [stub.StreamSamples(generator_pb2.StreamSamplesRequest(batch_size=4, min_model_version=99),
                                  timeout=120) for _ in range(16)]
    stall = threading.Event()

    def one_byte_then_stall():
        yield generator_pb2.CheckpointChunk(data=b"x", total_size=10)
        stall.wait(60)

    uploads = [stub.UploadModel.future(one_byte_then_stall(), timeout=120) for _ in range(16)]
    try:
        other = grpc.insecure_channel(f"127.0.0.1:{handle.port}")
        for ch in (channel, other):
            for _ in range(3):
                assert health(ch) == SERVING
                assert generator_pb2_grpc.GeneratorServiceStub(ch).GetStatus(
                    generator_pb2.GetStatusRequest(), timeout=5).model.model_version == 1
        other.close()
        # every stalled upload ends: refused for lack of a slot, or cancelled once idle past idle_timeout_s
        codes = {u.exception(timeout=60).code() for u in uploads}
        assert codes <= {grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.CANCELLED}, codes
    finally:
        stall.set()
        for w in waiting:
            w.cancel()
    assert not list((core.checkpoint_dir / "uploads").glob("*.pt")) if (core.checkpoint_dir / "uploads").exists() \
        else True


# --- 5. concurrent uploads each get their own file ---------------------------------------------------------------

def test_concurrent_uploads_never_mix(generator, ckpt_dir):
    handle, core, stub, channel = generator()
    data = (ckpt_dir / "run" / "best.pt").read_bytes()
    garbage = os.urandom(len(data))

    def upload(payload: bytes):
        chunks = [generator_pb2.CheckpointChunk(data=payload[i:i + 4096], total_size=len(payload) if i == 0 else 0)
                  for i in range(0, len(payload), 4096)]
        try:
            return stub.UploadModel(iter(chunks), timeout=60).model.model_version > 0
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.details()
            return False

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        for _ in range(4):  # several good ones at once too: each keeps its own file until it is loaded
            goods = [pool.submit(upload, data) for _ in range(3)]
            bads = [pool.submit(upload, garbage) for _ in range(3)]
            assert [f.result() for f in goods] == [True] * 3 and [f.result() for f in bads] == [False] * 3
    assert len(list((ckpt_dir / "uploads").glob("upload-*.pt"))) == 1  # this server's served model only


# --- 6. Redis' maxmemory and eviction policy ---------------------------------------------------------------------

def test_the_ring_sizes_itself_to_redis_maxmemory(generator, tmp_path):
    redis = RedisServer(tmp_path, "--maxmemory", "16mb").start()
    try:
        # 600k slots of 66 bytes would be 40 MB: over Redis' limit, within our own 256 MB budget
        handle, core, stub, channel = generator(redis=redis, checkpoint="run/best.pt", enhanced_buffer_size=600_000)
        assert wait_until(lambda: health(channel) == SERVING, 30)
        assert core.buffer.capacity < 600_000
        assert core.buffer.capacity * 74 < 16 * 2**20
        assert wait_until(lambda: core.buffer.size() > 0, 30)
    finally:
        redis.stop()


def test_an_evicting_redis_is_refused_with_the_reason(generator, tmp_path):
    redis = RedisServer(tmp_path, "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru").start()
    try:
        handle, core, stub, channel = generator(redis=redis)
        e = refused(lambda: update(stub, "run/best.pt"))
        assert e.code() == grpc.StatusCode.FAILED_PRECONDITION and "allkeys-lru" in e.details()
        assert redis.client().keys("*") == []
    finally:
        redis.stop()


def test_an_eviction_policy_switched_on_while_serving_is_noticed(generator, tmp_path):
    """Issue 23, item 9: `CONFIG SET maxmemory-policy allkeys-lru` on a running Redis went unnoticed."""
    redis = RedisServer(tmp_path, "--maxmemory", "64mb").start()
    try:
        handle, core, stub, channel = generator(redis=redis, checkpoint="run/best.pt")
        assert wait_until(lambda: health(channel) == SERVING, 30)
        redis.client().config_set("maxmemory-policy", "allkeys-lru")
        assert wait_until(lambda: health(channel) == NOT_SERVING, 30)
        st = stub.GetStatus(generator_pb2.GetStatusRequest(), timeout=5)
        assert not st.serving and "allkeys-lru" in st.degraded_reason
        redis.client().config_set("maxmemory-policy", "noeviction")
        assert wait_until(lambda: health(channel) == SERVING, 30)
    finally:
        redis.stop()


def test_redis_over_its_limit_is_reported_as_degraded(generator, tmp_path):
    redis = RedisServer(tmp_path, "--maxmemory", "8mb").start()
    try:
        handle, core, stub, channel = generator(redis=redis, checkpoint="run/best.pt")
        assert wait_until(lambda: health(channel) == SERVING, 30)
        r = redis.client()
        r.set("junk", b"x" * 2**20)  # someone else's data, then an operator lowers the limit under use
        r.config_set("maxmemory", "1mb")
        assert wait_until(lambda: health(channel) == NOT_SERVING, 30)
        st = stub.GetStatus(generator_pb2.GetStatusRequest(), timeout=5)
        assert not st.serving and "memory" in st.degraded_reason.lower()
    finally:
        redis.stop()


# --- 7. status codes ---------------------------------------------------------------------------------------------

def test_status_answers_while_redis_is_down(generator, redis_server, caplog):
    handle, core, stub, channel = generator(checkpoint="run/best.pt")
    assert wait_until(lambda: health(channel) == SERVING, 30)
    redis_server.stop()
    for _ in range(5):
        st = stub.GetStatus(generator_pb2.GetStatusRequest(), timeout=10)
        assert not st.serving and "Redis" in st.degraded_reason and st.model.model_version == 1
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("kind", ["symlink_loop", "too_long", "empty_file", "args_wrong_type", "n_head",
                                  "no_block_size", "directory", "not_a_dict", "overflowing_n_embd"])
def test_bad_checkpoints_are_the_callers_fault(generator, ckpt_dir, good, kind, caplog):
    handle, core, stub, channel = generator()
    if kind == "symlink_loop":
        loop = ckpt_dir / "loop.pt"
        if not loop.is_symlink():
            os.symlink(loop, loop)
        path = "loop.pt"
    elif kind == "too_long":
        path = "a" * 5000 + ".pt"
    elif kind == "empty_file":
        (ckpt_dir / "empty.pt").write_bytes(b"")
        path = "empty.pt"
    elif kind == "args_wrong_type":
        path = write_variant(ckpt_dir, "args_list.pt", good, model_args=[1, 2, 3])
    elif kind == "n_head":
        path = write_variant(ckpt_dir, "n_head.pt", good, n_head=3)
    elif kind == "no_block_size":
        args = {k: v for k, v in good["model_args"].items() if k != "block_size"}
        path = write_variant(ckpt_dir, "no_block.pt", good, model_args=args)
    elif kind == "overflowing_n_embd":  # issue 23, item 3: "Storage size calculation overflowed" was INTERNAL
        path = write_variant(ckpt_dir, "huge_embd.pt", good, n_embd=2**62, n_head=2)
    elif kind == "directory":
        (ckpt_dir / "adir.pt").mkdir(exist_ok=True)
        path = "adir.pt"
    else:
        torch.save([1, 2, 3], ckpt_dir / "list.pt")
        path = "list.pt"
    e = refused(lambda: update(stub, path))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, (e.code(), e.details())
    assert "Traceback" not in caplog.text and "internal error" not in e.details()
    if kind == "overflowing_n_embd":
        assert "n_embd=4611686018427387904" in e.details() and "too large" in e.details()


# --- 8. after a Redis restart -------------------------------------------------------------------------------------

def test_no_empty_batches_and_prompt_recovery_after_a_redis_restart(generator, redis_server):
    from moredata.enhanced.remote_source import RemoteSampleSource

    handle, core, stub, channel = generator(checkpoint="run/best.pt")
    assert wait_until(lambda: core.buffer.size() > 0, 30)
    source = RemoteSampleSource(f"127.0.0.1:{handle.port}", rows_per_batch=4, fragment_len=33, vocab_size=65,
                                prefetch=4)
    try:
        assert wait_until(lambda: source.fill() > 0, 30)
        redis_server.stop()
        assert wait_until(lambda: health(channel) == NOT_SERVING, 30)
        while source.fill():  # what was fetched before the outage
            source.take(4)
        redis_server.start()
        rounds = core.worker._generated.total() if hasattr(core.worker._generated, "total") else None
        # rows flow again once the worker has refilled the ring; none of what arrives is empty
        assert wait_until(lambda: source.fill() > 0, 20)
        assert len(source.take(4)) == 4
        assert all(len(source.take(4)) in (0, 4) for _ in range(20))
        del rounds
    finally:
        source.close()
    # an empty ring sends no batch at all, it does not pretend with empty ones
    core.worker.stop()  # first: a round still running could write after the clear
    core.buffer.clear()
    assert list(stub.StreamSamples(generator_pb2.StreamSamplesRequest(batch_size=4, max_batches=3),
                                   timeout=30)) == []
    np.testing.assert_equal(core.buffer.size(), 0)


def test_an_upload_still_loading_keeps_its_file_when_another_finishes(generator, ckpt_dir):
    """Found by bench/adversarial.py: a finished upload cleaned up every older upload file, including
    one whose load had not read it yet (2 of 6 concurrent good uploads failed with INTERNAL)."""
    import time

    handle, core, stub, channel = generator()
    data = (ckpt_dir / "run" / "best.pt").read_bytes()
    before = set((ckpt_dir / "uploads").glob("upload-*.pt"))  # earlier tests' servers kept theirs
    real_load, calls = core.load, []

    def slow_first_load(path, *a, **kw):
        calls.append(path)
        if len(calls) == 1:
            time.sleep(2.0)  # the first upload waits before reading its file; the second one finishes
        return real_load(path, *a, **kw)

    core.load = slow_first_load
    chunks = lambda: iter([generator_pb2.CheckpointChunk(data=data, total_size=len(data))])  # noqa: E731
    first = stub.UploadModel.future(chunks(), timeout=60)
    assert wait_until(lambda: len(calls) == 1, 30)
    assert stub.UploadModel(chunks(), timeout=60).model.model_version == 1
    assert first.result(timeout=60).model.model_version == 2
    kept = set((ckpt_dir / "uploads").glob("upload-*.pt")) - before
    assert kept == {calls[0]}  # the served model's own file, and nothing else of this server's


# --- round two (issue 23), item 1: a small archive that inflates to gigabytes ------------------------------------

def test_an_upload_that_inflates_to_gigabytes_is_refused_before_it_is_inflated(generator, ckpt_dir, good, tmp_path):
    # a 1 GiB junk tensor beside the model, compressed
    bomb = deflated_checkpoint({**good, "junk": torch.zeros(2**28)}, ckpt_dir / "bomb.pt", tmp_path)
    data = bomb.read_bytes()
    assert len(data) < 8 * 2**20  # under max_checkpoint_mb (50): only the inflated size tells
    handle, core, stub, channel = generator()
    chunks = [generator_pb2.CheckpointChunk(data=data[i:i + 2**20], total_size=len(data) if i == 0 else 0)
              for i in range(0, len(data), 2**20)]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    e = refused(lambda: stub.UploadModel(iter(chunks), timeout=60))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "compressed" in e.details()
    e = refused(lambda: update(stub, "bomb.pt"))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "junk" not in e.details() and "compressed" in e.details()
    grew_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grew_mb < 200, grew_mb
    assert core.model_version == 0  # nothing was installed


# --- round two (issue 23), item 5: weights that cannot generate ---------------------------------------------------

@pytest.mark.parametrize("kind", ["nan", "overflowing"])
def test_a_model_that_cannot_generate_does_not_replace_the_serving_one(generator, ckpt_dir, good, kind):
    handle, core, stub, channel = generator()
    assert update(stub, "run/best.pt").model.model_version == 1
    weights = dict(good["model"])
    if kind == "nan":  # all-NaN weights used to be accepted, SERVING, with fragments of 65 x token 0
        weights = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v for k, v in weights.items()}
    else:  # finite weights whose activations overflow: the trial round's logits are not finite
        weights = {k: v * 1e30 if v.is_floating_point() else v for k, v in weights.items()}
    name = write_variant(ckpt_dir, f"{kind}.pt", good, model=weights)
    e = refused(lambda: update(stub, name))
    if kind == "nan":
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "non-finite" in e.details()
        assert "transformer.wte.weight" in e.details()
    else:
        assert e.code() == grpc.StatusCode.FAILED_PRECONDITION and "degenerate" in e.details()
    assert core.model_version == 1  # the serving model stays, and serves
    assert wait_until(lambda: health(channel) == SERVING and len(core.samples(8)[0]) == 8, 60)
    frags, versions = core.samples(8)
    assert set(versions.tolist()) == {1} and all(len(set(f.tolist())) > 1 for f in frags)  # not one repeated token


# --- round two (issue 23), item 9: the first best checkpoint is sent once ------------------------------------------

def test_a_first_best_checkpoint_that_loads_slowly_is_sent_once(generator, ckpt_dir):
    """While the first model loads (a large checkpoint: here a load made to take 6 s), the generator
    answers 'no model yet'; the trainer's client took that for a restart and sent the file again, so the
    generator loaded it 2-3 times (model versions 2, 3 for one best checkpoint)."""
    handle, core, stub, channel = generator()
    real_load = core.load
    loads = []

    def slow_load(path, uploaded=False):
        loads.append(str(path))
        time.sleep(6)
        return real_load(path, uploaded)

    core.load = slow_load
    source = RemoteSampleSource(f"127.0.0.1:{handle.port}", rows_per_batch=4, fragment_len=33, vocab_size=65)
    try:
        source.on_new_best(str(ckpt_dir / "run" / "best.pt"))
        assert wait_until(lambda: source.connected and len(source.take(4)) > 0, 60)
        assert wait_until(lambda: source.sends_pending == 0, 60)  # every send queued meanwhile has run
        assert len(loads) == 1 and core.model_version == 1, (loads, core.model_version)
    finally:
        source.close()


# --- round two (issue 23), item 7: each UpdateModel answer describes the model that call installed --------------

def test_concurrent_updates_each_describe_their_own_model(generator, ckpt_dir, good):
    """12 concurrent updates alternating two checkpoints (iterations 10 and 77): each answer's version is
    unique and its iter_num is the one of the file that call sent (one answer used to describe another's)."""
    handle, core, stub, channel = generator()
    other = write_variant(ckpt_dir, "iter77.pt", good, iter_num=77)
    paths = ["run/best.pt", other] * 6
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda p: update(stub, p, timeout=120).model, paths))
    versions = [a.model_version for a in answers]
    assert sorted(versions) == list(range(1, 13)), versions
    assert [a.iter_num for a in answers] == [good["iter_num"], 77] * 6


# --- round two (issue 23), item 4: clients that stop reading give their stream slots back -------------------------

def test_streams_whose_clients_stop_reading_give_their_slots_back(generator, caplog):
    """Clients that read one 4096-row batch and stop reading held every stream slot for good: a trainer's
    StreamSamples(batch_size=8) was refused at +2 s and still at +44 s. A send blocked for idle_timeout_s
    (flow control: the client takes nothing) now cancels its stream."""
    handle, core, stub, channel = generator(checkpoint="run/best.pt", idle_timeout_s=2, max_workers=6,
                                            reserved_workers=2)  # 4 stream slots
    assert wait_until(lambda: health(channel) == SERVING and len(core.samples(8)[0]) == 8, 60)
    stalled = []
    for _ in range(4):
        call = stub.StreamSamples(generator_pb2.StreamSamplesRequest(batch_size=4096, max_batches=0), timeout=300)
        assert len(next(call).fragment_versions) == 4096
        stalled.append(call)  # ... and never read again

    def trainer_gets_a_batch() -> bool:
        try:
            batches = list(stub.StreamSamples(generator_pb2.StreamSamplesRequest(batch_size=8, max_batches=1),
                                              timeout=10))
            return len(batches) == 1
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e.details()
            return False

    assert wait_until(trainer_gets_a_batch, 90)
    assert health(channel) == SERVING
    assert "cancelling a response stream whose client stopped reading" in caplog.text  # the server ended them
    for call in stalled:
        call.cancel()
