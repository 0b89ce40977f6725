"""The learning-rate schedule: nanoGPT's linear warm-up then cosine decay, or (`lr_scheduler`) a linear
decay, a constant rate after the warm-up, or a constant rate (HF's scheduler names)."""
from __future__ import annotations

import math

from moredata.training.config import TrainerSettings


def get_lr(it: int, cfg: TrainerSettings) -> float:
    """Linear warmup for warmup_iters, then cosine (or linear) decay to min_lr at lr_decay_iters, then min_lr."""
    kind = cfg.lr_scheduler
    if not cfg.decay_lr or kind == "constant":
        return cfg.learning_rate
    if it < cfg.warmup_iters:
        return cfg.learning_rate * (it + 1) / (cfg.warmup_iters + 1)
    if kind == "constant_with_warmup":
        return cfg.learning_rate
    if it > cfg.lr_decay_iters:
        return cfg.min_lr
    decay_ratio = min(1.0, (it - cfg.warmup_iters) / max(1, cfg.lr_decay_iters - cfg.warmup_iters))
    coeff = 1.0 - decay_ratio if kind == "linear" else 0.5 * (1.0 + math.cos(math.pi * decay_ratio))  # 1 -> 0
    return cfg.min_lr + coeff * (cfg.learning_rate - cfg.min_lr)
