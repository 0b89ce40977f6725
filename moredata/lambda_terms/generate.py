"""Chunked, parallel, resumable generation of reduction-trace examples into one JSONL (or .jsonl.gz) file.

    summary = generate(GenerateJob(Path("traces.jsonl.gz"), 15_000_000, seed=7, workers=16))

The run is cut into chunks of `chunk_size` examples, as many as the count needs (no cap anywhere). Each
chunk's seed comes from (run seed, chunk id) through numpy's SeedSequence, so no two chunks share one and
the file is the same for any number of workers. Chunks are computed by a local process pool (or inline
with one worker, or as tasks on a Ray cluster with `ray`) and written in chunk order, each followed by an atomic update of `<out>.progress.json`
(chunks written, bytes, examples); after an interrupt the same command resumes: the file is cut back to
the last whole chunk and finished chunks are skipped. A `.gz` name writes each chunk as one gzip member
(a multi-member gzip file, read by every gzip reader). With `dedup`, an (input, target) pair seen before
is dropped and further chunks are generated until the exact count is reached. Without dedup every trace in
the file is whole (see traces.py); with it, a trace misses the steps dropped as repeats.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import time
from pathlib import Path

from pydantic import Field
from tqdm import tqdm

from moredata.atomic import atomic_write_text, output_lock
from moredata.errors import FailedPrecondition
from moredata.jsonl import read_jsonl
from moredata.lambda_terms.traces import TraceSettings, chunk_lines
from moredata.options import Options
from moredata.parallel import ChunkExecutor


class GenerateJob(Options):
    out: Path
    count: int = Field(ge=1)
    seed: int | None = Field(None, ge=0)  # None: time-based, printed and stored in every example
    workers: int = Field(1, ge=1)
    chunk_size: int = Field(1000, ge=1)
    dedup: bool = False
    settings: TraceSettings = TraceSettings()
    progress: bool = True
    ray: str | None = None  # a Ray cluster address, "auto" (the running cluster) or "local": chunks run there


def progress_path(out: Path) -> Path:
    return out.with_name(out.name + ".progress.json")


def _identity(job: GenerateJob, seed: int) -> dict:
    """What a resumed run must share with the one it continues."""
    return {"seed": seed, "count": job.count, "chunk_size": job.chunk_size, "dedup": job.dedup,
            "settings": job.settings.model_dump(mode="json")}


def _chunk_examples(job: GenerateJob, chunk_id: int) -> int:
    """Examples chunk `chunk_id` makes: chunk_size, the last chunk the rest, so that every chunk (the
    last included) holds whole traces. With dedup the count is reached after dropping repeats, so every
    chunk makes chunk_size and the last one is cut (dedup's traces can miss steps anyway)."""
    if job.dedup:
        return job.chunk_size
    return min(job.chunk_size, job.count - chunk_id * job.chunk_size)


def _work(args) -> tuple[int, list[str]]:
    seed, chunk_id, size, settings = args
    return chunk_id, chunk_lines(seed, chunk_id, size, settings)


WINDOW = 256  # chunks in flight at most


def _pair_key(d: dict) -> bytes:
    """A stable 8-byte key of an example's (input, target) pair (the same in a resumed process)."""
    return hashlib.blake2b(f"{d['input']}\t{d['target']}".encode(), digest_size=8).digest()


def _start_or_resume(job: GenerateJob, out: Path, prog: Path) -> tuple[int, dict]:
    """The run's seed and progress state: a new run's, or the unfinished run's of the same job (refusing
    another job's file, a finished one, or a file that is no run of this command)."""
    state = json.loads(prog.read_text()) if prog.is_file() else None
    if job.seed is not None:
        seed = job.seed
    elif state is not None:  # resuming: the run's own seed
        seed = state["identity"]["seed"]
    else:
        seed = time.time_ns() % 2**63
    if state is not None:
        if state["identity"] != _identity(job, seed):
            raise FailedPrecondition(f"{out} is an unfinished run of another job ({prog}): use the same "
                                     f"count, seed and settings to resume it, or another output name")
        if state.get("done"):
            raise FailedPrecondition(f"{out} is already complete ({state['examples']} examples)")
    elif out.exists():
        raise FailedPrecondition(f"{out} exists and is no unfinished run of this command: choose another name")
    if state is None:
        state = {"identity": _identity(job, seed), "chunks_done": 0, "bytes": 0, "examples": 0, "done": False}
    return seed, state


def generate(job: GenerateJob) -> dict:
    """Writes job.count examples to job.out (resuming an interrupted run of the same job); returns a summary.
    One run per output at a time: a second one refuses at once (FailedPrecondition) instead of appending."""
    with output_lock(job.out):
        return _generate(job)


def _generate(job: GenerateJob) -> dict:
    out, prog = Path(job.out), progress_path(Path(job.out))
    seed, state = _start_or_resume(job, out, prog)
    out.parent.mkdir(parents=True, exist_ok=True)
    seen: set[bytes] = set()
    with open(out, "ab") as f:
        f.truncate(state["bytes"])  # cut a half-written tail
    if job.dedup and state["examples"]:
        seen.update(_pair_key(d) for d in read_jsonl(out))
    zipped = out.name.endswith(".gz")
    start = time.time()
    resumed_from = state["examples"]
    bar = tqdm(total=job.count, initial=state["examples"], unit="ex", dynamic_ncols=True, disable=not job.progress,
               desc=f"generate (seed {seed})", smoothing=0.1)
    with ChunkExecutor(job.workers, job.ray) as executor:
        next_chunk = state["chunks_done"]
        with open(out, "ab") as f:
            while state["examples"] < job.count:
                left = job.count - state["examples"]
                n_new = max(1, -(-left // job.chunk_size)) if not job.dedup else job.workers * 2
                n_new = min(n_new, WINDOW)  # bounded: finished chunks wait in memory only this many deep
                batch = [(seed, c, _chunk_examples(job, c), job.settings) for c in range(next_chunk, next_chunk + n_new)]
                for chunk_id, lines in executor.map(_work, batch):
                    if job.dedup:
                        kept = []
                        for line in lines:
                            key = _pair_key(json.loads(line))
                            if key not in seen:
                                seen.add(key)
                                kept.append(line)
                        lines = kept
                    lines = lines[: job.count - state["examples"]]  # only with dedup: its last chunk
                    data = ("\n".join(lines) + "\n").encode() if lines else b""
                    if zipped and data:
                        data = gzip.compress(data, compresslevel=6)
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                    state.update(chunks_done=chunk_id + 1, bytes=state["bytes"] + len(data),
                                 examples=state["examples"] + len(lines))
                    atomic_write_text(prog, json.dumps(state))
                    bar.update(len(lines))
                    if state["examples"] >= job.count:
                        break
                next_chunk = state["chunks_done"]
    bar.close()
    state["done"] = True
    atomic_write_text(prog, json.dumps(state))
    elapsed = time.time() - start
    made = state["examples"] - resumed_from
    return {"out": str(out), "examples": state["examples"], "chunks": state["chunks_done"], "seed": seed,
            "workers": job.workers, "seconds": round(elapsed, 2), "examples_per_s": round(made / max(elapsed, 1e-9), 1),
            "resumed_from": resumed_from}
