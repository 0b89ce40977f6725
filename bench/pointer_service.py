"""Service-fed pointer-network training: steps/s with augmentation in-process (DataLoader, one worker)
against through the augment service in stored mode (and, for reference, the upload mode), same run.

    python bench/pointer_service.py                    # -> bench/results/pointer_service.json
    python bench/pointer_service.py --epochs 20 --rounds 3

Data: `make-sets --seed 0` (45 training samples). Model and settings: mini.json with all augmentations
(the config's section). The augment service runs as its own process on loopback, started with
`--samples_dir` on the training folder. Each path trains the same steps; the rounds alternate the paths
(A, B, C, A, B, C, ...) so a slow spell on this shared machine falls on all of them. Reported: the
median step time over training iterations (evaluations excluded, the trainer's own `ms/iter`), steps/s,
the ratio service/in-process, and the bytes one item puts on the wire in each service mode.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._results import write_results
from bench._stack import ROOT, free_port
from moredata.cli import CliParser
from moredata.pointer.client import AugmentClient
from moredata.pointer.codec import sample_to_proto
from moredata.pointer.dataset import PointerDataset, item_seed
from moredata.pointer.speech_sets import make_sets
from moredata.pointer.training import PointerTrainConfig, train_pointer
from moredata.rpc.proto import augment_pb2
from moredata.text_table import grid
from moredata.training.metrics import read_metrics


def start_service(samples: Path) -> tuple[subprocess.Popen, str]:
    address = f"127.0.0.1:{free_port()}"
    proc = subprocess.Popen([sys.executable, "-m", "services.augment", f"--address={address}",
                             f"--samples_dir={samples}"], cwd=ROOT, stderr=subprocess.DEVNULL)
    with AugmentClient(address) as c:
        c.wait_ready(timeout=120)
    return proc, address


def step_ms(run: Path) -> float:
    """Median ms of the training iterations (the trainer logs each one; evaluations are not in them)."""
    ms = [r["ms"] for r in read_metrics(run / "metrics.jsonl") if r["type"] == "train" and r["iter"] > 2]
    return statistics.median(ms)


def wire_bytes(data: Path, cfg, address: str) -> dict:
    """Bytes of one request and one response, averaged over the training samples, in each mode."""
    ds = PointerDataset(data / "train", cfg, seed=0)
    up_req = resp = st_req = 0
    with AugmentClient(address) as client:
        for i in range(len(ds)):
            sample = ds.folder.load(i)
            req = augment_pb2.AugmentRequest(config_json=cfg.model_dump_json(), seed=item_seed(0, 1, i), epoch=1)
            sample_to_proto(sample, True, out=req.sample)
            up_req += req.ByteSize()
            out, _ = client.augment_stored(i, 1, 0, cfg)
            resp += sample_to_proto(out, True).ByteSize()  # the same response in both modes
            st_req += augment_pb2.StoredRequest(index=i, epoch=1, seed=0, config_json=cfg.model_dump_json(),
                                                augment=True, delta=True).ByteSize()
    n = len(ds)
    return {"upload": {"request": up_req / n, "response": resp / n},
            "stored": {"request": st_req / n, "response": resp / n}}


def main() -> None:
    ap = CliParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=12, help="epochs per run (6 steps each; default 12)")
    ap.add_argument("--rounds", type=int, default=2, help="runs of each path, alternated (default 2)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pointer_service.json")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pointer-service-"))
    data = work / "data"
    make_sets(data, seed=0, progress=False)
    cfg = PointerTrainConfig.from_name_or_file("mini")
    cfg = cfg.model_copy(update={"training": cfg.training.model_copy(update={"early_stopping_patience": 0})})
    proc, address = start_service(data / "train")
    paths = {"in_process": {}, "service_stored": {"service": address}}
    times: dict[str, list[float]] = {p: [] for p in paths}
    walls: dict[str, list[float]] = {p: [] for p in paths}
    try:
        for r in range(args.rounds):
            for name, kw in paths.items():
                out = work / f"{name}_{r}"
                t = time.time()
                train_pointer(cfg, data, out, overwrite=True, device="cpu", progress=False, epochs=args.epochs, **kw)
                walls[name].append(time.time() - t)
                times[name].append(step_ms(out))
                print(f"round {r} {name}: {times[name][-1]:.1f} ms/step, {walls[name][-1]:.1f} s", flush=True)
        wire = wire_bytes(data, cfg.augmentation_config(), address)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    med = {p: statistics.median(v) for p, v in times.items()}
    ratio = med["in_process"] / med["service_stored"]
    rows = [[p, f"{med[p]:.1f}", f"{1000 / med[p]:.2f}", f"{statistics.median(walls[p]):.1f}",
             f"{med['in_process'] / med[p]:.2f}"] for p in paths]
    print("\n" + grid(["path", "ms/step (median)", "steps/s", "run wall s (median)", "x in-process"], rows))
    print(f"\nbytes per item on the wire: upload mode request {wire['upload']['request']:,.0f} + response "
          f"{wire['upload']['response']:,.0f}; stored mode request {wire['stored']['request']:,.0f} + response "
          f"{wire['stored']['response']:,.0f}")
    result = {"epochs": args.epochs, "rounds": args.rounds, "ms_per_step": times, "wall_s": walls,
              "median_ms_per_step": med, "steps_per_s": {p: 1000 / m for p, m in med.items()},
              "service_over_in_process": ratio, "target": 0.8, "wire_bytes_per_item": wire,
              "config": "mini.json, all augmentations, 1 DataLoader worker, CPU"}
    write_results(args.out, result, indent=1)
    print(f"service / in-process steps/s: {ratio:.2f} (target >= 0.8); wrote {args.out}")


if __name__ == "__main__":
    main()
