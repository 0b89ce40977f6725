"""gRPC server plumbing shared by every service: health, reflection, error mapping, stream limits,
graceful shutdown.

    handle = build_server([lambda s: add_FooServicer_to_server(FooServicer(core), s)],
                          service_names=["moredata.foo.v1.FooService"], address="127.0.0.1:0")
    handle.start(); handle.set_serving(True)       # NOT_SERVING until the service says it is ready
    handle.stop_on_signals(on_shutdown=core.close)  # SIGTERM: NOT_SERVING, stop(grace), then flush

Handlers raise the project's error types (`moredata.errors`); `ErrorInterceptor` maps them to
their status codes in one place and answers anything else INTERNAL, logged once with its traceback.

Health and status must always answer, whatever the clients do. The sync server runs each RPC on a
thread of one pool, and a streaming RPC holds its thread for as long as it is open, so:
- at most `max_streams` streaming RPCs run at once (`max_workers - max_streams` threads stay free for
  unary calls such as health checks and GetStatus); one more gets RESOURCE_EXHAUSTED at once;
- a request stream that sends nothing for `idle_timeout_s` while the handler waits for it is cancelled
  (CANCELLED on the client), so a stalled upload cannot hold its thread forever;
- a response that cannot be sent for `idle_timeout_s` (a client that stopped reading: HTTP/2 flow
  control blocks the send once its window is full) cancels its stream the same way.
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from concurrent import futures
from dataclasses import dataclass, field
from typing import Callable, Iterable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from moredata.errors import MoredataError, ResourceExhausted, Unavailable

__all__ = ["ErrorInterceptor", "ServerHandle", "Unavailable", "build_server", "status_for"]

log = logging.getLogger(__name__)


def status_for(exc: BaseException) -> grpc.StatusCode:
    """The project's error types carry their code; anything else is a bug (INTERNAL)."""
    if isinstance(exc, MoredataError):
        return grpc.StatusCode[exc.code]
    return grpc.StatusCode.INTERNAL


def _abort(context: grpc.ServicerContext, exc: BaseException, method: str):
    code = status_for(exc)
    if code == grpc.StatusCode.INTERNAL:
        log.error("unhandled error in %s", method, exc_info=exc)
        context.abort(code, f"internal error in {method}")
    context.abort(code, str(exc))


class _IdleWatchdog:
    """One thread for the whole server: cancels request streams that stay silent past their deadline.
    `arm` before a blocking read of the next request, `disarm` once it returned (a dict update each)."""

    def __init__(self):
        self._deadlines: dict[int, tuple[float, grpc.ServicerContext]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def arm(self, key, timeout: float, context: grpc.ServicerContext, what: str = "a request stream idle") -> None:
        with self._lock:
            self._deadlines[key] = (time.monotonic() + timeout, context, what)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="grpc-idle-watchdog", daemon=True)
                self._thread.start()

    def disarm(self, key) -> None:
        with self._lock:
            self._deadlines.pop(key, None)

    def _run(self) -> None:
        while True:
            time.sleep(0.2)
            now = time.monotonic()
            with self._lock:
                expired = [(k, c, w) for k, (d, c, w) in self._deadlines.items() if d <= now]
                for k, _, _ in expired:
                    del self._deadlines[k]
            for _, context, what in expired:
                log.warning("cancelling %s past its timeout", what)
                context.cancel()


class _StreamSlots:
    """Counts open streaming RPCs; `try_take` refuses beyond the limit instead of queueing."""

    def __init__(self, limit: int):
        self.limit = limit
        self._open = 0
        self._lock = threading.Lock()

    def try_take(self) -> bool:
        with self._lock:
            if self._open >= self.limit:
                return False
            self._open += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self._open -= 1

    def hold(self, context: grpc.ServicerContext) -> Callable[[], None]:
        """Takes a slot (ResourceExhausted when none is left) and returns its one-shot release, also
        called by grpc when the RPC ends however it ends (cancelled, deadline, client gone)."""
        if not self.try_take():
            raise ResourceExhausted(f"too many open streams (limit {self.limit}); retry later")
        released = threading.Event()

        def release():
            if not released.is_set():
                released.set()
                self.give_back()

        context.add_callback(release)
        return release


