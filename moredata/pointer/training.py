"""Training and evaluating the pointer network on sample folders, through the project's Python Trainer.

    cfg = PointerTrainConfig.from_file("mini.json")          # {"model": ..., "training": ..., "augmentation": ...}
    result = train_pointer(cfg, "data/pointer", "runs/aug")  # best.pt, ckpt.pt, metrics.jsonl, loss.png, summary.json
    scores = evaluate(load_pointer_model("runs/aug/best.pt")[0], "data/pointer/ood")

The loop is services.trainer's (via moredata.training.api.Trainer): one optimizer step per batch, one evaluation
per epoch (train loss on the training samples *without* augmentation, so the train-validation gap
compares like with like), early stopping in epochs, checkpoints, metrics and the loss/accuracy plot.
Augmentation runs in the DataLoader's worker, in-process or through the augment service in stored mode.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from torch.utils.data import DataLoader

from moredata.atomic import atomic_write_text
from moredata.errors import InvalidArgument
from moredata.models.pointer import (
    PointerConfig,
    PointerNetwork,
    greedy_pointers,
    pointer_accuracy,
    smooth_pointers,
)
from moredata.pointer.config import AugmentationConfig
from moredata.pointer.dataset import EpochSampler, PointerDataset, collate
from moredata.settings import first_error
from moredata.training.hints import Hints

TRAIN_CONFIGS = Path(__file__).parent / "configs" / "train"

# messages of train_pointer as a library call; moredata-pointer passes POINTER_CLI
POINTER_API = Hints(resume="train_pointer(..., resume=True)", overwrite="train_pointer(..., overwrite=True)",
                    other_out="another out folder")
POINTER_CLI = Hints(resume="--resume", overwrite="--overwrite", other_out="another --out")


class Training(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    batch_size: int = Field(8, ge=1, le=4096)
    learning_rate: float = Field(1e-3, gt=0, le=1.0)
    epochs: int = Field(100, ge=1, le=10**6)
    early_stopping_patience: int = Field(0, ge=0, description="epochs without a better val loss; 0: off")
    weight_decay: float = Field(0.01, ge=0, le=10.0)
    grad_clip: float = Field(1.0, ge=0)
    seed: int = Field(0, ge=0)
    workers: int = Field(1, ge=0, le=64, description="DataLoader workers doing the augmentation")
    dtype: str = Field("auto", pattern="^(auto|float32|bfloat16|float16)$")


class PointerTrainConfig(BaseModel):
    """The users' JSON shape: model sizes, training settings, and the augmentation section exactly as the
    Augmentor reads it."""
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    model: dict = Field(default_factory=dict)
    training: Training = Training()
    augmentation: dict = Field(default_factory=lambda: {"enabled": False})

    def model_settings(self) -> PointerConfig:
        return PointerConfig.from_dict(self.model)

    def augmentation_config(self) -> AugmentationConfig:
        return AugmentationConfig.model_validate({"augmentation": self.augmentation})

    @classmethod
    def from_json(cls, text: str, where: str = "config") -> "PointerTrainConfig":
        try:
            cfg = cls.model_validate(json.loads(text))
        except json.JSONDecodeError as e:
            raise InvalidArgument(f"{where} is not valid JSON: {e}") from None
        except ValidationError as e:
            key, msg, _ = first_error(e)
            raise InvalidArgument(f"{where} key '{key}': {msg}") from None
        try:
            cfg.model_settings()
        except InvalidArgument as e:
            raise InvalidArgument(f"{where}: {e}") from None
        try:
            cfg.augmentation_config()
        except ValidationError as e:
            key, msg, _ = first_error(e)
            raise InvalidArgument(f"{where} key '{key}': {msg}") from None
        return cfg

    @classmethod
    def from_name_or_file(cls, name: str) -> "PointerTrainConfig":
        """A JSON file, or a shipped config by name (`mini`: CPU, minutes; `full`: about 15M parameters)."""
        path = Path(name)
        if not path.is_file() and (TRAIN_CONFIGS / f"{name}.json").is_file():
            path = TRAIN_CONFIGS / f"{name}.json"
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in TRAIN_CONFIGS.glob("*.json")))
            raise InvalidArgument(f"config file not found: {name} (shipped: {known})")
        return cls.from_json(path.read_text(encoding="utf-8"), where=str(name))


def augmentation_override(name: str | None, cfg: PointerTrainConfig) -> AugmentationConfig:
    """--augment: None/'config' keeps the config's section; 'none' turns augmentation off; otherwise a
    shipped augmentation config (safe, pointer_aware, all) or a JSON file in the augment shape."""
    if name in (None, "config"):
        return cfg.augmentation_config()
    if name == "none":
        return AugmentationConfig.model_validate({"augmentation": {"enabled": False}})
    try:
        return AugmentationConfig.from_name_or_file(name)
    except FileNotFoundError as e:
        raise InvalidArgument(str(e)) from None


def _eval_loader(ds: PointerDataset, batches: int, workers: int = 0) -> DataLoader:
    return DataLoader(ds, batch_size=math.ceil(len(ds) / batches), shuffle=False, collate_fn=collate,
                      num_workers=workers)


def train_pointer(cfg: PointerTrainConfig, data: str | Path, out: str | Path, augment: AugmentationConfig | None = None,
                  service: str | None = None, resume: bool = False, overwrite: bool = False, hints: Hints = POINTER_API,
                  device: str | None = None, progress: bool = True, epochs: int | None = None) -> dict:
    """Trains on data/train, validates on data/val each epoch, scores best.pt on data/val and data/ood
    (when present); writes out/summary.json and returns it."""
    from moredata.training.api import Trainer

    data, out = Path(data), Path(out)
    t = cfg.training
    augment = augment if augment is not None else cfg.augmentation_config()
    for name in ("train", "val"):
        if not (data / name).is_dir() and not (name == "train" and service):
            raise InvalidArgument(f"{data / name} does not exist: make the sets with `moredata-pointer make-sets`")
    train_root = data / "train" if (data / "train").is_dir() else None
    train_ds = PointerDataset(train_root, augment, seed=t.seed, service=service,
                              service_mode="stored" if service else "upload")
    clean_train = PointerDataset(train_root, seed=t.seed, augment=False, service=service,
                                 service_mode="stored" if service else "upload")
    val_ds = PointerDataset(data / "val", augment=False)
    for ds in (train_ds, val_ds):
        if ds.folder is not None:
            ds.folder.check_all()
    if min(len(train_ds), len(val_ds)) < 1:
        raise InvalidArgument("train and val sets need at least one sample each")
    n_batches = max(1, math.ceil(max(len(clean_train), len(val_ds)) / 64))  # same count for both eval loaders
    train_dl = DataLoader(train_ds, batch_size=t.batch_size, sampler=EpochSampler(len(train_ds), t.seed),
                          collate_fn=collate, num_workers=t.workers, persistent_workers=t.workers > 0)
    torch.manual_seed(t.seed)
    model = PointerNetwork(cfg.model_settings())
    trainer = Trainer(model, train_dl, _eval_loader(val_ds, n_batches), learning_rate=t.learning_rate,
                      checkpoint_dir=out, device=device, early_stopping_patience=t.early_stopping_patience,
                      weight_decay=t.weight_decay, grad_clip=t.grad_clip, overwrite=overwrite, seed=t.seed,
                      progress=progress, train_eval_dataloader=_eval_loader(clean_train, n_batches), dtype=t.dtype,
                      hints=hints)
    result = trainer.train(epochs or t.epochs, resume=resume)
    best, _ = load_pointer_model(result["best_checkpoint"], trainer.options["device"])
    scores = {"train": evaluate(best, clean_train), "val": evaluate(best, val_ds)}
    if (data / "ood").is_dir():
        scores["ood"] = evaluate(best, PointerDataset(data / "ood", augment=False))
    summary = {"best_val_loss": result["best_val_loss"], "last_val_loss": result["last_val_loss"],
               "early_stopped": result["early_stopped"], "iterations": result["iterations"],
               "epochs_completed": result["epochs_completed"], "parameters": model.num_params(),
               "augmentation": augment.model_dump(), "service": service, "scores": scores,
               "train_val_gap": scores["val"]["loss"] - scores["train"]["loss"],
               "checkpoint": result["best_checkpoint"], "plot": result["plot"], "evals": result["evals"]}
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    return summary


def load_pointer_model(path: str | Path, device: str = "cpu") -> tuple[PointerNetwork, dict]:
    from moredata.models.checkpoint import load_checkpoint, model_from_checkpoint

    ckpt = load_checkpoint(path)
    if ckpt.get("model_type") != "pointer":
        raise InvalidArgument(f"{path} holds a {ckpt.get('model_type', 'decoder_only')} model, not a pointer network")
    return model_from_checkpoint(ckpt, device).eval(), ckpt


@torch.no_grad()
def evaluate(model: PointerNetwork, ds: PointerDataset, batch_size: int = 16, smooth: bool = False,
             jump_penalty: float = 4.0) -> dict:
    """Loss and pointer accuracy (exact frame, within 2 frames; smoothed too when asked) over a dataset."""
    device = next(model.parameters()).device
    model.eval()
    loss_sum = frames = exact = near = s_exact = s_near = 0
    for batch in DataLoader(ds, batch_size=batch_size, shuffle=False, collate_fn=collate):
        b = {k: v.to(device) for k, v in batch.items() if isinstance(v, torch.Tensor)}
        loss, logits = model(**b)
        ptr = b["pointers"]
        n = int((ptr != -100).sum())
        loss_sum, frames = loss_sum + float(loss) * n, frames + n
        pred = greedy_pointers(logits)
        exact += pointer_accuracy(pred, ptr)[0]
        near += pointer_accuracy(pred, ptr, 2)[0]
        if smooth:
            logp = logits.log_softmax(-1)
            for i in range(len(ptr)):  # one Viterbi per sample, over its real frames only
                te, tr = int(b["edit_lengths"][i]), int(b["raw_lengths"][i])
                path = smooth_pointers(logp[i, :te, :tr], jump_penalty)
                s_exact += pointer_accuracy(path, ptr[i, :te])[0]
                s_near += pointer_accuracy(path, ptr[i, :te], 2)[0]
    out = {"loss": loss_sum / max(frames, 1), "acc": exact / max(frames, 1), "acc_within_2": near / max(frames, 1),
           "frames": frames, "samples": len(ds)}
    if smooth:
        out |= {"smoothed_acc": s_exact / max(frames, 1), "smoothed_acc_within_2": s_near / max(frames, 1)}
    return out
