"""RAG service settings: one pydantic-settings class, `RAG_<KEY>` env vars, `--key=value` flags."""
from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator

from moredata.settings import ServiceSettings, service_config


def default_store_dir() -> str:
    """The user's data folder ($XDG_DATA_HOME/moredata/rag_store, ~/.local/share/... by default): never
    the current directory, so running the service from a checkout does not write into the repository."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "moredata" / "rag_store")


class RagSettings(ServiceSettings):
    model_config = service_config("RAG_")

    host: str = Field("127.0.0.1", description="address the HTTP server listens on")
    port: int = Field(8000, ge=0, le=65535, description="HTTP port")
    store_dir: str = Field(default_store_dir(), description="folder of the document store (SQLite + vector "
                           "segments); default: the user's data folder")
    embedder: str = Field("auto", description="'auto' (MiniLM when installed, else hashing), 'minilm', 'hashing', "
                          "or 'encoder:PATH' (the project's own encoder: an extracted model or a checkpoint)")
    hashing_dim: int = Field(1024, ge=8, description="dimensions of the hashing embedder")
    embed_batch_size: int = Field(32, ge=1, description="chunks per embedding batch")
    checkpoint: str = Field("", description="GPT checkpoint that answers POST /generate, loaded once it "
                            "exists and reloaded when the file changes; empty: generation answers 503")
    device: str = Field("cpu", description="device of the answering model: 'cpu', 'cuda', 'cuda:N'")
    hnsw_threshold: int = Field(50_000, ge=0, description="chunks from which dense search uses a FAISS HNSW "
                                "graph instead of the exact scan; 0: always exact")
    api_token: str = Field("", description="bearer token every route but /health requires (reads too, "
                           "unless open_reads); empty: no token")
    open_reads: bool = Field(False, description="with a token: leave reads (GET, /query, /generate, /docs) open "
                             "and protect only writes")
    # the embedding budget of one ingest request: MiniLM on 2 CPU cores embeds ~70 one-word or ~20
    # 200-character chunks a second, so the defaults bound a request to about a minute there
    max_chunks_per_request: int = Field(1_000, ge=1, description="most chunks one ingest request may make "
                                        "(each is embedded); more: 413 before anything is embedded")
    max_embed_chars_per_request: int = Field(400_000, ge=1, description="most characters one ingest request's "
                                             "chunks may hold, overlap counted again; more: 413 before embedding")
    max_body_mb: float = Field(10.0, gt=0, description="largest request body; larger ones get 413")
    max_top_k: int = Field(100, ge=1, description="largest top_k a query may ask")
    max_new_tokens: int = Field(1024, ge=1, description="largest max_length POST /generate accepts")

    @field_validator("embedder")
    @classmethod
    def _known_embedder(cls, name: str) -> str:
        # checked at start: an unknown name used to show only as /health 503 once the server was up
        from moredata.rag.embedders import check_embedder_name  # the names load_embedder knows; loads nothing

        return check_embedder_name(name)
