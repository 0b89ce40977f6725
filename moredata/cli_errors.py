"""One convention for user mistakes on every CLI: a one-line message on stderr and exit code 2."""
from __future__ import annotations

import functools
import sys


class UserError(Exception):
    """A mistake in what the user asked for (bad flag, bad file): reported without a traceback."""


def exit_on_user_error(main):
    """Wraps a CLI entry point so UserError becomes `error: <message>` and exit status 2."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            raise SystemExit(2) from None

    return wrapper
