"""Helpers for benchmarks that need the real stack: a redis-server and a generator service on loopback."""
from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis() -> tuple[subprocess.Popen, int]:
    import redis

    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server not found: run scripts/setup.sh")
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", tempfile.mkdtemp()], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            redis.Redis(port=port).ping()
            return proc, port
        except redis.ConnectionError:
            time.sleep(0.02)
    raise SystemExit("redis-server did not start")


def ensure_char_data(block_size: int = 256) -> Path:
    from moredata.data.prepare import prepare

    data_dir = ROOT / "data" / "shakespeare_char"
    if not (data_dir / "train.bin").is_file():
        prepare([ROOT / "data" / "tinyshakespeare" / "input.txt"], data_dir, block_size=block_size)
    return data_dir


def quick_checkpoint(data_dir: Path, out_dir: Path, **model) -> Path:
    """A briefly trained checkpoint to generate from (a few dozen iterations)."""
    from moredata.training.config import load_settings
    from moredata.training.loop import TrainingLoop

    flags = {"data_dir": data_dir, "out_dir": out_dir, "device": "cpu", "n_layer": 4, "n_head": 4, "n_embd": 128,
             "block_size": 256, "batch_size": 8, "gradient_accumulation_steps": 1, "max_iters": 30,
             "eval_interval": 30, "eval_iters": 2, "learning_rate": 1e-3, "warmup_iters": 5, "lr_decay_iters": 30,
             "min_lr": 1e-4, "progress": False, "plot": False, **model}
    TrainingLoop(load_settings([f"--{k}={v}" for k, v in flags.items()])).run()
    return out_dir / "best.pt"


def peak_rss_mb(pid: int) -> float:
    """A process's peak resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
