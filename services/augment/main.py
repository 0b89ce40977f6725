"""moredata-augment: the augment gRPC service, one server for every data domain: pointer-aware augmentation
of audio-edit samples (AugmentService), lambda-calculus reduction traces (LambdaTraceService) and code
instruction data (CodeDataService).

    moredata-augment --address=127.0.0.1:50052 --config=augment.json
    moredata-augment --help

Settings: `AUGMENT_<KEY>` environment variables, overridden by `--key=value` flags. Health reports
SERVING once the default config is loaded; SIGTERM stops it gracefully (NOT_SERVING, in-flight RPCs
finish within grace_s).
"""
from __future__ import annotations

import logging

from moredata.cli import exit_on_user_error
from moredata.errors import UserError
from moredata.rpc.proto import augment_pb2_grpc, code_data_pb2_grpc, lambda_traces_pb2_grpc
from moredata.rpc.server import ServerHandle, build_server
from moredata.settings import start_service
from services.augment.code_servicer import SERVICE_NAME as CODE_SERVICE_NAME
from services.augment.code_servicer import CodeDataServicer
from services.augment.lambda_servicer import SERVICE_NAME as LAMBDA_SERVICE_NAME
from services.augment.lambda_servicer import LambdaTraceServicer
from services.augment.pointer_servicer import SERVICE_NAME, AugmentServicer
from services.augment.settings import AugmentSettings


def serve(settings: AugmentSettings, install_signals: bool = True) -> ServerHandle:
    """Starts the server, SERVING at once (the service needs nothing but its config)."""
    servicer = AugmentServicer(settings)
    traces = LambdaTraceServicer(settings.max_lambda_count)
    code = CodeDataServicer(settings.max_code_files, int(settings.max_code_file_mb * 2**20))
    # one server, one servicer per data domain
    handle = build_server([lambda s: augment_pb2_grpc.add_AugmentServiceServicer_to_server(servicer, s),
                           lambda s: lambda_traces_pb2_grpc.add_LambdaTraceServiceServicer_to_server(traces, s),
                           lambda s: code_data_pb2_grpc.add_CodeDataServiceServicer_to_server(code, s)],
                          [SERVICE_NAME, LAMBDA_SERVICE_NAME, CODE_SERVICE_NAME], address=settings.address,
                          max_message_bytes=int(settings.max_message_mb * 2**20), max_workers=settings.max_workers,
                          reserved_workers=settings.reserved_workers, idle_timeout_s=settings.idle_timeout_s)
    handle.servicer = servicer  # for tests and embedding code: the cache and settings it runs with
    handle.traces = traces
    handle.start()
    handle.set_serving(True)
    if install_signals:
        handle.stop_on_signals(settings.grace_s)
    return handle


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    settings = start_service(AugmentSettings, __doc__, argv)
    if settings is None:  # --help
        return
    try:
        handle = serve(settings)
    except (FileNotFoundError, ValueError, OSError) as e:
        raise UserError(str(e)) from None
    logging.getLogger("augment").info("listening on %s (port %d)", settings.address, handle.port)
    handle.wait()


if __name__ == "__main__":
    main()
