"""The generation worker's settings, kept free of torch: config and settings modules import them, and
`moredata-train --help` or a config error must answer without loading torch."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class GenerationSettings:
    min_prefix_length: int = 1
    max_prefix_length: int = 64
    temperature: float = 1.0
    top_k: int | None = None
    batch_size: int = 16  # prefixes continued per round (enhanced_generation_batch_size)
    fragments_per_sequence: int = 1
    target_rate: float = 0.0  # fragments/s to aim for; 0 = as fast as possible
    pause_when_full: bool = False  # stop generating while every slot holds the current version
    filter_quantile: float = 0.0  # share of fragments dropped as the worst (NLL + repetition); 0: off
    models: int = 1  # the last few best checkpoints that take turns writing (enhanced_generation_models)
    prefix_schedule: str = "uniform"  # or "adaptive": longer prefixes while the model is weak
    device: str = "cpu"
    seed: int = 0

    def validate(self, block_size: int) -> None:
        if self.min_prefix_length < 1:
            raise ValueError(f"min_prefix_length must be >= 1, got {self.min_prefix_length}")
        if self.min_prefix_length > self.max_prefix_length:
            raise ValueError(f"min_prefix_length ({self.min_prefix_length}) exceeds max_prefix_length "
                             f"({self.max_prefix_length})")
        if self.max_prefix_length > block_size:
            raise ValueError(f"max_prefix_length ({self.max_prefix_length}) exceeds the model's block_size "
                             f"({block_size})")
        if self.temperature <= 0:
            raise ValueError(f"enhanced_generation_temperature must be > 0, got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"enhanced_generation_top_k must be >= 1, got {self.top_k}")
        if not 0.0 <= self.filter_quantile < 1.0:
            raise ValueError(f"enhanced_filter_quantile must be in [0, 1), got {self.filter_quantile}")
        if self.prefix_schedule not in ("uniform", "adaptive"):
            raise ValueError(f"enhanced_prefix_schedule must be 'uniform' or 'adaptive', got {self.prefix_schedule!r}")
        if self.models < 1:
            raise ValueError(f"enhanced_generation_models must be >= 1, got {self.models}")
        if self.batch_size < 1:
            raise ValueError(f"enhanced_generation_batch_size must be >= 1, got {self.batch_size}")
