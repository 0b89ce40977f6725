"""Issue 11, trainer items: a user's model is never deleted to make room, the trainer's log shows the
enhanced-data machinery, and importing the library changes nothing in the host process."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import tiny_flags

from services.trainer.cli import main as train_main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def trained(char_data, tmp_path):
    out = tmp_path / "run"
    train_main(tiny_flags(char_data, out, max_iters=10, plot=False))
    return out, (out / "best.pt").read_bytes()


def test_a_second_fresh_run_refuses_and_keeps_the_model(char_data, trained, capsys):
    out, best = trained
    with pytest.raises(SystemExit) as e:
        train_main(tiny_flags(char_data, out, max_iters=10, plot=False))
    err = capsys.readouterr().err
    assert e.value.code == 2 and "already holds a model" in err and "--overwrite" in err
    assert (out / "best.pt").read_bytes() == best


def test_a_data_dir_typo_costs_nothing(char_data, trained, capsys):
    out, best = trained
    with pytest.raises(SystemExit) as e:
        train_main(tiny_flags(char_data.parent / "no_such_data", out, max_iters=10, plot=False, overwrite=True))
    assert e.value.code == 2 and (out / "best.pt").read_bytes() == best


def test_init_from_the_best_model_in_out_dir_loads_it(char_data, trained):
    out, best = trained
    train_main(tiny_flags(char_data, out, max_iters=10, plot=False, init_from=out / "best.pt"))
    assert (out / "best.pt").is_file() and (out / "best.pt").read_bytes() != best  # replaced by a new save


def test_overwrite_replaces_the_model_only_by_saving(char_data, trained):
    out, best = trained
    train_main(tiny_flags(char_data, out, max_iters=10, plot=False, overwrite=True, seed=5))
    assert (out / "best.pt").read_bytes() != best


def test_the_trainer_logs_the_generators_info_lines(char_data, tmp_path):
    flags = tiny_flags(char_data, tmp_path / "run", max_iters=30, plot=False, enhanced_data_probability=0.3,
                       min_prefix_length=4, max_prefix_length=16)
    proc = subprocess.run([sys.executable, "-m", "services.trainer", *flags], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "generator: model version 1" in proc.stderr


def test_importing_the_library_leaves_the_process_as_it_was(tmp_path):
    """No process-wide side effects: the umask is neither changed nor frozen at import (a later umask
    applies to atomic writes), and a generator client leaves the interpreter's switch interval alone."""
    code = f"""
import os, sys
os.umask(0o027)
before = sys.getswitchinterval()
import moredata.atomic as a, moredata.enhanced.remote_source as gc, services.generator.core
assert os.umask(0o077) == 0o027, "umask changed"
client = gc.RemoteSampleSource("127.0.0.1:1", rows_per_batch=2, fragment_len=9, vocab_size=65)
client.close()
assert sys.getswitchinterval() == before, "switch interval changed"
a.atomic_write_text({str(tmp_path / 'f.txt')!r}, "x")
print(oct(os.stat({str(tmp_path / 'f.txt')!r}).st_mode & 0o777))
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0o600"  # 0666 under the umask in force at write time (0o077), as open()


def _children(pid: int) -> list[int]:
    """Direct child processes of pid (from /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _rank_of(pid: int) -> int | None:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    ranks = [e.split(b"=", 1)[1] for e in env if e.startswith(b"RANK=")]
    return int(ranks[0]) if ranks else None


def test_ddp_sigterm_on_one_rank_stops_every_rank(char_data, tmp_path):
    """Issue 11, item 18: a signal that reaches only rank 1 used to stop rank 1 alone, leaving rank 0
    blocked in its next all-reduce until the process-group timeout. Now the ranks agree and all save."""
    import signal
    import time

    flags = tiny_flags(char_data, tmp_path, max_iters=100000, lr_decay_iters=100000, eval_interval=1000,
                       backend="gloo", plot=False, gradient_accumulation_steps=2)
    proc = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                             "-m", "services.trainer", *flags], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        metrics = tmp_path / "metrics.jsonl"
        deadline = time.time() + 180  # a ceiling for a busy machine; the wait is on logged iterations
        while time.time() < deadline and proc.poll() is None and not (
                metrics.is_file() and metrics.read_text().count('"train"') >= 20):
            time.sleep(0.2)
        assert proc.poll() is None and metrics.is_file(), "training did not start"
        rank1 = [p for p in _children(proc.pid) if _rank_of(p) == 1]
        assert len(rank1) == 1, (_children(proc.pid), [_rank_of(p) for p in _children(proc.pid)])
        os.kill(rank1[0], signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert "saved" in out and "continue with --init_from=resume" in out, (out[-2000:], err[-2000:])
    from moredata.models.checkpoint import load_checkpoint

    assert load_checkpoint(tmp_path / "ckpt.pt")["iter_num"] >= 20


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_sample_cli_says_what_a_file_is_and_reads_nanogpt_meta(trained, tmp_path, capsys, monkeypatch):
    import pickle

    from moredata.models import sample
    from moredata.models.checkpoint import load_checkpoint

    out, _ = trained
    notes = tmp_path / "notes.pt"
    notes.write_text("these are my notes, not a model\n")
    for argv, words, absent in ([["--ckpt", str(notes)], "is not a PyTorch checkpoint", "weights_only"],
                                [["--ckpt", str(tmp_path)], "is a directory", "not found"]):
        with pytest.raises(SystemExit) as e:
            sample.main(argv)
        err = capsys.readouterr().err
        assert e.value.code == 2 and words in err and absent not in err, err
    # a nanoGPT run: out/ckpt.pt without a tokenizer, data/<dataset>/meta.pkl beside the repo
    ckpt = load_checkpoint(out / "best.pt")
    nano = tmp_path / "nanoGPT"
    (nano / "out").mkdir(parents=True)
    (nano / "data" / "shakespeare_char").mkdir(parents=True)
    bare = {k: v for k, v in ckpt.items() if k != "tokenizer"}
    torch.save({**bare, "config": {"dataset": "shakespeare_char"}}, nano / "out" / "ckpt.pt")
    chars = ckpt["tokenizer"]["chars"]
    meta = {"vocab_size": len(chars), "itos": dict(enumerate(chars)), "stoi": {c: i for i, c in enumerate(chars)}}
    (nano / "data" / "shakespeare_char" / "meta.pkl").write_bytes(pickle.dumps(meta))
    sample.main(["--ckpt", str(nano / "out" / "ckpt.pt"), "--start", "KING", "--max_new_tokens", "5"])
    assert capsys.readouterr().out.startswith("KING")
    # a meta.pkl that asks to run code is refused, and nothing runs
    monkeypatch.chdir(tmp_path)
    (nano / "data" / "shakespeare_char" / "meta.pkl").write_bytes(pickle.dumps({"itos": _Evil()}))
    with pytest.raises(SystemExit) as e:
        sample.main(["--ckpt", str(nano / "out" / "ckpt.pt"), "--max_new_tokens", "5"])
    assert e.value.code == 2 and "not a nanoGPT char-level meta.pkl" in capsys.readouterr().err
    assert not (tmp_path / "pwned").exists()
