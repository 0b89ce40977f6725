"""The augment service on a real loopback gRPC server: same results as the library, every bad input
refused with INVALID_ARGUMENT and its reason, health, reflection and graceful shutdown."""
from __future__ import annotations

import json
import signal
import subprocess
import sys

import grpc
import numpy as np
import pytest
from conftest import ROOT, free_port
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from moredata.pointer.augmentor import Augmentor
from moredata.pointer.client import AugmentClient
from moredata.pointer.codec import sample_to_proto
from moredata.pointer.config import AugmentationConfig
from moredata.pointer.sample_io import load_sample
from moredata.pointer.transforms import PointerSample
from moredata.rpc.proto import augment_pb2
from moredata.rpc.tensor_codec import tensor_to_proto
from services.augment.main import serve
from services.augment.settings import AugmentSettings

EVERYTHING = AugmentationConfig.model_validate({"augmentation": {
    name: {"enabled": True, "probability": 1.0} for name in
    ["noise", "gain", "channel_dropout", "spec_augment", "crop", "chunk_shuffle", "concatenation"]}})
MAX_FRAMES = 5000


@pytest.fixture(scope="module")
def service():
    handle = serve(AugmentSettings(address="127.0.0.1:0", max_frames=MAX_FRAMES, max_mels=128),
                   install_signals=False)
    client = AugmentClient(f"127.0.0.1:{handle.port}")
    client.wait_ready(10)
    yield handle, client
    client.close()
    handle.stop(0)


def _samples(sample_dir):
    return [load_sample(p) for p in sorted(sample_dir.glob("*.npz"))]


def _equal(a: PointerSample, b: PointerSample) -> bool:
    return np.array_equal(a.raw, b.raw) and np.array_equal(a.edit, b.edit) and np.array_equal(a.pointers, b.pointers)


def test_augment_equals_the_library_bit_for_bit(service, sample_dir):
    _, client = service
    s, partner = _samples(sample_dir)[:2]
    for seed in range(4):
        remote, applied = client.augment(s, seed=seed, epoch=1, partner=partner, config=EVERYTHING)
        local, applied_local = Augmentor(EVERYTHING)(s, seed=seed, epoch=1, partner=partner, max_frames=MAX_FRAMES)
        assert _equal(remote, local)
        assert applied == json.loads(json.dumps(applied_local))
        assert [a["name"] for a in applied] == ["crop", "chunk_shuffle", "concatenation", "spec_augment",
                                                "channel_dropout", "gain", "noise"]


def test_delta_and_whole_edit_encodings_agree(service, sample_dir):
    handle, client = service
    whole = AugmentClient(f"127.0.0.1:{handle.port}", delta=False)
    s, partner = _samples(sample_dir)[:2]  # built from audio: frames near the joins are not copies
    for seed in range(3):
        a, applied_a = client.augment(s, seed=seed, partner=partner, config=EVERYTHING)
        b, applied_b = whole.augment(s, seed=seed, partner=partner, config=EVERYTHING)
        assert _equal(a, b) and applied_a == applied_b
        assert a.raw.flags.writeable and a.edit.flags.writeable  # the caller owns what it gets back
    req = augment_pb2.AugmentRequest(seed=0)
    sample_to_proto(s, delta=True, out=req.sample)
    resp = client.stub.Augment(req, timeout=10)
    assert resp.sample.WhichOneof("edit_encoding") == "edit_delta"
    assert 0 < resp.sample.edit_delta.frames.shape[1] < s.edit.shape[1]  # some frames sent, most not
    whole.close()


def test_stream_keeps_order_and_matches_unary(service, sample_dir):
    _, client = service
    samples = _samples(sample_dir)
    streamed = list(client.augment_many([(s, 100 + i, 0) for i, s in enumerate(samples)], config=EVERYTHING))
    assert len(streamed) == len(samples)
    for i, (s, (out, applied)) in enumerate(zip(samples, streamed)):
        one, applied_one = client.augment(s, seed=100 + i, config=EVERYTHING)
        assert _equal(out, one) and applied == applied_one


