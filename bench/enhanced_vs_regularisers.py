"""Enhanced data against the regularisers users already have: dropout, weight decay, early stopping.

    python bench/enhanced_vs_regularisers.py                  # every corpus and setting, 3 seeds (hours)
    python bench/enhanced_vs_regularisers.py --phases p0      # only the p = 0 dropout grid
    python bench/enhanced_vs_regularisers.py --corpus my.txt --name mine --tokenizer char --overfit
                                                              # the same grid on your own text
    python bench/enhanced_vs_regularisers.py --report         # table, PNGs and JSON from the runs logged so far

Every run is logged to runs/enhanced_vs_regularisers/runs.jsonl as it ends; a second call skips what
is logged (an interrupted bench resumes). Runs go `--workers` at a time, one torch thread each.

Corpora (nanoGPT's CPU model 4x4x128, block 64, batch 12, 2000 iterations, AdamW weight decay 0.1 unless
a row says otherwise). Overfitting (eval every 100 iterations, 50 batches):
- shakespeare30k: the first 30k characters of tiny Shakespeare, char level;
- kjv120k: the first 120k characters of the King James Bible (Debian bible-kjv), byte-level BPE 512;
- cranfield30k: the first 30k characters of the Cranfield abstracts (aerodynamics), char level.
Not overfitting in 2000 iterations:
- shakespeare: the whole of tiny Shakespeare (the README's main job, its config as shipped);
- cranfield60k: the first 60k characters of the Cranfield abstracts (eval every 100 iterations).

Grid per overfitting corpus (3 seeds each): p = 0 at dropout 0 / 0.1 / 0.2; at the best of those
dropouts (lowest mean best val) p = 0 with weight decay 0.3 (0.1 is the config's own) and p = 0.2 fixed;
auto at each dropout. Per corpus that does not overfit: p = 0 and auto at dropout 0.
"best" is the lowest val loss of the run's evaluations (what early stopping keeps), "last" the final one.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

from bench._results import write_results
from bench._stack import ROOT
from bench.enhanced_auto import OVERFIT, SHAKESPEARE, kjv_text
from moredata.cli import CliParser
from moredata.figures import pyplot, save_png
from moredata.text_table import grid

WORK = ROOT / "runs" / "enhanced_vs_regularisers"
OUT = ROOT / "bench" / "results" / "enhanced_vs_regularisers.json"
CRANFIELD = ROOT.parent / "shared" / "data" / "cranfield"
# the generator as a user gets it: sized by demand (moredata/enhanced/pacing.py), no rate set by hand
COMMON = ["--progress=False", "--plot=False"]
DROPOUTS = (0.0, 0.1, 0.2)
STRONG_WD = 0.3  # the config's own weight decay is 0.1: the dropout rows are its weight-decay-0.1 rows
SETTINGS = {"p0": ["--enhanced_data_probability=0"], "p0.2": ["--enhanced_data_probability=0.2"],
            "auto": ["--enhanced_data_probability=auto"]}
# name: (overfits by design, tokenizer, flags); the text comes from corpus_text()
CORPORA = {
    "shakespeare30k": (True, "char", OVERFIT),
    "kjv120k": (True, "bpe", OVERFIT),
    "cranfield30k": (True, "char", OVERFIT),
    "shakespeare": (False, "char", []),
    "cranfield60k": (False, "char", ["--eval_interval=100", "--eval_iters=50"]),
}
PHASES = ("p0", "wd", "p0.2", "auto")  # wd: p = 0 with weight decay 0.3


def cranfield_text() -> str:
    from bench.rag_retrieval import load_collection

    docs, _, _ = load_collection(CRANFIELD)
    return "\n\n".join(t for t in docs.values() if t)


def corpus_text(name: str, args) -> str:
    if name == "shakespeare30k":
        return SHAKESPEARE.read_text(encoding="utf-8")[:30_000]
    if name == "shakespeare":
        return SHAKESPEARE.read_text(encoding="utf-8")
    if name == "kjv120k":
        return kjv_text(args.kjv)[:120_000]
    if name.startswith("cranfield"):
        return cranfield_text()[:int(name.removeprefix("cranfield").removesuffix("k")) * 1000]
    return Path(args.corpus).read_text(encoding="utf-8")


def prepared(name: str, tokenizer: str, args) -> Path:
    """The corpus's prepared data dir under WORK (made once; a rerun reuses it)."""
    from moredata.data.prepare import prepare

    d = WORK / name
    if not (d / "data" / "meta.json").is_file():
        d.mkdir(parents=True, exist_ok=True)
        (d / "input.txt").write_text(corpus_text(name, args), encoding="utf-8")
        prepare([d / "input.txt"], d / "data", tokenizer=tokenizer, vocab_size=512, block_size=64)
    return d / "data"


