"""DocStore on disk: persistence across a restart, delete, replace, batches, a killed ingest, retrieval
modes and metadata filters (hashing embedder here; the API tests use MiniLM)."""
from __future__ import annotations

import signal
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, wait_until

from moredata.errors import FailedPrecondition, NotFound
from moredata.rag.embedders import HashingEmbedder
from moredata.rag.retrieval import Retriever
from moredata.rag.store import DocStore, NewDocument

README = (ROOT / "README.md").read_text(encoding="utf-8")
AUGMENT = (ROOT / "moredata" / "pointer" / "README.md").read_text(encoding="utf-8")


def _store(path):
    return DocStore(path, HashingEmbedder(256))


def test_persists_across_a_restart_and_deletes(tmp_path):
    s = _store(tmp_path)
    doc, ids = s.add_document("readme", README, "semantic", {"source": "README.md"})
    _, aug_ids = s.add_document(None, AUGMENT, "paragraph", {"source": "augment"}, min_length=100)
    assert doc == "readme" and len(ids) > 5 and s.count() == len(ids) + len(aug_ids)
    vecs = s.snapshot()[1].copy()
    s.close()
    s = _store(tmp_path)  # reload from disk
    assert s.count() == len(ids) + len(aug_ids) and np.array_equal(s.snapshot()[1], vecs)
    got = s.chunks(ids[:2])
    assert got[0].doc_id == "readme" and README[got[0].start:got[0].end] == got[0].text
    assert got[0].metadata == {"source": "README.md"} and s.document("readme")["chunk_ids"] == ids
    assert s.delete_document("readme") == len(ids)
    assert s.count() == len(aug_ids) and not set(ids) & set(s.snapshot()[0].tolist())
    with pytest.raises(NotFound):
        s.delete_document("readme")
    s.close()
    assert _store(tmp_path).count() == len(aug_ids)


def test_replacing_a_document_and_batches(tmp_path):
    s = _store(tmp_path)
    s.add_document("d", "first version.\n\nsecond paragraph.")
    _, ids = s.add_document("d", "only one paragraph now.")
    assert s.count() == 1 and s.chunks(ids)[0].text == "only one paragraph now."
    out = s.add_documents([NewDocument("a", "alpha text"), NewDocument("b", "beta text")])
    assert [d for d, _ in out] == ["a", "b"] and s.count() == 3
    with pytest.raises(ValueError, match="empty"):
        s.add_documents([NewDocument("c", "fine"), NewDocument("e", "   ")])
    assert s.count() == 3  # all or nothing
    with pytest.raises(FailedPrecondition, match="embedder"):
        DocStore(tmp_path, HashingEmbedder(128))  # the store knows which embedder made its vectors


INGEST_FOREVER = """
import sys, time
sys.path.insert(0, sys.argv[2])
from moredata.rag.embedders import HashingEmbedder
from moredata.rag.store import DocStore

class Slow(HashingEmbedder):
    def embed(self, texts):
        print("embedding", flush=True)
        time.sleep(60)  # killed in here, or in the middle of a commit below
        return super().embed(texts)

s = DocStore(sys.argv[1], HashingEmbedder(256))
s.add_document("kept", "a document that was there before the crash.")
s.embedder = Slow(256)
s.add_document("lost", "this one is being ingested when the process dies.")
"""


def test_a_killed_ingest_leaves_a_loadable_store(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", INGEST_FOREVER, str(tmp_path), str(ROOT)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "embedding"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    (tmp_path / "vectors" / "9999999999999-deadbeef.npy").write_bytes(b"half a segment")  # an orphan
    s = _store(tmp_path)
    assert s.count() == 1 and s.document("kept")["chunk_ids"]
    with pytest.raises(NotFound):
        s.document("lost")
    assert not (tmp_path / "vectors" / "9999999999999-deadbeef.npy").exists()
    s.add_document("after", "the store takes new documents after the crash.")
    assert s.count() == 2


def test_retrieval_modes_and_filters(tmp_path):
    s = _store(tmp_path)
    s.add_document("readme", README, "semantic", {"source": "readme", "lang": "en"})
    s.add_document("augment", AUGMENT, "semantic", {"source": "augment", "lang": "en"})
    r = Retriever(s)
    q = "early stopping patience monitored loss"
    for mode in ("dense", "bm25", "hybrid"):
        hits = r.search(q, k=3, mode=mode)
        assert len(hits) == 3 and hits[0].score >= hits[-1].score
        assert "stopping" in s.chunks([hits[0].chunk_id])[0].text.lower(), mode
    hybrid = r.search(q, k=5)
    assert all(h.dense_rank or h.bm25_rank for h in hybrid)
    only = r.search("pointer transforms", k=5, filters={"source": "augment"})
    assert only and {c.doc_id for c in s.chunks([h.chunk_id for h in only])} == {"augment"}
    assert r.search("pointer transforms", k=5, filters={"source": "nowhere"}) == []
    s.add_document("new", "Zanzibar xylophone quasar.")  # the BM25 index follows the store
    assert s.chunks([r.search("xylophone quasar", k=1, mode="bm25")[0].chunk_id])[0].doc_id == "new"
    with pytest.raises(ValueError, match="mode"):
        r.search(q, mode="fuzzy")
    with pytest.raises(ValueError, match="filter key"):
        r.search(q, filters={"a'b": 1})


def test_hnsw_above_the_threshold_agrees_with_exact_search(tmp_path):
    s = _store(tmp_path)
    texts = [p for p in README.split("\n\n") if p.strip()] + [p for p in AUGMENT.split("\n\n") if p.strip()]
    s.add_documents([NewDocument(f"p{i}", t) for i, t in enumerate(texts[:40])])
    exact = Retriever(s, hnsw_threshold=0)
    hnsw = Retriever(s, hnsw_threshold=30)
    ids, vecs, version = s.snapshot()
    assert hnsw.dense_index(ids, vecs, version, block=True) is not None  # 40 chunks >= 30: a graph
    queries = ["resume training", "pointer transforms", "docker compose profile", "enhanced rows from the generator"]

    def same(q):
        """The same top-5 scores, and the same chunks wherever a score is not tied (two chunks with equal
        vectors may come in either order)."""
        a, b = hnsw.search(q, 5, "dense"), exact.search(q, 5, "dense")
        sa, sb = [round(h.score, 5) for h in a], [round(h.score, 5) for h in b]
        return sa == sb and all(x.chunk_id == y.chunk_id for x, y, sc in zip(a, b, sa) if sa.count(sc) == 1)

    assert all(same(q) for q in queries)  # a small graph with efSearch 128 is exact
    s.add_documents([NewDocument(f"p{i}", t) for i, t in enumerate(texts[40:], start=40)])  # appends: grown in place
    st = hnsw.dense_index(*s.snapshot())
    assert st is not None and len(st[2]) == s.count() and all(same(q) for q in queries)
    gone = set(s.document("p3")["chunk_ids"])
    s.delete_document("p3")  # a deletion: rebuilt in the background, exact search answers meanwhile
    assert all(same(q) for q in queries)
    assert wait_until(lambda: hnsw.dense_index(*s.snapshot()) is not None, 30)
    assert all(same(q) for q in queries)
    assert not gone & {h.chunk_id for q in queries for h in hnsw.search(q, 5, "dense")}
