from moredata.rpc.proto import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StreamSamplesRequest(_message.Message):
    __slots__ = ("batch_size", "max_batches", "min_model_version")
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCHES_FIELD_NUMBER: _ClassVar[int]
    MIN_MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    batch_size: int
    max_batches: int
    min_model_version: int
    def __init__(self, batch_size: _Optional[int] = ..., max_batches: _Optional[int] = ..., min_model_version: _Optional[int] = ...) -> None: ...

class SampleBatch(_message.Message):
    __slots__ = ("tokens", "fragment_versions", "model_version")
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    FRAGMENT_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    tokens: _common_pb2.Tensor
    fragment_versions: _containers.RepeatedScalarFieldContainer[int]
    model_version: int
    def __init__(self, tokens: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., fragment_versions: _Optional[_Iterable[int]] = ..., model_version: _Optional[int] = ...) -> None: ...

class UpdateModelRequest(_message.Message):
    __slots__ = ("checkpoint_path",)
    CHECKPOINT_PATH_FIELD_NUMBER: _ClassVar[int]
    checkpoint_path: str
    def __init__(self, checkpoint_path: _Optional[str] = ...) -> None: ...

class CheckpointChunk(_message.Message):
    __slots__ = ("data", "total_size")
    DATA_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    total_size: int
    def __init__(self, data: _Optional[bytes] = ..., total_size: _Optional[int] = ...) -> None: ...

class UpdateModelResponse(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelInfo
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelInfo, _Mapping]] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GeneratorStatus(_message.Message):
    __slots__ = ("model", "buffer_capacity", "buffer_filled", "buffer_current_version", "fragments_generated_per_s", "fragments_served_per_s", "serving", "degraded_reason", "fragments_filtered", "fragments_kept", "fragments_served", "fragment_reuse", "generation_aim_per_s", "generation_batch")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    BUFFER_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    BUFFER_FILLED_FIELD_NUMBER: _ClassVar[int]
    BUFFER_CURRENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    FRAGMENTS_GENERATED_PER_S_FIELD_NUMBER: _ClassVar[int]
    FRAGMENTS_SERVED_PER_S_FIELD_NUMBER: _ClassVar[int]
    SERVING_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_REASON_FIELD_NUMBER: _ClassVar[int]
    FRAGMENTS_FILTERED_FIELD_NUMBER: _ClassVar[int]
    FRAGMENTS_KEPT_FIELD_NUMBER: _ClassVar[int]
    FRAGMENTS_SERVED_FIELD_NUMBER: _ClassVar[int]
    FRAGMENT_REUSE_FIELD_NUMBER: _ClassVar[int]
    GENERATION_AIM_PER_S_FIELD_NUMBER: _ClassVar[int]
    GENERATION_BATCH_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelInfo
    buffer_capacity: int
    buffer_filled: int
    buffer_current_version: int
    fragments_generated_per_s: float
    fragments_served_per_s: float
    serving: bool
    degraded_reason: str
    fragments_filtered: int
    fragments_kept: int
    fragments_served: int
    fragment_reuse: float
    generation_aim_per_s: float
    generation_batch: int
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelInfo, _Mapping]] = ..., buffer_capacity: _Optional[int] = ..., buffer_filled: _Optional[int] = ..., buffer_current_version: _Optional[int] = ..., fragments_generated_per_s: _Optional[float] = ..., fragments_served_per_s: _Optional[float] = ..., serving: _Optional[bool] = ..., degraded_reason: _Optional[str] = ..., fragments_filtered: _Optional[int] = ..., fragments_kept: _Optional[int] = ..., fragments_served: _Optional[int] = ..., fragment_reuse: _Optional[float] = ..., generation_aim_per_s: _Optional[float] = ..., generation_batch: _Optional[int] = ...) -> None: ...
