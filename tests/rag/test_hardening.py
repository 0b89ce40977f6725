"""Issue 11, item 14: one bad request must not break the RAG API for everyone (the real app, a real
on-disk store; the hashing embedder, since none of this is about embedding quality)."""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from services.rag.app import create_app
from services.rag.settings import RagSettings


@pytest.fixture
def client(tmp_path):
    def make(**over):
        return TestClient(create_app(RagSettings(store_dir=str(tmp_path / "store"), embedder="hashing", **over)))

    with make() as c:
        assert c.post("/documents", json={"doc_id": "base", "text": "Redis holds the ring buffer.",
                                          "metadata": {"team": "ml"}}).status_code == 201
        c.make = make
        yield c


def _raw(c, path, text):
    return c.post(path, content=text.encode(), headers={"content-type": "application/json"})


@pytest.mark.parametrize("value", ["NaN", "1e400", "-Infinity"])
def test_non_finite_metadata_is_refused_and_filters_keep_working(client, value):
    r = _raw(client, "/documents", '{"doc_id": "bad", "text": "hello world", "metadata": {"v": %s}}' % value)
    assert r.status_code in (400, 422) and "v" in r.text, r.text
    r = client.post("/documents/upload", files=[("files", ("up.md", b"hello upload", "text/plain"))],
                    data={"metadata": '{"v": %s}' % value})
    assert r.status_code in (400, 422), r.text
    r = client.post("/query", json={"query": "ring buffer", "filters": {"team": "ml"}})
    assert r.status_code == 200 and [h["doc_id"] for h in r.json()] == ["base"]
    assert client.get("/documents/bad").status_code == 404
    r = _raw(client, "/query", '{"query": "ring", "filters": {"team": %s}}' % value)
    assert r.status_code == 422, r.text


@pytest.mark.parametrize("meta", [{"v": "\udfff"}, {"\udfff": 1}, json.loads('{"a": ' * 400 + "1" + "}" * 400)])
def test_metadata_that_would_break_later_reads_is_refused(client, meta):
    r = _raw(client, "/documents", json.dumps({"doc_id": "m", "text": "ring buffer text", "metadata": meta}))
    assert r.status_code == 400, r.text
    assert client.post("/query", json={"query": "ring buffer"}).status_code == 200
    assert client.get("/documents/base").status_code == 200


def test_a_store_of_wordless_chunks_still_answers_every_mode(tmp_path):
    with TestClient(create_app(RagSettings(store_dir=str(tmp_path / "s"), embedder="hashing"))) as c:
        assert c.post("/documents", json={"doc_id": "q", "text": "?"}).status_code == 201
        for mode in ("bm25", "hybrid", "dense"):
            r = c.post("/query", json={"query": "anything at all", "mode": mode})
            assert r.status_code == 200, (mode, r.text)


def test_chunks_per_request_are_bounded(tmp_path):
    with TestClient(create_app(RagSettings(store_dir=str(tmp_path / "s"), embedder="hashing",
                                           max_chunks_per_request=50))) as c:
        r = c.post("/documents", json={"text": "word " * 1000, "split": {"method": "chunk", "size": 20}})
        assert r.status_code == 413 and "max_chunks_per_request" in r.text
        assert c.get("/health").json()["chunks"] == 0  # nothing was embedded or stored


