"""The generator's core, usable without a server: model loading, the Redis ring, the worker, stats."""
from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import numpy as np
import torch

from moredata.data.token_files import open_split, read_meta
from moredata.enhanced.pacing import DemandPacer
from moredata.enhanced.rate import RateMeter
from moredata.enhanced.ring_buffer import RedisSampleBuffer
from moredata.enhanced.worker import EnhancedSampleGenerator, InstalledModel, prepare_model
from moredata.errors import FailedPrecondition, InvalidArgument, Unavailable
from moredata.models.loader import read_model
from services.generator.settings import GeneratorSettings

log = logging.getLogger(__name__)
RETRY_LOAD_S = 2.0  # a start-up checkpoint that could not be loaded (Redis down, full) is tried again this often


def _redis_errors():
    import redis

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def _redis_refusals():
    """Errors Redis answers with while it is up (out of memory, read-only replica, ...)."""
    import redis

    return (redis.exceptions.ResponseError,)


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
        self.served_total = 0  # fragments served since start: the demand the pacer writes for
        self._next_retry = 0.0  # monotonic time of the next try to load the start-up checkpoint
        self._upload_path: Path | None = None  # the uploaded file of the served model, if it came that way
        self.tokenizer = self._data_tokenizer()
        self.not_ready_reason = "no model loaded yet: send UpdateModel"
        self.pending: Path | None = self.resolve(settings.checkpoint) if settings.checkpoint else None
        if self.pending is not None:
            try:
                self.load(self.pending)
            except (Unavailable, FailedPrecondition) as e:  # Redis not up or full yet: ready() retries
                self.not_ready_reason = str(e)
                log.warning("initial model load deferred: %s", e)

    def _data_tokenizer(self) -> dict | None:
        """The served data's tokenizer (tokenizer.json beside train.bin), which every model must share."""
        path = Path(self.s.data_dir) / "tokenizer.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    # --- model ------------------------------------------------------------------------------------

    def resolve(self, path: str) -> Path:
        """A checkpoint path from a request: relative to checkpoint_dir, and never outside it."""
        if not path:
            raise InvalidArgument("checkpoint_path is empty")
        if len(path) > 4096 or "\0" in path:
            raise InvalidArgument("checkpoint_path is too long or holds a NUL byte")
        p = Path(path)
        try:
            full = (p if p.is_absolute() else self.checkpoint_dir / p).resolve(strict=False)
        except (OSError, RuntimeError) as e:  # a symlink loop, a name over the filesystem's limit
            raise InvalidArgument(f"checkpoint path {path[:200]!r} cannot be resolved: {e}") from None
        if not full.is_relative_to(self.checkpoint_dir):
            raise InvalidArgument(f"checkpoint path {path[:200]!r} resolves outside the checkpoint directory")
        return full  # missing, a directory, empty, not a checkpoint: load_checkpoint says which

    def _generation_settings(self):
        return self.s.generation_settings(target_rate=self.s.generation_rate, pause_when_full=self.s.pause_when_fresh,
                                          device=self.device, seed=self.s.seed)

    def _pacer(self) -> DemandPacer | None:
        """Writes what the trainers draw (served fragments / reuse) in a share of the time, and keeps a
        reserve (default a quarter of the ring) of the newest model's text while nobody draws; None with
        paced=false (flat out, capped by generation_rate and pause_when_fresh)."""
        if not self.s.paced:
            return None
        return DemandPacer(self.s.pacing_settings(max(1, self.buffer.capacity // 4), self.s.generation_rate),
                           lambda: self.served_total, self.s.enhanced_generation_batch_size)

    def _check_tokenizer(self, ckpt: dict) -> None:
        tok = ckpt.get("tokenizer")
        if self.tokenizer is not None and tok is not None and tok != self.tokenizer:
            raise InvalidArgument(f"the checkpoint's {tok.get('kind', '?') if isinstance(tok, dict) else '?'} "
                                  f"tokenizer differs from the served data's ({self.s.data_dir}/tokenizer.json): "
                                  f"it was trained on other data")

    def load(self, path: Path, uploaded: bool = False) -> InstalledModel:
        """Loads (or reloads) the model; the first load creates the ring and starts the worker.

        The model is read, checked (sizes against its weights and max_model_mb, vocabulary and
        tokenizer against the served data, block against the settings) and built before anything
        shared changes: a bad checkpoint leaves the Redis ring and the running model as they were."""
        ckpt = read_model(path)  # a checkpoint, a nanoGPT ckpt.pt or an extracted model directory
        if ckpt.get("model_type", "decoder_only") != "decoder_only":
            raise InvalidArgument(f"{path} is a {ckpt['model_type']} model; the generator needs a GPT (decoder_only)")
        self._check_tokenizer(ckpt)
        gs = self._generation_settings()
        model = prepare_model(ckpt, self.data, gs, vocab_size=self.meta.get("vocab_size"),
                              max_bytes=int(self.s.max_model_mb * 2**20))
        block = model.config.block_size
        with self._lock:
            if self.worker is None:
                try:
                    self.buffer = RedisSampleBuffer(
                        self.redis, self.s.enhanced_buffer_size, block + 1, dtype=self.meta["dtype"],
                        prefix=self.s.ring_prefix, memory_budget_bytes=int(self.s.redis_memory_budget_mb * 2**20))
                except _redis_errors() as e:
                    raise Unavailable(f"Redis is not reachable: {e}") from None
                except _redis_refusals() as e:
                    raise FailedPrecondition(f"Redis refused to hold the ring: {e}") from None
                self.worker = EnhancedSampleGenerator(str(path), self.data, self.buffer, gs, ckpt=ckpt, model=model,
                                                      pacer=self._pacer())
                self.worker.start()
            else:
                if block + 1 != self.buffer.fragment_len:
                    raise InvalidArgument(f"checkpoint block_size {block} differs from the ring's "
                                          f"{self.buffer.fragment_len - 1}; start a generator with another ring_prefix")
                self.worker.update_model(str(path), ckpt, model)
            self.pending = None
            if uploaded:  # the served model is in memory: of the uploaded files only its own is kept
                old, self._upload_path = self._upload_path, path
                if old is not None and old != path:
                    old.unlink(missing_ok=True)
            return self.worker.installed  # this call's model, taken under the lock

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
        except _redis_refusals() as e:
            raise Unavailable(f"Redis refused the read: {e}") from None
        if min_model_version:
            keep = vers >= min_model_version
            frags, vers = frags[keep], vers[keep]
        self._served.add(len(frags))
        self.served_total += len(frags)
        return frags, vers

    def pacing_status(self) -> dict:
        """GetStatus's pacing fields: served, served per fragment written, the aim, the batch."""
        kept = self.worker.kept if self.worker is not None else 0
        pacer = self.worker.pacer if self.worker is not None else None
        return {"fragments_served": self.served_total,
                "fragment_reuse": self.served_total / kept if kept else 0.0,
                "generation_aim_per_s": pacer.aim() if pacer is not None else 0.0,
                "generation_batch": pacer.batch if pacer is not None else self.s.enhanced_generation_batch_size}

    def served_rate(self, window: float = 60.0) -> float:
        return self._served.rate(window)

    def ready(self) -> bool:
        """SERVING: a model is loaded, Redis answers and generation rounds succeed. Called every second
        by the health monitor, which also keeps this writer's liveness mark in Redis fresh."""
        return not self.check_health()

    def check_health(self) -> str:
        """'' when serving, else the reason (also what GetStatus reports as degraded_reason)."""
        if self.worker is None:
            if self.pending is None or time.monotonic() < self._next_retry:
                return self.not_ready_reason
            try:
                self.load(self.pending)
            except (Unavailable, FailedPrecondition) as e:
                # Redis down or full at start: retry, but not at the monitor's 5 Hz (each try rebuilds the model)
                self._next_retry = time.monotonic() + RETRY_LOAD_S
                self.not_ready_reason = str(e)
                return self.not_ready_reason
        try:
            risk = self.buffer.heartbeat()
        except _redis_errors() as e:
            return f"Redis is not reachable: {e}"
        except _redis_refusals() as e:
            return f"Redis refuses writes: {e}"
        return risk or self.worker.degraded

    def status(self) -> dict:
        """Buffer figures and health for GetStatus; Redis being down is a state to report, not an error."""
        reason = self.check_health()
        out = {"serving": not reason, "degraded_reason": reason, "buffer_capacity": 0, "buffer_filled": 0,
               "buffer_current_version": 0}
        if self.buffer is not None:
            out["buffer_capacity"] = self.buffer.capacity
            try:
                counts = self.buffer.version_counts()
            except _redis_errors() + _redis_refusals():
                counts = {}
            out["buffer_filled"] = sum(counts.values())
            out["buffer_current_version"] = counts.get(self.model_version, 0)
        return out

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