def run_key(r: dict) -> tuple:
    return r["corpus"], r["setting"], r["dropout"], r["weight_decay"], r["seed"]


def load_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def mean_best(rows: list[dict], **match) -> float | None:
    vals = [r["best_val_loss"] for r in rows if all(r[k] == v for k, v in match.items())]
    return statistics.fmean(vals) if vals else None


def best_dropout(rows: list[dict], corpus: str) -> float | None:
    """The dropout with the lowest mean best val at p = 0 (weight decay 0.1) over the seeds run so far;
    None until every dropout has a run (the comparisons at the best dropout wait for it)."""
    done = [r for r in rows if r["corpus"] == corpus and r["setting"] == "p0" and r["weight_decay"] == 0.1]
    if any(mean_best(done, dropout=d) is None for d in DROPOUTS):
        return None
    return min(DROPOUTS, key=lambda d: mean_best(done, dropout=d))


def planned(corpus: str, rows: list[dict], seeds: list[int], phases: list[str]) -> list[tuple[int, dict]]:
    """(priority, run) of the runs of `corpus` that can start now, lowest priority first, so that a bench
    stopped early has run the core of the comparison: 0: the first seed of p = 0 at every dropout (and on
    the corpora that do not overfit); 1: every seed of p = 0 and auto at the best dropout (the best so
    far: the first seed's runs pick it), the first seed of p = 0.2 there and of auto on the corpora that
    do not overfit; 2: their other seeds, the first seed of weight decay 0.3 at the best dropout; 3: the
    other seeds of p = 0 at the other dropouts, of weight decay 0.3 and of p = 0.2; 4: auto at the other
    dropouts."""
    overfits = CORPORA.get(corpus, (True,))[0]
    first = seeds[0]
    want: list[tuple[int, str, float, float, int]] = []
    if not overfits:
        want = [(0 if seed == first else 2, "p0", 0.0, 0.1, seed) for seed in seeds]
        want += [(1 if seed == first else 2, "auto", 0.0, 0.1, seed) for seed in seeds]
    else:
        best = best_dropout(rows, corpus)
        want = [(0 if seed == first else (1 if d == best else 3), "p0", d, 0.1, seed) for d in DROPOUTS
                for seed in seeds]
        if best is not None:
            want += [(1, "auto", best, 0.1, seed) for seed in seeds]
            want += [(1 if seed == first else 3, "p0.2", best, 0.1, seed) for seed in seeds]
            want += [(2 if seed == first else 3, "wd", best, STRONG_WD, seed) for seed in seeds]
            want += [(4, "auto", d, 0.1, seed) for d in DROPOUTS if d != best for seed in seeds]
    return [(prio, {"corpus": corpus, "setting": "p0" if st == "wd" else st, "dropout": d, "weight_decay": wd,
                    "seed": seed}) for prio, st, d, wd, seed in want if st in phases]


