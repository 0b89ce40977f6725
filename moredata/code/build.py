"""The whole code-data pipeline: files -> samples -> dedup -> decontamination -> balance -> JSONL.

Per-file work (read, split, augment, score, instruct) runs in a local process pool, or as Ray tasks with
`ray=ADDRESS|auto|local`; the corpus-wide steps (exact and near dedup, decontamination, language balance)
then run over every sample at once, vectorised, with the LSH bucketing as a Ray Data group-by when Ray is
used. The output is written atomically (temp file + rename; gzip when the name ends in `.gz`), one JSON
object per line, in a reproducible order (file path, then line, then kind).
"""

from __future__ import annotations

import contextlib
import fnmatch
import gzip
import io
import json
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Literal

import numpy as np
from pydantic import Field, field_validator
from tqdm import tqdm

from moredata.atomic import atomic_write_with, check_output_file
from moredata.code.augmentations import AUGMENTATIONS, augment
from moredata.code.dedup import Decontaminator, DedupOptions, exact_dedup, near_dedup
from moredata.code.instructions import InstructionBook
from moredata.code.quality import file_signals, sample_quality, sampling_weight
from moredata.code.sources import SourceFile, check_source, read_source, root_labels, walk_sources
from moredata.code.splitter import FileSplitter, SplitOptions
from moredata.errors import InvalidArgument
from moredata.options import Options
from moredata.parallel import ChunkExecutor


