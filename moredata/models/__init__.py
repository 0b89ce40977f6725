"""Every model type, one config pattern, one builder.

| model_type     | class                | module           |
|----------------|----------------------|------------------|
| `decoder_only` | `GPT` (nanoGPT's)    | `decoder_only`   |
| `encoder_only` | `EncoderOnlyModel`   | `encoder_only`   |
| `transformer`  | `EncoderDecoderModel`| `transformer`    |
| `pointer`      | `PointerNetwork`     | `pointer`        |

`build_model(model_type, model_args)` accepts nanoGPT's names or the common ones (`ModelConfig`).
A checkpoint without `model_type` is a GPT (every checkpoint written before the other types, and nanoGPT's).
"""
from __future__ import annotations

from moredata.errors import InvalidArgument
from moredata.models.config import MODEL_TYPES, ModelConfig, gpt_config


def build_model(model_type: str, model_args: dict):
    if model_type == "decoder_only":
        from moredata.models.decoder_only import GPT

        return GPT(gpt_config(model_args))
    if model_type == "encoder_only":
        from moredata.models.encoder_only import EncoderOnlyModel

        return EncoderOnlyModel(ModelConfig.from_dict(model_args))
    if model_type == "transformer":
        from moredata.models.transformer import EncoderDecoderModel

        return EncoderDecoderModel(ModelConfig.from_dict(model_args))
    if model_type == "pointer":
        from moredata.models.pointer import PointerConfig, PointerNetwork

        return PointerNetwork(PointerConfig.from_dict(model_args))
    raise InvalidArgument(f"unknown model_type {model_type!r}; known: {', '.join(MODEL_TYPES)}")


def model_type_of(ckpt: dict) -> str:
    t = ckpt.get("model_type", "decoder_only")
    if t not in MODEL_TYPES:
        raise InvalidArgument(f"checkpoint model_type {t!r} is not one of {', '.join(MODEL_TYPES)}")
    return t


def model_args_of(model) -> dict:
    """The args that rebuild `model` with build_model (GPTConfig or ModelConfig as a dict)."""
    return model.config.to_dict() if hasattr(model.config, "to_dict") else dict(vars(model.config))


def model_type_for(model) -> str:
    return getattr(model, "model_type", "decoder_only")


__all__ = ["MODEL_TYPES", "ModelConfig", "build_model", "model_type_of", "model_args_of", "model_type_for"]
