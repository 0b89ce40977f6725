"""Vectorised word n-gram hashing over many documents at once (numpy, no per-token Python).

All documents are joined into one byte buffer; a token is a maximal run of word bytes ([A-Za-z0-9_] or any
byte >= 0x80, so non-ASCII identifiers stay whole). A token's hash is a polynomial over its bytes
(mod 2^64, wrapping uint64 arithmetic), sum (b_j + 1) * p^(j mod 64), computed for all tokens at once with a
segment sum (`np.add.reduceat`), so every byte costs a few array operations. An n-gram's hash mixes its n token hashes with fixed odd multipliers; n-grams that
would cross a document boundary are dropped. A document with fewer than n tokens is represented by its
token hashes (or one constant for an empty one), so it still has a signature.
"""

from __future__ import annotations

import numpy as np

_P = np.uint64(0x100000001B3)  # FNV prime: odd, so it has an inverse mod 2^64
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB, 0xBF58476D1CE4E5B9,
                 0x2545F4914F6CDD1D, 0x9FB21C651E98DF25, 0xA0761D6478BD642F, 0xE7037ED1A0B428DB,
                 0x8EBC6AF09C88C6E3], dtype=np.uint64)
_EMPTY = np.uint64(0x5BD1E995)
_WORD = np.zeros(256, dtype=bool)
for _c in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_":
    _WORD[_c] = True
_WORD[128:] = True


_POW = np.ones(64, dtype=np.uint64)
with np.errstate(over="ignore"):
    for _i in range(1, 64):
        _POW[_i] = _POW[_i - 1] * _P


def token_hashes(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(token hashes uint64 (T,), document of each token int64 (T,)) for all documents, in order."""
    buf = np.frombuffer("\0".join(texts).encode("utf-8", errors="replace"), dtype=np.uint8)
    idx_type = np.int32 if buf.size < 2**31 else np.int64  # half the memory traffic for every index array
    w_idx = np.flatnonzero(_WORD[buf]).astype(idx_type)  # (W,) positions of word bytes
    if w_idx.size == 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    # a word byte starts a token when the byte before it is not a word byte
    gap = np.empty(w_idx.size, dtype=bool)
    gap[0] = True
    np.not_equal(w_idx[1:], w_idx[:-1] + 1, out=gap[1:])
    first = np.flatnonzero(gap).astype(idx_type)  # (T,) index into w_idx of each token's first byte
    offset = np.arange(w_idx.size, dtype=idx_type) - first[np.cumsum(gap, dtype=idx_type) - 1]  # byte within token
    with np.errstate(over="ignore"):
        vals = (buf[w_idx].astype(np.uint64) + np.uint64(1)) * _POW[offset & 63]
        hashes = np.add.reduceat(vals, first) * _MIX[12] + _MIX[3]
    # documents are separated by NUL bytes: a token's document is the number of separators before it
    doc = np.searchsorted(np.flatnonzero(buf == 0), w_idx[first], side="right").astype(np.int64)
    return hashes, doc


def ngram_hashes(texts: list[str], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n-gram hashes uint64 (G,), row offsets int64 (D+1,), tokens per document int64 (D,)):
    document d owns hashes[off[d]:off[d+1]]."""
    d_count = len(texts)
    tok, doc = token_hashes(texts)
    counts = np.bincount(doc, minlength=d_count) if tok.size else np.zeros(d_count, np.int64)
    if tok.size >= n:
        with np.errstate(over="ignore"):
            g = tok[: tok.size - n + 1] * _MIX[0]
            for k in range(1, n):
                g = g ^ (tok[k: tok.size - n + 1 + k] * _MIX[k % len(_MIX)])
                g = g * _MIX[(k + 7) % len(_MIX)]
        same_doc = doc[: tok.size - n + 1] == doc[n - 1:]
        g, g_doc = g[same_doc], doc[: tok.size - n + 1][same_doc]
    else:
        g, g_doc = np.zeros(0, np.uint64), np.zeros(0, np.int64)
    # short documents: their token hashes; empty ones: one constant
    short = counts < n
    if short.any():
        take = short[doc] if tok.size else np.zeros(0, bool)
        empty = np.flatnonzero(counts == 0)
        g = np.concatenate([g, tok[take], np.full(empty.size, _EMPTY, np.uint64)])
        g_doc = np.concatenate([g_doc, doc[take], empty])
        order = np.argsort(g_doc, kind="stable")
        g, g_doc = g[order], g_doc[order]
    offsets = np.zeros(d_count + 1, np.int64)
    np.cumsum(np.bincount(g_doc, minlength=d_count), out=offsets[1:])
    return g, offsets, counts
