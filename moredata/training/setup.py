"""Setting a run up before its first step: the device and precision, the DDP process group, the model
(built from the config, given by the Python API, or read from a checkpoint) and the output folder's guard.

Each piece is a function of the config (and the data), so the loop's constructor reads as a list of them.
"""
from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch

from moredata.data.tokenizers import SPECIAL_TOKENS
from moredata.errors import MoredataError, UserError
from moredata.models import build_model, model_args_of, model_type_for, model_type_of
from moredata.models.checkpoint import load_checkpoint, model_from_checkpoint, shape_mismatch
from moredata.models.config import with_saved_recipe
from moredata.training.config import TrainerSettings
from moredata.training.hints import CLI, Hints
from moredata.training.objectives import Objective

MODEL_KEYS = ("n_layer", "n_head", "n_embd", "block_size", "bias", "vocab_size", "dropout")


def resolve_device(cfg: TrainerSettings) -> str:
    if cfg.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"config key 'device': {cfg.device} requested but CUDA is not available")
    return cfg.device


def resolve_dtype(cfg: TrainerSettings, device_type: str) -> str:
    if cfg.dtype != "auto":
        return cfg.dtype
    if device_type == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return "float32"


def autocast_context(device_type: str, dtype: str):
    """Mixed precision on accelerators; plain fp32 on the CPU (as nanoGPT)."""
    if device_type == "cpu":
        return nullcontext()
    ptdtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    return torch.amp.autocast(device_type=device_type, dtype=ptdtype)


@dataclass
class Distributed:
    """Where this process stands: one process (rank 0 of 1), or one rank of a torchrun DDP job."""
    ddp: bool
    rank: int
    local_rank: int
    world_size: int
    device: str
    gradient_accumulation_steps: int  # this rank's share of the config's micro-steps

    @property
    def master(self) -> bool:
        return self.rank == 0

    @property
    def seed_offset(self) -> int:  # each process gets a different seed
        return self.rank


