"""CodeDataService: the code builder's steps over gRPC (split a file, augment a definition, build a dataset).

Every request is checked whole before any work (INVALID_ARGUMENT names the field); files arrive inline,
so the server never reads paths of its own disk on a client's behalf.
"""
from __future__ import annotations

import json
import random

from moredata.code.augmentations import AUGMENTATIONS, augment
from moredata.code.build import BuildOptions, build_from_blobs, samples_of_file
from moredata.code.dedup import DedupOptions
from moredata.code.instructions import InstructionBook
from moredata.code.languages import LANGUAGES, language_for
from moredata.code.sources import SourceFile, check_source
from moredata.code.splitter import FileSplitter, SplitOptions
from moredata.errors import InvalidArgument
from moredata.rpc.proto import code_data_pb2, code_data_pb2_grpc

SERVICE_NAME = code_data_pb2.DESCRIPTOR.services_by_name["CodeDataService"].full_name
_EXT = {"python": ".py", "javascript": ".js", "typescript": ".ts", "tsx": ".tsx", "go": ".go", "rust": ".rs",
        "java": ".java", "c": ".c", "cpp": ".cpp"}


def _named(f) -> str:
    """The file's path, with the extension of its declared language when the path's says another."""
    return f.path if not f.language or language_for(f.path) == f.language else f.path + _EXT[f.language]


def _json(rows) -> list[str]:
    out = []
    for r in rows:
        r.pop("_unit_text", None)
        out.append(json.dumps(r, ensure_ascii=False))
    return out


class CodeDataServicer(code_data_pb2_grpc.CodeDataServiceServicer):
    def __init__(self, max_files: int = 10_000, max_file_bytes: int = 1_000_000):
        self.max_files = max_files
        self.max_file_bytes = max_file_bytes
        self.book = InstructionBook()

    # -- checks ------------------------------------------------------------------------------------------
    def _file(self, f, field: str) -> SourceFile:
        """A request file decoded, or InvalidArgument saying why it cannot be read as code."""
        if not f.path or "\0" in f.path or len(f.path) > 4096:
            raise InvalidArgument(f"{field}.path must be a non-empty name without NUL bytes")
        if f.language and f.language not in LANGUAGES:
            raise InvalidArgument(f"{field}.language {f.language!r} is not one of {', '.join(LANGUAGES)}")
        if not f.language and language_for(f.path) is None:
            raise InvalidArgument(f"{field}.path {f.path!r}: unknown extension; set language "
                                  f"({', '.join(LANGUAGES)})")
        source, reason = check_source(_named(f), f.content, self.max_file_bytes)
        if source is None:
            raise InvalidArgument(f"{field} {f.path!r} cannot be read as code: {reason}")
        return source

    @staticmethod
    def _augmentations(names) -> tuple[str, ...]:
        names = tuple(names)
        if names == ("none",):
            return ()
        unknown = set(names) - set(AUGMENTATIONS)
        if unknown:
            raise InvalidArgument(f"unknown augmentations {sorted(unknown)}; known: {', '.join(AUGMENTATIONS)}")
        return names or AUGMENTATIONS

    # -- RPCs --------------------------------------------------------------------------------------------
    def SplitFile(self, request, context):
        if not request.HasField("file"):
            raise InvalidArgument("file is required")
        if request.max_samples > 1000:
            raise InvalidArgument(f"max_samples must be at most 1000, got {request.max_samples}")
        source = self._file(request.file, "file")
        opts = BuildOptions(seed=request.seed, split=SplitOptions(max_samples_per_file=request.max_samples or 16),
                            augmentations=AUGMENTATIONS if request.augment else ())
        return code_data_pb2.CodeSamples(samples=_json(samples_of_file(source, opts, self.book)))

    def AugmentSample(self, request, context):
        if not request.HasField("definition"):
            raise InvalidArgument("definition is required")
        enabled = self._augmentations(request.augmentations)
        source = self._file(request.definition, "definition")
        functions = [s for s in FileSplitter(SplitOptions(max_samples_per_file=10_000, min_completion_chars=1))
                     .split(source, request.seed) if s.kind == "function"]
        if request.name:
            functions = [s for s in functions if s.name == request.name]
        if not functions:
            raise InvalidArgument(f"no function {request.name!r} in the definition" if request.name
                                  else "the definition holds no function")
        rows = []
        for s in functions:
            for a in augment(s, source.data, random.Random(f"{request.seed}:{s.start_line}:{s.name}"), enabled,
                             source.module):
                a.instruction = self.book.instruction(a, request.seed)
                a.meta.pop("def_span", None)
                rows.append(a.to_dict())
        return code_data_pb2.CodeSamples(samples=_json(rows))

    def BuildDataset(self, request, context):
        r = request
        if not 1 <= len(r.files) <= self.max_files:
            raise InvalidArgument(f"files: send 1 to {self.max_files} files, got {len(r.files)}")
        for i, f in enumerate(r.files):
            if not f.path or "\0" in f.path:
                raise InvalidArgument(f"files[{i}].path must be a non-empty name without NUL bytes")
            if f.language and f.language not in LANGUAGES:
                raise InvalidArgument(f"files[{i}].language {f.language!r} is not one of {', '.join(LANGUAGES)}")
        if not 0.0 <= r.threshold <= 1.0:
            raise InvalidArgument(f"threshold must be in (0, 1], got {r.threshold}")
        if r.num_perm and not 16 <= r.num_perm <= 1024:
            raise InvalidArgument(f"num_perm must be in [16, 1024], got {r.num_perm}")
        if r.ngram > 20:
            raise InvalidArgument(f"ngram must be at most 20, got {r.ngram}")
        if r.max_per_language < -1:
            raise InvalidArgument(f"max_per_language must be -1 (auto), 0 (no cap) or a count, got {r.max_per_language}")
        if not 0.0 <= r.min_quality <= 1.0:
            raise InvalidArgument(f"min_quality must be in [0, 1], got {r.min_quality}")
        if r.chunk_size > 10_000:
            raise InvalidArgument(f"chunk_size must be at most 10000, got {r.chunk_size}")
        opts = BuildOptions(
            seed=r.seed, max_file_bytes=self.max_file_bytes, augmentations=self._augmentations(r.augmentations),
            min_quality=r.min_quality or 0.05,
            dedup=DedupOptions(threshold=r.threshold or 0.7, num_perm=r.num_perm or 256, ngram=r.ngram or 5),
            benchmarks=() if r.skip_decontamination else ("humaneval",),
            max_per_language="auto" if r.max_per_language == -1 else int(r.max_per_language), progress=False)
        blobs = [(_named(f), f.content) for f in r.files]
        result = build_from_blobs(blobs, opts, context.is_active)
        if result is None:
            return  # the client cancelled
        rows, summary = result
        chunk = r.chunk_size or 500
        lines = _json(rows)
        for lo in range(0, len(lines), chunk):
            if not context.is_active():
                return
            yield code_data_pb2.BuildDatasetChunk(samples=lines[lo: lo + chunk])
        yield code_data_pb2.BuildDatasetChunk(summary_json=json.dumps(summary))
