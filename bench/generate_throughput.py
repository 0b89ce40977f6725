"""Generation throughput: the KV-cache path against nanoGPT's no-cache path, same weights, one run.

    python bench/generate_throughput.py          # CPU -> bench/results/generate_cpu.json
    python bench/generate_throughput.py --gpu    # CUDA, static cache + CUDA graphs -> generate_gpu.json

Prefix 64 tokens, 192 new tokens, batch 1, 64 and 256. Every (path, batch) pair is warmed up on its own
shapes first; tokens/s counts new tokens only (batch * 192 / seconds). The no-cache path re-runs the
whole window for each new token, exactly as nanoGPT's GPT.generate. Architecture: shakespeare_char's on
GPU (6 layers, 384 wide), the CPU variant's on CPU (4 layers, 128 wide), each with two contexts:

- block 256: the 64 + 192 tokens fit; both paths see the same tokens at every step (equal outputs
  under greedy decoding, tested in tests/test_generation.py);
- block 64 (the context the CPU config actually trains): both paths run past the context. nanoGPT
  slides a full 64-token window, one forward of 64 tokens per new token; the cached path refills from
  the last 32 tokens when its cache is full, then decodes one token at a time, so each token sees
  between 32 and 64 tokens. Their outputs differ by design there; the cached path equals a no-cache
  forward over its own windows (tested), and the speed ratio is reported for what each does.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch
from tqdm import tqdm

from bench._results import write_results
from moredata.cli import CliParser
from moredata.models.decoder_only import GPT, GPTConfig
from moredata.models.generation import generate, generate_nocache

ROOT = Path(__file__).resolve().parents[1]

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
    ap = CliParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gpu", action="store_true")
    ap.add_argument("--batches", default="1,64,256")
    ap.add_argument("--repeats", type=int, default=1, help="timed runs per cell (the median is kept)")
    args = ap.parse_args()
    device = torch.device("cuda" if args.gpu else "cpu")
    arch = dict(n_layer=6, n_head=6, n_embd=384) if args.gpu else dict(n_layer=4, n_head=4, n_embd=128)
    dtype = torch.bfloat16 if args.gpu else torch.float32
    compile_decode = args.gpu  # static cache + torch.compile(mode="reduce-overhead") on CUDA
    rows = []
    batches = [int(b) for b in args.batches.split(",")]
    blocks = (256, 64)
    bar = tqdm(total=len(blocks) * len(batches) * 2, desc="generate bench", unit="cell")
    for block in blocks:
        cfg = GPTConfig(block_size=block, vocab_size=65, bias=False, **arch)
        torch.manual_seed(1337)
        model = GPT(cfg).to(device=device, dtype=dtype).eval()
        rows += bench_model(model, cfg, block, batches, device, compile_decode, args.repeats, bar)
    bar.close()
    print(f"{'block':>6} {'batch':>6} {'cache tok/s':>12} {'no-cache tok/s':>15} {'speedup':>8}  past context")
    for r in rows:
        print(f"{r['block_size']:>6} {r['batch']:>6} {r['cache_tok_s']:>12.1f} {r['nocache_tok_s']:>15.1f} "
              f"{r['speedup']:>7.1f}x  {'yes' if r['past_context'] else 'no'}")
    result = {
        "rows": rows,
        "device": torch.cuda.get_device_name() if args.gpu else f"cpu ({torch.get_num_threads()} threads)",
        "model": {**arch, "vocab_size": 65, "bias": False}, "dtype": str(dtype).removeprefix("torch."),
        "prefix": PREFIX, "new_tokens": NEW, "static_cache_compiled": compile_decode,
        "what_each_sees": {"256": "the same tokens on both paths (64 + 192 fit the context)",
                           "64": "nanoGPT: a sliding 64-token window; cache: refills from the last 32 tokens, "
                                 "then 32..64 tokens; outputs differ by design"},
        "target_speedup_batch64": 20 if args.gpu else 10,
    }
    out = ROOT / "bench" / "results" / f"generate_{'gpu' if args.gpu else 'cpu'}.json"
    write_results(out, result, indent=2)
    print(f"wrote {out}")


def bench_model(model, cfg, block, batches, device, compile_decode, repeats, bar) -> list[dict]:
    rows = []
    for B in batches:
        x = torch.randint(0, cfg.vocab_size, (B, PREFIX), device=device)
        g = torch.Generator(device=device).manual_seed(0)
        cache_fn = lambda n: generate(model, x, n, temperature=1.0, top_k=None, generator=g,  # noqa: E731
                                      compile=compile_decode)
        nocache_fn = lambda n: generate_nocache(model, x, n, temperature=1.0, generator=g)  # noqa: E731
        times = {}
        for name, fn in (("cache", cache_fn), ("nocache", nocache_fn)):
            fn(NEW if name == "cache" else 8)  # warm-up on this shape (a full run for the cache: CUDA graphs)
            ts = sorted(timed(lambda: fn(NEW), device) for _ in range(repeats))
            times[name] = ts[len(ts) // 2]
            bar.update(1)
        row = {"block_size": block, "past_context": PREFIX + NEW > block, "batch": B,
               "cache_tok_s": round(B * NEW / times["cache"], 1), "nocache_tok_s": round(B * NEW / times["nocache"], 1)}
        row["speedup"] = round(row["cache_tok_s"] / row["nocache_tok_s"], 2)
        rows.append(row)
    return rows


if __name__ == "__main__":
    main()
