"""The shared gRPC server builder, on a real server over loopback."""
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from services.common.grpc_server import Unavailable, build_server

SERVICE = "moredata.test.v1.Probe"


def _handlers():
    def fail(request, context):
        kind = request.decode()
        raise {"value": ValueError("n must be positive"), "missing": FileNotFoundError("no such model"),
               "down": Unavailable("redis is down"), "bug": ZeroDivisionError("oops")}[kind]

    def count(request, context):
        for i in range(int(request.decode())):
            yield str(i).encode()
        raise ValueError("stream ended badly")

    ident = (lambda b: b, lambda b: b)
    return grpc.method_handlers_generic_handler(SERVICE, {
        "Fail": grpc.unary_unary_rpc_method_handler(fail, *ident),
        "Count": grpc.unary_stream_rpc_method_handler(count, *ident),
    })


@pytest.fixture
def server():
    handle = build_server([lambda s: s.add_generic_rpc_handlers((_handlers(),))], [SERVICE],
                          address="127.0.0.1:0", max_message_bytes=1024)
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
