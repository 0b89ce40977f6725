"""Log-mel front end: torch.stft plus a Slaney mel filterbank, equal to librosa's defaults.

    mel = MelFrontEnd()                          # 22050 Hz, n_fft 1024, hop 256, 80 mels, 0..8000 Hz
    logmel = mel(wave)                           # wave (n_samples,) float -> (80, 1 + n_samples // 256)

`mel_filterbank` reproduces `librosa.filters.mel(htk=False, norm="slaney")` and `MelFrontEnd.power_mel`
reproduces `librosa.feature.melspectrogram` (centred frames, zero padding, periodic Hann window,
power 2), so mels made here and mels made with librosa are interchangeable; the test suite checks both
against librosa itself. The runtime depends on neither librosa nor torchaudio.
"""
from __future__ import annotations

import math
import wave as wavelib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from moredata.atomic import atomic_open

# Slaney's auditory-toolbox mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = math.log(6.4) / 27.0


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / _F_SP
    log = _MIN_LOG_MEL + np.log(np.maximum(hz, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(hz >= _MIN_LOG_HZ, log, linear)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = _F_SP * mel
    log = _MIN_LOG_HZ * np.exp(_LOGSTEP * (np.maximum(mel, _MIN_LOG_MEL) - _MIN_LOG_MEL))
    return np.where(mel >= _MIN_LOG_MEL, log, linear)


def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """(n_mels, 1 + n_fft // 2) float32 triangular filters, area-normalised (Slaney), like librosa's."""
    fmax = sr / 2 if fmax is None else fmax
    if not 0 <= fmin < fmax <= sr / 2:
        raise ValueError(f"need 0 <= fmin < fmax <= sr/2, got fmin={fmin}, fmax={fmax}, sr={sr}")
    fft_freqs = np.fft.rfftfreq(n_fft, d=1.0 / sr)  # (n_bins,)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))  # (n_mels + 2,) edges
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]  # (n_mels + 2, n_bins)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]  # Slaney: constant energy per filter
    return weights.astype(np.float32)


@dataclass(frozen=True)
class MelFrontEnd:
    sample_rate: int = 22050  # espeak-ng's rate, and LJSpeech's
    n_fft: int = 1024
    hop_length: int = 256
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float | None = 8000.0
    log_floor: float = 1e-5  # log(max(mel, floor)): silence maps to log(1e-5) = -11.5, not -inf

    def __post_init__(self):
        if self.n_fft < 2 or self.hop_length < 1 or self.n_mels < 1:
            raise ValueError("n_fft >= 2, hop_length >= 1 and n_mels >= 1 are required")
        object.__setattr__(self, "_fb", torch.from_numpy(
            mel_filterbank(self.sample_rate, self.n_fft, self.n_mels, self.fmin, self.fmax)))

    def frames(self, n_samples: int) -> int:
        """Frame count of a signal: centred frames, one every hop, the first at sample 0."""
        return 1 + n_samples // self.hop_length

    def power_mel(self, wave: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(n_samples,) -> (n_mels, frames) mel power spectrogram (librosa.feature.melspectrogram)."""
        x = torch.as_tensor(wave, dtype=torch.float32)
        if x.ndim != 1 or x.numel() == 0:
            raise ValueError(f"expected a non-empty mono signal (n_samples,), got shape {tuple(x.shape)}")
        window = torch.hann_window(self.n_fft, periodic=True)
        spec = torch.stft(x, self.n_fft, self.hop_length, window=window, center=True, pad_mode="constant",
                          return_complex=True)  # (n_bins, frames)
        return self._fb @ (spec.real.square() + spec.imag.square())

    def __call__(self, wave: np.ndarray | torch.Tensor) -> np.ndarray:
        """(n_samples,) -> (n_mels, frames) float32 natural-log mel spectrogram."""
        return torch.log(self.power_mel(wave).clamp_min(self.log_floor)).numpy()


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """A PCM WAV file as float32 mono in [-1, 1] (channels averaged) and its sample rate."""
    try:
        with wavelib.open(str(path), "rb") as w:
            rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
            data = w.readframes(w.getnframes())
    except wavelib.Error as e:
        raise ValueError(f"{path}: not a PCM WAV file ({e})") from None
    if width == 1:
        x = (np.frombuffer(data, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width in (2, 4):
        dt = np.dtype(f"<i{width}")
        x = np.frombuffer(data, dtype=dt).astype(np.float32) / float(2 ** (8 * width - 1))
    elif width == 3:  # 24-bit: widen each little-endian triple to int32
        b = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        x = (((b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8) >> 8).astype(np.float32) / float(2 ** 23)
    else:
        raise ValueError(f"{path}: unsupported sample width of {width} bytes")
    return x.reshape(-1, channels).mean(axis=1), rate


def write_wav(path: str | Path, wave: np.ndarray, sample_rate: int) -> None:
    """16-bit PCM mono, written atomically."""
    pcm = (np.clip(wave, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with atomic_open(path) as f:
        with wavelib.open(f, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            w.writeframes(pcm.tobytes())
