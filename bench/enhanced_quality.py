"""Does enhanced data help? Val loss against the probability p of enhanced rows, on a run that overfits.

    python bench/enhanced_quality.py          # CPU, scaled down -> bench/results/enhanced_quality_cpu.json (+ .png)
    python bench/enhanced_quality.py --gpu    # nanoGPT's shakespeare_char config -> enhanced_quality_gpu.json

The CPU version keeps the idea of the GPU one (a model that overfits tiny Shakespeare) at 2-core scale:
the first 30k characters only (27k train, 3k val), nanoGPT's CPU model (4x4x128, block 64, batch 12), no dropout, 2000
iterations (~57 epochs of the slice). p = 0 is the plain trainer; p > 0 uses the in-process generator,
which follows each better checkpoint. One PNG holds the val curves.
"""
from __future__ import annotations

import io
import tempfile
from pathlib import Path

from bench._results import write_results
from bench._stack import ROOT
from moredata.atomic import atomic_write_bytes
from moredata.cli import CliParser
from moredata.data.prepare import prepare
from moredata.training.config import load_settings
from moredata.training.loop import TrainingLoop

PS = [0.0, 0.1, 0.2, 0.3, 0.5]


def main() -> None:
    ap = CliParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gpu", action="store_true")
    ap.add_argument("--ps", default=",".join(str(p) for p in PS))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp())
    text = (ROOT / "data" / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")
    if args.gpu:
        data_dir = ROOT / "data" / "shakespeare_char"
        if not (data_dir / "train.bin").is_file():
            prepare([ROOT / "data" / "tinyshakespeare" / "input.txt"], data_dir)
        base = ["shakespeare_char", f"--data_dir={data_dir}", "--device=cuda", "--compile=True",
                "--max_prefix_length=128"]
    else:
        src = work / "slice.txt"
        src.write_text(text[:30_000], encoding="utf-8")
        data_dir = work / "data"
        prepare([src], data_dir, block_size=64)
        base = ["shakespeare_char_cpu", f"--data_dir={data_dir}", "--eval_interval=100", "--eval_iters=50",
                "--max_prefix_length=48", "--min_prefix_length=8"]
    rows, curves = [], {}
    for p in [float(x) for x in args.ps.split(",")]:
        out = work / f"p{p}"
        s = TrainingLoop(load_settings(base + [f"--out_dir={out}", f"--enhanced_data_probability={p}",
                                          "--progress=False", "--plot=False"])).run()
        rows.append({"p": p, "best_val_loss": round(s.best_val_loss, 4), "best_iter": s.best_iter,
                     "last_val_loss": round(s.last_val_loss, 4)})
        curves[p] = [(e["iter"], e["val_loss"]) for e in s.evals]
        print(f"p={p}: best {s.best_val_loss:.4f} @ {s.best_iter}, last {s.last_val_loss:.4f}", flush=True)
    kind = "gpu" if args.gpu else "cpu"
    print(f"{'p':>5} {'best val':>10} {'@iter':>6} {'last val':>10}")
    for r in rows:
        print(f"{r['p']:>5} {r['best_val_loss']:>10.4f} {r['best_iter']:>6} {r['last_val_loss']:>10.4f}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    for p, c in curves.items():
        ax.plot([i for i, _ in c], [v for _, v in c], marker="o", ms=2, label=f"p = {p}")
    ax.set_xlabel("iteration")
    ax.set_ylabel("val loss")
    ax.set_title(f"enhanced data vs val loss ({kind}{', 30k-char slice' if kind == 'cpu' else ''})")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    results = ROOT / "bench" / "results"
    atomic_write_bytes(results / f"enhanced_quality_{kind}.png", buf.getvalue())
    write_results(results / f"enhanced_quality_{kind}.json",
                  {"rows": rows, "config": base, "curves": {str(p): c for p, c in curves.items()}})
    print(f"wrote {results / f'enhanced_quality_{kind}.json'}")


if __name__ == "__main__":
    main()
