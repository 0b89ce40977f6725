"""The one place where errors become HTTP answers: the project's error types (moredata.errors) carry their
status; a validation error keeps FastAPI's 422 shape. Anything else is a bug: FastAPI logs it, answers 500."""
from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from moredata.errors import MoredataError


def unprocessable(loc: tuple, msg: str) -> RequestValidationError:
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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        """422 as FastAPI shapes it, with each offending input kept only when JSON can carry it (a NaN
        or a lone surrogate in the input made FastAPI's own handler fail with a 500)."""
        return JSONResponse(status_code=422, content={"detail": [_safe_error(e) for e in exc.errors()]})

    @app.exception_handler(MoredataError)
    async def caller_error(request: Request, exc: MoredataError):
        """The project's errors carry their status (InvalidArgument 400, NotFound 404, Unavailable 503...)."""
        return JSONResponse(status_code=exc.http_status, content={"detail": str(exc)})
