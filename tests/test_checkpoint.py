"""Checkpoint format: nanoGPT import, atomic writes, and refusing to unpickle anything but tensors."""
import os
import pickle
import signal
import subprocess
import sys
import threading
import time

import nanogpt_reference as ngpt
import pytest
import torch
from conftest import deflated_checkpoint

from moredata.errors import NotFound
from moredata.models.checkpoint import (
    inference_only,
    load_checkpoint,
    load_model,
    model_from_checkpoint,
    save_checkpoint,
)
from moredata.models.decoder_only import GPT, GPTConfig

ARGS = dict(n_layer=2, n_head=2, n_embd=32, block_size=16, bias=False, vocab_size=65, dropout=0.0)


def _nanogpt_ckpt(path, compiled: bool, flash: bool = True):
    """Writes a checkpoint the way nanoGPT's train.py does (optimizer state and config included)."""
    torch.manual_seed(3)
    model = ngpt.GPT(ngpt.GPTConfig(**ARGS), flash=flash)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randint(0, 65, (2, 16))
    _, loss = model(x, x)
    loss.backward()
    opt.step()
    sd = model.state_dict()
    if compiled:  # what torch.compile'd training leaves in the state dict
        sd = {f"_orig_mod.{k}": v for k, v in sd.items()}
    torch.save({"model": sd, "optimizer": opt.state_dict(), "model_args": dict(ARGS), "iter_num": 250,
                "best_val_loss": torch.tensor(1.4697), "config": {"dataset": "shakespeare_char", "batch_size": 64}},
               path)
    return model.eval(), x


@pytest.mark.parametrize("compiled, flash", [(False, True), (True, True), (False, False)])
def test_nanogpt_checkpoint_loads_as_is(tmp_path, compiled, flash):
    ref, x = _nanogpt_ckpt(tmp_path / "ckpt.pt", compiled, flash)
    model, tok, ckpt = load_model(tmp_path / "ckpt.pt")
    assert tok is None and ckpt["iter_num"] == 250
    with torch.no_grad():
        ours, _ = model(x, x)
        theirs, _ = ref(x, x)
    assert torch.allclose(ours, theirs, atol=1e-6)


def test_our_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    m = GPT(GPTConfig(**ARGS))
    save_checkpoint(tmp_path / "c.pt", {"model": m.state_dict(), "model_args": m.config.to_dict(), "iter_num": 7,
                                        "best_val_loss": 2.5, "config": {"a": 1},
                                        "tokenizer": {"kind": "char", "chars": "ab"},
                                        "optimizer": {"state": {}, "param_groups": []}})
    model, tok, ckpt = load_model(tmp_path / "c.pt")
    assert tok.decode(tok.encode("abba")) == "abba" and ckpt["format"] == "moredata.checkpoint.v1"
    assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), model.state_dict().values()))
    assert "optimizer" not in inference_only(ckpt)
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no temp files left


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_refuses_pickled_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.save({"model": {}, "model_args": {}, "x": _Evil()}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="not a PyTorch checkpoint"):
        load_checkpoint(tmp_path / "evil.pt")
    (tmp_path / "plain.pkl").write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(ValueError):
        load_checkpoint(tmp_path / "plain.pkl")
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(NotFound):
        load_checkpoint(tmp_path / "missing.pt")


def _big_ckpt(fill: float) -> dict:
    return {"model": {"w": torch.full((1 << 20,), fill)}, "model_args": {}, "iter_num": int(fill)}


def test_reader_never_sees_a_partial_file(tmp_path):
    """A reader polling while a writer rewrites the file sees either complete version, never a torn one."""
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, _big_ckpt(0.0))
    stop = threading.Event()
    seen, errors = set(), []

    def reader():
        while not stop.is_set():
            try:
                c = torch.load(path, weights_only=True)
                w = c["model"]["w"]
                assert bool((w == w[0]).all()) and int(w[0]) == c["iter_num"]
                seen.add(c["iter_num"])
            except Exception as e:  # noqa: BLE001 - any failure is a torn read
                errors.append(repr(e))

    t = threading.Thread(target=reader)
    t.start()
    for i in range(1, 25):
        save_checkpoint(path, _big_ckpt(float(i)))
    time.sleep(0.05)
    stop.set()
    t.join()
    assert errors == []
    assert len(seen) >= 2  # the reader really did overlap the writes


