"""A preallocated key/value cache for batched generation with learned absolute positions.

The cache holds every layer's keys and values for up to `max_len` (= the model's block_size) positions:
(n_layer, B, nh, max_len, hs) each. A forward step is described by a `CacheStep`: which slots the new
tokens are written to and which slots they may attend to. Two shapes of step exist:
- shared positions (every row at the same place): a contiguous write at a Python int, attend to
  `[0, end)` with no mask; this is the fast eager path on CPU;
- per-row positions (ragged prompts, or the static CUDA-graph path): one token per row written at its
  own slot, a boolean mask (B, 1, 1, end) hides the slots a row has not reached.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class CacheStep:
    positions: torch.Tensor  # absolute positions of the new tokens: (T,) shared, or (B, 1) per row
    write: int | torch.Tensor  # int: first slot of a contiguous write for all rows; (B,) tensor: a slot per row
    end: int  # the new tokens attend over slots [0, end)
    mask: torch.Tensor | None  # (B, 1, T, end) bool, True = may attend; None = all of [0, end)
    is_causal: bool  # True for a prefill from slot 0 (queries and keys line up)


class KVCache(nn.Module):
    """Keys and values as module buffers, so a compiled decode step sees fixed addresses (CUDA graphs)."""

    def __init__(self, n_layer, batch_size, n_head, head_size, max_len, device=None, dtype=torch.float32):
        super().__init__()
        shape = (n_layer, batch_size, n_head, max_len, head_size)
        self.register_buffer("k", torch.zeros(shape, device=device, dtype=dtype), persistent=False)
        self.register_buffer("v", torch.zeros(shape, device=device, dtype=dtype), persistent=False)
        self.max_len = max_len

    @classmethod
    def for_model(cls, model, batch_size: int) -> "KVCache":
        cfg = model.config
        w = model.lm_head.weight
        return cls(cfg.n_layer, batch_size, cfg.n_head, cfg.n_embd // cfg.n_head, cfg.block_size, w.device, w.dtype)

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor, s: CacheStep):
        """Stores k, v (B, nh, T, hs) of the new tokens; returns all attended keys and values (B, nh, end, hs)."""
        kc, vc = self.k[layer], self.v[layer]  # (B, nh, max_len, hs) views
        if isinstance(s.write, int):
            kc[:, :, s.write : s.write + k.size(2)] = k
            vc[:, :, s.write : s.write + v.size(2)] = v
        else:  # one token per row, each at its own slot
            rows = torch.arange(k.size(0), device=k.device)
            kc[rows, :, s.write] = k[:, :, 0]
            vc[rows, :, s.write] = v[:, :, 0]
        return kc[:, :, : s.end], vc[:, :, : s.end]
