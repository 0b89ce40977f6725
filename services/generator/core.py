"""The generator's core, usable without a server: model loading, the Redis ring, the worker, stats."""
from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import torch

from services.common.checkpoint import load_checkpoint
from services.common.enhanced.rate import RateMeter
from services.common.enhanced.ring_buffer import RedisSampleBuffer
from services.common.enhanced.worker import EnhancedSampleGenerator
from services.common.grpc_server import Unavailable
from services.common.token_files import open_split, read_meta
from services.generator.settings import GeneratorSettings

log = logging.getLogger(__name__)


def _redis_errors():
    import redis

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class GeneratorCore:
    def __init__(self, settings: GeneratorSettings, redis_client=None):
        import redis

        self.s = settings
        self.meta = read_meta(settings.data_dir)
        self.data = open_split(settings.data_dir, "train", self.meta)
        self.checkpoint_dir = Path(settings.checkpoint_dir).resolve()
        self.redis = redis_client or redis.Redis.from_url(settings.redis_url, socket_timeout=2.0,
                                                          socket_connect_timeout=2.0)
        self.device = ("cuda" if torch.cuda.is_available() else "cpu") if settings.device == "auto" else settings.device
        self.buffer: RedisSampleBuffer | None = None
        self.worker: EnhancedSampleGenerator | None = None
        self._lock = threading.Lock()
        self._served = RateMeter()  # fragments per served batch
        self.pending: Path | None = self.resolve(settings.checkpoint) if settings.checkpoint else None
        if self.pending is not None:
            try:
                self.load(self.pending)
            except Unavailable as e:  # Redis not up yet (compose start order): ready() retries
                log.warning("initial model load deferred: %s", e)

    # --- model ------------------------------------------------------------------------------------

    def resolve(self, path: str) -> Path:
        """A checkpoint path from a request: relative to checkpoint_dir, and never outside it."""
        if not path:
            raise ValueError("checkpoint_path is empty")
        p = Path(path)
        full = (p if p.is_absolute() else self.checkpoint_dir / p).resolve()
        if not full.is_relative_to(self.checkpoint_dir):
            raise ValueError(f"checkpoint path {path!r} resolves outside the checkpoint directory")
        if not full.is_file():
            raise ValueError(f"checkpoint {path!r} not found in the checkpoint directory")
        return full

    def load(self, path: Path) -> int:
        """Loads (or reloads) the model; the first load creates the ring and starts the worker."""
        ckpt = load_checkpoint(path)  # ValueError for anything that is not a checkpoint
        block = int(ckpt["model_args"]["block_size"])
        with self._lock:
            if self.worker is None:
                try:
                    self.buffer = RedisSampleBuffer(
                        self.redis, self.s.enhanced_buffer_size, block + 1, dtype=self.meta["dtype"],
                        prefix=self.s.ring_prefix, memory_budget_bytes=int(self.s.redis_memory_budget_mb * 2**20))
                except _redis_errors() as e:
                    raise Unavailable(f"Redis is not reachable: {e}") from None
                gs = self.s.generation_settings(target_rate=self.s.generation_rate,
                                                pause_when_full=self.s.pause_when_fresh, device=self.device,
                                                seed=self.s.seed)
                self.worker = EnhancedSampleGenerator(str(path), self.data, self.buffer, gs, ckpt=ckpt)
                self.worker.start()
            else:
                if block + 1 != self.buffer.fragment_len:
                    raise ValueError(f"checkpoint block_size {block} differs from the ring's "
                                     f"{self.buffer.fragment_len - 1}; start a generator with another ring_prefix")
                self.worker.update_model(str(path), ckpt)
            self.pending = None
            return self.worker.model_version

    # --- serving ----------------------------------------------------------------------------------

    @property
    def model_version(self) -> int:
        return self.worker.model_version if self.worker is not None else 0

    def samples(self, n: int, min_model_version: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Up to n fragments (fewer while the ring is empty) and their versions."""
        if self.buffer is None:
            raise Unavailable("no model loaded yet: send UpdateModel first")
        try:
            frags, vers = self.buffer.get_samples(n)
        except _redis_errors() as e:
            raise Unavailable(f"Redis is not reachable: {e}") from None
        if min_model_version:
            keep = vers >= min_model_version
            frags, vers = frags[keep], vers[keep]
        self._served.add(len(frags))
        return frags, vers

    def served_rate(self, window: float = 60.0) -> float:
        return self._served.rate(window)

    def ready(self) -> bool:
        """SERVING: a model is loaded and Redis answers."""
        if self.worker is None:
            if self.pending is None:
                return False
            try:
                self.load(self.pending)
            except Unavailable:
                return False
        try:
            return bool(self.redis.ping())
        except _redis_errors():
            return False

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
