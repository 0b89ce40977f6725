"""Coverage of a generated file, and scoring of a model's predicted next steps (`diagnose`).

Both read JSONL or .jsonl.gz. Size buckets and depth splits are the users' own: < 20, 20-50, 50-80,
> 80 nodes; depth <= 7 and > 7, where depth is the lambda nesting depth (see traces.py).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from moredata.errors import InvalidArgument
from moredata.jsonl import numbered_jsonl, read_jsonl
from moredata.lambda_terms.terms import TermSyntaxError, lambda_depth, parse
from moredata.lambda_terms.traces import NF_MARKER
from moredata.text_table import table  # noqa: F401  (the CLI and bench print with it)

SIZE_BUCKETS = (("size_lt20", 0, 20), ("size_20_50", 20, 50), ("size_50_80", 50, 80), ("size_gt80", 80, 10**9))


def coverage(path: Path) -> dict:
    """Histograms and shares of a generated file (meta fields of every example), and a check that every
    trace is whole (`broken_traces`: traces whose steps do not run 0 .. total_steps - 1 in order, or
    whose `stopped: normal` does not end in the normal-form example)."""
    cols = {k: [] for k in ("depth", "tree_depth", "size", "redex_depth", "total_steps", "step", "grows")}
    stopped: dict[str, int] = {}
    pair_hash, normal, nf = [], [], []
    for d in read_jsonl(path):
        m = d.get("meta")
        if not isinstance(m, dict) or any(k not in m for k in cols):
            raise InvalidArgument(f"{path}: an example without the meta of `generate` ({', '.join(cols)})")
        for k in cols:
            cols[k].append(m[k])
        if m["step"] == 0:
            stopped[m["stopped"]] = stopped.get(m["stopped"], 0) + 1
        pair_hash.append(hash((d["input"], d["target"])))
        normal.append(m["stopped"] == "normal")
        nf.append(d["target"] == NF_MARKER)
    if not cols["depth"]:
        raise InvalidArgument(f"{path}: no examples")
    a = {k: np.asarray(v) for k, v in cols.items()}
    traces = a["step"] == 0
    size = a["size"]
    return {
        "examples": int(size.size), "traces": int(traces.sum()),
        "share_lambda_depth_ge11": _share(a["depth"] >= 11),
        "share_redex_lambda_depth_ge5": _share(a["redex_depth"] >= 5),
        "share_size_120_200": _share((size >= 120) & (size <= 200)),
        "share_growing_steps": _share(a["grows"]),
        "share_distinct_pairs": round(np.unique(np.asarray(pair_hash, dtype=np.int64)).size / size.size, 4),
        "share_traces_le1_step": _share(a["total_steps"][traces] <= 1),
        "share_depth_gt10": _share(a["depth"] > 10),
        "max_depth": int(a["depth"].max()), "max_tree_depth": int(a["tree_depth"].max()),
        "max_size": int(size.max()), "mean_depth": round(float(a["depth"].mean()), 2),
        "mean_size": round(float(size.mean()), 2),
        "mean_start_size": round(float(size[traces].mean()), 2),
        "mean_steps_per_trace": round(float(a["total_steps"][traces].mean()), 2),
        "traces_stopped": stopped,
        "broken_traces": _broken_traces(a["step"], a["total_steps"], np.asarray(normal), np.asarray(nf)),
        "hist": {k: np.bincount(np.clip(a[k], 0, None)).tolist() for k in ("depth", "size", "redex_depth")}
        | {"steps": np.bincount(a["total_steps"][traces]).tolist()},
    }


def _share(mask: np.ndarray) -> float:
    return round(float(mask.mean()), 4) if mask.size else 0.0


def _broken_traces(step: np.ndarray, total: np.ndarray, normal: np.ndarray, nf: np.ndarray) -> int:
    """Traces (runs of lines from a step 0) that are not whole, vectorised over the file's lines."""
    n = step.size
    starts = np.flatnonzero(step == 0)
    if starts.size == 0:
        return 1 if n else 0  # lines before any trace start: a trace cut at its head
    start_of = np.maximum.accumulate(np.where(step == 0, np.arange(n), 0))  # each line's trace start
    ok = (step == np.arange(n) - start_of) & (total == total[start_of])
    last = np.append(step[1:] == 0, True)  # a line followed by a new trace (or the end) ends its trace
    ok &= last == (step == total - 1)
    ok &= nf == (last & normal)  # a normal trace ends in the normal-form example, and only there
    ok[: starts[0]] = False
    bad_lines = np.flatnonzero(~ok)
    return int(np.unique(start_of[bad_lines]).size)


def coverage_plot(cov: dict, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    for ax, key, label in zip(axes.flat, ("depth", "size", "redex_depth", "steps"),
                              ("lambda nesting depth", "term size (nodes)", "lambdas above the redex",
                               "steps per trace")):
        h = np.asarray(cov["hist"][key])
        # the x axis ends at the 99.5th percentile: a few long tails would squeeze the rest into a line
        cut = int(np.searchsorted(np.cumsum(h), 0.995 * h.sum())) + 1
        ax.bar(np.arange(cut), h[:cut], width=1.0, color="#4477aa")
        ax.set_xlabel(label + (f" (up to {h.size - 1}; {h[cut:].sum():,} beyond {cut - 1})" if cut < h.size else ""))
        ax.set_ylabel("examples" if key != "steps" else "traces")
    fig.suptitle(f"{cov['examples']:,} examples: lambda depth >= 11 {cov['share_lambda_depth_ge11']:.1%}, "
                 f"redex under >= 5 lambdas {cov['share_redex_lambda_depth_ge5']:.1%}, size 120-200 "
                 f"{cov['share_size_120_200']:.1%}, growing steps {cov['share_growing_steps']:.1%}")
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
    size bucket and by lambda depth. A prediction counts when it is the same term as the target (parsed, so
    spacing and redundant parentheses do not matter) or both are the normal-form marker."""
    rows = []
    for n, d in numbered_jsonl(path):
        if not all(isinstance(d.get(k), str) for k in ("input", "target", "prediction")):
            raise InvalidArgument(f"{path}:{n}: needs string fields input, target and prediction")
        try:
            t = parse(d["input"])
        except TermSyntaxError as e:
            raise InvalidArgument(f"{path}:{n}: input: {e}") from None
        target = _canonical(d["target"])
        if target is None:
            raise InvalidArgument(f"{path}:{n}: target is not a term or {NF_MARKER}")
        rows.append((len(t), lambda_depth(t), _canonical(d["prediction"]) == target))
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
