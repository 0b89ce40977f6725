"""Does the data teach? GPTs trained on the generator's traces, scored where the users score them.

    python bench/lambda_model.py                  # CPU: about 35 minutes on 2 cores
    python bench/lambda_model.py --gpu            # one GPU, about 10 minutes
Writes bench/results/lambda_model.json (the "cpu" or "gpu" entry; the other is kept) and
bench/results/lambda_model_scaling.png.

What it trains: the project's GPT and trainer as users run them, with the loss on the completion only
(prompt: the term, completion: its next step or the normal-form marker) in one of three layouts:
`packed` (`moredata-prepare --pairs`, random windows of pairs end to end), `aligned` (the same with each
prompt padded to a fixed width) and `rows` (one example per row through the Python API's
create_pair_dataloaders, the prompt padded: it sits at fixed positions). Terms are spelt compactly
(moredata/lambda_terms/compact.py: one token per lambda, index and bracket); examples whose input or
target is longer than the prompt width are left out of training and of the test (which says how many it
kept per bucket).

What it scores (held-out seeds, every cycle of the default tables):
- next-step exact match (`moredata-lambda diagnose`: terms compared parsed) overall, by size (< 20,
  20-50, 50-80, > 80 nodes) and by lambda depth (<= 7, > 7);
- full normalisation: the model's own steps iterated from a start term until it says "normal form"; a
  success when that term is the true normal form. Church arithmetic (2+3, 2*3, 2^3, pred 3) and held-out
  start terms whose whole trace fits the context;
- a scaling table: the next-step figures of 2-3 model sizes at 1/4, 1/2 and all of their training tokens
  (one cosine schedule per size, scored at those points), which says how accuracy grows with tokens.
The CPU runs go side by side, one thread each (faster on 2 cores than one run with two threads).
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from bench._results import write_results
from moredata.cli import CliParser

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "lambda_model.json"
PNG = ROOT / "bench" / "results" / "lambda_model_scaling.png"
EARLIER = {"overall": 0.26, "size_20_50": 0.025, "size_50_80": 0.0, "depth_gt7": 0.058}  # the users' old model
TARGETS = {"overall": "0.70-0.80", "size_20_50": "0.60-0.70", "size_50_80": "0.40-0.50", "depth_gt7": "0.50-0.60",
           "cpu.size_lt20": ">= 0.80"}
TOP_UP = 300  # next-step test examples at least in each of the two small-size buckets
KEYS = ("overall", "size_lt20", "size_20_50", "size_50_80", "size_gt80", "depth_le7", "depth_gt7", "steps",
        "normal_forms")
# the runs: name -> (model shape, loss on the completion only?). HEADLINE is the model the issue's
# figures are quoted for; the sizes with the completion-only loss make the scaling table, and a run
# with the loss on every token shows what the completion-only loss is worth at equal tokens
_S, _M, _L = (dict(n_layer=2, n_head=2, n_embd=64), dict(n_layer=4, n_head=4, n_embd=128),
              dict(n_layer=6, n_head=6, n_embd=384))
RUNS = {  # name -> (shape, loss on the completion only?, layout: "aligned" or "packed", see prompt_text)
    "cpu": {"M": (_M, True, "rows"), "S": (_S, True, "rows"), "M_aligned_stream": (_M, True, "aligned")},
    "gpu": {"S": (_M, True, "rows"), "M": (_L, True, "rows"),
            "L": (dict(n_layer=8, n_head=8, n_embd=512), True, "rows")},
}
HEADLINE = {"cpu": "M", "gpu": "L"}
RUN = {
    "cpu": dict(block_size=192, batch_size=32, max_iters=3000, lr=2e-3, train_examples=400_000,
                test_examples=1500, normalise_terms=500, minutes_per_run=30),
    "gpu": dict(block_size=384, batch_size=128, max_iters=6000, lr=1e-3, train_examples=2_000_000,
                test_examples=3000, normalise_terms=500, minutes_per_run=8),
}
CHURCH = {  # (term, its normal form): Church numerals, plus/times/exp/pred in de Bruijn notation
    "2+3": ("(\\.\\.\\.\\.3 1 (2 1 0)) (\\.\\.1 (1 0)) (\\.\\.1 (1 (1 0)))", "\\.\\.1 (1 (1 (1 (1 0))))"),
    "2*3": ("(\\.\\.\\.2 (1 0)) (\\.\\.1 (1 0)) (\\.\\.1 (1 (1 0)))", "\\.\\.1 (1 (1 (1 (1 (1 0)))))"),
    "2^3": ("(\\.\\.0 1) (\\.\\.1 (1 0)) (\\.\\.1 (1 (1 0)))", "\\.\\.1 (1 (1 (1 (1 (1 (1 (1 0)))))))"),
    "pred 3": ("(\\.\\.\\.2 (\\.\\.0 (1 3)) (\\.1) (\\.0)) (\\.\\.1 (1 (1 0)))", "\\.\\.1 (1 0)"),
}


# --- data -------------------------------------------------------------------------------------------

def _line(d: dict) -> str | None:
    from moredata.errors import InvalidArgument
    from moredata.lambda_terms.compact import compact_target, to_compact
    from moredata.lambda_terms.terms import parse

    try:
        return to_compact(parse(d["input"])) + "|" + compact_target(d["target"])
    except InvalidArgument:  # an index past the compact symbols: left out
        return None


def prompt_width(block_size: int) -> int:
    """The most characters a prompt (and a completion) may have: both fit the context with `|` and `\n`."""
    return (block_size - 2) // 2


def prompt_text(prompt: str, layout: str, width: int) -> str:
    """What the model reads before it writes: the compact term and `|`; in the aligned layout the term is
    padded with spaces to `width`, so every completion starts width + 1 characters after its prompt and
    copying the unchanged part of a term is a fixed-offset lookup (in the packed one the offset is the
    prompt's length, different in every example)."""
    return (prompt.ljust(width) if layout in ("aligned", "rows") else prompt) + "|"


def examples(seed: int, n: int, width: int, per_chunk: int, sizes: tuple[int, int] = (0, 10**9)) -> list[dict]:
    """n examples from chunks of one seed whose compact input and target have at most `width` characters
    and whose input size is in [sizes[0], sizes[1]), at most per_chunk from each chunk so that every cycle
    is in."""
    from moredata.lambda_terms.traces import TraceSettings, chunk_lines

    settings = TraceSettings()
    out, chunk = [], 0
    while len(out) < n:
        taken = 0
        for raw in chunk_lines(seed, chunk, 1000, settings):
            d = json.loads(raw)
            line = _line(d)
            if line is not None and max(map(len, line.split("|"))) <= width and sizes[0] <= d["meta"]["size"] < sizes[1]:
                d["line"] = line
                out.append(d)
                taken += 1
                if taken == per_chunk:
                    break
        chunk += 1
    return out[:n]


def start_terms(seed: int, n: int, width: int) -> list[tuple[str, str, int]]:
    """(start term, its normal form, steps) for held-out terms whose every step fits the context."""
    from moredata.lambda_terms.compact import to_compact
    from moredata.lambda_terms.sampler import sample_term
    from moredata.lambda_terms.terms import to_text
    from moredata.lambda_terms.traces import TraceSettings, trace

    settings = TraceSettings()
    rng = np.random.default_rng(seed)
    out, attempt = [], 0
    while len(out) < n:
        c = attempt % 10  # every cycle is tried; the large ones rarely fit a CPU model's context
        attempt += 1
        t, _ = sample_term(rng, settings.depths[c], settings.sizes[c], settings.weights)
        if len(to_compact(t)) > width:
            continue
        steps, why = trace(t, settings)
        if why != "normal":
            continue
        if all(len(to_compact(s[0])) <= width for s in steps):
            out.append((to_text(t), to_text(steps[-1][0]), len(steps) - 1))
    return out


def write_pairs(path: Path, rows: list[dict], rng: np.random.Generator, layout: str, width: int) -> None:
    """The pairs in a random order. In generation order a window held the earlier steps of the same trace
    before each prompt, and a model learnt to lean on them: given a prompt alone, as at test time, it
    wrote nonsense (26% next-step match where the shuffled data gives more)."""
    with open(path, "w", encoding="utf-8") as f:
        for i in rng.permutation(len(rows)):
            r = rows[i]
            prompt, completion = r["line"].split("|", 1)
            f.write(json.dumps({"prompt": prompt_text(prompt, layout, width)[:-1], "completion": completion}) + "\n")


# --- one model: train in three stretches of one schedule, score after each ---------------------------

def run_size(args: tuple) -> dict:
    name, shape, completion_only, layout, run, work, device, threads = args
    import torch

    torch.set_num_threads(threads)
    from moredata.training.config import load_settings
    from moredata.training.loop import TrainingLoop

    out = work / f"run_{name}"
    total = run["max_iters"]
    base = {"data_dir": work / f"data_{layout}", "out_dir": out, "device": device, **shape, "block_size": run["block_size"],
            "batch_size": run["batch_size"], "gradient_accumulation_steps": 1, "lr_decay_iters": total,
            "learning_rate": run["lr"], "min_lr": run["lr"] / 10, "warmup_iters": max(50, total // 40),
            "eval_interval": total // 4, "eval_iters": 20, "dropout": 0.0, "compile": False, "progress": False,
            "plot": True, "log_interval": 100, "completion_only_loss": completion_only,
            "always_save_checkpoint": True}
    test = json.loads((work / "test.json").read_text())
    scaling, t0 = [], time.time()
    for k, stop in enumerate((total // 4, total // 2, total)):
        flags = base | {"max_iters": stop, "init_from": "resume" if k else "scratch"}
        if layout == "rows":
            train_rows(work, flags, run, start=(0, total // 4, total // 2)[k])
        else:
            TrainingLoop(load_settings([f"--{a}={b}" for a, b in flags.items()])).run()
        scores = next_step_scores(out / "ckpt.pt", test, device, work / f"pred_{name}_{stop}.jsonl", layout)
        tokens = stop * run["batch_size"] * run["block_size"]  # rows: an upper bound (rows are padded)
        scaling.append({"iters": stop, "tokens": tokens, "examples": stop * run["batch_size"], "minutes": round((time.time() - t0) / 60, 1), **scores})
        print(f"[{name}] {stop} iters ({tokens / 1e6:.1f}M tokens): " +
              ", ".join(f"{k2} {v:.1%}" for k2, v in scores.items() if isinstance(v, float)), flush=True)
    result = {"shape": shape, "completion_only_loss": completion_only, "layout": layout, "scaling": scaling,
              "final": scaling[-1]}
    result["full_normalisation"] = full_normalisation(out / "ckpt.pt", json.loads((work / "starts.json").read_text()),
                                                      device, layout)
    return result


def train_rows(work: Path, flags: dict, run: dict, start: int) -> None:
    """The Python API's way: one example per row (create_pair_dataloaders), the prompt padded as in the
    aligned layout, so the prompt sits at positions 0..width-1 and the completion starts at width + 1 in
    every row: copying is a lookup at a fixed absolute position. The loop is the trainer's, on loaders."""
    from moredata.data.loaders import create_pair_dataloaders
    from moredata.data.pairs import read_pairs
    from moredata.data.tokenizers import tokenizer_from_dict
    from moredata.models.decoder_only import GPT, GPTConfig
    from moredata.training.api import _run, _settings

    tok = tokenizer_from_dict(json.loads((work / "data_aligned" / "tokenizer.json").read_text()))
    pairs = read_pairs(work / "train_aligned.jsonl")
    n_val = 20 * run["batch_size"]
    train_dl, val_dl = create_pair_dataloaders(pairs[:-n_val], pairs[-n_val:], tok, batch_size=run["batch_size"],
                                               max_length=run["block_size"], separator="|", end="\n", seed=0)
    model = GPT(GPTConfig(block_size=run["block_size"], vocab_size=tok.total_vocab_size, n_layer=flags["n_layer"],
                          n_head=flags["n_head"], n_embd=flags["n_embd"], dropout=0.0, bias=False))
    keys = ("out_dir", "device", "learning_rate", "min_lr", "warmup_iters", "lr_decay_iters", "max_iters",
            "eval_interval", "batch_size", "block_size", "init_from", "log_interval", "progress", "plot")
    cfg = _settings(**{k: str(flags[k]) if isinstance(flags[k], Path) else flags[k] for k in keys}, eval_iters=len(val_dl), gradient_accumulation_steps=1,
                    compile=False, always_save_checkpoint=True, weight_decay=0.1, overwrite=False,
                    completion_only_loss=True)
    _run(cfg, model, train_dl, val_dl, tok, len(train_dl), start_iter=start)


def _load(ckpt: Path, device: str):
    from moredata.models.checkpoint import load_model

    model, tok, _ = load_model(ckpt, device)
    model.eval()
    return model, tok


def _complete(model, tok, prompts: list[str], device: str, newline: bool = True, batch: int = 200) -> list[str]:
    """Greedy completions (up to the newline) of prompts, batched by length. Each prompt follows a newline,
    as every prompt in the training stream does."""
    import torch

    from moredata.models.generation import generate

    L = model.config.block_size
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    out: list[str] = [""] * len(prompts)
    with torch.inference_mode():
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            enc = []
            for i in idx:
                try:
                    enc.append(torch.tensor(tok.encode("\n" * newline + prompts[i]), dtype=torch.long, device=device))
                except (KeyError, ValueError):  # a character the model never saw
                    enc.append(torch.tensor(tok.encode("\n" * newline + "|"), dtype=torch.long, device=device))
            longest = max(len(e) for e in enc)
            new = max(1, min(L - longest, 2 * longest + 8))
            for i, e, o in zip(idx, enc, generate(model, enc, new, temperature=0.0)):
                out[i] = tok.decode(o[len(e):].tolist()).split("\n")[0]
    return out


def next_step_scores(ckpt: Path, test: dict, device: str, pred_path: Path, layout: str) -> dict:
    """`overall` over the natural test sample, the buckets over it and the top-ups of the small buckets;
    `steps` and `normal_forms` split the natural sample by what the target is (a reduction step, or the
    normal-form marker: recognising a normal form is the easier half)."""
    from moredata.lambda_terms.compact import NF_COMPACT, parse_compact
    from moredata.lambda_terms.report import diagnose
    from moredata.lambda_terms.terms import to_text
    from moredata.lambda_terms.traces import NF_MARKER

    model, tok = _load(ckpt, device)
    rows = test["natural"] + test["top_up"]
    width = prompt_width(model.config.block_size)
    preds = _complete(model, tok, [prompt_text(r["line"].split("|", 1)[0], layout, width) for r in rows], device,
                      newline=layout != "rows")
    lines = []
    for r, p in zip(rows, preds):
        try:
            text = NF_MARKER if p == NF_COMPACT else to_text(parse_compact(p))
        except ValueError:
            text = "?"  # not a term: wrong
        lines.append(json.dumps({"input": r["input"], "target": r["target"], "prediction": text}) + "\n")
    pred_path.write_text("".join(lines))
    natural = pred_path.with_suffix(".natural.jsonl")
    natural.write_text("".join(lines[: len(test["natural"])]))
    scores = diagnose(pred_path) | {"overall": diagnose(natural)["overall"]}
    nat = [json.loads(x) for x in lines[: len(test["natural"])]]
    for key, want in (("steps", False), ("normal_forms", True)):
        part = [d for d in nat if (d["target"] == NF_MARKER) == want]
        scores[key] = {"accuracy": round(sum(d["prediction"] == d["target"] for d in part) / max(1, len(part)), 4),
                       "n": len(part)}
    return {k: scores[k]["accuracy"] for k in KEYS} | {"n": {k: scores[k]["n"] for k in KEYS}}


def full_normalisation(ckpt: Path, starts: dict, device: str, layout: str) -> dict:
    """Iterates the model's steps from each start term (all terms side by side, one batched generation per
    round) until it answers the normal-form marker, a malformed term, or runs 2x the true steps + 5."""
    from moredata.lambda_terms.compact import NF_COMPACT, parse_compact, to_compact
    from moredata.lambda_terms.terms import parse

    model, tok = _load(ckpt, device)
    width = prompt_width(model.config.block_size)
    names = list(starts)
    current = {n: to_compact(parse(starts[n][0])) for n in names}
    truth = {n: parse(starts[n][1]) for n in names}
    budget = {n: 2 * starts[n][2] + 5 for n in names}
    solved: dict[str, bool] = {}
    rounds = 0
    while len(solved) < len(names):
        active = [n for n in names if n not in solved]
        outs = _complete(model, tok, [prompt_text(current[n], layout, width) for n in active], device,
                         newline=layout != "rows")
        rounds += 1
        for n, o in zip(active, outs):
            if o == NF_COMPACT:
                solved[n] = parse_compact(current[n]) == truth[n]
                continue
            try:
                parse_compact(o)
            except ValueError:
                solved[n] = False
                continue
            if len(o) > width or rounds >= budget[n]:
                solved[n] = False
            else:
                current[n] = o
    church = {n: solved[n] for n in CHURCH}
    held = [solved[n] for n in names if n not in CHURCH]
    return {"church": church, "held_out": round(float(np.mean(held)), 4), "held_out_n": len(held)}


def build_data(work: Path, run: dict) -> dict:
    """The training pairs (prepared, with loss masks) and the next-step test set, into work."""
    from moredata.data.prepare import prepare

    L = run["block_size"]
    W = prompt_width(L)
    print(f"building data: {run['train_examples']:,} training examples, terms up to {W} compact characters",
          flush=True)
    train = examples(202, run["train_examples"], W, per_chunk=1000)
    # the natural held-out sample has few small terms (most examples are 50-200 nodes): the < 20 and
    # 20-50 buckets are topped up to TOP_UP examples each from another held-out seed
    natural = examples(303, run["test_examples"], W, per_chunk=max(1, run["test_examples"] // 100))
    top_up = [d for lo, hi in ((0, 20), (20, 50)) for d in examples(
        305 + lo, max(0, TOP_UP - sum(lo <= x["meta"]["size"] < hi for x in natural)), W, 20, (lo, hi))]
    test = {"natural": natural, "top_up": top_up}
    for layout in ("packed", "aligned"):
        write_pairs(work / f"train_{layout}.jsonl", train, np.random.default_rng(0), layout, W)
        meta = prepare([work / f"train_{layout}.jsonl"], work / f"data_{layout}", block_size=L, pairs=True,
                       separator="|", end="\n", val_fraction=0.02)
    (work / "test.json").write_text(json.dumps(test))
    return meta


# --- the bench --------------------------------------------------------------------------------------

def main() -> None:
    ap = CliParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gpu", action="store_true", help="the GPU configuration")
    ap.add_argument("--iters", type=int, default=None, help="override max_iters of every run")
    ap.add_argument("--train-examples", type=int, default=None, help="override the training examples")
    ap.add_argument("--test-examples", type=int, default=None, help="override the next-step test examples")
    ap.add_argument("--normalise-terms", type=int, default=None, help="override the held-out start terms")
    ap.add_argument("--runs", default=None, help="comma-separated runs to train (default: all of the kind's)")
    ap.add_argument("--work", type=Path, default=None, help="work folder; one that holds a finished data build "
                    "(data/, test.json) of the same settings is reused")
    ap.add_argument("--out", type=Path, default=OUT, help=f"results file (default {OUT.relative_to(ROOT)})")
    args = ap.parse_args()
    kind = "gpu" if args.gpu else "cpu"
    run = dict(RUN[kind])
    for key in ("max_iters", "train_examples", "test_examples", "normalise_terms"):
        run[key] = getattr(args, key if key != "max_iters" else "iters") or run[key]
    runs = {k: v for k, v in RUNS[kind].items() if not args.runs or k in args.runs.split(",")}
    work = args.work or Path(tempfile.mkdtemp(prefix="lambda-model-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    L = run["block_size"]
    if (work / "data_aligned" / "meta.json").is_file() and (work / "test.json").is_file():
        print(f"reusing the data in {work}", flush=True)
        meta = json.loads((work / "data_aligned" / "meta.json").read_text())
    else:
        meta = build_data(work, run)
    church = {n: (t, nf, 60) for n, (t, nf) in CHURCH.items()}
    held = {f"h{i}": s for i, s in enumerate(start_terms(404, run["normalise_terms"], prompt_width(L)))}
    (work / "starts.json").write_text(json.dumps(church | held))
    print(f"data ready in {time.time() - t0:.0f} s: {meta['train_tokens']:,} training tokens "
          f"({meta['completion_tokens']['train']:,} in completions)", flush=True)
    device = "cuda" if args.gpu else "cpu"
    jobs = [(n, shape, only, layout, run, work, device, 1 if not args.gpu else os.cpu_count())
            for n, (shape, only, layout) in runs.items()]
    if args.gpu:
        results = {j[0]: run_size(j) for j in jobs}
    else:  # two at a time, one thread each: the short S run (second) leaves its core to the third
        with ProcessPoolExecutor(min(2, len(jobs)), mp_context=get_context("spawn")) as ex:
            results = dict(zip(runs, ex.map(run_size, jobs)))
    headline = HEADLINE[kind] if HEADLINE[kind] in results else list(results)[-1]
    entry = {"new": {k: results[headline]["final"][k] for k in KEYS} | {"n": results[headline]["final"]["n"]},
             "full_normalisation": results[headline]["full_normalisation"],
             "scaling": {n: {"shape": r["shape"], "points": r["scaling"]} for n, r in results.items()
                         if r["layout"] == results[headline]["layout"]},
             "runs": {n: {"shape": r["shape"], "completion_only_loss": r["completion_only_loss"],
                          "layout": r["layout"], "final": r["final"]} for n, r in results.items()},
             "full_normalisation_by_size": {n: r["full_normalisation"] for n, r in results.items()},
             "headline_model": headline, "run": run, "train_tokens_per_epoch": meta["train_tokens"],
             "minutes": round((time.time() - t0) / 60, 1), "earlier_model": EARLIER, "targets": TARGETS,
             "device": _device_name(args.gpu)}
    prev = json.loads(args.out.read_text()) if args.out.is_file() else {}
    prev[kind] = entry
    write_results(args.out, prev, indent=2)
    plot_scaling(entry["scaling"], PNG if args.out == OUT else args.out.with_suffix(".png"))
    print(f"\n| {kind}: {headline} | " + " | ".join(KEYS) + " |\n|---|" + "---|" * len(KEYS))
    for n, r in results.items():
        for p in r["scaling"]:
            print(f"| {n} @ {p['tokens'] / 1e6:.1f}M tokens | " +
                  " | ".join("-" if p[k] is None else f"{p[k]:.1%}" for k in KEYS) + " |")
    fn = entry["full_normalisation"]
    print(f"\nfull normalisation ({headline}): held-out {fn['held_out']:.1%} of {fn['held_out_n']}; Church: " +
          ", ".join(f"{n} {'yes' if ok else 'no'}" for n, ok in fn["church"].items()))
    print(f"{entry['minutes']} minutes; wrote {args.out}")


def _device_name(gpu: bool) -> str:
    import torch

    return torch.cuda.get_device_name() if gpu else f"cpu ({os.cpu_count()} cores, one thread per run)"


def plot_scaling(scaling: dict, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for n, s in scaling.items():
        pts = s["points"]
        x = [p["tokens"] / 1e6 for p in pts]
        for key, style in (("overall", "-"), ("size_lt20", "--"), ("steps", ":")):
            ax.plot(x, [p[key] or 0 for p in pts], style, marker="o",
                    label=f"{n} ({s['shape']['n_layer']}x{s['shape']['n_embd']}) {key}")
    ax.set_xscale("log")
    ax.set_xlabel("training tokens (millions)")
    ax.set_ylabel("next-step exact match")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    main()
