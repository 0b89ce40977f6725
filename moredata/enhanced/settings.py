"""The enhanced-generation keys that the trainer's config and the generator service's settings share:
the same names, defaults, descriptions and checks in both, declared once."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from moredata.enhanced.generation_settings import GenerationSettings, bounds_of


class EnhancedGenerationKeys(BaseModel):
    # defaults and bounds: GenerationSettings's (bounds_of), declared once for the worker and both configs
    min_prefix_length: int = Field(**bounds_of("min_prefix_length"),
                                   description="shortest real prefix the generator continues")
    max_prefix_length: int = Field(**bounds_of("max_prefix_length"),
                                   description="longest real prefix (at most the model's block_size)")
    enhanced_generation_temperature: float = Field(**bounds_of("temperature"),
                                                   description="sampling temperature of the generator")
    enhanced_generation_top_k: int = Field(**bounds_of("top_k"),
                                           description="generator samples among the k likeliest tokens")
    enhanced_buffer_size: int = Field(4096, ge=1, description="slots (fragments) in the ring buffer")
    enhanced_generation_batch_size: int = Field(**bounds_of("batch_size"),
                                                description="prefixes continued per generation round")
    enhanced_filter_quantile: float = Field(**bounds_of("filter_quantile"), description="share of generated "
                                            "fragments dropped as the worst by perplexity under the model that "
                                            "wrote them plus a repetition measure; 0: keep all")
    enhanced_generation_models: int = Field(**bounds_of("models"), description="the last N best checkpoints take "
                                            "turns writing rounds, each fragment tagged with its model's version "
                                            "(memory: N inference copies); 1: the newest only")
    enhanced_prefix_schedule: Literal["uniform", "adaptive"] = Field(
        GenerationSettings.model_fields["prefix_schedule"].default, description="prefix lengths: 'uniform' in [min_prefix_length, max_prefix_length]; 'adaptive': "
        "longer real prefixes while the model is weak (the shortest allowed rises with the checkpoint's val loss "
        "as a share of a uniform guess's, ln(vocab)); see fragments.adaptive_min_prefix")

    @model_validator(mode="after")
    def _prefix_order(self):
        if self.min_prefix_length > self.max_prefix_length:
            raise ValueError(f"config key 'min_prefix_length': {self.min_prefix_length} exceeds "
                             f"max_prefix_length ({self.max_prefix_length})")
        return self

    def generation_settings(self, **extra) -> GenerationSettings:
        """The worker's settings from these keys; `extra` adds rate, pause, device and seed."""
        return GenerationSettings(min_prefix_length=self.min_prefix_length, max_prefix_length=self.max_prefix_length,
                                  temperature=self.enhanced_generation_temperature,
                                  top_k=self.enhanced_generation_top_k,
                                  batch_size=self.enhanced_generation_batch_size,
                                  filter_quantile=self.enhanced_filter_quantile,
                                  prefix_schedule=self.enhanced_prefix_schedule,
                                  models=self.enhanced_generation_models, **extra)
