"""Reading any model file: a checkpoint of any type, a nanoGPT ckpt.pt, or an extracted model directory.

`read_model(path)` gives a checkpoint dict whatever the format; `load_model_and_tokenizer(path)` builds
the model (sizes checked against the weights first, see checkpoint.model_from_checkpoint) and finds its
tokenizer. The Python API, the RAG service and the generator all load through these.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from moredata.data.nanogpt_meta import read_nanogpt_meta
from moredata.data.tokenizers import tokenizer_from_dict
from moredata.errors import InvalidArgument, NotFound
from moredata.models import build_model, model_type_of
from moredata.models.checkpoint import load_checkpoint, model_from_checkpoint, tokenizer_from_checkpoint
from moredata.models.config import with_saved_recipe

DTYPES = {"fp32": torch.float32, "float32": torch.float32, "fp16": torch.float16, "float16": torch.float16,
          "bf16": torch.bfloat16, "bfloat16": torch.bfloat16}


def dtype_of(name: str) -> torch.dtype:
    if name not in DTYPES:
        raise InvalidArgument(f"dtype must be one of fp32, fp16, bf16, got {name!r}")
    return DTYPES[name]


def pick_device(device: str | None = None) -> str:
    """cuda, then mps, then cpu, unless one is named."""
    if device and device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def _tokenizer_beside(path: Path):
    folder = path if path.is_dir() else path.parent
    if (folder / "tokenizer.json").is_file():
        return tokenizer_from_dict(json.loads((folder / "tokenizer.json").read_text(encoding="utf-8")))
    meta = folder / "meta.pkl"
    if meta.is_file():
        return read_nanogpt_meta(meta)
    return None


def read_model(model_path: str | Path) -> dict:
    """Any model file as a checkpoint dict ({"model", "model_type", "model_args", "tokenizer", ...}): a full
    checkpoint or nanoGPT ckpt.pt as it is (read with weights_only), an extracted directory (or its
    model.safetensors) rebuilt from config.json with its tied tensors restored and tokenizer.json read.
    The one reader behind load_model_and_tokenizer, the RAG service and the generator."""
    path = Path(model_path)
    if not path.exists():
        raise NotFound(f"{path} does not exist")
    if not (path.is_dir() or path.suffix == ".safetensors"):
        ckpt = load_checkpoint(path)
        model_type_of(ckpt)  # an unknown type fails here with its name
        return ckpt
    from safetensors.torch import load_model

    folder = path if path.is_dir() else path.parent
    cfg_path = folder / "config.json"
    if not cfg_path.is_file():
        raise InvalidArgument(f"{folder} has no config.json: not an extracted model (nor a checkpoint file)")
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
        model_type, args = config["model_type"], with_saved_recipe(config["model_type"], config["model_args"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InvalidArgument(f"{cfg_path} is not an extracted model's config: {e}") from None
    with torch.device("meta"):
        build_model(model_type, args)  # bad args fail before anything is allocated
    model = build_model(model_type, args).to(dtype_of(config.get("dtype", "float32")))
    try:
        load_model(model, str(folder / "model.safetensors" if path.is_dir() else path))
    except (OSError, RuntimeError) as e:
        raise InvalidArgument(f"cannot load {path}: {e}") from None
    tok = folder / "tokenizer.json"
    return {"model": model.state_dict(), "model_type": model_type, "model_args": args, "iter_num": 0,
            "best_val_loss": float("nan"), "config": {"source": config.get("source")},
            "tokenizer": json.loads(tok.read_text(encoding="utf-8")) if tok.is_file() else None}


def load_model_and_tokenizer(model_path: str | Path, tokenizer_path: str | Path | None = None,
                             device: str | None = None, max_bytes: int | None = None):
    """(model in eval mode, tokenizer or None) from an extracted directory (or its model.safetensors),
    a full checkpoint of any model type, or a nanoGPT ckpt.pt. The tokenizer comes from `tokenizer_path`
    (tokenizer.json or nanoGPT meta.pkl), else the model file, else a tokenizer.json/meta.pkl beside it."""
    path = Path(model_path)
    ckpt = read_model(path)
    model = model_from_checkpoint(ckpt, max_bytes=max_bytes)
    stored = next((t.dtype for t in ckpt["model"].values() if torch.is_tensor(t) and t.is_floating_point()), None)
    if stored is not None and stored != torch.float32:
        model = model.to(stored)  # an fp16/bf16 extraction stays in its dtype (half the memory)
    tokenizer = tokenizer_from_checkpoint(ckpt)
    if tokenizer_path is not None:
        p = Path(tokenizer_path)
        if p.suffix == ".pkl":
            tokenizer = read_nanogpt_meta(p)
        else:
            tokenizer = tokenizer_from_dict(json.loads(p.read_text(encoding="utf-8")))
    elif tokenizer is None:
        tokenizer = _tokenizer_beside(path)
    return model.to(pick_device(device)).eval(), tokenizer
