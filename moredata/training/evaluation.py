"""Estimating the losses (and accuracies) of a model on the train and val splits, as nanoGPT's
estimate_loss: eval_iters batches of each split, the model in eval mode."""
from __future__ import annotations

import torch


@torch.no_grad()
def estimate_loss(model, data, objective, batch_size: int, eval_iters: int, ctx, gen: torch.Generator
                  ) -> dict[str, float]:
    """Mean loss over `eval_iters` batches of each split; for an encoder also the masked-token accuracy of
    each split (`<split>_masked_acc`), for a pointer network the exact-frame accuracy (`<split>_pointer_acc`).
    Batches are drawn from `gen` (the eval generator, restored exactly on resume)."""
    out = {}
    model.eval()
    for split in ("train", "val"):
        if hasattr(data, "restart"):  # a DataLoader source: every evaluation sees the same batches
            data.restart(split, gen)
        losses = torch.zeros(eval_iters)
        correct = counted = 0
        for k in range(eval_iters):
            x, y, *mask = data.get_batch(split, batch_size, gen)
            batch = objective.to_batch(x, y, gen, *mask)
            with ctx:
                loss, logits = objective.loss_of(model, batch)
            losses[k] = loss.item()
            c, n = objective.eval_counts(batch, logits)
            correct, counted = correct + c, counted + n
        out[split] = losses.mean().item()
        if counted:
            out[f"{split}_{objective.accuracy_name}"] = correct / counted
    model.train()
    return out
