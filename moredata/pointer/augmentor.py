"""Augmentor: applies the configured transforms by probability, reproducibly under a seed.

    aug = Augmentor(AugmentationConfig.from_file("augment.json"))
    sample, applied = aug(sample, seed=1234, epoch=3)        # applied: [{"name": ..., **what it did}]

Order: the pointer-aware transforms first (crop, chunk shuffle, concatenation with `partner`), then the
safe ones (SpecAugment, channel dropout, gain, noise), so masks and noise land on the final frames.
"""
from __future__ import annotations

import numpy as np

from moredata.pointer import transforms as T
from moredata.pointer.config import AugmentationConfig


class Augmentor:
    def __init__(self, config: AugmentationConfig | None = None):
        self.config = config or AugmentationConfig()

    def probability_scale(self, epoch: int) -> float:
        a = self.config.augmentation
        if not a.enabled or epoch < a.warmup_epochs:
            return 0.0
        return a.probability_decay ** (epoch - a.warmup_epochs)

    def __call__(self, sample: T.PointerSample, seed: int, epoch: int = 0,
                 partner: T.PointerSample | None = None,
                 max_frames: int | None = None) -> tuple[T.PointerSample, list[dict]]:
        """max_frames: a cap on concatenation's length besides the config's (the service's limit)."""
        sample.validate()
        a = self.config.augmentation
        rng = np.random.default_rng(seed)
        scale = self.probability_scale(epoch)
        applied: list[dict] = []
        concat_limit = min(a.concatenation.max_frames, max_frames or a.concatenation.max_frames)

        def use(t) -> bool:
            # one draw per transform whether or not it is enabled, so enabling one keeps the others' draws
            return bool(rng.random() < t.probability * scale) and t.enabled

        steps = [
            ("crop", a.crop, lambda s: T.crop(s, rng, a.crop.min_len, a.crop.max_len, a.crop.context)),
            ("chunk_shuffle", a.chunk_shuffle, lambda s: T.chunk_shuffle(s, rng, a.chunk_shuffle.chunk_size)),
            ("concatenation", a.concatenation,
             lambda s: T.concatenate(s, partner, concat_limit) if partner is not None else (s, None)),
            ("spec_augment", a.spec_augment,
             lambda s: T.spec_augment(s, rng, a.spec_augment.freq_masks, a.spec_augment.freq_width,
                                      a.spec_augment.time_masks, a.spec_augment.time_width,
                                      a.spec_augment.max_time_fraction, a.spec_augment.time_mask_mode,
                                      a.spec_augment.mask_value)),
            ("channel_dropout", a.channel_dropout, lambda s: T.channel_dropout(s, rng, a.channel_dropout.dropout_rate,
                                                                          a.channel_dropout.mask_value)),
            ("gain", a.gain, lambda s: T.scale_gain(s, rng, a.gain.scale_min, a.gain.scale_max, a.gain.independent)),
            ("noise", a.noise, lambda s: T.add_noise(s, rng, a.noise.level_min, a.noise.level_max,
                                                     a.noise.independent)),
        ]
        for name, cfg, fn in steps:
            if use(cfg):
                sample, info = fn(sample)
                if info is not None:
                    applied.append({"name": name, **info})
        return finite(sample, applied)


def finite(sample: T.PointerSample, applied: list[dict]) -> tuple[T.PointerSample, list[dict]]:
    """Outputs stay finite: a gain of 1.2 on a (finite) 3e38 overflows float32 to inf, which every
    consumer (and this service, as input) refuses. Such cells are clipped to the largest float32, and
    `applied` says how many were."""
    if np.isfinite(sample.raw).all() and np.isfinite(sample.edit).all():
        return sample, applied
    limit = float(np.finfo(np.float32).max)
    fixed = [np.nan_to_num(a, nan=0.0, posinf=limit, neginf=-limit) for a in (sample.raw, sample.edit)]
    n = int(sum((~np.isfinite(a)).sum() for a in (sample.raw, sample.edit)))
    return T.PointerSample(fixed[0], fixed[1], sample.pointers), applied + [{"name": "clip", "cells": n}]
