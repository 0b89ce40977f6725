"""The RAG HTTP API (FastAPI; OpenAPI docs at /docs): the app factory.

    moredata-rag --store_dir=rag_store --checkpoint=runs/shakespeare_char_cpu/best.pt

POST /documents (JSON: one or more texts), POST /documents/upload (files), GET and DELETE
/documents/{doc_id}, POST /query, POST /generate, GET /health (200 only once the store, index and
embedder are loaded). Bad input is a 4xx with the reason in `detail`; bodies over max_body_mb are 413;
with api_token set, write endpoints need `Authorization: Bearer <token>`.

The pieces: schemas.py (bodies), deps.py (dependencies), routes/ (one router per resource), errors.py
(the one error handler), middleware.py (body limit, token), service.py (what is served from).
"""
from __future__ import annotations

import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.rag.errors import install_error_handlers
from services.rag.middleware import AllowedMethods, BodyLimit, TokenGuard
from services.rag.routes import answers, documents, health
from services.rag.service import Service
from services.rag.settings import RagSettings


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
    install_error_handlers(app)
    for module in (health, documents, answers):
        app.include_router(module.router)
    app.add_middleware(AllowedMethods, routes=app.router.routes)
    app.add_middleware(BodyLimit, limit=int(settings.max_body_mb * 2**20))
    app.openapi = lambda: _openapi_with_settings(app, settings)
    if settings.api_token:
        app.add_middleware(TokenGuard, token=settings.api_token, open_reads=settings.open_reads)
    return app


def _openapi_with_settings(app: FastAPI, settings: RagSettings) -> dict:
    """The OpenAPI document with the bounds this service's settings enforce (top_k <= max_top_k,
    max_length <= max_new_tokens) declared, so the schema says what a request may be."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        bodies = schema.get("components", {}).get("schemas", {})
        for name in ("QueryIn", "GenerateIn"):
            if "top_k" in bodies.get(name, {}).get("properties", {}):
                bodies[name]["properties"]["top_k"]["maximum"] = settings.max_top_k
        if "max_length" in bodies.get("GenerateIn", {}).get("properties", {}):
            bodies["GenerateIn"]["properties"]["max_length"]["maximum"] = settings.max_new_tokens
        app.openapi_schema = schema
    return app.openapi_schema
