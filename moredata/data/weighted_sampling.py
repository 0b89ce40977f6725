"""Draw row indices in proportion to per-row weights (the code builder's quality weights, for example).

Torch-side so the trainer can use it directly: `WeightedRowSampler(weights).sample(n, generator)` is one
`torch.multinomial` call (with replacement), and the class is also a `torch.utils.data.Sampler` for a
DataLoader. `read_weights(path)` reads the `weight` field of a JSONL file (.gz too) without keeping rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from moredata.jsonl import read_jsonl


class WeightedRowSampler(torch.utils.data.Sampler[int]):
    def __init__(self, weights, num_samples: int | None = None, generator: torch.Generator | None = None):
        w = torch.as_tensor(weights, dtype=torch.float64)
        if w.ndim != 1 or w.numel() == 0:
            raise ValueError("weights must be a non-empty 1-D sequence")
        if not torch.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")
        self.weights = w
        self.num_samples = num_samples or w.numel()
        self.generator = generator

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n,) int64 row indices drawn with replacement, P(i) = w_i / sum(w)."""
        return torch.multinomial(self.weights, n, replacement=True, generator=generator or self.generator)

    def __iter__(self) -> Iterator[int]:
        return iter(self.sample(self.num_samples).tolist())

    def __len__(self) -> int:
        return self.num_samples


def read_weights(path: str, field: str = "weight") -> torch.Tensor:
    return torch.tensor([float(d[field]) for d in read_jsonl(path)], dtype=torch.float64)
