"""Mixed batches: each training row is natural or, with probability p, an enhanced fragment.

With p = 0 none of this is created and batches are bit for bit the plain trainer's. With
`--generator=host:port` rows come from a generator service (see moredata/enhanced/remote_source.py). With p > 0 and no
address, the generator runs in this process (an in-memory ring, no Redis): it starts
from the first best checkpoint the trainer saves (or the one it resumes from) and reloads each better
one. Until fragments exist, and whenever too few are available, rows stay natural and are counted as
fallbacks; training never waits for the generator.

With p = "auto" (auto_probability.py) the share starts at 0 and the trainer's evaluations set it
(`on_eval`). The generator still starts from the first best checkpoint, while the share is 0: when the
run starts memorising, the ring already holds thousands of fragments. Started only once p rose (as a
first version did), it had a few hundred fragments for all the enhanced rows of the next evaluations,
and the runs did worse (30k-character benchmark, mean best of 3 seeds: 1.924 started late, 1.913 started
at the first best; 1.900 for p = 0.2 fixed). A run that never overfits pays the generator's CPU time
(capped by enhanced_generation_rate), not loss.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from moredata.enhanced.pacing import DemandPacer
from moredata.enhanced.ring_buffer import MemorySampleBuffer
from moredata.enhanced.worker import EnhancedSampleGenerator

log = logging.getLogger(__name__)


def determine_batch_composition(batch_size: int, probability: float,
                                generator: torch.Generator | None = None) -> torch.Tensor:
    """(batch_size,) bool, True = enhanced row; each row independently with `probability`.
    Reproducible under a seeded generator; draws one uniform per row."""
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"enhanced_data_probability must be in [0, 1], got {probability}")
    return torch.rand(batch_size, generator=generator) < probability


@dataclass
class MixStats:
    enhanced_rows: int = 0  # rows served from the generator
    fallback_rows: int = 0  # rows that should have been enhanced but were natural (nothing available)


class InProcessSource:
    """The generator in this process, writing into an in-memory ring (no Redis, no server), paced by the
    rows the mixer asks for (moredata/enhanced/pacing.py): `asked()` counts them."""

    def __init__(self, cfg, train_tokens: np.ndarray, token_dtype: np.dtype, seed: int, device: str,
                 asked: Callable[[], int]):
        self.buffer = MemorySampleBuffer(cfg.enhanced_buffer_size, cfg.block_size + 1, dtype=token_dtype)
        self.train_tokens = train_tokens
        self.settings = cfg.generation_settings(device=device, seed=seed)
        self.settings.validate(cfg.block_size)
        # the reserve: what the first evaluation interval at the highest p asks for, once per `reuse` draws
        top_p = cfg.enhanced_max_probability if cfg.enhanced_auto else cfg.enhanced_data_probability
        rows = top_p * cfg.batch_size * cfg.gradient_accumulation_steps * cfg.eval_interval
        self.pacer = DemandPacer(cfg.pacing_settings(math.ceil(rows / cfg.enhanced_generation_reuse),
                                                     cfg.enhanced_generation_rate), asked, cfg.enhanced_generation_batch_size)
        self.generator: EnhancedSampleGenerator | None = None

    @property
    def model_version(self) -> int:
        return self.generator.model_version if self.generator is not None else 0

    def on_new_best(self, checkpoint_path: str) -> None:
        """The trainer saved a better checkpoint: start the generator on it, or reload it."""
        try:
            if self.generator is None:
                self.generator = EnhancedSampleGenerator(checkpoint_path, self.train_tokens, self.buffer,
                                                         self.settings, pacer=self.pacer)
                self.generator.start()
            else:
                self.generator.update_model(checkpoint_path)
        except Exception as e:  # noqa: BLE001 - the generator must never stop training
            log.warning("enhanced generator could not load %s: %s", checkpoint_path, e)

    def take(self, k: int, rng: np.random.Generator) -> np.ndarray:
        return self.buffer.get_samples(k, rng)[0]

    def fill(self) -> int:
        return self.buffer.size()

    def filtered(self) -> int:
        return self.generator.filtered if self.generator is not None else 0

    def set_needed(self, needed: bool) -> None:
        """auto says whether rows may be asked for soon; until they may, the generator writes nothing."""
        self.pacer.dormant = not needed

    def written(self) -> int:
        """Fragments written into the ring so far."""
        return self.generator.kept if self.generator is not None else 0

    def pacing(self) -> dict:
        return self.pacer.stats()

    def close(self) -> None:
        if self.generator is not None:
            self.generator.stop()


class EnhancedBatchMixer:
    """Replaces the enhanced rows of natural CPU batches with fragments from a sample source:
    a remote generator when cfg.generator is set, else an in-process one."""

    def __init__(self, cfg, train_tokens: np.ndarray, token_dtype: np.dtype, seed: int, vocab_size: int,
                 device: str = "cpu", tokens_per_iter: int = 0):
        self.auto = None
        if cfg.enhanced_auto:
            from moredata.training.auto_probability import AutoProbability

            self.auto = AutoProbability(cfg.enhanced_max_probability, cfg.enhanced_auto_threshold,
                                        cfg.enhanced_auto_window, cfg.enhanced_auto_rate,
                                        min_epochs=cfg.enhanced_auto_min_epochs, tokens_per_iter=tokens_per_iter,
                                        train_tokens=len(train_tokens) if train_tokens is not None else 0)
        self.p = 0.0 if self.auto is not None else cfg.enhanced_data_probability
        self.comp_gen = torch.Generator().manual_seed(seed + 3)
        self.rng = np.random.default_rng(seed + 4)
        self.stats = MixStats()
        if cfg.generator:
            from moredata.enhanced.remote_source import RemoteSampleSource

            self.source = RemoteSampleSource(cfg.generator, cfg.batch_size, cfg.block_size + 1, vocab_size)
        else:
            self.source = InProcessSource(cfg, train_tokens, token_dtype, seed + 5, device,
                                          asked=lambda: self.stats.enhanced_rows + self.stats.fallback_rows)

    @property
    def model_version(self) -> int:
        return self.source.model_version

    def on_new_best(self, checkpoint_path: str) -> None:
        self.source.on_new_best(checkpoint_path)

    def on_eval(self, train_loss: float, val_loss: float, iter_num: int | None = None) -> float:
        """An evaluation's losses: with 'auto', the new share of enhanced rows (fixed p: unchanged)."""
        if self.auto is not None:
            self.set_probability(self.auto.update(train_loss, val_loss, iter_num))
            self.source.set_needed(self.auto.generator_needed())
        return self.p

    def set_probability(self, p: float) -> None:
        self.p = p

    def mix(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """x, y: (B, T) int64 CPU tensors of a natural batch, modified in place."""
        rows = determine_batch_composition(x.size(0), self.p, self.comp_gen).nonzero()[:, 0]  # (k,)
        k = int(rows.numel())
        if k == 0:
            return
        frags = self.source.take(k, self.rng)  # (got, T+1), got <= k
        got = frags.shape[0]
        if got:
            f = torch.from_numpy(frags.astype(np.int64, copy=False))
            x[rows[:got]] = f[:, :-1]
            y[rows[:got]] = f[:, 1:]
        self.stats.enhanced_rows += got
        self.stats.fallback_rows += k - got

    def fill(self) -> int:
        return self.source.fill()

    def phase(self) -> str:
        """Which part of the run this is, for step times by phase: before the generator has a model, while
        it runs and p = 0, while rows are drawn."""
        if self.model_version == 0:
            return "before_generator"
        return "generator_p0" if self.p == 0 else "drawing"

    def log_fields(self) -> dict:
        """The mixer's fields of a `train` row of metrics.jsonl (counts since the run started).
        fragment_reuse: rows drawn per fragment written (in-process; a service reports its own)."""
        fields = {"enhanced_rows": self.stats.enhanced_rows, "fallback_rows": self.stats.fallback_rows,
                  "generator_version": self.model_version, "buffer_fill": self.fill(),
                  "filtered_fragments": self.filtered(), "enhanced_p": self.p, "phase": self.phase()}
        if isinstance(self.source, InProcessSource):
            written = self.source.written()
            fields |= {"fragments_written": written,
                       "fragment_reuse": round(self.stats.enhanced_rows / written, 3) if written else 0.0,
                       **self.source.pacing()}
        return fields

    def progress_text(self, fields: dict) -> str:
        """The short form of `log_fields()` for the progress line."""
        return f", enh v{fields['generator_version']} buf {fields['buffer_fill']} fallbacks {fields['fallback_rows']}"

    def eval_text(self) -> str:
        """What an evaluation's line says about the mixer: the share that 'auto' just chose."""
        return f", enhanced p {self.p:.3f}" if self.auto is not None else ""

    def sync(self, device: str, wrote_best: bool, best_path: str) -> None:
        """Under DDP, after rank 0 evaluated: every rank takes rank 0's auto share, and each rank's
        in-process generator follows rank 0's new best.pt (same node; a remote generator was already told
        by rank 0). Called on every rank; one broadcast."""
        import torch.distributed as dist

        flag = torch.tensor([self.p, float(wrote_best)], dtype=torch.float64, device=device)
        dist.broadcast(flag, 0)
        if dist.get_rank() == 0:
            return
        if self.auto is not None:
            self.set_probability(float(flag[0].item()))
        if flag[1].item() and isinstance(self.source, InProcessSource):
            self.source.on_new_best(best_path)

    def filtered(self) -> int:
        """Fragments the in-process generator's quality filter dropped (a generator service reports its
        own count in GetStatus)."""
        return self.source.filtered()

    def close(self) -> None:
        self.source.close()

    def state_dict(self) -> dict:
        state = {"comp_rng": self.comp_gen.get_state(), "p": self.p}
        if self.auto is not None:
            state["auto"] = self.auto.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        if "comp_rng" in state:
            self.comp_gen.set_state(state["comp_rng"])
        if self.auto is not None and "auto" in state:
            self.auto.load_state_dict(state["auto"])
            self.p = float(state.get("p", self.auto.probability))
            self.source.set_needed(self.auto.generator_needed())
