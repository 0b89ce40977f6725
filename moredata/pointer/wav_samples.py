"""Real (raw, edit, pointers) samples from WAV recordings: cut, repeat and reorder segments of the raw.

    fe = MelFrontEnd()
    wave, sr = read_wav("take1.wav")
    sample, plan = build_sample(wave, fe, np.random.default_rng(0))
    # plan: [[start, end), ...] raw frame ranges, in edit order; pointers = concat(arange(start, end))

The raw recording is cut at random frame boundaries into segments; the edit keeps a random subset
(cuts), plays some twice (repeats) and shuffles their order (reorders). The edit audio is the raw audio
of those segments joined at hop-aligned sample positions, and its mel is computed from that audio
(`mel_source="audio"`, the default): a real edited recording, whose frames equal the raw frames they
point at except within n_fft/2 samples of a join, where the analysis window straddles two segments.
`mel_source="copy"` takes edit frames straight from the raw mel instead (the copy identity exactly).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from moredata.cli import CliParser, exit_on_user_error
from moredata.errors import UserError
from moredata.pointer.frontend import MelFrontEnd, read_wav, write_wav
from moredata.pointer.sample_io import save_sample
from moredata.pointer.transforms import PointerSample


def edit_plan(n_frames: int, rng: np.random.Generator, n_segments: int = 6, p_cut: float = 0.25,
              p_repeat: float = 0.25) -> list[list[int]]:
    """[start, end) raw frame ranges in edit order: n_segments pieces, some cut, some repeated, shuffled."""
    if n_frames < 1:
        raise ValueError("the recording has no frames")
    n_segments = max(1, min(n_segments, n_frames))
    cuts = np.sort(rng.choice(np.arange(1, n_frames), size=n_segments - 1, replace=False)) if n_segments > 1 \
        else np.array([], dtype=np.int64)
    bounds = np.concatenate([[0], cuts, [n_frames]])
    segments = np.stack([bounds[:-1], bounds[1:]], axis=1)  # (n_segments, 2)
    keep = rng.random(n_segments) >= p_cut
    if not keep.any():
        keep[rng.integers(n_segments)] = True  # an edit keeps at least one segment
    kept = segments[keep]
    repeats = 1 + (rng.random(len(kept)) < p_repeat)  # each kept segment once or twice
    chosen = np.repeat(kept, repeats, axis=0)
    return chosen[rng.permutation(len(chosen))].tolist()


def build_sample(wave: np.ndarray, fe: MelFrontEnd, rng: np.random.Generator, mel_source: str = "audio",
                 **plan_kw) -> tuple[PointerSample, list[list[int]], np.ndarray]:
    """(sample, plan, edit_wave) from one mono recording."""
    if mel_source not in ("audio", "copy"):
        raise ValueError(f"mel_source must be 'audio' or 'copy', got {mel_source!r}")
    hop = fe.hop_length
    raw_mel = fe(wave)  # (n_mels, 1 + len // hop)
    n_frames = len(wave) // hop  # frames with a full hop of audio behind them: segments stay inside the wave
    plan = edit_plan(n_frames, rng, **plan_kw)
    pointers = np.concatenate([np.arange(a, b) for a, b in plan]).astype(np.int64)  # one arange per segment
    edit_wave = np.concatenate([wave[a * hop : b * hop] for a, b in plan])
    if mel_source == "copy":
        edit_mel = raw_mel[:, pointers]
    else:
        edit_mel = fe(edit_wave)[:, : len(pointers)]  # the edit audio has len(pointers) full hops
    return PointerSample(raw_mel, np.ascontiguousarray(edit_mel), pointers).validate(), plan, edit_wave


def interior_frames(plan: list[list[int]], margin: int) -> np.ndarray:
    """(T_edit,) bool: edit frames at least `margin` frames from any join (unaffected by the neighbours)."""
    lengths = np.array([b - a for a, b in plan])
    pos = np.concatenate([np.arange(n) for n in lengths])  # position inside its segment
    length = np.repeat(lengths, lengths)
    return (pos >= margin) & (pos < length - margin)


def main(argv: list[str] | None = None) -> None:
    """moredata-augment-build: WAV recordings -> sample .npz files (and the edited audio, optionally)."""
    ap = CliParser(prog="moredata-augment-build", description=__doc__.split("\n\n")[0])
    ap.add_argument("wavs", nargs="+", help="PCM WAV recordings (mono or averaged to mono)")
    ap.add_argument("--out", required=True, help="folder for <name>_<k>.npz samples")
    ap.add_argument("--per-file", type=int, default=4, help="samples built from each recording (default 4)")
    ap.add_argument("--segments", type=int, default=6, help="segments the raw is cut into (default 6)")
    ap.add_argument("--mel-source", choices=["audio", "copy"], default="audio",
                    help="edit mel from the edited audio (default) or copied from raw frames")
    ap.add_argument("--save-audio", action="store_true", help="also write <name>_<k>.edit.wav")
    ap.add_argument("--seed", type=int, default=0, help="seed of the edit plans (default 0): the same seed, the same samples")
    _run_build(ap.parse_args(argv))


@exit_on_user_error
def _run_build(args: argparse.Namespace) -> None:
    if args.per_file < 1 or args.segments < 1:
        raise UserError("--per-file and --segments must be at least 1")
    fe = MelFrontEnd()
    rng = np.random.default_rng(args.seed)
    out = Path(args.out)
    written, frames = 0, 0
    for path in tqdm(args.wavs, desc="recordings", disable=not sys.stderr.isatty()):
        if not Path(path).is_file():
            raise UserError(f"no such WAV file: {path}")
        try:
            wave, rate = read_wav(path)
        except ValueError as e:
            raise UserError(str(e)) from None
        if rate != fe.sample_rate:
            raise UserError(f"{path}: sample rate {rate} Hz, the front end expects {fe.sample_rate} Hz")
        for k in range(args.per_file):
            sample, _, edit_wave = build_sample(wave, fe, rng, args.mel_source, n_segments=args.segments)
            stem = out / f"{Path(path).stem}_{k:03d}"
            save_sample(stem.with_suffix(".npz"), sample)
            if args.save_audio:
                write_wav(f"{stem}.edit.wav", edit_wave, rate)
            written, frames = written + 1, frames + sample.edit.shape[1]
    print(f"wrote {written} samples ({frames} edit frames) to {out}")


if __name__ == "__main__":
    main()
