"""/query (retrieve chunks) and /generate (answer with the trained model and its sources)."""
from __future__ import annotations

from fastapi import APIRouter

from moredata.errors import Unavailable
from services.rag.deps import ReadyService
from services.rag.errors import unprocessable
from services.rag.schemas import ERRORS, ChunkOut, GenerateIn, GenerateOut, QueryIn, SourceOut

router = APIRouter(tags=["answers"])


def _check_top_k(top_k: int, limit: int) -> None:
    if top_k > limit:
        raise unprocessable(("body", "top_k"), f"top_k must be <= {limit}, got {top_k}")


@router.post("/query", response_model=list[ChunkOut], responses=ERRORS)
def query(body: QueryIn, svc: ReadyService):
    _check_top_k(body.top_k, svc.s.max_top_k)
    hits = svc.retriever.search(body.query, body.top_k, body.mode, body.filters)
    chunks = {c.chunk_id: c for c in svc.store.chunks([h.chunk_id for h in hits])}
    return [ChunkOut(chunk_id=h.chunk_id, doc_id=c.doc_id, score=h.score, text=c.text, start=c.start, end=c.end,
                     headings=c.headings, metadata=c.metadata, dense_rank=h.dense_rank, bm25_rank=h.bm25_rank)
            for h in hits if (c := chunks.get(h.chunk_id)) is not None]


@router.post("/generate", response_model=GenerateOut, responses=ERRORS)
def generate(body: GenerateIn, svc: ReadyService):
    settings = svc.s
    _check_top_k(body.top_k, settings.max_top_k)
    if body.max_length > settings.max_new_tokens:
        raise unprocessable(("body", "max_length"),
                            f"max_length must be <= {settings.max_new_tokens}, got {body.max_length}")
    rag = svc.ensure_model()
    if rag is None:
        raise Unavailable("no answering model: start the service with --checkpoint=path/to/best.pt"
                          if not settings.checkpoint else f"the checkpoint {settings.checkpoint} does not exist yet")
    ans = rag.generate(body.query, body.top_k, body.max_length, body.temperature, body.mode, body.filters, body.seed)
    return GenerateOut(answer=ans.answer, prompt_tokens=ans.prompt_tokens, note=ans.note,
                       sources=[SourceOut(**s.__dict__) for s in ans.sources])
