"""PointerDataset: audio-edit samples from a folder, augmented in __getitem__, batched by `collate`.

    ds = PointerDataset("samples/", config=AugmentationConfig.from_file("augment.json"), seed=0)
    loader = DataLoader(ds, batch_size=16, sampler=EpochSampler(len(ds), seed=0), num_workers=1,
                        persistent_workers=True, collate_fn=collate)
    for epoch in range(10):
        loader.sampler.set_epoch(epoch)  # order and augmentation follow the epoch, in any worker
        for batch in loader:
            batch["raw"]        # (B, n_mels, max T_raw) zero-padded, batch["raw_mask"] (B, max T_raw)
            batch["pointers"]   # (B, max T_edit) int64, IGNORE_INDEX (-100) past each edit's end

Each item's seed is derived from (seed, epoch, index) (`item_seed`), so an item can be reproduced on its
own, in any worker, in any order. With concatenation enabled, the partner is another sample picked by
that seed (`partner_index`). An item is an index (the epoch set by `set_epoch`) or an (index, epoch)
pair, which is what EpochSampler yields: the epoch then travels with the index, so persistent workers
(which hold their own copy of the dataset) augment for the right epoch.

Two ways through the augment service (`service="host:port"`):
- `service_mode="upload"`: each item's sample (and partner) is sent and the augmented one comes back;
- `service_mode="stored"`: the service was started with the same folder (`--samples_dir`) and only
  (index, epoch, seed) goes out; the augmented sample comes back. The folder's fingerprint (names and
  sizes) is checked once, so a service holding other samples is refused rather than trained on.
Both give exactly the in-process result for the same seed (`SampleFolder.augmented` is the one code path).
gRPC channels do not survive a fork, so each DataLoader worker opens its own.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from moredata.errors import InvalidArgument
from moredata.pointer.augmentor import Augmentor
from moredata.pointer.config import AugmentationConfig
from moredata.pointer.sample_io import load_sample
from moredata.pointer.transforms import PointerSample

IGNORE_INDEX = -100  # F.cross_entropy's default ignore_index: padded pointer targets cost nothing


def item_seed(seed: int, epoch: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, epoch, index]).generate_state(1, np.uint64)[0])


def partner_index(index: int, item: int, n: int) -> int:
    """The concatenation partner of sample `index` for item seed `item`: never the sample itself."""
    return (index + 1 + item % (n - 1)) % n


class SampleFolder:
    """The `.npz` samples of a folder, sorted by name, loaded on demand (a small LRU cache)."""

    def __init__(self, root: str | Path, cache: int = 256):
        self.root = Path(root)
        if not self.root.is_dir():
            raise InvalidArgument(f"sample folder not found: {root}")
        self.files = sorted(self.root.glob("*.npz"))
        if not self.files:
            raise InvalidArgument(f"no .npz samples in {root}")
        self.cache = cache
        self._loaded: dict[int, PointerSample] = {}

    def load(self, index: int) -> PointerSample:
        """Sample `index`, kept after the first read (up to `cache` samples; the callers never modify one)."""
        sample = self._loaded.get(index)
        if sample is None:
            sample = load_sample(self.files[index])
            if len(self._loaded) < self.cache:
                self._loaded[index] = sample
        return sample

    def __len__(self) -> int:
        return len(self.files)

    def fingerprint(self) -> str:
        """Names and sizes of the samples: equal folders on two machines give equal fingerprints."""
        h = hashlib.blake2b(digest_size=16)
        for f in self.files:
            h.update(f"{f.name}\0{f.stat().st_size}\n".encode())
        return h.hexdigest()

    def check_all(self) -> None:
        """Reads and validates every sample now (InvalidArgument naming the first bad file), so a bad
        file stops a run before it trains rather than inside a DataLoader worker."""
        for i in range(len(self.files)):
            self.load(i)

    def check_index(self, index: int) -> None:
        if not 0 <= index < len(self.files):
            raise InvalidArgument(f"index {index} outside [0, {len(self.files)})")

    def item(self, config: AugmentationConfig, seed: int, epoch: int,
             index: int) -> tuple[PointerSample, int, PointerSample | None]:
        """What augmenting sample `index` for (seed, epoch) takes: the sample, its item seed, and its
        concatenation partner (None unless the config can concatenate: then nothing more is loaded)."""
        self.check_index(index)
        s = item_seed(seed, epoch, index)
        cat = config.augmentation.concatenation
        partner = None
        if cat.enabled and cat.probability > 0 and len(self.files) > 1:
            partner = self.load(partner_index(index, s, len(self.files)))
        return self.load(index), s, partner

    def augmented(self, augmentor: Augmentor | None, seed: int, epoch: int, index: int,
                  max_frames: int | None = None) -> tuple[PointerSample, list[dict]]:
        """Sample `index` as augmented for (seed, epoch); augmentor None: the sample as stored."""
        if augmentor is None:
            self.check_index(index)
            return self.load(index), []
        sample, s, partner = self.item(augmentor.config, seed, epoch, index)
        return augmentor(sample, s, epoch, partner, max_frames=max_frames)


class EpochSampler(Sampler):
    """A shuffled order per epoch, drawn from (seed, epoch), yielding (index, epoch) items."""

    def __init__(self, n: int, seed: int = 0, shuffle: bool = True):
        self.n, self.seed, self.shuffle, self.epoch = n, seed, shuffle, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        order = (np.random.default_rng([self.seed, self.epoch]).permutation(self.n) if self.shuffle
                 else np.arange(self.n))
        return iter([(int(i), self.epoch) for i in order])


class PointerDataset(Dataset):
    def __init__(self, root: str | Path | None, config: AugmentationConfig | None = None, seed: int = 0,
                 service: str | None = None, augment: bool = True, service_mode: str = "upload"):
        if service_mode not in ("upload", "stored"):
            raise InvalidArgument(f"service_mode must be 'upload' or 'stored', got {service_mode!r}")
        if service_mode == "stored" and not service:
            raise InvalidArgument("service_mode='stored' needs service='host:port'")
        self.folder = SampleFolder(root) if root is not None else None
        if self.folder is None and service_mode != "stored":
            raise InvalidArgument("a sample folder is needed unless the service holds the samples")
        self.config = config or AugmentationConfig()
        self.augmentor = Augmentor(self.config)
        self.seed = seed
        self.epoch = 0
        self.service = service
        self.service_mode = service_mode
        self.augment = augment
        self._client = None
        self._client_pid = None
        self._length = len(self.folder) if self.folder is not None else None
        if service_mode == "stored":
            info = self.client().stored_info()
            if self.folder is not None and info["fingerprint"] != self.folder.fingerprint():
                raise InvalidArgument(f"the augment service at {service} holds other samples than {root} "
                                      f"({info['count']} files, fingerprint {info['fingerprint']})")
            self._length = info["count"]

    @property
    def files(self) -> list[Path]:
        return self.folder.files if self.folder is not None else []

    def __len__(self) -> int:
        return self._length

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def client(self):
        from moredata.pointer.client import AugmentClient

        if self._client is None or self._client_pid != os.getpid():
            self._client, self._client_pid = AugmentClient(self.service), os.getpid()
        return self._client

    def get(self, index: int, epoch: int) -> tuple[PointerSample, list[dict]]:
        if not self.augment:
            return self.folder.augmented(None, self.seed, epoch, index)
        if self.service_mode == "stored":
            return self.client().augment_stored(index, epoch, self.seed, self.config)
        if self.service:  # upload mode: the same sample, seed and partner as in-process, sent over
            sample, s, partner = self.folder.item(self.config, self.seed, epoch, index)
            return self.client().augment(sample, s, epoch, partner, self.config)
        return self.folder.augmented(self.augmentor, self.seed, epoch, index)

    def __getitem__(self, item) -> dict:
        index, epoch = item if isinstance(item, tuple) else (item, self.epoch)
        sample, applied = self.get(int(index), int(epoch))
        return {"raw": torch.from_numpy(np.array(sample.raw)), "edit": torch.from_numpy(np.array(sample.edit)),
                "pointers": torch.from_numpy(np.array(sample.pointers)), "applied": applied, "index": int(index)}

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
