"""AugmentationConfig: the JSON shape users write, validated, with the offending key named.

    {"augmentation": {"enabled": true,
      "noise": {"enabled": true, "probability": 0.5, "level_min": 0.01, "level_max": 0.1},
      "gain": {"enabled": true, "probability": 0.5, "scale_min": 0.8, "scale_max": 1.2},
      "channel_dropout": {"enabled": false, "probability": 0.2, "dropout_rate": 0.1},
      "spec_augment": {"enabled": true, "probability": 0.5, "freq_masks": 2, "freq_width": 8,
                       "time_masks": 2, "time_width": 20},
      "crop": {"enabled": false, "probability": 0.3, "min_len": 50, "max_len": 400},
      "chunk_shuffle": {"enabled": false, "probability": 0.3, "chunk_size": 25},
      "concatenation": {"enabled": false, "probability": 0.2}}}

Optional extra keys: noise.independent, gain.independent, spec_augment.time_mask_mode
("same_positions" | "consistent"), spec_augment.max_time_fraction, spec_augment.mask_value and
channel_dropout.mask_value (a number, or null for the raw mel's mean), crop.context,
concatenation.max_frames, and at the top level warmup_epochs and probability_decay.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from moredata.errors import InvalidArgument
from moredata.settings import first_error

SHIPPED = Path(__file__).parent / "configs"


class _Strict(BaseModel):
    # NaN and Infinity are refused (JSON allows neither, Python's json reads both); every count and width
    # below has an upper bound, so a 100-byte config cannot ask for 10**7 masks or overflow an int64
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


MAX_FRAMES = 10_000_000  # bound of every frame count and width (hours of audio at 22.05 kHz / 256)
MAX_LEVEL = 1e3  # bound of noise levels, gains and mask values: log-mel values live within about +-30


def _ordered(model, lo: str, hi: str):
    """A range's lower bound must not exceed its upper bound."""
    if getattr(model, lo) > getattr(model, hi):
        raise InvalidArgument(f"{lo} ({getattr(model, lo)}) exceeds {hi} ({getattr(model, hi)})")
    return model


class _Transform(_Strict):
    enabled: bool = False
    probability: float = Field(0.5, ge=0.0, le=1.0)


class Noise(_Transform):
    level_min: float = Field(0.01, ge=0.0, le=MAX_LEVEL)
    level_max: float = Field(0.1, ge=0.0, le=MAX_LEVEL)
    independent: bool = False  # independent noise for raw and edit (breaks the copy identity on purpose)

    @model_validator(mode="after")
    def _order(self):
        return _ordered(self, "level_min", "level_max")


class Gain(_Transform):
    scale_min: float = Field(0.8, gt=0.0, le=MAX_LEVEL)
    scale_max: float = Field(1.2, gt=0.0, le=MAX_LEVEL)
    independent: bool = False

    @model_validator(mode="after")
    def _order(self):
        return _ordered(self, "scale_min", "scale_max")


class ChannelDropout(_Transform):
    dropout_rate: float = Field(0.1, ge=0.0, lt=1.0)
    mask_value: float | None = Field(None, ge=-MAX_LEVEL, le=MAX_LEVEL)  # what dropped channels hold; None: the raw mel's mean


class SpecAugment(_Transform):
    freq_masks: int = Field(2, ge=0, le=1024)
    freq_width: int = Field(8, ge=0, le=MAX_FRAMES)
    time_masks: int = Field(2, ge=0, le=1024)
    time_width: int = Field(20, ge=0, le=MAX_FRAMES)
    time_mask_mode: Literal["same_positions", "consistent"] = "same_positions"
    max_time_fraction: float = Field(0.2, gt=0.0, le=1.0)
    mask_value: float | None = Field(None, ge=-MAX_LEVEL, le=MAX_LEVEL)  # None: the raw mel's mean (neutral for log mels)


class Crop(_Transform):
    min_len: int = Field(50, ge=1, le=MAX_FRAMES)
    max_len: int = Field(400, ge=1, le=MAX_FRAMES)
    context: int = Field(0, ge=0, le=MAX_FRAMES)

    @model_validator(mode="after")
    def _order(self):
        return _ordered(self, "min_len", "max_len")


class ChunkShuffle(_Transform):
    chunk_size: int = Field(25, ge=1, le=MAX_FRAMES)


class Concatenation(_Transform):
    max_frames: int = Field(200_000, ge=1, le=MAX_FRAMES)


class Augmentation(_Strict):
    enabled: bool = True
    noise: Noise = Noise()
    gain: Gain = Gain()
    channel_dropout: ChannelDropout = ChannelDropout()
    spec_augment: SpecAugment = SpecAugment()
    crop: Crop = Crop()
    chunk_shuffle: ChunkShuffle = ChunkShuffle()
    concatenation: Concatenation = Concatenation()
    warmup_epochs: int = Field(0, ge=0, le=10**9)  # no augmentation before this epoch
    probability_decay: float = Field(1.0, gt=0.0, le=1.0)  # each probability *= decay**(epochs after warm-up)


class AugmentationConfig(_Strict):
    augmentation: Augmentation = Augmentation()

    @classmethod
    def from_json(cls, text: str) -> "AugmentationConfig":
        try:
            return cls.model_validate(json.loads(text))
        except json.JSONDecodeError as e:
            raise InvalidArgument(f"augmentation config is not valid JSON: {e}") from None
        except RecursionError:
            raise InvalidArgument("augmentation config is nested too deeply") from None
        except ValidationError as e:
            key, msg, _ = first_error(e)
            raise InvalidArgument(f"augmentation config key '{key}': {msg}") from None

    @classmethod
    def from_name_or_file(cls, name: str) -> "AugmentationConfig":
        """A JSON file, or a shipped config by name: `safe` (noise, gain and SpecAugment, which move no
        pointer: the augment service's default) or `none` (every transform off, the library default)."""
        if name == "none":
            return cls()
        if not Path(name).is_file() and (SHIPPED / f"{name}.json").is_file():
            return cls.from_file(SHIPPED / f"{name}.json")
        if not Path(name).is_file():
            known = ", ".join(["none", *sorted(p.stem for p in SHIPPED.glob("*.json"))])
            raise FileNotFoundError(f"augmentation config file not found: {name} (shipped configs: {known})")
        return cls.from_file(name)

    @classmethod
    def from_file(cls, path: str | Path) -> "AugmentationConfig":
        if not Path(path).is_file():
            raise FileNotFoundError(f"augmentation config file not found: {path}")
        return cls.from_json(Path(path).read_text(encoding="utf-8"))
