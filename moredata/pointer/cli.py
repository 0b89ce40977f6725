"""moredata-pointer: make speech sample sets, train the pointer network, score it, compare runs.

    moredata-pointer make-sets --out data/pointer --seed 0
    moredata-pointer train --config mini --data data/pointer --out runs/none --augment none
    moredata-pointer train --config mini --data data/pointer --out runs/all                 # the config's augmentation
    moredata-pointer train --config mini --data data/pointer --out runs/svc --augment_service 127.0.0.1:50052
    moredata-pointer train --config mini --data data/pointer --out runs/all --resume         # after Ctrl-C
    moredata-pointer evaluate runs/all/best.pt --data data/pointer --smooth
    moredata-pointer compare runs/none runs/all --out compare.png
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from moredata.cli import CliParser, exit_on_user_error
from moredata.errors import MoredataError, UserError
from moredata.text_table import grid


def _parser() -> argparse.ArgumentParser:
    ap = CliParser(prog="moredata-pointer", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n\n")[1:]))
    sub = ap.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make-sets", help="train (45), val (30) and out-of-distribution (20) samples from espeak-ng")
    m.add_argument("--out", required=True, help="folder for train/, val/, ood/ and manifest.json")
    m.add_argument("--seed", type=int, default=0, help="voices' speeds and pitches, and the edits (default 0)")
    t = sub.add_parser("train", help="train the pointer network (metrics.jsonl, loss.png, best.pt, summary.json)")
    t.add_argument("--config", default="mini", help="a JSON file or a shipped name: mini (CPU, minutes), full "
                   "(about 15M parameters, for a GPU). Default mini")
    t.add_argument("--data", required=True, help="the folder make-sets wrote (train/, val/, optional ood/)")
    t.add_argument("--out", required=True, help="run folder: checkpoints, metrics, plot, summary")
    t.add_argument("--augment", default="config", help="config (the config's own augmentation section, default), "
                   "none, or an augmentation config: safe, pointer_aware, all, or a JSON file")
    t.add_argument("--augment_service", default=None, metavar="HOST:PORT",
                   help="augment through the augment service in stored mode (started with --samples_dir on "
                   "the same train/ folder): only (index, epoch, seed) goes out")
    t.add_argument("--epochs", type=int, default=None, help="override training.epochs")
    t.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: the best there is)")
    t.add_argument("--resume", action="store_true", help="go on from OUT/ckpt.pt")
    t.add_argument("--overwrite", action="store_true", help="train into an OUT that already holds a model")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    e = sub.add_parser("evaluate", help="pointer accuracy of a checkpoint on val/ and ood/ (and train/)")
    e.add_argument("checkpoint", help="a pointer network checkpoint (OUT/best.pt of `train`)")
    e.add_argument("--data", required=True, help="the folder make-sets wrote (its val/ and ood/ are scored)")
    e.add_argument("--smooth", action="store_true", help="also score the monotonic-within-segment decoding")
    e.add_argument("--jump_penalty", type=float, default=4.0, help="nats a jump costs when smoothing (default 4)")
    e.add_argument("--device", default=None, help="'cpu', 'cuda', ... (default: cuda, then mps, then cpu)")
    c = sub.add_parser("compare", help="validation curves of several runs in one PNG")
    c.add_argument("runs", nargs="+", help="run folders (each with metrics.jsonl)")
    c.add_argument("--out", required=True, help="PNG path")
    return ap


def main(argv: list[str] | None = None) -> None:
    _run(_parser().parse_args(argv))


@exit_on_user_error
def _run(args: argparse.Namespace) -> None:
    try:
        {"make-sets": _make_sets, "train": _train, "evaluate": _evaluate, "compare": _compare}[args.command](args)
    except (MoredataError, FileNotFoundError) as e:
        raise UserError(str(e)) from None


def _make_sets(args) -> None:
    from moredata.pointer.speech_sets import make_sets

    manifest = make_sets(args.out, args.seed, progress=sys.stderr.isatty())
    for name, rows in manifest["sets"].items():
        print(f"{name}: {len(rows)} samples, {sum(r['edit_frames'] for r in rows)} edit frames -> "
              f"{Path(args.out) / name}")


def _score_rows(scores: dict) -> tuple[list[list], list[str]]:
    keys = [k for k in ("acc", "acc_within_2", "smoothed_acc", "smoothed_acc_within_2") if k in scores["val"]]
    return [[name, f"{s['loss']:.3f}", *(f"{s[k]:.3f}" for k in keys), s["samples"]] for name, s in scores.items()], keys


def _train(args) -> None:
    from moredata.pointer.training import POINTER_CLI, PointerTrainConfig, augmentation_override, train_pointer

    if args.epochs is not None and args.epochs < 1:
        raise UserError(f"--epochs must be at least 1, got {args.epochs}")
    cfg = PointerTrainConfig.from_name_or_file(args.config)
    augment = augmentation_override(args.augment, cfg)
    s = train_pointer(cfg, args.data, args.out, augment, service=args.augment_service, resume=args.resume,
                      overwrite=args.overwrite, device=args.device, progress=not args.quiet, epochs=args.epochs,
                      hints=POINTER_CLI)
    rows, keys = _score_rows(s["scores"])
    print(f"\n{s['parameters']:,} parameters, {s['iterations']} iterations ({s['epochs_completed']} epochs)"
          f"{', stopped early' if s['early_stopped'] else ''}; best val loss {s['best_val_loss']:.4f}; "
          f"train-val gap {s['train_val_gap']:.3f}")
    print(grid(["set", "loss", *keys, "samples"], rows))
    print(f"checkpoint {s['checkpoint']}\nplot {s['plot']}\nsummary {Path(args.out) / 'summary.json'}")


def _evaluate(args) -> None:
    from moredata.models.loader import pick_device
    from moredata.pointer.dataset import PointerDataset
    from moredata.pointer.training import evaluate, load_pointer_model

    model, _ = load_pointer_model(args.checkpoint, pick_device(args.device))
    scores = {}
    for name in ("train", "val", "ood"):
        folder = Path(args.data) / name
        if folder.is_dir():
            scores[name] = evaluate(model, PointerDataset(folder, augment=False), smooth=args.smooth,
                                    jump_penalty=args.jump_penalty)
    if "val" not in scores:
        raise UserError(f"{Path(args.data) / 'val'} does not exist")
    rows, keys = _score_rows(scores)
    print(grid(["set", "loss", *keys, "samples"], rows))
    print(json.dumps(scores))


def _compare(args) -> None:
    from moredata.pointer.curves import plot_runs

    for run in args.runs:
        if not (Path(run) / "metrics.jsonl").is_file():
            raise UserError(f"{run} holds no metrics.jsonl")
    plot_runs({Path(r).name: Path(r) for r in args.runs}, Path(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