def one_run(spec: dict, data: Path, flags: list[str], config: str) -> dict:
    """Trains one run in a child process (one torch thread); returns its row."""
    out = WORK / spec["corpus"] / "runs" / f"{spec['setting']}_d{spec['dropout']}_wd{spec['weight_decay']}_{spec['seed']}"
    argv = [config, f"--data_dir={data}", f"--out_dir={out}", f"--seed={spec['seed']}", *COMMON, *flags,
            *SETTINGS[spec["setting"]], f"--dropout={spec['dropout']}", f"--weight_decay={spec['weight_decay']}",
            "--init_from=scratch", "--overwrite=true"]  # a run killed half way left its files there
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    t0 = time.time()
    proc = subprocess.run([sys.executable, __file__, "--one", json.dumps(argv)], capture_output=True, text=True,
                          env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"run {spec} failed:\n{proc.stderr[-3000:]}")
    s = json.loads(proc.stdout.strip().splitlines()[-1])
    evals = [(e["iter"], round(e["train_loss"], 4), round(e["val_loss"], 4), round(e.get("enhanced_p", 0.0), 4))
             for e in s["evals"]]
    p_on = next((i for i, _, _, p in evals if p > 0), None)
    return {**spec, "best_val_loss": round(s["best_val_loss"], 4), "last_val_loss": round(s["last_val_loss"], 4),
            "best_iter": s["best_iter"], "max_p": max(p for *_, p in evals), "p_first_iter": p_on,
            "ms_per_iter": round(s["ms_per_iter"], 1), "minutes": round((time.time() - t0) / 60, 2), "evals": evals}


def train_one(argv: list[str]) -> None:
    import torch

    from moredata.training.config import load_settings
    from moredata.training.loop import TrainingLoop

    torch.set_num_threads(1)
    s = TrainingLoop(load_settings(argv)).run()
    print(json.dumps({"best_val_loss": s.best_val_loss, "last_val_loss": s.last_val_loss, "best_iter": s.best_iter,
                      "ms_per_iter": s.ms_per_iter, "evals": s.evals}))


def label(r: dict) -> str:
    extra = f", wd {r['weight_decay']}" if r["weight_decay"] != 0.1 else ""
    return f"{r['setting']} dropout {r['dropout']}{extra}"