def test_the_embedding_budget_is_checked_before_anything_is_embedded(tmp_path):
    """Issue 23, item 6: 20 KB split into 1-character chunks made 16,000 chunks and minutes of embedding.
    Over the budget (chunks, or characters with overlap counted again) is 413 with the budget named."""
    import time

    with TestClient(create_app(RagSettings(store_dir=str(tmp_path / "s"), embedder="hashing"))) as c:
        t0 = time.monotonic()
        r = c.post("/documents", json={"text": "ab " * 6_700, "split": {"method": "chunk", "size": 1}})
        assert r.status_code == 413 and "max_chunks_per_request" in r.json()["detail"]
        assert time.monotonic() - t0 < 10  # refused from the split alone
        big = "word " * 100_000  # 500 KB in 500 chunks of 1000: under the chunk budget, over the characters
        r = c.post("/documents", json={"text": big, "split": {"method": "chunk", "size": 1000}})
        assert r.status_code == 413 and "max_embed_chars_per_request" in r.json()["detail"]
        r = c.post("/documents", json={"text": "word " * 60_000, "split": {"method": "chunk", "size": 1000,
                                                                            "overlap": 400}})
        assert r.status_code == 413 and "overlap counts again" in r.json()["detail"]
        assert c.get("/health").json()["chunks"] == 0
        ok = c.post("/documents", json={"text": "word " * 60_000, "split": {"method": "chunk", "size": 1000}})
        assert ok.status_code == 201 and len(ok.json()[0]["chunk_ids"]) == 300


def test_ids_round_trip_through_the_url_or_are_refused(client):
    assert client.post("/documents", json={"doc_id": "notes/a.md", "text": "nested id"}).status_code == 201
    assert client.get("/documents/notes/a.md").json()["doc_id"] == "notes/a.md"
    assert client.get("/documents/notes%2Fa.md").status_code == 200
    assert client.delete("/documents/notes/a.md").json()["deleted_chunks"] == 1
    for bad in ("../../etc/passwd", "a/../b", "/abs", "a//b"):
        r = client.post("/documents", json={"doc_id": bad, "text": "x"})
        assert r.status_code in (400, 422), bad
    r = client.post("/documents/upload", files=[("files", ("../../etc/passwd", b"root:x:0:0", "text/plain"))])
    assert r.status_code == 400 and "doc_id" in r.text


def test_a_chunked_body_over_the_limit_is_413(tmp_path):
    with TestClient(create_app(RagSettings(store_dir=str(tmp_path / "s"), embedder="hashing",
                                           max_body_mb=1))) as c:
        def body():
            yield b'{"text": "'
            for _ in range(50):
                yield b"x" * 2**20
            yield b'"}'

        r = c.post("/documents", content=body(), headers={"content-type": "application/json"})
        assert r.status_code == 413 and "limit" in r.json()["detail"]
        assert c.get("/health").status_code == 200


def test_generate_says_why_a_small_context_has_no_sources(char_data, tmp_path):
    """The compose stack's CPU model has a 64-token context: /generate answered with "sources": [] and no
    word why. Now the answer carries the reason."""
    from conftest import tiny_flags

    from moredata.training.config import load_settings
    from moredata.training.loop import TrainingLoop

    TrainingLoop(load_settings(tiny_flags(char_data, tmp_path / "gpt", max_iters=5, eval_interval=5, plot=False))).run()
    settings = RagSettings(store_dir=str(tmp_path / "s"), embedder="hashing", checkpoint=str(tmp_path / "gpt" / "best.pt"))
    with TestClient(create_app(settings)) as c:
        assert c.post("/documents", json={"text": "The ring buffer lives in Redis."}).status_code == 201
        r = c.post("/generate", json={"query": "Where does the ring buffer live?", "max_length": 8, "seed": 0}).json()
        assert r["sources"] == [] and "32-token context" in r["note"] and "block_size" in r["note"]


def test_every_error_status_is_in_the_openapi_schema_with_its_body(client):
    schema = client.get("/openapi.json").json()
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            if path == "/health":
                continue
            codes = set(op["responses"])
            assert {"400", "401", "413", "503"} <= codes, (method, path, codes)
            if "{doc_id" in path:
                assert "404" in codes
    # our own 422s have FastAPI's validation-error shape (detail: a list of {loc, msg, type})
    r = client.post("/query", json={"query": "x", "top_k": 101})
    assert r.status_code == 422
    (err,) = r.json()["detail"]
    assert err["loc"] == ["body", "top_k"] and "top_k must be <= 100" in err["msg"] and err["type"]
