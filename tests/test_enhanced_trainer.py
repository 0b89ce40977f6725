"""Mixed batches in the trainer, with the in-process generator."""

import pytest
import torch
from conftest import tiny_flags

from moredata.errors import UserError
from moredata.training.config import load_settings
from moredata.training.enhanced_mixer import determine_batch_composition
from moredata.training.loop import TrainingLoop
from moredata.training.metrics import read_metrics


def test_composition_probability_is_right():
    """Binomial test: 200k rows at p = 0.3 land within 5 standard deviations of 60k."""
    for p in (0.0, 0.3, 1.0):
        m = determine_batch_composition(200_000, p, torch.Generator().manual_seed(0))
        assert m.dtype == torch.bool and m.shape == (200_000,)
        sd = (200_000 * p * (1 - p)) ** 0.5
        assert abs(int(m.sum()) - 200_000 * p) <= 5 * sd
    a = determine_batch_composition(64, 0.5, torch.Generator().manual_seed(3))
    b = determine_batch_composition(64, 0.5, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="enhanced_data_probability"):
        determine_batch_composition(4, 1.5)


@pytest.mark.parametrize("argv, words", [
    (["--enhanced_data_probability=1.2"], "'enhanced_data_probability'"),
    (["--min_prefix_length=0"], "'min_prefix_length'"),
    (["--min_prefix_length=10", "--max_prefix_length=5"], "'min_prefix_length': 10 exceeds max_prefix_length"),
    (["--enhanced_data_probability=0.5", "--block_size=32", "--max_prefix_length=64"],
     "'max_prefix_length': 64 is longer than the model's context block_size (32)"),
    (["--enhanced_buffer_size=0"], "'enhanced_buffer_size'"),
    (["--enhanced_generation_temperature=0"], "'enhanced_generation_temperature'"),
    (["--enhanced_generation_top_k=0"], "'enhanced_generation_top_k'"),
    (["--generator=localhost"], "'generator': expected host:port"),
])
def test_enhanced_settings_refused(argv, words):
    with pytest.raises(UserError) as e:
        load_settings(argv)
    assert words in str(e.value)


def _losses(out):
    return [r["loss"] for r in read_metrics(out / "metrics.jsonl") if r["type"] == "train"]


def test_p0_is_bit_identical_to_the_plain_trainer(char_data, tmp_path):
    plain = TrainingLoop(load_settings(tiny_flags(char_data, tmp_path / "a", max_iters=15)))
    plain.run()
    zero = TrainingLoop(load_settings(tiny_flags(char_data, tmp_path / "b", max_iters=15, enhanced_data_probability=0.0,
                                            max_prefix_length=999)))
    zero.run()
    assert zero.enhanced is None  # nothing created
    assert _losses(tmp_path / "a") == _losses(tmp_path / "b")


@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_batch_shapes_dtypes_devices(char_data, tmp_path, p):
    t = TrainingLoop(load_settings(tiny_flags(char_data, tmp_path, enhanced_data_probability=p, max_prefix_length=16)))
    if p > 0:  # fill the ring so enhanced rows are really served
        t.enhanced.source.buffer.add_samples(torch.randint(0, 65, (40, 33)).numpy(), 1)
    x, y = t.next_batch()
    assert x.shape == y.shape == (8, 32) and x.dtype == y.dtype == torch.int64
    assert x.device.type == y.device.type == "cpu"
    assert torch.equal(x[:, 1:], y[:, :-1])  # enhanced or natural, y is x shifted by one
    if p == 1.0:
        assert t.enhanced.stats.enhanced_rows == 8 and t.enhanced.stats.fallback_rows == 0


