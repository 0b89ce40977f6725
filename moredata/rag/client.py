"""A small Python client of the RAG service (httpx).

    with RagClient("http://127.0.0.1:8000", token="secret") as rag:
        rag.wait_ready()
        rag.add("notes", open("notes.md").read(), split={"method": "semantic"}, metadata={"team": "ml"})
        for hit in rag.query("how do we evaluate?", top_k=5):
            print(hit["score"], hit["headings"], hit["text"][:80])
        print(rag.generate("how do we evaluate?")["answer"])

Errors raise httpx.HTTPStatusError; the server's reason is in `.response.json()["detail"]`.
"""
from __future__ import annotations

import time
from pathlib import Path

import httpx


class RagClient:
    def __init__(self, base_url: str = "http://127.0.0.1:8000", token: str | None = None, timeout: float = 120.0):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout)

    def _json(self, r: httpx.Response):
        r.raise_for_status()
        return r.json()

    def wait_ready(self, timeout: float = 120.0) -> dict:
        deadline = time.time() + timeout
        while True:
            try:
                r = self.http.get("/health")
                if r.status_code == 200:
                    return r.json()
            except httpx.TransportError:
                pass
            if time.time() > deadline:
                raise TimeoutError(f"the RAG service at {self.http.base_url} is not ready after {timeout:.0f} s")
            time.sleep(0.5)

    def add(self, doc_id: str | None, text: str, split: dict | None = None, metadata: dict | None = None) -> dict:
        body = {"doc_id": doc_id, "text": text, "split": split or {}, "metadata": metadata or {}}
        return self._json(self.http.post("/documents", json=body))[0]

    def upload(self, paths: list[str | Path], split: dict | None = None, metadata: dict | None = None) -> list[dict]:
        import json

        files = [("files", (Path(p).name, Path(p).read_bytes(), "text/plain")) for p in paths]
        data = {"split": json.dumps(split or {}), "metadata": json.dumps(metadata or {})}
        return self._json(self.http.post("/documents/upload", files=files, data=data))

    def get(self, doc_id: str) -> dict:
        return self._json(self.http.get(f"/documents/{doc_id}"))

    def delete(self, doc_id: str) -> dict:
        return self._json(self.http.delete(f"/documents/{doc_id}"))

    def query(self, query: str, top_k: int = 5, mode: str = "hybrid", filters: dict | None = None) -> list[dict]:
        return self._json(self.http.post("/query", json={"query": query, "top_k": top_k, "mode": mode,
                                                         "filters": filters or {}}))

    def generate(self, query: str, top_k: int = 3, max_length: int = 200, temperature: float = 0.8,
                 seed: int | None = None, **kw) -> dict:
        return self._json(self.http.post("/generate", json={"query": query, "top_k": top_k, "max_length": max_length,
                                                            "temperature": temperature, "seed": seed, **kw}))

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "RagClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