class BuildOptions(Options):
    seed: int = 0
    max_file_bytes: int = Field(1_000_000, ge=1)  # larger files are skipped (generated data, vendored bundles)
    split: SplitOptions = SplitOptions()
    augmentations: tuple[str, ...] = AUGMENTATIONS
    templates_file: str | None = None  # extra instruction templates ({task: [template, ...]})
    quality_k: float = 5.0  # weight = exp(k * (quality - 0.7))
    min_quality: float = Field(0.05, ge=0.0, le=1.0)  # samples under this (the hard filters give 0) are dropped
    exact_dedup: bool = True
    near_dedup: bool = True
    dedup: DedupOptions = DedupOptions()
    benchmarks: tuple[str, ...] = ("humaneval",)  # decontaminate against these ('humaneval' or files)
    decontam_ngram: int = Field(10, ge=1)
    # 0: no cap; "auto": 2x the median language count; N: at most N per language
    max_per_language: int | Literal["auto"] = 0
    exclude: tuple[str, ...] = ()  # glob patterns (fnmatch on the path below its source root) left out
    workers: int = Field(1, ge=1)
    files_per_task: int = Field(32, ge=1)
    ray: str | None = None
    progress: bool = True

    @field_validator("augmentations")
    @classmethod
    def _known(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(names) - set(AUGMENTATIONS)
        if unknown:
            raise ValueError(f"unknown augmentations {sorted(unknown)}; known: {', '.join(AUGMENTATIONS)}")
        return names

    @field_validator("max_per_language", mode="before")
    @classmethod
    def _cap(cls, cap):
        if cap == "auto" or (isinstance(cap, int) and not isinstance(cap, bool) and cap >= 0):
            return cap
        raise ValueError("must be 0 (no cap), a positive count or 'auto'")


# -- per file --------------------------------------------------------------------------------------------
def samples_of_file(source: SourceFile, opts: BuildOptions, book: InstructionBook,
                    splitter: FileSplitter | None = None) -> list[dict]:
    """Split, augment, score and instruct one decoded file."""
    splitter = splitter or FileSplitter(opts.split)
    data = source.data
    base = splitter.split(source, opts.seed)
    out = []
    for s in base:
        out.append(s)
        rng = random.Random(f"{opts.seed}:{s.path}:{s.start_line}:{s.kind}:{s.name}")
        out += augment(s, data, rng, opts.augmentations, source.module)
    rows, seen = [], set()
    file = file_signals(source.path, source.text)
    for s in out:
        s.quality = sample_quality(s, file)
        s.weight = round(sampling_weight(s.quality, opts.quality_k), 6)
        s.instruction = book.instruction(s, opts.seed)
        # the unit is the code a sample comes from (its definition, or the fallback's text): dedup compares
        # units, so a function's completion, docstring and augmented samples stand or fall together
        span = s.meta.pop("def_span", None) or s.meta.get("completion_span")
        s.meta.pop("completion_span", None)
        unit = f"{s.path}:{span[0]}-{span[1]}" if span else f"{s.path}:{s.start_line}"
        row = s.to_dict()
        row["meta"]["unit"] = unit
        row["_unit_text"] = None  # the unit's text travels once, with its first sample
        if unit not in seen:
            seen.add(unit)
            row["_unit_text"] = data[span[0]:span[1]].decode("utf-8", "replace") if span else s.context + s.completion
        rows.append(row)
    return rows


def _samples_of_sources(decoded: Iterable[tuple[SourceFile | None, str | None]], opts: BuildOptions
                        ) -> tuple[list[dict], Counter, int, int]:
    """(samples, skipped by reason, files read, bytes read) for decoded files (None + the skip reason)."""
    book, splitter = InstructionBook.with_user_file(opts.templates_file), FileSplitter(opts.split)
    rows, skipped, files, nbytes = [], Counter(), 0, 0
    for source, reason in decoded:
        if source is None:
            skipped[reason] += 1
            continue
        files += 1
        nbytes += len(source.data)
        rows += samples_of_file(source, opts, book, splitter)
    return rows, skipped, files, nbytes


def _work(items: list[tuple[str, str, str]], opts: BuildOptions) -> tuple[list[dict], Counter, int, int]:
    """A batch of (path, root, root label) on disk: the unit of work of a process or a Ray task."""
    return _samples_of_sources((read_source(path, root, opts.max_file_bytes, label) for path, root, label in items),
                               opts)


def samples_of_blobs(blobs: Iterable[tuple[str, bytes]], opts: BuildOptions) -> tuple[list[dict], Counter, int, int]:
    """Like `_work` for in-memory files (the RPC): (name, content) pairs."""
    return _samples_of_sources((check_source(name, data, opts.max_file_bytes) for name, data in blobs), opts)


def ray_pair_finder(keys: np.ndarray) -> np.ndarray:
    """LSH bucketing as a distributed group-by (Ray Data): rows (band key, sample) grouped by key, each
    bucket of two or more emitting (first, member) pairs."""
    import pyarrow as pa
    import ray

    n, bands = keys.shape
    table = pa.table({"key": keys.ravel(), "idx": np.repeat(np.arange(n, dtype=np.int64), bands)})

    def bucket(batch: dict) -> dict:
        idx = np.sort(batch["idx"])
        return {"a": np.full(max(0, idx.size - 1), idx[0] if idx.size else 0, dtype=np.int64), "b": idx[1:]}

    out = ray.data.from_arrow(table).groupby("key").map_groups(bucket, batch_format="numpy")
    parts = [p for p in ray.get(out.to_numpy_refs()) if len(p["a"])]
    if not parts:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.stack([np.concatenate([p["a"] for p in parts]), np.concatenate([p["b"] for p in parts])], axis=1)
    return np.unique(np.sort(pairs, axis=1), axis=0)


# -- corpus-wide steps -----------------------------------------------------------------------------------
def balance(languages: list[str], quality: np.ndarray, cap: int | str) -> tuple[np.ndarray, int]:
    """Keep mask capping each language at `cap` samples, best quality first; "auto" = 2x the median count
    (it suits corpora where every language is there on purpose; one stray file per language drags it down)."""
    counts = Counter(languages)
    if cap == "auto":
        cap = int(2 * np.median(list(counts.values()))) if counts else 0
    keep = np.ones(len(languages), dtype=bool)
    if cap <= 0:
        return keep, 0
    lang = np.array(languages)
    for name, n in counts.items():
        if n > cap:
            idx = np.flatnonzero(lang == name)
            order = idx[np.lexsort((idx, -quality[idx]))]
            keep[order[cap:]] = False
    return keep, cap


def finish(rows: list[dict], opts: BuildOptions, summary: dict, log: Callable[[str], None] = lambda m: None,
           pair_finder=None, book: InstructionBook | None = None, decontam: Decontaminator | None = None) -> list[dict]:
    """Quality floor, dedup, decontamination and balance over all samples; fills the summary's counts.
    `book` and `decontam`: the instruction book and decontaminator the caller already built from `opts`."""
    book = book or InstructionBook.with_user_file(opts.templates_file)
    rows.sort(key=lambda r: (r["path"], r["start_line"], r["kind"], r["name"]))
    summary["samples_split"] = len(rows)
    summary["kinds_before"] = dict(Counter(r["kind"] for r in rows))
    rows = [r for r in rows if r["quality"] >= opts.min_quality]
    summary["low_quality_removed"] = summary["samples_split"] - len(rows)
    # dedup works on units (the definitions samples come from): (U,) texts and best quality
    unit_index: dict[str, int] = {}
    unit_texts, unit_q = [], []
    for r in rows:
        text = r.pop("_unit_text", None)
        u = unit_index.setdefault(r["meta"]["unit"], len(unit_index))
        if u == len(unit_texts):
            unit_texts.append(text if text is not None else r["context"] + r["completion"])
            unit_q.append(r["quality"])
        else:
            unit_q[u] = max(unit_q[u], r["quality"])
    of_row = np.array([unit_index[r["meta"]["unit"]] for r in rows], dtype=np.int64)
    uq = np.array(unit_q, dtype=np.float64)
    alive = np.ones(len(unit_texts), dtype=bool)
    summary["units"] = len(unit_texts)
    if opts.exact_dedup and unit_texts:
        alive = exact_dedup(unit_texts, uq)
    summary["exact_duplicates"] = int((~alive).sum())
    summary["near_duplicates"], summary["lsh"] = 0, {}
    if opts.near_dedup and alive.any():
        idx = np.flatnonzero(alive)
        log(f"near-dedup: MinHash over {idx.size:,} units")
        bar = tqdm(total=idx.size, desc="minhash", unit="unit", disable=not opts.progress)
        keep, stats = near_dedup([unit_texts[i] for i in idx], uq[idx], opts.dedup, progress=bar.update,
                                 pair_finder=pair_finder)
        bar.close()
        alive[idx[~keep]] = False
        summary["near_duplicates"], summary["lsh"] = stats["removed"], stats
    summary["samples_removed_as_duplicates"] = int((~alive[of_row]).sum())
    rows = [r for r, k in zip(rows, alive[of_row]) if k]
    of_row = of_row[alive[of_row]]
    summary["decontaminated"], summary["decontaminated_definitions"], summary["benchmark_leaks"] = 0, 0, 0
    if opts.benchmarks and rows:
        decontam = decontam or Decontaminator(list(opts.benchmarks), opts.decontam_ngram)
        bad = decontam.contaminated([decontam_text(r) for r in rows])
        # per definition: a benchmark solution's renamed or augmented samples may share no 10-gram with it,
        # so every sample of a definition goes when any one of them matches
        bad_units = np.unique(of_row[bad])
        drop = np.isin(of_row, bad_units)
        summary["decontaminated"], summary["decontaminated_definitions"] = int(drop.sum()), int(bad_units.size)
        # kept samples that matched a benchmark themselves (must be 0: a match drops its whole definition)
        summary["benchmark_leaks"] = int((bad & ~drop).sum())
        rows = [r for r, d in zip(rows, drop) if not d]
    q = np.array([r["quality"] for r in rows], dtype=np.float64)
    langs = [r["language"] for r in rows]
    summary["languages_before_balance"] = dict(sorted(Counter(langs).items()))
    keep, cap = balance(langs, q, opts.max_per_language)
    summary["language_cap"] = cap
    rows = [r for r, k in zip(rows, keep) if k]
    after = Counter(r["language"] for r in rows)
    summary["languages_after_balance"] = dict(sorted(after.items()))
    summary["language_shares"] = {k: round(v / len(rows), 4) for k, v in sorted(after.items())} if rows else {}
    summary["kinds"] = dict(sorted(Counter(r["kind"] for r in rows).items()))
    summary["samples"] = len(rows)
    summary["instruction_kind_mismatches"] = book.mismatches(rows)
    quality = np.array([r["quality"] for r in rows], dtype=np.float64)
    summary["mean_quality"] = round(float(quality.mean()), 4) if rows else 0.0
    counts, edges = np.histogram(quality, bins=10, range=(0.0, 1.0))
    summary["quality_k"] = opts.quality_k
    summary["quality_histogram"] = {"edges": [round(float(e), 2) for e in edges], "counts": counts.tolist()}
    summary["quality_quartiles"] = [round(float(x), 4) for x in np.quantile(quality, [0.25, 0.5, 0.75])] if rows else []
    return rows


def decontam_text(r: dict) -> str:
    """All a model trains on from a sample: its instruction, the whole context and the completion."""
    return f"{r['instruction']}\n{r['context']}\n{r['completion']}"


def write_jsonl(path: str, rows: Iterable[dict]) -> None:
    """Atomic (temp file + rename, the folder created when missing); gzip when the name ends in `.gz`."""
    def write(f) -> None:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0) if path.endswith(".gz") else contextlib.nullcontext(f) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
            for r in rows:
                text.write(json.dumps(r, ensure_ascii=False) + "\n")
            text.flush()
            text.detach()

    try:
        atomic_write_with(path, write)
    except OSError as e:
        raise InvalidArgument(f"cannot write {path}: {e.strerror}") from None


