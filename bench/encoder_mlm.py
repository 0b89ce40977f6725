"""Masked-LM on tiny Shakespeare (char level), a small encoder on the CPU, with the GPT as a reference.

    python bench/encoder_mlm.py            # about 10 minutes on 2 cores; bench/results/encoder_mlm.json + PNG

Both models: the project's trainer (`model_type=encoder_only`, then `decoder_only`), the same sizes and
the same data (data/shakespeare_char: its 90/10 train/val split). The encoder is scored on the val split:
masked-token accuracy and MLM loss over 100 batches of BERT-masked windows (15%; 80/10/10). The GPT's
next-character accuracy is measured on the same val split (every position of 100 windows).
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import torch

from bench._results import write_results
from bench._stack import ensure_char_data
from moredata.cli import CliParser
from moredata.models.checkpoint import load_model
from moredata.training.config import load_settings
from moredata.training.loop import TrainingLoop
from moredata.training.objectives import Objective
from moredata.training.token_data import TokenData

ROOT = Path(__file__).resolve().parents[1]

OUT = ROOT / "bench" / "results"
CONFIG = {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 128, "batch_size": 32, "dropout": 0.0,
          "learning_rate": 2e-3, "min_lr": 2e-4, "warmup_iters": 100, "weight_decay": 0.01, "bias": True}


def train(model_type: str, iters: int, work: Path) -> Path:
    out = work / model_type
    flags = {**CONFIG, "data_dir": ROOT / "data" / "shakespeare_char", "out_dir": out, "device": "cpu",
             "model_type": model_type, "max_iters": iters, "lr_decay_iters": iters, "eval_interval": max(1, iters // 10),
             "eval_iters": 20, "log_interval": max(1, iters // 20), "gradient_accumulation_steps": 1,
             "progress": True, "plot": True, "overwrite": True}
    TrainingLoop(load_settings([f"--{k}={v}" for k, v in flags.items()])).run()
    return out


@torch.no_grad()
def score(ckpt: Path, model_type: str, batches: int = 100) -> dict:
    model, _, _ = load_model(ckpt)
    data = TokenData(ROOT / "data" / "shakespeare_char", CONFIG["block_size"], torch.device("cpu"))
    obj = Objective(model_type, data.vocab_size)
    g = torch.Generator().manual_seed(2026)
    losses, correct, counted = [], 0, 0
    for _ in range(batches):
        x, y = data.get_batch("val", CONFIG["batch_size"], g)
        batch = obj.to_batch(x, y, g)
        loss, logits = obj.loss_of(model, batch)
        losses.append(loss.item())
        if model_type == "encoder_only":
            c, n = obj.eval_counts(batch, logits)
        else:
            c, n = int((logits.argmax(-1) == y).sum()), y.numel()
        correct, counted = correct + c, counted + n
    return {"loss": sum(losses) / len(losses), "acc": correct / counted, "tokens": counted}


def main() -> None:
    ap = CliParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--encoder-iters", type=int, default=4000)
    ap.add_argument("--gpt-iters", type=int, default=1500)
    ap.add_argument("--block-size", type=int, default=CONFIG["block_size"], help="context (both models)")
    ap.add_argument("--lr", type=float, default=CONFIG["learning_rate"], help="peak learning rate (both models)")
    ap.add_argument("--out", default="encoder_mlm", help="result name under bench/results/")
    args = ap.parse_args()
    CONFIG.update(block_size=args.block_size, learning_rate=args.lr, min_lr=args.lr / 10)
    ensure_char_data()
    work = ROOT / "runs" / "bench_encoder_mlm"
    t0 = time.time()
    enc = train("encoder_only", args.encoder_iters, work)
    enc_min = (time.time() - t0) / 60
    gpt = train("decoder_only", args.gpt_iters, work)
    e, g = score(enc / "best.pt", "encoder_only"), score(gpt / "best.pt", "decoder_only")
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(enc / "loss.png", OUT / f"{args.out}_loss.png")
    result = {"config": {**CONFIG, "encoder_iters": args.encoder_iters, "gpt_iters": args.gpt_iters,
                         "data": "tiny shakespeare, char level, val split", "device": "cpu (2 cores)"},
              "masked_acc": round(e["acc"], 4), "mlm_loss": round(e["loss"], 4), "masked_tokens": e["tokens"],
              "gpt_next_char_acc": round(g["acc"], 4), "gpt_val_loss": round(g["loss"], 4),
              "minutes": round((time.time() - t0) / 60, 1), "encoder_minutes": round(enc_min, 1),
              "target_masked_acc": 0.60}
    write_results(OUT / f"{args.out}.json", result, indent=2)
    print(f"\nencoder MLM (val): masked-token accuracy {e['acc']:.3f} over {e['tokens']:,} masked tokens, "
          f"MLM loss {e['loss']:.3f}  (target >= 0.60)")
    print(f"GPT (val): next-character accuracy {g['acc']:.3f}, loss {g['loss']:.3f}")
    print(f"{result['minutes']} minutes; wrote {OUT / (args.out + '.json')} and {args.out}_loss.png")


if __name__ == "__main__":
    main()
