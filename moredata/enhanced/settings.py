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

    # pacing (moredata/enhanced/pacing.py): how much is written, sized by the demand, in a share of the time
    enhanced_generation_reuse: float = Field(2.0, ge=1.0, description="while rows are drawn, write one fragment "
                                             "per this many drawn (each fragment drawn this often on average)")
    enhanced_generation_share: float = Field(0.05, gt=0.0, le=1.0, description="the most of the wall time the "
                                             "generator is busy while rows are drawn (it shares the trainer's "
                                             "cores or GPU); 1: no limit")
    enhanced_generation_idle_share: float = Field(0.02, gt=0.0, le=1.0, description="the same while no row is "
                                                  "drawn (p = 0): it only keeps the reserve fresh")
    enhanced_generation_reserve: int = Field(0, ge=0, description="fragments of the newest model kept ready "
                                             "while no row is drawn; 0: trainer: what the first evaluation "
                                             "interval at the highest p draws, generator service: a quarter "
                                             "of the ring")
    enhanced_generation_niceness: int = Field(10, ge=0, le=19, description="Linux nice value of the generation "
                                              "thread alone (and the math threads it starts): it yields the "
                                              "cores it shares with training or serving; 0: equal priority")
    enhanced_generation_max_batch: int = Field(256, ge=1, description="the largest round the batch grows to "
                                               "while the share holds production below the demand and a "
                                               "bigger round writes more per second (a GPU)")

    @model_validator(mode="after")
    def _prefix_order(self):
        if self.min_prefix_length > self.max_prefix_length:
            raise ValueError(f"config key 'min_prefix_length': {self.min_prefix_length} exceeds "
                             f"max_prefix_length ({self.max_prefix_length})")
        return self

    def pacing_settings(self, reserve: int, rate_cap: float = 0.0):
        """The pacer's settings from these keys; `reserve`: the caller's default when the key is 0."""
        from moredata.enhanced.pacing import PacingSettings

        return PacingSettings(reuse=self.enhanced_generation_reuse, share=self.enhanced_generation_share,
                              idle_share=self.enhanced_generation_idle_share,
                              reserve=min(self.enhanced_buffer_size, self.enhanced_generation_reserve or reserve),
                              max_batch=max(self.enhanced_generation_batch_size, self.enhanced_generation_max_batch),
                              rate_cap=rate_cap)

    def generation_settings(self, **extra) -> GenerationSettings:
        """The worker's settings from these keys; `extra` adds rate, pause, device and seed."""
        return GenerationSettings(min_prefix_length=self.min_prefix_length, max_prefix_length=self.max_prefix_length,
                                  temperature=self.enhanced_generation_temperature,
                                  top_k=self.enhanced_generation_top_k,
                                  batch_size=self.enhanced_generation_batch_size,
                                  filter_quantile=self.enhanced_filter_quantile,
                                  prefix_schedule=self.enhanced_prefix_schedule,
                                  models=self.enhanced_generation_models,
                                  niceness=self.enhanced_generation_niceness, **extra)
