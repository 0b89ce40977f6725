"""enhanced_data_probability = "auto": 0 until the run overfits, then up to the maximum, smoothly; its state
survives resume; every new key is validated by name."""
from __future__ import annotations

import pytest
import torch
from conftest import tiny_flags

from moredata.errors import UserError
from moredata.models.checkpoint import load_checkpoint
from moredata.training.auto_probability import AutoProbability
from moredata.training.config import load_settings
from moredata.training.loop import TrainingLoop
from moredata.training.metrics import read_metrics

AUTO = dict(enhanced_data_probability="auto", max_prefix_length=16, min_prefix_length=4, eval_iters=20)


def test_controller_follows_the_memorising_share():
    improving = AutoProbability(max_probability=0.3)
    for k in range(20):  # both losses fall together behind a constant gap (a harder val split): never overfitting
        assert improving.update(3.0 - 0.05 * k, 3.4 - 0.05 * k) == 0.0
    over = AutoProbability(max_probability=0.3, threshold=0.2, window=3, rate=0.5)
    # train falls 0.1 per evaluation; val follows a shrinking part of it (m grows by 0.08 an evaluation):
    # val stops improving at evaluation 14 (m = 1), then rises
    train, val, curve = 4.0, 4.0, []
    for k in range(20):
        curve.append((train, val))
        train -= 0.1
        val -= 0.1 * (1 - min(1.5, 0.08 * k)) if k else 0.9
    best = min(range(len(curve)), key=lambda k: curve[k][1])
    ps = [over.update(t, v) for t, v in curve]
    first = next(k for k, p in enumerate(ps) if p > 0.05)
    assert 6 <= first < best - 2, (first, best, ps)  # rises on the forecast, evaluations before the best point
    assert ps[best] > 0.2 and max(ps) <= 0.3
    assert all(b - a <= 0.5 * 0.3 + 1e-12 for a, b in zip(ps, ps[1:]))  # at most rate x max per evaluation
    held = [over.update(*curve[-1]) for _ in range(3)]  # a plateau: no evidence, the target is held
    assert min(held) >= ps[-1] - 1e-12
    t, v = curve[-1]
    recovered = [over.update(t - 0.1 * k, v - 0.1 * k) for k in range(1, 10)]  # val follows train again
    assert recovered == sorted(recovered, reverse=True) and recovered[-1] < ps[-1] / 4


def test_epochs_gate_keeps_p_at_zero_before_min_epochs():
    gated = AutoProbability(max_probability=0.3, min_epochs=4.0, tokens_per_iter=100, train_tokens=10_000)
    train, val = 4.0, 4.0
    for k in range(30):  # memorising from the start: m = 1 and more
        p = gated.update(train, val, iter_num=10 * k)  # 0.1 epochs per evaluation
        train, val = train - 0.1, val + 0.02
        assert p == 0.0 and gated.epochs == pytest.approx(0.1 * k)
        assert gated.generator_needed() == (gated.epochs >= 2.0)  # the generator wakes at half of min_epochs
    for k in range(30, 60):
        p = gated.update(train, val, iter_num=10 * k)
        train, val = train - 0.1, val + 0.02
    assert p > 0.25  # past 4 epochs the same evidence raises p


def memorising_share(evals: list[dict], i: int, window: int = 3) -> float:
    a, b = evals[i - window], evals[i]
    return ((b["val_loss"] - b["train_loss"]) - (a["val_loss"] - a["train_loss"])) / (a["train_loss"] - b["train_loss"])


def _evals(out):
    return [r for r in read_metrics(out / "metrics.jsonl") if r["type"] == "eval"]


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory, shakespeare_text):
    """2,000 characters: a 128-wide model memorises them within 150 iterations."""
    from moredata.data.prepare import prepare

    d = tmp_path_factory.mktemp("tiny")
    (d / "input.txt").write_text(shakespeare_text[:2000], encoding="utf-8")
    prepare([d / "input.txt"], d / "char", tokenizer="char", block_size=32)
    return d / "char"


