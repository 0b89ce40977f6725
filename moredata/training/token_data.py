"""Natural batches: random block_size windows of the prepared token files (train.bin / val.bin).

With `completion_only` the data must hold loss masks (`moredata-prepare --pairs`): a target token that
is not part of a completion gets -1, the GPT's ignore index, so the loss is on completions only.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from moredata.data.token_files import open_split, read_meta
from moredata.errors import UserError


class TokenData:
    """Memory-mapped token ids of one prepared data folder, and the batches drawn from them."""

    def __init__(self, data_dir: str | Path, block_size: int, device: torch.device, completion_only: bool = False):
        self.dir = Path(data_dir)
        self.block_size = block_size
        self.device = device
        self.meta = read_meta(self.dir)  # no meta.json: a nanoGPT GPT-2-BPE folder (vocab padded to 50304)
        tok_path = self.dir / "tokenizer.json"
        self.tokenizer_dict = json.loads(tok_path.read_text()) if tok_path.is_file() else None
        self.splits: dict[str, np.ndarray] = {}
        for split in ("train", "val"):
            path = self.dir / f"{split}.bin"
            try:
                data = open_split(self.dir, split, self.meta)
            except FileNotFoundError as e:
                raise UserError(str(e)) from None
            if data.size < block_size + 1:
                raise UserError(f"{path} holds {data.size} tokens, fewer than block_size + 1 = {block_size + 1}")
            self.splits[split] = data
        self.loss_masks: dict[str, np.ndarray] = {}
        if completion_only:
            for split, data in self.splits.items():
                path = self.dir / f"{split}.loss_mask.bin"
                if not path.is_file():
                    raise UserError(f"completion_only_loss needs {path}: prepare the data from (prompt, "
                                    f"completion) pairs with `moredata-prepare --pairs`")
                mask = np.memmap(path, dtype=np.uint8, mode="r")
                if mask.size != data.size:
                    raise UserError(f"{path} holds {mask.size} entries for {data.size} tokens: prepare the "
                                    f"folder again")
                self.loss_masks[split] = mask
        self._window = np.arange(block_size + 1)  # (T+1,) offsets of one row

    @property
    def vocab_size(self) -> int | None:
        return self.meta.get("vocab_size")

    def get_batch(self, split: str, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """x, y: (B, T) int64 on the device, y shifted by one."""
        return self.to_device(*self.get_batch_cpu(split, batch_size, generator))

    def get_batch_cpu(self, split: str, batch_size: int, generator: torch.Generator):
        """x, y on the CPU: one vectorised gather from the memmap, no per-row loop."""
        data = self.splits[split]
        ix = torch.randint(len(data) - self.block_size, (batch_size,), generator=generator)
        at = ix.numpy()[:, None] + self._window  # (B, T+1) positions
        rows = torch.from_numpy(data[at].astype(np.int64))  # (B, T+1)
        y = rows[:, 1:]
        mask = self.loss_masks.get(split)
        if mask is not None:  # (B, T) 1 where the target is a completion token
            y = torch.where(torch.from_numpy(mask[at[:, 1:]].astype(bool)), y, -1)
        return rows[:, :-1].contiguous(), y.contiguous()

    def to_device(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.device.type == "cuda":
            # pinned memory lets the copy run asynchronously with the previous step's compute
            return x.pin_memory().to(self.device, non_blocking=True), y.pin_memory().to(self.device, non_blocking=True)
        return x.to(self.device), y.to(self.device)
