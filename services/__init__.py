"""moredata: train small language models on more and better data than they have.

    from moredata import Trainer, EncoderOnlyModel, ModelConfig, load_model_and_tokenizer
    from moredata import load_and_split_data, train_tokenizer, create_dataloaders
    from moredata import continue_training, extract_model_for_inference

The installed package `moredata` is the repository's `services/` folder (setup.py maps the name), so
`moredata.trainer`, `moredata.rag`, `moredata.augment.code` ... are the services' packages. The names
above load lazily: `import moredata` imports neither torch nor any service.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "Trainer": "moredata.api.training",
    "continue_training": "moredata.api.training",
    "load_and_split_data": "moredata.api.data",
    "train_tokenizer": "moredata.api.data",
    "create_dataloaders": "moredata.api.data",
    "extract_model_for_inference": "moredata.api.extract",
    "load_model_and_tokenizer": "moredata.common.model_io",
    "EncoderOnlyModel": "moredata.common.models.encoder_only",
    "EncoderDecoderModel": "moredata.common.models.transformer",
    "GPT": "moredata.common.model",
    "ModelConfig": "moredata.common.models.config",
    "build_model": "moredata.common.models",
    "read_model": "moredata.common.model_io",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'moredata' has no attribute {name!r}")
