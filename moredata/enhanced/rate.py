"""Events per second over a sliding time window (fragments generated, fragments served)."""
from __future__ import annotations

import threading
import time
from collections import deque


class RateMeter:
    def __init__(self, maxlen: int = 1024):
        self._events: deque[tuple[float, int]] = deque(maxlen=maxlen)  # (monotonic time, count)
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        with self._lock:
            self._events.append((time.monotonic(), count))

    def rate(self, window: float = 60.0) -> float:
        """Counts per second over the last `window` seconds (0 when nothing happened in it)."""
        now = time.monotonic()
        with self._lock:
            recent = [(t, n) for t, n in self._events if now - t <= window]
        if not recent:
            return 0.0
        return sum(n for _, n in recent) / max(now - recent[0][0], 1e-3)
