"""PointerSample files: one `.npz` per sample (raw, edit, pointers), loaded without pickle.

    save_sample("samples/take1_000.npz", sample)
    sample = load_sample("samples/take1_000.npz")    # validated: shapes, dtypes, pointer range, finite

`.npz` is numpy's zip of `.npy` arrays: readable from any language with a zip reader, and
`np.load(allow_pickle=False)` refuses object arrays, so a file from elsewhere cannot run code.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from moredata.atomic import atomic_write_with
from moredata.errors import InvalidArgument
from moredata.pointer.transforms import PointerSample, check_pointer_range


def save_sample(path: str | Path, sample: PointerSample) -> None:
    sample.validate()
    atomic_write_with(path, lambda f: np.savez(f, raw=sample.raw.astype(np.float32),
                                               edit=sample.edit.astype(np.float32),
                                               pointers=sample.pointers.astype(np.int64)))


def load_sample(path: str | Path) -> PointerSample:
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):  # a bare .npy array, not a sample
            raise ValueError("a single array, not an .npz archive")
        with z:
            arrays = {k: z[k] for k in ("raw", "edit", "pointers") if k in z.files}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        # ValueError: not an .npy/.npz at all, or object arrays that would need pickle (refused)
        raise InvalidArgument(f"{path}: not a sample file ({str(e).splitlines()[0][:200]})") from None
    missing = {"raw", "edit", "pointers"} - set(arrays)
    if missing:
        raise InvalidArgument(f"{path}: missing arrays {sorted(missing)}")
    raw, edit, pointers = arrays["raw"], arrays["edit"], arrays["pointers"]
    return checked_sample(raw, edit, pointers, where=str(path))


def check_mel(a: np.ndarray, name: str, where: str = "sample", max_frames: int | None = None,
              max_mels: int | None = None) -> None:
    """A float (n_mels, frames) array inside the limits, with no NaN or inf; else a ValueError naming it."""
    if a.dtype not in (np.float32, np.float16, np.float64):
        raise InvalidArgument(f"{where}: {name} must be float32 (or float16/float64), got {a.dtype}")
    if a.ndim != 2:
        raise InvalidArgument(f"{where}: {name} must be 2-D (n_mels, frames), got shape {list(a.shape)}")
    if max_frames is not None and a.shape[1] > max_frames:
        raise InvalidArgument(f"{where}: {name} has {a.shape[1]} frames, over the limit of {max_frames}")
    if max_mels is not None and a.shape[0] > max_mels:
        raise InvalidArgument(f"{where}: {name} has {a.shape[0]} mel channels, over the limit of {max_mels}")
    # one pass that also refuses float64 values beyond float32's range (they would become inf on the
    # conversion the transforms work in); NaN fails the comparison too
    if not (np.abs(a) <= np.finfo(np.float32).max).all():
        raise InvalidArgument(f"{where}: {name} holds NaN or infinite values, or values beyond float32's range")


def check_pointers(pointers: np.ndarray, t_raw: int, where: str = "sample") -> None:
    if pointers.dtype.kind not in "iu":
        raise InvalidArgument(f"{where}: pointers must be integers (int64 or int32), got {pointers.dtype}")
    if pointers.ndim != 1:
        raise InvalidArgument(f"{where}: pointers must be 1-D, got shape {list(pointers.shape)}")
    try:
        check_pointer_range(pointers, t_raw)
    except ValueError as e:
        raise InvalidArgument(f"{where}: {e}") from None


def checked_sample(raw: np.ndarray, edit: np.ndarray, pointers: np.ndarray, where: str = "sample",
                   max_frames: int | None = None, max_mels: int | None = None) -> PointerSample:
    """A PointerSample from arrays of unknown origin: float mels, integer pointers, finite values, limits.
    Every refusal is a ValueError naming what is wrong (INVALID_ARGUMENT through the service)."""
    check_mel(raw, "raw", where, max_frames, max_mels)
    check_mel(edit, "edit", where, max_frames, max_mels)
    check_pointers(pointers, raw.shape[1], where)
    try:
        return PointerSample(raw.astype(np.float32, copy=False), edit.astype(np.float32, copy=False),
                             pointers.astype(np.int64, copy=False)).validate()
    except ValueError as e:
        raise InvalidArgument(f"{where}: {e}") from None
