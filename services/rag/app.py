"""The RAG HTTP API (FastAPI; OpenAPI docs at /docs).

    moredata-rag --store_dir=rag_store --checkpoint=runs/shakespeare_char_cpu/best.pt

POST /documents (JSON: one or more texts), POST /documents/upload (files), GET and DELETE
/documents/{doc_id}, POST /query, POST /generate, GET /health (200 only once the store, index and
embedder are loaded). Bad input is a 4xx with the reason in `detail`; bodies over max_body_mb are 413;
with api_token set, write endpoints need `Authorization: Bearer <token>`.
"""
from __future__ import annotations

import json
import secrets
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, model_validator

from moredata.errors import MoredataError
from moredata.rag.embedders import load_embedder
from moredata.rag.retrieval import Retriever
from moredata.rag.splitting import METHODS
from moredata.rag.store import DocStore, NewDocument, check_doc_id
from services.rag.settings import RagSettings

SplitMethod = Literal["paragraph", "sentence", "chunk", "semantic", "regex"]
assert set(METHODS) == set(SplitMethod.__args__)  # one list of methods


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # NaN/1e400 are no JSON numbers


class SplitParams(_Strict):
    method: SplitMethod = "paragraph"
    min_length: int = Field(0, ge=0, le=1_000_000)
    max_length: int | None = Field(None, ge=1, le=1_000_000)
    size: int = Field(1000, ge=1, le=1_000_000, description="chunk method: window size")
    overlap: int = Field(0, ge=0, le=1_000_000, description="chunk method: overlap between windows")
    unit: Literal["char", "token"] = "char"
    pattern: str = Field("", max_length=1000, description="regex method: the separator pattern")

    @model_validator(mode="after")
    def _overlap(self):
        if self.overlap > self.size // 2:  # more repeats every character over twice: an embedding bomb
            raise ValueError(f"overlap ({self.overlap}) must be at most half of size ({self.size})")
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


class QueryIn(_Strict):
    query: str = Field(min_length=1, max_length=10_000)
    top_k: int = Field(5, ge=1)
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    filters: dict[str, str | int | float | bool] = Field(default_factory=dict)


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
    max_length: int = Field(200, ge=1)
    temperature: float = Field(0.8, gt=0, le=10)
    seed: int | None = None


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


# documents the bearer scheme of the write routes in the OpenAPI schema; the check itself is TokenGuard's
# (one place for every route), so this dependency never refuses anything
BEARER = HTTPBearer(auto_error=False)


class BodyLimit:
    """ASGI middleware: a body over `limit` bytes is refused with 413 before the app reads it all."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await _too_large(send, self.limit)
        seen = 0
        refused = False

        async def limited():
            # a body without Content-Length (chunked) is counted as it arrives; over the limit, 413 goes
            # out at once and the app sees a disconnect (raising here made FastAPI answer 400)
            nonlocal seen, refused
            msg = await receive()
            if msg["type"] == "http.request" and not refused:
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    refused = True
                    await _too_large(send, self.limit)
                    return {"type": "http.disconnect"}
            return msg

        async def guarded_send(message):
            if not refused:  # after the 413 the app's own response is dropped
                await send(message)

        try:
            await self.app(scope, limited, guarded_send)
        except Exception:
            if not refused:
                raise


class ErrorOut(BaseModel):
    detail: str = Field(description="what is wrong, in words")


# every status a route may answer besides its success, documented in the OpenAPI schema with its body
ERRORS = {400: {"model": ErrorOut, "description": "bad input (the reason in detail)"},
          401: {"model": ErrorOut, "description": "missing or wrong bearer token (when a token is set)"},
          413: {"model": ErrorOut, "description": "request body over max_body_mb"},
          503: {"model": ErrorOut, "description": "still loading, or no answering model"}}
NOT_FOUND = {404: {"model": ErrorOut, "description": "no such document"}}


def _unprocessable(loc: tuple, msg: str) -> RequestValidationError:
    """A 422 of our own in the same body shape as FastAPI's validation errors (the documented one)."""
    return RequestValidationError([{"type": "value_error", "loc": loc, "msg": msg}])


def _safe_error(err: dict) -> dict:
    out = {"type": err.get("type"), "loc": list(err.get("loc", ())), "msg": err.get("msg")}
    try:
        json.dumps(err.get("input"), allow_nan=False).encode("utf-8")
        out["input"] = err.get("input")
    except (TypeError, ValueError, UnicodeEncodeError):
        out["input"] = repr(err.get("input"))[:200].encode("utf-8", "backslashreplace").decode("utf-8")
    return out


