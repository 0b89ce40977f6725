"""decoder_only: the GPT (services/common/model.py), unchanged in behaviour and state-dict names
(nanoGPT's), so nanoGPT checkpoints keep loading. Built from nanoGPT's names or the common ones."""
from __future__ import annotations

from moredata.common.model import GPT, GPTConfig
from moredata.common.models.config import gpt_config

DecoderOnlyModel = GPT
__all__ = ["DecoderOnlyModel", "GPT", "GPTConfig", "gpt_config"]