class ErrorInterceptor(grpc.ServerInterceptor):
    """Maps raised errors to status codes (see the module docstring); with `max_streams`, limits open
    streaming RPCs, and with `idle_timeout_s`, cancels request streams that stall."""

    def __init__(self, max_streams: int | None = None, idle_timeout_s: float | None = None):
        self.slots = _StreamSlots(max_streams) if max_streams else None
        self.idle_timeout_s = idle_timeout_s
        self._watchdog = _IdleWatchdog()

    def _watched(self, request_iterator, context):
        """The request stream, with the idle deadline armed only while the handler waits for a message."""
        if not self.idle_timeout_s:
            yield from request_iterator
            return
        key = id(context)
        it = iter(request_iterator)
        try:
            while True:
                self._watchdog.arm(key, self.idle_timeout_s, context)
                try:
                    request = next(it)
                except StopIteration:
                    return
                finally:
                    self._watchdog.disarm(key)
                yield request
        finally:
            self._watchdog.disarm(key)

    def _sent_in_time(self, responses, context):
        """The response stream, with the idle deadline armed while a response waits to be sent: the server
        thread sends what this yields and resumes it only once the send completed, which it never does
        for a client that stopped reading."""
        if not self.idle_timeout_s:
            yield from responses
            return
        key = ("send", id(context))
        try:
            for response in responses:
                self._watchdog.arm(key, self.idle_timeout_s, context, "a response stream whose client stopped reading")
                yield response
                self._watchdog.disarm(key)
        finally:
            self._watchdog.disarm(key)
            close = getattr(responses, "close", None)
            if close is not None:  # the handler's own `finally` runs now, as `yield from` would make it
                close()

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        streaming = handler.request_streaming or handler.response_streaming
        slots = self.slots if streaming else None

        def failed(e: Exception, context) -> None:
            if isinstance(e, grpc.RpcError) or context.code() is not None:
                raise e
            _abort(context, e, method)

        def wrap_unary(fn, request_streaming: bool):
            def inner(request, context):
                release = None
                try:
                    release = slots.hold(context) if slots else None
                    if request_streaming:
                        request = self._watched(request, context)
                    return fn(request, context)
                except Exception as e:  # noqa: BLE001 - mapped to a status code
                    failed(e, context)
                finally:
                    if release:
                        release()

            return inner

        def wrap_stream(fn, request_streaming: bool):
            def inner(request, context):
                release = None
                try:
                    release = slots.hold(context) if slots else None
                    if request_streaming:
                        request = self._watched(request, context)
                    yield from self._sent_in_time(fn(request, context), context)
                except Exception as e:  # noqa: BLE001
                    failed(e, context)
                finally:
                    if release:
                        release()

            return inner

        if handler.unary_unary:
            return handler._replace(unary_unary=wrap_unary(handler.unary_unary, False))
        if handler.stream_unary:
            return handler._replace(stream_unary=wrap_unary(handler.stream_unary, True))
        if handler.unary_stream:
            return handler._replace(unary_stream=wrap_stream(handler.unary_stream, False))
        return handler._replace(stream_stream=wrap_stream(handler.stream_stream, True))


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
    reserved_workers: int = 4,
    idle_timeout_s: float | None = 30.0,
) -> ServerHandle:
    """A grpc.Server with health (NOT_SERVING until set_serving(True)), reflection and error mapping.

    `reserved_workers` of the `max_workers` threads never serve a streaming RPC, so unary calls (health,
    status) always find one; `idle_timeout_s` bounds how long a request stream may stay silent."""
    if not 1 <= reserved_workers < max_workers:
        raise ValueError(f"reserved_workers must be in [1, {max_workers - 1}], got {reserved_workers}")
    options = [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.so_reuseport", 0),  # a second server on a taken port must fail, not share it
    ]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers),
                         interceptors=[ErrorInterceptor(max_workers - reserved_workers, idle_timeout_s), *interceptors], options=options)
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
