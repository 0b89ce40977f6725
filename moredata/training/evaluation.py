"""Estimating the losses (and accuracies) of a model on the train and val splits, as nanoGPT's
estimate_loss: eval_iters batches of each split, the model in eval mode. With `compute_metrics`, the val
split's logits and labels are gathered too and handed to it (HF's EvalPrediction, numpy arrays)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from moredata.errors import UserError


@dataclass
class EvalPrediction:
    """What `compute_metrics` and `Trainer.predict` see, as HF's: `predictions` (N, T, vocab) logits
    and `label_ids` (N, T), rows of every batch stacked, padded along T (labels with -100, the ignored
    positions: padding, unmasked tokens of an encoder, the GPT's last position)."""
    predictions: np.ndarray
    label_ids: np.ndarray | None


class Gatherer:
    """Collects (logits, labels) batch by batch; `result()` pads them to one (N, T, ...) array."""

    def __init__(self, objective):
        self.objective, self.logits, self.labels = objective, [], []

    def add(self, batch: tuple, logits: torch.Tensor | None) -> None:
        if logits is None:
            raise UserError("compute_metrics and predict need the model's logits: return (loss, logits), "
                            "a dict with 'logits', or an object with .logits")
        labels = self.objective.labels_of(batch)
        self.logits.append(logits.detach().float().cpu())
        self.labels.append(None if labels is None else labels.detach().cpu())

    def result(self) -> EvalPrediction:
        return EvalPrediction(_stack(self.logits, 0.0), None if any(x is None for x in self.labels)
                              else _stack(self.labels, -100))


def _stack(parts: list[torch.Tensor], fill) -> np.ndarray:
    if parts[0].dim() < 2:
        return torch.cat(parts).numpy()
    T = max(p.size(1) for p in parts)
    out = [torch.nn.functional.pad(p, (0, 0) * (p.dim() - 2) + (0, T - p.size(1)), value=fill) for p in parts]
    return torch.cat(out).numpy()


@torch.no_grad()
def estimate_loss(model, data, objective, batch_size: int, eval_iters: int, ctx, gen: torch.Generator,
                  compute_metrics=None) -> dict[str, float]:
    """Mean loss over `eval_iters` batches of each split; for an encoder also the masked-token accuracy of
    each split (`<split>_masked_acc`), for a pointer network the exact-frame accuracy (`<split>_pointer_acc`);
    with `compute_metrics`, its values on the val batches as `val_<name>`.
    Batches are drawn from `gen` (the eval generator, restored exactly on resume)."""
    out = {}
    model.eval()
    for split in ("train", "val"):
        gather = Gatherer(objective) if compute_metrics is not None and split == "val" else None
        out.update(evaluate_split(model, data, objective, split, batch_size, eval_iters, ctx, gen, gather))
        if gather is not None:
            out.update({f"val_{k}": v for k, v in metrics_of(compute_metrics, gather.result()).items()})
    model.train()
    return out


@torch.no_grad()
def evaluate_split(model, data, objective, split: str, batch_size: int, n_batches: int, ctx, gen: torch.Generator,
                   gather: Gatherer | None = None) -> dict[str, float]:
    """{split: mean loss over n_batches, `<split>_<accuracy>` where the objective counts one}, the model
    in whatever mode the caller set; `gather` collects the logits and labels (compute_metrics, predict)."""
    if hasattr(data, "restart"):  # a DataLoader source: every evaluation sees the same batches
        data.restart(split, gen)
    losses = torch.zeros(n_batches)
    correct = counted = 0
    for k in range(n_batches):
        x, y, *mask = data.get_batch(split, batch_size, gen)
        batch = objective.to_batch(x, y, gen, *mask)
        with ctx:
            loss, logits = objective.loss_of(model, batch)
        losses[k] = loss.item()
        c, n = objective.eval_counts(batch, logits)
        correct, counted = correct + c, counted + n
        if gather is not None:
            gather.add(batch, logits)
    out = {split: losses.mean().item()}
    if counted:
        out[f"{split}_{objective.accuracy_name}"] = correct / counted
    return out


def metrics_of(compute_metrics, prediction: EvalPrediction) -> dict[str, float]:
    """compute_metrics' dict, every value a number (a name it returns as `eval_x` or `val_x` keeps x)."""
    got = compute_metrics(prediction)
    if not isinstance(got, dict):
        raise UserError(f"compute_metrics must return a dict of numbers, got {type(got).__name__}")
    out = {}
    for k, v in got.items():
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise UserError(f"compute_metrics returned {k!r}: {v!r}, not a number") from None
        name = str(k).removeprefix("eval_").removeprefix("val_")
        out[name] = v
    return out
