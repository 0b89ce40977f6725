"""Dense, BM25 and hybrid (reciprocal rank fusion) retrieval over a DocStore, with metadata filters.

    r = Retriever(store)
    hits = r.search("how do I resume training?", k=5, mode="hybrid", filters={"source": "README.md"})
    # [Hit(chunk_id, score, dense_rank, bm25_rank), ...] best first

Dense: exact inner product of unit vectors (cosine) over the store's in-memory matrix (one BLAS matvec)
below `hnsw_threshold` chunks; at and above it, a FAISS HNSW graph (M 32, efSearch >= 128), grown in
place when chunks are only added, rebuilt in a background thread after deletions or replacements (the
exact search answers meanwhile, so no query waits for a build). Filtered queries search the filtered
subset exactly.
BM25: `bm25s` (Lucene's BM25, k1=1.5, b=0.75) on Snowball-stemmed, stop-word-filtered tokens; its index
is rebuilt lazily, on the first query after the chunk set changed. Hybrid: reciprocal rank fusion,
score = sum over retrievers of 1 / (rrf_k + rank), over the top `fusion_depth` of each.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from moredata.errors import InvalidArgument

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
    def __init__(self, store, rrf_k: int = 60, fusion_depth: int = 100, stemmer: str = "english",
                 hnsw_threshold: int = 50_000, hnsw_m: int = 32, hnsw_ef_search: int = 128):
        self.store = store
        self.hnsw_threshold = hnsw_threshold  # 0: always exact
        self.hnsw_m, self.hnsw_ef_search = hnsw_m, hnsw_ef_search
        self._hnsw = None  # (version, faiss index, chunk ids in index order)
        self._hnsw_lock = threading.Lock()  # faiss indexes are not safe to search while they grow
        self._hnsw_building = False
        self.rrf_k = rrf_k
        self.fusion_depth = fusion_depth
        self.stemmer_name = stemmer
        self._bm25 = None  # (version, bm25s index, chunk ids in index order)
        self._bm25_lock = threading.Lock()

    # --- BM25 -------------------------------------------------------------------------------------
    def _stemmer(self):
        """A fresh stemmer per call: PyStemmer objects must not be shared between threads, and queries
        arrive on several."""
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
                    # chunks with no word of two or more characters ("?") leave no vocabulary: bm25s
                    # cannot index that (max() of nothing), and every chunk scores 0 anyway
                    index = index if tokens.vocab else None
                    if index is not None:
                        index.index(tokens, show_progress=False)
                self._bm25 = (version, index, ids)
            return self._bm25

    def bm25_scores(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, BM25 score of each) over the whole store."""
        import bm25s

        _, index, ids = self._bm25_index()
        if len(ids) == 0 or index is None:
            return ids, np.zeros(len(ids), dtype=np.float32)
        q = bm25s.tokenize([query], stopwords="en", stemmer=self._stemmer(), show_progress=False,
                           return_ids=False)[0]
        vocab = index.vocab_dict
        known = [t for t in q if t in vocab]
        if not known:
            return ids, np.zeros(len(ids), dtype=np.float32)
        return ids, np.asarray(index.get_scores(known), dtype=np.float32)

    # --- HNSW -------------------------------------------------------------------------------------
    def _build_hnsw(self, ids: np.ndarray, vecs: np.ndarray, version: int) -> None:
        import faiss

        index = faiss.IndexHNSWFlat(vecs.shape[1], self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 40
        index.add(vecs)
        with self._hnsw_lock:
            if self._hnsw is None or self._hnsw[0] < version:
                self._hnsw = (version, index, ids)
            self._hnsw_building = False

    def dense_index(self, ids: np.ndarray, vecs: np.ndarray, version: int, block: bool = False):
        """The HNSW state for this snapshot, or None when exact search should answer (small store, or a
        rebuild under way). block=True builds in this thread (benchmarks and tests)."""
        if self.hnsw_threshold <= 0 or len(ids) < self.hnsw_threshold:
            return None
        with self._hnsw_lock:
            st = self._hnsw
            if st is not None and st[0] == version:
                return st
            n = 0 if st is None else len(st[2])
            if st is not None and len(ids) >= n and np.array_equal(ids[:n], st[2]):
                st[1].add(vecs[n:])  # only additions since: grow the graph in place
                self._hnsw = st = (version, st[1], ids)
                return st
            if self._hnsw_building and not block:
                return None
            self._hnsw_building = True
        if block:
            self._build_hnsw(ids, vecs, version)
            return self._hnsw
        threading.Thread(target=self._build_hnsw, args=(ids, vecs, version), name="hnsw-build", daemon=True).start()
        return None

    def _dense(self, qv: np.ndarray, depth: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        ids, vecs, version = self.store.snapshot()
        st = None if allowed is not None else self.dense_index(ids, vecs, version)
        if st is not None:
            with self._hnsw_lock:
                st[1].hnsw.efSearch = max(self.hnsw_ef_search, depth)
                scores, rows = st[1].search(qv[None, :].astype(np.float32), depth)
            return [(int(st[2][r]), float(sc)) for r, sc in zip(rows[0], scores[0]) if r >= 0]
        scores = vecs @ qv  # (N,) cosine
        if allowed is not None:
            scores = np.where(np.isin(ids, allowed), scores, -np.inf)
        top = _top(scores, depth)
        top = top[np.isfinite(scores[top])]
        return [(int(ids[i]), float(scores[i])) for i in top]

    # --- search -----------------------------------------------------------------------------------
    def allowed(self, filters: dict | None) -> np.ndarray | None:
        """Chunk ids whose document metadata equals every filter value; None for no filter."""
        return None if not filters else self.store.chunk_ids_where(filters)

    def search(self, query: str, k: int = 5, mode: str = "hybrid", filters: dict | None = None,
               query_vector: np.ndarray | None = None) -> list[Hit]:
        if mode not in MODES:
            raise InvalidArgument(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
        if not query.strip():
            raise InvalidArgument("query is empty")
        allowed = self.allowed(filters)
        depth = max(k, self.fusion_depth) if mode == "hybrid" else k
        dense = bm25 = None
        if mode in ("dense", "hybrid"):
            qv = query_vector if query_vector is not None else self.store.embedder.embed([query])[0]
            dense = self._dense(qv, depth, allowed)
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