WRITER = """
import io, sys, torch
sys.path.insert(0, sys.argv[2])
from moredata.atomic import atomic_write_with
from moredata.models.checkpoint import save_checkpoint
save_checkpoint(sys.argv[1], {"model": {"w": torch.full((1 << 20,), 1.0)}, "model_args": {}, "iter_num": 1})


def half_then_wait(f):  # the second write: half the bytes on disk, then it waits to be killed
    buf = io.BytesIO()
    torch.save({"model": {"w": torch.full((1 << 20,), 2.0)}, "model_args": {}, "iter_num": 2}, buf)
    data = buf.getvalue()
    f.write(data[: len(data) // 2])
    f.flush()
    print("mid-write", flush=True)
    sys.stdin.read()


atomic_write_with(sys.argv[1], half_then_wait)
"""


def test_killed_writer_leaves_a_loadable_file(tmp_path):
    """The writer is killed while it is certainly mid-write (it says so, then waits): the file is the
    previous complete checkpoint."""
    from conftest import ROOT

    path = tmp_path / "ckpt.pt"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(ROOT)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"mid-write"
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # the half-written temp file exists
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    c = torch.load(path, weights_only=True)
    w = c["model"]["w"]
    assert c["iter_num"] == 1 and bool((w == 1.0).all())


# --- what a file may make us allocate is bounded by its size on disk (issue 23, item 1) -------------------

def _with_junk(path, junk_floats: int, deflate: bool):
    """A good checkpoint plus an extra "junk" tensor of zeros; with `deflate`, its archive entries are
    rewritten compressed, so a few hundred KB on disk inflate to 4 x junk_floats bytes."""
    torch.manual_seed(0)
    ckpt = {"model": GPT(GPTConfig(**ARGS)).state_dict(), "model_args": ARGS, "junk": torch.zeros(junk_floats)}
    if deflate:
        return deflated_checkpoint(ckpt, path, path.parent)
    torch.save(ckpt, path)
    return path


def _peak_rss_growth_mb(code: str) -> float:
    """Peak RSS growth (VmHWM) of running `code` in a fresh interpreter after its imports."""
    prog = ("import resource, torch\nfrom moredata.models.checkpoint import load_checkpoint, model_from_checkpoint\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n" + code +
            "\nprint((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)")
    out = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return float(out.stdout.strip().splitlines()[-1])


def test_a_compressed_entry_is_refused_before_anything_is_inflated(tmp_path):
    bad = _with_junk(tmp_path / "bomb.pt", 2**27, deflate=True)  # 512 MB of zeros in ~0.5 MB
    assert bad.stat().st_size < 5 * 2**20
    with pytest.raises(ValueError, match="'bomb/data/.*' is compressed .* declare 536,870,912"):
        load_checkpoint(bad)
    grew = _peak_rss_growth_mb(f"""
try:
    load_checkpoint({str(bad)!r})
except ValueError:
    pass""")
    assert grew < 100, grew


def test_an_entry_the_model_does_not_name_is_never_read(tmp_path):
    path = _with_junk(tmp_path / "junk.pt", 2**26, deflate=False)  # 256 MB stored beside a 50 KB model
    grew = _peak_rss_growth_mb(f"""
ckpt = load_checkpoint({str(path)!r})
model = model_from_checkpoint(ckpt)
assert ckpt["junk"].shape == (2**26,)""")
    assert grew < 100, grew
    ckpt = load_checkpoint(path)  # memory-mapped, and still the weights that were saved
    model = model_from_checkpoint(ckpt)
    assert all(torch.equal(v, ckpt["model"][k]) for k, v in model.state_dict().items())
