"""How much the generation worker writes: sized by the trainer's demand, in a share of the machine's time.

    pacer = DemandPacer(PacingSettings(reuse=2, share=0.05, idle_share=0.02, reserve=450), drawn=lambda: served)
    wait = pacer.wait_s(fresh=fragments_of_the_newest_model_in_the_ring)    # 0: write a round now
    pacer.on_round(fragments, busy_seconds)                                  # after it

A generator that writes flat out costs the trainer that shares its machine: on the README's main job (CPU,
`auto`), once the in-process generator started at the first best checkpoint, every training iteration took
about twice as long (2 threads: 57.4 against 29.2 ms/iter) while p was still 0 and nobody drew a row. A
generator sized for a CPU trainer starves a GPU one: the ring held 192 fragments when the mixer drew 17
rows per iteration. So the worker writes what is drawn, in both directions:

- **While rows are drawn** it aims at `drawn rows per second / reuse` fragments per second (each fragment
  drawn `reuse` times on average), measured over the last WINDOW_S seconds.
- **While nothing is drawn** (auto's p = 0, a trainer not yet asking) it keeps a *reserve*: `reserve`
  fragments written by the newest model, what the first evaluation interval at the highest p draws. Each
  new best checkpoint makes the reserve stale, and it is written again.
- **Time share.** A round that cost t seconds (round_cost: CPU time on a CPU, wall time on a GPU) is
  followed by a pause of t (1 / share - 1), with the share that applies at the time of asking: the worker
  is busy at most `share` of the time while rows are drawn and `idle_share` while none are (the CPU
  trainer shares its cores with it; on a GPU the same share bounds the device time it takes).
- **Batch size.** While the share is what holds production below the aim, the round's batch doubles as
  long as doubling raises the fragments per busy second by a quarter or more (a GPU: a round of 128 costs
  about what a round of 16 does; a CPU gains a little from larger matrices too) and a round stays under
  MAX_ROUND_S / 2; where a round's time grows with its batch, it stays. A batch that writes more than
  twice the aim halves again, down to the configured one.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from moredata.enhanced.rate import RateMeter

WINDOW_S = 10.0  # seconds over which the drawn and written rates are measured
GROWTH = 1.25  # a doubled batch is kept when it writes this much more per busy second
MAX_ROUND_S = 1.0  # a round may grow only while it takes less than half of this: long rounds make the
# written rate jumpy, the ring's text older, and (on a CPU) the trainer's steps uneven


def round_cost(device: str, t0: float, cpu0: float) -> float:
    """What a round that began at monotonic t0 (thread CPU time cpu0) cost, for the share: on a GPU its
    wall time (the device time it took); on a CPU the CPU time of this thread x torch's threads (its math
    threads work alongside it), not wall time: a nice thread waits for a loaded machine's cores, and
    counting that wait as work starved it (a round of 16 read as 4 s busy, then a 76 s pause: 80
    fragments in a 2000-iteration run)."""
    if device != "cpu":
        return time.monotonic() - t0
    import torch

    return (time.thread_time() - cpu0) * torch.get_num_threads()


@dataclass(frozen=True)
class PacingSettings:
    reuse: float = 2.0  # times each fragment is drawn on average while rows are drawn
    share: float = 0.05  # the most of the wall time the worker is busy while rows are drawn
    idle_share: float = 0.02  # ... while none are (it only keeps the reserve fresh)
    reserve: int = 0  # fragments of the newest model to hold while nothing is drawn
    max_batch: int = 16  # the largest round the batch may grow to (the configured batch: no growth)
    rate_cap: float = 0.0  # fragments/s never exceeded (enhanced_generation_rate); 0: none


class DemandPacer:
    def __init__(self, settings: PacingSettings, drawn: Callable[[], int], batch_size: int,
                 clock: Callable[[], float] = time.monotonic):
        self.s = settings
        self._clock = clock
        self._drawn = drawn  # total rows drawn so far (the mixer's count, or the service's served count)
        self._drawn_meter = RateMeter(maxlen=4096, clock=clock)
        self._last_drawn = 0
        self._written = RateMeter(maxlen=4096, clock=clock)
        self.min_batch = self.batch = batch_size
        self._throughput: dict[int, float] = {}  # fragments per busy second, by batch size (EMA)
        self._last_end = None  # when the last round ended, and how long it was busy: the share's pause
        self._last_busy = 0.0  # follows from these and the share that applies now (a draw shortens it)
        self._share_bound = False  # the last wait was the share's (production is below the aim)
        self.busy_s = 0.0
        self.rounds = 0
        self.dormant = False  # the trainer says no row will be asked for soon (auto before its epochs)
        self._lock = threading.Lock()

    def _observe_drawn(self) -> float:
        """Rows drawn per second over the window (reads the counter, records what is new)."""
        total = self._drawn()
        if total > self._last_drawn:
            self._drawn_meter.add(total - self._last_drawn)
            self._last_drawn = total
        return self._drawn_meter.rate(WINDOW_S)

    def aim(self) -> float:
        """Fragments per second the worker aims at now (0 while nothing is drawn)."""
        return self._observe_drawn() / self.s.reuse

    def wait_s(self, fresh: int) -> float:
        """Seconds to wait before the next round (0: write one now). fresh: the newest model's fragments in
        the ring."""
        with self._lock:
            aim = self.aim()
            if self.dormant and aim == 0:
                return 0.25
            now = self._clock()
            share = self.s.share if aim > 0 else self.s.idle_share
            next_start = (self._last_end or 0.0) + self._last_busy * (1.0 / share - 1.0)
            if now < next_start:
                self._share_bound = aim > 0 and self._written.rate(WINDOW_S) < aim
                return next_start - now
            written = self._written.rate(WINDOW_S)
            if self.s.rate_cap > 0 and written >= self.s.rate_cap:
                return 0.05
            if aim > 0 and written < aim:
                return 0.0
            if fresh < self.s.reserve:
                return 0.0
            return 0.05  # nothing to do: look again soon (a draw or a new model changes that)

    def on_round(self, fragments: int, busy_s: float) -> None:
        """A round wrote `fragments` in `busy_s` seconds: schedules the share's pause, sizes the next batch."""
        with self._lock:
            self.rounds += 1
            self.busy_s += busy_s
            self._written.add(fragments)
            drawing = self._drawn_meter.rate(WINDOW_S) > 0
            self._last_end, self._last_busy = self._clock(), busy_s
            if busy_s > 0 and fragments > 0:
                tp = fragments / busy_s
                old = self._throughput.get(self.batch)
                self._throughput[self.batch] = tp if old is None else 0.7 * old + 0.3 * tp
            self._size_batch(drawing, busy_s)

    def _size_batch(self, drawing: bool, busy_s: float) -> None:
        aim, written = self.aim(), self._written.rate(WINDOW_S)
        here = self._throughput.get(self.batch, 0.0)
        half = self._throughput.get(self.batch // 2) if self.batch > self.min_batch else None
        if half is not None and (here < GROWTH * half or written > 2 * aim):  # the doubling did not pay, or
            self.batch //= 2  # more is written than asked for
        elif (drawing and self._share_bound and written < aim and self.batch * 2 <= self.s.max_batch
              and 2 * busy_s <= MAX_ROUND_S):
            bigger = self._throughput.get(self.batch * 2)
            if bigger is None or bigger >= GROWTH * here:  # untried, or it paid last time
                self.batch *= 2

    def stats(self) -> dict:
        """What the metrics report: the aim, the written rate, the busy share so far, the batch."""
        return {"generator_aim_per_s": round(self.aim(), 2), "generator_written_per_s": round(self._written.rate(WINDOW_S), 2),
                "generator_batch": self.batch, "generator_busy_s": round(self.busy_s, 2)}
