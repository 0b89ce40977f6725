"""decoder_only: the GPT language model, nanoGPT's architecture, with an optional KV cache for fast generation.

State-dict names are nanoGPT's (`transformer.wte`, `transformer.h.0.attn.c_attn`, ...), so a nanoGPT
`ckpt.pt` loads as it is (see `moredata.models.checkpoint`). The only addition is the `cache` argument of
`forward`: with a `KVCache`, each layer writes its keys/values for the new tokens and attends over what
the cache already holds, so generation costs one token's forward per step instead of the whole window.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn as nn
from torch.nn import functional as F

from moredata.models.kv_cache import CacheStep, KVCache


@dataclass
class GPTConfig:
    block_size: int = 1024  # context length (learned absolute positions)
    vocab_size: int = 50304  # GPT-2's 50257 padded up to a multiple of 64 for efficiency
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True  # bias in Linears and LayerNorms, like GPT-2; False is a bit better and faster

    @classmethod
    def from_dict(cls, args: dict) -> "GPTConfig":
        """Builds a config from checkpoint `model_args`, refusing keys it does not know."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(args) - known)
        if unknown:
            raise ValueError(f"unknown model_args keys: {', '.join(unknown)}")
        return cls(**args)

    def to_dict(self) -> dict:
        return asdict(self)


class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (PyTorch's has no bias=False before 2.1)."""

    def __init__(self, ndim: int, bias: bool):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout_p = config.dropout
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd

    def forward(self, x, cache: KVCache | None = None, step: CacheStep | None = None, layer: int = 0):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        hs = C // self.n_head
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        if cache is None:
            dropout_p = self.attn_dropout_p if self.training else 0.0
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
        else:
            # keys/values of every position the cache holds so far: (B, nh, S, hs), S >= T
            k, v = cache.update(layer, k, v, step)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=step.mask, is_causal=step.is_causal)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # re-assemble all head outputs side by side
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, cache: KVCache | None = None, step: CacheStep | None = None, layer: int = 0):
        x = x + self.attn(self.ln_1(x), cache, step, layer)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        assert config.vocab_size is not None and config.block_size is not None
        self.config = config
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=LayerNorm(config.n_embd, bias=config.bias),
            )
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # weight tying (https://paperswithcode.com/method/weight-tying); the state dict keeps both names
        self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        # GPT-2's scaled init of the residual projections
        for pn, p in self.named_parameters():
            if pn.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def get_num_params(self, non_embedding: bool = True) -> int:
        """Parameter count; position embeddings are subtracted by default (token ones are tied)."""
        n_params = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n_params -= self.transformer.wpe.weight.numel()
        return n_params

    def forward(self, idx, targets=None, cache: KVCache | None = None, step: CacheStep | None = None):
        """idx: (B, T) token ids. Returns (logits, loss).

        Training (targets given): logits (B, T, vocab) and the mean cross-entropy.
        Inference: logits of the last position only, (B, 1, vocab), as nanoGPT does.
        With a cache, `step` says where idx sits (absolute positions (T,) or (B, 1)) and what it sees.
        """
        b, t = idx.size()
        if cache is not None:
            pos = step.positions
        else:
            assert t <= self.config.block_size, f"sequence of {t} is longer than block_size {self.config.block_size}"
            pos = torch.arange(0, t, dtype=torch.long, device=idx.device)  # (t,)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for i, block in enumerate(self.transformer.h):
            x = block(x, cache, step, i)
        x = self.transformer.ln_f(x)
        if targets is not None:
            logits = self.lm_head(x)
            flat = targets.view(-1)
            # the mean over counted targets; a batch with none (a completion-only window of prompt tokens
            # alone) costs 0 instead of NaN
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), flat, ignore_index=-1, reduction="sum") \
                / (flat != -1).sum().clamp(min=1)
            return logits, loss
        # inference: only the last position's logits are needed (a list index keeps the time dim)
        return self.lm_head(x[:, [-1], :]), None

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """nanoGPT's `generate` (idx (B, T) -> (B, T + max_new_tokens)), with a KV cache and top-p:
        temperature 0 is greedy; see moredata.models.generation for the cache and batching."""
        from moredata.models.generation import generate

        was_training = self.training
        self.eval()
        try:
            return generate(self, idx, max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
                            generator=generator)
        finally:
            self.train(was_training)

    def crop_block_size(self, block_size: int) -> None:
        """Model surgery: shrink the context (e.g. a checkpoint trained at 1024 used at 256)."""
        assert block_size <= self.config.block_size
        self.config.block_size = block_size
        self.transformer.wpe.weight = nn.Parameter(self.transformer.wpe.weight[:block_size])

    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
        """AdamW with two groups: every 2D tensor (matmuls, embeddings) decays, biases and norms don't."""
        param_dict = {pn: p for pn, p in self.named_parameters() if p.requires_grad}
        decay_params = [p for p in param_dict.values() if p.dim() >= 2]
        nodecay_params = [p for p in param_dict.values() if p.dim() < 2]
        optim_groups = [
            {"params": decay_params, "weight_decay": weight_decay},
            {"params": nodecay_params, "weight_decay": 0.0},
        ]
        # the fused kernel is much faster on CUDA; on CPU plain foreach is as fast for small models
        fused_available = "fused" in inspect.signature(torch.optim.AdamW).parameters
        use_fused = fused_available and device_type == "cuda"
        extra_args = dict(fused=True) if use_fused else dict()
        optimizer = torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas, **extra_args)
        return optimizer, use_fused

    def estimate_mfu(self, fwdbwd_per_iter: int, dt: float, peak_flops: float = 312e12) -> float:
        """Model flops utilization against `peak_flops` (default: A100 bf16), as in the PaLM paper."""
        N = self.get_num_params()
        cfg = self.config
        L, H, Q, T = cfg.n_layer, cfg.n_head, cfg.n_embd // cfg.n_head, cfg.block_size
        flops_per_token = 6 * N + 12 * L * H * Q * T
        flops_per_iter = flops_per_token * T * fwdbwd_per_iter
        return flops_per_iter / dt / peak_flops


DecoderOnlyModel = GPT  # the model type's name in the table of moredata.models
