"""Callbacks: code of yours that sees a run as it goes and may stop it (HF's TrainerCallback, smaller).

    class StopAtAccuracy(Callback):
        def on_evaluate(self, state, metrics):
            if metrics.get("val_masked_acc", 0) > 0.5:
                state.should_stop = True

    Trainer(model, train_dl, val_dl, callbacks=[StopAtAccuracy()]).train(epochs=20)

Every hook gets a `TrainState` (iteration, epoch, best_val_loss, evals so far, should_stop); setting
`state.should_stop = True` ends the run after the current step, with ckpt.pt saved (as after Ctrl-C).
`on_evaluate` also gets the evaluation's row (`iter`, `train_loss`, `val_loss`, accuracies and your
compute_metrics values as `val_<name>`), `on_save` the checkpoint's path.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TrainState:
    iteration: int = 0
    epoch: float = 0.0  # iterations / steps per epoch (the Python Trainer); 0 for the CLI
    best_val_loss: float = float("inf")
    evals: list[dict] = field(default_factory=list)
    should_stop: bool = False


class Callback:
    """Override the hooks you need; each gets the run's TrainState."""

    def on_train_begin(self, state: TrainState) -> None: ...
    def on_step_end(self, state: TrainState) -> None: ...
    def on_evaluate(self, state: TrainState, metrics: dict) -> None: ...
    def on_save(self, state: TrainState, path: Path) -> None: ...
    def on_train_end(self, state: TrainState) -> None: ...


class CallbackList:
    """The loop's side: keeps the TrainState in step with the loop and calls every callback."""

    def __init__(self, callbacks=(), steps_per_epoch: int | None = None):
        for c in callbacks:
            if not isinstance(c, Callback):
                from moredata.errors import InvalidArgument

                raise InvalidArgument(f"callbacks must be moredata.Callback instances, got {type(c).__name__}")
        self.callbacks, self.steps_per_epoch = list(callbacks), steps_per_epoch
        self.state = TrainState()

    @property
    def should_stop(self) -> bool:
        return self.state.should_stop

    def _sync(self, loop) -> TrainState:
        s = self.state
        s.iteration, s.best_val_loss, s.evals = loop.iter_num, loop.best_val_loss, loop.evals
        s.epoch = loop.iter_num / self.steps_per_epoch if self.steps_per_epoch else 0.0
        return s

    def _call(self, hook: str, loop, *args) -> None:
        if self.callbacks:
            state = self._sync(loop)
            for c in self.callbacks:
                getattr(c, hook)(state, *args)

    def on_train_begin(self, loop):
        self._call("on_train_begin", loop)

    def on_step_end(self, loop):
        self._call("on_step_end", loop)

    def on_evaluate(self, loop, metrics: dict):
        self._call("on_evaluate", loop, metrics)

    def on_save(self, loop, path):
        self._call("on_save", loop, Path(path))

    def on_train_end(self, loop):
        self._call("on_train_end", loop)
