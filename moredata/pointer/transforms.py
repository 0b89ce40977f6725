"""Pointer-aware augmentation of audio-edit samples: (raw_mel, edit_mel, pointers).

raw (n_mels, T_raw), edit (n_mels, T_edit), pointers (T_edit,) int64 with edit[:, t] taken from
raw[:, pointers[t]]. Every transform takes a numpy Generator (seeded by the caller) and returns the new
sample plus a dict of what it applied, so any result can be reproduced and inspected. Pointer-aware
transforms validate the pointers they produce: an invalid result raises, it is never clamped.
All index work is vectorised numpy; no per-frame Python loops.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from moredata.errors import InvalidArgument


def check_pointer_range(pointers: np.ndarray, t_raw: int) -> None:
    """Every pointer in [0, t_raw), else a ValueError naming the first one outside."""
    if pointers.size and (pointers.min() < 0 or pointers.max() >= t_raw):
        bad = pointers[(pointers < 0) | (pointers >= t_raw)][0]
        raise InvalidArgument(f"pointer {int(bad)} outside [0, {t_raw})")


@dataclass
class PointerSample:
    raw: np.ndarray  # (n_mels, T_raw) float32
    edit: np.ndarray  # (n_mels, T_edit) float32
    pointers: np.ndarray  # (T_edit,) int64, each in [0, T_raw)

    def validate(self) -> "PointerSample":
        if self.raw.ndim != 2 or self.edit.ndim != 2:
            raise InvalidArgument(f"mels must be 2-D (n_mels, T), got raw {self.raw.shape}, edit {self.edit.shape}")
        if self.raw.shape[0] != self.edit.shape[0]:
            raise InvalidArgument(f"n_mels differ: raw {self.raw.shape[0]}, edit {self.edit.shape[0]}")
        if self.pointers.shape != (self.edit.shape[1],):
            raise InvalidArgument(f"pointers must be ({self.edit.shape[1]},), got {self.pointers.shape}")
        if self.raw.shape[1] < 1 or self.edit.shape[1] < 1:
            raise InvalidArgument("raw and edit need at least one frame")
        check_pointer_range(self.pointers, self.raw.shape[1])
        return self

    def copy_identity_holds(self, atol: float = 0.0) -> bool:
        """edit[:, t] == raw[:, pointers[t]] for every t (the strongest check of every transform)."""
        return bool(np.allclose(self.edit, self.raw[:, self.pointers], atol=atol, rtol=0.0))


# --- safe transforms: frame counts unchanged ------------------------------------------------------

def add_noise(s: PointerSample, rng: np.random.Generator, level_min: float, level_max: float,
              independent: bool = False) -> tuple[PointerSample, dict]:
    """Gaussian noise at a level drawn from [level_min, level_max], relative to each mel's std.
    Same noise (per raw frame, carried to the edit frames that copy it) keeps the copy identity."""
    level = float(rng.uniform(level_min, level_max))
    raw_noise = rng.standard_normal(s.raw.shape).astype(np.float32) * level * float(s.raw.std())
    if independent:
        edit_noise = rng.standard_normal(s.edit.shape).astype(np.float32) * level * float(s.edit.std())
    else:
        edit_noise = raw_noise[:, s.pointers]  # the same noise on copied frames
    return PointerSample(s.raw + raw_noise, s.edit + edit_noise, s.pointers), {"level": level,
                                                                               "independent": independent}


def scale_gain(s: PointerSample, rng: np.random.Generator, scale_min: float, scale_max: float,
               independent: bool = False) -> tuple[PointerSample, dict]:
    """Amplitude scaling by a factor from [scale_min, scale_max] (one for both, or one each)."""
    g_raw = float(rng.uniform(scale_min, scale_max))
    g_edit = float(rng.uniform(scale_min, scale_max)) if independent else g_raw
    return PointerSample(s.raw * g_raw, s.edit * g_edit, s.pointers), {"gain_raw": g_raw, "gain_edit": g_edit}


def fill_value(s: PointerSample, value: float | None) -> float:
    """What masked cells hold: `value`, or None for the raw mel's mean. Zero is silence for a linear mel
    but loud for a log mel (whose values are mostly negative); the mean is neutral for both. Raw and
    edit get the same value, so masked copied frames stay equal."""
    if value is not None:
        return float(value)
    # accumulate in float64: a float32 sum of large (finite) values overflows to inf
    limit = float(np.finfo(np.float32).max)
    return float(np.clip(s.raw.mean(dtype=np.float64), -limit, limit))


def channel_dropout(s: PointerSample, rng: np.random.Generator, dropout_rate: float,
                    mask_value: float | None = None) -> tuple[PointerSample, dict]:
    """Sets the same random mel channels of both mels to the fill value."""
    drop = rng.random(s.raw.shape[0]) < dropout_rate  # (n_mels,)
    fill = fill_value(s, mask_value)
    raw, edit = s.raw.copy(), s.edit.copy()
    raw[drop, :] = fill
    edit[drop, :] = fill
    return PointerSample(raw, edit, s.pointers), {"channels": np.flatnonzero(drop).tolist(), "fill": fill}


def spec_augment(s: PointerSample, rng: np.random.Generator, freq_masks: int, freq_width: int, time_masks: int,
                 time_width: int, max_time_fraction: float = 0.2, mode: str = "same_positions",
                 mask_value: float | None = None) -> tuple[PointerSample, dict]:
    """Frequency masks (same channels on both) and time masks.

    mode "same_positions": the same frame ranges masked in raw and edit (an edit frame may then point at an
    unmasked raw frame). mode "consistent": ranges masked in raw, and every edit frame pointing into a
    masked raw frame masked too, so the copy identity holds.
    """
    if mode not in ("same_positions", "consistent"):
        raise InvalidArgument(f"time_mask_mode must be 'same_positions' or 'consistent', got {mode!r}")
    n_mels, t_raw = s.raw.shape
    t_edit = s.edit.shape[1]
    freq = _ranges(rng, freq_masks, freq_width, n_mels)
    span = t_raw if mode == "consistent" else min(t_raw, t_edit)
    width = max(0, min(time_width, int(max_time_fraction * span)))
    times = _ranges(rng, time_masks, width, span)
    fmask = _covered(freq, n_mels)  # (n_mels,) bool
    raw_t = _covered(times, t_raw)  # (T_raw,) bool
    edit_t = raw_t[s.pointers] if mode == "consistent" else _covered(times, t_edit)
    fill = fill_value(s, mask_value)
    raw, edit = s.raw.copy(), s.edit.copy()
    raw[fmask, :] = fill
    edit[fmask, :] = fill
    raw[:, raw_t] = fill
    edit[:, edit_t] = fill
    return PointerSample(raw, edit, s.pointers), {"freq_masks": freq, "time_masks": times, "mode": mode,
                                                  "fill": fill}


def _ranges(rng: np.random.Generator, count: int, max_width: int, length: int) -> list[list[int]]:
    """count [start, end) ranges of width in [0, max_width] inside [0, length)."""
    if count <= 0 or max_width <= 0 or length <= 0:
        return []
    count = min(count, length)  # more masks than frames cover nothing more; bounds the work by the input
    widths = rng.integers(0, min(max_width, length) + 1, size=count)
    starts = rng.integers(0, length - widths + 1)
    return [[int(a), int(a + w)] for a, w in zip(starts, widths) if w > 0]


def _covered(ranges: list[list[int]], length: int) -> np.ndarray:
    """(length,) bool, True inside any [start, end) range (a difference array, no per-frame loop)."""
    d = np.zeros(length + 1, dtype=np.int32)
    for a, b in ranges:  # one step per range, not per frame
        d[a] += 1
        d[b] -= 1
    return np.cumsum(d[:-1]) > 0


# --- pointer-aware transforms ---------------------------------------------------------------------

def chunk_shuffle(s: PointerSample, rng: np.random.Generator, chunk_size: int) -> tuple[PointerSample, dict]:
    """Shuffles raw in chunks of chunk_size frames (the remainder chunk too) and remaps the pointers:
    new_position[old_frame] is the inverse of the gather order, applied to all pointers at once."""
    if chunk_size < 1:
        raise InvalidArgument(f"chunk_size must be >= 1, got {chunk_size}")
    t_raw = s.raw.shape[1]
    n_chunks = -(-t_raw // chunk_size)
    perm = rng.permutation(n_chunks)
    starts = perm * chunk_size  # (n_chunks,) old start of each chunk in its new order
    lengths = np.minimum(chunk_size, t_raw - starts)
    # order[i] = the old raw frame that lands at new position i
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    order = np.repeat(starts, lengths) + (np.arange(t_raw) - offsets)
    new_pos = np.empty(t_raw, dtype=np.int64)
    new_pos[order] = np.arange(t_raw)
    out = PointerSample(s.raw[:, order], s.edit, new_pos[s.pointers]).validate()
    return out, {"chunk_size": chunk_size, "permutation": perm.tolist()}


def crop(s: PointerSample, rng: np.random.Generator, min_len: int, max_len: int,
         context: int = 0) -> tuple[PointerSample, dict]:
    """A random edit window of min_len..max_len frames (the whole edit if shorter); raw cropped to the
    frames that window points at, plus `context` frames each side; pointers shifted."""
    if min_len < 1 or max_len < min_len:
        raise InvalidArgument(f"crop needs 1 <= min_len <= max_len, got {min_len}, {max_len}")
    t_edit, t_raw = s.edit.shape[1], s.raw.shape[1]
    length = int(rng.integers(min(min_len, t_edit), min(max_len, t_edit) + 1))
    start = int(rng.integers(0, t_edit - length + 1))
    ptr = s.pointers[start : start + length]
    lo = max(0, int(ptr.min()) - context)
    hi = min(t_raw, int(ptr.max()) + 1 + context)
    out = PointerSample(s.raw[:, lo:hi], s.edit[:, start : start + length], ptr - lo).validate()
    return out, {"edit_window": [start, start + length], "raw_window": [lo, hi]}


def concatenate(a: PointerSample, b: PointerSample, max_frames: int | None = None) -> tuple[PointerSample, dict]:
    """a then b: raws and edits joined, b's pointers offset by a's raw length."""
    if a.raw.shape[0] != b.raw.shape[0]:
        raise InvalidArgument(f"n_mels differ: {a.raw.shape[0]} and {b.raw.shape[0]}")
    t_raw = a.raw.shape[1] + b.raw.shape[1]
    t_edit = a.edit.shape[1] + b.edit.shape[1]
    if max_frames is not None and max(t_raw, t_edit) > max_frames:
        raise InvalidArgument(f"concatenation would hold {max(t_raw, t_edit)} frames, over the limit of {max_frames}")
    out = PointerSample(np.concatenate([a.raw, b.raw], axis=1), np.concatenate([a.edit, b.edit], axis=1),
                        np.concatenate([a.pointers, b.pointers + a.raw.shape[1]])).validate()
    return out, {"offset": int(a.raw.shape[1])}
