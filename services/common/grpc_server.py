"""gRPC server plumbing shared by every service: health, reflection, error mapping, graceful shutdown.

    handle = build_server([lambda s: add_FooServicer_to_server(FooServicer(core), s)],
                          service_names=["moredata.foo.v1.FooService"], address="127.0.0.1:0")
    handle.start(); handle.set_serving(True)       # NOT_SERVING until the service says it is ready
    handle.stop_on_signals(on_shutdown=core.close)  # SIGTERM: NOT_SERVING, stop(grace), then flush

Handlers raise plain exceptions; `ErrorInterceptor` maps them to status codes in one place:
ValueError -> INVALID_ARGUMENT, FileNotFoundError/KeyError -> NOT_FOUND, PermissionError ->
PERMISSION_DENIED, Unavailable -> UNAVAILABLE, anything else -> INTERNAL (logged with its traceback).
"""
from __future__ import annotations

import logging
import signal
import threading
from concurrent import futures
from dataclasses import dataclass, field
from typing import Callable, Iterable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

log = logging.getLogger(__name__)


class Unavailable(Exception):
    """The service cannot answer right now (model not loaded, Redis down): the client may retry."""


_CODES: list[tuple[type[BaseException], grpc.StatusCode]] = [
    (ValueError, grpc.StatusCode.INVALID_ARGUMENT),
    (FileNotFoundError, grpc.StatusCode.NOT_FOUND),
    (KeyError, grpc.StatusCode.NOT_FOUND),
    (PermissionError, grpc.StatusCode.PERMISSION_DENIED),
    (Unavailable, grpc.StatusCode.UNAVAILABLE),
]


def status_for(exc: BaseException) -> grpc.StatusCode:
    for kind, code in _CODES:
        if isinstance(exc, kind):
            return code
    return grpc.StatusCode.INTERNAL


def _abort(context: grpc.ServicerContext, exc: BaseException, method: str):
    code = status_for(exc)
    if code == grpc.StatusCode.INTERNAL:
        log.exception("unhandled error in %s", method)
        context.abort(code, f"internal error in {method}")
    detail = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    context.abort(code, str(detail))


class ErrorInterceptor(grpc.ServerInterceptor):
    """Turns exceptions raised by handlers into status codes (see the module docstring)."""

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method

        def wrap_unary(fn):
            def inner(request, context):
                try:
                    return fn(request, context)
                except Exception as e:  # noqa: BLE001 - mapped to a status code
                    if isinstance(e, grpc.RpcError) or context.code() is not None:
                        raise
                    _abort(context, e, method)

            return inner

        def wrap_stream(fn):
            def inner(request, context):
                try:
                    yield from fn(request, context)
                except Exception as e:  # noqa: BLE001
                    if isinstance(e, grpc.RpcError) or context.code() is not None:
                        raise
                    _abort(context, e, method)

            return inner

        if handler.unary_unary:
            return handler._replace(unary_unary=wrap_unary(handler.unary_unary))
        if handler.stream_unary:
            return handler._replace(stream_unary=wrap_unary(handler.stream_unary))
        if handler.unary_stream:
            return handler._replace(unary_stream=wrap_stream(handler.unary_stream))
        return handler._replace(stream_stream=wrap_stream(handler.stream_stream))


@dataclass
class ServerHandle:
    server: grpc.Server
    health: health.HealthServicer
    service_names: list[str]
    port: int
    stopped: threading.Event = field(default_factory=threading.Event)

    def start(self) -> "ServerHandle":
        self.server.start()
        return self

    def set_serving(self, serving: bool) -> None:
        """Overall ("") and per-service health status."""
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ["", *self.service_names]:
            self.health.set(name, status)

    def stop(self, grace: float = 5.0, on_shutdown: Callable[[], None] | None = None) -> None:
        """NOT_SERVING first (load balancers drain), then finish in-flight RPCs within `grace`, then flush."""
        if self.stopped.is_set():
            return
        self.set_serving(False)
        self.server.stop(grace).wait()
        if on_shutdown is not None:
            on_shutdown()
        self.stopped.set()

    def stop_on_signals(self, grace: float = 5.0, on_shutdown: Callable[[], None] | None = None) -> None:
        """Installs SIGTERM/SIGINT handlers (main thread only) that stop the server gracefully."""

        def handler(signum, _frame):
            log.info("signal %s: shutting down (grace %.1fs)", signal.Signals(signum).name, grace)
            threading.Thread(target=self.stop, args=(grace, on_shutdown), daemon=True).start()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def wait(self) -> None:
        self.stopped.wait()


def build_server(
    add_servicers: Iterable[Callable[[grpc.Server], None]],
    service_names: list[str],
    address: str = "127.0.0.1:0",
    max_message_bytes: int = 64 * 1024 * 1024,
    max_workers: int = 16,
    interceptors: Iterable[grpc.ServerInterceptor] = (),
) -> ServerHandle:
    """A grpc.Server with health (NOT_SERVING until set_serving(True)), reflection and error mapping."""
    options = [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.so_reuseport", 0),  # a second server on a taken port must fail, not share it
    ]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers),
                         interceptors=[ErrorInterceptor(), *interceptors], options=options)
    for add in add_servicers:
        add(server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [*service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME]
    reflection.enable_server_reflection(names, server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"could not bind gRPC server to {address}")
    handle = ServerHandle(server, health_servicer, list(service_names), port)
    handle.set_serving(False)
    return handle
