"""AugmentationConfig parsing and the Augmentor's composition, schedule and reproducibility."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moredata.pointer.augmentor import Augmentor
from moredata.pointer.config import AugmentationConfig
from moredata.pointer.transforms import PointerSample

EXAMPLE = {"augmentation": {
    "enabled": True,
    "noise": {"enabled": True, "probability": 1.0, "level_min": 0.01, "level_max": 0.1},
    "gain": {"enabled": True, "probability": 1.0, "scale_min": 0.8, "scale_max": 1.2},
    "channel_dropout": {"enabled": True, "probability": 1.0, "dropout_rate": 0.2},
    "spec_augment": {"enabled": True, "probability": 1.0, "freq_masks": 2, "freq_width": 3, "time_masks": 2,
                     "time_width": 10, "time_mask_mode": "consistent"},
    "crop": {"enabled": True, "probability": 1.0, "min_len": 5, "max_len": 40},
    "chunk_shuffle": {"enabled": True, "probability": 1.0, "chunk_size": 7},
    "concatenation": {"enabled": True, "probability": 1.0},
}}


def _sample(seed, n_mels=8, t_raw=90, t_edit=60):
    rng = np.random.default_rng(seed)
    raw = rng.standard_normal((n_mels, t_raw)).astype(np.float32)
    ptr = (rng.integers(0, t_raw) + np.arange(t_edit)) % t_raw
    return PointerSample(raw, raw[:, ptr], ptr)


def test_parses_the_documented_shape():
    cfg = AugmentationConfig.from_json(json.dumps(EXAMPLE))
    assert cfg.augmentation.spec_augment.time_width == 10 and cfg.augmentation.crop.max_len == 40


@pytest.mark.parametrize("patch, words", [
    ({"noise": {"level_mn": 0.1}}, "'augmentation.noise.level_mn'"),
    ({"noise": {"probability": 1.5}}, "'augmentation.noise.probability'"),
    ({"gain": {"scale_min": 2.0, "scale_max": 1.0}}, "scale_min (2.0) exceeds scale_max"),
    ({"crop": {"min_len": 0}}, "'augmentation.crop.min_len'"),
    ({"chunk_shuffle": {"chunk_size": 0}}, "'augmentation.chunk_shuffle.chunk_size'"),
    ({"spec_augment": {"time_mask_mode": "odd"}}, "'augmentation.spec_augment.time_mask_mode'"),
    ({"shuffle": {}}, "'augmentation.shuffle'"),
])
def test_bad_config_names_the_key(patch, words):
    doc = json.loads(json.dumps(EXAMPLE))
    for k, v in patch.items():
        doc["augmentation"].setdefault(k, {}).update(v)
    with pytest.raises(ValueError) as e:
        AugmentationConfig.from_json(json.dumps(doc))
    assert words in str(e.value)
    with pytest.raises(ValueError, match="not valid JSON"):
        AugmentationConfig.from_json("{")


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_everything_composed_keeps_the_identity(seed):
    """All transforms at once (same noise, consistent masks): the copy identity still holds."""
    aug = Augmentor(AugmentationConfig.from_json(json.dumps(EXAMPLE)))
    out, applied = aug(_sample(seed), seed=seed, partner=_sample(seed + 1))
    assert [a["name"] for a in applied] == ["crop", "chunk_shuffle", "concatenation", "spec_augment",
                                            "channel_dropout", "gain", "noise"]
    assert out.copy_identity_holds(atol=1e-5)
    again, applied2 = aug(_sample(seed), seed=seed, partner=_sample(seed + 1))
    assert applied == applied2 and np.array_equal(out.raw, again.raw)


def test_warmup_and_decay():
    doc = json.loads(json.dumps(EXAMPLE))
    doc["augmentation"].update(warmup_epochs=2, probability_decay=0.5)
    for k in ("noise", "gain", "channel_dropout", "spec_augment", "crop", "chunk_shuffle", "concatenation"):
        doc["augmentation"][k]["probability"] = 0.8
    aug = Augmentor(AugmentationConfig.from_json(json.dumps(doc)))
    s = _sample(0)
    out, applied = aug(s, seed=1, epoch=1)
    assert applied == [] and np.array_equal(out.raw, s.raw)
    assert aug.probability_scale(2) == 1.0 and aug.probability_scale(4) == 0.25
    counts = [sum(len(aug(s, seed=i, epoch=e)[1]) for i in range(200)) for e in (2, 5)]
    assert counts[1] < counts[0] / 3  # 0.8 -> 0.1 per transform