def build_dataset(roots: list[str], out: str | None, opts: BuildOptions,
                  log: Callable[[str], None] = print) -> tuple[list[dict], dict]:
    """Run the pipeline over source directories (or files); writes `out` when given. (rows, summary)."""
    if out is not None:
        check_output_file(out)  # an existing directory there failed only after all the work
    book = InstructionBook.with_user_file(opts.templates_file)  # a bad templates file fails before any work
    # so does an unreadable benchmark
    decontam = Decontaminator(list(opts.benchmarks), opts.decontam_ngram) if opts.benchmarks else None
    for r in roots:
        if not os.path.exists(r):
            raise InvalidArgument(f"source {r} does not exist")
    t0 = time.perf_counter()
    labels = root_labels(roots)
    items = [(p, r, labels[root]) for root in roots for p, r in walk_sources([root])
             if not any(fnmatch.fnmatch(os.path.relpath(p, r) if r else p, pat) for pat in opts.exclude)]
    batches = [items[i: i + opts.files_per_task] for i in range(0, len(items), opts.files_per_task)]
    rows, skipped, files, nbytes = [], Counter(), 0, 0
    with ChunkExecutor(opts.workers, opts.ray) as executor:
        results = executor.map(_work_star, [(b, opts) for b in batches], ordered=False)
        bar = tqdm(total=len(items), desc="files", unit="file", disable=not opts.progress)
        for r, s, f, b in results:
            rows += r
            skipped += s
            files += f
            nbytes += b
            bar.update(f + sum(s.values()))
            bar.set_postfix(samples=len(rows))
        bar.close()
    summary = {"files_seen": len(items), "files_read": files, "mb_read": round(nbytes / 2**20, 2),
               "files_skipped": dict(sorted(skipped.items()))}
    summary["split_seconds"] = round(time.perf_counter() - t0, 2)
    rows = finish(rows, opts, summary, log, ray_pair_finder if opts.ray is not None else None, book, decontam)
    if out:
        write_jsonl(out, rows)
        summary["out"] = out
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    return rows, summary


def _work_star(args):
    return _work(*args)


def build_from_blobs(blobs: list[tuple[str, bytes]], opts: BuildOptions,
                     is_active: Callable[[], bool] = lambda: True) -> tuple[list[dict], dict] | None:
    """The pipeline over in-memory files (the RPC); None when `is_active()` turns false (client gone)."""
    t0 = time.perf_counter()
    rows, skipped, files, nbytes = [], Counter(), 0, 0
    for i in range(0, len(blobs), opts.files_per_task):
        if not is_active():
            return None
        r, s, f, b = samples_of_blobs(blobs[i: i + opts.files_per_task], opts)
        rows += r
        skipped += s
        files += f
        nbytes += b
    summary = {"files_seen": len(blobs), "files_read": files, "mb_read": round(nbytes / 2**20, 2),
               "files_skipped": dict(sorted(skipped.items())), "split_seconds": round(time.perf_counter() - t0, 2)}
    if not is_active():
        return None
    rows = finish(rows, opts, summary)
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    return rows, summary
