"""The Python training API: `Trainer(...).train(epochs)` and `continue_training(...)`.

Both run the CLI's loop (moredata.training.loop) on DataLoaders: one optimizer step per batch, one
evaluation per epoch (the whole val loader), early stopping counted in epochs, checkpoints (`ckpt.pt`,
`best.pt`), `metrics.jsonl` and `loss.png` in `checkpoint_dir`, exactly as `moredata-train` writes them.

    trainer = Trainer(model, train_dl, val_dl, learning_rate=1e-3, checkpoint_dir="runs/enc",
                      early_stopping_patience=3)
    results = trainer.train(epochs=10)   # {"early_stopped", "epochs_completed", "best_val_loss", ...}
    results = trainer.train(epochs=10, resume=True)   # after an interruption: on from checkpoint_dir/ckpt.pt

A model without tokens (the pointer network, moredata.models.pointer) takes its loaders' batch
dicts whole and needs no tokenizer; `train_eval_dataloader` (optional) is what the evaluation's train
loss is measured on, e.g. the training samples without augmentation.
"""
from __future__ import annotations

from pathlib import Path

from moredata.data.tokenizers import tokenizer_from_dict
from moredata.errors import InvalidArgument, UserError
from moredata.models import model_type_for, model_type_of
from moredata.models.checkpoint import load_checkpoint
from moredata.models.loader import pick_device
from moredata.training.hints import PYTHON_API, Hints


def _settings(**values):
    from moredata.training.config import TrainerSettings

    try:
        return TrainerSettings(**values)
    except Exception as e:  # pydantic's ValidationError: say which value, as the CLI does
        raise InvalidArgument(str(e).splitlines()[0] + ": " + " ".join(str(e).splitlines()[1:3])) from None


def _run(cfg, model, train_dataloader, val_dataloader, tokenizer, steps_per_epoch: int, train_eval_dataloader=None,
         start_iter: int = 0, hints: Hints = PYTHON_API) -> dict:
    from moredata.training.loader_data import LoaderData
    from moredata.training.loop import TrainingLoop as Loop

    data = LoaderData(train_dataloader, val_dataloader, tokenizer, pick_device(cfg.device), train_eval_dataloader,
                      start_iter=start_iter, steps_per_epoch=steps_per_epoch,
                      completion_only=cfg.completion_only_loss)
    try:
        summary = Loop(cfg, model=model, data=data, hints=hints).run()
    except UserError as e:
        raise InvalidArgument(str(e)) from None
    last_eval = summary.evals[-1]["iter"] if summary.evals else summary.start_iter
    return {
        "early_stopped": summary.stopped_early,
        "epochs_completed": (last_eval - summary.start_iter) // steps_per_epoch,
        "best_val_loss": summary.best_val_loss,
        "last_val_loss": summary.last_val_loss,
        "best_checkpoint": summary.checkpoint,
        "iterations": summary.iter_num,
        "evals": summary.evals,
        "plot": summary.plot,
    }


def _loader_facts(train_dataloader, val_dataloader):
    try:
        steps, val_steps = len(train_dataloader), len(val_dataloader)
    except TypeError:
        raise InvalidArgument("train and val dataloaders need a length (map-style datasets)") from None
    if steps < 1 or val_steps < 1:
        raise InvalidArgument("train and val dataloaders must each yield at least one batch")
    tok = getattr(train_dataloader.dataset, "tokenizer", None)
    return steps, val_steps, tok


