"""DataLoaders as the training loop's data source (the Python API): the same interface as TokenData.

`get_batch(split, batch_size, generator)` returns (x, y, attention_mask) from the split's loader: the
training draws and each evaluation keep their own iterators (keyed by the generator that asks), so an
evaluation never consumes training batches; an iterator restarts at the end of its loader (an epoch).
y is x shifted left with -1 (the GPT's ignore index) at padding and at the end; with `completion_only`
also wherever the batch's `loss_mask` (create_pair_dataloaders) says the target is no completion token.

A batch without `input_ids` (the pointer network's padded dict of mels, masks and pointers, the
encoder-decoder's (source, target) pairs) is passed through whole, its tensors on the device:
(batch, None); so is every batch of a generic module (`whole_batches`: it takes `model(**batch)`).

Epochs: when the training iterator restarts, a sampler with `set_epoch` (EpochSampler) is told the new
epoch first, so augmentation and order follow the epoch even with persistent DataLoader workers. A run
resumed at iteration k (`start_iter`, `steps_per_epoch`) starts in epoch k // steps and skips the k % steps
batches that run had already trained on, so it sees exactly the batches an uninterrupted run would.
A shuffling loader without `set_epoch` (`DataLoader(shuffle=True)`, its RandomSampler) draws its order
from a generator: each epoch it gets a fresh one seeded from (seed, epoch), and so does the loader's own
(workers' base seed), so epoch e has the same order in a resumed run as in an uninterrupted one (before,
a resumed run replayed epoch 0's order).
`train_eval` (optional) is the loader the evaluation's "train" loss is measured on, e.g. the training
samples without augmentation, so the train-validation gap compares like with like.
"""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader, RandomSampler

from moredata.errors import UserError


class LoaderData:
    def __init__(self, train_loader, val_loader, tokenizer, device: str, train_eval_loader=None,
                 start_iter: int = 0, steps_per_epoch: int | None = None, completion_only: bool = False,
                 seed: int = 1337, whole_batches: bool = False):
        self.completion_only, self.seed, self.whole_batches = completion_only, seed, whole_batches
        self.loaders = {"train": train_loader, "val": val_loader}
        self.eval_loaders = {"train": train_eval_loader or train_loader, "val": val_loader}
        self.tokenizer = tokenizer
        self.device = torch.device(device)
        self._iters: dict = {}
        self._eval_gens: set[int] = set()  # generators the loop evaluates with (it restarts before each eval)
        steps = steps_per_epoch or 1
        self.epoch = start_iter // steps if steps_per_epoch else 0  # the epoch the next training iterator runs
        self._skip = start_iter % steps if steps_per_epoch else 0  # batches of that epoch already trained on
        self.splits = {}  # enhanced data needs token files: not offered through the API

    @property
    def vocab_size(self) -> int | None:
        return self.tokenizer.vocab_size if self.tokenizer is not None else None

    @property
    def tokenizer_dict(self) -> dict | None:
        return self.tokenizer.to_dict() if self.tokenizer is not None else None

    def restart(self, split: str, generator) -> None:
        """Called by the loop before each evaluation: that generator's draws are evaluation draws."""
        self._eval_gens.add(id(generator))
        self._iters.pop((split, id(generator)), None)

    def _loader(self, split: str, evaluating: bool):
        loader = (self.eval_loaders if evaluating else self.loaders)[split]
        if split == "train" and not evaluating:
            self._seed_epoch(loader)
            self.epoch += 1
            it = iter(loader)
            for _ in range(self._skip):
                next(it)
            self._skip = 0
            return it
        self._seed(loader, 0)
        return iter(loader)

    def _seed_epoch(self, loader) -> None:
        sampler = getattr(loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(self.epoch)
        else:
            self._seed(loader, 2 + self.epoch)

    def _seed(self, loader, stream: int) -> None:
        """Fresh generators for a shuffling loader's order and workers: stream 0 for evaluations (each
        sees the same batches), 2 + epoch for training."""
        base = (self.seed * 1_000_003 + stream) * 2
        for s in (getattr(loader, "sampler", None), getattr(getattr(loader, "batch_sampler", None), "sampler", None)):
            if isinstance(s, RandomSampler):
                s.generator = torch.Generator().manual_seed(base)
        if isinstance(loader, DataLoader):
            loader.generator = torch.Generator().manual_seed(base + 1)

    def get_batch(self, split: str, batch_size: int, generator: torch.Generator):
        evaluating = split == "val" or id(generator) in self._eval_gens
        key = (split, id(generator))
        it = self._iters.get(key)
        batch = next(it, None) if it is not None else None
        if batch is None:
            it = self._loader(split, evaluating)
            self._iters[key] = it
            batch = next(it)
        if self.whole_batches or "input_ids" not in batch:
            return {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}, None
        x, mask = batch["input_ids"], batch["attention_mask"]
        counted = mask
        if self.completion_only:
            if "loss_mask" not in batch:
                raise UserError("completion_only_loss=True needs batches with a loss_mask: build the loaders "
                                "with moredata.data.loaders.create_pair_dataloaders")
            counted = mask * batch["loss_mask"]
        y = torch.full_like(x, -1)
        y[:, :-1] = torch.where(counted[:, 1:].bool(), x[:, 1:], torch.full_like(x[:, 1:], -1))
        return x.to(self.device), y.to(self.device), mask.to(self.device)
