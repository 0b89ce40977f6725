"""Early stopping on an evaluated loss: stop after `patience` evaluations without real improvement."""
from __future__ import annotations

import math


class EarlyStopping:
    def __init__(self, patience: int, min_delta: float = 0.0):
        self.patience = patience  # 0 disables
        self.min_delta = min_delta
        self.best = math.inf
        self.bad_evals = 0  # evaluations since the last improvement
        self.stopped = False  # the run ended because of this (saved, so a resume knows)

    def update(self, value: float) -> bool:
        """Records one evaluation; True when training should stop now."""
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
