"""PointerSample <-> protobuf, validated on arrival (a ValueError names the field and the problem)."""
from __future__ import annotations

import torch

from services.augment.sample_io import checked_sample
from services.augment.transforms import PointerSample
from services.common.genproto.moredata.augment.v1 import augment_pb2
from services.common.tensor_codec import tensor_from_proto, tensor_to_proto


def sample_to_proto(s: PointerSample) -> augment_pb2.PointerSample:
    return augment_pb2.PointerSample(raw=tensor_to_proto(s.raw), edit=tensor_to_proto(s.edit),
                                     pointers=tensor_to_proto(s.pointers))


def sample_from_proto(msg: augment_pb2.PointerSample, where: str = "sample", max_frames: int | None = None,
                      max_mels: int | None = None) -> PointerSample:
    limit = None if max_frames is None or max_mels is None else max_frames * max_mels
    arrays = {}
    for name in ("raw", "edit", "pointers"):
        if not msg.HasField(name):
            raise ValueError(f"{where}.{name} is missing")
        try:
            t = tensor_from_proto(getattr(msg, name), max_elements=limit)
        except ValueError as e:
            raise ValueError(f"{where}.{name}: {e}") from None
        if t.dtype == torch.bfloat16:
            raise ValueError(f"{where}.{name}: bfloat16 is not accepted, send float32")
        arrays[name] = t.numpy()
    return checked_sample(arrays["raw"], arrays["edit"], arrays["pointers"], where, max_frames, max_mels)

