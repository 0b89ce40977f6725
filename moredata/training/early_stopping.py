"""Early stopping on an evaluated loss or metric: stop after `patience` evaluations without real
improvement (a fall for losses, a rise for accuracies: `mode`)."""
from __future__ import annotations

import math


class EarlyStopping:
    def __init__(self, patience: int, min_delta: float = 0.0, mode: str = "min"):
        self.patience = patience  # 0 disables
        self.sign = -1.0 if mode == "max" else 1.0  # a rising metric is tracked as its negative
        self.min_delta = min_delta
        self.best = math.inf
        self.bad_evals = 0  # evaluations since the last improvement
        self.stopped = False  # the run ended because of this (saved, so a resume knows)

    def update(self, value: float) -> bool:
        """Records one evaluation; True when training should stop now."""
        value = self.sign * value
        if value < self.best - self.min_delta:
            self.best = value
            self.bad_evals = 0
            return False
        self.bad_evals += 1
        return self.patience > 0 and self.bad_evals >= self.patience

    def state_dict(self) -> dict:
        return {"best": self.best, "bad_evals": self.bad_evals, "stopped": self.stopped}

    def load_state_dict(self, state: dict) -> None:
        self.best = float(state["best"])
        self.bad_evals = int(state["bad_evals"])
        self.stopped = bool(state.get("stopped", False))


def monitor_mode(name: str, mode: str) -> str:
    """`auto`: max for accuracy-like names, min for losses and the rest."""
    if mode != "auto":
        return mode
    return "max" if name.endswith(("acc", "accuracy", "f1", "exact_match")) else "min"
