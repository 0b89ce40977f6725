"""Transformer pieces shared by the encoder and the encoder-decoder: blocks over
`F.scaled_dot_product_attention`, with padding masks and an optional per-layer key/value cache, built to
the config's recipe (rotary or learned positions, GeGLU or GELU, norm placement, initialisation: see
moredata.models.config)."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch.nn import functional as F

from moredata.models.config import ModelConfig


def key_padding_mask(attention_mask: torch.Tensor | None) -> torch.Tensor | None:
    """(B, T) 1/0 -> (B, 1, 1, T) bool, True where a key may be attended to."""
    if attention_mask is None:
        return None
    return attention_mask.bool()[:, None, None, :]


ROPE_THETA = 10000.0


class Rotary(nn.Module):
    """Rotary position embedding (RoPE) of queries and keys, in the rotate-half layout HF's models use.
    The cos/sin tables (max_seq_len, head_size) are non-persistent buffers: not in the state dict."""

    def __init__(self, head_size: int, max_seq_len: int):
        super().__init__()
        inv = 1.0 / ROPE_THETA ** (torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
        angles = torch.outer(torch.arange(max_seq_len, dtype=torch.float32), inv)  # (T, hs/2)
        angles = torch.cat([angles, angles], dim=-1)  # (T, hs)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """x: (B, nh, T, hs) at positions start..start+T-1."""
        T, half = x.size(2), x.size(3) // 2
        cos, sin = self.cos[start:start + T].to(x.dtype), self.sin[start:start + T].to(x.dtype)
        rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * cos + rotated * sin


class Attention(nn.Module):
    """Multi-head attention; self-attention when `memory` is None, else cross-attention over it. With
    rotary positions, self-attention rotates queries and keys by their position (a cached step's
    position is the cache's length); cross-attention carries no positions."""

    def __init__(self, c: ModelConfig, cross: bool = False):
        super().__init__()
        self.n_head, self.d = c.num_heads, c.d_model
        self.rotary = Rotary(c.d_model // c.num_heads, c.max_seq_len) if c.positions == "rotary" and not cross \
            else None
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
            if self.rotary is not None:
                start = cache["k"].size(2) if cache is not None and "k" in cache else 0
                q, k = self.rotary(q, start), self.rotary(k, start)
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
    """GELU(x W_up) W_down, or GeGLU: `up` makes both halves, GELU(a) * g, then `down`."""

    def __init__(self, c: ModelConfig):
        super().__init__()
        self.glu = c.ffn == "geglu"
        self.up = nn.Linear(c.d_model, 2 * c.d_ff if self.glu else c.d_ff, bias=c.bias)
        self.down = nn.Linear(c.d_ff, c.d_model, bias=c.bias)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x):
        h = self.up(x)
        if self.glu:
            a, g = h.chunk(2, dim=-1)
            h = F.gelu(a) * g
        else:
            h = F.gelu(h)
        return self.drop(self.down(h))


def layer_norm(c: ModelConfig) -> nn.LayerNorm:
    return nn.LayerNorm(c.d_model, bias=c.bias)


def sublayer(post: bool, x, norm: nn.Module, f, **kw):
    """x + f(norm(x)) (pre-LN), or norm(x + f(x)) (post-LN, BERT's)."""
    return norm(x + f(x, **kw)) if post else x + f(norm(x), **kw)


class EncoderBlock(nn.Module):
    """`first`: the first block of `embed_pre` has no norm before its attention (its input is the normed
    embedding), as ModernBERT's. Names (ln1, attn, ln2, ff) are the checkpoint format's."""

    def __init__(self, c: ModelConfig, first: bool = False):
        super().__init__()
        self.post = c.norm == "post"
        self.ln1 = nn.Identity() if first and c.norm == "embed_pre" else layer_norm(c)
        self.attn, self.ln2, self.ff = Attention(c), layer_norm(c), FeedForward(c)

    def forward(self, x, mask=None):
        x = sublayer(self.post, x, self.ln1, self.attn, mask=mask)
        return sublayer(self.post, x, self.ln2, self.ff)


class DecoderBlock(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.post = c.norm == "post"
        self.ln1, self.self_attn = layer_norm(c), Attention(c)
        self.ln2, self.cross_attn = layer_norm(c), Attention(c, cross=True)
        self.ln3, self.ff = layer_norm(c), FeedForward(c)

    def forward(self, x, memory, memory_mask=None, cache: dict | None = None):
        x = sublayer(self.post, x, self.ln1, self.self_attn, causal=True,
                     cache=None if cache is None else cache.setdefault("self", {}))
        x = sublayer(self.post, x, self.ln2, self.cross_attn, mask=memory_mask, memory=memory,
                     cache=None if cache is None else cache.setdefault("cross", {}))
        return sublayer(self.post, x, self.ln3, self.ff)


def final_norm(c: ModelConfig) -> nn.Module:
    """After the last block: a LayerNorm for pre-LN blocks; post-LN blocks end normed already."""
    return nn.Identity() if c.norm == "post" else layer_norm(c)


class Embeddings(nn.Module):
    """Token embeddings (+ learned absolute positions unless the positions are rotary), normed for the
    `embed_pre` and `post` recipes."""

    def __init__(self, c: ModelConfig):
        super().__init__()
        self.tok = nn.Embedding(c.vocab_size, c.d_model)
        self.pos = nn.Embedding(c.max_seq_len, c.d_model) if c.positions == "learned" else None
        self.norm = layer_norm(c) if c.norm in ("embed_pre", "post") else nn.Identity()
        self.drop = nn.Dropout(c.dropout)
        self.max_seq_len = c.max_seq_len

    def forward(self, ids: torch.Tensor, start: int = 0) -> torch.Tensor:
        T = ids.size(1)
        if start + T > self.max_seq_len:
            raise ValueError(f"sequence of {start + T} tokens exceeds max_seq_len {self.max_seq_len}")
        x = self.tok(ids)
        if self.pos is not None:
            x = x + self.pos(torch.arange(start, start + T, device=ids.device))
        return self.drop(self.norm(x))


# Linears that write into the residual stream (or the MLM head's input): the modern init scales them down
_OUTPUT_LINEARS = ("proj", "down", "mlm_dense")


def init_recipe(model: nn.Module, c: ModelConfig) -> None:
    """`gpt2`: N(0, 0.02) for every Linear and Embedding weight, zero biases. `modern` (ModernBERT's):
    truncated at 2 sd, 0.02 for inputs and embeddings, 0.02 / sqrt(2 * layers) for outputs."""
    if c.init == "gpt2":
        model.apply(init_weights)
        return
    out_std = 0.02 / math.sqrt(2.0 * c.num_layers)
    for name, module in model.named_modules():
        if isinstance(module, (nn.Linear, nn.Embedding)):
            std = out_std if name.rsplit(".", 1)[-1] in _OUTPUT_LINEARS else 0.02
            nn.init.trunc_normal_(module.weight, mean=0.0, std=std, a=-2 * std, b=2 * std)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)


def init_weights(module: nn.Module) -> None:
    """GPT-2's initialisation: N(0, 0.02) for Linear and Embedding weights, zero biases."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
