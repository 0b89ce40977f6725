"""Extract a model for inference, and load any model with its tokenizer.

    extract_model_for_inference("runs/enc/best.pt", "models/enc", dtype="bf16")
    model, tokenizer = load_model_and_tokenizer("models/enc")      # or a checkpoint, or a nanoGPT ckpt.pt

An extracted model is a directory: `model.safetensors` (weights only; tied tensors such as the output
head that shares the token embedding are stored once and tied again on load), `config.json`
({"model_type", "model_args", "dtype", "source"}) and `tokenizer.json`. With `nanogpt=True` a GPT is
also written as nanoGPT's `ckpt.pt` (+ `meta.pkl` for a char-level tokenizer), so nanoGPT's own
`sample.py` runs on it (put meta.pkl under nanoGPT's data/<config['dataset']>/).
"""
from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import torch

from moredata.common.atomic import atomic_write_text, atomic_write_with
from moredata.common.checkpoint import load_checkpoint, model_from_checkpoint, tokenizer_from_checkpoint
from moredata.common.errors import InvalidArgument, NotFound
from moredata.common.models import build_model, model_args_of, model_type_for, model_type_of
from moredata.common.tokenizers import CharTokenizer, tokenizer_from_dict

DTYPES = {"fp32": torch.float32, "float32": torch.float32, "fp16": torch.float16, "float16": torch.float16,
          "bf16": torch.bfloat16, "bfloat16": torch.bfloat16}


def _dtype(name: str) -> torch.dtype:
    if name not in DTYPES:
        raise InvalidArgument(f"dtype must be one of fp32, fp16, bf16, got {name!r}")
    return DTYPES[name]


def extract_model_for_inference(model_path: str | Path, output_path: str | Path, device: str | None = None,
                                dtype: str = "fp32", nanogpt: bool = False, dataset: str = "moredata") -> Path:
    """Write `output_path/` (model.safetensors, config.json, tokenizer.json); returns the directory."""
    from safetensors.torch import save_model

    model, tokenizer = load_model_and_tokenizer(model_path, device="cpu")
    out = Path(output_path)
    out.mkdir(parents=True, exist_ok=True)
    model = model.to(_dtype(dtype))
    tmp = out / f".model.safetensors.tmp-{os.getpid()}"
    save_model(model, str(tmp))  # shared tensors (tied heads) are written once and re-tied by load_model
    os.replace(tmp, out / "model.safetensors")
    config = {"model_type": model_type_for(model), "model_args": model_args_of(model),
              "dtype": str(_dtype(dtype)).replace("torch.", ""), "source": str(model_path)}
    atomic_write_text(out / "config.json", json.dumps(config, indent=2) + "\n")
    if tokenizer is not None:
        atomic_write_text(out / "tokenizer.json", json.dumps(tokenizer.to_dict()) + "\n")
    if nanogpt:
        _write_nanogpt(model, tokenizer, out, dataset)
    return out


def _write_nanogpt(model, tokenizer, out: Path, dataset: str) -> None:
    if model_type_for(model) != "decoder_only":
        raise InvalidArgument("only a GPT (decoder_only) can be written as a nanoGPT ckpt.pt")
    state = {k: v.float() for k, v in model.state_dict().items()}
    ckpt = {"model": state, "model_args": model_args_of(model), "iter_num": 0, "best_val_loss": 0.0,
            "config": {"dataset": dataset}}
    atomic_write_with(out / "ckpt.pt", lambda f: torch.save(ckpt, f))
    if isinstance(tokenizer, CharTokenizer):  # nanoGPT's sample.py reads stoi/itos from meta.pkl
        meta = {"vocab_size": tokenizer.vocab_size, "itos": dict(enumerate(tokenizer.chars)),
                "stoi": {c: i for i, c in enumerate(tokenizer.chars)}}
        atomic_write_with(out / "meta.pkl", lambda f: pickle.dump(meta, f))


def _tokenizer_beside(path: Path):
    for name in ("tokenizer.json",):
        p = path / name if path.is_dir() else path.parent / name
        if p.is_file():
            return tokenizer_from_dict(json.loads(p.read_text(encoding="utf-8")))
    meta = (path if path.is_dir() else path.parent) / "meta.pkl"
    if meta.is_file():
        from moredata.trainer.sample import read_nanogpt_meta

        return read_nanogpt_meta(meta)
    return None


def load_model_and_tokenizer(model_path: str | Path, tokenizer_path: str | Path | None = None,
                             device: str | None = None):
    """(model in eval mode, tokenizer or None) from an extracted directory (or its model.safetensors),
    a full checkpoint of any model type, or a nanoGPT ckpt.pt. The tokenizer comes from `tokenizer_path`
    (tokenizer.json or nanoGPT meta.pkl), else the checkpoint, else a tokenizer.json/meta.pkl beside."""
    from moredata.api.training import pick_device

    path = Path(model_path)
    if not path.exists():
        raise NotFound(f"{path} does not exist")
    device = pick_device(device)
    tokenizer = None
    if path.is_dir() or path.suffix == ".safetensors":
        from safetensors.torch import load_model

        folder = path if path.is_dir() else path.parent
        cfg_path = folder / "config.json"
        if not cfg_path.is_file():
            raise InvalidArgument(f"{folder} has no config.json: not an extracted model")
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
        model = build_model(config["model_type"], config["model_args"]).to(_dtype(config.get("dtype", "float32")))
        try:
            load_model(model, str(folder / "model.safetensors" if path.is_dir() else path))
        except (OSError, RuntimeError) as e:
            raise InvalidArgument(f"cannot load {path}: {e}") from None
    else:
        ckpt = load_checkpoint(path)
        model_type_of(ckpt)  # an unknown type fails here with its name
        model = model_from_checkpoint(ckpt)
        tokenizer = tokenizer_from_checkpoint(ckpt)
    if tokenizer_path is not None:
        p = Path(tokenizer_path)
        if p.suffix == ".pkl":
            from moredata.trainer.sample import read_nanogpt_meta

            tokenizer = read_nanogpt_meta(p)
        else:
            tokenizer = tokenizer_from_dict(json.loads(p.read_text(encoding="utf-8")))
    elif tokenizer is None:
        tokenizer = _tokenizer_beside(path)
    return model.to(device).eval(), tokenizer
