"""The demand pacer: writes what is drawn, keeps a reserve while nothing is, in a share of the time, and
grows its rounds only where a bigger round writes more per second (a GPU), not on a CPU."""
from __future__ import annotations

import time

import pytest
import torch  # noqa: F401 - loaded, as in the worker: round_cost's first call must not count torch's import

from moredata.enhanced.pacing import DemandPacer, PacingSettings, round_cost
from moredata.enhanced.rate import RateMeter


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def pacer(clock, drawn, **kw):
    s = PacingSettings(**{"reuse": 2.0, "share": 0.05, "idle_share": 0.02, "reserve": 100, "max_batch": 128, **kw})
    return DemandPacer(s, lambda: drawn[0], batch_size=16, clock=clock)


def test_rate_meter_does_not_read_a_first_event_as_a_burst():
    clock = Clock()
    m = RateMeter(clock=clock)
    clock.t += 0.5
    m.add(10)
    assert m.rate(10.0) == pytest.approx(10 / 0.5)  # since the meter was made, not 10 per millisecond
    clock.t += 20
    m.add(30)
    assert m.rate(10.0) == pytest.approx(3.0)  # the window's count over the window


def test_keeps_the_reserve_while_nothing_is_drawn_then_rests():
    clock, drawn = Clock(), [0]
    p = pacer(clock, drawn)
    assert p.wait_s(fresh=0) == 0.0  # reserve empty: write
    p.on_round(16, busy_s=0.2)
    # idle share 2%: a round of 0.2 s busy is followed by 0.2 * (1 / 0.02 - 1) = 9.8 s of rest
    assert p.wait_s(fresh=16) == pytest.approx(9.8)
    clock.t += 9.8
    assert p.wait_s(fresh=16) == 0.0
    assert p.wait_s(fresh=100) > 0  # the reserve is full and nobody draws: nothing to write
    assert p.aim() == 0.0
    p.on_round(16, busy_s=0.2)  # a round, then a long idle pause (9.8 s) ...
    clock.t += 1.0
    drawn[0] += 500  # ... that a trainer's draws cut short: the 5% share's pause is 3.8 s, 1 s passed
    assert p.wait_s(fresh=100) == pytest.approx(0.2 * (1 / 0.05 - 1) - 1.0)


def test_aims_at_the_drawn_rate_over_reuse_in_a_twentieth_of_the_time():
    clock, drawn = Clock(), [0]
    p = pacer(clock, drawn)
    for _ in range(20):  # 12 rows drawn every 0.1 s: 120 rows/s
        clock.t += 0.1
        drawn[0] += 12
        p.aim()
    assert p.aim() == pytest.approx(120 / 2.0, rel=0.05)
    assert p.wait_s(fresh=10**6) == 0.0  # reserve full, but rows are drawn and nothing written yet
    p.on_round(16, busy_s=0.05)
    assert p.wait_s(fresh=10**6) == pytest.approx(0.05 * 19)  # share 5% while drawing: 0.95 s of rest


def test_stops_writing_once_the_aim_is_met():
    clock, drawn = Clock(), [0]
    p = pacer(clock, drawn, share=1.0)
    for _ in range(50):  # 10 rows/s drawn: aim 5 fragments/s
        clock.t += 0.1
        drawn[0] += 1
        p.aim()
    written = 0
    for _ in range(100):  # 10 s of a worker whose rounds of 16 take 0.01 s
        clock.t += 0.1
        drawn[0] += 1
        if p.wait_s(fresh=10**6) == 0.0:
            p.on_round(16, busy_s=0.01)
            written += 16
    assert 40 <= written <= 80  # about 5/s over 10 s, not 1600 (flat out)


def simulate(per_row_s: float, fixed_s: float, rounds: int = 60) -> int:
    """The batch a pacer settles on for a device whose round costs fixed_s + per_row_s x batch, while a
    trainer draws far more than the share can write."""
    clock, drawn = Clock(), [0]
    p = pacer(clock, drawn)
    for _ in range(rounds):
        clock.t += 0.05
        drawn[0] += 1000  # 20k rows/s: more than any round can meet
        wait = p.wait_s(fresh=10**6)
        if wait > 0:
            clock.t += wait
            drawn[0] += int(20000 * wait)
            p.wait_s(fresh=10**6)
            continue
        busy = fixed_s + per_row_s * p.batch
        clock.t += busy
        p.on_round(p.batch, busy)
    return p.batch


def test_rounds_grow_where_a_bigger_round_is_nearly_free_and_not_on_a_cpu():
    assert simulate(per_row_s=0.0001, fixed_s=0.2) == 128  # GPU-like: latency-bound rounds grow to max_batch
    assert simulate(per_row_s=0.0001, fixed_s=0.6) == 16  # but not a round that takes over MAX_ROUND_S / 2
    assert simulate(per_row_s=0.03, fixed_s=0.0) == 16  # CPU-like: time grows with the batch; it stays


def test_a_cpu_round_costs_its_cpu_time_not_the_wait_for_a_core():
    """A nice generator on a loaded machine waits for the cores: that wait is not work (counted as work, it
    made the pause after each round 19 times the wait, and the generator starved)."""
    t0, cpu0 = time.monotonic(), time.thread_time()
    time.sleep(0.3)  # descheduled: wall time passes, this thread uses no CPU
    assert round_cost("cpu", t0, cpu0) < 0.05
    assert round_cost("cuda", t0, cpu0) >= 0.3  # on a GPU the wall time is the device time it took
