"""Train, validation and out-of-distribution sample sets from real speech (espeak-ng), from one seed.

    moredata-pointer make-sets --out data/pointer --seed 0
    # data/pointer/train/*.npz (45), val/*.npz (30), ood/*.npz (20), manifest.json

- train: 15 texts x 3 voices (speed and pitch drawn per recording): 45 samples, the users' data size;
- val: 10 other texts, the training voices: how well the model does on speech it has not heard;
- ood: the validation texts in a voice never used in training (`en-029` with the `f2` variant: another
  accent and a female register), at two speeds: how well it carries to a new speaker.
Each recording gives one sample through `wav_samples.build_sample` (cuts, repeats, reorders; the edit's
mel computed from the edited audio). espeak-ng output is deterministic, so a seed gives the same sets.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from moredata.atomic import atomic_write_text, check_output_dir
from moredata.errors import FailedPrecondition
from moredata.pointer.frontend import MelFrontEnd, read_wav
from moredata.pointer.sample_io import save_sample
from moredata.pointer.wav_samples import build_sample

TRAIN_TEXTS = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "A small boat drifted slowly across the quiet harbour at dawn.",
    "Please remember to close the window before the storm arrives tonight.",
    "She counted seven bright stars above the old stone bridge.",
    "Fresh bread and warm soup were waiting on the kitchen table.",
    "The train to the northern city leaves at half past nine.",
    "Children were laughing and running through the autumn leaves.",
    "He painted the fence green and then sat down to rest.",
    "Our teacher explained the lesson twice so everyone would understand.",
    "The library closes early on Sundays during the summer months.",
    "A gentle wind carried the smell of rain across the valley.",
    "They built a wooden cabin beside the lake in the mountains.",
    "The doctor asked him to breathe slowly and count to ten.",
    "Bring an umbrella, because the forecast says it will pour later.",
    "The orchestra played a long symphony to a silent audience.",
]
VAL_TEXTS = [
    "Every morning the baker opens his shop before the sun rises.",
    "The red kite climbed higher until it vanished into the clouds.",
    "We walked along the beach and collected shells of every colour.",
    "The engineer checked each bolt twice before starting the machine.",
    "My grandmother keeps her letters in a box under the bed.",
    "The museum guide told stories about the ancient kings and queens.",
    "A cup of tea is the best cure for a cold afternoon.",
    "The farmer led his sheep down the hill as night fell.",
    "Snow covered the village and the streets were empty and white.",
    "The young pilot waved to the crowd before the plane took off.",
]
TRAIN_VOICES = ["en-gb", "en-us", "en-gb-scotland"]
OOD_VOICE = "en-029+f2"
SETS = {"train": 45, "val": 30, "ood": 20}


def espeak(text: str, voice: str, speed: int, pitch: int, path: Path) -> None:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise FailedPrecondition("espeak-ng is not installed (Debian/Ubuntu: apt-get install espeak-ng)")
    subprocess.run([exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path), text], check=True,
                   capture_output=True)


def plan(seed: int) -> dict[str, list[dict]]:
    """Every recording of the three sets: text, voice, speed (words/min), pitch (0-99), build seed."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[dict]] = {"train": [], "val": [], "ood": []}

    def take(name, texts, voices):
        for ti, text in enumerate(texts):
            for voice in voices:
                out[name].append({"text": text, "text_id": ti, "voice": voice, "speed": int(rng.integers(140, 201)),
                                  "pitch": int(rng.integers(30, 71)), "build_seed": int(rng.integers(2**31))})

    take("train", TRAIN_TEXTS, TRAIN_VOICES)
    take("val", VAL_TEXTS, TRAIN_VOICES)
    take("ood", VAL_TEXTS, [OOD_VOICE, OOD_VOICE])
    return out


def make_sets(out: str | Path, seed: int = 0, progress: bool = True) -> dict:
    """Writes out/{train,val,ood}/<set>_<k>.npz and out/manifest.json; returns the manifest."""
    out = check_output_dir(out)  # an existing file there failed with a traceback
    fe = MelFrontEnd()
    recordings = plan(seed)
    manifest = {"seed": seed, "sample_rate": fe.sample_rate, "n_mels": fe.n_mels, "sets": {}}
    total = sum(len(v) for v in recordings.values())
    bar = tqdm(total=total, desc="speech samples", unit="sample", disable=not progress)
    with tempfile.TemporaryDirectory(prefix="moredata-speech-") as tmp:
        for name, recs in recordings.items():
            folder = out / name
            folder.mkdir(parents=True, exist_ok=True)
            rows = []
            for k, rec in enumerate(recs):
                wav = Path(tmp) / f"{name}_{k}.wav"
                espeak(rec["text"], rec["voice"], rec["speed"], rec["pitch"], wav)
                wave, rate = read_wav(wav)
                sample, segments, _ = build_sample(wave, fe, np.random.default_rng(rec["build_seed"]))
                path = folder / f"{name}_{k:03d}.npz"
                save_sample(path, sample)
                rows.append({**rec, "file": path.name, "raw_frames": int(sample.raw.shape[1]),
                             "edit_frames": int(sample.edit.shape[1]), "segments": segments})
                bar.update(1)
            manifest["sets"][name] = rows
    bar.close()
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    return manifest
