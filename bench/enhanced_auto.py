"""Enhanced data that never hurts: p = 0, p = 0.2 fixed, auto, auto + quality filter; three corpora, three seeds.

    python bench/enhanced_auto.py                       # corpora a b c -> bench/results/enhanced_auto.json (+ one PNG each)
    python bench/enhanced_auto.py --corpora b           # one corpus
    python bench/enhanced_auto.py --corpus my.txt --config shakespeare_char_cpu --tokenizer char --name mine
                                                        # the same comparison on your own text

Corpora (CPU, nanoGPT's CPU model 4x4x128, block 64, batch 12, 2000 iterations):
- a: the README's main job: the whole of tiny Shakespeare, char level (does not overfit in 2000 iterations);
- b: the first 30k characters of tiny Shakespeare, char level, eval every 100 (overfits: the existing
  quality benchmark's config);
- gpu (not in the default list; with --config shakespeare_char): nanoGPT's GPU config on the whole of
  tiny Shakespeare, where nanoGPT reaches best 1.4697 and overfits to about 1.70 by iteration 5000;
- c: the first 120k characters of the King James Bible (Debian `bible-kjv`: `bible gen1:1-rev22:21`),
  byte-level BPE with 512 tokens, eval every 100 (overfits).
Every enhanced setting uses the in-process generator at 8 fragments/s (as the demo). Rows: best and
last val loss per run; a PNG per corpus with the mean val curve of each setting (and auto's p).
"""
from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench._results import write_results
from bench._stack import ROOT
from moredata.cli import CliParser
from moredata.data.prepare import prepare
from moredata.figures import pyplot, save_png
from moredata.text_table import grid
from moredata.training.config import load_settings
from moredata.training.loop import TrainingLoop

SHAKESPEARE = ROOT / "data" / "tinyshakespeare" / "input.txt"
SETTINGS = {
    "p0": ["--enhanced_data_probability=0"],
    "p0.2": ["--enhanced_data_probability=0.2"],
    "auto": ["--enhanced_data_probability=auto"],
    "auto_filter": ["--enhanced_data_probability=auto", "--enhanced_filter_quantile=0.2"],
    "auto_prefix": ["--enhanced_data_probability=auto", "--enhanced_prefix_schedule=adaptive"],
    "auto_models3": ["--enhanced_data_probability=auto", "--enhanced_generation_models=3"],
    # a generator that keeps up with a GPU trainer: 128 prefixes per round, no rate cap (--corpora gpu)
    "auto_fresh": ["--enhanced_data_probability=auto", "--enhanced_generation_batch_size=128",
                   "--enhanced_generation_rate=0"],
}
COMMON = ["--enhanced_generation_rate=8", "--progress=False", "--plot=False"]
OVERFIT = ["--eval_interval=100", "--eval_iters=50", "--max_prefix_length=48", "--min_prefix_length=8"]


def kjv_text(cached: Path | None = None) -> str:
    if cached is not None:  # the same text saved on a machine that has bible-kjv (bible gen1:1-rev22:21 > FILE)
        return cached.read_text(encoding="utf-8")
    exe = shutil.which("bible")
    if exe is None:
        raise SystemExit("corpus c needs Debian's bible-kjv (apt-get install bible-kjv)")
    return subprocess.run([exe, "gen1:1-rev22:21"], capture_output=True, text=True, check=True).stdout


def corpus(name: str, work: Path, args) -> tuple[Path, list[str], dict]:
    """(prepared data dir, trainer flags, description) of a preset or of --corpus."""
    d = work / name
    d.mkdir(parents=True, exist_ok=True)
    if name == "a":
        text, tok, flags = SHAKESPEARE.read_text(encoding="utf-8"), "char", []
        desc = {"text": "tiny Shakespeare, whole", "tokenizer": "char"}
    elif name == "b":
        text, tok, flags = SHAKESPEARE.read_text(encoding="utf-8")[:30_000], "char", OVERFIT
        desc = {"text": "tiny Shakespeare, first 30k characters", "tokenizer": "char"}
    elif name == "gpu":  # nanoGPT's shakespeare_char (6x6x384, block 256, 5000 iterations): --config shakespeare_char
        text, tok, flags = SHAKESPEARE.read_text(encoding="utf-8"), "char", [
            "--device=cuda", "--max_prefix_length=128", "--enhanced_generation_rate=64"]
        desc = {"text": "tiny Shakespeare, whole (GPU, shakespeare_char)", "tokenizer": "char"}
    elif name == "c":
        text, tok, flags = kjv_text(args.kjv)[:120_000], "bpe", OVERFIT
        desc = {"text": "King James Bible (Debian bible-kjv), first 120k characters", "tokenizer": "bpe 512"}
    else:
        text, tok, flags = Path(args.corpus).read_text(encoding="utf-8"), args.tokenizer, []
        desc = {"text": str(args.corpus), "tokenizer": args.tokenizer}
    src = d / "input.txt"
    src.write_text(text, encoding="utf-8")
    prepare([src], d / "data", tokenizer=tok, vocab_size=512, block_size=256 if name == "gpu" else 64)
    desc["characters"] = len(text)
    return d / "data", flags, desc


