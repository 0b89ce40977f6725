"""RAG ingest throughput and query latency at 10k and 100k chunks, on CPU, through DocStore + Retriever.

    python bench/rag_latency.py          # -> bench/results/rag_latency.json

- embedder_chunks_s: MiniLM alone on 512 Cranfield abstracts (batch 32).
- ingest_chunks_s: the same 512 abstracts through DocStore.add_documents with MiniLM (split, embed,
  segment file, SQLite transaction), batches of 64 documents. The store should cost little on top.
- rows: stores of 10k and 100k chunks made of the 1,398 Cranfield abstracts repeated with a copy
  marker; their vectors are the abstracts' real MiniLM embeddings, reused (embedding 100k chunks on 2
  cores would take an hour), said in the JSON. Dense search is exact below 50k chunks and HNSW (built
  before timing) from there, as the service does. Query latency is hybrid (MiniLM query embedding + dense
  + BM25 + RRF, top 10) over the 225 Cranfield queries; search_* is the same after the query embedding.
"""
from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bench._results import write_results
from bench.rag_retrieval import DEFAULT, load_collection
from moredata.cli import CliParser
from moredata.rag.embedders import MiniLMEmbedder
from moredata.rag.retrieval import Retriever
from moredata.rag.store import DocStore, NewDocument

ROOT = Path(__file__).resolve().parents[1]

_COPY = re.compile(r"\n\[copy \d+\]$")


class ReusedEmbedder:
    """Looks up the MiniLM vector of the abstract a scale chunk repeats (text + "\\n[copy j]")."""

    name = "minilm"

    def __init__(self, base: dict[str, np.ndarray], dim: int):
        self.base, self.dim = base, dim

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.base[_COPY.sub("", t)] for t in texts]).astype(np.float32)


def percentile_ms(xs: list[float], q: float) -> float:
    return round(float(np.percentile(np.array(xs) * 1000, q)), 2)


def main() -> None:
    CliParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    docs, queries, _ = load_collection(DEFAULT)
    texts = [t for t in docs.values() if t]
    minilm = MiniLMEmbedder(batch_size=32)
    sample = texts[:512]
    minilm.embed(sample[:32])  # warm-up
    t0 = time.perf_counter()
    minilm.embed(sample)
    embedder_s = len(sample) / (time.perf_counter() - t0)
    with tempfile.TemporaryDirectory() as tmp:
        store = DocStore(tmp, minilm)
        t0 = time.perf_counter()
        for i in tqdm(range(0, len(sample), 64), desc="ingest (MiniLM)", unit="batch"):
            store.add_documents([NewDocument(f"d{j}", t, "chunk", split_params={"size": 100_000})
                                 for j, t in enumerate(sample[i : i + 64], start=i)])
        ingest_s = len(sample) / (time.perf_counter() - t0)
        store.close()
    print(f"embedder {embedder_s:.1f} chunks/s, ingest {ingest_s:.1f} chunks/s ({ingest_s / embedder_s:.1%})")

    base_vecs = minilm.embed(texts)
    reused = ReusedEmbedder(dict(zip(texts, base_vecs)), minilm.dim)
    qvecs = minilm.embed(queries)
    for q in queries[:30]:  # warm the single-query path (first calls allocate and tune), as a running service is
        minilm.embed([q])
    rows = []
    for n in (10_000, 100_000):
        with tempfile.TemporaryDirectory() as tmp:
            store = DocStore(tmp, reused)
            t0 = time.perf_counter()
            for i in tqdm(range(0, n, 2000), desc=f"build {n}", unit="batch"):
                store.add_documents([NewDocument(f"c{j}", f"{texts[j % len(texts)]}\n[copy {j // len(texts)}]", "chunk",
                                                 split_params={"size": 100_000}) for j in range(i, min(i + 2000, n))])
            build_s = time.perf_counter() - t0
            r = Retriever(store)
            store.embedder = minilm  # queries are embedded for real
            r.search("warm up", k=10)  # builds the BM25 index
            t0 = time.perf_counter()
            hnsw = r.dense_index(*store.snapshot(), block=True) is not None  # HNSW from 50k chunks
            index_s = time.perf_counter() - t0
            total, search = [], []
            for q, qv in tqdm(list(zip(queries, qvecs)), desc=f"queries {n}", unit="q"):
                t0 = time.perf_counter()
                r.search(q, k=10)  # embeds the query with MiniLM
                total.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                r.search(q, k=10, query_vector=qv)
                search.append(time.perf_counter() - t0)
            rows.append({"chunks": n, "p50_ms": percentile_ms(total, 50), "p99_ms": percentile_ms(total, 99),
                         "search_p50_ms": percentile_ms(search, 50), "search_p99_ms": percentile_ms(search, 99),
                         "build_chunks_s": round(n / build_s, 1),
                         "dense_index": "faiss HNSW (M 32, efSearch 128)" if hnsw else "exact",
                         "hnsw_build_s": round(index_s, 1) if hnsw else None})
            store.close()
    result = {"ingest_chunks_s": round(ingest_s, 1), "embedder_chunks_s": round(embedder_s, 1),
              "ingest_vs_embedder": round(ingest_s / embedder_s, 3), "rows": rows,
              "vectors": "10k/100k rows: real MiniLM embeddings of the 1,398 Cranfield abstracts, reused for the "
                         "repeated copies; queries embedded with MiniLM for real",
              "device": "cpu (2 cores)", "mode": "hybrid (dense + BM25, RRF k=60 over top 100), top 10"}
    print(f"\n{'chunks':>8} {'p50 ms':>8} {'p99 ms':>8} {'search p50':>11} {'search p99':>11}")
    for row in rows:
        print(f"{row['chunks']:>8} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} {row['search_p50_ms']:>11.2f} "
              f"{row['search_p99_ms']:>11.2f}")
    out = ROOT / "bench" / "results" / "rag_latency.json"
    write_results(out, result, indent=2)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
