"""/documents: add (JSON or file upload), read and delete documents."""
from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from moredata.errors import InvalidArgument
from moredata.rag.store import NewDocument, check_doc_id
from services.rag.deps import WRITE, ReadyService
from services.rag.errors import unprocessable
from services.rag.schemas import ERRORS, NOT_FOUND, DocumentIn, DocumentsIn, Ingested, SplitParams

router = APIRouter(prefix="/documents", tags=["documents"])


@router.post("", response_model=list[Ingested], status_code=201, dependencies=WRITE, responses=ERRORS)
def add_documents(body: DocumentIn | DocumentsIn, svc: ReadyService):
    docs = body.documents if isinstance(body, DocumentsIn) else [body]
    out = svc.store.add_documents([NewDocument(d.doc_id, d.text, d.split.method, d.metadata, d.split.kwargs())
                                   for d in docs], max_chunks=svc.s.max_chunks_per_request)
    return [Ingested(doc_id=d, chunk_ids=ids) for d, ids in out]


@router.post("/upload", response_model=list[Ingested], status_code=201, dependencies=WRITE, responses=ERRORS)
def upload(files: Annotated[list[UploadFile], File(description="UTF-8 text files (.md, .rst, .txt, ...)")],
           svc: ReadyService,
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
            text = f.file.read().decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidArgument(f"{f.filename}: not UTF-8 text") from None
        if not text.strip():
            raise InvalidArgument(f"{f.filename}: empty file")
        check_doc_id(f.filename or "")  # the file name becomes the id: it must round-trip through the URL
        docs.append(NewDocument(f.filename, text, params.method, {"filename": f.filename, **meta}, params.kwargs()))
    out = svc.store.add_documents(docs, max_chunks=svc.s.max_chunks_per_request)
    return [Ingested(doc_id=d, chunk_ids=ids) for d, ids in out]


@router.get("/{doc_id:path}", responses={**ERRORS, **NOT_FOUND})
def get_document(doc_id: str, svc: ReadyService):
    return svc.store.document(doc_id)


@router.delete("/{doc_id:path}", dependencies=WRITE, responses={**ERRORS, **NOT_FOUND})
def delete_document(doc_id: str, svc: ReadyService):
    return {"doc_id": doc_id, "deleted_chunks": svc.store.delete_document(doc_id)}
