"""PointerSample <-> protobuf, validated on arrival (a ValueError names the field and the problem).

The edit mel crosses the wire whole or as a delta against the raw (`delta=True`): a bool mask of the
edit frames that are exact copies of the raw frames they point at, plus the other frames. Edits are
mostly copies by construction, and most transforms keep them so, so the delta usually halves the bytes.
"""
from __future__ import annotations

import numpy as np

from moredata.errors import InvalidArgument
from moredata.pointer.sample_io import check_mel, check_pointers, checked_sample
from moredata.pointer.transforms import PointerSample
from moredata.rpc.proto import augment_pb2
from moredata.rpc.tensor_codec import array_from_proto, tensor_to_proto


def sample_to_proto(s: PointerSample, delta: bool = False, out: augment_pb2.PointerSample | None = None,
                    ) -> augment_pb2.PointerSample:
    """Fills `out` in place when given (a sub-message of a request: no copy of the payload)."""
    msg = augment_pb2.PointerSample() if out is None else out
    msg.raw.CopyFrom(tensor_to_proto(s.raw))
    msg.pointers.CopyFrom(tensor_to_proto(s.pointers))
    if delta:
        copied = (s.edit == s.raw[:, s.pointers]).all(axis=0)  # (T_edit,) frames identical to their source
        msg.edit_delta.copied.CopyFrom(tensor_to_proto(copied))
        msg.edit_delta.frames.CopyFrom(tensor_to_proto(s.edit[:, ~copied]))
    else:
        msg.edit.CopyFrom(tensor_to_proto(s.edit))
    return msg


def uses_delta(msg: augment_pb2.PointerSample) -> bool:
    return msg.WhichOneof("edit_encoding") == "edit_delta"


def _array(msg, where: str, limit: int | None) -> np.ndarray:
    try:
        return array_from_proto(msg, max_elements=limit)
    except ValueError as e:
        raise InvalidArgument(f"{where}: {e}") from None


def sample_from_proto(msg: augment_pb2.PointerSample, where: str = "sample", max_frames: int | None = None,
                      max_mels: int | None = None, writable: bool = False) -> PointerSample:
    """writable=False: arrays may be read-only views of the message (the service only reads them);
    True: owned copies, what a client hands its caller (torch.from_numpy warns on read-only arrays)."""
    limit = None if max_frames is None or max_mels is None else max_frames * max_mels
    for name in ("raw", "pointers"):
        if not msg.HasField(name):
            raise InvalidArgument(f"{where}.{name} is missing")
    encoding = msg.WhichOneof("edit_encoding")
    if encoding is None:
        raise InvalidArgument(f"{where}.edit is missing")
    raw = _array(msg.raw, f"{where}.raw", limit)
    pointers = _array(msg.pointers, f"{where}.pointers", limit)
    if encoding == "edit":
        edit = _array(msg.edit, f"{where}.edit", limit)
        edit = edit.copy() if writable else edit
        return checked_sample(raw.copy() if writable else raw, edit, pointers.copy() if writable else pointers,
                              where, max_frames, max_mels)
    copied = _array(msg.edit_delta.copied, f"{where}.edit_delta.copied", limit)
    frames = _array(msg.edit_delta.frames, f"{where}.edit_delta.frames", limit)
    # raw and pointers are checked before they are used to rebuild the edit
    check_mel(raw, "raw", where, max_frames, max_mels)
    check_pointers(pointers, raw.shape[1], where)
    if copied.dtype != np.bool_ or copied.shape != pointers.shape:
        raise InvalidArgument(f"{where}.edit_delta.copied must be bool of shape {list(pointers.shape)}, "
                         f"got {copied.dtype} {list(copied.shape)}")
    n_new = int((~copied).sum())
    if frames.shape != (raw.shape[0], n_new):
        raise InvalidArgument(f"{where}.edit_delta.frames must be ({raw.shape[0]}, {n_new}), got {list(frames.shape)}")
    check_mel(frames, "edit_delta.frames", where)
    edit = raw[:, pointers]  # (n_mels, T_edit) owned, then the frames that are not copies
    edit[:, ~copied] = frames
    return checked_sample(raw.copy() if writable else raw, edit, pointers.copy() if writable else pointers,
                          where, max_frames, max_mels)
