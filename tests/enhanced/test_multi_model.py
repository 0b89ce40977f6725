"""enhanced_generation_models = N: the last N best checkpoints take turns writing rounds, and every
fragment in the ring carries the version of the model that wrote it."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import spy, tiny_flags

from moredata.enhanced import worker as worker_module
from moredata.enhanced.ring_buffer import MemorySampleBuffer
from moredata.enhanced.worker import EnhancedSampleGenerator, GenerationSettings
from moredata.errors import UserError
from moredata.models.checkpoint import load_checkpoint
from moredata.training.config import load_settings


def test_rounds_take_turns_among_the_last_checkpoints(tiny_best, char_data, monkeypatch):
    data = np.fromfile(char_data / "train.bin", dtype=np.uint16)
    ckpt = load_checkpoint(tiny_best)
    writers = spy(monkeypatch, worker_module, "generate_enhanced_samples_batch", lambda model, *a, out: model)
    buf = MemorySampleBuffer(256, 33)
    gen = EnhancedSampleGenerator(str(tiny_best), data, buf, GenerationSettings(max_prefix_length=16, models=3), ckpt=ckpt)
    for _ in range(3):  # versions 2, 3, 4: version 1 leaves the window of 3
        gen.update_model(str(tiny_best), ckpt=ckpt)
    assert gen.model_versions() == [2, 3, 4] and gen.model_version == 4
    for _ in range(6):
        assert gen.generate_round() == 16
    assert buf.version_counts() == {2: 32, 3: 32, 4: 32}  # every fragment tagged with its writer's version
    assert len({id(m) for m in writers}) == 3 and writers[:3] == writers[3:]  # three copies, in turn
    assert writers[2] is gen.model  # the newest is one of them


def test_one_model_by_default(tiny_best, char_data):
    data = np.fromfile(char_data / "train.bin", dtype=np.uint16)
    buf = MemorySampleBuffer(256, 33)
    gen = EnhancedSampleGenerator(str(tiny_best), data, buf, GenerationSettings(max_prefix_length=16))
    gen.update_model(str(tiny_best))
    assert gen.model_versions() == [2]
    gen.generate_round()
    assert buf.version_counts() == {2: 16}


@pytest.mark.parametrize("value", ["0", "9", "two"])
def test_the_count_is_validated_by_name(char_data, tmp_path, value):
    with pytest.raises(UserError) as e:
        load_settings(tiny_flags(char_data, tmp_path, enhanced_generation_models=value))
    assert "enhanced_generation_models" in str(e.value)
