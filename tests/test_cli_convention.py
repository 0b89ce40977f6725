"""Every console script of pyproject.toml follows the one convention (moredata/cli.py): a bad flag is one
line on stderr and exit code 2, and `--help` read by a pipe that closes early (`| head`) ends quietly."""
from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest
from conftest import ROOT

SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
SUBCOMMAND = {"moredata-lambda": ["generate"], "moredata-code": ["build-dataset"], "moredata-pointer": ["train"]}


def run_script(name: str, argv: list[str], close_stdout: bool = False) -> subprocess.CompletedProcess:
    module, func = SCRIPTS[name].split(":")
    code = f"import sys; from {module} import {func}; sys.argv = [{name!r}] + sys.argv[1:]; {func}()"
    proc = subprocess.Popen([sys.executable, "-c", code, *argv], cwd=str(ROOT), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    if close_stdout:
        proc.stdout.close()  # the reader is gone before the first byte: every write fails with EPIPE
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_an_unknown_flag_is_one_line_and_exit_2(name):
    r = run_script(name, SUBCOMMAND.get(name, []) + ["--no_such_flag=1"])
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_help_into_a_closed_pipe_ends_quietly(name):
    r = run_script(name, ["--help"], close_stdout=True)
    # 141 (as if killed by SIGPIPE) from our own help; argparse's swallows the failed write and exits 0
    assert r.returncode in (0, 141) and r.stderr == "", (r.returncode, r.stderr[-500:])


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_every_option_in_help_says_what_it_does(name):
    """Issue 23: `--help` entries without text (generate's out, count, --chunk-size; step --max-steps; split
    --seed; sample --max_new_tokens). argparse prints an option's help on its own line or after it; an
    entry line with nothing after the option and no indented text below it has none."""
    import re

    commands = [SUBCOMMAND[name][0]] if name in SUBCOMMAND else []
    if name == "moredata-lambda":
        commands = ["generate", "coverage", "diagnose", "step"]
    elif name == "moredata-code":
        commands = ["build-dataset", "split"]
    elif name == "moredata-pointer":
        commands = ["make-sets", "train", "evaluate", "compare"]
    for sub in commands or [None]:
        r = run_script(name, ([sub] if sub else []) + ["--help"])
        if r.returncode != 0 or "usage:" not in r.stdout:
            continue  # the trainer and servers print their settings table, each key with its description
        lines = r.stdout.splitlines()
        for i, line in enumerate(lines):
            m = re.match(r"^  (-[-\w]+|[a-z_]+)(, --[-\w]+)?( [A-Z_:,|.]+)?\s*$", line)
            if m and m.group(1) not in ("-h",):
                below = lines[i + 1] if i + 1 < len(lines) else ""
                assert below.startswith(" " * 10) and below.strip(), f"{name} {sub or ''}: {line.strip()} has no help"
