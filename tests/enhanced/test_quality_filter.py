"""The generator's quality filter: degenerate fragments (loops of one character or one phrase) are the
worst by NLL + repetition and are dropped; ordinary text is kept; counts reach the status."""
from __future__ import annotations

import numpy as np
import pytest

from moredata.enhanced.fragments import badness, fragment_scores, repetition
from moredata.enhanced.ring_buffer import MemorySampleBuffer
from moredata.enhanced.worker import EnhancedSampleGenerator, GenerationSettings
from moredata.errors import UserError
from moredata.training.config import load_settings


def planted_batch(char_data, n_real: int = 14, length: int = 33):
    """n_real windows of the real validation text, then a loop of one character and a looped phrase."""
    val = np.fromfile(char_data / "val.bin", dtype=np.uint16).astype(np.int64)
    rng = np.random.default_rng(0)
    starts = rng.integers(0, len(val) - length, n_real)
    real = val[starts[:, None] + np.arange(length)]
    one_char = np.full(length, val[3])
    phrase = np.resize(val[100:107], length)  # seven characters over and over
    return np.vstack([real, one_char, phrase])


def test_repetition_measure():
    assert repetition(np.full((1, 64), 7))[0] > 0.95
    assert repetition(np.arange(64)[None, :])[0] == 0.0
    loop = np.resize(np.arange(5), 64)[None, :]  # a 5-token phrase repeated: 5 distinct 4-grams of 61
    assert abs(repetition(loop)[0] - (1 - 5 / 61)) < 1e-12


def test_filter_drops_the_planted_degenerate_fragments(tiny_best, char_data):
    data = np.fromfile(char_data / "train.bin", dtype=np.uint16)
    buf = MemorySampleBuffer(64, 33)
    gen = EnhancedSampleGenerator(str(tiny_best), data, buf, GenerationSettings(filter_quantile=2 / 16, max_prefix_length=16))
    frags = planted_batch(char_data)
    nll, rep = fragment_scores(gen.model, frags)
    assert (rep[-2:] > 0.7).all() and (rep[:-2] < 0.35).all()
    assert nll[-2:].max() < nll[:-2].mean() + 1.0  # a loop is not improbable to the model: NLL alone would keep it
    kept = gen.filter(gen.model, frags)
    assert kept.shape == (14, 33) and np.array_equal(kept, frags[:14])
    assert gen.filtered == 2
    assert set(np.argsort(badness(nll, rep))[-2:]) == {14, 15}


def test_filter_off_keeps_everything_and_counts_in_rounds(tiny_best, char_data):
    data = np.fromfile(char_data / "train.bin", dtype=np.uint16)
    plain = EnhancedSampleGenerator(str(tiny_best), data, MemorySampleBuffer(64, 33), GenerationSettings(max_prefix_length=16))
    assert plain.generate_round() == 16 and plain.filtered == 0 and plain.kept == 16
    filtered = EnhancedSampleGenerator(str(tiny_best), data, MemorySampleBuffer(64, 33),
                                       GenerationSettings(max_prefix_length=16, filter_quantile=0.25))
    written = sum(filtered.generate_round() for _ in range(4))
    assert filtered.kept == written and filtered.filtered + filtered.kept == 64
    assert 8 <= filtered.filtered <= 24  # about a quarter against the running reference


@pytest.mark.parametrize("value", ["1", "-0.1", "1.5"])
def test_filter_quantile_is_validated_by_name(value):
    with pytest.raises(UserError, match="'enhanced_filter_quantile'"):
        load_settings([f"--enhanced_filter_quantile={value}"])
