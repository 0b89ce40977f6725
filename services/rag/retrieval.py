"""Dense, BM25 and hybrid (reciprocal rank fusion) retrieval over a DocStore, with metadata filters.

    r = Retriever(store)
    hits = r.search("how do I resume training?", k=5, mode="hybrid", filters={"source": "README.md"})
    # [Hit(chunk_id, score, dense_rank, bm25_rank), ...] best first

Dense: exact inner product of unit vectors (cosine) over the store's in-memory matrix, one BLAS matvec.
BM25: `bm25s` (Lucene's BM25, k1=1.5, b=0.75) on Snowball-stemmed, stop-word-filtered tokens; its index
is rebuilt lazily, on the first query after the chunk set changed. Hybrid: reciprocal rank fusion,
score = sum over retrievers of 1 / (rrf_k + rank), over the top `fusion_depth` of each.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

MODES = ("dense", "bm25", "hybrid")


@dataclass
class Hit:
    chunk_id: int
    score: float
    dense_rank: int | None = None  # 1-based rank in each retriever's list, when it was there
    bm25_rank: int | None = None


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, best first (argpartition, then a sort of k)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


class Retriever:
    def __init__(self, store, rrf_k: int = 60, fusion_depth: int = 100, stemmer: str = "english"):
        self.store = store
        self.rrf_k = rrf_k
        self.fusion_depth = fusion_depth
        self.stemmer_name = stemmer
        self._bm25 = None  # (version, bm25s index, chunk ids in index order)
        self._bm25_lock = threading.Lock()

    # --- BM25 -------------------------------------------------------------------------------------
    def _stemmer(self):
        import Stemmer

        return Stemmer.Stemmer(self.stemmer_name)

    def _bm25_index(self):
        version = self.store.snapshot()[2]
        with self._bm25_lock:
            if self._bm25 is None or self._bm25[0] != version:
                import bm25s

                ids, texts = self.store.all_chunk_texts()
                index = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
                if texts:
                    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer(), show_progress=False)
                    index.index(tokens, show_progress=False)
                self._bm25 = (version, index, ids, {int(c): i for i, c in enumerate(ids)})
            return self._bm25

    def bm25_scores(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, BM25 score of each) over the whole store."""
        import bm25s

        _, index, ids, _ = self._bm25_index()
        if len(ids) == 0:
            return ids, np.zeros(0, dtype=np.float32)
        q = bm25s.tokenize([query], stopwords="en", stemmer=self._stemmer(), show_progress=False,
                           return_ids=False)[0]
        vocab = index.vocab_dict
        known = [t for t in q if t in vocab]
        if not known:
            return ids, np.zeros(len(ids), dtype=np.float32)
        return ids, np.asarray(index.get_scores(known), dtype=np.float32)

    # --- search -----------------------------------------------------------------------------------
    def allowed(self, filters: dict | None) -> np.ndarray | None:
        """Chunk ids whose document metadata equals every filter value; None for no filter."""
        return None if not filters else self.store.chunk_ids_where(filters)

    def search(self, query: str, k: int = 5, mode: str = "hybrid", filters: dict | None = None,
               query_vector: np.ndarray | None = None) -> list[Hit]:
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
        if not query.strip():
            raise ValueError("query is empty")
        allowed = self.allowed(filters)
        depth = max(k, self.fusion_depth) if mode == "hybrid" else k
        dense = bm25 = None
        if mode in ("dense", "hybrid"):
            ids, vecs, _ = self.store.snapshot()
            qv = query_vector if query_vector is not None else self.store.embedder.embed([query])[0]
            scores = vecs @ qv  # (N,) cosine
            if allowed is not None:
                scores = np.where(np.isin(ids, allowed), scores, -np.inf)
            top = _top(scores, depth)
            top = top[np.isfinite(scores[top])]
            dense = [(int(ids[i]), float(scores[i])) for i in top]
        if mode in ("bm25", "hybrid"):
            ids, scores = self.bm25_scores(query)
            if allowed is not None:
                scores = np.where(np.isin(ids, allowed), scores, -np.inf)
            top = _top(scores, depth)
            top = top[scores[top] > 0]  # no shared term: not a lexical match
            bm25 = [(int(ids[i]), float(scores[i])) for i in top]
        if mode == "dense":
            return [Hit(c, s, dense_rank=r + 1) for r, (c, s) in enumerate(dense)]
        if mode == "bm25":
            return [Hit(c, s, bm25_rank=r + 1) for r, (c, s) in enumerate(bm25)]
        fused: dict[int, Hit] = {}
        for name, ranked in (("dense", dense), ("bm25", bm25)):
            for r, (c, _) in enumerate(ranked):
                h = fused.setdefault(c, Hit(c, 0.0))
                h.score += 1.0 / (self.rrf_k + r + 1)
                setattr(h, f"{name}_rank", r + 1)
        return sorted(fused.values(), key=lambda h: -h.score)[:k]
