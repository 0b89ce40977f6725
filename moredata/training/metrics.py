"""Training metrics: a JSONL log (one object per line) and the train/val loss plot."""
from __future__ import annotations

import json
from pathlib import Path

from moredata.atomic import atomic_write_text
from moredata.figures import pyplot, save_png


class MetricsLog:
    """Appends rows to out_dir/metrics.jsonl; on resume, drops rows from the iterations being redone."""

    def __init__(self, path: Path, resume_from_iter: int | None = None):
        self.path = path
        if resume_from_iter is None:
            atomic_write_text(path, "")
        elif path.is_file():
            kept = [r for r in read_metrics(path) if r["iter"] < resume_from_iter]
            atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in kept))
        self._f = open(path, "a", encoding="utf-8")

    def write(self, row: dict) -> None:
        self._f.write(json.dumps(row) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def read_metrics(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def plot_losses(rows: list[dict], path: Path, title: str = "", stopped_at: int | None = None,
                unit: str = "token") -> None:
    """Train loss per logged iteration (faint), evaluated train/val loss, the best val point."""
    plt = pyplot()

    train = [r for r in rows if r["type"] == "train"]
    evals = [r for r in rows if r["type"] == "eval"]
    ring = [r for r in train if "buffer_fill" in r]  # the enhanced-data generator ran: its panel below
    if ring:
        fig, (ax, ring_ax) = plt.subplots(2, 1, figsize=(8, 6.5), dpi=110, sharex=True,
                                          gridspec_kw={"height_ratios": [3, 1.3]})
        plot_ring(ring_ax, ring)
    else:
        fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    if train:
        ax.plot([r["iter"] for r in train], [r["loss"] for r in train], color="tab:blue", alpha=0.25,
                lw=0.8, label="train loss (batch)")
    if evals:
        its = [r["iter"] for r in evals]
        ax.plot(its, [r["train_loss"] for r in evals], "o-", color="tab:blue", ms=3, label="train loss (eval)")
        ax.plot(its, [r["val_loss"] for r in evals], "o-", color="tab:orange", ms=3, label="val loss (eval)")
        best = min(evals, key=lambda r: r["val_loss"])
        ax.scatter([best["iter"]], [best["val_loss"]], s=80, facecolors="none", edgecolors="red", zorder=5,
                   label=f"best val {best['val_loss']:.4f} @ {best['iter']}")
    acc_keys = sorted({k for r in evals for k in r if k.startswith("val_") and k.endswith("_acc")})
    share = any("enhanced_p" in r for r in evals)
    if acc_keys or share:  # accuracies (encoder, pointer network) and the enhanced share, on a 0-1 axis
        acc_ax = ax.twinx()
        for key, colour in [*((k, "tab:green") for k in acc_keys), *((("enhanced_p", "tab:purple"),) if share else ())]:
            rows_k = [r for r in evals if key in r]
            acc_ax.plot([r["iter"] for r in rows_k], [r[key] for r in rows_k], "s--", color=colour, ms=3,
                        lw=1, label="enhanced share p" if key == "enhanced_p" else key.replace("_", " "))
        acc_ax.set_ylabel(" / ".join([*(["accuracy"] if acc_keys else []), *(["enhanced share"] if share else [])]))
        acc_ax.set_ylim(0, 1)
        acc_ax.legend(loc="center right")
    if stopped_at is not None:
        ax.axvline(stopped_at, color="gray", ls="--", lw=1, label=f"early stop @ {stopped_at}")
    ax.set_xlabel("iteration")
    ax.set_ylabel(f"loss (nats/{unit})")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    save_png(fig, path)


def plot_ring(ax, train: list[dict]) -> None:
    """The in-process generator over the run: the ring's fill and the fragments written (left axis), the
    fragment reuse (rows drawn per fragment written, right axis)."""
    its = [r["iter"] for r in train]
    ax.plot(its, [r["buffer_fill"] for r in train], color="tab:gray", lw=1, label="ring fill")
    if "fragments_written" in train[-1]:
        ax.plot(its, [r.get("fragments_written", 0) for r in train], color="tab:brown", lw=1, ls="--",
                label="fragments written")
        reuse_ax = ax.twinx()
        reuse_ax.plot(its, [r.get("fragment_reuse", 0.0) for r in train], color="tab:purple", lw=1,
                      label="fragment reuse")
        reuse_ax.set_ylabel("draws per fragment")
        reuse_ax.legend(loc="center right", fontsize=7)
    ax.set_ylabel("fragments")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=7)


def plot_run(out_dir: Path, stopped_at: int | None = None, unit: str = "token") -> str | None:
    """loss.png beside the run's metrics.jsonl; the plot's path, or None when nothing was logged. `unit`:
    what the loss is averaged over (a pointer network's is per edit frame, not per token)."""
    rows = read_metrics(out_dir / "metrics.jsonl")
    if not rows:
        return None
    plot_losses(rows, out_dir / "loss.png", title=out_dir.name, stopped_at=stopped_at, unit=unit)
    return str(out_dir / "loss.png")
