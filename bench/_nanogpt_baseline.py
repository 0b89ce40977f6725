"""nanoGPT's train.py loop, transcribed for one process (karpathy/nanoGPT, MIT), as an in-run baseline.

It trains tests/nanogpt_reference.py (nanoGPT's model.py) with nanoGPT's own habits: the global torch
RNG for init, batches and evals, a fresh np.memmap per batch, a per-row torch.stack, loss.item() only at
log_interval. `bench/train_parity.py --baseline` runs it right after our trainer on the same config, so
ms/iter compares two runs on the same machine at the same time.
"""
from __future__ import annotations

import inspect
import math
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from tests import nanogpt_reference as ngpt

ROOT = Path(__file__).resolve().parents[1]


def configure_optimizers(model, weight_decay, learning_rate, betas, device_type):
    param_dict = {pn: p for pn, p in model.named_parameters() if p.requires_grad}
    decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
    nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
    optim_groups = [{"params": decay_params, "weight_decay": weight_decay},
                    {"params": nodecay_params, "weight_decay": 0.0}]
    fused_available = "fused" in inspect.signature(torch.optim.AdamW).parameters
    use_fused = fused_available and device_type == "cuda"
    extra_args = dict(fused=True) if use_fused else dict()
    return torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas, **extra_args)


def train(c: dict) -> dict:
    """c: the trainer settings dict (same keys as nanoGPT's globals). Returns best/last val and ms/iter."""
    torch.manual_seed(1337 if c.get("seed") is None else c["seed"])
    device = c["device"]
    data_dir = c["data_dir"]
    block_size, batch_size = c["block_size"], c["batch_size"]

    def get_batch(split):
        # nanoGPT recreates np.memmap every batch to avoid a memory leak
        data = np.memmap(f"{data_dir}/{split}.bin", dtype=np.uint16, mode="r")
        ix = torch.randint(len(data) - block_size, (batch_size,))
        x = torch.stack([torch.from_numpy((data[i:i + block_size]).astype(np.int64)) for i in ix])
        y = torch.stack([torch.from_numpy((data[i + 1:i + 1 + block_size]).astype(np.int64)) for i in ix])
        return x.to(device), y.to(device)

    import json
    vocab = json.loads((Path(data_dir) / "meta.json").read_text())["vocab_size"]
    model = ngpt.GPT(ngpt.GPTConfig(n_layer=c["n_layer"], n_head=c["n_head"], n_embd=c["n_embd"],
                                    block_size=block_size, bias=c["bias"], vocab_size=vocab,
                                    dropout=c["dropout"])).to(device)
    optimizer = configure_optimizers(model, c["weight_decay"], c["learning_rate"], (c["beta1"], c["beta2"]), "cpu")

    @torch.no_grad()
    def estimate_loss():
        out = {}
        model.eval()
        for split in ["train", "val"]:
            losses = torch.zeros(c["eval_iters"])
            for k in range(c["eval_iters"]):
                X, Y = get_batch(split)
                _, loss = model(X, Y)
                losses[k] = loss.item()
            out[split] = losses.mean()
        model.train()
        return out

    def get_lr(it):
        if it < c["warmup_iters"]:
            return c["learning_rate"] * (it + 1) / (c["warmup_iters"] + 1)
        if it > c["lr_decay_iters"]:
            return c["min_lr"]
        decay_ratio = (it - c["warmup_iters"]) / (c["lr_decay_iters"] - c["warmup_iters"])
        coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
        return c["min_lr"] + coeff * (c["learning_rate"] - c["min_lr"])

    X, Y = get_batch("train")
    t0 = time.time()
    iter_num, best_val_loss, last_val, dts = 0, 1e9, None, []
    while True:
        lr = get_lr(iter_num) if c["decay_lr"] else c["learning_rate"]
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr
        if iter_num % c["eval_interval"] == 0:
            losses = estimate_loss()
            last_val = float(losses["val"])
            print(f"[nanoGPT] step {iter_num}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}",
                  flush=True)
            best_val_loss = min(best_val_loss, last_val)
            t0 = time.time()  # as in our trainer, evaluations stay out of ms/iter
        for _ in range(c["gradient_accumulation_steps"]):
            _, loss = model(X, Y)
            loss = loss / c["gradient_accumulation_steps"]
            X, Y = get_batch("train")
            loss.backward()
        if c["grad_clip"] != 0.0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), c["grad_clip"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        t1 = time.time()
        dts.append(t1 - t0)
        t0 = t1
        if iter_num % c["log_interval"] == 0:
            loss.item()  # the host sync nanoGPT does when it logs
        iter_num += 1
        if iter_num > c["max_iters"]:
            break
    return {"best_val_loss": best_val_loss, "last_val_loss": last_val, "ms_per_iter": statistics.median(dts) * 1000}
