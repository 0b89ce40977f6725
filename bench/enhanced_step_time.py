"""What the in-process generator costs the trainer, per phase: step time against p = 0 on the same iterations.

    python bench/enhanced_step_time.py            # -> bench/results/enhanced_step_time.json (+ .png)

The README's main job (shakespeare_char_cpu, whole tiny Shakespeare, torch's default threads), 1000
iterations, every iteration logged. Runs, one after another: p = 0, auto, p = 0.2 fixed, p = 0 again (the
machine's drift). A run's phases (moredata/training/enhanced_mixer.py: before the generator has a model,
generator running with p = 0, rows drawn) are compared with the mean of the two p = 0 runs' step times on
the same iterations, evaluations excluded. Also: fragment reuse, the ring's fill and the generator's busy
seconds over the run (the PNG).
"""
from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path

from bench._results import write_results
from bench._stack import ROOT, ensure_char_data
from moredata.cli import CliParser
from moredata.figures import pyplot, save_png
from moredata.jsonl import read_jsonl
from moredata.text_table import grid
from moredata.training.config import load_settings
from moredata.training.loop import TrainingLoop

OUT = ROOT / "bench" / "results" / "enhanced_step_time.json"
RUNS = [("p0", "0"), ("auto", "auto"), ("p0.2", "0.2"), ("p0_again", "0")]


def train(name: str, p: str, data: Path, work: Path, iters: int) -> list[dict]:
    out = work / name
    argv = ["shakespeare_char_cpu", f"--data_dir={data}", f"--out_dir={out}", f"--max_iters={iters}",
            f"--lr_decay_iters={iters}", "--log_interval=1", f"--enhanced_data_probability={p}", "--progress=False",
            "--plot=False", "--init_from=scratch"]
    s = TrainingLoop(load_settings(argv)).run()
    print(f"{name}: best {s.best_val_loss:.4f}, ms/iter by phase {json.dumps(s.ms_per_iter_by_phase)}", flush=True)
    return [r for r in read_jsonl(out / "metrics.jsonl") if r.get("type") == "train"]


def per_phase(rows: list[dict], base: dict[int, float]) -> dict:
    """Mean step time of each phase of `rows` and of the baseline on the same iterations."""
    out = {}
    for phase in dict.fromkeys(r.get("phase", "no_generator") for r in rows):
        its = [r["iter"] for r in rows if r.get("phase", "no_generator") == phase and r["iter"] in base]
        its = [i for i in its if i > 0]  # iteration 0 holds start-up work
        if not its:
            continue
        # means, not medians: a generator round slows the few steps it overlaps, and a median hides them
        ms = statistics.fmean(r["ms"] for r in rows if r["iter"] in its and r.get("phase", "no_generator") == phase)
        b = statistics.fmean(base[i] for i in its)
        out[phase] = {"iters": len(its), "mean_ms": round(ms, 2), "p0_mean_ms": round(b, 2),
                      "overhead": round(ms / b - 1, 4)}
    return out


def plot(runs: dict[str, list[dict]], png: Path) -> None:
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(9, 6.5), dpi=110, sharex=True)
    for name, rows in runs.items():
        its = [r["iter"] for r in rows]
        ms = [r["ms"] for r in rows]
        k = 25  # a running mean over 25 iterations: the per-iteration times are noisy
        smooth = [statistics.fmean(ms[max(0, i - k):i + 1]) for i in range(len(ms))]
        a1.plot(its, smooth, lw=1, label=name)
        if "buffer_fill" in rows[-1]:
            a2.plot(its, [r["buffer_fill"] for r in rows], lw=1, label=f"{name}: ring fill")
            a2.plot(its, [r.get("fragments_written", 0) for r in rows], lw=1, ls="--",
                    label=f"{name}: fragments written")
    a1.set(ylabel="ms per iteration (running mean of 25)", title="in-process generator: step time by phase")
    a2.set(xlabel="iteration", ylabel="fragments")
    for a in (a1, a2):
        a.grid(alpha=0.3)
        a.legend(fontsize=7)
    save_png(fig, png)


def main() -> None:
    ap = CliParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iters", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    data = ensure_char_data()
    work = Path(tempfile.mkdtemp(prefix="enhanced-step-"))
    runs = {name: train(name, p, data, work, args.iters) for name, p in RUNS}
    base = {}
    for r0, r1 in zip(runs["p0"], runs["p0_again"]):
        base[r0["iter"]] = (r0["ms"] + r1["ms"]) / 2
    phases = {name: per_phase(runs[name], base) for name in ("auto", "p0.2")}
    drift = statistics.fmean(r["ms"] for r in runs["p0_again"][1:]) / statistics.fmean(r["ms"] for r in runs["p0"][1:]) - 1
    last = {name: {k: runs[name][-1].get(k) for k in ("enhanced_rows", "fallback_rows", "fragments_written",
                                                      "fragment_reuse", "buffer_fill", "generator_busy_s",
                                                      "generator_batch", "enhanced_p")} for name in ("auto", "p0.2")}
    print(grid(["run", "phase", "iters", "ms/iter (mean)", "p = 0 same iters", "overhead"],
               [[n, ph, v["iters"], f"{v['mean_ms']:.1f}", f"{v['p0_mean_ms']:.1f}", f"{v['overhead']:+.1%}"]
                for n, d in phases.items() for ph, v in d.items()]))
    print(f"p = 0 run against itself later (drift): {drift:+.1%}")
    print(grid(["run", "enhanced rows", "fragments written", "reuse", "generator busy s"],
               [[n, v["enhanced_rows"], v["fragments_written"], v["fragment_reuse"], v["generator_busy_s"]]
                for n, v in last.items()]))
    png = args.out.with_suffix(".png")
    plot(runs, png)
    write_results(args.out, {"iters": args.iters, "phases": phases, "p0_drift": round(drift, 4), "end": last,
                             "config": "shakespeare_char_cpu (torch default threads)", "png": png.name})
    print(f"wrote {args.out} and {png}")


if __name__ == "__main__":
    main()
