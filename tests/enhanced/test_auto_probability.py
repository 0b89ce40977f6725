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
    over = AutoProbability(max_probability=0.3, threshold=0.4, window=3, rate=0.5)
    # train falls 0.2 per evaluation; val first follows all of it, then a quarter, then none, then rises
    curve = [(4.0, 4.0), (3.0, 3.1), (2.8, 2.9), (2.6, 2.7), (2.4, 2.5), (2.2, 2.45), (2.0, 2.4), (1.8, 2.4),
             (1.6, 2.42), (1.4, 2.5), (1.2, 2.6)]
    ps = [over.update(t, v) for t, v in curve]
    assert ps[:6] == [0.0] * 6  # m = 0, then 0.25 (below the threshold of 0.4)
    assert ps[-1] > 0.25 and max(ps) <= 0.3
    assert all(b - a <= 0.5 * 0.3 + 1e-12 for a, b in zip(ps, ps[1:]))  # at most rate x max per evaluation
    held = [over.update(1.2, 2.6) for _ in range(3)]  # a plateau: no evidence, the target is held
    assert min(held) >= ps[-1]
    recovered = [over.update(1.2 - 0.1 * k, 2.6 - 0.1 * k) for k in range(1, 8)]  # val follows train again
    assert recovered == sorted(recovered, reverse=True) and recovered[-1] < ps[-1] / 4


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
    assert first >= 4  # the untrained evaluation and a full window of 3 come first
    threshold = t.cfg.enhanced_auto_threshold
    assert memorising_share(evals, first) > threshold  # it rose when the train loss's fall stopped reaching val
    assert all(memorising_share(evals, i) <= threshold for i in range(4, first))  # and not before
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
