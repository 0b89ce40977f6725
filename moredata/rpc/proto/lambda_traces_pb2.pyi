from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class LambdaTracesRequest(_message.Message):
    __slots__ = ("count", "seed", "depths", "sizes", "max_steps", "max_size", "chunk_size", "first_chunk")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    DEPTHS_FIELD_NUMBER: _ClassVar[int]
    SIZES_FIELD_NUMBER: _ClassVar[int]
    MAX_STEPS_FIELD_NUMBER: _ClassVar[int]
    MAX_SIZE_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    FIRST_CHUNK_FIELD_NUMBER: _ClassVar[int]
    count: int
    seed: int
    depths: _containers.RepeatedScalarFieldContainer[int]
    sizes: _containers.RepeatedScalarFieldContainer[int]
    max_steps: int
    max_size: int
    chunk_size: int
    first_chunk: int
    def __init__(self, count: _Optional[int] = ..., seed: _Optional[int] = ..., depths: _Optional[_Iterable[int]] = ..., sizes: _Optional[_Iterable[int]] = ..., max_steps: _Optional[int] = ..., max_size: _Optional[int] = ..., chunk_size: _Optional[int] = ..., first_chunk: _Optional[int] = ...) -> None: ...

class LambdaTraceChunk(_message.Message):
    __slots__ = ("chunk_id", "lines")
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    chunk_id: int
    lines: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, chunk_id: _Optional[int] = ..., lines: _Optional[_Iterable[str]] = ...) -> None: ...
