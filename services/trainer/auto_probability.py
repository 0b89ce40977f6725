"""`enhanced_data_probability = "auto"`: the share of enhanced rows follows measured overfitting.

    ctl = AutoProbability(max_probability=0.3)
    p = ctl.update(train_loss, val_loss)     # at every evaluation; 0 until the run shows overfitting

Enhanced rows help a run that overfits and cost a run that does not (measured: whole tiny Shakespeare
ends at 1.999 with p = 0.2 against 1.905 with p = 0; the 30k-character run that overfits ends at 1.889
against 2.105). So p starts at 0 and rises only on evidence, from the trainer's own evaluations:

- stall: evaluations since the val loss last improved on its best (by more than `min_delta`), divided
  by `patience`, capped at 1: val no longer improving;
- growth: how far the val-train gap has grown above the smallest gap seen so far, over `gap_scale`
  nats, capped at 1: train loss still falling while val does not. A gap of its own (a harder val split)
  is not overfitting; a gap that widens is.

target = max_probability x min(stall, growth): both at once are the signature of overfitting, and each
alone has an innocent cause (a noisy evaluation, a plateau of the schedule). p moves a fraction `rate` of
the way to the target at each evaluation (smooth: no jump from 0 to the maximum on one evaluation, and
back down as slowly when val improves again). The first evaluation (an untrained model, where train and
val loss are equal) sets the best val loss but not the gap reference. The state is a handful of
numbers, saved in the checkpoint, so a resume continues it exactly.

Why two signals rather than the gap against a fixed threshold: the val split of a corpus can be harder
than its train split from the first evaluation on (a gap that is not overfitting), so a threshold low
enough to catch early overfitting would turn p on in runs that never overfit; the gap's growth over its
own minimum, and val stalling, are both zero in a run that keeps improving.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from moredata.trainer.early_stopping import EarlyStopping


@dataclass
class AutoProbability:
    max_probability: float = 0.3
    patience: int = 2  # evaluations without a val improvement for the stall signal to reach 1
    gap_scale: float = 0.1  # nats of gap growth for the growth signal to reach 1
    rate: float = 0.5  # fraction of the way to the target moved per evaluation
    min_delta: float = 0.0
    probability: float = 0.0
    min_gap: float = float("inf")
    evals: int = 0

    def __post_init__(self):
        # the best val loss and the evaluations since it, counted as early stopping counts them (never stops)
        self.val = EarlyStopping(patience=0, min_delta=self.min_delta)

    def signals(self, train_loss: float, val_loss: float) -> tuple[float, float]:
        stall = min(1.0, self.val.bad_evals / max(1, self.patience))
        gap = val_loss - train_loss
        growth = min(1.0, max(0.0, (gap - self.min_gap) / self.gap_scale)) if self.min_gap < float("inf") else 0.0
        return stall, growth

    def update(self, train_loss: float, val_loss: float) -> float:
        """Takes one evaluation's losses; returns the probability for the iterations until the next."""
        self.val.update(val_loss)
        stall, growth = self.signals(train_loss, val_loss)
        if self.evals > 0:  # not the untrained model's evaluation, where the gap is 0 by construction
            self.min_gap = min(self.min_gap, val_loss - train_loss)
        target = self.max_probability * min(stall, growth)
        self.probability = min(self.max_probability, max(0.0, self.probability + self.rate * (target - self.probability)))
        if self.probability < 1e-4:  # a tail of 1e-9 would keep the generator busy for nothing
            self.probability = 0.0
        self.evals += 1
        return self.probability

    def state_dict(self) -> dict:
        return {**asdict(self), "val": self.val.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        for k, v in state.items():
            if k == "val":
                self.val.load_state_dict(v)
            elif hasattr(self, k):
                setattr(self, k, v)