class Trainer:
    def __init__(self, model, train_dataloader, val_dataloader, learning_rate: float = 3e-4,
                 checkpoint_dir: str | Path = "checkpoints", device: str | None = None,
                 early_stopping_patience: int = 0, early_stopping_min_delta: float = 0.0, tokenizer=None,
                 weight_decay: float = 0.01, grad_clip: float = 1.0, overwrite: bool = False, seed: int = 1337,
                 progress: bool = True, train_eval_dataloader=None, dtype: str = "auto", hints: Hints = PYTHON_API,
                 completion_only_loss: bool = False):
        """`hints`: how messages spell resume/overwrite (a command line over this class passes its own).
        `completion_only_loss`: the loss on completion tokens only; the loaders must be
        create_pair_dataloaders' (their batches carry a loss_mask). GPT only."""
        self.model, self.train_dataloader, self.val_dataloader = model, train_dataloader, val_dataloader
        self.hints = hints
        self.train_eval_dataloader = train_eval_dataloader
        self.steps, self.val_steps, found = _loader_facts(train_dataloader, val_dataloader)
        self.tokenizer = tokenizer or found
        if self.tokenizer is None and model_type_for(model) != "pointer":
            raise InvalidArgument("pass tokenizer= (the dataloaders' dataset carries none)")
        if train_eval_dataloader is not None:
            _loader_facts(train_eval_dataloader, val_dataloader)
        if completion_only_loss:  # the settings' own rule (GPT only), checked now rather than at train()
            _settings(model_type=model_type_for(model), completion_only_loss=True)
        self.options = dict(completion_only_loss=completion_only_loss, out_dir=str(checkpoint_dir), device=pick_device(device), learning_rate=learning_rate,
                            early_stopping_patience=early_stopping_patience,
                            early_stopping_min_delta=early_stopping_min_delta, weight_decay=weight_decay,
                            grad_clip=grad_clip, overwrite=overwrite, seed=seed, progress=progress, dtype=dtype)

    def train(self, epochs: int, resume: bool = False) -> dict:
        """Trains for `epochs` epochs in all; `resume=True` goes on from checkpoint_dir/ckpt.pt (an
        interrupted or shorter run of the same model and loaders) up to that total."""
        if epochs < 1:
            raise InvalidArgument(f"epochs must be at least 1, got {epochs}")
        start = 0
        if resume:
            path = Path(self.options["out_dir"]) / "ckpt.pt"
            if not path.is_file():
                raise InvalidArgument(f"resume=True but {path} does not exist")
            start = int(load_checkpoint(path).get("iter_num", 0))
        n = epochs * self.steps
        max_len = getattr(self.model.config, "max_seq_len", getattr(self.model.config, "block_size", 1024))
        cfg = _settings(**self.options, init_from="resume" if resume else "scratch", max_iters=n, eval_interval=self.steps,
                        eval_iters=self.val_steps, log_interval=max(1, self.steps // 5), warmup_iters=min(100, n // 10),
                        lr_decay_iters=max(1, n), min_lr=self.options["learning_rate"] / 10,
                        batch_size=self.train_dataloader.batch_size or 1, gradient_accumulation_steps=1,
                        block_size=max_len, compile=False, always_save_checkpoint=True, plot=True,
                        model_type=model_type_for(self.model))
        return _run(cfg, self.model, self.train_dataloader, self.val_dataloader, self.tokenizer, self.steps,
                    self.train_eval_dataloader, start, self.hints)


def continue_training(model_path: str | Path, train_dataloader, val_dataloader, learning_rate: float, epochs: int,
                      checkpoint_dir: str | Path, early_stopping_patience: int = 0, reset_optimizer: bool = False,
                      device: str | None = None, overwrite: bool = False, progress: bool = True) -> dict:
    """Train a saved model on new data with a new learning rate into its own directory: its weights,
    tokenizer and step count are kept (the optimizer state too, unless `reset_optimizer`)."""
    steps, val_steps, _ = _loader_facts(train_dataloader, val_dataloader)
    if epochs < 1:
        raise InvalidArgument(f"epochs must be at least 1, got {epochs}")
    ckpt = load_checkpoint(model_path)
    if not ckpt.get("tokenizer"):
        raise InvalidArgument(f"{model_path} holds no tokenizer; continue from a checkpoint this project wrote")
    tokenizer = tokenizer_from_dict(ckpt["tokenizer"])
    start = int(ckpt.get("iter_num", 0))
    args = ckpt["model_args"]
    max_len = args.get("max_seq_len", args.get("block_size", 1024))
    cfg = _settings(out_dir=str(checkpoint_dir), device=pick_device(device), learning_rate=learning_rate,
                    decay_lr=False, init_from=str(model_path), continue_training=True,
                    reset_optimizer=reset_optimizer, max_iters=start + epochs * steps, eval_interval=steps,
                    eval_iters=val_steps, log_interval=max(1, steps // 5), batch_size=train_dataloader.batch_size or 1,
                    gradient_accumulation_steps=1, block_size=max_len, compile=False, overwrite=overwrite,
                    early_stopping_patience=early_stopping_patience, progress=progress,
                    model_type=model_type_of(ckpt), dropout=float(args.get("dropout", 0.0)))
    return _run(cfg, None, train_dataloader, val_dataloader, tokenizer, steps)
