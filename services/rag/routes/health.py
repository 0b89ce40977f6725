"""GET /health: 200 only once the store, index and embedder are loaded (503 with the reason until then)."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.rag.deps import AnyService

router = APIRouter(tags=["health"])


@router.get("/health")
def health(service: AnyService):
    if not service.ready.is_set():
        return JSONResponse(status_code=503, content={"status": "error" if service.error else "loading",
                                                      "detail": service.error})
    return {"status": "ready", "chunks": service.store.count(), "embedder": service.store.embedder.name,
            "generation": service.ensure_model() is not None}