def test_training_with_the_in_process_generator(char_data, tmp_path):
    s = TrainingLoop(load_settings(tiny_flags(char_data, tmp_path, max_iters=60, eval_interval=15,
                                         enhanced_data_probability=0.5, max_prefix_length=16,
                                         enhanced_buffer_size=64, enhanced_generation_batch_size=8))).run()
    rows = [r for r in read_metrics(tmp_path / "metrics.jsonl") if r["type"] == "train"]
    assert rows[0]["fallback_rows"] > 0 and rows[0]["generator_version"] == 0  # no checkpoint yet: natural rows
    assert rows[-1]["enhanced_rows"] > 0 and rows[-1]["generator_version"] >= 1  # started on the first best.pt
    versions = [r["generator_version"] for r in rows]
    assert versions == sorted(versions)  # the generator follows each better checkpoint
    assert s.best_val_loss < 4.0
    assert [e["iter"] for e in s.evals] == [0, 15, 30, 45, 60]  # every evaluation ran and was recorded


def _train_in_thread(flags):
    import threading

    trainer = TrainingLoop(load_settings(flags))
    result = {"trainer": trainer}

    def run():
        try:
            result["summary"] = trainer.run()
        except Exception as e:  # noqa: BLE001 - surfaced by the test
            result["error"] = e

    t = threading.Thread(target=run)
    t.start()
    return t, result


def _last(out, key):
    path = out / "metrics.jsonl"
    if not path.is_file():
        return 0
    rows = [r for r in read_metrics(path) if r["type"] == "train"]
    return rows[-1][key] if rows else 0


def _wait(pred, timeout=90):
    from conftest import wait_until

    return wait_until(pred, timeout)


def test_remote_generator_killed_and_back_and_redis_restarted(char_data, redis_server, tmp_path):
    """Training against a generator service survives the generator dying and Redis restarting."""
    from conftest import free_port

    from services.generator.main import parse_settings, serve

    ckpts = tmp_path / "ckpts"
    port = free_port()

    def start_generator():
        settings = parse_settings([f"--address=127.0.0.1:{port}", f"--redis_url=redis://127.0.0.1:{redis_server.port}/0",
                                   f"--data_dir={char_data}", f"--checkpoint_dir={tmp_path}",
                                   "--min_prefix_length=4", "--max_prefix_length=16", "--enhanced_buffer_size=64",
                                   "--enhanced_generation_batch_size=8", "--device=cpu"])
        return serve(settings, install_signals=False)

    handle, core = start_generator()
    out = ckpts / "run"
    thread, result = _train_in_thread(tiny_flags(
        char_data, out, max_iters=100000, lr_decay_iters=100000, eval_interval=10, log_interval=1,
        enhanced_data_probability=0.5, max_prefix_length=16, generator=f"127.0.0.1:{port}"))
    try:
        # the trainer's first best.pt reaches the generator (UpdateModel), then enhanced rows flow
        assert _wait(lambda: _last(out, "enhanced_rows") > 50), result
        assert _last(out, "generator_version") >= 1
        # generator killed: training goes on with natural rows, counted as fallbacks
        handle.stop(0.2, on_shutdown=core.close)
        fb = _last(out, "fallback_rows")
        assert _wait(lambda: _last(out, "fallback_rows") > fb + 50)
        # generator back (a fresh process on the same port, no model): the client reconnects and sends
        # it the trainer's best checkpoint again, and enhanced rows flow again
        handle, core = start_generator()
        enh = _last(out, "enhanced_rows")
        assert _wait(lambda: _last(out, "enhanced_rows") > enh + 50), result
        # Redis restarted: the stream fails, rows fall back, then the worker refills the new ring
        redis_server.stop()
        fb = _last(out, "fallback_rows")
        assert _wait(lambda: _last(out, "fallback_rows") > fb + 20)
        redis_server.start()
        enh = _last(out, "enhanced_rows")
        assert _wait(lambda: _last(out, "enhanced_rows") > enh + 50), result
        assert thread.is_alive() and "error" not in result  # training never stopped
    finally:
        result["trainer"].request_stop("test over")  # what SIGINT does: finish the iteration, save, return
        thread.join(60)
        handle.stop(0.2, on_shutdown=core.close)
    assert not thread.is_alive() and "error" not in result
    assert result["summary"].interrupted_at_iter is not None
