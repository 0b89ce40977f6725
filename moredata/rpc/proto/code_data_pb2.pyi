from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CodeFile(_message.Message):
    __slots__ = ("path", "content", "language")
    PATH_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    path: str
    content: bytes
    language: str
    def __init__(self, path: _Optional[str] = ..., content: _Optional[bytes] = ..., language: _Optional[str] = ...) -> None: ...

class SplitFileRequest(_message.Message):
    __slots__ = ("file", "seed", "augment", "max_samples")
    FILE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    AUGMENT_FIELD_NUMBER: _ClassVar[int]
    MAX_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    file: CodeFile
    seed: int
    augment: bool
    max_samples: int
    def __init__(self, file: _Optional[_Union[CodeFile, _Mapping]] = ..., seed: _Optional[int] = ..., augment: _Optional[bool] = ..., max_samples: _Optional[int] = ...) -> None: ...

class AugmentSampleRequest(_message.Message):
    __slots__ = ("definition", "name", "augmentations", "seed")
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    AUGMENTATIONS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    definition: CodeFile
    name: str
    augmentations: _containers.RepeatedScalarFieldContainer[str]
    seed: int
    def __init__(self, definition: _Optional[_Union[CodeFile, _Mapping]] = ..., name: _Optional[str] = ..., augmentations: _Optional[_Iterable[str]] = ..., seed: _Optional[int] = ...) -> None: ...

class CodeSamples(_message.Message):
    __slots__ = ("samples",)
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    samples: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, samples: _Optional[_Iterable[str]] = ...) -> None: ...

class BuildDatasetRequest(_message.Message):
    __slots__ = ("files", "seed", "augmentations", "threshold", "num_perm", "ngram", "max_per_language", "skip_decontamination", "min_quality", "chunk_size")
    FILES_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    AUGMENTATIONS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    NUM_PERM_FIELD_NUMBER: _ClassVar[int]
    NGRAM_FIELD_NUMBER: _ClassVar[int]
    MAX_PER_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SKIP_DECONTAMINATION_FIELD_NUMBER: _ClassVar[int]
    MIN_QUALITY_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[CodeFile]
    seed: int
    augmentations: _containers.RepeatedScalarFieldContainer[str]
    threshold: float
    num_perm: int
    ngram: int
    max_per_language: int
    skip_decontamination: bool
    min_quality: float
    chunk_size: int
    def __init__(self, files: _Optional[_Iterable[_Union[CodeFile, _Mapping]]] = ..., seed: _Optional[int] = ..., augmentations: _Optional[_Iterable[str]] = ..., threshold: _Optional[float] = ..., num_perm: _Optional[int] = ..., ngram: _Optional[int] = ..., max_per_language: _Optional[int] = ..., skip_decontamination: _Optional[bool] = ..., min_quality: _Optional[float] = ..., chunk_size: _Optional[int] = ...) -> None: ...

class BuildDatasetChunk(_message.Message):
    __slots__ = ("samples", "summary_json")
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_JSON_FIELD_NUMBER: _ClassVar[int]
    samples: _containers.RepeatedScalarFieldContainer[str]
    summary_json: str
    def __init__(self, samples: _Optional[_Iterable[str]] = ..., summary_json: _Optional[str] = ...) -> None: ...
