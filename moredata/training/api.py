"""The Python training API: `Trainer(...).train(epochs)`, `evaluate()`, `predict()`, and `continue_training(...)`.

Both run the CLI's loop (moredata.training.loop) on DataLoaders: one optimizer step per
`gradient_accumulation_steps` batches, an evaluation per epoch (or every `eval_steps`) over the whole val
loader, early stopping counted in evaluations, checkpoints (`ckpt.pt`, `best.pt`, `checkpoint-<iter>.pt`
every `save_steps`), `metrics.jsonl` and `loss.png` in `checkpoint_dir`, exactly as `moredata-train` writes them.

    trainer = Trainer(model, train_dl, val_dl, learning_rate=1e-3, checkpoint_dir="runs/enc",
                      early_stopping_patience=3, load_best_model_at_end=True)
    results = trainer.train(epochs=10)   # {"early_stopped", "epochs_completed", "best_val_loss", ...}
    results = trainer.train(epochs=10, resume=True)   # after an interruption: on from checkpoint_dir/ckpt.pt
    trainer.evaluate()                   # {"loss": ..., "masked_acc": ..., your compute_metrics' values}
    trainer.predict(test_dl)             # EvalPrediction(predictions=logits, label_ids=labels) + metrics

The model you pass is the one trained: after `train()` it holds the last step's weights (the ones in
ckpt.pt), or best.pt's with `load_best_model_at_end=True`; `train(resume=True)` loads ckpt.pt into it
first. Any `nn.Module` trains: this project's models take token batches (`input_ids`, `attention_mask`);
any other model (a transformers model, your own) gets each batch dict as `model(**batch)` and returns
its loss (`.loss`, `{"loss": ...}` or `(loss, logits)`). A resumed run sees the same batches as an
uninterrupted one, shuffled loaders included (see loader_data.py).

A model without tokens (the pointer network, moredata.models.pointer, or a generic module) needs no
tokenizer; `train_eval_dataloader` (optional) is what the evaluation's train loss is measured on, e.g. the
training samples without augmentation.
"""
from __future__ import annotations

from pathlib import Path

import torch

from moredata.data.tokenizers import tokenizer_from_dict
from moredata.errors import InvalidArgument, UserError
from moredata.models import GENERIC, model_type_for, model_type_of
from moredata.models.checkpoint import load_checkpoint
from moredata.models.loader import DTYPES, pick_device
from moredata.training.hints import PYTHON_API, Hints

# extraction's spellings of a dtype, accepted here too (the settings take torch's names)
_DTYPE_NAMES = {"auto": "auto", **{k: str(v).replace("torch.", "") for k, v in DTYPES.items()}}


def _settings(**values):
    from moredata.training.config import TrainerSettings

    try:
        return TrainerSettings(**values)
    except Exception as e:  # pydantic's ValidationError: say which value, as the CLI does
        raise InvalidArgument(str(e).splitlines()[0] + ": " + " ".join(str(e).splitlines()[1:3])) from None


def _loader_data(cfg, loaders: tuple, tokenizer, start_iter: int, whole_batches: bool, micro_steps: int = 1):
    """The loop's data source over the loaders; a run resumed at optimizer step k has used k * micro_steps
    batches (an epoch is the train loader's length in batches)."""
    from moredata.training.loader_data import LoaderData

    train, val, train_eval = loaders
    return LoaderData(train, val, tokenizer, pick_device(cfg.device), train_eval, start_iter=start_iter * micro_steps,
                      steps_per_epoch=len(train), completion_only=cfg.completion_only_loss,
                      seed=cfg.seed, whole_batches=whole_batches)