def summary_rows(rows: list[dict]) -> list[dict]:
    """Mean and sd over seeds of each (setting, dropout, weight decay)."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["setting"], r["dropout"], r["weight_decay"]), []).append(r)
    out = []
    for (st, d, wd), rs in groups.items():
        b, last = [r["best_val_loss"] for r in rs], [r["last_val_loss"] for r in rs]
        out.append({"setting": st, "dropout": d, "weight_decay": wd, "runs": len(rs),
                    "best_mean": round(statistics.fmean(b), 4), "best_sd": round(statistics.stdev(b), 4) if len(b) > 1 else 0.0,
                    "last_mean": round(statistics.fmean(last), 4),
                    "last_sd": round(statistics.stdev(last), 4) if len(last) > 1 else 0.0,
                    "p_first_iter": [r["p_first_iter"] for r in rs], "best_iter": [r["best_iter"] for r in rs]})
    return sorted(out, key=lambda g: (PHASES.index(g["setting"]) if g["setting"] in PHASES else 9, g["dropout"],
                                      g["weight_decay"]))


def plot(name: str, rows: list[dict], png: Path, title: str) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 5), dpi=110)
    p_ax = ax.twinx()
    lows, highs = [], []
    for g in summary_rows(rows):
        rs = [r for r in rows if (r["setting"], r["dropout"], r["weight_decay"]) == (g["setting"], g["dropout"],
                                                                                    g["weight_decay"])]
        n = min(len(r["evals"]) for r in rs)
        its = [r["evals"][i][0] for r in rs[:1] for i in range(n)]
        mean = [statistics.fmean(r["evals"][i][2] for r in rs) for i in range(n)]
        ls = "-" if g["setting"] == "auto" else ("--" if g["setting"] == "p0" else "-.")
        line, = ax.plot(its, mean, ls=ls, lw=1.4, label=f"{label(rs[0])}: best {g['best_mean']:.3f}±{g['best_sd']:.3f}")
        lows.append(min(mean))
        highs.append(max(mean[len(mean) // 4:]))
        if g["setting"] == "auto":
            p_ax.plot(its, [statistics.fmean(r["evals"][i][3] for r in rs) for i in range(n)], ls=":",
                      color=line.get_color(), lw=1)
    ax.set(xlabel="iteration", ylabel="val loss (mean over seeds)", title=title)
    ax.set_ylim(min(lows) - 0.02, max(highs) + 0.03)
    p_ax.set(ylabel="auto: share of enhanced rows p (dotted)", ylim=(0, 1))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    save_png(fig, png)


def verdict(groups: list[dict], overfits: bool) -> dict:
    """The issue's goals for one corpus, from the group means: overfitting corpora: auto at the best dropout
    below the best p = 0 setting by more than the seed spread (the larger sd of the two), and at least as
    good as p = 0.2; the others: auto within 0.01 of p = 0."""
    p0 = [g for g in groups if g["setting"] == "p0"]
    auto = [g for g in groups if g["setting"] == "auto"]
    if not p0 or not auto:
        return {}
    best_p0 = min(p0, key=lambda g: g["best_mean"])
    if not overfits:
        a = auto[0]
        gap = a["best_mean"] - best_p0["best_mean"]
        return {"auto_minus_p0": round(gap, 4), "within_0.01": abs(gap) <= 0.01,
                "lines": [f"goal: auto within 0.01 of p = 0: {a['best_mean']:.4f} vs {best_p0['best_mean']:.4f} "
                          f"({gap:+.4f}): {'met' if abs(gap) <= 0.01 else 'missed'}"]}
    at_best = [g for g in auto if g["dropout"] == best_p0["dropout"]] or auto
    a = min(at_best, key=lambda g: g["best_mean"])
    spread = max(a["best_sd"], best_p0["best_sd"])
    gap = a["best_mean"] - best_p0["best_mean"]
    out = {"best_p0": label(best_p0), "auto_minus_best_p0": round(gap, 4), "spread": spread,
           "below_by_more_than_spread": gap < -spread}
    lines = [f"goal: auto (dropout {a['dropout']}) {a['best_mean']:.4f} vs best p = 0 setting ({label(best_p0)}) "
             f"{best_p0['best_mean']:.4f}: {gap:+.4f}, spread {spread:.4f}: {'met' if gap < -spread else 'missed'}"]
    fixed = [g for g in groups if g["setting"] == "p0.2"]
    if fixed:
        f = fixed[0]
        out |= {"auto_minus_p0.2": round(a["best_mean"] - f["best_mean"], 4), "auto_at_least_p0.2": a["best_mean"] <= f["best_mean"]}
        lines.append(f"goal: auto {a['best_mean']:.4f} at least as good as p = 0.2 (dropout {f['dropout']}) "
                     f"{f['best_mean']:.4f}: {'met' if a['best_mean'] <= f['best_mean'] else 'missed'}")
    return out | {"lines": lines}


def report(log: list[dict], out: Path, config: str) -> dict:
    result: dict = {"corpora": {}}
    for name in dict.fromkeys(r["corpus"] for r in log):
        rows = [r for r in log if r["corpus"] == name]
        base = [r for r in rows if r["setting"] == "p0" and r["dropout"] == 0.0 and r["weight_decay"] == 0.1]
        # overfits: at p = 0 without dropout (mean of seeds) the best point comes before 3/4 of the run and
        # val ends more than 0.02 nats above it (early stopping would have stopped well before the end)
        last_iter = max(e[0] for r in base for e in r["evals"]) if base else 0
        overfits = bool(base) and statistics.fmean(r["best_iter"] for r in base) < 0.75 * last_iter \
            and statistics.fmean(r["last_val_loss"] - r["best_val_loss"] for r in base) > 0.02
        groups = summary_rows(rows)
        print(f"\n{name}: overfits {overfits}")
        print(grid(["setting", "runs", "best val (sd)", "last val (sd)", "p > 0 from iter", "best iter"],
                   [[label(g), g["runs"], f"{g['best_mean']:.4f} ({g['best_sd']:.4f})",
                     f"{g['last_mean']:.4f} ({g['last_sd']:.4f})",
                     " ".join("-" if i is None else str(i) for i in g["p_first_iter"]),
                     " ".join(str(i) for i in g["best_iter"])] for g in groups]))
        goals = verdict(groups, overfits)
        for line in goals.get("lines", []):
            print(line)
        png = out.with_name(f"{out.stem}_{name}.png")
        plot(name, rows, png, f"{name}: p = 0 under dropout / weight decay against enhanced data")
        keep = ("setting", "dropout", "weight_decay", "seed", "best_val_loss", "last_val_loss", "best_iter",
                "max_p", "p_first_iter", "ms_per_iter", "evals")
        result["corpora"][name] = {"overfits": overfits, "rows": [{k: r[k] for k in keep} for r in rows],
                                   "summary": groups, "goals": goals, "png": png.name,
                                   "flags": [config, *COMMON, *CORPORA.get(name, (0, 0, []))[2]]}
    write_results(out, result, indent=1)
    print(f"\nwrote {out}")
    return result


def main() -> None:
    ap = CliParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", nargs="+", default=list(CORPORA), choices=list(CORPORA))
    ap.add_argument("--corpus", default=None, help="your own text file (with --name, --tokenizer, --overfit)")
    ap.add_argument("--name", default="own")
    ap.add_argument("--tokenizer", default="char", choices=["char", "bpe"])
    ap.add_argument("--overfit", action="store_true", help="--corpus overfits: the whole grid, eval every 100")
    ap.add_argument("--phases", nargs="+", default=list(PHASES), choices=PHASES)
    ap.add_argument("--seeds", nargs="+", type=int, default=[1337, 1, 2])
    ap.add_argument("--workers", type=int, default=2, help="runs side by side (one torch thread each)")
    ap.add_argument("--config", default="shakespeare_char_cpu")
    ap.add_argument("--kjv", type=Path, default=None, help="kjv120k's text saved to a file, where the bible "
                    "program is not installed (bible gen1:1-rev22:21 > FILE)")
    ap.add_argument("--log", type=Path, default=WORK / "runs.jsonl")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--report", action="store_true", help="only the table, PNGs and JSON of the logged runs")
    ap.add_argument("--one", default=None, help=argparse_hidden())
    args = ap.parse_args()
    if args.one is not None:
        return train_one(json.loads(args.one))
    if args.corpus:
        CORPORA[args.name] = (args.overfit, args.tokenizer, OVERFIT if args.overfit else [])
        names = [args.name]
    else:
        names = args.corpora
    if not args.report:
        run_all(names, args)
    report(load_log(args.log), args.out, args.config)


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


def run_all(names: list[str], args) -> None:
    """Runs what is planned and not logged, `workers` at a time; a phase that waits on the best dropout
    is planned as soon as its corpus's dropout runs are in."""
    data = {n: prepared(n, CORPORA[n][1], args) for n in names}
    args.log.parent.mkdir(parents=True, exist_ok=True)
    running: dict = {}
    failed: set = set()
    t0, done = time.time(), 0
    with ThreadPoolExecutor(args.workers) as pool:
        while True:
            rows = load_log(args.log)  # read again: another bench process may share the log
            logged = {run_key(r) for r in rows} | set(running.values())
            todo = sorted(((prio, args.seeds.index(s["seed"]), c, i), s) for c, n in enumerate(names)
                          for i, (prio, s) in enumerate(planned(n, rows, args.seeds, args.phases)))
            todo = [s for _, s in todo if run_key(s) not in logged and run_key(s) not in failed]
            while todo and len(running) < args.workers:
                spec = todo.pop(0)
                fut = pool.submit(one_run, spec, data[spec["corpus"]], CORPORA[spec["corpus"]][2], args.config)
                running[fut] = run_key(spec)
            if not running:
                break
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in finished:
                spec = running.pop(fut)
                try:
                    row = fut.result()
                except RuntimeError as e:  # one failed run is reported, the others go on (it is not logged)
                    print(f"run {spec} failed: {e}", flush=True)
                    failed.add(spec)
                    continue
                with args.log.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                done += 1
                print(f"[{(time.time() - t0) / 60:5.1f} min, {done} runs] {row['corpus']} {label(row)} seed "
                      f"{row['seed']}: best {row['best_val_loss']:.4f} (iter {row['best_iter']}), last "
                      f"{row['last_val_loss']:.4f}, p>0 from {row['p_first_iter']}, {row['minutes']} min", flush=True)


if __name__ == "__main__":
    main()
