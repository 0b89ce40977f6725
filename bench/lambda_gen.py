"""Lambda-trace generation speed and coverage at the default cycle tables.

    python bench/lambda_gen.py          # table + bench/results/lambda_gen.json + lambda_coverage.png

Per core: one worker (generation inline), timed over 200k examples. Machine: as many workers as cores,
timed over 1M examples (the same seed); that run's file is then checked end to end: the exact count,
and every finished trace's last term against the independent normaliser (NbE). Its coverage goes to the
JSON and the PNG. The projected time for 15M examples is 15M / the machine rate.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench._results import write_results
from moredata.cli import CliParser
from moredata.lambda_terms.generate import GenerateJob, generate
from moredata.lambda_terms.report import coverage, coverage_plot
from moredata.lambda_terms.verify import verify_file

ROOT = Path(__file__).resolve().parents[1]

OUT = ROOT / "bench" / "results"
# issue 24's coverage targets for a 1M run at the defaults
TARGETS = {"share_lambda_depth_ge11": ">= 0.25", "share_redex_lambda_depth_ge5": ">= 0.25",
           "share_size_120_200": ">= 0.30", "share_growing_steps": ">= 0.15", "share_distinct_pairs": ">= 0.97",
           "share_traces_le1_step": "<= 0.02"}
SHARES = tuple(TARGETS) + ("share_depth_gt10",)


def main() -> None:
    CliParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    cores = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="lambda-bench-"))
    one = generate(GenerateJob(out=work / "one.jsonl", count=200_000, seed=2026, workers=1, progress=False))
    t0 = time.time()
    generate(GenerateJob(out=work / "full.jsonl.gz", count=1_000_000, seed=2026, workers=cores, progress=True))
    machine_rate = 1_000_000 / (time.time() - t0)  # pool start-up included
    t0 = time.time()
    ver = verify_file(work / "full.jsonl.gz")
    verify_s = time.time() - t0
    cov = coverage(work / "full.jsonl.gz")
    coverage_plot(cov, OUT / "lambda_coverage.png")
    result = {
        "examples_per_s_per_core": round(one["examples_per_s"], 1),
        "examples_per_s_machine": round(machine_rate, 1),
        "cores": cores,
        "projected_15m_minutes": round(15_000_000 / machine_rate / 60, 2),
        **{k: cov[k] for k in SHARES},
        "max_depth": cov["max_depth"], "max_size": cov["max_size"], "mean_depth": cov["mean_depth"],
        "mean_size": cov["mean_size"], "mean_start_size": cov["mean_start_size"],
        "mean_steps_per_trace": cov["mean_steps_per_trace"], "traces_stopped": cov["traces_stopped"],
        "broken_traces": cov["broken_traces"], "targets": TARGETS,
        "run_1m": {"examples": cov["examples"], "traces": cov["traces"], "verified_traces": ver["checked"],
                   "mismatches": ver["mismatches"], "skipped_out_of_fuel": ver["skipped_out_of_fuel"],
                   "verify_seconds": round(verify_s, 1)},
        "target_examples_per_s_per_core": 10_000,
        # before issue 24 (terms of mean size 55, depth counted in nodes): the same bench on the same machine
        "before": {"examples_per_s_per_core": 19383.7, "mean_size": 55.27},
    }
    write_results(OUT / "lambda_gen.json", result, indent=2)
    rows = [("examples/s per core (1 worker)", result["examples_per_s_per_core"]),
            (f"examples/s, machine ({cores} workers)", result["examples_per_s_machine"]),
            ("projected minutes for 15M", result["projected_15m_minutes"]),
            *((f"{k} (target {TARGETS.get(k, '-')})", result[k]) for k in SHARES),
            ("max depth / max size", f"{result['max_depth']} / {result['max_size']}"),
            ("1M run: examples, traces", f"{cov['examples']:,}, {cov['traces']:,}"),
            ("1M run: traces checked by NbE, mismatches", f"{ver['checked']:,}, {ver['mismatches']}"),
            ("1M run: traces not whole", cov["broken_traces"])]
    w = max(len(r[0]) for r in rows)
    print("\n".join(f"{a:<{w}}  {b}" for a, b in rows))
    print(f"wrote {OUT / 'lambda_gen.json'} and {OUT / 'lambda_coverage.png'}")


if __name__ == "__main__":
    main()
