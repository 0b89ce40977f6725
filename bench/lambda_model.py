"""Does the data teach? Two GPTs trained on the same number of tokens, scored on next-step exact match.

    python bench/lambda_model.py                 # CPU (about 30 minutes on 2 cores)
    python bench/lambda_model.py --gpu           # a larger model and run on a GPU
Writes bench/results/lambda_model.json (the "cpu" or "gpu" entry; the other is kept).

- `new`: 80% traces from the full cycle tables (depth 6-15, size 80-200) + 20% of the narrow set;
- `narrow`: the narrow set alone: terms of depth 6-10 and size 80-120, what the users' earlier
  generator produced.
Each example is one line `input|target` (char level; `|` is not in the term syntax); lines longer than
the context are left out of both training and test. Both models: the project's trainer as it is (the
GPT, its loop and schedule), the same config and iterations. The test set is held out (another seed)
from the full cycle tables; a model predicts greedily from `input|` to the newline, and
`moredata-lambda diagnose`'s scorer compares its prediction with the true next step.
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from bench._results import write_results
from moredata.cli import CliParser
from moredata.lambda_terms.report import diagnose
from moredata.lambda_terms.traces import TraceSettings, chunk_lines
from moredata.models.checkpoint import load_model
from moredata.models.generation import generate

ROOT = Path(__file__).resolve().parents[1]

OUT = ROOT / "bench" / "results" / "lambda_model.json"
EARLIER = {"overall": 0.26, "size_20_50": 0.025, "size_50_80": 0.0, "depth_gt7": 0.058}  # the users' old model
TARGETS = {"overall": "0.70-0.80", "size_20_50": "0.60-0.70", "size_50_80": "0.40-0.50", "depth_gt7": "0.50-0.60"}
CONFIGS = {
    "cpu": dict(n_layer=4, n_head=4, n_embd=128, block_size=512, batch_size=8, max_iters=2000, lr=2e-3,
                train_examples=120_000, test_examples=1000),
    "gpu": dict(n_layer=6, n_head=6, n_embd=384, block_size=512, batch_size=64, max_iters=6000, lr=1e-3,
                train_examples=600_000, test_examples=3000),
}


def examples(seed: int, n: int, settings: TraceSettings, keep, max_len: int, per_chunk: int = 100) -> list[dict]:
    """n examples whose line fits the context, filtered by keep(meta): at most per_chunk from each chunk of
    one seed, so every cycle of the tables is in (the first chunks alone hold only the smallest cycles)."""
    out, chunk = [], 0
    while len(out) < n:
        taken = 0
        for line in chunk_lines(seed, chunk, 1000, settings):
            d = json.loads(line)
            if keep(d["meta"]) and len(d["input"]) + len(d["target"]) + 2 <= max_len:
                out.append(d)
                taken += 1
                if taken == per_chunk:
                    break
        chunk += 1
    return out[:n]


def narrow_examples(seed: int, n: int, settings: TraceSettings, max_len: int) -> list[dict]:
    """Traces of terms of depth 6-10 and size 80-120 nodes only (grown by the plain random shape at that
    size; a trace's later steps may shrink below it, as they did in the earlier generator's data)."""
    from moredata.lambda_terms.sampler import random_term
    from moredata.lambda_terms.terms import depth
    from moredata.lambda_terms.traces import trace_lines

    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        t = random_term(rng, 0, 10, int(rng.integers(80, 121)))
        if 80 <= len(t) <= 120 and 6 <= depth(t) <= 10:
            for line in trace_lines(t, settings, 0, seed):
                d = json.loads(line)
                if len(d["input"]) + len(d["target"]) + 2 <= max_len:
                    out.append(d)
    return out[:n]


def write_corpus(path: Path, rows: list[dict], rng: np.random.Generator) -> None:
    order = rng.permutation(len(rows))
    path.write_text("".join(f"{rows[i]['input']}|{rows[i]['target']}\n" for i in order), encoding="utf-8")


def train(name: str, corpus: Path, work: Path, cfg: dict, device: str) -> Path:
    from moredata.data.prepare import prepare
    from moredata.training.config import load_settings
    from moredata.training.loop import TrainingLoop

    data = work / f"data_{name}"
    prepare([corpus], data, tokenizer="char", block_size=cfg["block_size"])
    flags = {"data_dir": data, "out_dir": work / f"run_{name}", "device": device, "n_layer": cfg["n_layer"],
             "n_head": cfg["n_head"], "n_embd": cfg["n_embd"], "block_size": cfg["block_size"],
             "batch_size": cfg["batch_size"], "gradient_accumulation_steps": 1, "max_iters": cfg["max_iters"],
             "lr_decay_iters": cfg["max_iters"], "learning_rate": cfg["lr"], "min_lr": cfg["lr"] / 10,
             "warmup_iters": 100, "eval_interval": max(250, cfg["max_iters"] // 6), "eval_iters": 20,
             "dropout": 0.0, "compile": False, "progress": True, "plot": True, "log_interval": 50}
    TrainingLoop(load_settings([f"--{k}={v}" for k, v in flags.items()])).run()
    return work / f"run_{name}" / "best.pt"


@torch.inference_mode()
def predict(ckpt: Path, rows: list[dict], device: str, out: Path, batch: int = 250) -> None:
    """Greedy next steps for every test input, as `diagnose` reads them. Characters the model never saw
    would not encode: such a row counts as wrong (prediction '')."""
    model, tok, _ = load_model(ckpt, device)
    L = model.config.block_size
    lines = []
    for i in tqdm(range(0, len(rows), batch), desc=f"predict {ckpt.parent.name}", unit="batch"):
        part = rows[i:i + batch]
        prompts = []
        for r in part:
            try:
                prompts.append(torch.tensor(tok.encode(r["input"] + "|"), dtype=torch.long))
            except (ValueError, KeyError):
                prompts.append(torch.tensor(tok.encode("|"), dtype=torch.long))
        longest = max(len(r["target"]) for r in part) + 2
        outs = generate(model, [p.to(device) for p in prompts], min(longest, L), temperature=0.0)
        for r, p, o in zip(part, prompts, outs):
            text = tok.decode(o[len(p):].tolist())
            lines.append(json.dumps({"input": r["input"], "target": r["target"], "prediction": text.split("\n")[0]}))
    out.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = CliParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gpu", action="store_true")
    ap.add_argument("--iters", type=int, default=None, help="override max_iters")
    ap.add_argument("--train-examples", type=int, default=None, help="override the training examples per model")
    ap.add_argument("--only", choices=("new", "narrow"), default=None,
                    help="train one of the two models (run two processes side by side on one GPU)")
    ap.add_argument("--out", type=Path, default=OUT, help=f"results file (default {OUT.relative_to(ROOT)})")
    args = ap.parse_args()
    names = (args.only,) if args.only else ("new", "narrow")
    kind = "gpu" if args.gpu else "cpu"
    cfg = dict(CONFIGS[kind])
    cfg["max_iters"] = args.iters or cfg["max_iters"]
    cfg["train_examples"] = args.train_examples or cfg["train_examples"]
    device = "cuda" if args.gpu else "cpu"
    work = Path(tempfile.mkdtemp(prefix="lambda-model-"))
    t0 = time.time()
    full = TraceSettings()
    n = cfg["train_examples"]
    L = cfg["block_size"]
    print(f"building data ({n:,} training examples per model, context {L})", flush=True)
    narrow = narrow_examples(101, n, full, L)
    new = examples(202, int(n * 0.8), full, lambda m: True, L, per_chunk=1000) + narrow[: n - int(n * 0.8)]
    test = examples(303, cfg["test_examples"], full, lambda m: True, L, per_chunk=cfg["test_examples"] // 50)
    rng = np.random.default_rng(0)
    write_corpus(work / "new.txt", new, rng)
    write_corpus(work / "narrow.txt", narrow, rng)
    results = {}
    for name in names:
        ckpt = train(name, work / f"{name}.txt", work, cfg, device)
        predict(ckpt, test, device, work / f"pred_{name}.jsonl")
        scores = diagnose(work / f"pred_{name}.jsonl")
        results[name] = {k: v["accuracy"] for k, v in scores.items()} | {"n": scores["overall"]["n"]}
    minutes = round((time.time() - t0) / 60, 1)
    entry = {**results, "minutes": minutes, "config": cfg, "device": torch.cuda.get_device_name() if args.gpu else
             f"cpu ({torch.get_num_threads()} threads)", "earlier_model": EARLIER, "targets": TARGETS}
    prev = json.loads(args.out.read_text()) if args.out.is_file() else {}
    prev[kind] = {**prev.get(kind, {}), **entry} if args.only else entry
    write_results(args.out, prev, indent=2)
    keys = ["overall", "size_lt20", "size_20_50", "size_50_80", "size_gt80", "depth_le7", "depth_gt7"]
    print(f"\n| {kind} | " + " | ".join(keys) + " |\n|---|" + "---|" * len(keys))
    for name in names:
        print(f"| {name} | " + " | ".join("-" if results[name][k] is None else f"{results[name][k]:.1%}"
                                         for k in keys) + " |")
    print(f"| earlier model | {EARLIER['overall']:.0%} | - | {EARLIER['size_20_50']:.1%} | "
          f"{EARLIER['size_50_80']:.0%} | - | - | {EARLIER['depth_gt7']:.1%} |")
    print(f"\n{minutes} minutes; wrote {args.out}")


if __name__ == "__main__":
    main()
