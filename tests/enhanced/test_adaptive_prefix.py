"""enhanced_prefix_schedule = "adaptive": longer real prefixes while the model is weak, measured by the
checkpoint's val loss against a uniform guess's (ln vocab)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import spy, tiny_flags

from moredata.enhanced import fragments
from moredata.enhanced.fragments import adaptive_min_prefix
from moredata.enhanced.ring_buffer import MemorySampleBuffer
from moredata.enhanced.worker import EnhancedSampleGenerator, GenerationSettings
from moredata.errors import UserError
from moredata.models.checkpoint import load_checkpoint
from moredata.training.config import load_settings


def test_the_shortest_prefix_follows_the_weakness():
    ln65 = math.log(65)
    assert adaptive_min_prefix(8, 48, ln65, 65) == 48  # untrained: only the longest prefixes
    assert adaptive_min_prefix(8, 48, 2 * ln65, 65) == 48  # worse than uniform: clamped
    assert adaptive_min_prefix(8, 48, 0.0, 65) == 8  # perfect: the whole range
    assert adaptive_min_prefix(8, 48, float("nan"), 65) == 48  # not measured yet: counts as untrained
    los = [adaptive_min_prefix(8, 48, v, 65) for v in (3.5, 2.5, 2.0, 1.5, 1.0)]
    assert los == sorted(los, reverse=True) and los[0] > los[-1]  # a better model may start from less
    assert adaptive_min_prefix(8, 48, 0.5 * ln65, 65) == 28


def test_rounds_draw_prefixes_from_the_adaptive_range(tiny_best, char_data, monkeypatch):
    data = np.fromfile(char_data / "train.bin", dtype=np.uint16)
    ckpt = load_checkpoint(tiny_best)
    drawn = spy(monkeypatch, fragments, "random_prefixes", lambda *a, out: [len(p) for p in out])  # per round
    settings = GenerationSettings(min_prefix_length=4, max_prefix_length=32, prefix_schedule="adaptive")
    gen = EnhancedSampleGenerator(str(tiny_best), data, MemorySampleBuffer(64, 33), settings, ckpt=ckpt)
    vocab = gen.model.config.vocab_size
    lo, hi = gen.prefix_range()
    assert hi == 32 and lo == adaptive_min_prefix(4, 32, ckpt["best_val_loss"], vocab) and 4 < lo < 32
    assert gen.generate_round() == 16
    assert min(drawn[-1]) >= lo and max(drawn[-1]) <= 32

    gen.update_model(str(tiny_best), ckpt={**ckpt, "best_val_loss": 0.3 * math.log(vocab)})  # a stronger model
    assert gen.prefix_range()[0] < lo
    gen.update_model(str(tiny_best), ckpt={**ckpt, "best_val_loss": math.log(vocab)})  # no better than uniform
    assert gen.prefix_range() == (32, 32)
    gen.generate_round()
    assert set(drawn[-1]) == {32}

    uniform = EnhancedSampleGenerator(str(tiny_best), data, MemorySampleBuffer(64, 33),
                                      GenerationSettings(min_prefix_length=4, max_prefix_length=32), ckpt=ckpt)
    assert uniform.prefix_range() == (4, 32)


def test_the_schedule_is_validated_by_name(char_data, tmp_path):
    with pytest.raises(UserError) as e:
        load_settings(tiny_flags(char_data, tmp_path, enhanced_prefix_schedule="longest"))
    assert "enhanced_prefix_schedule" in str(e.value)
    assert load_settings(tiny_flags(char_data, tmp_path)).enhanced_prefix_schedule == "uniform"  # off by default
