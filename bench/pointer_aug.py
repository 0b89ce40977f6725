"""Does augmentation help the pointer network? Four settings x three seeds, the same steps, one table.

    python bench/pointer_aug.py                                   # mini.json on CPU -> bench/results/pointer_aug.json
    python bench/pointer_aug.py --config full --device cuda --out bench/results/pointer_aug_gpu.json

Data: `moredata-pointer make-sets --seed 0` (45 training samples of espeak-ng speech, 30 validation samples
of other texts, 20 out-of-distribution samples in a voice never used in training). Settings:
- none: no augmentation;
- safe: noise, gain, channel dropout, SpecAugment (move no pointer);
- pointer_aware: crop, chunk shuffle, concatenation (pointers remapped);
- all: both (the probabilities of the config's augmentation section).
Each run: the config's epochs (or --epochs), no early stopping, the training seed = run seed (model
init, order, augmentation draws). Scored on best.pt (lowest val loss): exact-frame and within-2-frames
accuracy on val and ood (greedy, and with the monotonic-within-segment decoding: `smooth`), best val
loss, and the gap between val loss and the loss on the (clean) training samples. Writes the table, the
JSON and a PNG of the validation curves.
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench._results import write_results
from moredata.cli import CliParser
from moredata.pointer.config import AugmentationConfig
from moredata.pointer.curves import plot_runs
from moredata.pointer.dataset import PointerDataset
from moredata.pointer.speech_sets import make_sets
from moredata.pointer.training import PointerTrainConfig, evaluate, load_pointer_model, train_pointer
from moredata.text_table import grid

ROOT = Path(__file__).resolve().parents[1]

SAFE = ("noise", "gain", "channel_dropout", "spec_augment")
POINTER_AWARE = ("crop", "chunk_shuffle", "concatenation")


def setting(name: str, cfg: PointerTrainConfig) -> AugmentationConfig:
    section = dict(cfg.augmentation, enabled=name != "none")
    keep = {"none": (), "safe": SAFE, "pointer_aware": POINTER_AWARE, "all": SAFE + POINTER_AWARE}[name]
    for t in SAFE + POINTER_AWARE:
        section[t] = {**section.get(t, {}), "enabled": t in keep}
    return AugmentationConfig.model_validate({"augmentation": section})


def smoothed(run: Path, data: Path, device: str) -> dict:
    """Exact and within-2 accuracy of best.pt with the monotonic-within-segment decoding, on val and ood."""
    model, _ = load_pointer_model(run / "best.pt", device)
    out = {}
    for name in ("val", "ood"):
        s = evaluate(model, PointerDataset(data / name, augment=False), smooth=True)
        out[f"{name}_smooth_acc"], out[f"{name}_smooth_acc2"] = s["smoothed_acc"], s["smoothed_acc_within_2"]
    return out


KEYS = ["val_acc", "val_acc2", "val_smooth_acc", "ood_acc", "ood_acc2", "ood_smooth_acc", "best_val_loss", "gap",
        "train_acc"]


def summarise(rows: list[dict], settings: list[str]) -> tuple[dict, str]:
    keys = [k for k in KEYS if all(k in r for r in rows)]
    summary = {}
    for name in settings:
        mine = [r for r in rows if r["setting"] == name]
        summary[name] = {k: dict(zip(("mean", "sd"), mean_sd([r[k] for r in mine]))) for k in keys}
    table = grid(["setting", *keys], [[n, *(f"{summary[n][k]['mean']:.3f} ± {summary[n][k]['sd']:.3f}" for k in keys)]
                                      for n in settings])
    return summary, table


def rescore(args) -> None:
    """Adds the smoothed-decoding accuracies to an existing results file from the runs kept in --work."""
    result = json.loads(args.out.read_text())
    work = Path(args.work)
    data = Path(args.data) if args.data else work / "data"
    for row in result["rows"]:
        row.update(smoothed(work / f"{row['setting']}_s{row['seed']}", data, args.device))
    settings = list(dict.fromkeys(r["setting"] for r in result["rows"]))
    result["summary"], table = summarise(result["rows"], settings)
    print(table)
    write_results(args.out, result, indent=1)


def mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def main() -> None:
    ap = CliParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="mini", help="mini (default) or full, or a JSON file")
    ap.add_argument("--data", default=None, help="sets made by make-sets (default: made now, seed 0)")
    ap.add_argument("--settings", nargs="+", default=["none", "safe", "pointer_aware", "all"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=None, help="override the config's epochs")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--work", default=None, help="keep the runs here (default: a temp folder)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pointer_aug.json")
    ap.add_argument("--rescore", action="store_true", help="only add smoothed-decoding scores to --out from --work")
    args = ap.parse_args()
    if args.rescore:
        return rescore(args)
    cfg = PointerTrainConfig.from_name_or_file(args.config)
    base = cfg.model_copy(update={"training": cfg.training.model_copy(update={"early_stopping_patience": 0})})
    work = Path(args.work or tempfile.mkdtemp(prefix="pointer-aug-"))
    data = Path(args.data) if args.data else work / "data"
    if not args.data:
        make_sets(data, seed=0)
    rows, runs = [], {}
    t0 = time.time()
    for name in args.settings:
        for seed in args.seeds:
            run_cfg = base.model_copy(update={"training": base.training.model_copy(update={"seed": seed})})
            out = work / f"{name}_s{seed}"
            t = time.time()
            s = train_pointer(run_cfg, data, out, setting(name, cfg), overwrite=True, device=args.device,
                              progress=sys.stderr.isatty(), epochs=args.epochs)
            sc = s["scores"]
            row = {"setting": name, "seed": seed, "best_val_loss": s["best_val_loss"],
                   "last_val_loss": s["last_val_loss"], "train_loss": sc["train"]["loss"],
                   "gap": s["train_val_gap"], "val_acc": sc["val"]["acc"], "val_acc2": sc["val"]["acc_within_2"],
                   "ood_acc": sc["ood"]["acc"], "ood_acc2": sc["ood"]["acc_within_2"],
                   "train_acc": sc["train"]["acc"], "iterations": s["iterations"], "seconds": time.time() - t,
                   **smoothed(out, data, args.device)}
            rows.append(row)
            runs.setdefault(name, []).append(out)
            print(json.dumps(row), flush=True)
    summary, table = summarise(rows, args.settings)
    print("\n" + table)
    png = args.out.with_suffix(".png")
    plot_runs(runs, png, title=f"pointer network ({args.config}), 45 training samples: validation curves")
    import torch

    result = {"config": args.config, "model": cfg.model, "training": base.training.model_dump(),
              "epochs": args.epochs or cfg.training.epochs, "seeds": args.seeds, "device": args.device,
              "device_name": torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu",
              "minutes": round((time.time() - t0) / 60, 1), "summary": summary, "rows": rows,
              "augmentation": {n: setting(n, cfg).model_dump()["augmentation"] for n in args.settings},
              "plot": str(png.relative_to(ROOT)) if png.is_relative_to(ROOT) else str(png)}
    write_results(args.out, result, indent=1)
    print(f"\nwrote {args.out} and {png} ({result['minutes']} minutes)")


if __name__ == "__main__":
    main()
