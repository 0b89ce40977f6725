"""Masked-LM recipe ablation: the project's encoder (classic and modern recipes, and each part alone)
beside HF's BERT and ModernBERT of the same size, on identical batches and identical masks.

    python bench/encoder_mlm.py                  # ~65 minutes on 2 cores; bench/results/encoder_mlm.json + PNG
    python bench/encoder_mlm.py --iters 200 --seeds 1 --variants classic,modern,hf_modernbert   # a quick look

Every model trains on tiny Shakespeare (char level, the project's own data path: data/shakespeare_char,
TokenData windows) with the same stream: for a seed, one torch.Generator draws each batch's windows
and then its BERT masks (15%, 80/10/10, moredata.models.masking), so every model sees the very same
inputs and labels at every step. Same optimiser for all (AdamW, matrices decayed, betas 0.9/0.95, clip 1),
same schedule (linear warmup 100, cosine to lr/10 at the last iteration), one thread per run, two runs
side by side. Scored on a fixed set of masked val windows (its own seed, the same for every model):
masked-token accuracy and MLM loss, every `--eval-every` iterations; the table reads 1,000 and 2,000.

Variants (moredata.models.config's recipe fields):
  classic            the encoder before this recipe: learned positions, GELU MLP, biases, pre-LN, GPT-2 init
  modern             the default now: rotary, GeGLU, no biases, normed embedding + pre-LN, ModernBERT init
  classic+<part>     classic with one modern part       modern-<part>   modern without it
  classic+post_norm  classic with BERT's post-LN blocks
  hf_bert            transformers' BertForMaskedLM (hidden 128, 4 layers, 4 heads, intermediate 512)
  hf_modernbert      transformers' ModernBertForMaskedLM (hidden 128, 4 layers, 4 heads, intermediate 344)
Both HF models are built from a config (nothing is downloaded), sdpa attention, no dropout.
"""
from __future__ import annotations

import json
import math
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from bench._results import RESULTS, write_results
from moredata.cli import CliParser
from moredata.text_table import grid

ROOT = Path(__file__).resolve().parents[1]
SIZE = dict(d_model=128, num_heads=4, num_layers=4, block=64, batch=32)
CLASSIC = {"positions": "learned", "ffn": "gelu", "bias": True, "norm": "pre", "init": "gpt2"}
MODERN = {"positions": "rotary", "ffn": "geglu", "bias": False, "norm": "embed_pre", "init": "modern"}
PARTS = {"rotary": "positions", "geglu": "ffn", "no_bias": "bias", "embed_norm": "norm", "init": "init"}


def variants() -> dict[str, dict | str]:
    out: dict[str, dict | str] = {"classic": CLASSIC, "modern": MODERN}
    for part, field in PARTS.items():
        out[f"classic+{part}"] = {**CLASSIC, field: MODERN[field]}
    out["classic+post_norm"] = {**CLASSIC, "norm": "post"}
    for part, field in PARTS.items():
        out[f"modern-{part}"] = {**MODERN, field: CLASSIC[field]}
    out["hf_bert"], out["hf_modernbert"] = "hf_bert", "hf_modernbert"
    return out


def build(name: str, recipe, vocab: int, pad_id: int):
    """(model, forward(inputs, labels) -> (loss, logits))."""
    import torch

    if recipe == "hf_bert":
        from transformers import BertConfig, BertForMaskedLM

        m = BertForMaskedLM(BertConfig(vocab_size=vocab, hidden_size=SIZE["d_model"], num_hidden_layers=SIZE["num_layers"],
                                       num_attention_heads=SIZE["num_heads"], intermediate_size=4 * SIZE["d_model"],
                                       max_position_embeddings=SIZE["block"], type_vocab_size=1, pad_token_id=pad_id,
                                       hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                                       attn_implementation="sdpa"))
    elif recipe == "hf_modernbert":
        from transformers import ModernBertConfig, ModernBertForMaskedLM

        m = ModernBertForMaskedLM(ModernBertConfig(
            vocab_size=vocab, hidden_size=SIZE["d_model"], num_hidden_layers=SIZE["num_layers"],
            num_attention_heads=SIZE["num_heads"], intermediate_size=344, max_position_embeddings=SIZE["block"],
            pad_token_id=pad_id, bos_token_id=pad_id + 2, eos_token_id=pad_id + 3, cls_token_id=pad_id + 2,
            sep_token_id=pad_id + 3, attn_implementation="sdpa"))
    else:
        from moredata.models import build_model

        m = build_model("encoder_only", dict(vocab_size=vocab, d_model=SIZE["d_model"], num_heads=SIZE["num_heads"],
                                             num_layers=SIZE["num_layers"], max_seq_len=SIZE["block"], **recipe))
        return m, lambda x, labels: m(x, None, labels)
    ones = None

    def forward(x, labels):
        nonlocal ones
        if ones is None or ones.shape != x.shape:
            ones = torch.ones_like(x)
        out = m(input_ids=x, attention_mask=ones, labels=labels)
        return out.loss, out.logits

    return m, forward