def setup_distributed(cfg: TrainerSettings) -> Distributed:
    if int(os.environ.get("RANK", -1)) == -1:  # not launched by torchrun
        return Distributed(False, 0, 0, 1, resolve_device(cfg), cfg.gradient_accumulation_steps)
    import torch.distributed as dist

    dist.init_process_group(backend=cfg.backend)
    rank, local_rank, world = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"]), int(os.environ["WORLD_SIZE"])
    device = f"cuda:{local_rank}" if cfg.backend == "nccl" else "cpu"
    if device.startswith("cuda"):
        torch.cuda.set_device(device)
    if cfg.gradient_accumulation_steps % world:
        raise UserError(f"config key 'gradient_accumulation_steps': {cfg.gradient_accumulation_steps} "
                        f"is not divisible by the world size {world}")
    # world_size processes train at once: scale the micro-steps down proportionally
    return Distributed(True, rank, local_rank, world, device, cfg.gradient_accumulation_steps // world)


def check_out_dir(cfg: TrainerSettings, out_dir: Path, hints: Hints = CLI) -> None:
    """A fresh run never deletes a model: into an out_dir that holds one it starts only with
    --overwrite, and even then the old best.pt stays until this run saves a better-or-first one of
    its own (an atomic replace). --init_from=<a file in out_dir> continues from it the same way."""
    if cfg.init_from == "resume" or cfg.overwrite:
        return
    held = [n for n in ("best.pt", "ckpt.pt") if (out_dir / n).is_file()]
    init = Path(cfg.init_from).resolve() if cfg.init_from != "scratch" else None
    if held and not (init is not None and init.parent == out_dir.resolve()):
        raise UserError(f"{out_dir} already holds a model ({', '.join(held)}): continue it with "
                        f"{hints.resume}, pick {hints.other_out}, or pass {hints.overwrite} (the old files "
                        f"are replaced only when this run saves its own)")


@dataclass
class ModelSetup:
    model: torch.nn.Module  # on the run's device
    model_type: str
    model_args: dict
    objective: Objective
    resume_from: dict | None  # the checkpoint whose optimizer/RNG state the run restores, if any


def config_model_args(cfg: TrainerSettings, vocab_size: int) -> dict:
    if cfg.model_type == "decoder_only":  # nanoGPT's names: the GPT's checkpoint format
        args = {k: getattr(cfg, k) for k in MODEL_KEYS if k != "vocab_size"}
        args["vocab_size"] = vocab_size
        return args
    recipe = {k: getattr(cfg, k) for k in ("positions", "ffn", "norm", "init") if getattr(cfg, k) is not None}
    return {"vocab_size": vocab_size, "d_model": cfg.n_embd, "num_heads": cfg.n_head, "num_layers": cfg.n_layer,
            "d_ff": cfg.d_ff, "max_seq_len": cfg.block_size, "dropout": cfg.dropout, "bias": cfg.bias, **recipe}


def setup_model(cfg: TrainerSettings, data, out_dir: Path, device: str, given_model=None) -> ModelSetup:
    """The model to train: the user's (Python API), one built from the config, or one read from a checkpoint
    (resume, or --init_from=FILE), with the checkpoint to restore optimizer and RNG state from."""
    if cfg.init_from == "scratch":
        model, model_type, model_args, objective = _new_model(cfg, data, given_model)
        ckpt = None
    elif given_model is not None:  # the Python API resuming: the user's own model gets the saved weights
        model, model_type, model_args, objective = _new_model(cfg, data, given_model)
        ckpt = _load_into(given_model, out_dir / "ckpt.pt" if cfg.init_from == "resume" else Path(cfg.init_from))
    else:
        model, model_type, model_args, objective, ckpt = _model_from_file(cfg, data, out_dir)
    if not objective.counts_tokens:  # frames or a generic module: no vocabulary or block size to check
        keep = ckpt is not None and (cfg.init_from == "resume" or cfg.continue_training)
        return ModelSetup(model.to(device), model_type, model_args, objective, ckpt if keep else None)
    if model_type == "decoder_only":
        if cfg.block_size < model.config.block_size:
            model.crop_block_size(cfg.block_size)  # model surgery, as nanoGPT
            model_args["block_size"] = cfg.block_size
        elif cfg.block_size > model.config.block_size:
            raise UserError(f"config key 'block_size': {cfg.block_size} exceeds the checkpoint's "
                            f"{model.config.block_size}")
    elif model_type != "pointer" and cfg.block_size > model.config.max_seq_len:
        raise UserError(f"config key 'block_size': {cfg.block_size} exceeds the checkpoint's "
                        f"{model.config.max_seq_len}")
    keep = cfg.init_from == "resume" or (ckpt is not None and cfg.continue_training)
    return ModelSetup(model.to(device), model_type, model_args, objective, ckpt if keep else None)


def _load_into(model, path: Path) -> dict:
    """The checkpoint at `path`, its weights loaded into `model` after every name and shape is checked
    (a checkpoint of another model is refused by name, before anything changes)."""
    try:
        ckpt = load_checkpoint(path)
    except (FileNotFoundError, ValueError, MoredataError) as e:
        raise UserError(f"config key 'init_from': {e}") from None
    mismatch = shape_mismatch({k: tuple(v.shape) for k, v in model.state_dict().items()}, ckpt["model"])
    if mismatch:
        raise UserError(f"{path} does not hold this model's weights: {mismatch}")
    model.load_state_dict(ckpt["model"])
    return ckpt


def _new_model(cfg: TrainerSettings, data, given_model):
    # nanoGPT's default for data without a vocabulary: GPT-2's 50257 rounded up to 50304
    vocab = data.vocab_size or 50304
    if given_model is not None:  # the Python API: the user's model, as built
        model_type, model_args = model_type_for(given_model), model_args_of(given_model)
        objective = Objective(model_type, vocab, cfg.mlm_probability)
        if objective.counts_tokens and model_args["vocab_size"] < objective.model_vocab(vocab):
            raise UserError(f"the model has {model_args['vocab_size']} token rows; the tokenizer "
                            f"needs {objective.model_vocab(vocab)}")
        return given_model, model_type, model_args, objective
    if cfg.model_type == "pointer":
        raise UserError("config key 'model_type': the pointer network trains on audio-edit sample "
                        "folders: use moredata-pointer train (or the Python Trainer with its model)")
    if cfg.model_type == "module":
        raise UserError("config key 'model_type': a generic module is built by its own code: pass it to the "
                        "Python Trainer")
    objective = Objective(cfg.model_type, vocab, cfg.mlm_probability)
    model_args = config_model_args(cfg, objective.model_vocab(vocab))
    try:
        model = build_model(cfg.model_type, model_args)
    except MoredataError as e:
        raise UserError(f"model config: {e}") from None
    # every field the model was built with (the recipe's too): a checkpoint rebuilds it from the file alone
    return model, cfg.model_type, model_args_of(model), objective


def _model_from_file(cfg: TrainerSettings, data, out_dir: Path):
    path = out_dir / "ckpt.pt" if cfg.init_from == "resume" else Path(cfg.init_from)
    try:
        ckpt = load_checkpoint(path)
    except (FileNotFoundError, ValueError, MoredataError) as e:
        raise UserError(f"config key 'init_from': {e}") from None
    # the architecture (and model type) comes from the checkpoint; dropout may be overridden
    model_type = model_type_of(ckpt)
    model_args = dict(with_saved_recipe(model_type, ckpt["model_args"]))
    if cfg.init_from != "resume":
        model_args["dropout"] = cfg.dropout
    model = model_from_checkpoint({**ckpt, "model_args": model_args})
    if model_type == "pointer":
        return model, model_type, model_args, Objective(model_type, 0), ckpt
    ckpt_vocab = model_args["vocab_size"]
    regular = ckpt_vocab if model_type == "decoder_only" else ckpt_vocab - len(SPECIAL_TOKENS)
    if data.vocab_size and data.vocab_size > regular:
        raise UserError(f"data vocabulary ({data.vocab_size}) is larger than the checkpoint's ({regular})")
    return model, model_type, model_args, Objective(model_type, data.vocab_size or regular, cfg.mlm_probability), ckpt
