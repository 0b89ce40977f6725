"""Writing matplotlib figures: headless (Agg), laid out, atomically, and closed (no figure leaks in loops)."""
from __future__ import annotations

import io
from pathlib import Path

from moredata.atomic import atomic_write_bytes


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed: servers, CI, containers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: str | Path) -> None:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    pyplot().close(fig)
    atomic_write_bytes(path, buf.getvalue())
