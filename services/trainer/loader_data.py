"""DataLoaders as the training loop's data source (the Python API): the same interface as TokenData.

`get_batch(split, batch_size, generator)` returns (x, y, attention_mask) from the split's loader: the
training draws and each evaluation keep their own iterators (keyed by the generator that asks), so an
evaluation never consumes training batches; an iterator restarts at the end of its loader (an epoch).
y is x shifted left with -1 (the GPT's ignore index) at padding and at the end.
"""
from __future__ import annotations

import torch


class LoaderData:
    def __init__(self, train_loader, val_loader, tokenizer, device: str):
        self.loaders = {"train": train_loader, "val": val_loader}
        self.tokenizer = tokenizer
        self.device = torch.device(device)
        self._iters: dict = {}
        self.splits = {}  # enhanced data needs token files: not offered through the API

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    @property
    def tokenizer_dict(self) -> dict:
        return self.tokenizer.to_dict()

    def restart(self, split: str, generator) -> None:
        self._iters.pop((split, id(generator)), None)

    def get_batch(self, split: str, batch_size: int, generator: torch.Generator):
        key = (split, id(generator))
        it = self._iters.get(key)
        batch = next(it, None) if it is not None else None
        if batch is None:
            it = iter(self.loaders[split])
            self._iters[key] = it
            batch = next(it)
        x, mask = batch["input_ids"], batch["attention_mask"]
        y = torch.full_like(x, -1)
        y[:, :-1] = torch.where(mask[:, 1:].bool(), x[:, 1:], torch.full_like(x[:, 1:], -1))
        return x.to(self.device), y.to(self.device), mask.to(self.device)
