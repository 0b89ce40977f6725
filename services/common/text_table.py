"""A two-column text table for CLI summaries (label, value), aligned on the label column."""
from __future__ import annotations


def table(rows: list[tuple[str, str]], head: tuple[str, str]) -> str:
    w = max(len(r[0]) for r in [head, *rows])
    lines = [f"{head[0]:<{w}}  {head[1]}", f"{'-' * w}  {'-' * len(head[1])}"]
    return "\n".join(lines + [f"{a:<{w}}  {b}" for a, b in rows])