def _run(cfg, model, loaders: tuple, tokenizer, steps_per_epoch: int, start_iter: int = 0,
         hints: Hints = PYTHON_API, compute_metrics=None, callbacks=()) -> dict:
    from moredata.training.loop import TrainingLoop as Loop

    data = _loader_data(cfg, loaders, tokenizer, start_iter, model is not None and model_type_for(model) == GENERIC,
                        cfg.gradient_accumulation_steps)
    try:
        loop = Loop(cfg, model=model, data=data, hints=hints, compute_metrics=compute_metrics, callbacks=callbacks,
                    steps_per_epoch=steps_per_epoch)
        summary = loop.run()
    except UserError as e:
        raise InvalidArgument(str(e)) from None
    return {
        "early_stopped": summary.stopped_early,
        "epochs_completed": (summary.iter_num - summary.start_iter) // steps_per_epoch,
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


def _max_len(model) -> int:
    config = getattr(model, "config", None)
    return getattr(config, "max_seq_len", getattr(config, "block_size", 1024))


class Trainer:
    def __init__(self, model, train_dataloader, val_dataloader, learning_rate: float = 3e-4,
                 checkpoint_dir: str | Path = "checkpoints", device: str | None = None,
                 early_stopping_patience: int = 0, early_stopping_min_delta: float = 0.0, tokenizer=None,
                 weight_decay: float = 0.01, grad_clip: float = 1.0, overwrite: bool = False, seed: int = 1337,
                 progress: bool = True, train_eval_dataloader=None, dtype: str = "auto", hints: Hints = PYTHON_API,
                 completion_only_loss: bool = False, *, gradient_accumulation_steps: int = 1,
                 eval_steps: int | None = None, save_steps: int = 0, save_total_limit: int = 0,
                 lr_scheduler: str = "cosine", warmup_steps: int | None = None, min_lr: float | None = None,
                 mlm_probability: float = 0.15, early_stopping_metric: str = "val_loss",
                 greater_is_better: bool | None = None, load_best_model_at_end: bool = False,
                 compute_metrics=None, callbacks=()):
        """`hints`: how messages spell resume/overwrite (a command line over this class passes its own).
        `completion_only_loss`: the loss on completion tokens only; the loaders must be
        create_pair_dataloaders' (their batches carry a loss_mask). GPT only.

        `gradient_accumulation_steps`: batches per optimizer step (an epoch is len(train) // that many
        steps). `eval_steps`: evaluate every this many optimizer steps (default: once an epoch);
        `save_steps` / `save_total_limit`: also keep checkpoint-<step>.pt every save_steps steps, only the
        newest save_total_limit of them. `lr_scheduler`: cosine (default), linear, constant_with_warmup or
        constant, after `warmup_steps` (default: a tenth of the run, at most 100) down to `min_lr`
        (default learning_rate / 10). `mlm_probability`: the encoder's masking share.
        `early_stopping_metric`: val_loss (default), train_loss, or an evaluated value such as
        val_masked_acc or a compute_metrics name (`accuracy` or `val_accuracy`); `greater_is_better`
        defaults to True for accuracy-like names. `compute_metrics(EvalPrediction) -> dict`: extra
        numbers of every evaluation (metrics.jsonl, `evals`, early stopping). `callbacks`: Callback
        instances (moredata.training.callbacks)."""
        self.model, self.train_dataloader, self.val_dataloader = model, train_dataloader, val_dataloader
        from moredata.training.callbacks import CallbackList

        CallbackList(callbacks)  # each one a Callback, checked now
        if compute_metrics is not None and not callable(compute_metrics):
            raise InvalidArgument(f"compute_metrics must be a function of an EvalPrediction, got "
                                  f"{type(compute_metrics).__name__}")
        self.hints, self.compute_metrics, self.callbacks = hints, compute_metrics, list(callbacks)
        self.train_eval_dataloader = train_eval_dataloader
        self.load_best_model_at_end = load_best_model_at_end
        self.steps, self.val_steps, found = _loader_facts(train_dataloader, val_dataloader)
        self.model_type = model_type_for(model)
        self.tokenizer = tokenizer or found
        if self.tokenizer is None and self.model_type in ("decoder_only", "encoder_only", "transformer"):
            raise InvalidArgument("pass tokenizer= (the dataloaders' dataset carries none)")
        if train_eval_dataloader is not None:
            _loader_facts(train_eval_dataloader, val_dataloader)
        if completion_only_loss:  # the settings' own rule (GPT only), checked now rather than at train()
            _settings(model_type=self.model_type, completion_only_loss=True)
        if gradient_accumulation_steps < 1 or gradient_accumulation_steps > self.steps:
            raise InvalidArgument(f"gradient_accumulation_steps must be in [1, {self.steps}] (the train loader's "
                                  f"batches), got {gradient_accumulation_steps}")
        if dtype not in _DTYPE_NAMES:
            raise InvalidArgument(f"dtype must be one of auto, fp32, fp16, bf16 (or float32, float16, bfloat16), "
                                  f"got {dtype!r}")
        self.steps_per_epoch = self.steps // gradient_accumulation_steps
        for name, value in (("eval_steps", eval_steps), ("warmup_steps", warmup_steps)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < (name == "eval_steps")):
                raise InvalidArgument(f"{name} must be a {'positive' if name == 'eval_steps' else 'non-negative'} "
                                      f"integer, got {value!r}")
        monitor = {"val_loss": "val", "train_loss": "train"}.get(early_stopping_metric, early_stopping_metric)
        if not monitor.startswith(("val", "train")):
            monitor = f"val_{monitor}"  # a compute_metrics name as HF spells it ("accuracy")
        mode = "auto" if greater_is_better is None else ("max" if greater_is_better else "min")
        self.eval_steps, self.warmup_steps = eval_steps or self.steps_per_epoch, warmup_steps
        self.options = dict(completion_only_loss=completion_only_loss, out_dir=str(checkpoint_dir),
                            device=pick_device(device), learning_rate=learning_rate,
                            early_stopping_patience=early_stopping_patience,
                            early_stopping_min_delta=early_stopping_min_delta, weight_decay=weight_decay,
                            grad_clip=grad_clip, overwrite=overwrite, seed=seed, progress=progress,
                            dtype=_DTYPE_NAMES[dtype], gradient_accumulation_steps=gradient_accumulation_steps,
                            save_interval=save_steps, save_total_limit=save_total_limit, lr_scheduler=lr_scheduler,
                            min_lr=learning_rate / 10 if min_lr is None else min_lr, mlm_probability=mlm_probability,
                            early_stopping_monitor=monitor, early_stopping_mode=mode)
        self.cfg = self._config(1)  # every value checked now, not at train()

    def _config(self, epochs: int, resume: bool = False):
        n = epochs * self.steps_per_epoch
        warmup = min(100, n // 10) if self.warmup_steps is None else self.warmup_steps
        return _settings(**self.options, init_from="resume" if resume else "scratch", max_iters=n,
                         eval_interval=self.eval_steps, eval_iters=self.val_steps,
                         log_interval=max(1, self.steps_per_epoch // 5), warmup_iters=warmup,
                         lr_decay_iters=max(1, n), batch_size=self.train_dataloader.batch_size or 1,
                         block_size=_max_len(self.model), compile=False, always_save_checkpoint=True, plot=True,
                         model_type=self.model_type, step_after_last_eval=False)

    @property
    def _loaders(self) -> tuple:
        return self.train_dataloader, self.val_dataloader, self.train_eval_dataloader

    def train(self, epochs: int, resume: bool = False) -> dict:
        """Trains for `epochs` epochs in all; `resume=True` goes on from checkpoint_dir/ckpt.pt (an
        interrupted or shorter run of the same model and loaders) up to that total. The model passed
        to the Trainer is the one trained (its weights are ckpt.pt's after a resume)."""
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise InvalidArgument(f"epochs must be a positive integer, got {epochs!r}")
        start = 0
        if resume:
            path = Path(self.options["out_dir"]) / "ckpt.pt"
            if not path.is_file():
                raise InvalidArgument(f"resume=True but {path} does not exist")
            start = int(load_checkpoint(path).get("iter_num", 0))
        cfg = self._config(epochs, resume)
        result = _run(cfg, self.model, self._loaders, self.tokenizer, self.steps_per_epoch, start, self.hints,
                      self.compute_metrics, self.callbacks)
        best = result["best_checkpoint"]
        if self.load_best_model_at_end and best and Path(best).name == "best.pt":
            self.model.load_state_dict(load_checkpoint(best)["model"])
            result["loaded_best"] = best
        return result

    def _evaluate_loader(self, dataloader, gather: bool):
        """(metrics, EvalPrediction or None) of the model as it is now over a whole loader, in eval mode
        (its mode restored after): the loop's own evaluation pass (evaluation.evaluate_split)."""
        from contextlib import nullcontext

        from moredata.training.evaluation import Gatherer, evaluate_split, metrics_of
        from moredata.training.objectives import Objective

        cfg = self.cfg
        vocab = self.tokenizer.vocab_size if self.tokenizer is not None else 0
        objective = Objective(self.model_type, vocab, cfg.mlm_probability)
        data = _loader_data(cfg, (dataloader, dataloader, None), self.tokenizer, 0, self.model_type == GENERIC)
        data.device = next(self.model.parameters()).device
        gen = torch.Generator().manual_seed(cfg.seed + 2)  # the encoder's masks: the same at every call
        gatherer = Gatherer(objective) if gather else None
        was_training = self.model.training
        self.model.eval()
        try:
            got = evaluate_split(self.model, data, objective, "val", 0, len(dataloader), nullcontext(), gen, gatherer)
            metrics = {"loss": got.pop("val"), **{k.removeprefix("val_"): v for k, v in got.items()}}
            prediction = gatherer.result() if gatherer is not None else None
            if self.compute_metrics is not None and prediction is not None:
                metrics.update(metrics_of(self.compute_metrics, prediction))
        except UserError as e:
            raise InvalidArgument(str(e)) from None
        finally:
            self.model.train(was_training)
        return metrics, prediction

    def evaluate(self, dataloader=None) -> dict:
        """{"loss": mean over the loader's batches, the accuracy of an encoder (masked_acc) or pointer
        network, and compute_metrics' values} of the model as it is now, on `dataloader` (default: val)."""
        loader = dataloader if dataloader is not None else self.val_dataloader
        return self._evaluate_loader(loader, self.compute_metrics is not None)[0]

    def predict(self, dataloader):
        """(EvalPrediction with predictions = logits (N, T, vocab) and label_ids, metrics) over the loader:
        HF's PredictionOutput as a pair."""
        metrics, prediction = self._evaluate_loader(dataloader, True)
        return prediction, metrics


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
                    model_type=model_type_of(ckpt), dropout=float(args.get("dropout", 0.0)),
                    step_after_last_eval=False)
    return _run(cfg, None, (train_dataloader, val_dataloader, None), tokenizer, steps, start)
