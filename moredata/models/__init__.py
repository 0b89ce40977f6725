"""Every model type, one config pattern, one builder.

| model_type     | class                | module           |
|----------------|----------------------|------------------|
| `decoder_only` | `GPT` (nanoGPT's)    | `decoder_only`   |
| `encoder_only` | `EncoderOnlyModel`   | `encoder_only`   |
| `transformer`  | `EncoderDecoderModel`| `transformer`    |
| `pointer`      | `PointerNetwork`     | `pointer`        |

`build_model(model_type, model_args)` accepts nanoGPT's names or the common ones (`ModelConfig`).
A checkpoint without `model_type` is a GPT (every checkpoint written before the other types, and nanoGPT's).
Any other `nn.Module` (a transformers model, your own) trains through the Python Trainer as `module`:
its batches go to `model(**batch)` whole and its output carries the loss (see training.objectives);
such a model is rebuilt by its own code, not from a checkpoint, so `build_model` has no entry for it.
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
    if t == GENERIC:
        cls = (ckpt.get("model_args") or {}).get("class", "a module") if isinstance(ckpt.get("model_args"), dict) \
            else "a module"
        raise InvalidArgument(f"this checkpoint holds the weights of {cls}, which this project cannot rebuild: "
                              f"build the model with its own code and load torch.load(path, weights_only=True)"
                              f"['model'] into it (or pass it to Trainer(...).train(resume=True))")
    if t not in MODEL_TYPES:
        raise InvalidArgument(f"checkpoint model_type {t!r} is not one of {', '.join(MODEL_TYPES)}")
    return t


GENERIC = "module"  # a model this project did not build: trained, checkpointed, never rebuilt from a file


def model_args_of(model) -> dict:
    """The args that rebuild `model` with build_model (GPTConfig or ModelConfig as a dict); for a generic
    module only its class name (its own code rebuilds it)."""
    if model_type_for(model) == GENERIC:
        return {"class": f"{type(model).__module__}.{type(model).__qualname__}"}
    return model.config.to_dict() if hasattr(model.config, "to_dict") else dict(vars(model.config))


def model_type_for(model) -> str:
    """One of MODEL_TYPES for this project's models (the class says which), else `module`. (A model
    without `model_type` used to be taken for a GPT, so a transformers model failed on `block_size`.)"""
    from moredata.models.decoder_only import GPT

    t = getattr(type(model), "model_type", None)
    if isinstance(t, str) and t in MODEL_TYPES:
        return t
    return "decoder_only" if isinstance(model, GPT) else GENERIC


__all__ = ["GENERIC", "MODEL_TYPES", "ModelConfig", "build_model", "model_type_of", "model_args_of", "model_type_for"]
