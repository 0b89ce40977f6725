"""The generation worker's settings: the one place where the generation keys' defaults and bounds live.
The trainer's config and the generator service's settings (enhanced/settings.py) take theirs from here.
Kept free of torch: config and settings modules import it, and `moredata-train --help` or a config error
must answer without loading torch."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class GenerationSettings(BaseModel):
    """Checked when made (a bad value raises pydantic's ValidationError, a ValueError, naming the field);
    `validate(block_size)` adds what depends on the model."""
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    min_prefix_length: int = Field(8, ge=1)
    max_prefix_length: int = Field(64, ge=1)
    temperature: float = Field(1.0, gt=0.0)
    top_k: int | None = Field(200, ge=1)
    batch_size: int = Field(16, ge=1)  # prefixes continued per round (enhanced_generation_batch_size)
    fragments_per_sequence: int = Field(1, ge=1)
    target_rate: float = Field(0.0, ge=0.0)  # fragments/s to aim for; 0 = as fast as possible
    pause_when_full: bool = False  # stop generating while every slot holds the current version
    niceness: int = Field(0, ge=0, le=19)  # the worker thread's (and its math threads') CPU priority, Linux nice
    filter_quantile: float = Field(0.0, ge=0.0, lt=1.0)  # share of fragments dropped as the worst; 0: off
    models: int = Field(1, ge=1, le=8)  # the last few best checkpoints that take turns writing rounds
    prefix_schedule: Literal["uniform", "adaptive"] = "uniform"  # adaptive: longer prefixes while the model is weak
    device: str = "cpu"
    seed: int = 0

    def validate(self, block_size: int) -> None:
        if self.min_prefix_length > self.max_prefix_length:
            raise ValueError(f"min_prefix_length ({self.min_prefix_length}) exceeds max_prefix_length "
                             f"({self.max_prefix_length})")
        if self.max_prefix_length > block_size:
            raise ValueError(f"max_prefix_length ({self.max_prefix_length}) exceeds the model's block_size "
                             f"({block_size})")


def bounds_of(name: str) -> dict:
    """The default and the numeric bounds of a GenerationSettings field, as `Field(**bounds_of(name))`
    takes them: the config keys that set a field share its default and bounds instead of repeating them."""
    info = GenerationSettings.model_fields[name]
    out = {"default": info.default}
    for m in info.metadata:
        for key in ("ge", "gt", "le", "lt"):
            if getattr(m, key, None) is not None:
                out[key] = getattr(m, key)
    return out
