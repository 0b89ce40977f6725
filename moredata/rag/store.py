"""DocStore: chunks and metadata in SQLite, vectors in .npy segment files, crash-safe, reloaded on start.

    store = DocStore("rag_store/", embedder)
    ids = store.add_document("doc-1", text, split_method="semantic", metadata={"source": "README.md"})
    store.delete_document("doc-1")

Layout of the folder:
    store.sqlite          documents, chunks (offsets, heading path, metadata, vector location), segments
    vectors/<seg>.npy     float32 (rows, dim) unit vectors of one ingest, written before the SQLite
                          transaction that references it

Crash safety: an ingest writes its segment file atomically (temp + fsync + rename), then commits one
SQLite transaction with the document, its chunks and the segment row. A crash before the commit
leaves at most an unreferenced segment file, deleted at the next start; a crash during the commit is
SQLite's atomic commit (WAL). Nothing is pickled: vectors are `.npy` loaded with allow_pickle=False.
Deleting a document removes its rows; its vectors stay in their segment, unreferenced, until
`compact()` rewrites the segments.
"""
from __future__ import annotations

import json
import math
import re
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from moredata.atomic import atomic_write_with
from moredata.errors import Cancelled, FailedPrecondition, InvalidArgument, NotFound, TooLarge
from moredata.rag.splitting import split

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, text TEXT NOT NULL, metadata TEXT NOT NULL, split TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS segments (name TEXT PRIMARY KEY, rows INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id INTEGER PRIMARY KEY AUTOINCREMENT, doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL, headings TEXT NOT NULL,
    segment TEXT NOT NULL REFERENCES segments(name), row INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
"""


@dataclass
class StoredChunk:
    chunk_id: int
    doc_id: str
    seq: int
    start: int
    end: int
    text: str
    headings: list[str]
    metadata: dict = field(default_factory=dict)


@dataclass
class NewDocument:
    doc_id: str | None  # None: a random id
    text: str
    split_method: str = "paragraph"
    metadata: dict = field(default_factory=dict)
    split_params: dict = field(default_factory=dict)  # min_length, max_length, size, overlap, unit, pattern


_DOC_ID = re.compile(r"[\w.\-:]+(/[\w.\-:]+)*")
MAX_METADATA_DEPTH = 16
MAX_METADATA_CHARS = 64 * 1024


def check_doc_id(doc_id: str) -> None:
    """Ids round-trip through URLs (GET/DELETE /documents/{doc_id}): path-like segments of letters,
    digits and `_.-:`, none of them `.` or `..` (which clients resolve away), at most 200 characters."""
    if not (1 <= len(doc_id) <= 200) or not _DOC_ID.fullmatch(doc_id) or any(
            seg in (".", "..") for seg in doc_id.split("/")):
        raise InvalidArgument(f"doc_id {doc_id[:80]!r} must be 1-200 characters of letters, digits and _.-: in "
                              f"'/'-separated segments, none of them '.' or '..'")


def check_text(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidArgument(f"{what} text holds a lone surrogate at {e.start}: not valid Unicode") from None


def check_metadata(meta) -> None:
    """JSON that SQLite's json functions and every later reader accept: an object of finite numbers,
    64-bit integers, valid Unicode strings, booleans, null, lists and objects, at most
    MAX_METADATA_DEPTH deep and MAX_METADATA_CHARS long. Walked with a stack, not recursion."""
    if not isinstance(meta, dict):
        raise InvalidArgument("metadata must be a JSON object")
    stack = [(meta, 1, "metadata")]
    while stack:
        value, depth, where = stack.pop()
        if depth > MAX_METADATA_DEPTH:
            raise InvalidArgument(f"metadata nests deeper than {MAX_METADATA_DEPTH} levels at {where[:80]}")
        if isinstance(value, dict):
            for k, v in value.items():
                if not isinstance(k, str):
                    raise InvalidArgument(f"metadata keys must be strings at {where[:80]}")
                check_text(k, f"metadata key at {where[:80]}")
                stack.append((v, depth + 1, f"{where}.{k}"))
        elif isinstance(value, list):
            stack.extend((v, depth + 1, f"{where}[{i}]") for i, v in enumerate(value))
        elif isinstance(value, str):
            check_text(value, f"metadata value {where[:80]}")
        elif isinstance(value, bool) or value is None:
            pass
        elif isinstance(value, int):
            if not -2**63 <= value < 2**63:
                raise InvalidArgument(f"metadata value {where[:80]} is beyond a 64-bit integer")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidArgument(f"metadata value {where[:80]} is {value}: JSON has no NaN or infinity")
        else:
            raise InvalidArgument(f"metadata value {where[:80]} is not JSON")
    if len(json.dumps(meta)) > MAX_METADATA_CHARS:
        raise InvalidArgument(f"metadata is over {MAX_METADATA_CHARS} characters as JSON")


class DocStore:
    def __init__(self, root: str | Path, embedder, split_defaults: dict | None = None):
        self.root = Path(root)
        (self.root / "vectors").mkdir(parents=True, exist_ok=True)
        self.embedder = embedder
        self.split_defaults = split_defaults or {}
        self._lock = threading.RLock()  # one writer at a time; readers see the in-memory index
        self.db = sqlite3.connect(self.root / "store.sqlite", check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)
        self._check_embedder()
        self._load()

    # --- start-up ---------------------------------------------------------------------------------
    def _check_embedder(self) -> None:
        row = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        mine = {"embedder": self.embedder.name, "dim": str(self.embedder.dim)}
        if not row:
            self.db.executemany("INSERT INTO meta VALUES (?, ?)", list(mine.items()))
        elif row != mine:
            raise FailedPrecondition(f"store {self.root} was built with embedder {row.get('embedder')} ({row.get('dim')}-d), "
                             f"not {mine['embedder']} ({mine['dim']}-d): use another store folder or re-ingest")

    def _load(self) -> None:
        """Vectors of every live chunk, in chunk_id order; unreferenced segment files are removed."""
        segments = {name for (name,) in self.db.execute("SELECT name FROM segments")}
        for f in (self.root / "vectors").glob("*.npy"):
            if f.stem not in segments:
                f.unlink()  # an ingest that crashed before its commit
        for f in (self.root / "vectors").glob(".*.tmp"):
            f.unlink()
        rows = self.db.execute("SELECT chunk_id, segment, row FROM chunks ORDER BY chunk_id").fetchall()
        self.ids = np.array([r[0] for r in rows], dtype=np.int64)
        self.vectors = np.zeros((len(rows), self.embedder.dim), dtype=np.float32)
        by_segment: dict[str, list[tuple[int, int]]] = {}
        for i, (_, seg, row) in enumerate(rows):
            by_segment.setdefault(seg, []).append((i, row))
        for seg, pairs in by_segment.items():
            arr = np.load(self.root / "vectors" / f"{seg}.npy", allow_pickle=False, mmap_mode="r")
            where, rws = np.array(pairs).T
            self.vectors[where] = arr[rws]
        self.version = 0  # bumps on every change (retrievers rebuild what depends on the chunk set)

    # --- writes -----------------------------------------------------------------------------------
    def add_document(self, doc_id: str | None, text: str, split_method: str = "paragraph",
                     metadata: dict | None = None, **split_params) -> tuple[str, list[int]]:
        """Splits, embeds and stores one document atomically; returns (doc_id, chunk ids).
        An existing doc_id is replaced (in the same transaction)."""
        return self.add_documents([NewDocument(doc_id, text, split_method, metadata or {}, split_params)])[0]

    def add_documents(self, docs: list["NewDocument"], max_chunks: int | None = None, max_chars: int | None = None,
                      still_wanted=None) -> list[tuple[str, list[int]]]:
        """Several documents in one embedding batch, one vector segment and one transaction: all of
        them land or none does. Returns (doc_id, chunk ids) per document, in order. Everything is
        checked (ids, text, metadata, the embedding budget: chunks against `max_chunks`, their characters,
        overlap included, against `max_chars`) before anything is embedded (TooLarge names the budget).
        `still_wanted()` is asked once the embedding is done: False (the client went away) commits nothing
        and raises Cancelled."""
        planned = []  # (doc, doc_id, chunks, params)
        total = chars = 0
        for d in docs:
            if d.doc_id is not None:
                check_doc_id(d.doc_id)
            check_text(d.text, f"document {d.doc_id or ''}".rstrip())
            check_metadata(d.metadata)
            if not d.text.strip():
                raise InvalidArgument(f"document {d.doc_id or ''} text is empty".replace("  ", " "))
            params = {**self.split_defaults, **d.split_params}
            chunks = split(d.text, d.split_method, **params)
            if not chunks:
                raise InvalidArgument("the split produced no chunks")
            total += len(chunks)
            chars += sum(len(c.text) for c in chunks)
            if max_chunks is not None and total > max_chunks:
                raise TooLarge(f"the split makes over {max_chunks} chunks in one request (max_chunks_per_request):"
                               f" use larger chunks, less overlap, or several requests")
            if max_chars is not None and chars > max_chars:
                raise TooLarge(f"the split's chunks hold over {max_chars} characters to embed in one request "
                               f"(max_embed_chars_per_request; overlap counts again): less overlap, or several "
                               f"requests")
            planned.append((d, d.doc_id or uuid.uuid4().hex, chunks, params))
        ids_seen = [p[1] for p in planned]
        if len(set(ids_seen)) != len(ids_seen):
            raise InvalidArgument("the same doc_id appears twice in one request")
        texts = [c.text for _, _, chunks, _ in planned for c in chunks]
        vecs = self.embedder.embed(texts)  # the slow part, batched, outside the lock
        if still_wanted is not None and not still_wanted():
            raise Cancelled("the client went away before the documents were stored: nothing was committed")
        seg = f"{int(time.time() * 1000):013d}-{uuid.uuid4().hex[:8]}"
        atomic_write_with(self.root / "vectors" / f"{seg}.npy", lambda f: np.save(f, vecs, allow_pickle=False))
        now = time.time()
        with self._lock:
            old = np.concatenate([self._chunk_ids_of(doc_id) for _, doc_id, _, _ in planned])
            cur = self.db.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
                cur.execute("INSERT INTO segments VALUES (?, ?)", (seg, len(texts)))
                results, row = [], 0
                for d, doc_id, chunks, params in planned:
                    cur.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
                    cur.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
                    cur.execute("INSERT INTO documents VALUES (?, ?, ?, ?, ?)",
                                (doc_id, d.text, json.dumps(d.metadata), json.dumps({"method": d.split_method, **params}),
                                 now))
                    cur.executemany("INSERT INTO chunks (doc_id, seq, start, end, text, headings, segment, row) "
                                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                    [(doc_id, i, c.start, c.end, c.text, json.dumps(c.headings), seg, row + i)
                                     for i, c in enumerate(chunks)])
                    row += len(chunks)
                    results.append((doc_id, [r[0] for r in cur.execute(
                        "SELECT chunk_id FROM chunks WHERE doc_id = ? ORDER BY seq", (doc_id,))]))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                (self.root / "vectors" / f"{seg}.npy").unlink(missing_ok=True)
                raise
            new_ids = np.array([c for _, ids in results for c in ids], dtype=np.int64)
            self._replace_in_memory(old, new_ids, vecs)
        return results

    def delete_document(self, doc_id: str) -> int:
        """Removes a document and its chunks; returns how many chunks went. KeyError when unknown."""
        with self._lock:
            old = self._chunk_ids_of(doc_id)
            cur = self.db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            cur.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
            gone = cur.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,)).rowcount
            cur.execute("COMMIT")
            if gone == 0:
                raise NotFound(f"no document {doc_id!r}")
            self._replace_in_memory(old, np.zeros(0, dtype=np.int64), np.zeros((0, self.embedder.dim), np.float32))
        return len(old)

    def _chunk_ids_of(self, doc_id: str) -> np.ndarray:
        return np.array([r[0] for r in self.db.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?", (doc_id,))],
                        dtype=np.int64)

    def _replace_in_memory(self, old_ids: np.ndarray, new_ids: np.ndarray, new_vecs: np.ndarray) -> None:
        """Copy-on-write: a reader holding the previous (ids, vectors) pair keeps a consistent view."""
        keep = ~np.isin(self.ids, old_ids) if len(old_ids) else slice(None)
        self.ids = np.concatenate([self.ids[keep], new_ids])
        self.vectors = np.concatenate([self.vectors[keep], new_vecs])
        self.version += 1

    # --- reads ------------------------------------------------------------------------------------
    def snapshot(self) -> tuple[np.ndarray, np.ndarray, int]:
        """(chunk ids (N,), unit vectors (N, dim), version): a consistent view for one query."""
        with self._lock:
            return self.ids, self.vectors, self.version

    def chunk_ids_where(self, filters: dict) -> np.ndarray:
        """Chunk ids whose document metadata has every key equal to the given (JSON) value."""
        clauses, args = [], []
        for key, value in filters.items():
            if not isinstance(key, str) or not key or not key.replace("_", "").replace("-", "").isalnum():
                raise InvalidArgument(f"filter key {key!r} must be letters, digits, '_' or '-'")
            clauses.append("json_extract(d.metadata, ?) = json_extract(?, '$')")
            args += [f'$."{key}"', json.dumps(value)]
        with self._lock:
            rows = self.db.execute("SELECT c.chunk_id FROM chunks c JOIN documents d USING (doc_id) WHERE "
                                   + " AND ".join(clauses), args).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def chunks(self, ids: list[int]) -> list[StoredChunk]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        with self._lock:
            rows = self.db.execute(
            f"SELECT c.chunk_id, c.doc_id, c.seq, c.start, c.end, c.text, c.headings, d.metadata "
                f"FROM chunks c JOIN documents d USING (doc_id) WHERE c.chunk_id IN ({marks})", ids).fetchall()
        by_id = {r[0]: StoredChunk(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), json.loads(r[7])) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def all_chunk_texts(self) -> tuple[np.ndarray, list[str]]:
        with self._lock:
            rows = self.db.execute("SELECT chunk_id, text FROM chunks ORDER BY chunk_id").fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64), [r[1] for r in rows]

    def document(self, doc_id: str) -> dict:
        with self._lock:
            row = self.db.execute("SELECT doc_id, text, metadata, split, created FROM documents WHERE doc_id = ?",
                                  (doc_id,)).fetchone()
            if row is None:
                raise NotFound(f"no document {doc_id!r}")
            ids = [r[0] for r in self.db.execute("SELECT chunk_id FROM chunks WHERE doc_id = ? ORDER BY seq",
                                                 (doc_id,))]
        return {"doc_id": row[0], "text": row[1], "metadata": json.loads(row[2]), "split": json.loads(row[3]),
                "created": row[4], "chunk_ids": ids}

    def count(self) -> int:
        return len(self.ids)

    def close(self) -> None:
        self.db.close()
