"""Ring buffers, in memory and in a real Redis: FIFO, versions, freshness, concurrency, restarts."""
import threading

import numpy as np
import pytest

from moredata.enhanced.ring_buffer import MemorySampleBuffer, RedisSampleBuffer, fit_capacity
from moredata.errors import FailedPrecondition

FRAG = 9  # block_size 8 + 1


def _frags(k, first):
    """k fragments whose every token is its own serial number: a torn slot would show mixed values."""
    return np.repeat(np.arange(first, first + k, dtype=np.uint16)[:, None], FRAG, axis=1)


@pytest.fixture(params=["memory", "redis"])
def buffer(request, tmp_path):
    if request.param == "memory":
        yield lambda cap, **kw: MemorySampleBuffer(cap, FRAG, **kw)
    else:
        from conftest import RedisServer

        server = RedisServer(tmp_path).start()
        n = [0]

        def make(cap, **kw):
            n[0] += 1
            return RedisSampleBuffer(server.client(), cap, FRAG, prefix=f"t{n[0]}", **kw)

        yield make
        server.stop()


def test_fifo_overwrites_the_oldest(buffer):
    b = buffer(5)
    assert b.size() == 0 and not b.is_full()
    data, vers = b.get_samples(3)
    assert data.shape == (0, FRAG) and vers.shape == (0,)
    b.add_samples(_frags(3, 0), model_version=1)
    assert b.size() == 3 and not b.is_full()
    b.add_samples(_frags(4, 3), model_version=1)  # 7 written into 5 slots: 0 and 1 overwritten
    assert b.size() == 5 and b.is_full()
    data, vers = b.get_samples(400, rng=np.random.default_rng(0))
    assert set(data[:, 0].tolist()) == {2, 3, 4, 5, 6}
    assert (data == data[:, :1]).all() and (vers == 1).all()  # whole fragments, right versions
    b.clear()
    assert b.size() == 0 and b.get_samples(2)[0].shape == (0, FRAG)


def test_new_version_served_once_enough_exist(buffer):
    b = buffer(8, fresh_fraction=0.5)
    b.add_samples(_frags(8, 0), model_version=1)
    b.add_samples(_frags(2, 100), model_version=2)  # 2 of 8 fresh: too few, everything is served
    _, vers = b.get_samples(500, rng=np.random.default_rng(1))
    assert set(vers.tolist()) == {1, 2}
    b.add_samples(_frags(2, 200), model_version=2)  # 4 of 8 = fresh_fraction: only version 2 now
    data, vers = b.get_samples(500, rng=np.random.default_rng(2))
    assert set(vers.tolist()) == {2} and set(data[:, 0].tolist()) == {100, 101, 200, 201}
    assert b.version_counts() == {1: 4, 2: 4}  # the oldest (version 1) slots were overwritten first


def test_bad_samples_refused(buffer):
    b = buffer(4)
    with pytest.raises(ValueError, match=r"\(k, 9\)"):
        b.add_samples(np.zeros((2, 5), dtype=np.uint16), 1)
    with pytest.raises(ValueError, match="fit uint16"):
        b.add_samples(np.full((1, FRAG), 70000), 1)
    assert b.size() == 0


def test_concurrent_writers_and_readers(buffer):
    """Writers and readers at once: every served fragment is whole and was really written."""
    b = buffer(64)
    errors = []
    written = 4 * 50 * 3

    def writer(w):
        for i in range(50):
            b.add_samples(_frags(3, w * 1000 + i * 3), model_version=1)

    def reader():
        for _ in range(100):
            data, _ = b.get_samples(16)
            if data.size and not ((data == data[:, :1]).all() and (data[:, 0] % 1000 < 150).all()):
                errors.append(data)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    threads += [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert b.size() == 64 and written > 64


def test_memory_budget_shrinks_with_a_warning(caplog):
    assert fit_capacity(100, 1000, 10**9, "x") == 100
    with caplog.at_level("WARNING"):
        assert fit_capacity(100, 1000, 50_000, "test ring") == 50
    assert "using 50 slots" in caplog.text and "test ring" in caplog.text
    b = MemorySampleBuffer(10**12, FRAG, memory_share=0.001)  # a terabyte of slots cannot fit
    assert 1 <= b.capacity < 10**12


def test_redis_replicas_share_one_ring_and_survive_a_restart(redis_server):
    a = RedisSampleBuffer(redis_server.client(), 6, FRAG, prefix="shared")
    b = RedisSampleBuffer(redis_server.client(), 6, FRAG, prefix="shared")  # a second replica attaches
    a.add_samples(_frags(2, 0), 1)
    b.add_samples(_frags(2, 10), 1)
    assert a.size() == b.size() == 4
    assert set(a.get_samples(200)[0][:, 0].tolist()) == {0, 1, 10, 11}
    with pytest.raises(FailedPrecondition, match="2 live generator.* this one wants"):
        RedisSampleBuffer(redis_server.client(), 7, FRAG, prefix="shared")  # other shape while a, b live: refused
    redis_server.stop()
    redis_server.start()  # Redis comes back empty (no persistence)
    assert a.get_samples(3)[0].shape == (0, FRAG)
    b.add_samples(_frags(1, 50), 2)
    assert a.size() == 1 and a.get_samples(5)[0][:, 0].tolist() == [50] * 5
