"""Fragment cutting and the generation worker on a real (tiny, trained) checkpoint."""
import time

import numpy as np
import pytest
from conftest import tiny_flags

from moredata.enhanced.fragments import random_prefixes, sample_random_fragments
from moredata.enhanced.ring_buffer import MemorySampleBuffer
from moredata.enhanced.worker import EnhancedSampleGenerator, GenerationSettings
from moredata.training.config import load_settings
from moredata.training.loop import TrainingLoop


def test_fragments_are_windows_of_their_sequence():
    rng = np.random.default_rng(0)
    seqs = [np.arange(100, 130), np.arange(5), np.arange(1000, 1009)]  # the 5-token one is too short
    f = sample_random_fragments(seqs, block_size=8, rng=rng, per_sequence=50)
    assert f.shape == (100, 9)
    assert (np.diff(f, axis=1) == 1).all()  # each row is a contiguous window of one sequence
    firsts = f[:, 0]
    assert set(firsts[firsts < 1000].tolist()) <= set(range(100, 122)) and len(set(firsts.tolist())) > 10
    assert (firsts[firsts >= 1000] == 1000).all()  # exactly one window fits in 9 tokens
    assert sample_random_fragments([np.arange(3)], 8).shape == (0, 9)


def test_prefix_lengths_in_range():
    data = np.arange(10_000)
    ps = random_prefixes(data, 200, 3, 11, np.random.default_rng(1))
    assert {len(p) for p in ps} == set(range(3, 12))
    assert all((np.diff(p) == 1).all() for p in ps)


@pytest.fixture(scope="module")
def checkpoint(char_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("gen")
    TrainingLoop(load_settings(tiny_flags(char_data, out, max_iters=20, eval_interval=10))).run()
    return out / "best.pt"


def _train_tokens(char_data):
    return np.memmap(char_data / "train.bin", dtype="<u2", mode="r")


@pytest.mark.parametrize("kw, words", [
    # the bounds are GenerationSettings's fields (pydantic names the field and the bound)
    ({"min_prefix_length": 0}, "min_prefix_length(?s:.*)greater than or equal to 1"),
    ({"min_prefix_length": 9, "max_prefix_length": 8}, "exceeds max_prefix_length"),
    ({"max_prefix_length": 33}, "exceeds the model's block_size"),
    ({"temperature": 0.0}, "temperature(?s:.*)greater than 0"),
    ({"top_k": 0}, "top_k(?s:.*)greater than or equal to 1"),
    ({"filter_quantile": 1.0}, "filter_quantile(?s:.*)less than 1"),
])
def test_generator_refuses_bad_settings(checkpoint, char_data, kw, words):
    with pytest.raises(ValueError, match=words):
        EnhancedSampleGenerator(str(checkpoint), _train_tokens(char_data), MemorySampleBuffer(8, 33),
                                GenerationSettings(**{"max_prefix_length": 16, **kw}))


def test_worker_fills_and_update_refreshes(checkpoint, char_data):
    buf = MemorySampleBuffer(64, 33, fresh_fraction=0.5)
    gen = EnhancedSampleGenerator(str(checkpoint), _train_tokens(char_data), buf,
                                  GenerationSettings(min_prefix_length=4, max_prefix_length=16, batch_size=8,
                                                     top_k=20, seed=1))
    assert gen.generate_round() == 8 and buf.size() == 8
    frags, vers = buf.get_samples(8)
    assert frags.shape == (8, 33) and (vers == 1).all() and int(frags.max()) < 65
    gen.start()
    deadline = time.time() + 60
    while not buf.is_full() and time.time() < deadline:
        time.sleep(0.05)
    assert buf.is_full() and gen.is_running() and gen.rate() > 0
    assert gen.update_model(str(checkpoint)) == 2
    while buf.version_counts().get(2, 0) < 32 and time.time() < deadline:
        time.sleep(0.05)
    gen.stop()
    assert not gen.is_running()
    _, vers = buf.get_samples(200)
    assert (vers == 2).all()  # once half the ring is new, old-version fragments are no longer served
