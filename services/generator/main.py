"""moredata-generator: the generator gRPC service.

    moredata-generator --checkpoint_dir=runs --data_dir=data/shakespeare_char --redis_url=redis://127.0.0.1:6379/0
    moredata-generator --help

Settings: `GENERATOR_<KEY>` environment variables, overridden by `--key=value` flags. Health reports
NOT_SERVING until a model is loaded and Redis answers (re-checked every second); SIGTERM stops it
gracefully (NOT_SERVING, in-flight RPCs finish within grace_s, the worker stops).
"""
from __future__ import annotations

import logging
import threading

from moredata.cli import exit_on_user_error
from moredata.errors import MoredataError, UserError
from moredata.rpc.proto import generator_pb2_grpc
from moredata.rpc.server import build_server
from moredata.settings import start_service
from services.generator.core import GeneratorCore
from services.generator.servicer import SERVICE_NAME, GeneratorServicer
from services.generator.settings import GeneratorSettings


def parse_settings(argv: list[str]) -> GeneratorSettings:
    return GeneratorSettings.from_flags(argv)


def serve(settings: GeneratorSettings, core: GeneratorCore | None = None, install_signals: bool = True):
    """Starts the server; returns (handle, core). The health monitor runs until the server stops."""
    core = core or GeneratorCore(settings)
    servicer = GeneratorServicer(core)
    handle = build_server([lambda s: generator_pb2_grpc.add_GeneratorServiceServicer_to_server(servicer, s)],
                          [SERVICE_NAME], address=settings.address,
                          max_message_bytes=int(settings.max_message_mb * 2**20), max_workers=settings.max_workers,
                          reserved_workers=settings.reserved_workers, idle_timeout_s=settings.idle_timeout_s)
    handle.start()

    def monitor():
        while not handle.stopped.wait(1.0 if core.ready() else 0.2):
            handle.set_serving(core.ready())

    handle.set_serving(core.ready())
    threading.Thread(target=monitor, name="health-monitor", daemon=True).start()
    if install_signals:
        handle.stop_on_signals(settings.grace_s, on_shutdown=core.close)
    return handle, core


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    settings = start_service(GeneratorSettings, __doc__, argv)
    if settings is None:  # --help
        return
    try:
        handle, core = serve(settings)
    except (FileNotFoundError, ValueError, MoredataError) as e:
        raise UserError(str(e)) from None
    logging.getLogger("generator").info("listening on %s (port %d), model version %d", settings.address,
                                        handle.port, core.model_version)
    handle.wait()


if __name__ == "__main__":
    main()