class TokenGuard:
    """ASGI middleware: with a token set, every route but /health needs `Authorization: Bearer <token>`;
    with open_reads, reads (GET, /query, /generate, the OpenAPI docs) are open and writes still need it."""

    READS = ("/query", "/generate")

    def __init__(self, app, token: str, open_reads: bool = False):
        self.app, self.expected, self.open_reads = app, b"Bearer " + token.encode("utf-8"), open_reads

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] == "/health":
            return await self.app(scope, receive, send)
        if self.open_reads and (scope["method"] in ("GET", "HEAD") or scope["path"] in self.READS):
            return await self.app(scope, receive, send)
        given = dict(scope.get("headers") or []).get(b"authorization", b"")
        if secrets.compare_digest(given, self.expected):
            return await self.app(scope, receive, send)
        body = json.dumps({"detail": "missing or wrong bearer token"}).encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"www-authenticate", b"Bearer")]})
        await send({"type": "http.response.body", "body": body})


async def _too_large(send, limit: int):
    body = json.dumps({"detail": f"request body over the limit of {limit} bytes"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class Service:
    """What the app serves from: loaded in the lifespan, in a thread, so /health can answer meanwhile."""

    def __init__(self, settings: RagSettings):
        self.s = settings
        self.store = self.retriever = self.rag = None
        self.error = ""
        self.ready = threading.Event()
        self._model_lock = threading.Lock()
        self._model_mtime = None

    def load(self) -> None:
        try:
            emb = load_embedder(self.s.embedder, self.s.hashing_dim, self.s.embed_batch_size)
            self.store = DocStore(self.s.store_dir, emb)
            self.retriever = Retriever(self.store, hnsw_threshold=self.s.hnsw_threshold)
            if self.store.count():
                self.retriever.search("warm up", k=1, mode="hybrid")  # builds the BM25 index
            self.ensure_model()
            self.ready.set()
        except Exception as e:  # noqa: BLE001 - reported by /health, the process stays up to say why
            self.error = f"{type(e).__name__}: {e}"

    def ensure_model(self):
        """The answering model, loaded when its checkpoint exists and reloaded when the file changes (a
        trainer writing a better best.pt); None while there is none."""
        if not self.s.checkpoint:
            return None
        path = Path(self.s.checkpoint)
        with self._model_lock:
            try:
                mtime = path.stat().st_mtime_ns
            except FileNotFoundError:
                return self.rag
            if self.rag is None or mtime != self._model_mtime:
                from moredata.rag.answer import RAGModel

                self.rag = RAGModel.from_checkpoint(self.store, path, self.s.device, self.retriever)
                self._model_mtime = mtime
            return self.rag

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def create_app(settings: RagSettings | None = None, load_in_background: bool = False) -> FastAPI:
    settings = settings or RagSettings()
    service = Service(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if load_in_background:
            threading.Thread(target=service.load, name="rag-load", daemon=True).start()
        else:
            service.load()
        yield
        service.close()

    app = FastAPI(title="moredata rag", version="0.1.0", lifespan=lifespan,
                  description="Ingest documents, retrieve chunks (dense, BM25, hybrid) and answer with a GPT.")
    app.state.service = service
    def ready() -> Service:
        if not service.ready.is_set():
            raise HTTPException(503, service.error or "loading the store and the embedder")
        return service

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        """422 as FastAPI shapes it, with each offending input kept only when JSON can carry it (a NaN
        or a lone surrogate in the input made FastAPI's own handler fail with a 500)."""
        return JSONResponse(status_code=422, content={"detail": [_safe_error(e) for e in exc.errors()]})

    @app.exception_handler(MoredataError)
    async def caller_error(request: Request, exc: MoredataError):
        """The project's errors carry their status; anything else is a bug: FastAPI logs it, answers 500."""
        return JSONResponse(status_code=exc.http_status, content={"detail": str(exc)})

    @app.get("/health")
    def health():
        if not service.ready.is_set():
            return JSONResponse(status_code=503, content={"status": "error" if service.error else "loading",
                                                          "detail": service.error})
        return {"status": "ready", "chunks": service.store.count(), "embedder": service.store.embedder.name,
                "generation": service.ensure_model() is not None}

    @app.post("/documents", response_model=list[Ingested], status_code=201, dependencies=[Depends(BEARER)],
              responses=ERRORS)
    def add_documents(body: DocumentIn | DocumentsIn, svc: Service = Depends(ready)):
        docs = body.documents if isinstance(body, DocumentsIn) else [body]
        out = svc.store.add_documents([NewDocument(d.doc_id, d.text, d.split.method, d.metadata, d.split.kwargs())
                                       for d in docs], max_chunks=settings.max_chunks_per_request)
        return [Ingested(doc_id=d, chunk_ids=ids) for d, ids in out]

    @app.post("/documents/upload", response_model=list[Ingested], status_code=201, dependencies=[Depends(BEARER)],
              responses=ERRORS)
    def upload(files: Annotated[list[UploadFile], File(description="UTF-8 text files (.md, .rst, .txt, ...)")],
               split: Annotated[str, Form(description="SplitParams as JSON")] = "{}",
               metadata: Annotated[str, Form(description="metadata as a JSON object, added to each file's")] = "{}",
               svc: Service = Depends(ready)):
        try:
            params = SplitParams.model_validate_json(split)
            meta = json.loads(metadata)
        except ValueError as e:
            raise _unprocessable(("body", "split/metadata"), f"split/metadata must be JSON: {e}") from None
        if not isinstance(meta, dict):
            raise _unprocessable(("body", "metadata"), "metadata must be a JSON object")
        docs = []
        for f in files:
            try:
                text = f.file.read().decode("utf-8")
            except UnicodeDecodeError:
                raise HTTPException(400, f"{f.filename}: not UTF-8 text") from None
            if not text.strip():
                raise HTTPException(400, f"{f.filename}: empty file")
            check_doc_id(f.filename or "")  # the file name becomes the id: it must round-trip through the URL
            docs.append(NewDocument(f.filename, text, params.method, {"filename": f.filename, **meta}, params.kwargs()))
        out = svc.store.add_documents(docs, max_chunks=settings.max_chunks_per_request)
        return [Ingested(doc_id=d, chunk_ids=ids) for d, ids in out]

    @app.get("/documents/{doc_id:path}", responses={**ERRORS, **NOT_FOUND})
    def get_document(doc_id: str, svc: Service = Depends(ready)):
        return svc.store.document(doc_id)

    @app.delete("/documents/{doc_id:path}", dependencies=[Depends(BEARER)], responses={**ERRORS, **NOT_FOUND})
    def delete_document(doc_id: str, svc: Service = Depends(ready)):
        return {"doc_id": doc_id, "deleted_chunks": svc.store.delete_document(doc_id)}

    def _check_top_k(top_k: int):
        if top_k > settings.max_top_k:
            raise _unprocessable(("body", "top_k"), f"top_k must be <= {settings.max_top_k}, got {top_k}")

    @app.post("/query", response_model=list[ChunkOut], responses=ERRORS)
    def query(body: QueryIn, svc: Service = Depends(ready)):
        _check_top_k(body.top_k)
        hits = svc.retriever.search(body.query, body.top_k, body.mode, body.filters)
        chunks = {c.chunk_id: c for c in svc.store.chunks([h.chunk_id for h in hits])}
        return [ChunkOut(chunk_id=h.chunk_id, doc_id=c.doc_id, score=h.score, text=c.text, start=c.start, end=c.end,
                         headings=c.headings, metadata=c.metadata, dense_rank=h.dense_rank, bm25_rank=h.bm25_rank)
                for h in hits if (c := chunks.get(h.chunk_id)) is not None]

    @app.post("/generate", response_model=GenerateOut, responses=ERRORS)
    def generate(body: GenerateIn, svc: Service = Depends(ready)):
        _check_top_k(body.top_k)
        if body.max_length > settings.max_new_tokens:
            raise _unprocessable(("body", "max_length"),
                                 f"max_length must be <= {settings.max_new_tokens}, got {body.max_length}")
        rag = svc.ensure_model()
        if rag is None:
            raise HTTPException(503, "no answering model: start the service with --checkpoint=path/to/best.pt"
                                if not settings.checkpoint else f"the checkpoint {settings.checkpoint} does not exist yet")
        ans = rag.generate(body.query, body.top_k, body.max_length, body.temperature, body.mode, body.filters,
                               body.seed)
        return GenerateOut(answer=ans.answer, prompt_tokens=ans.prompt_tokens, note=ans.note,
                           sources=[SourceOut(**s.__dict__) for s in ans.sources])

    app.add_middleware(BodyLimit, limit=int(settings.max_body_mb * 2**20))
    if settings.api_token:
        app.add_middleware(TokenGuard, token=settings.api_token, open_reads=settings.open_reads)
    return app
