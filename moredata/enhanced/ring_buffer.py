"""Ring buffers of enhanced token fragments: in memory (one process) and in Redis (shared by replicas).

A fragment is `fragment_len = block_size + 1` token ids. Both buffers hold a fixed number of slots,
overwrite the oldest slot when full (FIFO), remember the model version that wrote each slot, and serve
consumers by sampling with replacement, so a slow generator never starves a trainer.

Freshness: once at least `fresh_fraction` of the slots hold fragments of the newest
model version, `get_samples(n)` serves only those; until then it serves from every filled slot. After a
model update the FIFO order overwrites the oldest (old-version) slots first.
"""
from __future__ import annotations

import logging
import math
import os
import struct
import threading
import uuid
from abc import ABC, abstractmethod

import numpy as np

from moredata.errors import FailedPrecondition, ResourceExhausted

log = logging.getLogger(__name__)


def available_memory_bytes() -> int:
    """MemAvailable from /proc/meminfo (Linux), else free physical pages."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def fit_capacity(requested: int, slot_bytes: int, budget_bytes: int, what: str) -> int:
    """The requested slot count, or fewer (with a warning naming the size chosen) to fit the budget."""
    if requested < 1:
        raise ValueError(f"enhanced_buffer_size must be >= 1, got {requested}")
    fits = max(1, budget_bytes // slot_bytes)
    if requested <= fits:
        return requested
    log.warning("%s: %d fragments of %d bytes would need %.1f MiB, over the budget of %.1f MiB; "
                "using %d slots instead", what, requested, slot_bytes, requested * slot_bytes / 2**20,
                budget_bytes / 2**20, fits)
    return int(fits)


class EnhancedSampleBuffer(ABC):
    """What generators write to and trainers read from."""

    capacity: int
    fragment_len: int
    dtype: np.dtype

    @abstractmethod
    def add_samples(self, samples: np.ndarray, model_version: int) -> None:
        """samples: (k, fragment_len) token ids, all written by `model_version`."""

    @abstractmethod
    def get_samples(self, n: int, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """n fragments sampled with replacement: ((n, fragment_len) ids, (n,) versions); (0, ...) when empty."""

    @abstractmethod
    def clear(self) -> None: ...

    @abstractmethod
    def size(self) -> int:
        """Filled slots."""

    @abstractmethod
    def version_counts(self) -> dict[int, int]:
        """Filled slots per model version."""

    def is_full(self) -> bool:
        return self.size() >= self.capacity

    def _check(self, samples: np.ndarray) -> np.ndarray:
        samples = np.asarray(samples)
        if samples.ndim != 2 or samples.shape[1] != self.fragment_len:
            raise ValueError(f"samples must be (k, {self.fragment_len}), got {samples.shape}")
        if samples.size and (samples.min() < 0 or samples.max() > np.iinfo(self.dtype).max):
            raise ValueError(f"token ids must fit {self.dtype}")
        return np.ascontiguousarray(samples, dtype=self.dtype)


def _choose_slots(versions: np.ndarray, n: int, fresh_fraction: float, capacity: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Slot indices to serve from `versions` (-1 = empty slot), preferring the newest version."""
    filled = np.flatnonzero(versions >= 0)
    if filled.size == 0:
        return filled
    newest = versions[filled].max()
    fresh = filled[versions[filled] == newest]
    pool = fresh if fresh.size >= math.ceil(fresh_fraction * capacity) else filled
    return pool[rng.integers(0, pool.size, size=n)]


def _count_versions(versions: np.ndarray) -> dict[int, int]:
    """{version: filled slots} from per-slot versions (-1 = empty)."""
    v, c = np.unique(versions[versions >= 0], return_counts=True)
    return {int(a): int(b) for a, b in zip(v, c)}


