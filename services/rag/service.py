"""What the RAG app serves from: the store, the retriever and the answering model, loaded in the app's
lifespan (in a thread when asked, so /health answers meanwhile)."""
from __future__ import annotations

import threading
from pathlib import Path

from moredata.rag.embedders import load_embedder
from moredata.rag.retrieval import Retriever
from moredata.rag.store import DocStore
from services.rag.settings import RagSettings


class Service:
    """What the app serves from: loaded in the lifespan, in a thread, so /health can answer meanwhile."""

    def __init__(self, settings: RagSettings):
        self.s = settings
        self.store = self.retriever = self.rag = None
        self.error = ""
        self.ready = threading.Event()
        self._model_lock = threading.Lock()
        self._model_mtime = None

    def load(self) -> None:
        try:
            emb = load_embedder(self.s.embedder, self.s.hashing_dim, self.s.embed_batch_size)
            self.store = DocStore(self.s.store_dir, emb)
            self.retriever = Retriever(self.store, hnsw_threshold=self.s.hnsw_threshold)
            if self.store.count():
                self.retriever.search("warm up", k=1, mode="hybrid")  # builds the BM25 index
            self.ensure_model()
            self.ready.set()
        except Exception as e:  # noqa: BLE001 - reported by /health, the process stays up to say why
            self.error = f"{type(e).__name__}: {e}"

    def ensure_model(self):
        """The answering model, loaded when its checkpoint exists and reloaded when the file changes (a
        trainer writing a better best.pt); None while there is none."""
        if not self.s.checkpoint:
            return None
        path = Path(self.s.checkpoint)
        with self._model_lock:
            try:
                mtime = path.stat().st_mtime_ns
            except FileNotFoundError:
                return self.rag
            if self.rag is None or mtime != self._model_mtime:
                from moredata.rag.answer import RAGModel

                self.rag = RAGModel.from_checkpoint(self.store, path, self.s.device, self.retriever)
                self._model_mtime = mtime
            return self.rag

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
