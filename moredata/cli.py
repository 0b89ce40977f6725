"""One convention for every console script (`moredata-*`):

- flags are spelled in snake_case, as the config keys they set (`--out_dir`, `--chunk_size`); the kebab
  spelling (`--chunk-size`) is accepted too, so older commands keep working; `--key=value` works everywhere;
- a mistake (a bad flag, a bad value, a bad file) is one line on stderr, `error: <what is wrong>`, and exit
  code 2, never a traceback: argparse's own errors through `CliParser`, the project's through
  `exit_on_user_error` (which catches `moredata.errors.UserError`);
- the trainer and the servers take every key of their pydantic settings as a flag: `parse_key_values`
  reads those (`--key=value` or `--key value`, either spelling), the settings class then validates them;
- a long-running process logs through `setup_logging()`.
"""
from __future__ import annotations

import argparse
import functools
import logging
import os
import sys

from moredata.errors import UserError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class CliParser(argparse.ArgumentParser):
    """argparse with the project's convention: each `--a_b` / `--a-b` flag answers to both spellings (the
    snake_case one first: it names the value and leads the help), errors are one line and exit code 2.
    Subcommands made with `add_subparsers()` are CliParsers too (argparse uses the parent's class)."""

    def add_argument(self, *names, **kwargs):
        if names and all(n.startswith("-") for n in names):
            spelled = []
            for n in names:
                if n.startswith("--"):
                    stem = n[2:]
                    spelled += ["--" + stem.replace("-", "_"), "--" + stem.replace("_", "-")]
                else:
                    spelled.append(n)
            names = tuple(dict.fromkeys(spelled))
        return super().add_argument(*names, **kwargs)

    def error(self, message):
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def parse_key_values(argv: list[str], known, unknown_message) -> tuple[list[str], dict[str, str]]:
    """(positional arguments, {key: raw value}) of `--key=value` / `--key value` flags, each key spelled in
    snake_case or kebab-case and given as its snake_case name; a key not in `known` is a UserError worded
    by `unknown_message(key)`. Values stay strings: the settings class validates them."""
    positionals, values = [], {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if not arg.startswith("--"):
            positionals.append(arg)
            continue
        key, eq, value = arg[2:].partition("=")
        key = key.replace("-", "_")
        if key not in known:
            raise UserError(unknown_message(key))
        if not eq:
            if i == len(argv) or argv[i].startswith("--"):
                raise UserError(f"--{key} needs a value (--{key}=VALUE or --{key} VALUE)")
            value, i = argv[i], i + 1
        values[key] = value
    return positionals, values


def exit_on_user_error(main):
    """Wraps a CLI entry point so UserError becomes `error: <message>` and exit status 2, and a reader that
    goes away (`moredata-train --help | head`) ends the command quietly, as it ends a Unix tool."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            try:
                return main(*args, **kwargs)
            finally:  # argparse's --help exits through SystemExit: flush on every way out
                sys.stdout.flush()  # here, not at interpreter exit, where a broken pipe prints a traceback
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            raise SystemExit(2) from None
        except BrokenPipeError:
            # stdout's reader is gone: nothing more can be shown. Point stdout at /dev/null so the exit
            # flush has nowhere to fail, and exit as a process killed by SIGPIPE would (128 + 13)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise SystemExit(141) from None

    return wrapper


def setup_logging(level: int = logging.INFO) -> None:
    """The process is ours (not a library's): INFO lines with time, level and logger name."""
    logging.basicConfig(level=level, format=LOG_FORMAT)


def positive_int(text: str) -> int:
    """A whole number >= 1; `1_000_000` is fine."""
    try:
        n = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n
