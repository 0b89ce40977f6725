"""The generation worker: a background thread that keeps the ring buffer full of enhanced fragments.

    gen = EnhancedSampleGenerator("runs/x/best.pt", train_tokens, buffer, GenerationSettings(...))
    gen.start()                      # returns at once; fragments appear in `buffer`
    gen.update_model("runs/x/best.pt")   # after the trainer saves a better checkpoint
    gen.stop()

Each round continues `batch_size` random prefixes of the training data by block_size + 1 tokens with
the KV-cache generator and writes the cut fragments with the model version that wrote them.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
import torch

from moredata.enhanced.fragments import (
    adaptive_min_prefix,
    badness,
    fragment_scores,
    generate_enhanced_samples_batch,
)
from moredata.enhanced.generation_settings import GenerationSettings
from moredata.enhanced.pacing import DemandPacer, round_cost
from moredata.enhanced.rate import RateMeter
from moredata.enhanced.ring_buffer import EnhancedSampleBuffer
from moredata.errors import FailedPrecondition, InvalidArgument
from moredata.models.checkpoint import load_checkpoint, model_from_checkpoint
from moredata.models.decoder_only import GPT, GPTConfig

log = logging.getLogger(__name__)
FILTER_WINDOW = 1024


def prepare_model(ckpt: dict, data: np.ndarray, settings: GenerationSettings, vocab_size: int | None = None,
                  max_bytes: int | None = None) -> GPT:
    """The inference model of a checkpoint, checked against what it will generate from: its sizes
    against its weights and `max_bytes`, its block against the data and the settings, its vocabulary
    against the data's (`vocab_size`, when known). Nothing shared is touched: callers build rings and
    swap models only after this returned."""
    model = model_from_checkpoint(ckpt, settings.device, max_bytes).eval()
    block = model.config.block_size
    if vocab_size is not None and model.config.vocab_size != vocab_size:
        raise InvalidArgument(f"the model's vocabulary ({model.config.vocab_size} tokens) does not match the "
                              f"served data's ({vocab_size}): was it trained on other data?")
    if block + 1 > len(data):
        raise InvalidArgument(f"training data ({len(data)} tokens) is shorter than block_size + 1 ({block + 1})")
    try:
        settings.validate(block)
    except ValueError as e:
        raise InvalidArgument(str(e)) from None
    for p in model.parameters():
        p.requires_grad_(False)
    check_first_round(model, data, settings.device)
    return model


def check_first_round(model: GPT, data: np.ndarray, device: str, rows: int = 4) -> None:
    """A trial forward over a few real prefixes before the model may serve. "Degenerate" here means what
    arithmetic can tell: logits that are not finite (weights such as 1e38 overflow to inf, then NaN, and
    sampling from NaN gives token 0 forever: the fragments of '65 x token 0'). FAILED_PRECONDITION: the
    file is well-formed, the model cannot generate."""
    block = model.config.block_size
    n = min(block, len(data) - 1)
    starts = np.linspace(0, len(data) - n - 1, rows).astype(np.int64)
    x = torch.from_numpy(np.stack([np.asarray(data[s:s + n], dtype=np.int64) for s in starts])).to(device)
    with torch.no_grad():
        logits, _ = model(x)
    if not torch.isfinite(logits).all():
        raise FailedPrecondition("the model's first generation round is degenerate: its logits are not finite "
                                 "(weights that overflow); the serving model is kept")


@dataclass(frozen=True)
class InstalledModel:
    """One installed model as an UpdateModel answer describes it (not whatever is newest by then)."""

    model_version: int
    config: GPTConfig
    iter_num: int
    best_val_loss: float
    tokenizer_kind: str


class EnhancedSampleGenerator:
    def __init__(self, checkpoint_path: str, data: np.ndarray, buffer: EnhancedSampleBuffer,
                 settings: GenerationSettings, ckpt: dict | None = None, model: GPT | None = None,
                 pacer: DemandPacer | None = None):
        self.data = data
        # sizes rounds by the trainer's demand in a share of the time (pacing.py); None: flat out, capped by
        # settings.target_rate and pause_when_full (a generator serving no known demand, tests)
        self.pacer = pacer
        self.fresh = 0  # fragments written by the newest model since it was installed (the pacer's reserve)
        self.buffer = buffer
        self.settings = settings
        self.model_version = 0
        # the last `settings.models` checkpoints as (version, model, best val loss); rounds take turns among
        # them, so the ring mixes fragments of a few recent best models, each tagged with its version
        self._models: deque[tuple[int, GPT, float]] = deque(maxlen=max(1, settings.models))
        self._rounds = 0
        self._model_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rng = np.random.default_rng(settings.seed)
        self._torch_gen = torch.Generator(device=settings.device).manual_seed(settings.seed)
        self._generated = RateMeter(maxlen=256)  # fragments per round
        self.filtered = 0  # fragments dropped by the quality filter (settings.filter_quantile)
        self.kept = 0  # fragments written
        self._recent_badness = np.zeros(0)  # the filter's reference: the last FILTER_WINDOW fragments scored
        self.failures = 0  # rounds failed in a row (0 after any success): health says degraded from 3
        self.last_error = ""
        self.update_model(checkpoint_path, ckpt, model)

    # --- model ------------------------------------------------------------------------------------

    def update_model(self, checkpoint_path: str, ckpt: dict | None = None, model: GPT | None = None) -> int:
        """Loads a checkpoint as the new inference copy; returns the new model version.
        ckpt: the file's contents when the caller has already read it (the file is not read again);
        model: the model already built from it by `prepare_model`."""
        ckpt = load_checkpoint(checkpoint_path) if ckpt is None else ckpt
        if model is None:
            model = prepare_model(ckpt, self.data, self.settings)
        if self.buffer.fragment_len != model.config.block_size + 1:
            raise InvalidArgument(f"buffer holds fragments of {self.buffer.fragment_len} tokens, the model's "
                                  f"block_size + 1 is {model.config.block_size + 1}")
        with self._model_lock:
            self.model_version += 1
            # what this call installed, taken under the lock: a concurrent update cannot change it
            installed = self.installed = InstalledModel(
                self.model_version, model.config, int(ckpt.get("iter_num", 0)),
                float(ckpt.get("best_val_loss", float("nan"))), (ckpt.get("tokenizer") or {}).get("kind", ""))
            self._models.append((installed.model_version, model, installed.best_val_loss))
            self.fresh = 0
        log.info("generator: model version %d (iter %d) from %s", installed.model_version, installed.iter_num,
                 checkpoint_path)
        return installed.model_version

    @property
    def model(self) -> GPT:
        """The newest inference copy (the last of the models that take turns)."""
        return self._models[-1][1]

    # --- the worker -------------------------------------------------------------------------------

    def start(self) -> None:
        if self.is_running():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="enhanced-generator", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def generate_round(self) -> int:
        """One round of generation into the buffer; returns the fragments written."""
        s = self.settings
        with self._model_lock:
            version, model, val_loss = self._models[self._rounds % len(self._models)]
            self._rounds += 1
        lo, hi = self.prefix_range(val_loss)
        batch = self.pacer.batch if self.pacer is not None else s.batch_size
        frags = generate_enhanced_samples_batch(model, self.data, batch, lo, hi, s.temperature, s.top_k, self._rng,
                                                self._torch_gen, s.fragments_per_sequence)
        if s.filter_quantile > 0 and len(frags):
            frags = self.filter(model, frags)
        self.kept += len(frags)
        self.buffer.add_samples(frags.astype(self.buffer.dtype), version)
        self._generated.add(len(frags))
        if version == self.model_version:
            self.fresh += len(frags)
        return len(frags)

    def model_versions(self) -> list[int]:
        """The versions the rounds take turns among (the last `settings.models` checkpoints)."""
        with self._model_lock:
            return [v for v, _, _ in self._models]

    def prefix_range(self, val_loss: float | None = None) -> tuple[int, int]:
        """(shortest, longest) real prefix for a round: the settings', or with the 'adaptive' schedule a
        shortest that rises with the writing checkpoint's val loss (default: the newest's; longer while weak)."""
        s = self.settings
        if s.prefix_schedule != "adaptive":
            return s.min_prefix_length, s.max_prefix_length
        lo = adaptive_min_prefix(s.min_prefix_length, s.max_prefix_length,
                                 self.installed.best_val_loss if val_loss is None else val_loss,
                                 self.model.config.vocab_size)
        return lo, s.max_prefix_length

    def filter(self, model: GPT, frags: np.ndarray) -> np.ndarray:
        """Drops the worst `filter_quantile` share of fragments by badness (NLL under the model that wrote
        them + repetition), judged against the last FILTER_WINDOW fragments scored: a round of 16 is too
        few for its own quantile, and a good round should not lose fragments to a fixed share."""
        nll, rep = fragment_scores(model, frags)
        bad = badness(nll, rep)
        self._recent_badness = np.concatenate([self._recent_badness, bad])[-FILTER_WINDOW:]
        threshold = np.quantile(self._recent_badness, 1.0 - self.settings.filter_quantile)
        keep = bad < threshold if len(self._recent_badness) > 1 else np.ones(len(bad), dtype=bool)
        self.filtered += int((~keep).sum())
        return frags[keep]

    def _should_wait(self) -> bool:
        s = self.settings
        if s.pause_when_full and self.buffer.is_full():
            counts = self.buffer.version_counts()
            if counts.get(self.model_version, 0) >= self.buffer.capacity:
                return True
        return s.target_rate > 0 and self.rate(window=5.0) > s.target_rate

    def _wait_s(self) -> float:
        if self.pacer is not None:
            return self.pacer.wait_s(self.fresh)
        return 0.05 if self._should_wait() else 0.0

    def _lower_priority(self) -> None:
        """Linux: a nice value for this thread only, set before its first torch op, so the math threads
        it starts inherit it; the trainer's threads keep theirs and win the cores they share."""
        if self.settings.niceness and hasattr(os, "setpriority"):
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.settings.niceness)
            except OSError as e:  # not permitted: keep going at the normal priority
                log.info("generator thread keeps its priority: %s", e)

    def _run(self) -> None:
        self._lower_priority()
        while not self._stop.is_set():
            wait = self._wait_s()
            if wait > 0:
                self._stop.wait(min(wait, 0.25))  # short: stop() and a rise in demand are noticed soon
                continue
            t0, cpu0, written, failed = time.monotonic(), time.thread_time(), 0, False
            try:
                written = self.generate_round()
                self.failures, self.last_error = 0, ""
            except Exception as e:  # noqa: BLE001 - the worker logs and keeps going (e.g. Redis down)
                self.failures += 1
                self.last_error = f"{type(e).__name__}: {e}"
                if self.failures == 1 or self.failures % 100 == 0:  # once per outage, not once per round
                    log.warning("generator round failed (%d in a row): %s", self.failures, self.last_error)
                failed = True
            if self.pacer is not None:
                self.pacer.on_round(written, round_cost(self.settings.device, t0, cpu0))
            if failed:  # short first retries: Redis restarts take a moment, then rounds must resume at once
                self._stop.wait(min(0.1 * self.failures, 1.0))

    @property
    def degraded(self) -> str:
        """Why the worker is not producing ('' when it is): every recent round failed."""
        return f"the last {self.failures} generation rounds failed: {self.last_error}" if self.failures >= 3 else ""

    def rate(self, window: float = 60.0) -> float:
        """Fragments generated per second over the last `window` seconds."""
        return self._generated.rate(window)
