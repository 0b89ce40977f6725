"""ASGI middleware of the RAG app: the body-size limit (413 before the body is read), the bearer-token guard
and OPTIONS answered with every method the path takes."""
from __future__ import annotations

import json
import secrets

from starlette.routing import Match


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


class TokenGuard:
    """ASGI middleware: with a token set, every route but /health needs `Authorization: Bearer <token>`;
    with open_reads, reads (GET, /query, /generate, the OpenAPI docs) are open and writes still need it."""

    READS = ("/query", "/generate")

    def __init__(self, app, token: str, open_reads: bool = False):
        self.app, self.expected, self.open_reads = app, token.encode("utf-8"), open_reads

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] == "/health":
            return await self.app(scope, receive, send)
        if self.open_reads and (scope["method"] in ("GET", "HEAD") or scope["path"] in self.READS):
            return await self.app(scope, receive, send)
        given = dict(scope.get("headers") or []).get(b"authorization", b"")
        # RFC 7235: the scheme is case-insensitive (`bearer x` is `Bearer x`), then one or more spaces
        scheme, _, credentials = given.partition(b" ")
        if scheme.lower() == b"bearer" and secrets.compare_digest(credentials.lstrip(b" "), self.expected):
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


class AllowedMethods:
    """ASGI middleware: OPTIONS answers 204 with `Allow` listing every method of every route matching the
    path. The router alone answers from the first route that matches (`GET` for /documents/{id}, which
    also takes DELETE), so a client reading Allow was told less than the API does."""

    METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")

    def __init__(self, app, routes):
        self.app, self.routes = app, routes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "OPTIONS":
            return await self.app(scope, receive, send)
        # asked of the routes method by method (included routers answer for their own routes): a FULL
        # match for a method means some route takes it at this path
        methods = {m for m in self.METHODS
                   if any(r.matches({**scope, "method": m})[0] == Match.FULL for r in self.routes)}
        if not methods:
            return await self.app(scope, receive, send)
        allow = ", ".join(sorted(methods | {"OPTIONS"}))
        await send({"type": "http.response.start", "status": 204, "headers": [(b"allow", allow.encode())]})
        await send({"type": "http.response.body", "body": b""})
