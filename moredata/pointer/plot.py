"""moredata-augment-plot: original vs augmented sample, side by side, as a PNG.

    moredata-augment-plot samples/take1_000.npz --config augment.json --seed 3 --out aug.png
    moredata-augment-plot speech.wav --out aug.png        # builds a sample from the recording first

Rows: raw mel, edit mel, pointers (edit frame -> raw frame); columns: original, augmented. The title
lists the transforms applied; `--service host:port` augments through the service instead of in-process.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from moredata.atomic import atomic_write_with
from moredata.cli import CliParser, exit_on_user_error
from moredata.errors import UserError
from moredata.pointer.augmentor import Augmentor
from moredata.pointer.config import AugmentationConfig
from moredata.pointer.frontend import MelFrontEnd, read_wav
from moredata.pointer.sample_io import load_sample
from moredata.pointer.transforms import PointerSample
from moredata.pointer.wav_samples import build_sample

# a config that shows every frame-preserving and pointer-aware transform at once, for the default plot
SHOWCASE = {"augmentation": {
    "noise": {"enabled": True, "probability": 1.0, "level_min": 0.05, "level_max": 0.1},
    "spec_augment": {"enabled": True, "probability": 1.0, "freq_masks": 2, "freq_width": 10, "time_masks": 2,
                     "time_width": 25, "time_mask_mode": "consistent"},
    "chunk_shuffle": {"enabled": True, "probability": 1.0, "chunk_size": 40},
    "gain": {"enabled": True, "probability": 1.0, "scale_min": 0.8, "scale_max": 1.2}}}


def _summary(applied: list[dict]) -> str:
    return ", ".join(a["name"] for a in applied) or "nothing applied"


def plot_pair(before: PointerSample, after: PointerSample, applied: list[dict], out: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 2, figsize=(13, 8), gridspec_kw={"height_ratios": [1, 1, 0.8]})
    lo, hi = np.percentile(before.raw, [1, 99])  # one colour scale for all four mels: changes stay visible
    for col, (s, title) in enumerate([(before, "original"), (after, "augmented: " + _summary(applied))]):
        for row, (mel, name) in enumerate([(s.raw, "raw"), (s.edit, "edit")]):
            ax = axes[row, col]
            ax.imshow(mel, origin="lower", aspect="auto", vmin=lo, vmax=hi, cmap="magma", interpolation="nearest")
            ax.set_ylabel(f"{name} mel bin")
            ax.set_title(f"{title} - {name} ({mel.shape[1]} frames)" if row == 0 else f"{name} ({mel.shape[1]} frames)",
                         fontsize=9)
        ax = axes[2, col]
        ax.plot(np.arange(len(s.pointers)), s.pointers, ".", markersize=2)
        ax.set_xlabel("edit frame")
        ax.set_ylabel("raw frame pointed at")
    fig.tight_layout()
    atomic_write_with(out, lambda f: fig.savefig(f, format="png", dpi=90))
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    ap = CliParser(prog="moredata-augment-plot", description=__doc__.split("\n\n")[0])
    ap.add_argument("input", help="a sample .npz, or a PCM WAV recording to build one from")
    ap.add_argument("--config", help="AugmentationConfig JSON (default: a showcase of noise, SpecAugment, "
                    "chunk shuffle and gain, all with probability 1)")
    ap.add_argument("--seed", type=int, default=0, help="augmentation seed (default 0)")
    ap.add_argument("--epoch", type=int, default=0, help="epoch the augmentor is at (warm-up and probability decay; default 0)")
    ap.add_argument("--service", help="augment through the service at host:port instead of in-process")
    ap.add_argument("--out", default="augment.png", help="PNG path (default augment.png)")
    _run(ap.parse_args(argv))


@exit_on_user_error
def _run(args: argparse.Namespace) -> None:
    path = Path(args.input)
    if not path.is_file():
        raise UserError(f"no such file: {path}")
    try:
        config = AugmentationConfig.from_file(args.config) if args.config else \
            AugmentationConfig.model_validate(SHOWCASE)
        if path.suffix.lower() == ".wav":
            fe = MelFrontEnd()
            wave, rate = read_wav(path)
            if rate != fe.sample_rate:
                raise UserError(f"{path}: sample rate {rate} Hz, the front end expects {fe.sample_rate} Hz")
            sample = build_sample(wave, fe, np.random.default_rng(args.seed))[0]
        else:
            sample = load_sample(path)
        if args.service:
            from moredata.pointer.client import AugmentClient

            with AugmentClient(args.service) as client:
                after, applied = client.augment(sample, args.seed, args.epoch, config=config)
        else:
            after, applied = Augmentor(config)(sample, args.seed, args.epoch)
    except (ValueError, FileNotFoundError) as e:
        raise UserError(str(e)) from None
    plot_pair(sample, after, applied, args.out)
    print(f"wrote {args.out}: {_summary(applied)}")


if __name__ == "__main__":
    main()
