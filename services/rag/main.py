"""moredata-rag: the RAG HTTP service (FastAPI under uvicorn; OpenAPI docs at /docs).

    moredata-rag                                     # 127.0.0.1:8000, store in ~/.local/share/moredata/rag_store
    moredata-rag --store_dir=rag_store --checkpoint=runs/shakespeare_char_cpu/best.pt --api_token=secret
    moredata-rag --help

Settings: `RAG_<KEY>` environment variables, overridden by `--key=value` flags. /health answers 503
until the store, the BM25 index and the embedder are loaded (MiniLM takes a few seconds).
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

from moredata.cli import exit_on_user_error
from moredata.settings import start_service
from services.rag.settings import RagSettings


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    settings = start_service(RagSettings, __doc__, argv)
    if settings is None:  # --help
        return
    if settings.checkpoint and not Path(settings.checkpoint).expanduser().is_file():
        # not refused: the compose stack points it at the trainer's best.pt, which appears later (and is
        # loaded then); but said at once, so a typo is seen before /generate answers 503
        logging.getLogger("rag").warning("checkpoint %s does not exist yet: /generate answers 503 until it does "
                                         "(it is loaded once it appears)", settings.checkpoint)
    import signal

    import uvicorn

    from services.rag.app import create_app

    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to whatever handler was
    # there before it; this one turns that into a clean exit 0, as the gRPC services do
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sys.exit(0))
    uvicorn.run(create_app(settings, load_in_background=True), host=settings.host, port=settings.port,
                log_level="info", timeout_graceful_shutdown=10)


if __name__ == "__main__":
    main()
