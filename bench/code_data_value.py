"""Does the code builder's data help a model? Train the project's GPT (`moredata-train`, as it is; one shared
BPE tokenizer) for the same number of tokens on four variants of one corpus, and score all four on held-out
code from other projects.

    python bench/code_data_value.py                      # CPU: 3 seeds, table + bench/results/code_data_value.json
    python bench/code_data_value.py --iters 200 --seeds 0 --quick    # a smoke run

Variants, all from the same training corpus (the CPython standard library, tests and GUI packages left out):
  raw             the source files themselves, concatenated
  samples         the builder's samples (`# instruction` line, context, completion), no dedup, no weighting
  dedup           the same with exact and near dedup (definitions), drawn uniformly
  dedup_weighted  the deduplicated samples drawn by their quality weight: a weighted resample (with
                  replacement) of the same token count, so the trainer runs unchanged
Every variant trains `--iters` steps of `--batch_size` x `--block_size` tokens: equal tokens.

Held-out (projects not in the training corpus; installed packages): every Python function the splitter
finds, as (the file up to and including the signature, the body).
  heldout_loss  mean cross-entropy per body token given the last block_size - len(body) context tokens
  next_line_em  exact match of the next body line, greedy, given the context and the body lines before it
The known result this should reproduce (Lee et al. 2021): deduplicated data lowers held-out loss at equal
tokens. The JSON says whether it did here.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from bench._results import write_results
from moredata.cli import CliParser
from moredata.code.build import BuildOptions, build_dataset
from moredata.code.sources import check_source
from moredata.code.splitter import FileSplitter, SplitOptions
from moredata.data.tokenizers import BPETokenizer, token_dtype
from moredata.models.checkpoint import load_checkpoint, model_from_checkpoint
from moredata.text_table import table

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results"
STDLIB = Path(os.__file__).parent
SITE = Path(np.__file__).resolve().parents[1]
LEFT_OUT = ("test", "tests", "idlelib", "tkinter", "turtledemo", "lib2to3", "ensurepip", "site-packages",
            "__pycache__", "pydoc_data", "config-3.11-x86_64-linux-gnu")
HELDOUT = ("packaging", "click", "attr", "idna", "h11", "anyio", "dateutil", "filelock", "annotated_types")
VARIANTS = ("raw", "samples", "dedup", "dedup_weighted")


def training_files(max_mb: float) -> list[Path]:
    files, total = [], 0
    for p in sorted(STDLIB.rglob("*.py")):
        rel = p.relative_to(STDLIB).parts
        if any(part in LEFT_OUT for part in rel) or p.stat().st_size > 200_000:
            continue
        files.append(p)
        total += p.stat().st_size
        if total > max_mb * 2**20:
            break
    return files


def sample_doc(r: dict) -> str:
    return f"# {r['instruction']}\n{r['context']}{r['completion']}\n\n"


def build_texts(files: list[Path], work: Path, workers: int, seed: int) -> tuple[dict[str, str], dict]:
    """The four variants' training texts (the weighted one resampled to the dedup variant's length)."""
    src = work / "stdlib"
    if src.exists():
        shutil.rmtree(src)
    for p in files:
        dest = src / p.relative_to(STDLIB)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dest)
    raw = "".join(p.read_text(encoding="utf-8", errors="replace") + "\n\n" for p in files)
    common = dict(workers=workers, progress=False, seed=seed)
    plain, s_plain = build_dataset([str(src)], None, BuildOptions(exact_dedup=False, near_dedup=False, **common),
                                   log=lambda m: None)
    dedup, s_dedup = build_dataset([str(src)], None, BuildOptions(**common), log=lambda m: None)
    texts = {"raw": raw, "samples": "".join(map(sample_doc, plain)), "dedup": "".join(map(sample_doc, dedup))}
    # weighted: draw samples with P proportional to weight until the dedup variant's length is reached
    docs = [sample_doc(r) for r in dedup]
    w = np.array([r["weight"] for r in dedup], dtype=np.float64)
    rng = np.random.default_rng(seed)
    order = rng.choice(len(docs), size=4 * len(docs), p=w / w.sum())
    target, out, n = len(texts["dedup"]), [], 0
    for i in order:
        if n >= target:
            break
        out.append(docs[i])
        n += len(docs[i])
    texts["dedup_weighted"] = "".join(out)
    info = {"files": len(files), "mb": round(len(raw.encode()) / 2**20, 2),
            "samples_no_dedup": len(plain), "samples_dedup": len(dedup),
            "near_duplicates": s_dedup["near_duplicates"], "exact_duplicates": s_dedup["exact_duplicates"],
            "distinct_samples_weighted": len(set(order[: len(out)].tolist())),
            "chars": {k: len(v) for k, v in texts.items()}}
    return texts, info


def heldout_functions(max_functions: int, seed: int) -> list[tuple[str, str]]:
    """(context up to the signature, body) of functions in installed packages the training corpus lacks."""
    out = []
    splitter = FileSplitter(SplitOptions(max_samples_per_file=4, max_context_chars=4000))
    for name in HELDOUT:
        for p in sorted((SITE / name).rglob("*.py")) if (SITE / name).exists() else []:
            s, _ = check_source(str(p.relative_to(SITE)), p.read_bytes(), 1_000_000)
            if s is None:
                continue
            out += [(x.context, x.completion) for x in splitter.split(s, seed) if x.kind == "function"
                    and 2 <= x.completion.count("\n") <= 30]
    random.Random(seed).shuffle(out)
    return out[:max_functions]


def write_data_dir(path: Path, tok: BPETokenizer, train_text: str, val_ids: np.ndarray) -> int:
    path.mkdir(parents=True, exist_ok=True)
    dtype = token_dtype(tok.vocab_size).newbyteorder("<")
    ids = tok.encode_array(train_text).astype(dtype)
    (path / "train.bin").write_bytes(ids.tobytes())
    (path / "val.bin").write_bytes(val_ids.astype(dtype).tobytes())
    (path / "tokenizer.json").write_text(json.dumps(tok.to_dict()))
    (path / "meta.json").write_text(json.dumps({"vocab_size": tok.vocab_size, "dtype": dtype.name, "tokenizer": "bpe",
                                                "train_tokens": int(ids.size), "val_tokens": int(val_ids.size)}))
    return int(ids.size)


def train(data_dir: Path, out_dir: Path, seed: int, args) -> float:
    cmd = [sys.executable, "-m", "services.trainer.cli", f"--data_dir={data_dir}", f"--out_dir={out_dir}",
           f"--seed={seed}", f"--max_iters={args.iters}", f"--lr_decay_iters={args.iters}", "--warmup_iters=50",
           f"--eval_interval={args.iters}", "--eval_iters=20", f"--batch_size={args.batch_size}",
           f"--block_size={args.block_size}", f"--n_layer={args.n_layer}", f"--n_head={args.n_head}",
           f"--n_embd={args.n_embd}", "--dropout=0.0", f"--learning_rate={args.lr}", f"--min_lr={args.lr / 10}",
           "--device=cpu", "--always_save_checkpoint=true", "--overwrite=true", "--progress=false",
           "--gradient_accumulation_steps=1"]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if r.returncode != 0:
        raise RuntimeError(f"training failed: {r.stderr[-2000:]}")
    return time.perf_counter() - t


@torch.no_grad()
def evaluate(ckpt_path: Path, tok: BPETokenizer, heldout: list[tuple[str, str]], block: int) -> dict:
    torch.set_num_threads(1)
    model = model_from_checkpoint(load_checkpoint(ckpt_path)).eval()
    # loss on bodies: rows of (context tail, body) right-aligned into block+1 tokens; targets only on the body
    rows, targets = [], []
    for ctx, body in heldout:
        b = tok.encode(body)[: block // 2]
        c = tok.encode(ctx)[-(block + 1 - len(b)):]
        seq = c + b
        x = np.zeros(block, dtype=np.int64)
        y = np.full(block, -1, dtype=np.int64)
        n = len(seq) - 1
        x[:n] = seq[:-1]
        y[len(c) - 1: n] = seq[len(c):]
        rows.append(x)
        targets.append(y)
    total, count = 0.0, 0
    for lo in range(0, len(rows), 32):
        x = torch.from_numpy(np.stack(rows[lo: lo + 32]))
        y = torch.from_numpy(np.stack(targets[lo: lo + 32]))
        _, loss = model(x, y)
        k = int((y != -1).sum())
        total += float(loss) * k
        count += k
    # next-line exact match: the context and the body's first line given, the second line greedily decoded
    prompts, truth = [], []
    for ctx, body in heldout:
        lines = body.split("\n")
        if len(lines) < 2 or not lines[1].strip():
            continue
        ids = tok.encode(ctx + lines[0] + "\n")
        if len(ids) < block - 24:
            continue
        prompts.append(ids[-(block - 24):])
        truth.append(lines[1].strip())
    hits = 0
    for lo in range(0, len(prompts), 64):
        x = torch.tensor(prompts[lo: lo + 64])
        gen = []
        for _ in range(min(24, block - x.shape[1] + 24)):
            logits, _ = model(x[:, -block:])
            nxt = logits[:, -1].argmax(-1, keepdim=True)
            gen.append(nxt)
            x = torch.cat([x, nxt], dim=1)
        out = torch.cat(gen, dim=1).tolist()
        for ids, want in zip(out, truth[lo: lo + 64]):
            line = tok.decode(ids).lstrip("\n").split("\n")[0]
            hits += line.strip() == want
    return {"heldout_loss": total / max(1, count), "next_line_em": hits / max(1, len(prompts)),
            "body_tokens": count, "next_line_prompts": len(prompts)}


def main() -> None:
    ap = CliParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0,1,2", help="training seeds (comma-separated)")
    ap.add_argument("--iters", type=int, default=800, help="training steps per run (equal for all variants)")
    ap.add_argument("--batch_size", type=int, default=16)
    ap.add_argument("--block_size", type=int, default=128)
    ap.add_argument("--n_layer", type=int, default=4)
    ap.add_argument("--n_head", type=int, default=4)
    ap.add_argument("--n_embd", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--vocab_size", type=int, default=2048)
    ap.add_argument("--train_mb", type=float, default=3.0, help="MB of the standard library to build from")
    ap.add_argument("--heldout", type=int, default=300, help="held-out functions scored")
    ap.add_argument("--parallel", type=int, default=2, help="training runs side by side (one thread each)")
    ap.add_argument("--workers", type=int, default=2, help="builder processes")
    ap.add_argument("--work", default=str(ROOT / "bench" / ".cache" / "code_value"), help="scratch folder")
    ap.add_argument("--quick", action="store_true", help="a smoke run: nothing written to bench/results")
    ap.add_argument("--tag", default="cpu", help="names the device in the results")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    texts, info = build_texts(training_files(args.train_mb), work, args.workers, seed=0)
    heldout = heldout_functions(args.heldout, seed=0)
    print(f"built: {info}; held-out functions: {len(heldout)} ({time.perf_counter() - t0:.0f} s)")
    tok = BPETokenizer.train([texts["raw"]], vocab_size=args.vocab_size)  # one tokenizer for every variant
    val_ids = tok.encode_array("".join(c[-2000:] + b + "\n\n" for c, b in heldout[: args.heldout // 2]))
    tokens = {v: write_data_dir(work / "data" / v, tok, texts[v], val_ids) for v in VARIANTS}
    runs = [(v, s) for s in seeds for v in VARIANTS]

    def one(run):
        v, s = run
        out_dir = work / "runs" / f"{v}_s{s}"
        secs = train(work / "data" / v, out_dir, s, args)
        scores = evaluate(out_dir / "ckpt.pt", tok, heldout, args.block_size)
        print(f"{v} seed {s}: {scores} ({secs:.0f} s)", flush=True)
        return v, s, scores | {"train_seconds": round(secs, 1)}

    with ThreadPoolExecutor(args.parallel) as pool:
        results = list(pool.map(one, runs))
    per = {v: [r for vv, _, r in results if vv == v] for v in VARIANTS}

    def stat(v, key):
        xs = np.array([r[key] for r in per[v]])
        return {"mean": round(float(xs.mean()), 4), "std": round(float(xs.std(ddof=1)) if xs.size > 1 else 0.0, 4),
                "runs": [round(float(x), 4) for x in xs]}

    loss = {v: stat(v, "heldout_loss") for v in VARIANTS}
    em = {v: stat(v, "next_line_em") for v in VARIANTS}
    tokens_seen = args.iters * args.batch_size * args.block_size
    result = {
        "heldout_loss": loss, "next_line_em": em, "seeds": seeds,
        "dedup_lowers_loss": loss["dedup"]["mean"] < loss["samples"]["mean"],
        "tokens_per_run": tokens_seen, "train_tokens": tokens, "data": info, "device": args.tag,
        "model": {k: getattr(args, k) for k in ("n_layer", "n_head", "n_embd", "block_size", "batch_size", "iters",
                                                "lr", "vocab_size")},
        "heldout_projects": [h for h in HELDOUT if (SITE / h).exists()], "heldout_functions": len(heldout),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    rows = [(v, f"loss {loss[v]['mean']:.4f} +- {loss[v]['std']:.4f}   next-line EM {em[v]['mean']:.3f} +- "
                f"{em[v]['std']:.3f}   {tokens[v]:,} train tokens available") for v in VARIANTS]
    print(table(rows, ("variant", "held-out body loss, next-line exact match (mean +- std over seeds)")))
    print(f"equal tokens per run: {tokens_seen:,}; seeds {seeds}; dedup lowers held-out loss vs samples: "
          f"{result['dedup_lowers_loss']}")
    if not args.quick:
        write_results(OUT / "code_data_value.json", result, indent=2)
        print(f"wrote {OUT / 'code_data_value.json'}")


if __name__ == "__main__":
    main()
