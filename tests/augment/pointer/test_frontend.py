"""The log-mel front end against librosa itself (the reference), on real speech."""
from __future__ import annotations

import librosa
import numpy as np
import pytest

from moredata.pointer.frontend import MelFrontEnd, hz_to_mel, mel_filterbank, mel_to_hz, read_wav, write_wav


@pytest.mark.parametrize("sr,n_fft,n_mels,fmin,fmax", [
    (22050, 1024, 80, 0.0, 8000.0), (16000, 400, 40, 20.0, None), (44100, 2048, 128, 50.0, 16000.0),
    (8000, 256, 20, 0.0, None)])
def test_filterbank_matches_librosa_slaney(sr, n_fft, n_mels, fmin, fmax):
    ours = mel_filterbank(sr, n_fft, n_mels, fmin, fmax)
    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    assert ours.shape == ref.shape == (n_mels, 1 + n_fft // 2)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-8)


def test_mel_scale_matches_librosa_and_inverts():
    hz = np.array([0.0, 100.0, 999.0, 1000.0, 1001.0, 4000.0, 11025.0])
    np.testing.assert_allclose(hz_to_mel(hz), librosa.hz_to_mel(hz), rtol=1e-12)
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(hz)), hz, rtol=1e-12, atol=1e-9)


def test_mel_spectrogram_matches_librosa_on_speech(speech_wavs):
    fe = MelFrontEnd()
    wave, sr = read_wav(speech_wavs[0])
    assert sr == fe.sample_rate and wave.dtype == np.float32 and np.abs(wave).max() <= 1.0
    ours = fe.power_mel(wave).numpy()
    ref = librosa.feature.melspectrogram(y=wave, sr=sr, n_fft=fe.n_fft, hop_length=fe.hop_length, n_mels=fe.n_mels,
                                         fmin=fe.fmin, fmax=fe.fmax)
    assert ours.shape == ref.shape == (fe.n_mels, fe.frames(len(wave)))
    np.testing.assert_allclose(ours, ref, rtol=1e-3, atol=1e-6 * ref.max())  # float32 FFTs, different libraries
    log = fe(wave)
    np.testing.assert_allclose(log, np.log(np.maximum(ref, fe.log_floor)), atol=2e-3)


def test_wav_round_trip_and_bad_files(tmp_path, speech_wavs):
    wave, sr = read_wav(speech_wavs[1])
    write_wav(tmp_path / "copy.wav", wave, sr)
    again, sr2 = read_wav(tmp_path / "copy.wav")
    assert sr2 == sr and again.shape == wave.shape
    assert np.abs(again - wave).max() <= 1.0 / 32767 + 1e-6  # one 16-bit step
    (tmp_path / "bad.wav").write_bytes(b"not a wav file at all")
    with pytest.raises(ValueError, match="not a PCM WAV"):
        read_wav(tmp_path / "bad.wav")
    with pytest.raises(ValueError, match="mono signal"):
        MelFrontEnd().power_mel(np.zeros((2, 100), np.float32))
