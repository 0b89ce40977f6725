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

import contextlib
import threading
import weakref
from collections import OrderedDict
from typing import Iterator

import numpy as np
import torch
from torch.nn import functional as F
from torch.nn.utils.rnn import pad_sequence

from moredata.models.decoder_only import GPT
from moredata.models.kv_cache import CacheStep, KVCache


def sample_next(logits: torch.Tensor, temperature: float, top_k: int | None, generator=None,
                top_p: float | None = None) -> torch.Tensor:
    """logits (B, V) -> next ids (B, 1). temperature 0 means greedy; top_k keeps the k likeliest ids,
    top_p (nucleus) the fewest likeliest ids whose probabilities sum to at least top_p."""
    if temperature == 0.0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits / temperature
    if top_k is not None:
        v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
        logits = logits.masked_fill(logits < v[:, [-1]], -float("inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)  # (B, V)
        p_sorted = F.softmax(sorted_logits, dim=-1)
        # drop an id when the ids before it already reach top_p (the likeliest one always stays)
        drop_sorted = (p_sorted.cumsum(-1) - p_sorted) >= top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, -float("inf"))
    probs = F.softmax(logits, dim=-1)
    race = torch.empty_like(probs).exponential_(1, generator=generator)
    return (probs / race).argmax(dim=-1, keepdim=True)


def check_sampling(temperature: float, top_k, top_p) -> None:
    from moredata.errors import InvalidArgument

    if temperature < 0:
        raise InvalidArgument(f"temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise InvalidArgument(f"top_k must be >= 1, got {top_k}")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise InvalidArgument(f"top_p must be in (0, 1], got {top_p}")


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


def _static_step(model: GPT, cache: KVCache, slots: torch.Tensor, tok: torch.Tensor, pos: torch.Tensor):
    """One decode step with fixed shapes: writes at per-row slots, attends over all L slots under a mask."""
    mask = (slots[None, :] <= pos[:, None])[:, None, None, :]  # (B, 1, 1, L)
    logits, _ = model(tok, cache=cache, step=CacheStep(pos[:, None], pos, slots.numel(), mask, False))
    return logits[:, -1, :]


# compiled once per process; CUDA graphs ("reduce-overhead") replay the whole step per token
_compiled_static_step = None


class _Decoder:
    """A cache plus prefill and one-token decode steps against it (the model is passed in, not held,
    so the per-model decoder registry below does not keep models alive)."""

    def __init__(self, model: GPT, batch_size: int, static: bool, compile: bool):
        global _compiled_static_step
        self.cache = KVCache.for_model(model, batch_size)
        self.busy = threading.Lock()  # held by the one generation using this cache
        self.static = static
        self.slots = torch.arange(model.config.block_size, device=model.lm_head.weight.device)  # (L,)
        self._static = _static_step
        if compile:
            if _compiled_static_step is None:
                _compiled_static_step = torch.compile(_static_step, mode="reduce-overhead", fullgraph=True)
            self._static = _compiled_static_step

    def prefill(self, model: GPT, window: torch.Tensor) -> None:
        """Writes keys/values of window (B, T) at slots [0, T); right padding is harmless (masked later)."""
        T = window.size(1)
        if T:
            model(window, cache=self.cache, step=CacheStep(self.slots[:T], 0, T, None, True))

    def decode(self, model: GPT, tok: torch.Tensor, pos: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
        """tok (B, 1) at positions pos (B,), whose smallest and largest values are lo and hi -> logits (B, V)."""
        if self.static:
            return self._static(model, self.cache, self.slots, tok, pos)
        if lo == hi:  # all rows at one position: contiguous write, no mask
            step = CacheStep(self.slots[lo : lo + 1], lo, lo + 1, None, False)
        else:
            mask = (self.slots[: hi + 1][None, :] <= pos[:, None])[:, None, None, :]  # (B, 1, 1, hi+1)
            step = CacheStep(pos[:, None], pos, hi + 1, mask, False)
        logits, _ = model(tok, cache=self.cache, step=step)
        return logits[:, -1, :]


# decoders (and their caches) per model and shape, reused across calls: a compiled decode step is
# compiled once and its CUDA graph keeps replaying on the same cache buffers. A few shapes per model.
_DECODERS: "weakref.WeakKeyDictionary[GPT, OrderedDict]" = weakref.WeakKeyDictionary()
_MAX_DECODERS_PER_MODEL = 4


_DECODERS_LOCK = threading.Lock()


@contextlib.contextmanager
def _decoder_for(model: GPT, batch_size: int, static: bool, compile: bool) -> Iterator[_Decoder]:
    """A decoder for this call alone: the shared one for this model and shape when it is free, else a
    private one. A decoder's KV cache holds one generation's keys and values, so two generations (two
    threads of a web server) must never share one at the same time."""
    key = (batch_size, static, compile, model.lm_head.weight.device, model.lm_head.weight.dtype,
           model.config.block_size)
    with _DECODERS_LOCK:
        per_model = _DECODERS.setdefault(model, OrderedDict())
        dec = per_model.get(key)
        if dec is None:
            dec = per_model[key] = _Decoder(model, batch_size, static, compile)
            while len(per_model) > _MAX_DECODERS_PER_MODEL:
                per_model.popitem(last=False)
        per_model.move_to_end(key)
    if not dec.busy.acquire(blocking=False):
        # in use by another generation: a private cache (static and compiled steps stay with the shared one)
        yield _Decoder(model, batch_size, static, False)
        return
    try:
        yield dec
    finally:
        dec.busy.release()


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
    top_p: float | None = None,
) -> torch.Tensor | list[torch.Tensor]:
    """Continues each prompt by max_new_tokens tokens with a KV cache.

    prompts: (B, T) long tensor, or a list of 1-D long tensors (lengths may differ).
    Returns (B, T + max_new_tokens) for a tensor, else a list of 1-D tensors.
    static: fixed-shape decode step (mask over the whole cache); default on for CUDA. compile: wrap that
    step in torch.compile(mode="reduce-overhead") (CUDA graphs); only used with static.
    """
    device = model.lm_head.weight.device
    ragged = not torch.is_tensor(prompts)
    if ragged:
        lengths = np.array([int(r.numel()) for r in prompts], dtype=np.int64)
    else:
        lengths = np.full(prompts.size(0), prompts.size(1), dtype=np.int64)
    L = model.config.block_size
    refill_keep = L // 2 if refill_keep is None else refill_keep
    _validate(model, lengths.tolist(), max_new_tokens, temperature, top_k, refill_keep)
    check_sampling(temperature, top_k, top_p)
    static = (device.type == "cuda") if static is None else static
    B = lengths.size

    # every row's tokens so far, left-aligned: row b holds lens[b] tokens (B, max_len + max_new)
    out = torch.zeros(B, int(lengths.max()) + max_new_tokens, dtype=torch.long, device=device)
    if ragged:
        out[:, : lengths.max()] = pad_sequence([r.to(device) for r in prompts], batch_first=True)
    else:
        out[:, : lengths.max()] = prompts.to(device)
    lens_host = lengths.copy()  # host copy of the row lengths: window sizes are known without a sync
    with _decoder_for(model, B, static, compile and static) as dec:
        return _generate_with(dec, model, out, lengths, lens_host, max_new_tokens, temperature, top_k,
                              generator, refill_keep, ragged, top_p)


def _generate_with(dec, model, out, lengths, lens_host, max_new_tokens, temperature, top_k, generator,
                   refill_keep, ragged, top_p=None):
    device = out.device
    B = lengths.size
    L = model.config.block_size
    lens = torch.from_numpy(lengths).to(device)
    arange_b = torch.arange(B, device=device)

    def start_window(limit: int):
        """Prefill all but the last of each row's last (up to) `limit` tokens; return that last token."""
        n = np.minimum(lens_host, limit)  # (B,) tokens each row keeps
        width = int(n.max())
        n_t = torch.from_numpy(n).to(device)
        # (B, width): each row's last n[b] tokens; shorter rows are padded with clamped repeats
        idx = (lens - n_t)[:, None] + torch.arange(width, device=device)[None, :]
        window = out.gather(1, idx.clamp(max=out.size(1) - 1))
        dec.prefill(model, window[:, : width - 1])
        tok = window.gather(1, (n_t - 1)[:, None])  # (B, 1) current token of each row
        return tok, n_t - 1, int(n.min()) - 1, width - 1

    # a prompt longer than the context keeps only its last block_size tokens, as nanoGPT crops
    tok, pos, lo, hi = start_window(L)
    for _ in range(max_new_tokens):
        if hi >= L:  # the current token would fall past the context: re-fill
            tok, pos, lo, hi = start_window(refill_keep)
        logits = dec.decode(model, tok, pos, lo, hi)
        tok = sample_next(logits, temperature, top_k, generator, top_p)  # (B, 1)
        out[arange_b, lens] = tok[:, 0]
        lens += 1
        lens_host += 1
        pos = pos + 1
        lo, hi = lo + 1, hi + 1
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
