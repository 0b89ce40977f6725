"""Shared fixtures: the repository's own tiny Shakespeare, prepared small, helpers to train on it, a real
redis-server, and real speech (espeak-ng) for the augment tests."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SHAKESPEARE = ROOT / "data" / "tinyshakespeare" / "input.txt"


@pytest.fixture(scope="session")
def shakespeare_text() -> str:
    return SHAKESPEARE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def char_data(tmp_path_factory, shakespeare_text) -> Path:
    """The first 200k characters of tiny Shakespeare, prepared char-level (real text, quick to train on)."""
    from moredata.data.prepare import prepare

    d = tmp_path_factory.mktemp("data")
    src = d / "input.txt"
    src.write_text(shakespeare_text[:200_000], encoding="utf-8")
    prepare([src], d / "char", tokenizer="char", block_size=32)
    return d / "char"


def tiny_flags(data_dir: Path, out_dir: Path, **over) -> list[str]:
    """A model small enough to train a few dozen iterations in seconds on 2 cores."""
    flags = {
        "data_dir": data_dir, "out_dir": out_dir, "device": "cpu", "n_layer": 2, "n_head": 2, "n_embd": 32,
        "block_size": 32, "batch_size": 8, "gradient_accumulation_steps": 1, "max_iters": 40,
        "eval_interval": 10, "eval_iters": 4, "log_interval": 1, "learning_rate": 3e-3, "warmup_iters": 5,
        "lr_decay_iters": 40, "min_lr": 3e-4, "dropout": 0.0, "progress": False, "plot": True,
    }
    flags.update(over)
    return [f"--{k}={v}" for k, v in flags.items()]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A real redis-server on a free loopback port, no persistence; restartable on the same port."""

    def __init__(self, tmp: Path, *extra: str):
        self.port = free_port()
        self.tmp = tmp
        self.extra = list(extra)  # e.g. "--maxmemory", "64mb"
        self.proc = None

    def start(self) -> "RedisServer":
        import shutil
        import subprocess
        import time

        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server not found: run scripts/setup.sh (it installs it through apt)")
        self.proc = subprocess.Popen([exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.tmp), *self.extra],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis(port=self.port)
        for _ in range(200):
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def client(self):
        import redis

        return redis.Redis(port=self.port)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


def wait_until(pred, timeout: float = 60.0) -> bool:
    """Polls pred every 50 ms until it is true (True) or timeout seconds pass (False)."""
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


# --- real speech for the augment tests: espeak-ng renders English sentences to 22.05 kHz WAV files ---

SENTENCES = [
    "The quick brown fox jumps over the lazy dog, and then it runs back into the forest.",
    "Pointer networks learn which frame of the raw recording each edited frame was copied from.",
    "Augmentation gives a small model more data than it has, without recording anything new.",
]


@pytest.fixture(scope="session")
def speech_wavs(tmp_path_factory) -> list[Path]:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng not found: run scripts/setup.sh (it installs it through apt)")
    d = tmp_path_factory.mktemp("speech")
    paths = []
    for i, text in enumerate(SENTENCES):
        p = d / f"speech{i}.wav"
        subprocess.run([exe, "-w", str(p), "-s", "150", text], check=True, capture_output=True)
        paths.append(p)
    return paths


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory, speech_wavs) -> Path:
    """Samples built from the speech by the builder CLI (3 recordings x 3 samples)."""
    from moredata.pointer.wav_samples import main

    d = tmp_path_factory.mktemp("samples")
    main([*map(str, speech_wavs), "--out", str(d), "--per-file", "3", "--seed", "1"])
    return d


@pytest.fixture(scope="session")
def tiny_best(char_data, tmp_path_factory):
    """best.pt of a 60-iteration run on the char data (val about 2.5 nats: better than uniform, far from good)."""
    from moredata.training.config import load_settings
    from moredata.training.loop import TrainingLoop

    out = tmp_path_factory.mktemp("trained")
    TrainingLoop(load_settings(tiny_flags(char_data, out, max_iters=60, eval_interval=20))).run()
    return out / "best.pt"


def spy(monkeypatch, module, name: str, record) -> list:
    """Replaces module.name by a wrapper that appends record(*args, out=result) to the returned list and
    still calls the real function (a spy, not a mock)."""
    calls, real = [], getattr(module, name)

    def wrapper(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append(record(*args, out=out))
        return out

    monkeypatch.setattr(module, name, wrapper)
    return calls


def deflated_checkpoint(obj: dict, path: Path, work: Path) -> Path:
    """torch.save(obj) with its archive's entries over 1 MiB rewritten compressed: a file that is small on
    disk and inflates to what obj holds (torch.save itself stores every entry as it is)."""
    import zipfile

    import torch

    plain = work / f"{path.stem}.plain"  # torch names the archive's folder after the file's stem
    torch.save(obj, plain)
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w") as out:
        for info in src.infolist():
            out.writestr(info.filename, src.read(info.filename),
                         compress_type=zipfile.ZIP_DEFLATED if info.file_size > 2**20 else zipfile.ZIP_STORED)
    plain.unlink()
    return path