def plot(name: str, runs: dict[str, list[list[dict]]], out: Path, title: str) -> None:
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(9, 4.8), dpi=110)
    p_ax = None
    lows, highs = [], []  # the y range: the runs' later part, where the settings differ (not the untrained 4+ nats)
    for setting, evals_per_seed in runs.items():
        its = [e["iter"] for e in evals_per_seed[0]]
        mean = [statistics.fmean(ev[i]["val_loss"] for ev in evals_per_seed) for i in range(len(its))]
        line, = ax.plot(its, mean, marker="o", ms=2, label=f"{setting} (mean of {len(evals_per_seed)})")
        lows.append(min(mean))
        highs.append(max(mean[len(mean) // 5:]))
        if setting.startswith("auto"):
            p_ax = p_ax or ax.twinx()
            p_mean = [statistics.fmean(ev[i].get("enhanced_p", 0.0) for ev in evals_per_seed) for i in range(len(its))]
            p_ax.plot(its, p_mean, ls=":", color=line.get_color(), label=f"{setting}: p")
    ax.set(xlabel="iteration", ylabel="val loss", title=title)
    ax.set_ylim(min(lows) - 0.02, max(highs) + 0.05)
    if p_ax is not None:
        p_ax.set_ylabel("auto: share of enhanced rows p")
        p_ax.set_ylim(0, 1)
        p_ax.legend(loc="upper center")
    ax.grid(alpha=0.3)
    ax.legend()
    save_png(fig, out)


def summarise(name: str, rows: list[dict], runs: dict[str, list[list[dict]]], desc: dict, config: list[str],
              minutes: float, out: Path) -> dict:
    """Prints the corpus's table, writes its PNG; returns its entry of the JSON."""
    settings = list(runs)
    means = {st: {k: statistics.fmean(r[k] for r in rows if r["setting"] == st)
                  for k in ("best_val_loss", "last_val_loss")} for st in settings}
    print(f"\ncorpus {name}: {desc['text']}")
    print(grid(["setting", "best val (mean)", "last val (mean)", "last - best", "runs"],
               [[st, f"{m['best_val_loss']:.4f}", f"{m['last_val_loss']:.4f}",
                 f"{m['last_val_loss'] - m['best_val_loss']:.4f}", len(runs[st])] for st, m in means.items()]))
    png = out.with_name(f"{out.stem}_{name}.png")
    plot(name, runs, png, f"corpus {name}: {desc['text']}")
    print(f"wrote {png}")
    return {"rows": rows, "means": means, "corpus": desc, "config": config, "minutes": minutes,
            "curves": {st: [[(e["iter"], e["val_loss"], e.get("enhanced_p", 0.0)) for e in ev] for ev in evs]
                       for st, evs in runs.items()}}


def merge(parts: list[Path], out: Path) -> None:
    """Joins result files of runs made apart (settings run side by side as separate processes) into `out`:
    rows and curves of each corpus are concatenated, tables and PNGs redone."""
    result = json.loads(out.read_text()) if out.is_file() else {"corpora": {}}
    merged: dict[str, dict] = {}
    for part in parts:
        for name, c in json.loads(part.read_text())["corpora"].items():
            m = merged.setdefault(name, {"rows": [], "runs": {}, "corpus": c["corpus"], "config": c["config"],
                                         "minutes": 0.0})
            m["rows"] += c["rows"]
            m["minutes"] = max(m["minutes"], c["minutes"])
            for st, curves in c["curves"].items():
                m["runs"].setdefault(st, []).extend(
                    [{"iter": i, "val_loss": v, "enhanced_p": p} for i, v, p in cur] for cur in curves)
    for name, m in merged.items():
        result["corpora"][name] = summarise(name, m["rows"], m["runs"], m["corpus"], m["config"], m["minutes"], out)
    write_results(out, result, indent=1)
    print(f"wrote {out}")


def main() -> None:
    ap = CliParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", nargs="+", default=["a", "b", "c"])
    ap.add_argument("--corpus", default=None, help="your own text file (with --name, --config, --tokenizer)")
    ap.add_argument("--name", default="own")
    ap.add_argument("--tokenizer", default="char", choices=["char", "bpe"])
    ap.add_argument("--config", default="shakespeare_char_cpu")
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[1337, 1, 2])
    ap.add_argument("--extra", action="append", default=[], help="one more trainer flag (repeatable), e.g. "
                    "--extra=--max_iters=500")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "enhanced_auto.json")
    ap.add_argument("--kjv", type=Path, default=None, help="corpus c's text saved to a file, where the "
                    "bible program is not installed (bible gen1:1-rev22:21 > FILE)")
    ap.add_argument("--merge", type=Path, nargs="+", default=None, help="join result files written apart into --out")
    args = ap.parse_args()
    if args.merge:
        return merge(args.merge, args.out)
    names = [args.name] if args.corpus else args.corpora
    work = Path(tempfile.mkdtemp(prefix="enhanced-auto-"))
    result = json.loads(args.out.read_text()) if args.out.is_file() else {"corpora": {}}
    for name in names:
        data, flags, desc = corpus(name, work, args)
        rows, runs = [], {}
        t0 = time.time()
        for setting in args.settings:
            for seed in args.seeds:
                out = work / name / f"{setting}_{seed}"
                argv = [args.config, f"--data_dir={data}", f"--out_dir={out}", f"--seed={seed}", *COMMON, *flags,
                        *SETTINGS[setting], *args.extra]
                s = TrainingLoop(load_settings(argv)).run()
                row = {"setting": setting, "seed": seed, "best_val_loss": round(s.best_val_loss, 4),
                       "last_val_loss": round(s.last_val_loss, 4), "best_iter": s.best_iter,
                       "max_p": max((e.get("enhanced_p", 0.0) for e in s.evals), default=0.0)}
                rows.append(row)
                runs.setdefault(setting, []).append(s.evals)
                print(json.dumps({"corpus": name, **row}), flush=True)
        result["corpora"][name] = summarise(name, rows, runs, desc, [args.config, *COMMON, *flags, *args.extra],
                                            round((time.time() - t0) / 60, 1), args.out)
        write_results(args.out, result, indent=1)  # after each corpus: partial results stay
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
