"""The RAG API's request and response bodies (pydantic): what /documents, /query and /generate take and give,
and the error body every route documents. Strict: an unknown field, a NaN, `false` or `"5"` for a number
is a 422, not ignored or coerced. The schema is the contract: every rule the code enforces is declared
here (a bound, a pattern) or, for a rule between two fields JSON Schema cannot state, in the field's
description; the bounds set by the service's settings (top_k, max_length) are written into the OpenAPI
document by the app factory."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from moredata.rag.splitting import METHODS

SplitMethod = Literal["paragraph", "sentence", "chunk", "semantic", "regex"]
assert set(METHODS) == set(SplitMethod.__args__)  # one list of methods


class _Strict(BaseModel):
    # NaN/1e400 are no JSON numbers; strict: `false` is no integer and "5" no number (JSON has types)
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class SplitParams(_Strict):
    method: SplitMethod = "paragraph"
    min_length: int = Field(0, ge=0, le=1_000_000, description="chunks shorter than this are merged; at most "
                            "max_length")
    max_length: int | None = Field(None, ge=1, le=1_000_000, description="chunks longer than this are cut; at "
                                   "least min_length")
    size: int = Field(1000, ge=1, le=1_000_000, description="chunk method: window size")
    overlap: int = Field(0, ge=0, le=500_000, description="chunk method: overlap between windows, at most "
                         "half of size")
    unit: Literal["char", "token"] = "char"
    pattern: str = Field("", max_length=1000, description="regex method: the separator pattern")

    @model_validator(mode="after")
    def _overlap(self):
        if self.overlap > self.size // 2:  # more repeats every character over twice: an embedding bomb
            raise ValueError(f"overlap ({self.overlap}) must be at most half of size ({self.size})")
        if self.max_length is not None and self.min_length > self.max_length:
            raise ValueError(f"min_length ({self.min_length}) must be at most max_length ({self.max_length})")
        return self

    def kwargs(self) -> dict:
        return self.model_dump(exclude={"method"})


class DocumentIn(_Strict):
    doc_id: str | None = Field(None, min_length=1, max_length=200, pattern=r"^[\w.\-:]+(/[\w.\-:]+)*$",
                               description="a new id is made when absent; an existing one is replaced. "
                               "'/'-separated segments (none '.' or '..'), so GET/DELETE /documents/{doc_id} reach it")
    text: str = Field(min_length=1)
    metadata: dict[str, Any] = Field(default_factory=dict)
    split: SplitParams = SplitParams()


class DocumentsIn(_Strict):
    documents: list[DocumentIn] = Field(min_length=1, max_length=10_000)


class Ingested(BaseModel):
    doc_id: str
    chunk_ids: list[int]


# a metadata key a filter may name (the store refuses any other: it goes into a JSON path)
FilterKey = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")]


class QueryIn(_Strict):
    query: str = Field(min_length=1, max_length=10_000)
    top_k: int = Field(5, ge=1, description="at most the service's max_top_k (the maximum below)")
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    # additionalProperties false: with the key pattern (patternProperties), a key outside it is invalid
    filters: dict[FilterKey, str | int | float | bool] = Field(default_factory=dict,
                                                              json_schema_extra={"additionalProperties": False})


class ChunkOut(BaseModel):
    chunk_id: int
    doc_id: str
    score: float
    text: str
    start: int
    end: int
    headings: list[str]
    metadata: dict[str, Any]
    dense_rank: int | None = None
    bm25_rank: int | None = None


class GenerateIn(QueryIn):
    top_k: int = Field(3, ge=1)
    max_length: int = Field(200, ge=1, description="at most the service's max_new_tokens (the maximum below)")
    temperature: float = Field(0.8, gt=0, le=10)
    # torch's generator takes a 64-bit seed: a larger one was a 500 (ValueError: Overflow when unpacking)
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="sampling seed (0 to 2^63 - 1); none: random")


class SourceOut(BaseModel):
    chunk_id: int
    doc_id: str
    score: float
    text: str
    truncated: bool


class GenerateOut(BaseModel):
    answer: str
    sources: list[SourceOut]
    prompt_tokens: int
    note: str = Field("", description="why sources is empty, when it is (e.g. a context too small for them)")


class ErrorOut(BaseModel):
    detail: str = Field(description="what is wrong, in words")


# every status a route may answer besides its success, documented in the OpenAPI schema with its body
ERRORS = {400: {"model": ErrorOut, "description": "bad input (the reason in detail)"},
          401: {"model": ErrorOut, "description": "missing or wrong bearer token (when a token is set)"},
          413: {"model": ErrorOut, "description": "request body over max_body_mb"},
          503: {"model": ErrorOut, "description": "still loading, or no answering model"}}
NOT_FOUND = {404: {"model": ErrorOut, "description": "no such document"}}
