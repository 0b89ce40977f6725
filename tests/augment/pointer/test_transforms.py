"""Property tests: the copy identity edit[:, t] == raw[:, pointers[t]] survives every transform."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moredata.pointer.transforms import (
    PointerSample,
    add_noise,
    channel_dropout,
    chunk_shuffle,
    concatenate,
    crop,
    scale_gain,
    spec_augment,
)


@st.composite
def samples(draw, max_raw=120, max_edit=80):
    """A copied edit: random raw mel, random pointers (repeats, reorders, jumps), edit = raw[:, pointers]."""
    n_mels = draw(st.integers(1, 12))
    t_raw = draw(st.integers(1, max_raw))
    t_edit = draw(st.integers(1, max_edit))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    raw = rng.standard_normal((n_mels, t_raw)).astype(np.float32)
    kind = draw(st.sampled_from(["random", "runs", "constant"]))
    if kind == "random":
        ptr = rng.integers(0, t_raw, size=t_edit)
    elif kind == "runs":  # contiguous runs, like real cut/repeat edits
        ptr = (rng.integers(0, t_raw) + np.arange(t_edit)) % t_raw
    else:
        ptr = np.full(t_edit, rng.integers(0, t_raw))
    return PointerSample(raw, raw[:, ptr], ptr.astype(np.int64)).validate()


seeds = st.integers(0, 2**32 - 1)
CASES = settings(max_examples=60, deadline=None)


@CASES
@given(samples(), seeds)
def test_same_noise_gain_dropout_keep_identity(s, seed):
    rng = np.random.default_rng(seed)
    for out, _ in (add_noise(s, rng, 0.1, 0.5), scale_gain(s, rng, 0.5, 2.0), channel_dropout(s, rng, 0.3)):
        assert out.raw.shape == s.raw.shape and out.edit.shape == s.edit.shape
        assert out.copy_identity_holds(atol=1e-5)


@CASES
@given(samples(), seeds)
def test_independent_noise_breaks_only_values(s, seed):
    out, info = add_noise(s, np.random.default_rng(seed), 0.2, 0.2, independent=True)
    assert info["level"] == pytest.approx(0.2) and out.pointers is s.pointers
    assert out.edit.shape == s.edit.shape


@CASES
@given(samples(), seeds, st.sampled_from(["same_positions", "consistent"]))
def test_spec_augment(s, seed, mode):
    out, info = spec_augment(s, np.random.default_rng(seed), 2, 3, 2, 10, 0.3, mode)
    assert out.raw.shape == s.raw.shape and out.edit.shape == s.edit.shape
    if mode == "consistent":
        assert out.copy_identity_holds()
    else:  # identity holds on edit frames whose own and pointed frames are both unmasked
        masked_raw = (out.raw != s.raw).any(axis=0)
        masked_edit = (out.edit != s.edit).any(axis=0)
        clean = ~masked_edit & ~masked_raw[s.pointers]
        assert np.array_equal(out.edit[:, clean], out.raw[:, s.pointers[clean]])
    for a, b in info["time_masks"]:
        assert 0 < b - a <= 10


@CASES
@given(samples(), seeds, st.integers(1, 40))
def test_chunk_shuffle_remaps_pointers(s, seed, chunk):
    out, info = chunk_shuffle(s, np.random.default_rng(seed), chunk)
    assert out.raw.shape == s.raw.shape and sorted(info["permutation"]) == list(range(-(-s.raw.shape[1] // chunk)))
    assert out.copy_identity_holds()
    # the raw frames are a permutation of the original ones
    assert np.array_equal(np.sort(out.raw, axis=1), np.sort(s.raw, axis=1))


@CASES
@given(samples(), seeds, st.integers(1, 30), st.integers(0, 60), st.integers(0, 5))
def test_crop(s, seed, lo, extra, context):
    out, info = crop(s, np.random.default_rng(seed), lo, lo + extra, context)
    t = out.edit.shape[1]
    assert min(lo, s.edit.shape[1]) <= t <= min(lo + extra, s.edit.shape[1])
    assert out.copy_identity_holds()
    a, b = info["raw_window"]
    assert np.array_equal(out.raw, s.raw[:, a:b])


@CASES
@given(samples(max_raw=40), samples(max_raw=40), seeds)
def test_concatenate(a, b, seed):
    if a.raw.shape[0] != b.raw.shape[0]:
        with pytest.raises(ValueError, match="n_mels differ"):
            concatenate(a, b)
        return
    out, info = concatenate(a, b)
    assert info["offset"] == a.raw.shape[1] and out.copy_identity_holds()
    with pytest.raises(ValueError, match="over the limit"):
        concatenate(a, b, max_frames=max(out.raw.shape[1], out.edit.shape[1]) - 1)


@CASES
@given(samples(), seeds)
def test_same_seed_same_output(s, seed):
    def pipeline():
        rng = np.random.default_rng(seed)
        masked, info1 = spec_augment(s, rng, 1, 2, 1, 5)
        shuffled, info2 = chunk_shuffle(masked, rng, 7)
        return shuffled, (info1, info2)

    (a, ia), (b, ib) = pipeline(), pipeline()
    assert ia == ib and np.array_equal(a.raw, b.raw) and np.array_equal(a.pointers, b.pointers)


def test_edge_cases_and_invalid_input():
    raw = np.arange(12, dtype=np.float32).reshape(2, 6)
    one = PointerSample(raw, raw[:, [4]], np.array([4]))  # T_edit = 1
    out, _ = chunk_shuffle(one, np.random.default_rng(0), 100)  # T_raw shorter than a chunk
    assert out.copy_identity_holds() and out.raw.shape == (2, 6)
    out, info = crop(one, np.random.default_rng(0), 5, 9)  # crop longer than the edit
    assert out.edit.shape == (2, 1) and out.copy_identity_holds()
    out, info = spec_augment(one, np.random.default_rng(0), 0, 0, 0, 0)  # empty masks
    assert np.array_equal(out.raw, raw) and info["time_masks"] == [] and info["freq_masks"] == []
    with pytest.raises(ValueError, match="pointer 6 outside"):
        PointerSample(raw, raw[:, [0]], np.array([6])).validate()
    with pytest.raises(ValueError, match="n_mels differ"):
        PointerSample(raw, np.zeros((3, 1), np.float32), np.array([0])).validate()
    with pytest.raises(ValueError, match="time_mask_mode"):
        spec_augment(one, np.random.default_rng(0), 1, 1, 1, 1, mode="weird")
