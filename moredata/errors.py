"""The project's error types: each says what it means for the caller, so one gRPC interceptor and one
FastAPI handler can turn it into a status code with the reason (see DESIGN.md, "Errors").

    raise InvalidArgument("batch_size must be in [1, 4096], got 0")   # -> INVALID_ARGUMENT / 400
    raise Unavailable("Redis is not reachable")                         # -> UNAVAILABLE / 503

Anything else that escapes a handler is a bug: logged once with its traceback, answered INTERNAL / 500
without one. Built-in ValueError/KeyError are never taken as the caller's fault. `InvalidArgument` is
also a ValueError and `NotFound` a LookupError, so code that uses the libraries directly (not through
a service) can keep catching the built-in kinds.
"""
from __future__ import annotations


class MoredataError(Exception):
    """Base: `code` is the gRPC status name, `http_status` the HTTP status the caller gets."""

    code = "INTERNAL"
    http_status = 500


class InvalidArgument(MoredataError, ValueError):
    """The request itself is wrong (bad value, bad file, does not fit the served data)."""

    code, http_status = "INVALID_ARGUMENT", 400


class UserError(InvalidArgument):
    """A mistake in what the user asked for on a command line or in a config (bad flag, bad file): a CLI
    reports it as one line and exit code 2 (moredata.cli.exit_on_user_error); through a service or the
    Python API it is an InvalidArgument like any other."""


class TooLarge(InvalidArgument):
    """The request asks for more work than its documented budget (chunks to embed, characters): 413 over
    HTTP with the budget named, INVALID_ARGUMENT over gRPC. Nothing was done."""

    http_status = 413


class NotFound(MoredataError, LookupError):
    code, http_status = "NOT_FOUND", 404


class FailedPrecondition(MoredataError):
    """The request is fine but the system is not in a state to run it (e.g. a ring held by other replicas)."""

    code, http_status = "FAILED_PRECONDITION", 409


class ResourceExhausted(MoredataError):
    """A limit was reached (too many open streams, a memory bound): retry later or ask for less."""

    code, http_status = "RESOURCE_EXHAUSTED", 429


class PermissionDenied(MoredataError, PermissionError):
    code, http_status = "PERMISSION_DENIED", 403


class Unavailable(MoredataError):
    """The service cannot answer right now (model not loaded, Redis down): the client may retry."""

    code, http_status = "UNAVAILABLE", 503


class Cancelled(MoredataError):
    """The caller went away before the work was done; what it asked for was not committed. Nobody reads
    the answer (499 is nginx's "client closed request")."""

    code, http_status = "CANCELLED", 499


class DeadlineExceeded(MoredataError):
    code, http_status = "DEADLINE_EXCEEDED", 504
