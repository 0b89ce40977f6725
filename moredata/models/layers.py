"""Transformer pieces shared by the encoder and the encoder-decoder: pre-LN blocks over
`F.scaled_dot_product_attention`, with padding masks and an optional per-layer key/value cache."""
from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn import functional as F

from moredata.models.config import ModelConfig


def key_padding_mask(attention_mask: torch.Tensor | None) -> torch.Tensor | None:
    """(B, T) 1/0 -> (B, 1, 1, T) bool, True where a key may be attended to."""
    if attention_mask is None:
        return None
    return attention_mask.bool()[:, None, None, :]


class Attention(nn.Module):
    """Multi-head attention; self-attention when `memory` is None, else cross-attention over it."""

    def __init__(self, c: ModelConfig, cross: bool = False):
        super().__init__()
        self.n_head, self.d = c.num_heads, c.d_model
        self.q = nn.Linear(c.d_model, c.d_model, bias=c.bias)
        self.kv = nn.Linear(c.d_model, 2 * c.d_model, bias=c.bias)
        self.proj = nn.Linear(c.d_model, c.d_model, bias=c.bias)
        self.dropout = c.dropout
        self.resid = nn.Dropout(c.dropout)
        self.cross = cross

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        return x.view(B, T, self.n_head, self.d // self.n_head).transpose(1, 2)  # (B, nh, T, hs)

    def forward(self, x, mask=None, memory=None, causal: bool = False, cache: dict | None = None):
        q = self._heads(self.q(x))
        if cache is not None and "k" in cache and self.cross:
            k, v = cache["k"], cache["v"]  # the encoder memory's keys/values, computed once per generation
        else:
            k, v = (self._heads(t) for t in self.kv(memory if self.cross else x).split(self.d, dim=2))
            if cache is not None:
                if not self.cross and "k" in cache:  # self-attention: append the new positions
                    k, v = torch.cat([cache["k"], k], dim=2), torch.cat([cache["v"], v], dim=2)
                cache["k"], cache["v"] = k, v
        # a cached decoder step attends to every earlier position, so it needs no causal mask
        is_causal = causal and mask is None and q.size(2) == k.size(2)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal,
                                           dropout_p=self.dropout if self.training else 0.0)
        B, _, T, _ = y.shape
        return self.resid(self.proj(y.transpose(1, 2).reshape(B, T, self.d)))


class FeedForward(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.up = nn.Linear(c.d_model, c.d_ff, bias=c.bias)
        self.down = nn.Linear(c.d_ff, c.d_model, bias=c.bias)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x):
        return self.drop(self.down(F.gelu(self.up(x))))


class EncoderBlock(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(c.d_model, bias=c.bias), Attention(c)
        self.ln2, self.ff = nn.LayerNorm(c.d_model, bias=c.bias), FeedForward(c)

    def forward(self, x, mask=None):
        x = x + self.attn(self.ln1(x), mask=mask)
        return x + self.ff(self.ln2(x))


class DecoderBlock(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.ln1, self.self_attn = nn.LayerNorm(c.d_model, bias=c.bias), Attention(c)
        self.ln2, self.cross_attn = nn.LayerNorm(c.d_model, bias=c.bias), Attention(c, cross=True)
        self.ln3, self.ff = nn.LayerNorm(c.d_model, bias=c.bias), FeedForward(c)

    def forward(self, x, memory, memory_mask=None, cache: dict | None = None):
        x = x + self.self_attn(self.ln1(x), causal=True, cache=None if cache is None else cache.setdefault("self", {}))
        x = x + self.cross_attn(self.ln2(x), mask=memory_mask, memory=memory,
                                cache=None if cache is None else cache.setdefault("cross", {}))
        return x + self.ff(self.ln3(x))


class Embeddings(nn.Module):
    """Token + learned absolute position embeddings."""

    def __init__(self, c: ModelConfig):
        super().__init__()
        self.tok = nn.Embedding(c.vocab_size, c.d_model)
        self.pos = nn.Embedding(c.max_seq_len, c.d_model)
        self.drop = nn.Dropout(c.dropout)
        self.max_seq_len = c.max_seq_len

    def forward(self, ids: torch.Tensor, start: int = 0) -> torch.Tensor:
        T = ids.size(1)
        if start + T > self.max_seq_len:
            raise ValueError(f"sequence of {start + T} tokens exceeds max_seq_len {self.max_seq_len}")
        pos = torch.arange(start, start + T, device=ids.device)
        return self.drop(self.tok(ids) + self.pos(pos))


def init_weights(module: nn.Module) -> None:
    """GPT-2's initialisation: N(0, 0.02) for Linear and Embedding weights, zero biases."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
