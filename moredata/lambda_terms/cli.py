"""moredata-lambda: normal-order reduction traces of lambda terms, as training data, and their diagnosis.

    moredata-lambda generate traces.jsonl.gz 1000000 --workers 2 --seed 7     # exact count, resumable
    moredata-lambda coverage traces.jsonl.gz --png coverage.png               # what the file holds
    moredata-lambda diagnose predictions.jsonl --json scores.json             # a model's next steps, scored
    moredata-lambda step '(\\.\\.1 0) (\\.0)'                                 # one term's trace, printed

Terms are de Bruijn terms (`\\.` a lambda, numbers indices, juxtaposition application); see
moredata/lambda_terms/README.md. Bad input gets one line on stderr and exit code 2.
"""
from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path

from moredata.cli import CliParser, exit_on_user_error, positive_int
from moredata.errors import MoredataError, UserError


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = CliParser(prog="moredata-lambda", description=__doc__.split("\n\n")[0],
                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    sub = p.add_subparsers(dest="command", required=True, parser_class=CliParser)
    g = sub.add_parser("generate", help="write COUNT examples to OUT (.jsonl or .jsonl.gz)")
    g.add_argument("out", type=Path, help="output file, .jsonl or .jsonl.gz (an unfinished run of the same "
                   "command is resumed)")
    g.add_argument("count", type=positive_int, help="examples to write, exactly (1_000_000 is fine)")
    g.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    g.add_argument("--seed", type=int, default=None, help="run seed (default: from the clock, printed)")
    g.add_argument("--max-steps", type=int, default=None, help="steps per trace before it is cut (150)")
    g.add_argument("--max-size", type=int, default=None, help="a term past this many nodes stops its trace (300)")
    g.add_argument("--chunk-size", type=int, default=1000,
                   help="examples per chunk, the unit of work and of resume (default 1000)")
    g.add_argument("--depths", type=_ints, default=None, help="max lambda nesting depth per cycle (10 values: 6,...,15)")
    g.add_argument("--sizes", type=_ints, default=None, help="max size per cycle (80,100,...,110)")
    g.add_argument("--config", type=Path, default=None,
                   help="TOML with any of max_steps, max_size, depths, sizes (flags override it)")
    g.add_argument("--dedup", action="store_true", help="drop repeated (input, target) pairs")
    g.add_argument("--ray", default=None, metavar="ADDR",
                   help="run the chunks on a Ray cluster: its address, 'auto' (the running one) or 'local'")
    g.add_argument("--verify", action="store_true",
                   help="check every finished trace's last term against the independent normaliser")
    c = sub.add_parser("coverage", help="histograms and shares of a generated file")
    c.add_argument("file", type=Path, help="a file `generate` wrote (.jsonl or .jsonl.gz)")
    c.add_argument("--png", type=Path, default=None, help="write the histograms as a PNG")
    c.add_argument("--json", type=Path, default=None, help="write the figures as JSON")
    d = sub.add_parser("diagnose", help="score predicted next steps ({input, target, prediction} per line)")
    d.add_argument("file", type=Path, help="JSONL of {input, target, prediction}, one per line")
    d.add_argument("--json", type=Path, default=None, help="write the scores as JSON")
    s = sub.add_parser("step", help="print a term's normal-order reduction, one step per line")
    s.add_argument("term", help="a closed de Bruijn term, e.g. '(\\.0 0) (\\.0)'")
    s.add_argument("--max-steps", type=positive_int, default=50, help="steps shown at most (default 50)")
    return p


def _settings(args):
    from moredata.lambda_terms.traces import TraceSettings

    values = {}
    if args.config is not None:
        try:
            values = tomllib.loads(args.config.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise UserError(f"--config {args.config}: {e}") from None
        unknown = set(values) - {"max_steps", "max_size", "depths", "sizes"}
        if unknown:
            raise UserError(f"--config {args.config}: unknown keys {sorted(unknown)}")
    for key in ("max_steps", "max_size", "depths", "sizes"):
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    return TraceSettings(**values)


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "generate":
            _generate(args)
        elif args.command == "coverage":
            _coverage(args)
        elif args.command == "diagnose":
            _diagnose(args)
        else:
            _step(args)
    except MoredataError as e:
        raise UserError(str(e)) from None


def _generate(args) -> None:
    from moredata.lambda_terms.generate import GenerateJob, generate

    job = GenerateJob(out=args.out, count=args.count, seed=args.seed, workers=args.workers,
                      chunk_size=args.chunk_size, dedup=args.dedup, settings=_settings(args), ray=args.ray)
    s = generate(job)
    print(f"generated {s['examples']:,} examples in {s['chunks']} chunks to {s['out']} (seed {s['seed']}, "
          f"{s['workers']} workers, {s['seconds']} s, {s['examples_per_s']:,.0f} examples/s"
          + (f", resumed at {s['resumed_from']:,}" if s["resumed_from"] else "") + ")")
    if args.verify:
        from moredata.lambda_terms.verify import verify_file

        v = verify_file(args.out)
        print(f"verified {v['checked']:,} finished traces against the normaliser: {v['mismatches']} mismatches")
        if v["mismatches"]:
            raise SystemExit(1)


COVERAGE_ROWS = ("examples", "traces", "share_lambda_depth_ge11", "share_redex_lambda_depth_ge5",
                 "share_size_120_200", "share_growing_steps", "share_distinct_pairs", "share_traces_le1_step",
                 "broken_traces", "max_depth", "max_size", "mean_depth", "mean_size", "mean_start_size",
                 "mean_steps_per_trace")


def _coverage(args) -> None:
    from moredata.lambda_terms.report import coverage, coverage_plot, table

    cov = coverage(args.file)
    rows = [(k, str(cov[k])) for k in COVERAGE_ROWS]
    rows.append(("traces stopped", ", ".join(f"{k} {v}" for k, v in sorted(cov["traces_stopped"].items()))))
    print(table(rows, ("coverage", str(args.file))))
    if args.png:
        coverage_plot(cov, args.png)
        print(f"wrote {args.png}")
    if args.json:
        args.json.write_text(json.dumps(cov, indent=2))


def _diagnose(args) -> None:
    from moredata.lambda_terms.report import diagnose, table

    scores = diagnose(args.file)
    rows = [(k, f"{v['accuracy']:.1%} of {v['n']:,}" if v["accuracy"] is not None else f"- of {v['n']}")
            for k, v in scores.items()]
    print(table(rows, ("next-step exact match", str(args.file))))
    if args.json:
        args.json.write_text(json.dumps(scores, indent=2))


def _step(args) -> None:
    from moredata.lambda_terms.stepper import step
    from moredata.lambda_terms.terms import is_closed, parse, to_text

    t = parse(args.term)
    if not is_closed(t):
        # generate and the model work on closed terms only: an index past its lambdas names nothing
        raise UserError(f"{args.term!r} is an open term (an index points past the lambdas above it): "
                        f"traces are of closed terms, e.g. '\\.0'")
    print(f"0: {to_text(t)}")
    for n in range(1, args.max_steps + 1):
        s = step(t)
        if s is None:
            print("(normal form)")
            return
        t = s.term
        print(f"{n}: {to_text(t)}")
    print(f"(stopped after {args.max_steps} steps)")


if __name__ == "__main__":
    main()
