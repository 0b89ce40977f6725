"""The RAG routes' dependencies, as `Annotated` aliases: a route that takes `svc: ReadyService` answers 503
while the store is loading (its settings: `svc.s`); `BEARER` documents the token."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from moredata.errors import Unavailable
from services.rag.service import Service

# documents the bearer scheme of the write routes in the OpenAPI schema; the check itself is TokenGuard's
# (one place for every route), so this dependency never refuses anything
BEARER = HTTPBearer(auto_error=False)
WRITE = [Depends(BEARER)]


def get_service(request: Request) -> Service:
    return request.app.state.service


def ready_service(request: Request) -> Service:
    service = get_service(request)
    if not service.ready.is_set():
        raise Unavailable(service.error or "loading the store and the embedder")
    return service


ReadyService = Annotated[Service, Depends(ready_service)]
AnyService = Annotated[Service, Depends(get_service)]
