"""Generator throughput: fragments/s and generated tokens/s per enhanced_generation_batch_size,
writing into the in-memory ring and into a real Redis ring.

    python bench/generator_throughput.py   # -> bench/results/generator_throughput.json

Model: a briefly trained 4x4x128 checkpoint with a 256-token context (the CPU bench model); each
round continues `batch` prefixes (8..64 tokens) by block_size + 1 = 257 tokens and cuts one fragment
from each continuation. One warm-up round per cell, then ROUNDS timed rounds.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import redis
import torch
from tqdm import tqdm

from bench._results import write_results
from bench._stack import ROOT, ensure_char_data, quick_checkpoint, start_redis
from moredata.cli import CliParser
from moredata.data.token_files import open_split
from moredata.enhanced.ring_buffer import MemorySampleBuffer, RedisSampleBuffer
from moredata.enhanced.worker import EnhancedSampleGenerator, GenerationSettings

ROUNDS = 3
BATCHES = [4, 16, 64]


def main() -> None:
    CliParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    torch.set_num_threads(2)
    data_dir = ensure_char_data()
    ckpt = quick_checkpoint(data_dir, Path(tempfile.mkdtemp()) / "seed")
    data = open_split(data_dir, "train")
    redis_proc, port = start_redis()
    rows = []
    try:
        bar = tqdm(total=len(BATCHES) * 2, desc="generator throughput", unit="cell")
        for batch in BATCHES:
            for ring in ("memory", "redis"):
                buf = (MemorySampleBuffer(4096, 257) if ring == "memory"
                       else RedisSampleBuffer(redis.Redis(port=port), 4096, 257, prefix=f"bench{batch}"))
                gen = EnhancedSampleGenerator(str(ckpt), data, buf, GenerationSettings(
                    min_prefix_length=8, max_prefix_length=64, temperature=1.0, top_k=200, batch_size=batch,
                    device="cpu", seed=0))
                gen.generate_round()  # warm-up
                t0 = time.perf_counter()
                frags = sum(gen.generate_round() for _ in range(ROUNDS))
                dt = time.perf_counter() - t0
                rows.append({"batch": batch, "ring": ring, "fragments_per_s": round(frags / dt, 2),
                             "generated_tokens_per_s": round(frags * 257 / dt, 1), "ring_size": buf.size()})
                bar.update(1)
        bar.close()
    finally:
        redis_proc.terminate()
    print(f"{'batch':>6} {'ring':>7} {'fragments/s':>12} {'tokens/s':>10}")
    for r in rows:
        print(f"{r['batch']:>6} {r['ring']:>7} {r['fragments_per_s']:>12.1f} {r['generated_tokens_per_s']:>10.0f}")
    out = ROOT / "bench" / "results" / "generator_throughput.json"
    write_results(out, {"rows": rows, "model": "4x4x128, block 256", "device": "cpu (2 threads)", "rounds": ROUNDS})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
