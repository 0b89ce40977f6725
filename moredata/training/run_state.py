"""What a checkpoint holds of a run beyond the weights, and how a resume puts it back.

The same run resumed (`init_from=resume`) gets everything back, so it continues as if never stopped: the
batch it was about to train on, the evaluation batches, early stopping's patience, the mixer's share.
Continued training on new data (`init_from=<checkpoint>`) keeps only the step and the optimizer.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from moredata.training.loop import TrainingLoop


def run_checkpoint(loop: TrainingLoop, evaluated: bool = True) -> dict:
    """Everything a resume needs: weights, optimizer, step, best loss, config, tokenizer and the run state
    (RNGs, early stopping, the mixer's share and state)."""
    state = {
        "evaluated": evaluated,  # False for a save on interrupt: the resumed run evaluates first
        "batch_rng": loop.batch_rng_before,  # state before the batch in hand: a resume redraws it
        "eval_rng": loop.eval_gen.get_state(),
        "torch_rng": torch.get_rng_state(),
        "early_stopping": loop.stopper.state_dict(),
        "best_iter": loop.best_iter,
    }
    if loop.enhanced is not None:
        state["enhanced"] = loop.enhanced.state_dict()
    if loop.device_type == "cuda":
        state["cuda_rng"] = torch.cuda.get_rng_state()
    return {"model": loop.raw_model.state_dict(), "optimizer": loop.optimizer.state_dict(),
            "model_type": loop.model_type, "model_args": loop.model_args, "iter_num": loop.iter_num,
            "best_val_loss": loop.best_val_loss, "config": loop.cfg.model_dump(),
            "tokenizer": loop.data.tokenizer_dict, "trainer_state": state}


def restore_run(loop: TrainingLoop, ckpt: dict) -> None:
    """Puts a checkpoint's run state back: optimizer, step, and (resuming the same run, not continuing
    on new data) best loss, early stopping, the mixer's state and every RNG."""
    continuing = loop.cfg.init_from != "resume"  # continued training on new data: step and optimizer only
    if "optimizer" in ckpt and not (continuing and loop.cfg.reset_optimizer):
        loop.optimizer.load_state_dict(ckpt["optimizer"])
        for group in loop.optimizer.param_groups:  # the new run's learning rate, not the saved one
            group["lr"] = loop.cfg.learning_rate
    loop.iter_num = int(ckpt["iter_num"])
    if continuing:
        return  # best loss, patience and RNG belong to the old data: this run measures its own
    loop.best_val_loss = float(ckpt["best_val_loss"])
    state = ckpt.get("trainer_state") or {}
    loop.best_iter = state.get("best_iter")
    loop.resumed_after_eval = bool(state.get("evaluated", True))
    if "enhanced" in state and loop.enhanced is not None:
        loop.enhanced.load_state_dict(state["enhanced"])
    if "early_stopping" in state:
        loop.stopper.load_state_dict(state["early_stopping"])
    # RNG states last: everything above may have consumed random numbers
    if "batch_rng" in state:
        loop.batch_gen.set_state(state["batch_rng"])
        loop.eval_gen.set_state(state["eval_rng"])
        torch.set_rng_state(state["torch_rng"])
        if loop.device_type == "cuda" and "cuda_rng" in state:
            torch.cuda.set_rng_state(state["cuda_rng"])