@pytest.fixture(scope="module")
def overfit_run(tiny_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("overfit") / "run"
    t = TrainingLoop(load_settings(tiny_flags(tiny_corpus, out, max_iters=150, lr_decay_iters=150, n_embd=128,
                                         **AUTO)))
    summary = t.run()
    return t, summary, out


def test_auto_rises_on_a_run_that_overfits(overfit_run):
    t, summary, out = overfit_run
    evals = _evals(out)
    ps = [e["enhanced_p"] for e in evals]
    assert ps[0] == 0.0 and max(ps) > 0.1 and max(ps) <= 0.3
    first = next(i for i, p in enumerate(ps) if p > 0)
    assert first >= 6  # the untrained evaluation, a window of 3 and 3 measured shares for a trend come first
    best = min(range(len(evals)), key=lambda i: evals[i]["val_loss"])
    assert first <= best  # enhanced rows came before the best point, on the forecast
    assert memorising_share(evals, first) > t.cfg.enhanced_auto_threshold  # the train loss's fall stopped reaching val
    assert evals[first]["train_loss"] < evals[first - 3]["train_loss"]  # while train still fell
    assert t.enhanced.source.generator is not None and t.enhanced.stats.enhanced_rows > 0
    assert (out / "loss.png").stat().st_size > 10_000


def test_auto_stays_zero_on_a_run_that_does_not_overfit(char_data, tmp_path):
    t = TrainingLoop(load_settings(tiny_flags(char_data, tmp_path / "run", max_iters=40, **AUTO)))
    t.run()
    assert [e["enhanced_p"] for e in _evals(tmp_path / "run")] == [0.0] * 5
    # the generator starts at the first best checkpoint (the ring is full when a run starts memorising),
    # but no row is enhanced, and none fell back: none was meant to be enhanced
    assert t.enhanced.stats.enhanced_rows == 0 and t.enhanced.stats.fallback_rows == 0
    assert t.enhanced.source.generator is not None  # started at the first best.pt, ready before p ever rises


def test_auto_state_survives_resume(overfit_run, tiny_corpus):
    t, summary, out = overfit_run
    saved = load_checkpoint(out / "ckpt.pt")["trainer_state"]["enhanced"]
    assert saved["p"] == saved["auto"]["probability"] > 0
    resumed = TrainingLoop(load_settings(tiny_flags(tiny_corpus, out, max_iters=170, lr_decay_iters=150, n_embd=128,
                                               init_from="resume", **AUTO)))
    assert resumed.enhanced.auto.state_dict() == saved["auto"] and resumed.enhanced.p == saved["p"]
    assert torch.equal(resumed.enhanced.comp_gen.get_state(), saved["comp_rng"])
    resumed.run()
    after = _evals(out)
    assert [e["iter"] for e in after][-2:] == [160, 170]
    assert resumed.enhanced.auto.evals == saved["auto"]["evals"] + 2  # continued, not restarted


def test_fixed_probability_is_left_alone(char_data, tmp_path):
    t = TrainingLoop(load_settings(tiny_flags(char_data, tmp_path / "run", max_iters=20, enhanced_data_probability=0.3,
                                         max_prefix_length=16)))
    t.run()
    assert t.enhanced.auto is None and t.enhanced.p == 0.3
    assert {e["enhanced_p"] for e in _evals(tmp_path / "run")} == {0.3}


@pytest.mark.parametrize("argv, key", [
    (["--enhanced_data_probability=1.5"], "'enhanced_data_probability': expected a number in [0, 1] or 'auto'"),
    (["--enhanced_data_probability=sometimes"], "'enhanced_data_probability'"),
    (["--enhanced_max_probability=0"], "'enhanced_max_probability'"),
    (["--enhanced_max_probability=1.1"], "'enhanced_max_probability'"),
    (["--enhanced_auto_threshold=1"], "'enhanced_auto_threshold'"),
    (["--enhanced_auto_threshold=-0.1"], "'enhanced_auto_threshold'"),
    (["--enhanced_auto_window=0"], "'enhanced_auto_window'"),
    (["--enhanced_auto_rate=0"], "'enhanced_auto_rate'"),
    (["--enhanced_data_probability=auto", "--block_size=32", "--max_prefix_length=64"], "'max_prefix_length'"),
])
def test_new_settings_are_validated_by_name(argv, key):
    with pytest.raises(UserError) as e:
        load_settings(argv)
    assert key in str(e.value)
