"""moredata-healthcheck: exit 0 when a gRPC service answers its health check, 1 otherwise.

    moredata-healthcheck 127.0.0.1:50051                 # SERVING required
    moredata-healthcheck 127.0.0.1:50051 --alive         # any answer will do (NOT_SERVING included)

For container healthchecks: the generator is alive but NOT_SERVING until the trainer's first checkpoint
reaches it, so compose waits for `--alive` before starting the trainer (which falls back to natural
rows meanwhile), while tests and load balancers ask for SERVING.
"""
from __future__ import annotations

import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from moredata.cli import CliParser, exit_on_user_error


def check(address: str, service: str = "", timeout: float = 3.0) -> int | None:
    """The health status (health_pb2.HealthCheckResponse.SERVING, ...), or None when nothing answers."""
    with grpc.insecure_channel(address) as channel:
        try:
            resp = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service),
                                                             timeout=timeout)
        except grpc.RpcError:
            return None
    return resp.status


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    ap = CliParser(prog="moredata-healthcheck", description=__doc__.split("\n\n")[0])
    ap.add_argument("address", help="host:port")
    ap.add_argument("--service", default="", help="service name to ask about (default: the whole server)")
    ap.add_argument("--alive", action="store_true", help="succeed on any answer, SERVING or not")
    ap.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for the answer (default 3)")
    args = ap.parse_args(argv)
    status = check(args.address, args.service, args.timeout)
    name = "no answer" if status is None else health_pb2.HealthCheckResponse.ServingStatus.Name(status)
    print(f"{args.address}: {name}")
    ok = status is not None and (args.alive or status == health_pb2.HealthCheckResponse.SERVING)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
