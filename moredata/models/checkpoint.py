"""Checkpoint format: weights plus everything needed to rebuild and resume the model from the file alone.

A checkpoint is a `torch.save`d dict (nanoGPT's keys, plus ours):
    model          state dict (nanoGPT names; `_orig_mod.` prefixes from torch.compile are stripped on load)
    model_args     GPTConfig fields
    iter_num       iteration the weights belong to
    best_val_loss  best validation loss seen so far
    config         the trainer config (plain JSON-able values)
    tokenizer      tokenizer dict (see moredata.data.tokenizers), None for a bare nanoGPT import
    optimizer      optimizer state dict (absent in inference-only checkpoints)
    trainer_state  RNG states and early-stopping counters, for an exact resume
    format         "moredata.checkpoint.v1"
It is written atomically (temp file + fsync + rename) and loaded with `torch.load(weights_only=True)`,
which only rebuilds tensors and plain containers: a malicious file cannot run code. A nanoGPT `ckpt.pt`
holds nothing else either, so it loads as it is.

What a file may make us allocate is bounded by its size on disk, not by what it declares: torch.save
writes a zip archive whose entries are stored uncompressed, so an archive with a compressed entry (a
3 MB file that inflates to gigabytes) is refused from its directory before any entry is read, and the
archive is then memory-mapped (`torch.load(mmap=True)`): a tensor is read only when something uses it,
so entries the model does not name (an extra "junk" tensor) are never read at all.
"""
from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path

import torch

from moredata.atomic import atomic_write_with
from moredata.data.tokenizers import Tokenizer, tokenizer_from_dict
from moredata.errors import InvalidArgument, NotFound, ResourceExhausted
from moredata.models.decoder_only import GPT, GPTConfig

FORMAT = "moredata.checkpoint.v1"
_COMPILE_PREFIX = "_orig_mod."


def save_checkpoint(path: str | os.PathLike, ckpt: dict) -> None:
    """Writes ckpt atomically: a concurrent reader sees the previous file or this one, never a mix."""
    ckpt = {"format": FORMAT, **ckpt}
    atomic_write_with(path, lambda f: torch.save(ckpt, f))


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Loads a checkpoint (ours or nanoGPT's) without unpickling arbitrary objects."""
    path = Path(path)
    try:
        if path.is_dir():
            raise InvalidArgument(f"{path} is a directory, not a checkpoint file")
        if not path.is_file():
            raise NotFound(f"checkpoint not found: {path}")
        if path.stat().st_size == 0:
            raise InvalidArgument(f"{path} is empty, not a checkpoint")
    except OSError as e:  # a symlink loop, a name too long: the path itself is wrong
        raise InvalidArgument(f"checkpoint path {str(path)[:200]!r}: {e.strerror}") from None
    mapped = is_stored_archive(path) and map_location == "cpu"
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True, mmap=mapped)
    except Exception:  # truncated file, not a checkpoint, or a pickle asking for forbidden globals
        # torch's own message suggests weights_only=False: wrong and dangerous advice for such a file
        raise InvalidArgument(f"{path} is not a PyTorch checkpoint (or it is truncated or holds objects "
                              f"other than tensors and plain containers)") from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("model"), dict) or "model_args" not in ckpt:
        raise InvalidArgument(f"{path} is not a checkpoint: expected a dict with 'model' and 'model_args'")
    ckpt["model"] = strip_compile_prefix(ckpt["model"])
    return ckpt


def is_stored_archive(path: Path) -> bool:
    """True for a zip archive (torch.save's format since 1.6) whose every entry is stored as it is, False
    for the legacy format (one pickle stream, read as it is: its size on disk is what it holds). A
    compressed entry, or one whose header declares another size than it stores, is refused by name."""
    try:
        with zipfile.ZipFile(path) as archive:  # reads only the archive's directory
            entries = archive.infolist()
    except zipfile.BadZipFile:
        return False  # no zip directory: the legacy format (or not a checkpoint: torch.load says so)
    except (OSError, ValueError) as e:
        raise InvalidArgument(f"{path} is not a readable checkpoint archive: {e}") from None
    for info in entries:
        if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
            raise InvalidArgument(
                f"{path}: archive entry {info.filename!r} is compressed ({info.compress_size:,} bytes that "
                f"declare {info.file_size:,}): torch.save stores every entry as it is, so the file is refused "
                f"before anything is inflated")
    return True


_REQUIRED_ARGS = ("block_size", "vocab_size", "n_layer", "n_head", "n_embd")


def check_model_args(args) -> GPTConfig:
    """A GPTConfig from checkpoint `model_args`, every value of the right type and range."""
    if not isinstance(args, dict):
        raise InvalidArgument(f"model_args must be a dict, got {type(args).__name__}")
    missing = [k for k in _REQUIRED_ARGS if k not in args]
    if missing:
        raise InvalidArgument(f"model_args lacks {', '.join(missing)}")
    for k in _REQUIRED_ARGS:
        v = args[k]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InvalidArgument(f"model_args {k} must be a positive integer, got {v!r}")
    if "bias" in args and not isinstance(args["bias"], bool):
        raise InvalidArgument(f"model_args bias must be true or false, got {args['bias']!r}")
    dropout = args.get("dropout", 0.0)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise InvalidArgument(f"model_args dropout must be a number in [0, 1), got {dropout!r}")
    if args["n_embd"] % args["n_head"]:
        raise InvalidArgument(f"model_args n_head ({args['n_head']}) does not divide n_embd ({args['n_embd']})")
    try:
        return GPTConfig.from_dict(dict(args))
    except ValueError as e:
        raise InvalidArgument(str(e)) from None


