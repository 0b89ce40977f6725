"""AugmentService: Augment, AugmentStream and Concatenate over the transforms library.

Requests are validated before anything runs (`codec.sample_from_proto`: dtypes, shapes, n_mels, pointer
range, NaN/inf, max_frames); a ValueError anywhere becomes INVALID_ARGUMENT with its message through
the shared error interceptor. The service holds no state besides a cache of parsed configs.
"""
from __future__ import annotations

import functools
import json

from services.augment.augmentor import Augmentor
from services.augment.codec import sample_from_proto, sample_to_proto
from services.augment.config import AugmentationConfig
from services.augment.settings import AugmentSettings
from services.augment.transforms import concatenate
from services.common.genproto.moredata.augment.v1 import augment_pb2, augment_pb2_grpc

SERVICE_NAME = augment_pb2.DESCRIPTOR.services_by_name["AugmentService"].full_name


class AugmentServicer(augment_pb2_grpc.AugmentServiceServicer):
    def __init__(self, settings: AugmentSettings):
        self.settings = settings
        default = AugmentationConfig.from_file(settings.config) if settings.config else AugmentationConfig()
        self.default = Augmentor(default)
        self._augmentor = functools.lru_cache(maxsize=settings.config_cache)(
            lambda text: Augmentor(AugmentationConfig.from_json(text)))

    def _sample(self, msg, where: str):
        return sample_from_proto(msg, where, self.settings.max_frames, self.settings.max_mels)

    def augment_one(self, request: augment_pb2.AugmentRequest, where: str = "") -> augment_pb2.AugmentResponse:
        if not request.HasField("sample"):
            raise ValueError(f"{where}sample is missing")
        sample = self._sample(request.sample, f"{where}sample")
        partner = self._sample(request.partner, f"{where}partner") if request.HasField("partner") else None
        if request.epoch < 0:
            raise ValueError(f"{where}epoch must be >= 0, got {request.epoch}")
        aug = self._augmentor(request.config_json) if request.config_json else self.default
        if partner is not None and partner.raw.shape[0] != sample.raw.shape[0]:
            raise ValueError(f"{where}partner has {partner.raw.shape[0]} mel channels, sample has "
                             f"{sample.raw.shape[0]}")
        try:
            out, applied = aug(sample, seed=request.seed, epoch=request.epoch, partner=partner,
                               max_frames=self.settings.max_frames)
        except ValueError as e:
            raise ValueError(f"{where}{e}") from None
        return augment_pb2.AugmentResponse(sample=sample_to_proto(out), applied_json=json.dumps(applied))

    def Augment(self, request, context):
        return self.augment_one(request)

    def AugmentStream(self, request_iterator, context):
        for i, request in enumerate(request_iterator):
            yield self.augment_one(request, where=f"request {i}: ")

    def Concatenate(self, request, context):
        for name in ("a", "b"):
            if not request.HasField(name):
                raise ValueError(f"{name} is missing")
        a, b = self._sample(request.a, "a"), self._sample(request.b, "b")
        out, info = concatenate(a, b, self.settings.max_frames)
        return augment_pb2.ConcatenateResponse(sample=sample_to_proto(out), offset=info["offset"])

