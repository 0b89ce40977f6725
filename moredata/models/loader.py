"""Reading any model file: a checkpoint of any type, a nanoGPT ckpt.pt, or an extracted model directory.

`read_model(path)` gives a checkpoint dict whatever the format; `load_model_and_tokenizer(path)` builds
the model (sizes checked against the weights first, see checkpoint.model_from_checkpoint) and finds its
tokenizer. The Python API, the RAG service and the generator all load through these.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from moredata.data.nanogpt_meta import read_nanogpt_meta
from moredata.data.tokenizers import tokenizer_from_dict
from moredata.errors import InvalidArgument, NotFound, ResourceExhausted
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


def read_model(model_path: str | Path, max_bytes: int | None = None) -> dict:
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
    folder = path if path.is_dir() else path.parent
    cfg_path = folder / "config.json"
    if not cfg_path.is_file():
        raise InvalidArgument(f"{folder} has no config.json: not an extracted model (nor a checkpoint file)")
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
        model_type, args = config["model_type"], with_saved_recipe(config["model_type"], config["model_args"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InvalidArgument(f"{cfg_path} is not an extracted model's config: {e}") from None
    weights = folder / "model.safetensors" if path.is_dir() else path
    model = _build_checked(model_type, args, weights, config.get("dtype", "float32"), max_bytes)
    tok = folder / "tokenizer.json"
    try:
        tokenizer = json.loads(tok.read_text(encoding="utf-8")) if tok.is_file() else None
    except (OSError, ValueError) as e:
        raise InvalidArgument(f"{tok} is not a tokenizer file: {e}") from None
    return {"model": model.state_dict(), "model_type": model_type, "model_args": args, "iter_num": 0,
            "best_val_loss": float("nan"), "config": {"source": config.get("source")}, "tokenizer": tokenizer}


def safetensors_header(path: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    """{name: (shape, dtype)} from a safetensors file's header alone (no tensor is read). A file too short
    for its own header, or one whose tensors run past its end (truncated), is refused by name."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise InvalidArgument(f"{path} is truncated: {size} bytes, not a safetensors file")
            n = int.from_bytes(head, "little")
            if n > min(size - 8, 100 * 2**20):
                raise InvalidArgument(f"{path} is truncated or not a safetensors file (header of {n:,} bytes "
                                      f"in a file of {size:,})")
            header = json.loads(f.read(n))
    except OSError as e:
        raise InvalidArgument(f"cannot read {path}: {e.strerror}") from None
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument(f"{path} is not a safetensors file (its header is not JSON)") from None
    out, end = {}, 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            shape, dtype, (_lo, hi) = tuple(int(d) for d in info["shape"]), str(info["dtype"]), info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise InvalidArgument(f"{path}: header entry {name!r} is malformed") from None
        out[name], end = (shape, dtype), max(end, int(hi))
    if 8 + n + end > size:
        raise InvalidArgument(f"{path} is truncated: its header needs {8 + n + end:,} bytes, the file has {size:,}")
    return out


_SAFETENSORS_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def _build_checked(model_type: str, args: dict, weights: Path, dtype_name: str, max_bytes: int | None):
    """The model of an extracted folder, its declared config checked against the weights file's header
    before anything is allocated (as checkpoints are: a 450 KB folder that declares a 20M-token vocabulary
    is refused here, not after gigabytes), then loaded."""
    from safetensors.torch import load_model

    dtype = dtype_of(dtype_name)
    try:
        with torch.device("meta"):  # shapes only: bad or huge args cost nothing here
            meta = build_model(model_type, args)
    except (TypeError, ValueError, RuntimeError, OverflowError) as e:
        raise InvalidArgument(f"{weights.parent / 'config.json'}: model_args do not build a {model_type}: "
                              f"{str(e).splitlines()[0][:200]}") from None
    header = safetensors_header(weights)
    # tied tensors (the output head sharing the token embedding) are stored once: a name may be absent
    # when another name of the same tensor is present
    expected, groups = {}, {}
    for name, t in meta.state_dict(keep_vars=True).items():
        expected[name] = tuple(t.shape)
        groups.setdefault(id(t), []).append(name)
    absent = [names[0] for names in groups.values() if not any(n in header for n in names)]
    unexpected = sorted(set(header) - set(expected))
    wrong = sorted(k for k in header if k in expected and header[k][0] != expected[k])
    if absent or unexpected or wrong:
        detail = ", ".join(f"{k} {header[k][0]} where config.json implies {expected[k]}" for k in wrong[:2])
        raise InvalidArgument(f"{weights} does not match its config.json: missing {absent[:3]}, unexpected "
                              f"{unexpected[:3]}" + (f", {detail}" if detail else ""))
    stored = {_SAFETENSORS_DTYPES.get(d) for _, d in header.values() if d[0] in "FB"}  # floats (F32, BF16)
    if stored != {dtype}:
        names = sorted(str(d).replace("torch.", "") if d else "other" for d in stored)
        raise InvalidArgument(f"{weights.parent / 'config.json'} says dtype {dtype_name!r} but the weights are "
                              f"{', '.join(names)}: a config.json that does not describe its file")
    if max_bytes is not None:
        need = sum(math.prod(s) for names in groups.values() for s in [expected[names[0]]]) * dtype.itemsize
        if need > max_bytes:
            raise ResourceExhausted(f"the model needs {need / 2**20:.1f} MiB, over the {max_bytes / 2**20:.1f} MiB "
                                    f"bound (max_model_mb)")
    model = build_model(model_type, args).to(dtype)
    try:
        load_model(model, str(weights))
    except Exception as e:  # safetensors' own SafetensorError is no OSError; its text names the cause
        raise InvalidArgument(f"cannot load {weights}: {str(e).splitlines()[0][:200]}") from None
    return model


def load_model_and_tokenizer(model_path: str | Path, tokenizer_path: str | Path | None = None,
                             device: str | None = None, max_bytes: int | None = None):
    """(model in eval mode, tokenizer or None) from an extracted directory (or its model.safetensors),
    a full checkpoint of any model type, or a nanoGPT ckpt.pt. The tokenizer comes from `tokenizer_path`
    (tokenizer.json or nanoGPT meta.pkl), else the model file, else a tokenizer.json/meta.pkl beside it."""
    path = Path(model_path)
    ckpt = read_model(path, max_bytes)
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
