"""PointerDataset + collate: reproducible items, local and service augmentation alike, padded batches a
training loop can use directly (DataLoader workers included)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import ROOT
from torch.utils.data import DataLoader

from moredata.pointer.config import AugmentationConfig
from moredata.pointer.dataset import IGNORE_INDEX, PointerDataset, collate
from services.augment.main import serve
from services.augment.settings import AugmentSettings

CONFIG = AugmentationConfig.model_validate({"augmentation": {
    "noise": {"enabled": True, "probability": 1.0},
    "spec_augment": {"enabled": True, "probability": 1.0, "time_mask_mode": "consistent"},
    "chunk_shuffle": {"enabled": True, "probability": 1.0, "chunk_size": 30},
    "crop": {"enabled": True, "probability": 0.5, "min_len": 40, "max_len": 120},
    "concatenation": {"enabled": True, "probability": 0.5}, "warmup_epochs": 1}})


@pytest.fixture(scope="module")
def service_address():
    handle = serve(AugmentSettings(address="127.0.0.1:0"), install_signals=False)
    yield f"127.0.0.1:{handle.port}"
    handle.stop(0)


def test_items_are_reproducible_and_follow_the_epoch(sample_dir):
    ds = PointerDataset(sample_dir, CONFIG, seed=7)
    assert len(ds) == 9
    ds.set_epoch(0)  # warm-up: untouched
    plain = ds[3]
    assert plain["applied"] == [] and np.array_equal(plain["raw"].numpy(), np.load(ds.files[3])["raw"])
    ds.set_epoch(1)
    a, b = ds[3], ds[3]
    assert a["applied"] and torch.equal(a["raw"], b["raw"]) and torch.equal(a["pointers"], b["pointers"])
    ds.set_epoch(2)
    c = ds[3]
    assert not (c["raw"].shape == a["raw"].shape and torch.equal(c["raw"], a["raw"]))
    for item in (a, c):  # every pointer valid after the pointer-aware transforms
        assert 0 <= int(item["pointers"].min()) and int(item["pointers"].max()) < item["raw"].shape[1]


def test_collate_pads_and_masks(sample_dir):
    ds = PointerDataset(sample_dir, CONFIG, seed=1)
    ds.set_epoch(1)
    items = [ds[i] for i in range(4)]
    batch = collate(items)
    t_raw = max(it["raw"].shape[1] for it in items)
    t_edit = max(it["edit"].shape[1] for it in items)
    assert batch["raw"].shape == (4, 80, t_raw) and batch["edit"].shape == (4, 80, t_edit)
    assert batch["pointers"].shape == (4, t_edit) and batch["edit_mask"].shape == (4, t_edit)
    for i, it in enumerate(items):
        n, m = it["raw"].shape[1], it["edit"].shape[1]
        assert batch["raw_lengths"][i] == n and batch["edit_lengths"][i] == m
        assert torch.equal(batch["raw"][i, :, :n], it["raw"]) and not batch["raw"][i, :, n:].any()
        assert batch["raw_mask"][i].sum() == n and batch["edit_mask"][i, :m].all()
        assert torch.equal(batch["pointers"][i, :m], it["pointers"])
        assert (batch["pointers"][i, m:] == IGNORE_INDEX).all()


def test_service_gives_the_same_items_as_local(sample_dir, service_address):
    local = PointerDataset(sample_dir, CONFIG, seed=3)
    remote = PointerDataset(sample_dir, CONFIG, seed=3, service=service_address)
    for ds in (local, remote):
        ds.set_epoch(2)
    for i in range(len(local)):
        a, b = local[i], remote[i]
        assert a["applied"] == b["applied"]
        assert torch.equal(a["raw"], b["raw"]) and torch.equal(a["edit"], b["edit"])
        assert torch.equal(a["pointers"], b["pointers"])


def test_a_training_step_through_dataloader_workers(sample_dir, service_address):
    """Two worker processes, each with its own channel to the service; a pointer-network loss on the batch."""
    ds = PointerDataset(sample_dir, CONFIG, seed=5, service=service_address)
    ds.set_epoch(1)
    loader = DataLoader(ds, batch_size=3, num_workers=2, collate_fn=collate, multiprocessing_context="spawn")
    proj = torch.nn.Linear(80, 16)
    seen = []
    for batch in loader:
        q = proj(batch["edit"].transpose(1, 2))  # (B, T_edit, 16)
        k = proj(batch["raw"].transpose(1, 2))  # (B, T_raw, 16)
        logits = (q @ k.transpose(1, 2)).masked_fill(~batch["raw_mask"][:, None, :], float("-inf"))
        loss = F.cross_entropy(logits.flatten(0, 1), batch["pointers"].flatten(), ignore_index=IGNORE_INDEX)
        loss.backward()
        assert torch.isfinite(loss) and proj.weight.grad is not None
        seen += batch["index"].tolist()
    assert sorted(seen) == list(range(len(ds)))


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no .npz samples"):
        PointerDataset(tmp_path)


def test_plot_command_writes_a_png(tmp_path, sample_dir, speech_wavs):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "moredata.pointer.plot", *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)

    sample = sorted(sample_dir.glob("*.npz"))[0]
    for src, out in ((sample, tmp_path / "a.png"), (speech_wavs[0], tmp_path / "b.png")):
        r = run(str(src), "--out", str(out), "--seed", "2")
        assert r.returncode == 0, r.stderr
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
        assert "chunk_shuffle" in r.stdout
    (tmp_path / "bad.json").write_text('{"augmentation": {"noise": {"probability": -1}}}')
    r = run(str(sample), "--config", str(tmp_path / "bad.json"), "--out", str(tmp_path / "c.png"))
    assert r.returncode == 2 and "augmentation.noise.probability" in r.stderr and not (tmp_path / "c.png").exists()
    r = run(str(tmp_path / "missing.npz"))
    assert r.returncode == 2 and "no such file" in r.stderr
