"""AugmentService: Augment, AugmentStream and Concatenate over the transforms library.

Requests are validated before anything runs (`codec.sample_from_proto`: dtypes, shapes, n_mels, pointer
range, NaN/inf, max_frames); a ValueError anywhere becomes INVALID_ARGUMENT with its message through
the shared error interceptor. The service holds no state besides a cache of parsed configs.
"""
from __future__ import annotations

import functools
import json
import queue
import threading

from moredata.errors import FailedPrecondition, InvalidArgument
from moredata.pointer.augmentor import Augmentor
from moredata.pointer.codec import sample_from_proto, sample_to_proto, uses_delta
from moredata.pointer.config import AugmentationConfig
from moredata.pointer.dataset import SampleFolder
from moredata.pointer.transforms import concatenate
from moredata.rpc.proto import augment_pb2, augment_pb2_grpc
from services.augment.settings import AugmentSettings

MAX_CONFIG_CHARS = 64 * 1024  # a full config is about 1 KB
SERVICE_NAME = augment_pb2.DESCRIPTOR.services_by_name["AugmentService"].full_name


class AugmentServicer(augment_pb2_grpc.AugmentServiceServicer):
    def __init__(self, settings: AugmentSettings):
        self.settings = settings
        default = AugmentationConfig.from_name_or_file(settings.config) if settings.config else AugmentationConfig()
        self.default = Augmentor(default)
        # keyed on the parsed config (its canonical JSON), never on the request's text: padding or key
        # order cannot make one config take many cache slots, and a slot is as small as the config
        self._cached = functools.lru_cache(maxsize=settings.config_cache)(
            lambda canonical: Augmentor(AugmentationConfig.model_validate_json(canonical)))
        self.folder = SampleFolder(settings.samples_dir) if settings.samples_dir else None

    def _augmentor(self, text: str) -> Augmentor:
        if len(text) > MAX_CONFIG_CHARS:
            raise InvalidArgument(f"config_json of {len(text)} characters is over the {MAX_CONFIG_CHARS} limit")
        return self._cached(AugmentationConfig.from_json(text).model_dump_json())

    def _sample(self, msg, where: str):
        return sample_from_proto(msg, where, self.settings.max_frames, self.settings.max_mels)

    def augment_one(self, request: augment_pb2.AugmentRequest, where: str = "") -> augment_pb2.AugmentResponse:
        if not request.HasField("sample"):
            raise InvalidArgument(f"{where}sample is missing")
        sample = self._sample(request.sample, f"{where}sample")
        partner = self._sample(request.partner, f"{where}partner") if request.HasField("partner") else None
        if request.epoch < 0:
            raise InvalidArgument(f"{where}epoch must be >= 0, got {request.epoch}")
        aug = self._augmentor(request.config_json) if request.config_json else self.default
        if partner is not None and partner.raw.shape[0] != sample.raw.shape[0]:
            raise InvalidArgument(f"{where}partner has {partner.raw.shape[0]} mel channels, sample has "
                             f"{sample.raw.shape[0]}")
        try:
            out, applied = aug(sample, seed=request.seed, epoch=request.epoch, partner=partner,
                               max_frames=self.settings.max_frames)
        except InvalidArgument as e:
            raise InvalidArgument(f"{where}{e}") from None
        response = augment_pb2.AugmentResponse(applied_json=json.dumps(applied))
        sample_to_proto(out, delta=uses_delta(request.sample), out=response.sample)  # the request's encoding
        return response

    def Augment(self, request, context):
        return self.augment_one(request)

    def AugmentStream(self, request_iterator, context):
        """Pipelined: a worker thread receives and augments request i+1 while this thread sends response i
        (grpc's sync server blocks the handler on each send; numpy and gRPC's transport release the GIL,
        so the two overlap). Responses keep request order; the first error ends the stream."""
        done = object()
        results: queue.Queue = queue.Queue(maxsize=self.settings.stream_prefetch)

        def put(item) -> bool:
            while context.is_active():  # a cancelled stream must not leave the worker blocked
                try:
                    results.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def work():
            try:
                for i, request in enumerate(request_iterator):
                    if not put(self.augment_one(request, where=f"request {i}: ")):
                        return
                put(done)
            except Exception as e:  # noqa: BLE001 - re-raised on the handler thread, mapped there
                put(e)

        threading.Thread(target=work, name="augment-stream", daemon=True).start()
        while True:
            try:
                item = results.get(timeout=0.1)
            except queue.Empty:
                if not context.is_active():  # cancelled: the worker has stopped putting
                    return
                continue
            if item is done:
                return
            if isinstance(item, Exception):
                raise item
            yield item

    # --- stored mode: samples read from the folder the service was started with ----------------------

    def _stored(self) -> SampleFolder:
        if self.folder is None:
            raise FailedPrecondition("this augment service holds no samples: start it with --samples_dir=DIR")
        return self.folder

    def stored_one(self, request: augment_pb2.StoredRequest, where: str = "") -> augment_pb2.AugmentResponse:
        folder = self._stored()
        if request.epoch < 0:
            raise InvalidArgument(f"{where}epoch must be >= 0, got {request.epoch}")
        aug = (self._augmentor(request.config_json) if request.config_json else self.default) if request.augment \
            else None
        try:  # a bad index, or a transform refusing (concatenation over max_frames), named with the request
            out, applied = folder.augmented(aug, request.seed, request.epoch, request.index,
                                            max_frames=self.settings.max_frames)
        except InvalidArgument as e:
            raise InvalidArgument(f"{where}{e}") from None
        response = augment_pb2.AugmentResponse(applied_json=json.dumps(applied))
        sample_to_proto(out, delta=request.delta, out=response.sample)
        return response

    def AugmentStored(self, request, context):
        return self.stored_one(request)

    def AugmentStoredStream(self, request_iterator, context):
        for i, request in enumerate(request_iterator):
            yield self.stored_one(request, where=f"request {i}: ")

    def StoredInfo(self, request, context):
        folder = self._stored()
        return augment_pb2.StoredInfoResponse(count=len(folder), fingerprint=folder.fingerprint(),
                                              samples_dir=str(folder.root))

    def Concatenate(self, request, context):
        for name in ("a", "b"):
            if not request.HasField(name):
                raise InvalidArgument(f"{name} is missing")
        a, b = self._sample(request.a, "a"), self._sample(request.b, "b")
        out, info = concatenate(a, b, self.settings.max_frames)
        response = augment_pb2.ConcatenateResponse(offset=info["offset"])
        sample_to_proto(out, delta=uses_delta(request.a), out=response.sample)
        return response

