"""moredata-code: instruction samples from source code (syntax-aware splits, augmentations, quality
weights, near-dedup, decontamination, language balance).

    moredata-code build-dataset /usr/lib/python3.11 --out samples.jsonl --workers 2
    moredata-code build-dataset src/ other/ --out samples.jsonl.gz --ray auto --max-per-language 50000
    moredata-code split path/to/file.py                      # the samples of one file, as JSON lines

Languages: Python, JavaScript, TypeScript, Go, Rust, Java, C, C++ (by file extension). Other files are
counted as skipped. Bad input gets one line on stderr and exit code 2. See moredata/code/README.md.
"""
from __future__ import annotations

import argparse
import json
import sys

from moredata.cli import CliParser, exit_on_user_error, positive_int
from moredata.code.augmentations import AUGMENTATIONS
from moredata.errors import MoredataError, UserError
from moredata.text_table import table


def _cap(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a count or 'auto', got {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (no cap) or more, got {n}")
    return n


def _augmentations(text: str) -> tuple[str, ...]:
    names = tuple(a for a in text.split(",") if a) if text not in ("none", "") else ()
    unknown = set(names) - set(AUGMENTATIONS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown augmentations {sorted(unknown)}; known: {','.join(AUGMENTATIONS)}")
    return names


def build_parser() -> argparse.ArgumentParser:
    p = CliParser(prog="moredata-code", description=__doc__.split("\n\n")[0],
                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    sub = p.add_subparsers(dest="command", required=True, parser_class=CliParser)
    b = sub.add_parser("build-dataset", help="run the whole pipeline over source directories or files")
    b.add_argument("sources", nargs="+", metavar="SRC", help="directories (walked) or files")
    b.add_argument("--out", required=True, help="output JSONL (.jsonl.gz for gzip), written atomically")
    b.add_argument("--workers", type=positive_int, default=1, help="processes for the per-file stages (default 1)")
    b.add_argument("--ray", default=None, metavar="ADDR",
                   help="run per-file stages as Ray tasks and the LSH bucketing on Ray Data: an address, "
                        "'auto' (the running cluster) or 'local'")
    b.add_argument("--seed", type=int, default=0, help="seed for sampling, templates and augmentations (0)")
    b.add_argument("--max-per-language", type=_cap, default=0, metavar="N|auto",
                   help="cap per language, best quality first (default 0: no cap, so the corpus's own mix is kept "
                        "and the summary says it; auto: 2x the median language count)")
    b.add_argument("--balance", action="store_true", help="balance languages: the same as --max-per-language auto")
    b.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                   help="leave out paths matching this glob (below their source root; repeatable), e.g. '*/test/*'")
    b.add_argument("--max-samples-per-file", type=positive_int, default=16, help="split samples kept per file (16)")
    b.add_argument("--max-context-chars", type=int, default=8192, help="context kept before a split (0: all)")
    b.add_argument("--max-file-bytes", type=positive_int, default=1_000_000, help="larger files are skipped (1 MB)")
    b.add_argument("--augment", type=_augmentations, default=AUGMENTATIONS, metavar="A,B",
                   help=f"augmentations to run ('none' for none; default all: {','.join(AUGMENTATIONS)})")
    b.add_argument("--templates", default=None, metavar="FILE",
                   help="extra instruction templates, JSON {task: [template, ...]}")
    b.add_argument("--quality-k", type=float, default=5.0, help="weight = exp(k * (quality - 0.7)) (k = 5)")
    b.add_argument("--min-quality", type=float, default=0.05, help="drop samples scoring below this (0.05)")
    b.add_argument("--threshold", type=float, default=0.7, help="near-duplicate Jaccard threshold (0.7)")
    b.add_argument("--num-perm", type=positive_int, default=256, help="MinHash permutations (256)")
    b.add_argument("--ngram", type=positive_int, default=5, help="word n-gram shingle size (5)")
    b.add_argument("--bands", type=int, default=0, help="LSH bands (0: chosen from the threshold)")
    b.add_argument("--no-near-dedup", action="store_true", help="skip MinHash near-dedup")
    b.add_argument("--no-exact-dedup", action="store_true", help="skip exact dedup")
    b.add_argument("--benchmark", action="append", default=None, metavar="SPEC",
                   help="decontaminate against this: 'humaneval' (default) or a .jsonl(.gz)/text file; repeatable")
    b.add_argument("--no-decontaminate", action="store_true", help="skip decontamination")
    b.add_argument("--decontam-ngram", type=positive_int, default=10, help="shared word n-gram length that "
                   "marks a sample as contaminated (10)")
    b.add_argument("--summary-json", default=None, metavar="FILE", help="also write the summary as JSON")
    b.add_argument("--quality-plot", default=None, metavar="PNG", help="also draw the quality histogram (PNG)")
    b.add_argument("--quiet", action="store_true", help="no progress bars")
    s = sub.add_parser("split", help="print one file's samples (split and augmented) as JSON lines")
    s.add_argument("file", help="one source file in a language the builder reads")
    s.add_argument("--seed", type=int, default=0, help="seed of the sampling and augmentations (default 0)")
    return p


def _options(args):
    from moredata.code.build import BuildOptions
    from moredata.code.dedup import DedupOptions
    from moredata.code.splitter import SplitOptions

    return BuildOptions(
        seed=args.seed, max_file_bytes=args.max_file_bytes,
        split=SplitOptions(max_samples_per_file=args.max_samples_per_file, max_context_chars=args.max_context_chars),
        augmentations=args.augment, templates_file=args.templates, quality_k=args.quality_k,
        min_quality=args.min_quality, exact_dedup=not args.no_exact_dedup, near_dedup=not args.no_near_dedup,
        dedup=DedupOptions(ngram=args.ngram, num_perm=args.num_perm, threshold=args.threshold, bands=args.bands),
        benchmarks=() if args.no_decontaminate else tuple(args.benchmark or ("humaneval",)),
        decontam_ngram=args.decontam_ngram,
        max_per_language="auto" if args.balance else args.max_per_language, exclude=tuple(args.exclude), workers=args.workers,
        ray=args.ray, progress=not args.quiet)


def summary_rows(s: dict) -> list[tuple[str, str]]:
    rows = [("files seen", f"{s['files_seen']:,}"), ("files read", f"{s['files_read']:,} ({s['mb_read']} MB)")]
    rows += [(f"  skipped: {k}", f"{v:,}") for k, v in s["files_skipped"].items()]
    rows += [("samples split + augmented", f"{s['samples_split']:,}"),
             ("low quality removed", f"{s['low_quality_removed']:,}"),
             ("definitions (dedup units)", f"{s['units']:,}"),
             ("exact duplicates", f"{s['exact_duplicates']:,} definitions"),
             ("near duplicates", f"{s['near_duplicates']:,} definitions"),
             ("samples removed as duplicates", f"{s['samples_removed_as_duplicates']:,}"),
             ("decontaminated", f"{s['decontaminated']:,} samples of {s['decontaminated_definitions']:,} definitions"),
             ("benchmark leaks (must be 0)", f"{s['benchmark_leaks']:,}"),
             ("instruction/kind mismatches (must be 0)", f"{s['instruction_kind_mismatches']:,}")]
    rows += [(f"  {k}", f"{v:,} -> {s['languages_after_balance'].get(k, 0):,}")
             for k, v in s["languages_before_balance"].items()]
    cap = f"cap {s['language_cap']:,}" if s["language_cap"] else "no cap"
    rows.insert(len(rows) - len(s["languages_before_balance"]), (f"per language ({cap})", ""))
    rows += [("per kind", "")] + [(f"  {k}", f"{v:,}") for k, v in s["kinds"].items()]
    if s["language_shares"]:
        top = max(s["language_shares"], key=s["language_shares"].get)
        rows.append(("largest language", f"{top} {s['language_shares'][top]:.1%}"
                                         + ("" if s["language_cap"] else " (no cap; --balance evens it)")))
    rows += [("samples written", f"{s['samples']:,}"), ("mean quality", f"{s['mean_quality']:.3f}")]
    if s["quality_quartiles"]:
        rows.append(("quality quartiles", " / ".join(f"{q:.2f}" for q in s["quality_quartiles"])))
    rows.append(("seconds", f"{s['seconds']}"))
    return rows


def quality_plot(summary: dict, path: str) -> None:
    """The quality histogram of the written samples, with the sampling weight each bin gets."""
    from moredata.code.quality import sampling_weight
    from moredata.figures import pyplot, save_png

    hist = summary["quality_histogram"]
    edges, counts = hist["edges"], hist["counts"]
    fig, ax = pyplot().subplots(figsize=(7, 4))
    ax.bar(edges[:-1], counts, width=[b - a for a, b in zip(edges, edges[1:])], align="edge", edgecolor="black")
    ax.set_xlabel("quality")
    ax.set_ylabel("samples")
    ax.set_title(f"{summary['samples']:,} samples, quartiles {summary['quality_quartiles']}")
    w = ax.twinx()
    mids = [(a + b) / 2 for a, b in zip(edges, edges[1:])]
    w.plot(mids, [sampling_weight(m, summary.get("quality_k", 5.0)) for m in mids], color="tab:red", marker="o")
    w.set_ylabel("sampling weight", color="tab:red")
    save_png(fig, path)


def _build(args) -> None:
    from moredata.atomic import atomic_write_text, check_output_file
    from moredata.code.build import build_dataset

    for path, what in ((args.summary_json, "summary"), (args.quality_plot, "quality plot")):
        if path:
            check_output_file(path, what)  # before the work, not after it
    _, s = build_dataset(args.sources, args.out, _options(args), log=lambda m: print(m, file=sys.stderr))
    print(table(summary_rows(s), ("build-dataset", args.out)))
    if args.summary_json:
        atomic_write_text(args.summary_json, json.dumps(s, indent=2))
    if args.quality_plot:
        quality_plot(s, args.quality_plot)


def _split(args) -> None:
    from moredata.code.build import BuildOptions, samples_of_file
    from moredata.code.instructions import InstructionBook
    from moredata.code.sources import read_source

    opts = BuildOptions(seed=args.seed)
    source, reason = read_source(args.file, "", opts.max_file_bytes)
    if source is None:
        raise UserError(f"{args.file}: skipped ({reason})")
    rows = samples_of_file(source, opts, InstructionBook())
    if not rows:  # said nothing and exited 0 before: the user could not tell it from an empty file
        raise UserError(f"{args.file}: no samples: it holds no definition that parses as {source.language}, and "
                        f"no top-level statements enough to split between")
    for row in rows:
        row.pop("_unit_text", None)
        print(json.dumps(row, ensure_ascii=False))


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        _build(args) if args.command == "build-dataset" else _split(args)
    except MoredataError as e:
        raise UserError(str(e)) from None


if __name__ == "__main__":
    main()
