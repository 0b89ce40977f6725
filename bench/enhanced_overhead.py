"""Step-time overhead of enhanced batches from a remote generator, and retrieval latency at the trainer.

    python bench/enhanced_overhead.py   # -> bench/results/enhanced_overhead.json

Same trainer config (CPU model 4x4x128, batch 64, block 256) at p = 0 and p = 0.5 against a generator
service on this machine (real redis-server, real gRPC on loopback). The ring is warmed first and the
generator then pauses (pause_when_fresh), so the p = 0.5 step time measures the enhanced path itself;
runs alternate p0 / p0.5 to cancel drift. `step_ms_p05_generating` is the same p = 0.5 run with the
generator producing flat out on the same 2 cores. Retrieval latency: `mix()` of a (64, 256) batch
(composition + taking fragments from the prefetched stream + row replacement), p50/p99 over calls
paced like training steps.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import grpc
import numpy as np
import torch
from tqdm import tqdm

from bench._results import write_results
from bench._stack import ROOT, ensure_char_data, free_port, quick_checkpoint, start_redis
from moredata.cli import CliParser
from moredata.rpc.proto import generator_pb2, generator_pb2_grpc
from moredata.training.config import load_settings
from moredata.training.loop import TrainingLoop

ITERS, ROUNDS = 30, 3


def start_generator(flags: list[str]):
    import subprocess

    return subprocess.Popen([sys.executable, "-m", "services.generator", *flags], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def status(stub):
    """GetStatus, waiting for the generator process to come up."""
    for _ in range(600):
        try:
            return stub.GetStatus(generator_pb2.GetStatusRequest(), timeout=2)
        except grpc.RpcError:
            time.sleep(0.1)
    raise SystemExit("generator did not come up")


def main() -> None:
    CliParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    torch.set_num_threads(2)
    data_dir = ensure_char_data()
    work = Path(tempfile.mkdtemp())
    quick_checkpoint(data_dir, work / "seed")
    redis_proc, redis_port = start_redis()
    port = free_port()
    gen_flags = [f"--address=127.0.0.1:{port}", f"--redis_url=redis://127.0.0.1:{redis_port}/0",
                 f"--data_dir={data_dir}", f"--checkpoint_dir={work}", "--checkpoint=seed/best.pt",
                 "--enhanced_buffer_size=1024", "--enhanced_generation_batch_size=32", "--device=cpu"]
    # the generator runs as its own process, as in a deployment (no shared GIL with the trainer)
    gen = start_generator(gen_flags + ["--paced=false", "--pause_when_fresh=true"])
    stub = generator_pb2_grpc.GeneratorServiceStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
    try:
        bar = tqdm(desc="warming the ring", total=1024, unit="frag")
        while (st := status(stub)).buffer_current_version < 1024:
            bar.n = st.buffer_current_version
            bar.refresh()
            time.sleep(0.5)
        bar.close()
        base = {"data_dir": data_dir, "device": "cpu", "n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 256,
                "batch_size": 64, "gradient_accumulation_steps": 1, "max_iters": ITERS, "eval_interval": 10**6,
                "eval_iters": 1, "log_interval": 1, "warmup_iters": 0, "lr_decay_iters": ITERS, "progress": False,
                "plot": False, "learning_rate": 1e-3, "min_lr": 1e-4}

        def step_ms(p: float, tag: str) -> float:
            flags = {**base, "out_dir": work / tag, "enhanced_data_probability": p}
            if p > 0:
                flags.update(generator=f"127.0.0.1:{port}", max_prefix_length=64)
            t = TrainingLoop(load_settings([f"--{k}={v}" for k, v in flags.items()]))
            if p > 0:  # let the prefetch queue fill, as it has in a long run
                time.sleep(1.0)
            t.run()
            rows = [json.loads(x) for x in (work / tag / "metrics.jsonl").read_text().splitlines()]
            ms = [r["ms"] for r in rows if r["type"] == "train" and r["iter"] >= 3]  # skip warm-up steps
            if p > 0:
                assert rows[-1]["enhanced_rows"] > 0, "no enhanced rows were served"
            return statistics.median(ms)

        p0, p05 = [], []
        for i in tqdm(range(ROUNDS), desc="p0 / p0.5 rounds"):
            p0.append(step_ms(0.0, f"p0_{i}"))
            p05.append(step_ms(0.5, f"p05_{i}"))
        gen.terminate()
        gen.wait()
        gen = start_generator(gen_flags + ["--paced=false"])  # flat out on the same cores
        while status(stub).model.model_version == 0:
            time.sleep(0.2)
        generating = step_ms(0.5, "p05_gen")
        gen.terminate()
        gen.wait()
        gen = start_generator(gen_flags + ["--paced=false", "--pause_when_fresh=true"])
        while status(stub).buffer_current_version < 1024:
            time.sleep(0.2)

        # retrieval latency at the trainer: mix() on a (64, 256) batch, paced like a training step
        from moredata.training.enhanced_mixer import EnhancedBatchMixer

        cfg = load_settings([f"--{k}={v}" for k, v in {**base, "out_dir": work / "lat", "generator": f"127.0.0.1:{port}",
                                                       "enhanced_data_probability": 0.5, "max_prefix_length": 64}.items()])
        mixer = EnhancedBatchMixer(cfg, None, np.dtype("<u2"), 0, 65)
        time.sleep(1.0)
        lat = []
        x = torch.zeros(64, 256, dtype=torch.long)
        y = torch.zeros(64, 256, dtype=torch.long)
        for _ in tqdm(range(400), desc="retrieval latency"):
            t0 = time.perf_counter()
            mixer.mix(x, y)
            lat.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.02)
        fallbacks = mixer.stats.fallback_rows
        mixer.close()
    finally:
        gen.terminate()
        redis_proc.terminate()
    r = {
        "step_ms_p0": round(statistics.median(p0), 2),
        "step_ms_p05": round(statistics.median(p05), 2),
        "overhead_pct": round(100 * (statistics.median(p05) / statistics.median(p0) - 1), 2),
        "step_ms_p05_generating": round(generating, 2),
        "retrieval_p50_ms": round(float(np.percentile(lat, 50)), 3),
        "retrieval_p99_ms": round(float(np.percentile(lat, 99)), 3),
        "retrieval_fallback_rows": fallbacks,
        "rounds": {"p0": p0, "p05": p05},
        "config": {"batch_size": 64, "block_size": 256, "model": "4x4x128", "iters_per_run": ITERS,
                   "cpu_threads": torch.get_num_threads()},
    }
    print(f"{'step ms p=0':<26}{r['step_ms_p0']:>10.1f}")
    print(f"{'step ms p=0.5':<26}{r['step_ms_p05']:>10.1f}")
    print(f"{'overhead':<26}{r['overhead_pct']:>9.2f}%  (target < 3%)")
    print(f"{'step ms p=0.5 generating':<26}{r['step_ms_p05_generating']:>10.1f}")
    print(f"{'retrieval p50 ms':<26}{r['retrieval_p50_ms']:>10.3f}")
    print(f"{'retrieval p99 ms':<26}{r['retrieval_p99_ms']:>10.3f}  (target < 2 ms)")
    out = ROOT / "bench" / "results" / "enhanced_overhead.json"
    write_results(out, r, indent=2)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
