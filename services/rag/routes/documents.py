"""/documents: add (JSON or file upload), read and delete documents.

An ingest is checked against its embedding budget (max_chunks_per_request, max_embed_chars_per_request:
413 before anything is embedded), embedded on a worker thread, and committed only if its client is still
there: one that disconnected meanwhile (a timeout) gets nothing stored, so a retry never finds a
half-remembered request already done.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from moredata.errors import Cancelled, InvalidArgument
from moredata.rag.store import NewDocument, check_doc_id
from services.rag.deps import WRITE, ReadyService
from services.rag.errors import unprocessable
from services.rag.schemas import ERRORS, NOT_FOUND, DocumentIn, DocumentsIn, Ingested, SplitParams

router = APIRouter(prefix="/documents", tags=["documents"])
log = logging.getLogger("rag.documents")


async def ingest(request: Request, svc, docs: list[NewDocument]) -> list[Ingested]:
    """Stores docs within the request's budget, committing only while the client is still connected."""
    gone = threading.Event()

    async def watch():
        while not await request.is_disconnected():
            await asyncio.sleep(0.2)
        gone.set()

    watcher = asyncio.create_task(watch())
    try:
        out = await run_in_threadpool(svc.store.add_documents, docs, max_chunks=svc.s.max_chunks_per_request,
                                      max_chars=svc.s.max_embed_chars_per_request,
                                      still_wanted=lambda: not gone.is_set())
    except Cancelled:
        log.warning("ingest of %d document(s) cancelled: the client went away; nothing was stored", len(docs))
        raise
    finally:
        watcher.cancel()
    return [Ingested(doc_id=d, chunk_ids=ids) for d, ids in out]


@router.post("", response_model=list[Ingested], status_code=201, dependencies=WRITE, responses=ERRORS)
async def add_documents(body: DocumentIn | DocumentsIn, svc: ReadyService, request: Request):
    docs = body.documents if isinstance(body, DocumentsIn) else [body]
    return await ingest(request, svc, [NewDocument(d.doc_id, d.text, d.split.method, d.metadata, d.split.kwargs())
                                       for d in docs])


UPLOAD_FILES = ("UTF-8 text files (.md, .rst, .txt, ...), at least one, none empty or blank; each file's name "
                "(a relative path is kept) becomes its doc_id")


@router.post("/upload", response_model=list[Ingested], status_code=201, dependencies=WRITE, responses=ERRORS)
async def upload(files: Annotated[list[UploadFile], File(description=UPLOAD_FILES)],
                 svc: ReadyService, request: Request,
                 split: Annotated[str, Form(description="SplitParams as JSON")] = "{}",
                 metadata: Annotated[str, Form(description="metadata as a JSON object, added to each file's")] = "{}"):
    try:
        params = SplitParams.model_validate_json(split)
        meta = json.loads(metadata)
    except ValueError as e:
        raise unprocessable(("body", "split/metadata"), f"split/metadata must be JSON: {e}") from None
    if not isinstance(meta, dict):
        raise unprocessable(("body", "metadata"), "metadata must be a JSON object")
    docs = []
    for f in files:
        try:
            text = (await f.read()).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidArgument(f"{f.filename}: not UTF-8 text") from None
        if not text.strip():
            raise InvalidArgument(f"{f.filename}: empty file")
        check_doc_id(f.filename or "")  # the file name becomes the id: it must round-trip through the URL
        docs.append(NewDocument(f.filename, text, params.method, {"filename": f.filename, **meta}, params.kwargs()))
    return await ingest(request, svc, docs)


@router.get("/{doc_id:path}", responses={**ERRORS, **NOT_FOUND})
def get_document(doc_id: str, svc: ReadyService):
    return svc.store.document(doc_id)


@router.delete("/{doc_id:path}", dependencies=WRITE, responses={**ERRORS, **NOT_FOUND})
def delete_document(doc_id: str, svc: ReadyService):
    return {"doc_id": doc_id, "deleted_chunks": svc.store.delete_document(doc_id)}
