"""What a run shows while it trains: a tqdm bar on a terminal or in a notebook (tqdm.auto: a widget in
Jupyter; plain lines otherwise) and the rows of metrics.jsonl. Only rank 0 shows anything."""
from __future__ import annotations

import sys
from pathlib import Path

from tqdm.auto import tqdm  # a widget in Jupyter, text on a terminal

from moredata.training.metrics import MetricsLog


class Progress:
    def __init__(self, master: bool, show_bar: bool, total: int, start_iter: int, out_dir: Path,
                 resumed: bool):
        self.master = master
        self.metrics = MetricsLog(out_dir / "metrics.jsonl", start_iter if resumed else None) if master else None
        show_bar = master and show_bar and (sys.stderr.isatty() or in_notebook())
        self.bar = tqdm(total=total, initial=start_iter, unit="it", dynamic_ncols=True,
                        mininterval=0.5) if show_bar else None

    def say(self, text: str) -> None:
        """A line that stays (above the bar, when there is one)."""
        if self.bar is not None:
            self.bar.write(text)
        else:
            print(text, flush=True)

    def write(self, row: dict) -> None:
        self.metrics.write(row)

    def train_row(self, row: dict, last_val: float | None, extra: str = "") -> None:
        """A `train` row: into metrics.jsonl, and onto the bar (or a printed line without one)."""
        self.metrics.write(row)
        loss, ms, mfu = row["loss"], row["ms"], row["mfu"]
        if self.bar is not None:
            val = f", val {last_val:.4f}" if last_val is not None else ""
            self.postfix(f"loss {loss:.4f}, {ms:.0f} ms/it{val}{extra}")
        else:
            mfu_txt = f", mfu {mfu * 100:.2f}%" if mfu >= 0 else ""
            print(f"iter {row['iter']}: loss {loss:.4f}, time {ms:.2f}ms{mfu_txt}{extra}", flush=True)

    def postfix(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)

    def step(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.metrics is not None:
            self.metrics.close()


def in_notebook() -> bool:
    """Inside a Jupyter kernel (where stderr is no terminal but a progress bar shows as a widget)."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"
