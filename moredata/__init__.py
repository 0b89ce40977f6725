"""moredata: train small language models on more and better data than they have.

    from moredata import Trainer, EncoderOnlyModel, ModelConfig, load_model_and_tokenizer
    from moredata import load_and_split_data, train_tokenizer, create_dataloaders
    from moredata import continue_training, extract_model_for_inference
    from moredata import create_pair_dataloaders, create_seq2seq_dataloaders, Callback, EvalPrediction

The folder is the package: `moredata/training/loop.py` is `moredata.training.loop`. The library holds
everything a user can call without a server (models, training, enhanced data, the data domains, RAG,
gRPC plumbing); the servers stand thin on it in `services/` and the library never imports them. The
README's "Where things live" has the map. The names above load lazily: `import moredata` imports no torch.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "Trainer": "moredata.training.api",
    "continue_training": "moredata.training.api",
    "load_and_split_data": "moredata.data.loaders",
    "train_tokenizer": "moredata.data.loaders",
    "create_dataloaders": "moredata.data.loaders",
    "create_pair_dataloaders": "moredata.data.loaders",
    "create_seq2seq_dataloaders": "moredata.data.loaders",
    "Callback": "moredata.training.callbacks",
    "TrainState": "moredata.training.callbacks",
    "EvalPrediction": "moredata.training.evaluation",
    "extract_model_for_inference": "moredata.models.extract",
    "load_model_and_tokenizer": "moredata.models.loader",
    "EncoderOnlyModel": "moredata.models.encoder_only",
    "EncoderDecoderModel": "moredata.models.transformer",
    "GPT": "moredata.models.decoder_only",
    "ModelConfig": "moredata.models.config",
    "build_model": "moredata.models",
    "read_model": "moredata.models.loader",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'moredata' has no attribute {name!r}")
