"""Events per second over a sliding time window (fragments generated, fragments served)."""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateMeter:
    def __init__(self, maxlen: int = 1024, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._created = clock()
        self._events: deque[tuple[float, int]] = deque(maxlen=maxlen)  # (monotonic time, count)
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        with self._lock:
            self._events.append((self._clock(), count))

    def rate(self, window: float = 60.0) -> float:
        """Counts per second over the last `window` seconds (or since the meter was made, when that is
        shorter): a first event does not read as a burst of n / 1 ms."""
        now = self._clock()
        with self._lock:
            total = sum(n for t, n in self._events if now - t <= window)
        return total / max(min(window, now - self._created), 1e-3)