def run(job: tuple) -> dict:
    """One (variant, seed): trains `iters` steps, evaluating every `eval_every`; returns its curve."""
    name, recipe, seed, iters, eval_every, lr, val_batches = job
    import torch

    torch.set_num_threads(1)
    from moredata.data.tokenizers import SPECIAL_TOKENS
    from moredata.models.masking import mask_tokens
    from moredata.training.token_data import TokenData

    data = TokenData(ROOT / "data" / "shakespeare_char", SIZE["block"], torch.device("cpu"))
    V = data.vocab_size
    specials = torch.arange(V, V + len(SPECIAL_TOKENS))
    pad_id, mask_id = V, V + 1

    def masked(split, g):
        x, _ = data.get_batch(split, SIZE["batch"], g)
        return mask_tokens(x, specials, mask_id, V, g, 0.15)

    gv = torch.Generator().manual_seed(2026)  # the val set: the same windows and masks for every model
    val = [masked("val", gv) for _ in range(val_batches)]
    torch.manual_seed(seed)
    model, forward = build(name, recipe, V + len(SPECIAL_TOKENS), pad_id)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW([{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.01},
                             {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.95))
    warmup, min_lr = 100, lr / 10

    def lr_at(it):
        if it < warmup:
            return lr * (it + 1) / (warmup + 1)
        ratio = (it - warmup) / max(1, iters - warmup)
        return min_lr + 0.5 * (1 + math.cos(math.pi * min(1.0, ratio))) * (lr - min_lr)

    @torch.no_grad()
    def evaluate():
        model.eval()
        losses, correct, counted = [], 0, 0
        for x, labels in val:
            loss, logits = forward(x, labels)
            sel = labels != -100
            losses.append(float(loss))
            correct += int((logits.argmax(-1)[sel] == labels[sel]).sum())
            counted += int(sel.sum())
        model.train()
        return {"masked_acc": correct / counted, "mlm_loss": sum(losses) / len(losses)}

    g = torch.Generator().manual_seed(seed)  # the train stream: identical for every variant of this seed
    curve, t0 = [], time.perf_counter()
    model.train()
    for it in range(1, iters + 1):
        for group in opt.param_groups:
            group["lr"] = lr_at(it - 1)
        x, labels = masked("train", g)
        loss, _ = forward(x, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if it % eval_every == 0 or it == iters:
            curve.append({"iter": it, **evaluate()})
    return {"variant": name, "seed": seed, "params": sum(p.numel() for p in model.parameters()),
            "ms_per_iter": round(1000 * (time.perf_counter() - t0) / iters, 1), "curve": curve}


def at(run_: dict, it: int, key: str) -> float | None:
    return next((p[key] for p in run_["curve"] if p["iter"] == it), None)


def summarise(runs: list[dict], checkpoints: list[int]) -> dict:
    out = {}
    for name in dict.fromkeys(r["variant"] for r in runs):
        mine = [r for r in runs if r["variant"] == name]
        row = {"params": mine[0]["params"], "ms_per_iter": round(statistics.mean(r["ms_per_iter"] for r in mine), 1)}
        for it in checkpoints:
            for key in ("masked_acc", "mlm_loss"):
                vals = [v for v in (at(r, it, key) for r in mine) if v is not None]
                if vals:
                    row[f"{key}_{it}"] = round(statistics.mean(vals), 4)
                    row[f"{key}_{it}_sd"] = round(statistics.stdev(vals), 4) if len(vals) > 1 else 0.0
        out[name] = row
    return out


def plot(runs: list[dict], path: Path, names: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for name in names:
        mine = [r for r in runs if r["variant"] == name]
        its = [p["iter"] for p in mine[0]["curve"]]
        acc = [statistics.mean(r["curve"][i]["masked_acc"] for r in mine) for i in range(len(its))]
        ax.plot(its, acc, label=name, lw=2.2 if name in ("modern", "hf_modernbert", "classic") else 1.0)
    ax.set_xlabel("iteration")
    ax.set_ylabel("masked-token accuracy (val)")
    ax.set_title("MLM on tiny Shakespeare, same batches and masks (mean over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)


def main() -> None:
    ap = CliParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--seeds", type=int, default=2, help="seeds of the side-by-side four (classic, modern, hf_*)")
    ap.add_argument("--ablation-seeds", type=int, default=1, help="seeds of each classic+part / modern-part variant")
    ap.add_argument("--variants", default="all", help="comma-separated names (see the module doc), or all")
    ap.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (every model)")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--val-batches", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2, help="runs side by side (one thread each)")
    ap.add_argument("--out", default="encoder_mlm", help="result name under bench/results/")
    args = ap.parse_args()
    known = variants()
    names = list(known) if args.variants == "all" else args.variants.split(",")
    unknown = [n for n in names if n not in known]
    if unknown:
        ap.error(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(known)}")
    from bench._stack import ensure_char_data

    ensure_char_data()
    main_four = ("classic", "modern", "hf_bert", "hf_modernbert")
    # the side-by-side four first (both seeds), then the ablation: the headline is known early
    jobs = sorted(((n, known[n], seed, args.iters, args.eval_every, args.lr, args.val_batches)
                   for seed in range(1, max(args.seeds, args.ablation_seeds) + 1) for n in names
                   if seed <= (args.seeds if n in main_four else args.ablation_seeds)),
                  key=lambda j: (j[0] not in main_four, j[2]))
    from tqdm import tqdm

    # every finished run is appended to a log: a rerun with the same settings skips what is there
    log = ROOT / "runs" / f"{args.out}_runs.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)
    key = lambda j: [j[0], j[2], j[3], j[4], j[5], j[6]]  # noqa: E731
    done = {json.dumps(r["key"]): r for r in map(json.loads, log.read_text().splitlines())} if log.is_file() else {}
    todo = [j for j in jobs if json.dumps(key(j)) not in done]
    t0 = time.time()
    with ProcessPoolExecutor(args.workers) as pool:
        futures = {pool.submit(run, j): j for j in todo}
        for f in tqdm(as_completed(futures), total=len(todo), desc="runs"):
            r = {**f.result(), "key": key(futures[f])}
            done[json.dumps(r["key"])] = r
            with open(log, "a") as fh:
                fh.write(json.dumps(r) + "\n")
    runs = [done[json.dumps(key(j))] for j in jobs]
    checkpoints = sorted({1000, 2000, args.iters} & {p["iter"] for p in runs[0]["curve"]}) or [args.iters]
    summary = summarise(runs, checkpoints)
    last = checkpoints[-1]
    head = ["variant", *[f"{k} @{c}" for c in checkpoints for k in ("masked acc (sd)", "MLM loss")], "params", "ms/iter"]
    rows = [[name, *[v for c in checkpoints for v in (f"{row[f'masked_acc_{c}']:.3f} ({row[f'masked_acc_{c}_sd']:.3f})",
                                                        f"{row[f'mlm_loss_{c}']:.3f}")],
             f"{row['params']:,}", row["ms_per_iter"]] for name, row in summary.items()]
    print(grid(head, rows))
    result = {"config": {**SIZE, "iters": args.iters, "seeds": args.seeds, "ablation_seeds": args.ablation_seeds, "lr": args.lr, "min_lr": args.lr / 10,
                         "warmup": 100, "schedule": "cosine", "optimizer": "AdamW (0.9, 0.95), wd 0.01 on matrices, clip 1",
                         "mask": "15%, 80/10/10", "data": "tiny shakespeare char, TokenData windows",
                         "val": f"{args.val_batches} fixed masked val batches", "threads_per_run": 1},
              "variants": {n: (r if isinstance(r, str) else r) for n, r in known.items() if n in names},
              "summary": summary, "runs": runs}
    if "modern" in summary and last in (1000, 2000, args.iters):
        result[f"masked_acc_{last}"] = {k: summary[v].get(f"masked_acc_{last}") for k, v in
                                        (("moredata", "modern"), ("moredata_classic", "classic"),
                                         ("modernbert", "hf_modernbert"), ("bert", "hf_bert")) if v in summary}
    result["minutes"] = round((time.time() - t0) / 60, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(runs, RESULTS / f"{args.out}.png", names)
    write_results(RESULTS / f"{args.out}.json", result, indent=2)
    print(f"{result['minutes']} minutes; wrote {RESULTS / (args.out + '.json')} and {args.out}.png")


if __name__ == "__main__":
    main()
