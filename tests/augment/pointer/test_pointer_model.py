"""PointerNetwork: shapes, masks on both sides, the loss, and the two decoders."""
from __future__ import annotations

import math

import pytest
import torch

from moredata.errors import InvalidArgument
from moredata.models import build_model
from moredata.models.pointer import (
    IGNORE_INDEX,
    PointerConfig,
    PointerNetwork,
    greedy_pointers,
    pointer_accuracy,
    smooth_pointers,
)
from moredata.pointer.dataset import PointerDataset, collate

SMALL = PointerConfig(n_mels=80, d_model=32, num_heads=4, raw_layers=1, edit_layers=1, dropout=0.0)


def tensors(batch: dict) -> dict:
    return {k: v for k, v in batch.items() if isinstance(v, torch.Tensor)}


def inputs(batch: dict) -> dict:
    return {k: v for k, v in tensors(batch).items() if k != "pointers"}


@torch.no_grad()
def test_shapes_and_raw_padding(sample_dir):
    torch.manual_seed(0)
    model = PointerNetwork(SMALL).eval()
    ds = PointerDataset(sample_dir, augment=False)
    b = tensors(collate([ds[i] for i in range(3)]))
    logits = model(**inputs(b))
    assert logits.shape == (3, b["edit"].shape[2], b["raw"].shape[2])
    for i in range(3):
        n = int(b["raw_lengths"][i])
        assert torch.isinf(logits[i, :, n:]).all() and torch.isfinite(logits[i, :, :n]).all()
    loss, logits2 = model(**b)
    assert torch.isfinite(loss) and torch.equal(logits, logits2)
    assert math.log(b["raw"].shape[2]) * 0.5 < float(loss) < math.log(b["raw"].shape[2]) * 2  # about uniform


@torch.no_grad()
def test_padding_does_not_leak(sample_dir):
    """A sample's logits over its real frames are the same alone and batched with longer samples."""
    torch.manual_seed(1)
    model = PointerNetwork(SMALL).eval()
    ds = PointerDataset(sample_dir, augment=False)
    items = sorted((ds[i] for i in range(len(ds))), key=lambda it: it["raw"].shape[1])
    short = items[0]
    alone = model(**inputs(collate([short])))
    batched = model(**inputs(collate([short, items[-1], items[-2]])))
    te, tr = short["edit"].shape[1], short["raw"].shape[1]
    assert batched[0].shape[0] > te or batched[0].shape[1] > tr  # padding really was added
    assert torch.allclose(alone[0, :te, :tr], batched[0, :te, :tr], atol=1e-4)


@torch.no_grad()
def test_loss_counts_real_edit_frames_only(sample_dir):
    torch.manual_seed(2)
    model = PointerNetwork(SMALL).eval()
    ds = PointerDataset(sample_dir, augment=False)
    items = [ds[i] for i in range(3)]
    batched, _ = model(**tensors(collate(items)))
    per_sample = [(float(model(**tensors(collate([it])))[0]), it["edit"].shape[1]) for it in items]
    expected = sum(loss * n for loss, n in per_sample) / sum(n for _, n in per_sample)
    assert abs(float(batched) - expected) < 1e-4


@torch.no_grad()
def test_build_model_and_config_checks():
    model = build_model("pointer", {"d_model": 16, "num_heads": 2, "raw_layers": 1, "edit_layers": 0})
    assert isinstance(model, PointerNetwork) and model.config.d_ff == 64
    with pytest.raises(InvalidArgument, match="divisible by num_heads"):
        PointerConfig.from_dict({"d_model": 30, "num_heads": 4})
    with pytest.raises(InvalidArgument, match="unknown model config key 'layers'"):
        PointerConfig.from_dict({"layers": 3})
    with pytest.raises(InvalidArgument, match="conv_kernel must be odd"):
        PointerConfig.from_dict({"conv_kernel": 4})
    with pytest.raises(InvalidArgument, match="d_model must be an integer"):
        PointerConfig.from_dict({"d_model": 12.5})


@torch.no_grad()
def test_smoothing_repairs_isolated_errors():
    """Three segments of consecutive raw frames; the model is right 80% of the time and otherwise points
    far away. Greedy keeps the errors; the Viterbi smoothing puts them back on their runs."""
    g = torch.Generator().manual_seed(0)
    t_raw = 200
    truth = torch.cat([torch.arange(120, 160), torch.arange(10, 70), torch.arange(100, 130)])
    logp = torch.full((len(truth), t_raw), -8.0)
    logp[torch.arange(len(truth)), truth] = -0.5
    wrong = torch.rand(len(truth), generator=g) < 0.2
    decoys = torch.randint(0, t_raw, (len(truth),), generator=g)
    logp[wrong, decoys[wrong]] = -0.1  # the decoy wins the argmax at these frames
    greedy = greedy_pointers(logp)
    smooth = smooth_pointers(logp, jump_penalty=4.0)
    assert pointer_accuracy(greedy, truth)[0] < 0.9 * len(truth)
    assert torch.equal(smooth, truth)


@torch.no_grad()
def test_pointer_accuracy_ignores_padding():
    pred = torch.tensor([[1, 2, 9, 0]])
    true = torch.tensor([[1, 4, 9, IGNORE_INDEX]])
    assert pointer_accuracy(pred, true) == (2, 3)
    assert pointer_accuracy(pred, true, tolerance=2) == (3, 3)
