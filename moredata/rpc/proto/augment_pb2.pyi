from moredata.rpc.proto import common_pb2 as _common_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PointerSample(_message.Message):
    __slots__ = ("raw", "edit", "edit_delta", "pointers")
    RAW_FIELD_NUMBER: _ClassVar[int]
    EDIT_FIELD_NUMBER: _ClassVar[int]
    EDIT_DELTA_FIELD_NUMBER: _ClassVar[int]
    POINTERS_FIELD_NUMBER: _ClassVar[int]
    raw: _common_pb2.Tensor
    edit: _common_pb2.Tensor
    edit_delta: EditDelta
    pointers: _common_pb2.Tensor
    def __init__(self, raw: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., edit: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., edit_delta: _Optional[_Union[EditDelta, _Mapping]] = ..., pointers: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ...) -> None: ...

class EditDelta(_message.Message):
    __slots__ = ("copied", "frames")
    COPIED_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    copied: _common_pb2.Tensor
    frames: _common_pb2.Tensor
    def __init__(self, copied: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., frames: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ...) -> None: ...

class AugmentRequest(_message.Message):
    __slots__ = ("sample", "config_json", "seed", "epoch", "partner")
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    PARTNER_FIELD_NUMBER: _ClassVar[int]
    sample: PointerSample
    config_json: str
    seed: int
    epoch: int
    partner: PointerSample
    def __init__(self, sample: _Optional[_Union[PointerSample, _Mapping]] = ..., config_json: _Optional[str] = ..., seed: _Optional[int] = ..., epoch: _Optional[int] = ..., partner: _Optional[_Union[PointerSample, _Mapping]] = ...) -> None: ...

class AugmentResponse(_message.Message):
    __slots__ = ("sample", "applied_json")
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    APPLIED_JSON_FIELD_NUMBER: _ClassVar[int]
    sample: PointerSample
    applied_json: str
    def __init__(self, sample: _Optional[_Union[PointerSample, _Mapping]] = ..., applied_json: _Optional[str] = ...) -> None: ...

class StoredRequest(_message.Message):
    __slots__ = ("index", "epoch", "seed", "config_json", "augment", "delta")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    AUGMENT_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    index: int
    epoch: int
    seed: int
    config_json: str
    augment: bool
    delta: bool
    def __init__(self, index: _Optional[int] = ..., epoch: _Optional[int] = ..., seed: _Optional[int] = ..., config_json: _Optional[str] = ..., augment: _Optional[bool] = ..., delta: _Optional[bool] = ...) -> None: ...

class StoredInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StoredInfoResponse(_message.Message):
    __slots__ = ("count", "fingerprint", "samples_dir")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_DIR_FIELD_NUMBER: _ClassVar[int]
    count: int
    fingerprint: str
    samples_dir: str
    def __init__(self, count: _Optional[int] = ..., fingerprint: _Optional[str] = ..., samples_dir: _Optional[str] = ...) -> None: ...

class ConcatenateRequest(_message.Message):
    __slots__ = ("a", "b")
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    a: PointerSample
    b: PointerSample
    def __init__(self, a: _Optional[_Union[PointerSample, _Mapping]] = ..., b: _Optional[_Union[PointerSample, _Mapping]] = ...) -> None: ...

class ConcatenateResponse(_message.Message):
    __slots__ = ("sample", "offset")
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    sample: PointerSample
    offset: int
    def __init__(self, sample: _Optional[_Union[PointerSample, _Mapping]] = ..., offset: _Optional[int] = ...) -> None: ...
