"""PointerDataset: audio-edit samples from a folder, augmented in __getitem__, batched by `collate`.

    ds = PointerDataset("samples/", config=AugmentationConfig.from_file("augment.json"), seed=0)
    # or through the service: PointerDataset("samples/", config=cfg, service="127.0.0.1:50052")
    loader = DataLoader(ds, batch_size=16, shuffle=True, num_workers=2, collate_fn=collate)
    for epoch in range(10):
        ds.set_epoch(epoch)     # warm-up and decay follow the epoch; every (seed, epoch, index) differs
        for batch in loader:
            batch["raw"]        # (B, n_mels, max T_raw) zero-padded, batch["raw_mask"] (B, max T_raw)
            batch["pointers"]   # (B, max T_edit) int64, IGNORE_INDEX (-100) past each edit's end

Each item's seed is derived from (seed, epoch, index), so an item can be reproduced on its own, in any
worker, in any order. With concatenation enabled, the partner is another sample picked by that seed.
gRPC channels do not survive a fork, so with `service=` each DataLoader worker opens its own.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from moredata.augment.pointer.augmentor import Augmentor
from moredata.augment.pointer.config import AugmentationConfig
from moredata.augment.pointer.sample_io import load_sample

IGNORE_INDEX = -100  # F.cross_entropy's default ignore_index: padded pointer targets cost nothing


class PointerDataset(Dataset):
    def __init__(self, root: str | Path, config: AugmentationConfig | None = None, seed: int = 0,
                 service: str | None = None, augment: bool = True):
        self.files = sorted(Path(root).glob("*.npz"))
        if not self.files:
            raise ValueError(f"no .npz samples in {root}")
        self.config = config or AugmentationConfig()
        self.augmentor = Augmentor(self.config)
        self.seed = seed
        self.epoch = 0
        self.service = service
        self.augment = augment
        self._client = None
        self._client_pid = None

    def __len__(self) -> int:
        return len(self.files)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def item_seed(self, index: int) -> int:
        return int(np.random.SeedSequence([self.seed, self.epoch, index]).generate_state(1, np.uint64)[0])

    def _partner(self, index: int, seed: int):
        """Another sample for concatenation, when the config enables it (else None: nothing loaded)."""
        cat = self.config.augmentation.concatenation
        if not (cat.enabled and cat.probability > 0 and len(self.files) > 1):
            return None
        other = (index + 1 + seed % (len(self.files) - 1)) % len(self.files)  # never the item itself
        return load_sample(self.files[other])

    def client(self):
        from moredata.augment.pointer.client import AugmentClient

        if self._client is None or self._client_pid != os.getpid():
            self._client, self._client_pid = AugmentClient(self.service), os.getpid()
        return self._client

    def __getitem__(self, index: int) -> dict:
        sample = load_sample(self.files[index])
        applied: list[dict] = []
        if self.augment:
            seed = self.item_seed(index)
            partner = self._partner(index, seed)
            if self.service:
                sample, applied = self.client().augment(sample, seed, self.epoch, partner, self.config)
            else:
                sample, applied = self.augmentor(sample, seed, self.epoch, partner)
        return {"raw": torch.from_numpy(sample.raw), "edit": torch.from_numpy(sample.edit),
                "pointers": torch.from_numpy(sample.pointers), "applied": applied, "index": index}

    def __getstate__(self):  # DataLoader workers get a copy without the parent's channel
        state = dict(self.__dict__)
        state["_client"] = state["_client_pid"] = None
        return state


def _pad(mels: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """[(n_mels, T_i)] -> (B, n_mels, max T) zero-padded, (B, max T) bool mask, (B,) lengths."""
    lengths = torch.tensor([m.shape[1] for m in mels])
    out = mels[0].new_zeros((len(mels), mels[0].shape[0], int(lengths.max())))
    for i, m in enumerate(mels):  # one copy per sample, not per frame
        out[i, :, : m.shape[1]] = m
    mask = torch.arange(out.shape[2])[None, :] < lengths[:, None]
    return out, mask, lengths


def collate(items: list[dict]) -> dict:
    """Pads a list of dataset items into a batch (see the module docstring for the keys)."""
    n_mels = {it["raw"].shape[0] for it in items}
    if len(n_mels) != 1:
        raise ValueError(f"samples in a batch differ in n_mels: {sorted(n_mels)}")
    raw, raw_mask, raw_lengths = _pad([it["raw"] for it in items])
    edit, edit_mask, edit_lengths = _pad([it["edit"] for it in items])
    pointers = torch.full(edit_mask.shape, IGNORE_INDEX, dtype=torch.int64)
    pointers[edit_mask] = torch.cat([it["pointers"] for it in items])
    return {"raw": raw, "raw_mask": raw_mask, "raw_lengths": raw_lengths, "edit": edit, "edit_mask": edit_mask,
            "edit_lengths": edit_lengths, "pointers": pointers, "applied": [it["applied"] for it in items],
            "index": torch.tensor([it["index"] for it in items])}
