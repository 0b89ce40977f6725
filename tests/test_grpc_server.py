"""The shared gRPC server builder, on a real server over loopback."""
import threading

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from moredata.errors import InvalidArgument, NotFound, Unavailable
from moredata.rpc.server import build_server

SERVICE = "moredata.test.v1.Probe"


def _handlers():
    def fail(request, context):
        kind = request.decode()
        raise {"value": InvalidArgument("n must be positive"), "missing": NotFound("no such model"),
               "down": Unavailable("redis is down"), "bug": ZeroDivisionError("oops"),
               "builtin_value": ValueError("a bug in a library"), "builtin_key": KeyError("block_size"),
               "builtin_missing": FileNotFoundError("/internal/path")}[kind]

    def count(request, context):
        for i in range(int(request.decode())):
            yield str(i).encode()
        raise InvalidArgument("stream ended badly")

    def hang(request, context):  # a stream waiting for something that never comes
        yield b"first"
        while context.is_active():
            context_event.wait(0.05)

    def upload(request_iterator, context):
        return b"%d" % sum(len(r) for r in request_iterator)

    ident = (lambda b: b, lambda b: b)
    return grpc.method_handlers_generic_handler(SERVICE, {
        "Fail": grpc.unary_unary_rpc_method_handler(fail, *ident),
        "Count": grpc.unary_stream_rpc_method_handler(count, *ident),
        "Hang": grpc.unary_stream_rpc_method_handler(hang, *ident),
        "Upload": grpc.stream_unary_rpc_method_handler(upload, *ident),
    })


context_event = threading.Event()


@pytest.fixture
def server():
    handle = build_server([lambda s: s.add_generic_rpc_handlers((_handlers(),))], [SERVICE],
                          address="127.0.0.1:0", max_message_bytes=1024, max_workers=8, reserved_workers=2,
                          idle_timeout_s=1.0)
    handle.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{handle.port}")
    yield handle, channel
    channel.close()
    handle.stop(grace=0.5)


def test_health_is_not_serving_until_ready(server):
    handle, channel = server
    stub = health_pb2_grpc.HealthStub(channel)
    check = lambda name: stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5).status  # noqa: E731
    assert check("") == health_pb2.HealthCheckResponse.NOT_SERVING
    handle.set_serving(True)
    assert check("") == check(SERVICE) == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_services(server):
    _, channel = server
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    resp = next(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
    names = {s.name for s in resp.list_services_response.service}
    assert {SERVICE, "grpc.health.v1.Health"} <= names


@pytest.mark.parametrize("kind, code, detail", [
    ("value", grpc.StatusCode.INVALID_ARGUMENT, "n must be positive"),
    ("missing", grpc.StatusCode.NOT_FOUND, "no such model"),
    ("down", grpc.StatusCode.UNAVAILABLE, "redis is down"),
    ("bug", grpc.StatusCode.INTERNAL, "internal error in /moredata.test.v1.Probe/Fail"),
    # a built-in ValueError/KeyError/FileNotFoundError is a bug somewhere, never blamed on the caller
    ("builtin_value", grpc.StatusCode.INTERNAL, "internal error in /moredata.test.v1.Probe/Fail"),
    ("builtin_key", grpc.StatusCode.INTERNAL, "internal error in /moredata.test.v1.Probe/Fail"),
    ("builtin_missing", grpc.StatusCode.INTERNAL, "internal error in /moredata.test.v1.Probe/Fail"),
])
def test_errors_map_to_status_codes(server, kind, code, detail):
    _, channel = server
    call = channel.unary_unary(f"/{SERVICE}/Fail")
    with pytest.raises(grpc.RpcError) as e:
        call(kind.encode(), timeout=5)
    assert e.value.code() == code and e.value.details() == detail


def test_stream_errors_and_message_limit(server):
    _, channel = server
    got = []
    with pytest.raises(grpc.RpcError) as e:
        for item in channel.unary_stream(f"/{SERVICE}/Count")(b"3", timeout=5):
            got.append(item)
    assert got == [b"0", b"1", b"2"] and e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        channel.unary_unary(f"/{SERVICE}/Fail")(b"x" * 4096, timeout=5)
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_graceful_stop_flips_health_and_runs_shutdown_hook(server):
    handle, _ = server
    handle.set_serving(True)
    flushed = []
    handle.stop(grace=0.5, on_shutdown=lambda: flushed.append(True))
    assert flushed == [True] and handle.stopped.is_set()
    assert handle.health._server_status[""] == health_pb2.HealthCheckResponse.NOT_SERVING


def _health_status(channel, timeout=5):
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout).status


def test_idle_streams_beyond_the_workers_never_starve_health(server):
    """16 idle streams on a server with 8 threads: 6 hold a thread each, the rest are refused at once
    (RESOURCE_EXHAUSTED), and health checks on the same channel and on others keep answering."""
    handle, channel = server
    handle.set_serving(True)
    calls, refused = [], 0
    for _ in range(16):
        call = channel.unary_stream(f"/{SERVICE}/Hang")(b"", timeout=60)
        try:
            assert next(call) == b"first"
            calls.append(call)
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "too many open streams" in e.details()
            refused += 1
    try:
        assert len(calls) == 6 and refused == 10
        for _ in range(5):
            assert _health_status(channel) == health_pb2.HealthCheckResponse.SERVING
        other = grpc.insecure_channel(f"127.0.0.1:{handle.port}")
        assert _health_status(other) == health_pb2.HealthCheckResponse.SERVING
        other.close()
    finally:
        for call in calls:
            call.cancel()
    # cancelled streams give their slots back
    assert next(channel.unary_stream(f"/{SERVICE}/Hang")(b"", timeout=10)) == b"first"


def test_a_stalled_request_stream_is_cancelled(server):
    """An upload that sends one message and stalls is cancelled after idle_timeout_s; its thread returns."""
    _, channel = server
    stall = threading.Event()

    def requests():
        yield b"x"
        stall.wait(30)

    with pytest.raises(grpc.RpcError) as e:
        channel.stream_unary(f"/{SERVICE}/Upload")(requests(), timeout=20)
    stall.set()
    assert e.value.code() == grpc.StatusCode.CANCELLED
    # a stream that keeps sending is not idle, however long it lasts in total
    assert channel.stream_unary(f"/{SERVICE}/Upload")(iter([b"ab"] * 50), timeout=20) == b"100"
