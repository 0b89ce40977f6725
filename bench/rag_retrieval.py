"""Retrieval quality on a test collection with graded judgements: recall@10 and nDCG@10 for dense,
BM25 and hybrid, through the project's own store and retriever end to end (ingest, query, score).

    python bench/rag_retrieval.py                               # Cranfield, MiniLM when installed
    python bench/rag_retrieval.py --embedder hashing
    python bench/rag_retrieval.py --collection path/to/dir      # any collection in the Cranfield shape

Collection shape (`../shared/data/cranfield/README.md`): `cran.all.1400` documents (.I id, .T title,
.W abstract), `cran.qry` queries (.I label, .W text; judged by position 1..n), `cranqrel` lines
`<query position> <doc id> <grade>`, grades 1..4 (gain 5 - grade) and -1 (judged, gain 0).
Each document is ingested as one chunk, title + abstract; a chunk's doc_id is the collection's id.
Documents with no text (Cranfield has two) cannot be ingested and count as never retrieved.
"""
from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

from bench._results import write_results
from moredata.cli import CliParser
from moredata.rag.embedders import load_embedder
from moredata.rag.retrieval import Retriever
from moredata.rag.store import DocStore, NewDocument

ROOT = Path(__file__).resolve().parents[1]

DEFAULT = ROOT.parent / "shared" / "data" / "cranfield"


def read_fields(path: Path) -> list[dict[str, str]]:
    """SMART-format records: `.I id` then `.X` fields running until the next line starting with '.'."""
    records, field = [], None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(".I"):
            records.append({"I": line[2:].strip()})
            field = None
        elif len(line) >= 2 and line[0] == "." and line[1].isalpha() and line[2:].strip() == "":
            field = line[1]
            records[-1][field] = ""
        elif field is not None:
            records[-1][field] += line + "\n"
    return records


def load_collection(d: Path):
    docs = {r["I"]: (r.get("T", "").strip() + "\n" + r.get("W", "").strip()).strip()
            for r in read_fields(next(d.glob("*.all.*")))}
    queries = [r.get("W", "").strip() for r in read_fields(next(p for p in d.glob("*.qry")))]
    qrels: dict[int, dict[str, int]] = {}
    for line in next(p for p in d.iterdir() if p.name.endswith("qrel")).read_text().split("\n"):
        parts = line.split()
        if len(parts) >= 3:
            grade = int(parts[2])
            qrels.setdefault(int(parts[0]), {})[parts[1]] = 5 - grade if 1 <= grade <= 4 else 0
    return docs, queries, qrels


def ndcg_at(ranked: list[str], gains: dict[str, int], k: int = 10) -> float:
    dcg = sum(gains.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: list[str], gains: dict[str, int], k: int = 10) -> float:
    relevant = {d for d, g in gains.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def main() -> None:
    ap = CliParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--collection", type=Path, default=DEFAULT)
    ap.add_argument("--embedder", default="auto")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "rag_retrieval.json")
    args = ap.parse_args()
    docs, queries, qrels = load_collection(args.collection)
    embedder = load_embedder(args.embedder)
    with tempfile.TemporaryDirectory() as tmp:
        store = DocStore(tmp, embedder)
        t0 = time.perf_counter()
        items = [NewDocument(doc_id, text, "chunk", split_params={"size": 100_000})  # one chunk per document
                 for doc_id, text in docs.items() if text]
        for i in tqdm(range(0, len(items), 256), desc="ingest", unit="batch"):
            store.add_documents(items[i : i + 256])
        ingest_s = time.perf_counter() - t0
        retriever = Retriever(store)
        chunk_doc = {c.chunk_id: c.doc_id for c in store.chunks(store.ids.tolist())}
        scores = {m: {"ndcg10": [], "recall10": []} for m in ("dense", "bm25", "hybrid")}
        judged = [(pos, q) for pos, q in enumerate(queries, start=1) if pos in qrels]
        qvecs = embedder.embed([q for _, q in judged])
        for (pos, q), qv in tqdm(list(zip(judged, qvecs)), desc="queries", unit="q"):
            for mode in scores:
                hits = retriever.search(q, k=10, mode=mode, query_vector=qv)
                ranked = [chunk_doc[h.chunk_id] for h in hits]
                scores[mode]["ndcg10"].append(ndcg_at(ranked, qrels[pos]))
                scores[mode]["recall10"].append(recall_at(ranked, qrels[pos]))
        store.close()
    mean = lambda xs: round(sum(xs) / len(xs), 4)  # noqa: E731
    result = {"dataset": args.collection.name, "embedder": embedder.name, "queries": len(judged),
              "documents": len(docs), "ndcg10": {m: mean(v["ndcg10"]) for m, v in scores.items()},
              "recall10": {m: mean(v["recall10"]) for m, v in scores.items()},
              "ingest_docs_s": round(len(docs) / ingest_s, 1),
              "settings": {"bm25": "bm25s lucene k1=1.5 b=0.75, Snowball english stemmer, English stop words",
                           "hybrid": "RRF k=60 over the top 100 of each", "document": "title + abstract, one chunk"}}
    print(f"\n{'mode':<8} {'nDCG@10':>8} {'recall@10':>10}")
    for m in scores:
        print(f"{m:<8} {result['ndcg10'][m]:>8.4f} {result['recall10'][m]:>10.4f}")
    write_results(args.out, result, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
