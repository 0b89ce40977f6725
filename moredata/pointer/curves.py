"""Validation curves of several pointer-network runs in one PNG (`moredata-pointer compare`).

    plot_runs({"none": Path("runs/none"), "all": Path("runs/all")}, Path("compare.png"))

Left: validation loss per epoch (solid) and the train loss on un-augmented training samples (dotted);
right: validation exact-frame pointer accuracy. Several seeds of one setting share a colour.
"""
from __future__ import annotations

from pathlib import Path

from moredata.figures import pyplot, save_png
from moredata.training.metrics import read_metrics


def plot_runs(runs: dict[str, Path | list[Path]], out: Path, title: str = "") -> None:
    plt = pyplot()

    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(12, 4.5), dpi=110)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (name, folders) in enumerate(runs.items()):
        colour = colours[k % len(colours)]
        for j, folder in enumerate(folders if isinstance(folders, list) else [folders]):
            evals = [r for r in read_metrics(Path(folder) / "metrics.jsonl") if r["type"] == "eval"]
            its = [r["iter"] for r in evals]
            label = name if j == 0 else None
            loss_ax.plot(its, [r["val_loss"] for r in evals], color=colour, lw=1.2, alpha=0.85, label=label)
            loss_ax.plot(its, [r["train_loss"] for r in evals], color=colour, lw=0.8, ls=":", alpha=0.7)
            if evals and "val_pointer_acc" in evals[0]:
                acc_ax.plot(its, [r["val_pointer_acc"] for r in evals], color=colour, lw=1.2, alpha=0.85, label=label)
    loss_ax.set(xlabel="iteration", ylabel="loss (nats/frame)", title="val loss (solid), clean train loss (dotted)")
    acc_ax.set(xlabel="iteration", ylabel="exact-frame accuracy", title="validation pointer accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    save_png(fig, out)