class MemorySampleBuffer(EnhancedSampleBuffer):
    """A thread-safe ring in process memory: (capacity, fragment_len) ids plus (capacity,) versions."""

    def __init__(self, capacity: int, fragment_len: int, dtype=np.uint16, memory_share: float = 0.25,
                 fresh_fraction: float = 0.25):
        self.dtype = np.dtype(dtype)
        self.fragment_len = fragment_len
        slot_bytes = fragment_len * self.dtype.itemsize + 8
        budget = int(memory_share * available_memory_bytes())
        self.capacity = fit_capacity(capacity, slot_bytes, budget, "in-memory enhanced buffer")
        self.fresh_fraction = fresh_fraction
        self._data = np.zeros((self.capacity, fragment_len), dtype=self.dtype)
        self._versions = np.full(self.capacity, -1, dtype=np.int64)
        self._head = 0  # total fragments ever written; the next slot is head % capacity
        self._lock = threading.Lock()
        self._rng = np.random.default_rng()

    def add_samples(self, samples: np.ndarray, model_version: int) -> None:
        samples = self._check(samples)
        k = samples.shape[0]
        if k > self.capacity:  # only the newest `capacity` survive anyway
            samples, k = samples[-self.capacity :], self.capacity
        with self._lock:
            slots = (self._head + np.arange(k)) % self.capacity
            self._data[slots] = samples
            self._versions[slots] = model_version
            self._head += k

    def get_samples(self, n: int, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        rng = rng or self._rng
        with self._lock:
            slots = _choose_slots(self._versions, n, self.fresh_fraction, self.capacity, rng)
            return self._data[slots], self._versions[slots]  # fancy indexing copies under the lock

    def clear(self) -> None:
        with self._lock:
            self._versions[:] = -1
            self._head = 0

    def size(self) -> int:
        with self._lock:
            return int(min(self._head, self.capacity))

    def version_counts(self) -> dict[int, int]:
        with self._lock:
            return _count_versions(self._versions)


# Appends k fragments in one atomic step, so head and slots never disagree, whichever replica writes.
# KEYS: head, data, ver. ARGV: capacity, slot_bytes, k, fragments (k * slot_bytes), version (8 bytes LE).
_WRITE = """
local cap = tonumber(ARGV[1])
local sb = tonumber(ARGV[2])
local k = tonumber(ARGV[3])
if redis.call('EXISTS', KEYS[3]) == 0 then return -1 end  -- ring lost (Redis restarted): caller re-creates
local head = redis.call('INCRBY', KEYS[1], k) - k
for i = 0, k - 1 do
  local slot = (head + i) % cap
  redis.call('SETRANGE', KEYS[2], slot * sb, string.sub(ARGV[4], i * sb + 1, (i + 1) * sb))
  redis.call('SETRANGE', KEYS[3], slot * 8, ARGV[5])
end
return head + k
"""


WRITER_TTL_MS = 10_000  # a writer that has not beaten for this long is gone (its process died)
REDIS_HEADROOM = 0.5  # share of the memory Redis has free under maxmemory a ring may take (allocator rounding, other keys)


def eviction_refusal(info: dict) -> str:
    """'' or why Redis (its INFO memory section) would lose the ring: an `allkeys-*` eviction policy may
    evict the ring's keys, its meta first."""
    policy = str(info.get("maxmemory_policy", "noeviction"))
    if policy.startswith("allkeys"):
        return (f"Redis' maxmemory-policy is {policy}: it would evict the ring's keys (its meta first); use "
                f"noeviction or a volatile-* policy")
    return ""


class RedisSampleBuffer(EnhancedSampleBuffer):
    """The ring in Redis, shared by generator replicas and read by trainers.

    Keys under `prefix`: `:meta` (capacity, fragment_len, dtype), `:head` (fragments ever written),
    `:data` (one string, capacity fixed-size slots of raw little-endian ids), `:ver` (capacity int64
    LE versions, -1 = empty), `:writers` (a sorted set: writer id -> expiry, kept fresh by
    `heartbeat()`). Writes run as one Lua script.

    A ring whose meta differs from this process's (another block_size, an older run) is taken over
    and re-created when no live writer uses it (automatic: nobody else depends on it); while other
    generators write to it, attaching is refused (FailedPrecondition: use another ring_prefix, or stop
    them). Redis' own limits are read first: under `maxmemory` the ring sizes itself to fit the memory
    Redis has left, and an `allkeys-*` eviction policy, which would evict the ring's keys, is refused.
    """

    def __init__(self, client, capacity: int, fragment_len: int, dtype=np.uint16, prefix: str = "moredata:ring",
                 memory_budget_bytes: int = 256 * 2**20, fresh_fraction: float = 0.25):
        self.r = client
        self.dtype = np.dtype(dtype).newbyteorder("<")
        self.fragment_len = fragment_len
        self.slot_bytes = fragment_len * self.dtype.itemsize
        self.k_meta, self.k_head, self.k_data, self.k_ver, self.k_writers = (
            f"{prefix}:{s}" for s in ("meta", "head", "data", "ver", "writers"))
        budget = self._redis_budget(memory_budget_bytes)
        self.capacity = fit_capacity(capacity, self.slot_bytes + 8, budget, "Redis enhanced buffer")
        self.fresh_fraction = fresh_fraction
        self.writer_id = uuid.uuid4().hex
        self._write = self.r.register_script(_WRITE)
        self._rng = np.random.default_rng()
        self._attach()

    def _redis_budget(self, budget: int) -> int:
        """Our own budget, capped by what Redis' maxmemory leaves (the ring's own keys count as free:
        attaching replaces them)."""
        info = self.r.info("memory")
        refusal = eviction_refusal(info)
        if refusal:
            raise FailedPrecondition(refusal)
        maxmemory = int(info.get("maxmemory", 0))
        if maxmemory <= 0:
            return budget
        ours = sum(int(self.r.memory_usage(k) or 0) for k in (self.k_data, self.k_ver))
        free = maxmemory - int(info.get("used_memory", 0)) + ours
        if free * REDIS_HEADROOM < 16 * (self.slot_bytes + 8):
            raise ResourceExhausted(f"Redis is at its memory limit ({free / 2**20:.1f} MiB free of maxmemory "
                                    f"{maxmemory / 2**20:.1f} MiB): too little for a ring of 16 fragments")
        if free * REDIS_HEADROOM < budget:
            log.warning("Redis maxmemory %.1f MiB leaves %.1f MiB: the ring uses at most %.1f MiB", maxmemory / 2**20,
                        free / 2**20, free * REDIS_HEADROOM / 2**20)
        return int(min(budget, free * REDIS_HEADROOM))

    def _meta(self) -> dict[str, str]:
        """What every process attached to this ring must agree on."""
        return {"capacity": str(self.capacity), "fragment_len": str(self.fragment_len), "dtype": self.dtype.str}

    def live_writers(self) -> int:
        """Writers other than this one that have beaten within WRITER_TTL_MS."""
        now_ms = self._now_ms()
        self.r.zremrangebyscore(self.k_writers, "-inf", now_ms)
        return sum(1 for w in self.r.zrangebyscore(self.k_writers, now_ms, "+inf") if w.decode() != self.writer_id)

    def _now_ms(self) -> int:
        sec, usec = self.r.time()  # Redis' clock: replicas on other machines agree on it
        return sec * 1000 + usec // 1000

    def heartbeat(self) -> str:
        """Marks this writer alive for WRITER_TTL_MS (the generator's health monitor calls it every second);
        returns '' or why the ring is at risk: Redis switched to an evicting policy since the ring was made
        (`CONFIG SET maxmemory-policy allkeys-lru` on a running server) is seen within a health round."""
        self.r.zadd(self.k_writers, {self.writer_id: self._now_ms() + WRITER_TTL_MS})
        return eviction_refusal(self.r.info("memory"))

    def _attach(self) -> None:
        meta = self._meta()
        if self.r.hsetnx(self.k_meta, "capacity", meta["capacity"]):
            self.r.hset(self.k_meta, mapping=meta)
            self._reset()
        have = {k.decode(): v.decode() for k, v in self.r.hgetall(self.k_meta).items()}
        if have != meta:
            others = self.live_writers()
            if others:
                raise FailedPrecondition(f"Redis ring at {self.k_meta} has {have} and {others} live generator(s) "
                                         f"writing to it; this one wants {meta}: use another ring_prefix or stop them")
            log.warning("Redis ring at %s has %s but no live writer: re-creating it as %s", self.k_meta, have, meta)
            self.r.delete(self.k_meta)
            self.r.hset(self.k_meta, mapping=meta)
            self._reset()
        elif self.r.strlen(self.k_ver) != 8 * self.capacity:  # e.g. Redis restarted with the meta only
            self._reset()
        self.heartbeat()

    def _reset(self) -> None:
        p = self.r.pipeline(transaction=True)
        p.set(self.k_head, 0)
        p.set(self.k_ver, np.full(self.capacity, -1, dtype="<i8").tobytes())
        # SETRANGE past the end makes Redis zero-fill the string itself: no capacity-sized payload in
        # flight, which under maxmemory would need the ring's size twice (query buffer + value)
        p.delete(self.k_data)
        p.setrange(self.k_data, self.capacity * self.slot_bytes - 1, b"\x00")
        p.execute()

    def add_samples(self, samples: np.ndarray, model_version: int) -> None:
        samples = self._check(samples)
        if samples.shape[0] > self.capacity:
            samples = samples[-self.capacity :]
        if samples.shape[0] == 0:
            return
        args = [self.capacity, self.slot_bytes, samples.shape[0], samples.tobytes(), struct.pack("<q", model_version)]
        keys = [self.k_head, self.k_data, self.k_ver]
        if self._write(keys=keys, args=args) == -1:
            self._attach_after_loss()
            self._write(keys=keys, args=args)

    def _versions(self) -> np.ndarray:
        raw = self.r.get(self.k_ver)
        if raw is None or len(raw) != 8 * self.capacity:  # Redis was restarted: recreate the empty ring
            self._attach_after_loss()
            return np.full(self.capacity, -1, dtype=np.int64)
        return np.frombuffer(raw, dtype="<i8")

    def _attach_after_loss(self) -> None:
        self.r.hset(self.k_meta, mapping=self._meta())
        self._reset()
        self.heartbeat()

    def get_samples(self, n: int, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        rng = rng or self._rng
        versions = self._versions()
        slots = _choose_slots(versions, n, self.fresh_fraction, self.capacity, rng)
        if slots.size == 0:
            return np.zeros((0, self.fragment_len), dtype=self.dtype), np.zeros(0, dtype=np.int64)
        p = self.r.pipeline(transaction=False)
        for s in slots.tolist():  # one pipelined round trip for all n slots
            p.getrange(self.k_data, s * self.slot_bytes, (s + 1) * self.slot_bytes - 1)
        data = np.frombuffer(b"".join(p.execute()), dtype=self.dtype).reshape(slots.size, self.fragment_len)
        return data, versions[slots].copy()

    def clear(self) -> None:
        self._reset()

    def size(self) -> int:
        return int(min(int(self.r.get(self.k_head) or 0), self.capacity))

    def version_counts(self) -> dict[int, int]:
        return _count_versions(self._versions())
