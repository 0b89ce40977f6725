"""The generator writes what the trainer draws, in both directions: nothing while auto's p cannot rise,
only its reserve while p = 0, the demand while rows are drawn; in the trainer's process and in the
service. Step times by phase, fragment reuse and the ring's fill are in the metrics and the summary."""
from __future__ import annotations

import os
import threading

import grpc
from conftest import free_port, tiny_flags, wait_until

from moredata.rpc.proto import generator_pb2, generator_pb2_grpc
from moredata.training.config import load_settings
from moredata.training.loop import TrainingLoop
from moredata.training.metrics import read_metrics

GEN = dict(max_prefix_length=16, min_prefix_length=4, enhanced_buffer_size=512, enhanced_generation_batch_size=8)


def _train_rows(out):
    return [r for r in read_metrics(out / "metrics.jsonl") if r["type"] == "train"]


def test_fixed_p_reports_phases_reuse_and_fill(char_data, tmp_path):
    out = tmp_path / "run"
    # equal priority: on a busy CI machine a nice generator may write nothing in a 60-iteration run
    s = TrainingLoop(load_settings(tiny_flags(char_data, out, max_iters=60, eval_interval=15,
                                              enhanced_data_probability=0.5, enhanced_generation_niceness=0,
                                              **GEN))).run()
    rows = _train_rows(out)
    phases = [r["phase"] for r in rows]
    assert phases[0] == "before_generator" and phases[-1] == "drawing"  # no model until the first best.pt
    assert phases.index("drawing") == next(i for i, r in enumerate(rows) if r["generator_version"] >= 1)
    assert set(s.ms_per_iter_by_phase) == {"before_generator", "drawing"}
    assert sum(v["iters"] for v in s.ms_per_iter_by_phase.values()) == len(rows)  # every step, once
    last = rows[-1]
    assert last["fragments_written"] > 0 and last["enhanced_rows"] > 0
    assert abs(last["fragment_reuse"] - last["enhanced_rows"] / last["fragments_written"]) < 1e-3
    assert "ms/iter by phase" in s.table() and "drawing" in s.table()
    assert (out / "loss.png").stat().st_size > 10_000  # with the ring's panel


def test_auto_before_its_epochs_writes_nothing(char_data, tmp_path):
    """200k characters, 40 iterations of 256 tokens: 0.06 epochs, p cannot rise; the generator loads the
    first best model but writes no fragment (flat out, it wrote hundreds: the README job's doubled steps)."""
    out = tmp_path / "run"
    t = TrainingLoop(load_settings(tiny_flags(char_data, out, enhanced_data_probability="auto", **GEN)))
    s = t.run()
    rows = _train_rows(out)
    assert rows[-1]["generator_version"] >= 1 and rows[-1]["fragments_written"] == 0
    assert t.enhanced.source.pacer.rounds == 0
    assert set(s.ms_per_iter_by_phase) == {"before_generator", "generator_p0"}


def _train_in_thread(loop):
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("summary", loop.run()))
    thread.start()
    return thread, result


def test_auto_at_p0_writes_its_reserve_and_rests(char_data, tmp_path):
    """Past min_epochs with p held at 0 (a threshold nothing reaches), no time share limit: the generator
    writes the reserve of each new best model and then rests, where flat out it would fill the ring."""
    out = tmp_path / "run"
    loop = TrainingLoop(load_settings(tiny_flags(
        char_data, out, max_iters=100000, lr_decay_iters=100000, eval_interval=10, enhanced_data_probability="auto",
        enhanced_auto_min_epochs=0, enhanced_auto_threshold=0.99, enhanced_generation_idle_share=1.0,
        enhanced_generation_reserve=24, **GEN)))
    thread, result = _train_in_thread(loop)
    try:
        source = loop.enhanced.source
        assert wait_until(lambda: source.written() >= 24, 120)
        # the generator thread yields the cores to training: nice 10 for it alone, not for the trainer
        assert os.getpriority(os.PRIO_PROCESS, source.generator._thread.native_id) == 10
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == 0
        versions = source.generator.model_version
        iters = loop.iter_num
        assert wait_until(lambda: loop.iter_num >= iters + 60, 120)  # six more evaluations' worth of training
        written = source.written()
        versions = source.generator.model_version - versions + 1
        # per model version: the reserve of 24 and at most one round of 8 past it; flat out, 512 slots
        assert written <= versions * (24 + 8), (written, versions)
        assert loop.enhanced.p == 0.0 and loop.enhanced.stats.enhanced_rows == 0
    finally:
        loop.request_stop("test over")
        thread.join(60)


def test_service_paces_by_what_it_serves(redis_server, char_data, tmp_path):
    """Paced by default: with nobody drawing the service writes a quarter of its ring and rests; drawing
    makes it write on; GetStatus reports served fragments and reuse."""
    from services.generator.main import parse_settings, serve

    TrainingLoop(load_settings(tiny_flags(char_data, tmp_path / "ckpts" / "run", max_iters=10, eval_interval=10,
                                          plot=False))).run()
    flags = {"address": f"127.0.0.1:{free_port()}", "redis_url": f"redis://127.0.0.1:{redis_server.port}/0",
             "data_dir": str(char_data), "checkpoint_dir": str(tmp_path / "ckpts"), "checkpoint": "run/best.pt",
             "min_prefix_length": 4, "max_prefix_length": 16, "enhanced_buffer_size": 64,
             "enhanced_generation_batch_size": 8, "device": "cpu", "stream_wait_s": 1.0,
             "ring_prefix": "pacing-test"}
    handle, core = serve(parse_settings([f"--{k}={v}" for k, v in flags.items()]), install_signals=False)
    channel = grpc.insecure_channel(f"127.0.0.1:{handle.port}")
    try:
        stub = generator_pb2_grpc.GeneratorServiceStub(channel)
        assert wait_until(lambda: core.worker is not None and core.worker.fresh >= 16, 60)
        assert core.worker.pacer.wait_s(core.worker.fresh) > 0  # the reserve (64 / 4) is there: it rests
        kept = core.worker.kept
        assert kept < 64  # not the whole ring: nobody asked for it

        def drawn_and_written():  # a trainer drawing 16 fragments per look: demand while we wait
            list(stub.StreamSamples(generator_pb2.StreamSamplesRequest(batch_size=8, max_batches=2), timeout=10))
            return core.worker.kept > kept

        assert wait_until(drawn_and_written, 120)  # draws make it write on
        st = stub.GetStatus(generator_pb2.GetStatusRequest(), timeout=5)
        assert st.fragments_served >= 16 and st.fragment_reuse > 0 and st.generation_batch >= 8
    finally:
        channel.close()
        handle.stop(0.5, on_shutdown=core.close)
