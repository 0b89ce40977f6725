"""Checkpoint format: weights plus everything needed to rebuild and resume the model from the file alone.

A checkpoint is a `torch.save`d dict (nanoGPT's keys, plus ours):
    model          state dict (nanoGPT names; `_orig_mod.` prefixes from torch.compile are stripped on load)
    model_args     GPTConfig fields
    iter_num       iteration the weights belong to
    best_val_loss  best validation loss seen so far
    config         the trainer config (plain JSON-able values)
    tokenizer      tokenizer dict (see services.common.tokenizers), None for a bare nanoGPT import
    optimizer      optimizer state dict (absent in inference-only checkpoints)
    trainer_state  RNG states and early-stopping counters, for an exact resume
    format         "moredata.checkpoint.v1"
It is written atomically (temp file + fsync + rename) and loaded with `torch.load(weights_only=True)`,
which only rebuilds tensors and plain containers: a malicious file cannot run code. A nanoGPT `ckpt.pt`
holds nothing else either, so it loads as it is.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from services.common.atomic import atomic_write_with
from services.common.model import GPT, GPTConfig
from services.common.tokenizers import Tokenizer, tokenizer_from_dict

FORMAT = "moredata.checkpoint.v1"
_COMPILE_PREFIX = "_orig_mod."


def save_checkpoint(path: str | os.PathLike, ckpt: dict) -> None:
    """Writes ckpt atomically: a concurrent reader sees the previous file or this one, never a mix."""
    ckpt = {"format": FORMAT, **ckpt}
    atomic_write_with(path, lambda f: torch.save(ckpt, f))


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Loads a checkpoint (ours or nanoGPT's) without unpickling arbitrary objects."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated file, not a checkpoint, or a pickle asking for forbidden globals
        raise ValueError(f"{path} is not a loadable checkpoint: {str(e).splitlines()[0]}") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt or "model_args" not in ckpt:
        raise ValueError(f"{path} is not a checkpoint: expected a dict with 'model' and 'model_args'")
    ckpt["model"] = strip_compile_prefix(ckpt["model"])
    return ckpt


def strip_compile_prefix(state_dict: dict) -> dict:
    """torch.compile'd models save keys as `_orig_mod.<name>`; nanoGPT strips them the same way.

    Also drops `h.N.attn.bias`: the causal-mask buffer nanoGPT registers when flash attention is
    missing (PyTorch < 2.0), which old checkpoints carry and which is not a parameter.
    """
    out = {}
    for k, v in state_dict.items():
        k = k[len(_COMPILE_PREFIX) :] if k.startswith(_COMPILE_PREFIX) else k
        if not k.endswith(".attn.bias"):
            out[k] = v
    return out


def model_from_checkpoint(ckpt: dict, device="cpu") -> GPT:
    model = GPT(GPTConfig.from_dict(dict(ckpt["model_args"])))
    model.load_state_dict(ckpt["model"])
    return model.to(device)


def tokenizer_from_checkpoint(ckpt: dict) -> Tokenizer | None:
    tok = ckpt.get("tokenizer")
    return tokenizer_from_dict(tok) if tok else None


def load_model(path: str | os.PathLike, device="cpu") -> tuple[GPT, Tokenizer | None, dict]:
    """(model in eval mode, tokenizer or None, the checkpoint dict) from a checkpoint file."""
    ckpt = load_checkpoint(path)
    model = model_from_checkpoint(ckpt, device).eval()
    return model, tokenizer_from_checkpoint(ckpt), ckpt


def inference_only(ckpt: dict) -> dict:
    """The checkpoint minus optimizer and resume state: what a generator or a user needs to sample."""
    return {k: v for k, v in ckpt.items() if k not in ("optimizer", "trainer_state")}
