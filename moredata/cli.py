"""Argument parsing shared by the project's CLIs: argparse's own errors as one line and exit code 2
(the convention of cli_errors), and the number types the CLIs take."""
from __future__ import annotations

import argparse
import sys


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: one line and exit code 2, as every CLI here
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def positive_int(text: str) -> int:
    """A whole number >= 1; `1_000_000` is fine."""
    try:
        n = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n
