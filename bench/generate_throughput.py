"""Generation throughput: the KV-cache path against nanoGPT's no-cache path, same weights, one run.

    python bench/generate_throughput.py          # CPU -> bench/results/generate_cpu.json
    python bench/generate_throughput.py --gpu    # CUDA, static cache + CUDA graphs -> generate_gpu.json

Prefix 64 tokens, 192 new tokens, batch 1, 64 and 256. Every (path, batch) pair is warmed up on its own
shapes first; tokens/s counts new tokens only (batch * 192 / seconds). The no-cache path re-runs the
whole sequence for each new token, exactly as nanoGPT's GPT.generate. Model: shakespeare_char's
architecture on GPU (6 layers, 384 wide); on CPU the CPU variant's (4 layers, 128 wide) with the
256-token context the 64 + 192 tokens need, so the no-cache baseline finishes in minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from services.common.atomic import atomic_write_text  # noqa: E402
from services.common.generation import generate, generate_nocache  # noqa: E402
from services.common.model import GPT, GPTConfig  # noqa: E402

PREFIX, NEW = 64, 192


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device) -> float:
    sync(device)
    t0 = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gpu", action="store_true")
    ap.add_argument("--batches", default="1,64,256")
    ap.add_argument("--repeats", type=int, default=1, help="timed runs per cell (the median is kept)")
    args = ap.parse_args()
    device = torch.device("cuda" if args.gpu else "cpu")
    if args.gpu:
        cfg = GPTConfig(block_size=256, vocab_size=65, n_layer=6, n_head=6, n_embd=384, bias=False)
        dtype = torch.bfloat16
    else:
        cfg = GPTConfig(block_size=256, vocab_size=65, n_layer=4, n_head=4, n_embd=128, bias=False)
        dtype = torch.float32
    torch.manual_seed(1337)
    model = GPT(cfg).to(device=device, dtype=dtype).eval()
    compile_decode = args.gpu  # static cache + torch.compile(mode="reduce-overhead") on CUDA
    rows = []
    batches = [int(b) for b in args.batches.split(",")]
    bar = tqdm(total=len(batches) * 2, desc="generate bench", unit="cell")
    for B in batches:
        x = torch.randint(0, cfg.vocab_size, (B, PREFIX), device=device)
        g = torch.Generator(device=device).manual_seed(0)
        cache_fn = lambda n: generate(model, x, n, temperature=1.0, top_k=None, generator=g,  # noqa: E731
                                      compile=compile_decode)
        nocache_fn = lambda n: generate_nocache(model, x, n, temperature=1.0, generator=g)  # noqa: E731
        times = {}
        for name, fn in (("cache", cache_fn), ("nocache", nocache_fn)):
            fn(NEW if name == "cache" else 8)  # warm-up on this shape (a full run for the cache: CUDA graphs)
            ts = sorted(timed(lambda: fn(NEW), device) for _ in range(args.repeats))
            times[name] = ts[len(ts) // 2]
            bar.update(1)
        row = {"batch": B, "cache_tok_s": round(B * NEW / times["cache"], 1),
               "nocache_tok_s": round(B * NEW / times["nocache"], 1)}
        row["speedup"] = round(row["cache_tok_s"] / row["nocache_tok_s"], 2)
        rows.append(row)
    bar.close()
    print(f"{'batch':>6} {'cache tok/s':>12} {'no-cache tok/s':>15} {'speedup':>8}")
    for r in rows:
        print(f"{r['batch']:>6} {r['cache_tok_s']:>12.1f} {r['nocache_tok_s']:>15.1f} {r['speedup']:>7.1f}x")
    result = {
        "rows": rows,
        "device": torch.cuda.get_device_name() if args.gpu else f"cpu ({torch.get_num_threads()} threads)",
        "model": cfg.to_dict(), "dtype": str(dtype).removeprefix("torch."),
        "prefix": PREFIX, "new_tokens": NEW, "static_cache_compiled": compile_decode,
        "target_speedup_batch64": 20 if args.gpu else 10,
    }
    out = ROOT / "bench" / "results" / f"generate_{'gpu' if args.gpu else 'cpu'}.json"
    atomic_write_text(out, json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
