"""A two-column text table for CLI summaries (label, value), aligned on the label column."""
from __future__ import annotations


def table(rows: list[tuple[str, str]], head: tuple[str, str]) -> str:
    w = max(len(r[0]) for r in [head, *rows])
    lines = [f"{head[0]:<{w}}  {head[1]}", f"{'-' * w}  {'-' * len(head[1])}"]
    return "\n".join(lines + [f"{a:<{w}}  {b}" for a, b in rows])


def grid(head: list[str], rows: list[list]) -> str:
    """A Markdown table (pastes into an issue or a README as it is), columns padded to align."""
    cells = [[str(c) for c in head], *[[str(c) for c in r] for r in rows]]
    w = [max(len(r[i]) for r in cells) for i in range(len(head))]
    line = lambda r: "| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |"  # noqa: E731
    return "\n".join([line(cells[0]), "|" + "|".join("-" * (n + 2) for n in w) + "|", *map(line, cells[1:])])
