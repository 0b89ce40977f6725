"""Batched text generation: the KV-cache path, and nanoGPT's no-cache path as the reference.

`generate` takes a batch of prompts (a (B, T) tensor, or a list of 1-D tensors of different lengths)
and returns each prompt followed by `max_new_tokens` sampled tokens. Per step it runs one token per row
through the model against the cache, so a step costs O(1) tokens of compute instead of O(T).

Past the context (`block_size`): with learned absolute positions a rolling cache would be wrong (a key
computed at position 200 cannot be moved to position 100). When the cache is full we re-fill it from the
last `refill_keep` tokens (default: half the context) in one batched forward, then continue; the cost of
that forward is spread over the `block_size - refill_keep` cheap steps that follow. Inside the context
the result equals `generate_nocache` token for token under greedy decoding; past it, each token sees at
least `refill_keep` tokens of context where nanoGPT's sliding window sees `block_size`.

Sampling never syncs with the host: top-k masks on the device and the draw is an exponential race
(argmax of p / E with E ~ Exp(1) picks index i with probability p_i), not `torch.multinomial`.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from services.common.kv_cache import CacheStep, KVCache
from services.common.model import GPT


def sample_next(logits: torch.Tensor, temperature: float, top_k: int | None, generator=None) -> torch.Tensor:
    """logits (B, V) -> next ids (B, 1). temperature 0 means greedy."""
    if temperature == 0.0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits / temperature
    if top_k is not None:
        v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
        logits = logits.masked_fill(logits < v[:, [-1]], -float("inf"))
    probs = F.softmax(logits, dim=-1)
    race = torch.empty_like(probs).exponential_(1, generator=generator)
    return (probs / race).argmax(dim=-1, keepdim=True)


def _validate(model: GPT, lengths: list[int], max_new_tokens: int, temperature: float, top_k, refill_keep: int):
    if not lengths or min(lengths) < 1:
        raise ValueError("every prompt needs at least one token")
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    if not 1 <= refill_keep < model.config.block_size:
        raise ValueError(f"refill_keep must be in [1, block_size), got {refill_keep}")


class _Decoder:
    """Runs prefill and one-token decode steps of `model` against one cache."""

    def __init__(self, model: GPT, batch_size: int, static: bool, compile: bool):
        self.model = model
        self.cache = KVCache.for_model(model, batch_size)
        self.static = static
        self.L = model.config.block_size
        device = model.lm_head.weight.device
        self.slots = torch.arange(self.L, device=device)  # (L,) reused for positions and masks
        self._decode_static = self._static_step
        if compile:
            # fixed shapes every step (mask over all L slots) -> CUDA graphs replay the whole decode step
            self._decode_static = torch.compile(self._static_step, mode="reduce-overhead", fullgraph=True)

    def prefill(self, window: torch.Tensor) -> None:
        """Writes keys/values of window (B, T) at slots [0, T); right padding is harmless (masked later)."""
        T = window.size(1)
        if T == 0:
            return
        self.cache.step = CacheStep(self.slots[:T], 0, T, None, True)
        self.model(window, cache=self.cache)

    def decode(self, tok: torch.Tensor, pos: torch.Tensor, pos_host: list[int]) -> torch.Tensor:
        """tok (B, 1) at positions pos (B,) -> logits (B, V)."""
        if self.static:
            return self._decode_static(tok, pos)
        lo, hi = min(pos_host), max(pos_host)
        if lo == hi:  # all rows at one position: contiguous write, no mask
            step = CacheStep(self.slots[lo : lo + 1], lo, lo + 1, None, False)
        else:
            mask = (self.slots[: hi + 1][None, :] <= pos[:, None])[:, None, None, :]  # (B, 1, 1, hi+1)
            step = CacheStep(pos[:, None], pos, hi + 1, mask, False)
        self.cache.step = step
        logits, _ = self.model(tok, cache=self.cache)
        return logits[:, -1, :]

    def _static_step(self, tok, pos):
        mask = (self.slots[None, :] <= pos[:, None])[:, None, None, :]  # (B, 1, 1, L)
        self.cache.step = CacheStep(pos[:, None], pos, self.L, mask, False)
        logits, _ = self.model(tok, cache=self.cache)
        return logits[:, -1, :]


@torch.inference_mode()
def generate(
    model: GPT,
    prompts: torch.Tensor | list[torch.Tensor],
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
    refill_keep: int | None = None,
    static: bool | None = None,
    compile: bool = False,
) -> torch.Tensor | list[torch.Tensor]:
    """Continues each prompt by max_new_tokens tokens with a KV cache.

    prompts: (B, T) long tensor, or a list of 1-D long tensors (lengths may differ).
    Returns (B, T + max_new_tokens) for a tensor, else a list of 1-D tensors.
    static: fixed-shape decode step (mask over the whole cache); default on for CUDA. compile: wrap that
    step in torch.compile(mode="reduce-overhead") (CUDA graphs); only used with static.
    """
    device = model.lm_head.weight.device
    ragged = not torch.is_tensor(prompts)
    rows = list(prompts) if ragged else list(prompts.unbind(0))
    lengths = [int(r.numel()) for r in rows]
    L = model.config.block_size
    refill_keep = L // 2 if refill_keep is None else refill_keep
    _validate(model, lengths, max_new_tokens, temperature, top_k, refill_keep)
    static = (device.type == "cuda") if static is None else static
    B = len(rows)

    # every row's tokens so far, left-aligned: row b holds lens[b] tokens (B, max_len + max_new)
    out = torch.zeros(B, max(lengths) + max_new_tokens, dtype=torch.long, device=device)
    for b, r in enumerate(rows):  # B host->device copies, once
        out[b, : lengths[b]] = r.to(device)
    lens_host = list(lengths)
    lens = torch.tensor(lengths, device=device)
    arange_b = torch.arange(B, device=device)

    dec = _Decoder(model, B, static, compile and static)

    def start_window(limit: int):
        """Prefill all but the last of each row's last (up to) `limit` tokens; return that last token."""
        n = [min(lb, limit) for lb in lens_host]
        width = max(n)
        n_t = torch.tensor(n, device=device)
        # (B, width) gather of each row's last n[b] tokens, right-padded by repeating index clamps
        idx = (lens - n_t)[:, None] + torch.arange(width, device=device)[None, :]
        window = out.gather(1, idx.clamp(max=out.size(1) - 1))
        dec.prefill(window[:, : width - 1])
        tok = window.gather(1, (n_t - 1)[:, None])  # (B, 1) current token of each row
        return tok, n_t - 1, [x - 1 for x in n]

    # a prompt longer than the context keeps only its last block_size tokens, as nanoGPT crops
    tok, pos, pos_host = start_window(L)
    for _ in range(max_new_tokens):
        if max(pos_host) >= L:  # the current token would fall past the context: re-fill
            tok, pos, pos_host = start_window(refill_keep)
        logits = dec.decode(tok, pos, pos_host)
        tok = sample_next(logits, temperature, top_k, generator)  # (B, 1)
        out[arange_b, lens] = tok[:, 0]
        lens += 1
        lens_host = [x + 1 for x in lens_host]
        pos = pos + 1
        pos_host = [p + 1 for p in pos_host]
    if ragged:
        return [out[b, : lens_host[b]] for b in range(B)]
    return out


@torch.inference_mode()
def generate_nocache(model: GPT, idx: torch.Tensor, max_new_tokens: int, temperature=1.0, top_k=None, generator=None):
    """nanoGPT's `GPT.generate`: re-runs the whole (cropped) sequence for every new token. The baseline."""
    for _ in range(max_new_tokens):
        idx_cond = idx if idx.size(1) <= model.config.block_size else idx[:, -model.config.block_size :]
        logits, _ = model(idx_cond)
        logits = logits[:, -1, :] / temperature
        if top_k is not None:
            v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
            logits[logits < v[:, [-1]]] = -float("Inf")
        probs = F.softmax(logits, dim=-1)
        idx_next = torch.multinomial(probs, num_samples=1, generator=generator)
        idx = torch.cat((idx, idx_next), dim=1)
    return idx