def test_default_config_and_concatenate(service, sample_dir):
    _, client = service
    a, b = _samples(sample_dir)[:2]
    # the service's default config ('safe'): noise, gain and SpecAugment, each with probability 0.5
    names = set()
    for seed in range(8):
        out, applied = client.augment(a, seed=seed)
        assert out.raw.shape == a.raw.shape and out.pointers.tolist() == a.pointers.tolist()
        names |= {x["name"] for x in applied}
    assert names == {"noise", "gain", "spec_augment"}
    joined, offset = client.concatenate(a, b)
    assert offset == a.raw.shape[1] and joined.raw.shape[1] == a.raw.shape[1] + b.raw.shape[1]
    assert np.array_equal(joined.pointers, np.concatenate([a.pointers, b.pointers + offset]))


def _sample(n_mels=8, t_raw=20, t_edit=10, seed=0) -> PointerSample:
    rng = np.random.default_rng(seed)
    raw = rng.standard_normal((n_mels, t_raw)).astype(np.float32)
    p = rng.integers(0, t_raw, t_edit)
    return PointerSample(raw, raw[:, p].copy(), p)


def _request(raw=None, edit=None, pointers=None, **kw) -> augment_pb2.AugmentRequest:
    s = _sample()
    msg = sample_to_proto(s)
    for name, value in (("raw", raw), ("edit", edit), ("pointers", pointers)):
        if value is not None:
            getattr(msg, name).CopyFrom(value)
    return augment_pb2.AugmentRequest(sample=msg, seed=1, **kw)


def _bf16():
    import torch

    return tensor_to_proto(torch.zeros(8, 20, dtype=torch.bfloat16))


def _delta_request(copied=None, frames=None) -> augment_pb2.AugmentRequest:
    s = _sample()
    s.edit[:, 3] += 1.0  # one frame that is not a copy
    req = augment_pb2.AugmentRequest(seed=1)
    sample_to_proto(s, delta=True, out=req.sample)
    if copied is not None:
        req.sample.edit_delta.copied.CopyFrom(copied)
    if frames is not None:
        req.sample.edit_delta.frames.CopyFrom(frames)
    return req