def check_weights(config: GPTConfig, state_dict: dict, max_bytes: int | None = None) -> None:
    """The declared config against the tensors actually in the file, before anything is allocated:
    same layer count, same names, same shapes; then the float32 size against `max_bytes`. A file of a
    few MB that declares a 4M-token vocabulary is refused here, not after gigabytes are allocated."""
    for k, v in state_dict.items():
        if not isinstance(v, torch.Tensor):
            raise InvalidArgument(f"weights entry {k!r} is not a tensor")
    layers = {k.split(".")[2] for k in state_dict if k.startswith("transformer.h.")}
    if len(layers) != config.n_layer:
        raise InvalidArgument(f"model_args declares n_layer {config.n_layer}, the weights hold {len(layers)} layers")
    expected = meta_shapes(lambda: GPT(config), config.to_dict())
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    if missing or unexpected:
        raise InvalidArgument(f"weights do not match model_args: missing {missing[:3]}, unexpected {unexpected[:3]}")
    for k, shape in expected.items():
        if tuple(state_dict[k].shape) != shape:
            raise InvalidArgument(f"weights do not match model_args: {k} has shape {tuple(state_dict[k].shape)}, "
                                  f"model_args imply {shape}")
    check_finite(state_dict)
    if max_bytes is not None:
        need = 4 * sum(math.prod(s) for k, s in expected.items() if k != "lm_head.weight")  # lm_head is tied
        if need > max_bytes:
            raise ResourceExhausted(f"the model needs {need / 2**20:.1f} MiB, over the {max_bytes / 2**20:.1f} MiB "
                                    f"bound (max_model_mb)")


def check_finite(state_dict: dict) -> None:
    """Every floating-point weight finite: a model with NaN or inf weights generates nothing but token 0
    (a run that diverged, or a damaged file). InvalidArgument naming the first such tensor."""
    for k, v in state_dict.items():
        if isinstance(v, torch.Tensor) and v.is_floating_point() and not torch.isfinite(v).all():
            bad = int((~torch.isfinite(v)).sum())
            raise InvalidArgument(f"weights entry {k!r} holds {bad:,} non-finite values (NaN or inf) of "
                                  f"{v.numel():,}: the run that wrote it diverged, or the file is damaged")


def meta_shapes(build, args: dict) -> dict[str, tuple[int, ...]]:
    """{name: shape} of the model `build()` makes, built on the meta device (shapes only, no memory,
    whatever the config declares). Sizes whose storage would overflow an int64 (n_embd=2**62) are the
    file's fault: InvalidArgument naming the model_args, not an INTERNAL from deep inside torch."""
    try:
        with torch.device("meta"):
            return {k: tuple(v.shape) for k, v in build().state_dict().items()}
    except (RuntimeError, OverflowError) as e:
        sizes = ", ".join(f"{k}={v}" for k, v in args.items() if isinstance(v, int) and not isinstance(v, bool))
        raise InvalidArgument(f"model_args ({sizes}) imply tensors too large to build: "
                              f"{str(e).splitlines()[0][:120]}") from None


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


def model_from_checkpoint(ckpt: dict, device="cpu", max_bytes: int | None = None) -> GPT:
    """The model of a loaded checkpoint; its declared sizes are checked against its weights (and
    `max_bytes`) before the model is built, so a lying or oversized file fails fast (InvalidArgument,
    ResourceExhausted) instead of allocating what it declares."""
    from moredata.models import model_type_of

    model_type = model_type_of(ckpt)
    if model_type == "decoder_only":
        config = check_model_args(ckpt["model_args"])
        check_weights(config, ckpt["model"], max_bytes)
        model = GPT(config)
        model.load_state_dict(ckpt["model"])
        return model.to(device)
    return _load_other(model_type, ckpt, max_bytes).to(device)


def _load_other(model_type: str, ckpt: dict, max_bytes: int | None):
    """An encoder or encoder-decoder: every tensor's shape checked against a model built on the meta
    device (no memory) before the real one is allocated."""
    from moredata.models import build_model
    from moredata.models.config import with_saved_recipe

    args = ckpt["model_args"]
    if not isinstance(args, dict):
        raise InvalidArgument(f"model_args must be a dict, got {type(args).__name__}")
    args = with_saved_recipe(model_type, args)
    state = ckpt["model"]
    if max_bytes is not None:
        total = sum(t.numel() * t.element_size() for t in state.values() if isinstance(t, torch.Tensor))
        if total > max_bytes:
            raise ResourceExhausted(f"the model's weights take {total / 2**20:.1f} MB, more than the "
                                    f"{max_bytes / 2**20:.1f} MB allowed")
    mismatch = shape_mismatch(meta_shapes(lambda: build_model(model_type, args), args), state)
    if mismatch:
        raise InvalidArgument(f"{model_type} weights do not match model_args: {mismatch}")
    check_finite(state)
    model = build_model(model_type, args)
    model.load_state_dict(state)
    return model


def shape_mismatch(expected: dict[str, tuple[int, ...]], state: dict) -> str | None:
    """None when `state`'s tensors have exactly the names and shapes of `expected`, else what differs:
    "missing [...], unexpected [...], wrong shapes [...]" (three names of each at most)."""
    got = {k: tuple(v.shape) for k, v in state.items() if isinstance(v, torch.Tensor)}
    if expected == got:
        return None
    missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    wrong = sorted(k for k in set(expected) & set(got) if expected[k] != got[k])
    return f"missing {missing[:3]}, unexpected {extra[:3]}, wrong shapes {wrong[:3]}"


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
