"""Masked-LM inputs (BERT's recipe), vectorised over the batch.

Of the non-special, non-padding positions, `prob` (15%) are selected; of those 80% become the mask token,
10% a random token (drawn from the non-special ids), 10% stay. Labels hold the original id at selected
positions and IGNORE_INDEX everywhere else.
"""
from __future__ import annotations

import torch

from moredata.models.encoder_only import IGNORE_INDEX


def mask_tokens(input_ids: torch.Tensor, special_ids: torch.Tensor, mask_id: int, n_regular: int,
                generator: torch.Generator | None = None, prob: float = 0.15) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, labels), both (B, T) long. `n_regular`: ids [0, n_regular) are ordinary tokens (the random
    replacements come from there); `special_ids`: ids never selected (pad, mask, cls, sep)."""
    ids = input_ids
    rand = torch.rand(ids.shape, generator=generator, device="cpu").to(ids.device)
    eligible = ~torch.isin(ids, special_ids.to(ids.device))
    selected = (rand < prob) & eligible
    labels = torch.where(selected, ids, torch.full_like(ids, IGNORE_INDEX))
    how = torch.rand(ids.shape, generator=generator, device="cpu").to(ids.device)  # 80/10/10 split
    to_mask = selected & (how < 0.8)
    to_random = selected & (how >= 0.8) & (how < 0.9)
    random_ids = torch.randint(0, n_regular, ids.shape, generator=generator, device="cpu").to(ids.device)
    out = torch.where(to_mask, torch.full_like(ids, mask_id), ids)
    out = torch.where(to_random, random_ids, out)
    return out, labels
