"""Samples built from real speech: cut, repeated and reordered segments with exact pointers."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

from moredata.pointer.frontend import MelFrontEnd, read_wav
from moredata.pointer.sample_io import load_sample, save_sample
from moredata.pointer.wav_samples import build_sample, edit_plan, interior_frames


def test_edit_plan_cuts_repeats_and_reorders():
    seen = {"cut": False, "repeat": False, "reorder": False}
    for seed in range(40):
        plan = edit_plan(300, np.random.default_rng(seed), n_segments=6)
        starts = [a for a, _ in plan]
        assert all(0 <= a < b <= 300 for a, b in plan)
        seen["cut"] |= sum(b - a for a, b in set(map(tuple, plan))) < 300
        seen["repeat"] |= len(set(map(tuple, plan))) < len(plan)
        seen["reorder"] |= starts != sorted(starts)
    assert all(seen.values()), seen


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_edit_mel_equals_raw_frames_away_from_joins(speech_wavs, seed):
    fe = MelFrontEnd()
    wave, _ = read_wav(speech_wavs[seed % len(speech_wavs)])
    sample, plan, edit_wave = build_sample(wave, fe, np.random.default_rng(seed))
    assert sample.pointers.tolist() == np.concatenate([np.arange(a, b) for a, b in plan]).tolist()
    assert len(edit_wave) == len(sample.pointers) * fe.hop_length
    # a frame's window reaches n_fft/2 samples each side: 2 hops; beyond that it sees only its segment
    inside = interior_frames(plan, margin=fe.n_fft // (2 * fe.hop_length))
    assert inside.sum() > 0.5 * len(inside)
    np.testing.assert_allclose(sample.edit[:, inside], sample.raw[:, sample.pointers[inside]], atol=1e-4)
    # and at the joins it is really the edited audio, not a copy
    assert not np.allclose(sample.edit, sample.raw[:, sample.pointers], atol=1e-4)


def test_copy_mode_holds_the_identity_exactly(speech_wavs):
    wave, _ = read_wav(speech_wavs[0])
    sample, _, _ = build_sample(wave, MelFrontEnd(), np.random.default_rng(5), mel_source="copy")
    assert sample.copy_identity_holds()


def test_builder_cli_writes_loadable_samples(sample_dir, tmp_path, speech_wavs):
    files = sorted(sample_dir.glob("*.npz"))
    assert len(files) == 9
    for f in files:
        s = load_sample(f)
        assert s.raw.shape[0] == 80 and s.raw.dtype == np.float32 and s.pointers.dtype == np.int64
    save_sample(tmp_path / "again.npz", s)
    t = load_sample(tmp_path / "again.npz")
    assert np.array_equal(t.raw, s.raw) and np.array_equal(t.pointers, s.pointers)


def test_builder_cli_user_errors(tmp_path, speech_wavs):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "moredata.pointer.wav_samples", *args], cwd=ROOT,
                              capture_output=True, text=True)

    r = run(str(tmp_path / "missing.wav"), "--out", str(tmp_path))
    assert r.returncode == 2 and "no such WAV file" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "noise.wav").write_bytes(b"RIFF....")
    r = run(str(tmp_path / "noise.wav"), "--out", str(tmp_path))
    assert r.returncode == 2 and "not a PCM WAV" in r.stderr
    r = run(str(speech_wavs[0]), "--out", str(tmp_path), "--per-file", "0")
    assert r.returncode == 2 and "--per-file" in r.stderr
    assert run("--help").returncode == 0


def test_load_sample_refuses_bad_files(tmp_path):
    np.savez(tmp_path / "nan.npz", raw=np.full((4, 3), np.nan, np.float32), edit=np.zeros((4, 2), np.float32),
             pointers=np.array([0, 1]))
    with pytest.raises(ValueError, match="NaN"):
        load_sample(tmp_path / "nan.npz")
    np.savez(tmp_path / "obj.npz", raw=np.array([object()], dtype=object), edit=np.zeros((4, 2), np.float32),
             pointers=np.array([0, 1]))
    with pytest.raises(ValueError):  # object arrays need pickle, which load refuses
        load_sample(tmp_path / "obj.npz")
    np.savez(tmp_path / "few.npz", raw=np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match="missing arrays"):
        load_sample(tmp_path / "few.npz")
