"""Training parity with nanoGPT on tiny Shakespeare (char level): same configs, same loss, no slower.

    python bench/train_parity.py            # CPU variant -> bench/results/train_parity_cpu.json
    python bench/train_parity.py --gpu      # shakespeare_char on CUDA -> bench/results/train_parity_gpu.json

nanoGPT references: CPU variant measured on this machine kind (2 cores) at best val 1.8857 at iter 2000,
~50 ms/iter median; GPU config 1.4697 best val (README, A100), ~14 ms/iter on an H100.
"""
from __future__ import annotations

import statistics
from pathlib import Path

from bench._results import write_results
from moredata.cli import CliParser
from moredata.data.prepare import prepare
from moredata.training.config import load_settings
from moredata.training.loop import TrainingLoop

ROOT = Path(__file__).resolve().parents[1]

REFERENCE = {
    "cpu": {"best_val_loss": 1.8857, "ms_per_iter": 50.0, "source": "nanoGPT CPU variant, this machine kind"},
    "gpu": {"best_val_loss": 1.4697, "ms_per_iter": 14.0, "source": "nanoGPT README (A100 loss, H100 ms/iter)"},
}


def main() -> None:
    ap = CliParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gpu", action="store_true", help="run the GPU config (shakespeare_char) on CUDA")
    ap.add_argument("--out_dir", default=None, help="run folder (default runs/bench_parity_<kind>)")
    ap.add_argument("--seeds", default="1337", help="comma-separated seeds; the first (nanoGPT's 1337) is "
                    "the headline figure, the others show run-to-run spread")
    ap.add_argument("--baseline", action="store_true", help="after each of our runs, run nanoGPT's loop "
                    "(bench/_nanogpt_baseline.py) on the same config and seed, for an in-run ms/iter ratio")
    args, extra = ap.parse_known_args()
    kind = "gpu" if args.gpu else "cpu"
    data_dir = ROOT / "data" / "shakespeare_char"
    if not (data_dir / "train.bin").is_file():
        prepare([ROOT / "data" / "tinyshakespeare" / "input.txt"], data_dir)
    config = "shakespeare_char" if args.gpu else "shakespeare_char_cpu"
    out_dir = args.out_dir or str(ROOT / "runs" / f"bench_parity_{kind}")
    flags = [config, f"--data_dir={data_dir}", f"--out_dir={out_dir}"] + extra
    if args.gpu:
        flags += ["--device=cuda", "--compile=True"]
    runs = []
    for seed in [int(x) for x in args.seeds.split(",")]:
        cfg = load_settings(flags + [f"--seed={seed}"])
        s = TrainingLoop(cfg).run()
        runs.append({"seed": seed, "best_val_loss": round(s.best_val_loss, 4), "best_iter": s.best_iter,
                     "last_val_loss": round(s.last_val_loss, 4), "ms_per_iter": round(s.ms_per_iter, 2),
                     "iters": s.iter_num})
        if args.baseline:
            from bench._nanogpt_baseline import train as nanogpt_train

            b = nanogpt_train(cfg.model_dump())
            runs[-1]["nanogpt_replica"] = {k: round(v, 4) for k, v in b.items()}
    head = runs[0]
    ref = REFERENCE[kind]
    result = {
        "config": {"name": config, **{k: v for k, v in cfg.model_dump().items()
                                      if k not in ("out_dir", "data_dir", "seed", "progress")}},
        "best_val_loss": head["best_val_loss"],
        "last_val_loss": head["last_val_loss"],
        "ms_per_iter": head["ms_per_iter"],
        "iters": head["iters"],
        "best_iter": head["best_iter"],
        "seeds": runs,
        "best_val_loss_mean": round(sum(r["best_val_loss"] for r in runs) / len(runs), 4),
        "reference": ref,
        "val_loss_delta": round(head["best_val_loss"] - ref["best_val_loss"], 4),
        "ms_per_iter_ratio": round(head["ms_per_iter"] / ref["ms_per_iter"], 3),
    }
    if args.baseline:
        rep = [r["nanogpt_replica"] for r in runs]
        result["nanogpt_replica_best_val_loss_mean"] = round(sum(r["best_val_loss"] for r in rep) / len(rep), 4)
        result["ms_per_iter_ratio_vs_replica_same_run"] = round(
            statistics.median(r["ms_per_iter"] / r["nanogpt_replica"]["ms_per_iter"] for r in runs), 3)
    rows = [
        ("", "ours", "nanoGPT (reference)"),
        ("best val loss", f"{result['best_val_loss']:.4f}", f"{ref['best_val_loss']:.4f}"),
        ("last val loss", f"{result['last_val_loss']:.4f}", ""),
        ("ms/iter (median)", f"{result['ms_per_iter']:.1f}", f"{ref['ms_per_iter']:.1f}"),
        ("iters", str(result["iters"]), ""),
    ] + [(f"  seed {r['seed']}", f"{r['best_val_loss']:.4f} {r['ms_per_iter']:.1f}ms",
          f"{r['nanogpt_replica']['best_val_loss']:.4f} {r['nanogpt_replica']['ms_per_iter']:.1f}ms"
          if "nanogpt_replica" in r else "") for r in runs]
    print("\n".join(f"{a:<18}{b:>18}{c:>22}" for a, b, c in rows))
    out = ROOT / "bench" / "results" / f"train_parity_{kind}.json"
    write_results(out, result, indent=2)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