BAD = {
    "mismatched n_mels": (lambda: _request(edit=tensor_to_proto(np.zeros((6, 10), np.float32))), "n_mels differ"),
    "pointer out of range": (lambda: _request(pointers=tensor_to_proto(np.full(10, 20, np.int64))), "outside [0, 20)"),
    "negative pointer": (lambda: _request(pointers=tensor_to_proto(np.full(10, -1, np.int64))), "outside [0, 20)"),
    "NaN": (lambda: _request(raw=tensor_to_proto(np.full((8, 20), np.nan, np.float32))), "NaN or infinite"),
    "inf": (lambda: _request(edit=tensor_to_proto(np.full((8, 10), np.inf, np.float32))), "NaN or infinite"),
    "integer mel": (lambda: _request(raw=tensor_to_proto(np.zeros((8, 20), np.int32))), "must be float32"),
    "bfloat16 mel": (lambda: _request(raw=_bf16()), "DTYPE_BFLOAT16 has no numpy equivalent"),
    "float pointers": (lambda: _request(pointers=tensor_to_proto(np.zeros(10, np.float32))), "must be integers"),
    "too many frames": (lambda: _request(raw=tensor_to_proto(np.zeros((8, MAX_FRAMES + 1), np.float32))),
                        f"over the limit of {MAX_FRAMES}"),
    "1-D mel": (lambda: _request(raw=tensor_to_proto(np.zeros(20, np.float32))), "must be 2-D"),
    "wrong pointer count": (lambda: _request(pointers=tensor_to_proto(np.zeros(9, np.int64))), "pointers must be"),
    "short data": (lambda: _request(raw=augment_pb2.PointerSample().raw.__class__(dtype=1, shape=[8, 20],
                                                                                 data=b"\0" * 10)), "bytes"),
    "missing sample": (lambda: augment_pb2.AugmentRequest(seed=1), "sample is missing"),
    "missing pointers": (lambda: augment_pb2.AugmentRequest(sample=augment_pb2.PointerSample(
        raw=tensor_to_proto(np.zeros((8, 20), np.float32)), edit=tensor_to_proto(np.zeros((8, 10), np.float32)))),
        "sample.pointers is missing"),
    "bad config key": (lambda: _request(config_json='{"augmentation": {"noise": {"level_mux": 1}}}'),
                       "augmentation.noise.level_mux"),
    "config out of range": (lambda: _request(config_json='{"augmentation": {"gain": {"probability": 2}}}'),
                            "augmentation.gain.probability"),
    "config not JSON": (lambda: _request(config_json="{nope"), "not valid JSON"),
    "partner n_mels": (lambda: _request(partner=sample_to_proto(_sample(n_mels=6))), "mel channels"),
    "negative epoch": (lambda: _request(epoch=-1), "epoch must be >= 0"),
    "delta mask not bool": (lambda: _delta_request(copied=tensor_to_proto(np.ones(10, np.int64))),
                            "copied must be bool"),
    "delta mask length": (lambda: _delta_request(copied=tensor_to_proto(np.ones(9, bool))), "copied must be bool"),
    "delta frame count": (lambda: _delta_request(frames=tensor_to_proto(np.zeros((8, 2), np.float32))),
                          "frames must be (8, 1)"),
    "delta NaN frame": (lambda: _delta_request(frames=tensor_to_proto(np.full((8, 1), np.nan, np.float32))),
                        "NaN or infinite"),
    # issue 11, items 9-10: values beyond float32, non-finite or absurd config values, overflowing counts
    "float64 beyond float32": (lambda: _request(raw=tensor_to_proto(np.full((8, 20), 1e300, np.float64))),
                               "beyond float32's range"),
    "config NaN mask": (lambda: _request(config_json='{"augmentation": {"spec_augment": {"mask_value": NaN}}}'),
                        "augmentation.spec_augment.mask_value"),
    "config Infinity noise": (lambda: _request(config_json='{"augmentation": {"noise": {"level_max": Infinity}}}'),
                              "augmentation.noise.level_max"),
    "config 1e308 gain": (lambda: _request(config_json='{"augmentation": {"gain": {"scale_max": 1e308}}}'),
                          "augmentation.gain.scale_max"),
    "config chunk_size 2**63": (lambda: _request(
        config_json='{"augmentation": {"chunk_shuffle": {"chunk_size": 9223372036854775808}}}'),
        "augmentation.chunk_shuffle.chunk_size"),
    "config nested 30000 deep": (lambda: _request(config_json="[" * 30_000 + "]" * 30_000), "nested too deeply"),
    "config freq_masks 10**7": (lambda: _request(
        config_json='{"augmentation": {"spec_augment": {"freq_masks": 10000000}}}'),
        "augmentation.spec_augment.freq_masks"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_requests_are_invalid_argument(service, case):
    _, client = service
    make, reason = BAD[case]
    with pytest.raises(grpc.RpcError) as e:
        client.stub.Augment(make(), timeout=10)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value.details()
    assert reason in e.value.details()


def test_stream_error_names_the_request(service):
    _, client = service
    good = _request()
    bad = _request(pointers=tensor_to_proto(np.full(10, 99, np.int64)))
    responses = client.stub.AugmentStream(iter([good, good, bad, good]))
    assert next(responses).HasField("sample") and next(responses).HasField("sample")
    with pytest.raises(grpc.RpcError) as e:
        next(responses)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "request 2:" in e.value.details()


def test_concatenate_over_the_limit_is_refused(service):
    _, client = service
    big = _sample(t_raw=MAX_FRAMES // 2 + 1, t_edit=4)
    with pytest.raises(grpc.RpcError) as e:
        client.concatenate(big, big)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and f"over the limit of {MAX_FRAMES}" in e.value.details()


def test_health_and_reflection(service):
    handle, client = service
    stub = reflection_pb2_grpc.ServerReflectionStub(client.channel)
    resp = next(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
    assert "moredata.augment.v1.AugmentService" in {s.name for s in resp.list_services_response.service}
    from grpc_health.v1 import health_pb2_grpc

    check = health_pb2_grpc.HealthStub(client.channel).Check
    status = check(health_pb2.HealthCheckRequest(service="moredata.augment.v1.AugmentService"), timeout=5).status
    assert status == health_pb2.HealthCheckResponse.SERVING


def test_process_serves_and_stops_gracefully_on_sigterm(tmp_path, sample_dir):
    cfg = tmp_path / "augment.json"
    cfg.write_text(EVERYTHING.model_dump_json())
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "services.augment", f"--address=127.0.0.1:{port}",
                             f"--config={cfg}"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with AugmentClient(f"127.0.0.1:{port}") as client:
            client.wait_ready(30)
            s = _samples(sample_dir)[0]
            out, applied = client.augment(s, seed=3)  # no config sent: the file's config applies
            assert "chunk_shuffle" in [a["name"] for a in applied]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)  # a ceiling: the server stops within its grace period
        assert proc.returncode == 0 and "Traceback" not in err
    finally:
        proc.kill()


def test_cli_user_errors(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "services.augment", *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=60)

    for args, reason in [(["--bogus=1"], "unknown setting 'bogus'"), (["--max_frames=0"], "max_frames"),
                         ([f"--config={tmp_path / 'none.json'}", "--address=127.0.0.1:0"], "not found")]:
        r = run(*args)
        assert r.returncode == 2 and reason in r.stderr and "Traceback" not in r.stderr, r.stderr
    (tmp_path / "bad.json").write_text('{"augmentation": {"crop": {"min_len": 0}}}')
    r = run(f"--config={tmp_path / 'bad.json'}", "--address=127.0.0.1:0")
    assert r.returncode == 2 and "augmentation.crop.min_len" in r.stderr
    r = run("--help")
    assert r.returncode == 0 and "AUGMENT_MAX_FRAMES" in r.stdout


def test_config_cache_keys_on_the_parsed_config(service):
    """Six valid configs padded with whitespace used to hold their whole text in the cache."""
    handle, client = service
    cache = handle.servicer._cached
    cache.cache_clear()
    configs = ['{"augmentation": {"noise": {"enabled": true, "level_max": 0.%d}}}' % (i + 1) for i in range(6)]
    for i, cfg in enumerate(configs):
        padded = cfg[:-1] + " " * 60_000 + "}"
        client.stub.Augment(_request(config_json=padded), timeout=10)
        client.stub.Augment(_request(config_json=cfg), timeout=10)  # the same config: the same slot
    info = cache.cache_info()
    assert info.currsize <= 6 and info.hits >= 6
    too_big = '{"augmentation": {}}' + " " * 70_000
    with pytest.raises(grpc.RpcError) as e:
        client.stub.Augment(_request(config_json=too_big), timeout=10)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "over the 65536 limit" in e.value.details()


def test_idle_streams_do_not_starve_health(service):
    """More idle AugmentStream calls than worker threads: health and unary Augment keep answering."""
    import threading

    from grpc_health.v1 import health_pb2_grpc

    handle, client = service
    stall = threading.Event()

    def idle():
        stall.wait(60)
        return
        yield  # a generator that sends nothing

    channel = grpc.insecure_channel(f"127.0.0.1:{handle.port}")
    streams = [client.stub.AugmentStream(idle(), timeout=120) for _ in range(20)]
    try:
        health = health_pb2_grpc.HealthStub(channel)
        for _ in range(3):
            assert health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == \
                health_pb2.HealthCheckResponse.SERVING
            assert client.stub.Augment(_request(), timeout=10).HasField("sample")
    finally:
        stall.set()
        for s in streams:
            s.cancel()
        channel.close()


@pytest.mark.parametrize("mask_value", [None, 0.0])
def test_outputs_stay_finite_for_finite_inputs_near_the_float32_limit(service, mask_value):
    """Issue 23, item 8: a finite mel of 3e38 with gain 1.2 came back all inf (which the service refuses
    as input). Out-of-range cells are clipped to the largest float32 and `applied` says how many."""
    _, client = service
    s = _sample()
    big = PointerSample(np.full_like(s.raw, 3e38), np.full_like(s.edit, 3e38), s.pointers)
    config = AugmentationConfig.model_validate({"augmentation": {
        "gain": {"enabled": True, "probability": 1.0, "scale_min": 1.2, "scale_max": 1.2},
        "spec_augment": {"enabled": True, "probability": 1.0, "mask_value": mask_value}}})
    out, applied = client.augment(big, seed=3, config=config)
    assert np.isfinite(out.raw).all() and np.isfinite(out.edit).all()
    assert applied[-1]["name"] == "clip" and applied[-1]["cells"] > 0
    again, _ = client.augment(out, seed=4, config=config)  # what it returns, it accepts as input
    assert np.isfinite(again.raw).all()
