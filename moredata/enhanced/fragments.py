"""Enhanced samples: continue random prefixes of the training data, cut training fragments from them."""
from __future__ import annotations

import math

import numpy as np
import torch

from moredata.models.decoder_only import GPT
from moredata.models.generation import generate


def sample_random_fragments(sequences: list[np.ndarray], block_size: int, rng: np.random.Generator | None = None,
                            per_sequence: int = 1) -> np.ndarray:
    """Cuts `per_sequence` random windows of block_size + 1 tokens from each sequence.

    sequences: 1-D id arrays (generated continuations). A sequence shorter than block_size + 1 yields
    nothing. Returns (N, block_size + 1) int64, one vectorised gather (no per-token loop).
    """
    rng = rng or np.random.default_rng()
    L = block_size + 1
    seqs = [np.asarray(s) for s in sequences if len(s) >= L]
    if not seqs:
        return np.zeros((0, L), dtype=np.int64)
    lens = np.array([len(s) for s in seqs])
    padded = np.zeros((len(seqs), lens.max()), dtype=np.int64)  # (S, max_len)
    for i, s in enumerate(seqs):  # S row copies (one per sequence), not per token
        padded[i, : len(s)] = s
    rows = np.repeat(np.arange(len(seqs)), per_sequence)  # (N,)
    starts = rng.integers(0, lens[rows] - L + 1)  # (N,) inclusive upper bound: len - L
    return padded[rows[:, None], starts[:, None] + np.arange(L)[None, :]]


REPETITION_NATS = 5.0  # what a fragment of nothing but repeated n-grams costs, in nats per token
REPETITION_N = 4


@torch.no_grad()
def fragment_scores(model: GPT, frags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, L) fragments -> per fragment (mean next-token NLL in nats under `model`, repetition in [0, 1]).

    NLL: one teacher-forced forward pass over the fragment (cheap next to generating it token by token).
    Repetition: 1 - distinct 4-grams / 4-grams in the fragment: about 0.1 for ordinary text, near 1 for a
    loop of one character or one phrase. A model that loops assigns its loop a *low* perplexity, so the
    NLL alone would keep exactly the degenerate fragments; the two are combined in `badness`."""
    x = torch.from_numpy(np.ascontiguousarray(frags, dtype=np.int64)).to(model.lm_head.weight.device)
    y = x[:, 1:].contiguous()
    logits, _ = model(x[:, :-1], y)  # with targets: logits at every position, (N, L-1, V)
    nll = torch.nn.functional.cross_entropy(logits.float().transpose(1, 2), y, reduction="none").mean(1)
    return nll.cpu().numpy(), repetition(frags)


def repetition(frags: np.ndarray, n: int = REPETITION_N) -> np.ndarray:
    """(N, L) ids -> (N,) share of repeated n-grams, vectorised: n-grams packed into int64 codes, sorted
    per row, distinct codes counted from the differences."""
    f = np.asarray(frags, dtype=np.int64)
    k = f.shape[1] - n + 1
    if k < 2:
        return np.zeros(len(f))
    base = int(f.max()) + 1
    codes = np.zeros((len(f), k), dtype=np.int64)
    for i in range(n):  # n vector operations (n = 4), not one per token
        codes = codes * base + f[:, i : i + k]
    codes.sort(axis=1)
    distinct = 1 + (np.diff(codes, axis=1) != 0).sum(axis=1)
    return 1.0 - distinct / k


def badness(nll: np.ndarray, rep: np.ndarray) -> np.ndarray:
    """One number per fragment, higher = worse: NLL plus REPETITION_NATS per unit of repetition."""
    return nll + REPETITION_NATS * rep


def random_prefixes(data: np.ndarray, n: int, min_len: int, max_len: int,
                    rng: np.random.Generator) -> list[np.ndarray]:
    """n random windows of the training data, each of a random length in [min_len, max_len]."""
    lengths = rng.integers(min_len, max_len + 1, size=n)
    starts = rng.integers(0, len(data) - lengths + 1)
    return [np.asarray(data[s : s + k], dtype=np.int64) for s, k in zip(starts, lengths)]


def adaptive_min_prefix(min_len: int, max_len: int, val_loss: float, vocab_size: int) -> int:
    """The shortest prefix the 'adaptive' schedule allows: min_len + weakness x (max_len - min_len).

    weakness = val_loss / ln(vocab_size), clamped to [0, 1]: the share of a uniform guess's loss the model
    still has. An untrained model (weakness 1) continues only max_len-token prefixes, so its fragments
    start from as much real context as the block allows; a good char-level model (val 1.5 of ln 65 = 4.17)
    draws from the upper two thirds. A checkpoint without a val loss counts as untrained."""
    if not (val_loss == val_loss) or vocab_size < 2:  # NaN: not measured
        return max_len
    weakness = min(1.0, max(0.0, val_loss / math.log(vocab_size)))
    return min(max_len, max(min_len, round(min_len + weakness * (max_len - min_len))))


def generate_enhanced_samples_batch(model: GPT, data: np.ndarray, batch_size: int, min_prefix_length: int,
                                    max_prefix_length: int, temperature: float, top_k: int | None,
                                    rng: np.random.Generator, generator: torch.Generator | None = None,
                                    per_sequence: int = 1) -> np.ndarray:
    """One generation round: batch_size prefixes -> continuations of block_size + 1 new tokens each ->
    (batch_size * per_sequence, block_size + 1) fragments of model-written text (the prefix excluded)."""
    block_size = model.config.block_size
    device = model.lm_head.weight.device
    prefixes = random_prefixes(data, batch_size, min_prefix_length, max_prefix_length, rng)
    new = block_size + 1  # at least one whole fragment of generated tokens per row
    outs = generate(model, [torch.from_numpy(p).to(device) for p in prefixes], new, temperature=temperature,
                    top_k=top_k, generator=generator)
    continuations = [o[len(p):].cpu().numpy() for o, p in zip(outs, prefixes)]
    return sample_random_fragments(continuations, block_size, rng, per_sequence)
