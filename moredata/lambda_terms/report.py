"""Coverage of a generated file, and scoring of a model's predicted next steps (`diagnose`).

Both read JSONL or .jsonl.gz. Size buckets and depth splits are the users' own: < 20, 20-50, 50-80,
> 80 nodes; depth <= 7 and > 7.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

from moredata.errors import InvalidArgument
from moredata.lambda_terms.terms import TermSyntaxError, depth, parse
from moredata.lambda_terms.traces import NF_MARKER
from moredata.text_table import table  # noqa: F401  (the CLI and bench print with it)

SIZE_BUCKETS = (("size_lt20", 0, 20), ("size_20_50", 20, 50), ("size_50_80", 50, 80), ("size_gt80", 80, 10**9))


def read_jsonl(path: Path):
    """Dicts from a JSONL(.gz) file; InvalidArgument naming the line for anything that is not JSON."""
    path = Path(path)
    if path.is_dir():
        raise InvalidArgument(f"{path} is a directory: give a .jsonl or .jsonl.gz file")
    if not path.is_file():
        raise InvalidArgument(f"{path}: no such file")
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as e:
                        raise InvalidArgument(f"{path}:{n}: not JSON ({e.msg})") from None
    except (OSError, UnicodeDecodeError, EOFError) as e:
        raise InvalidArgument(f"{path}: unreadable ({e})") from None


def coverage(path: Path) -> dict:
    """Histograms and shares of a generated file (meta fields of every example)."""
    cols = {k: [] for k in ("depth", "size", "redex_depth", "total_steps", "step")}
    stopped: dict[str, int] = {}
    for d in read_jsonl(path):
        m = d.get("meta")
        if not isinstance(m, dict):
            raise InvalidArgument(f"{path}: an example without meta (is this a generated file?)")
        for k in cols:
            cols[k].append(m[k])
        if m["step"] == 0:
            stopped[m["stopped"]] = stopped.get(m["stopped"], 0) + 1
    if not cols["depth"]:
        raise InvalidArgument(f"{path}: no examples")
    a = {k: np.asarray(v) for k, v in cols.items()}
    traces = a["step"] == 0
    return {
        "examples": int(a["depth"].size), "traces": int(traces.sum()),
        "share_depth_gt10": round(float((a["depth"] > 10).mean()), 4),
        "share_size_gt150": round(float((a["size"] > 150).mean()), 4),
        "max_depth": int(a["depth"].max()), "max_size": int(a["size"].max()),
        "mean_depth": round(float(a["depth"].mean()), 2), "mean_size": round(float(a["size"].mean()), 2),
        "share_redex_depth_gt4": round(float((a["redex_depth"] > 4).mean()), 4),
        "mean_steps_per_trace": round(float(a["total_steps"][traces].mean()), 2),
        "traces_stopped": stopped,
        "hist": {k: np.bincount(np.clip(a[k], 0, None)).tolist() for k in ("depth", "size", "redex_depth")}
        | {"steps": np.bincount(a["total_steps"][traces]).tolist()},
    }


def coverage_plot(cov: dict, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    for ax, key, label in zip(axes.flat, ("depth", "size", "redex_depth", "steps"),
                              ("term depth (nodes)", "term size (nodes)", "redex depth (nodes above)",
                               "steps per trace")):
        h = np.asarray(cov["hist"][key])
        # the x axis ends at the 99.5th percentile: a few long tails would squeeze the rest into a line
        cut = int(np.searchsorted(np.cumsum(h), 0.995 * h.sum())) + 1
        ax.bar(np.arange(cut), h[:cut], width=1.0, color="#4477aa")
        ax.set_xlabel(label + (f" (up to {h.size - 1}; {h[cut:].sum():,} beyond {cut - 1})" if cut < h.size else ""))
        ax.set_ylabel("examples" if key != "steps" else "traces")
    fig.suptitle(f"{cov['examples']:,} examples: depth > 10 {cov['share_depth_gt10']:.1%}, "
                 f"size > 150 {cov['share_size_gt150']:.1%}, max depth {cov['max_depth']}, max size {cov['max_size']}")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=90)
    plt.close(fig)


def _canonical(text: str):
    if text.strip() == NF_MARKER:
        return NF_MARKER
    try:
        return tuple(parse(text))
    except TermSyntaxError:
        return None


def diagnose(path: Path) -> dict:
    """Exact-match accuracy of predictions (`{"input", "target", "prediction"}` per line), overall, by
    size bucket and by depth. A prediction counts when it is the same term as the target (parsed, so
    spacing and redundant parentheses do not matter) or both are the normal-form marker."""
    rows = []
    for n, d in enumerate(read_jsonl(path), 1):
        if not all(isinstance(d.get(k), str) for k in ("input", "target", "prediction")):
            raise InvalidArgument(f"{path}:{n}: needs string fields input, target and prediction")
        try:
            t = parse(d["input"])
        except TermSyntaxError as e:
            raise InvalidArgument(f"{path}:{n}: input: {e}") from None
        target = _canonical(d["target"])
        if target is None:
            raise InvalidArgument(f"{path}:{n}: target is not a term or {NF_MARKER}")
        rows.append((len(t), depth(t), _canonical(d["prediction"]) == target))
    if not rows:
        raise InvalidArgument(f"{path}: no predictions")
    size, dep, ok = (np.asarray(c) for c in zip(*rows))

    def acc(mask) -> dict:
        return {"accuracy": round(float(ok[mask].mean()), 4) if mask.any() else None, "n": int(mask.sum())}

    out = {"overall": acc(np.ones_like(ok, dtype=bool))}
    for name, lo, hi in SIZE_BUCKETS:
        out[name] = acc((size >= lo) & (size < hi))
    out["depth_le7"] = acc(dep <= 7)
    out["depth_gt7"] = acc(dep > 7)
    return out
