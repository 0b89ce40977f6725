"""The training loop on real text: learning, saving, exact resume, early stopping, metrics and plot."""
import json

import pytest
import torch
from conftest import tiny_flags

from moredata.models.checkpoint import load_checkpoint, load_model
from moredata.models.generation import generate
from moredata.training.config import load_settings
from moredata.training.early_stopping import EarlyStopping
from moredata.training.loop import TrainingLoop
from moredata.training.lr_schedule import get_lr
from moredata.training.metrics import read_metrics
from services.trainer import cli


def _train(flags):
    return TrainingLoop(load_settings(flags)).run()


def _losses(out_dir):
    return {r["iter"]: r["loss"] for r in read_metrics(out_dir / "metrics.jsonl") if r["type"] == "train"}


@pytest.fixture(scope="module")
def trained(char_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    cli.main(tiny_flags(char_data, out, max_iters=60, lr_decay_iters=60, eval_interval=20))
    return out


def test_training_learns_and_writes_everything(trained):
    s = json.loads((trained / "summary.json").read_text())
    evals = s["evals"]
    assert [e["iter"] for e in evals] == [0, 20, 40, 60]
    assert evals[-1]["val_loss"] < evals[0]["val_loss"] - 0.5  # ln(65) = 4.17 at the start
    assert s["best_val_loss"] == min(e["val_loss"] for e in evals) and not s["stopped_early"]
    rows = read_metrics(trained / "metrics.jsonl")
    assert len([r for r in rows if r["type"] == "train"]) == 61
    png = (trained / "loss.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    model, tok, ckpt = load_model(trained / "best.pt")
    assert ckpt["best_val_loss"] == s["best_val_loss"] and ckpt["iter_num"] == s["best_iter"]
    assert ckpt["tokenizer"]["kind"] == "char" and "optimizer" in ckpt
    text = tok.decode(generate(model, torch.tensor([tok.encode("ROMEO:")]), 40, temperature=0.8, top_k=10)[0])
    assert text.startswith("ROMEO:") and len(text) == 46


def test_lr_schedule_is_nanogpts():
    cfg = load_settings(["--learning_rate=1e-3", "--min_lr=1e-4", "--warmup_iters=10", "--lr_decay_iters=110"])
    assert get_lr(0, cfg) == pytest.approx(1e-3 / 11)
    assert get_lr(10, cfg) == pytest.approx(1e-3)
    assert get_lr(60, cfg) == pytest.approx(5.5e-4)  # half way down the cosine
    assert get_lr(110, cfg) == pytest.approx(1e-4) and get_lr(500, cfg) == pytest.approx(1e-4)


def test_resume_continues_the_same_loss_curve(char_data, tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    common = dict(max_iters=30, lr_decay_iters=30, eval_interval=10, always_save_checkpoint=True, dropout=0.1)
    _train(tiny_flags(char_data, full, **common))
    _train(tiny_flags(char_data, part, **{**common, "max_iters": 20}))  # "interrupted" after iter 20
    assert load_checkpoint(part / "ckpt.pt")["iter_num"] == 20
    s = _train(tiny_flags(char_data, part, **common, init_from="resume"))
    assert s.start_iter == 20 and s.iter_num == 30
    a, b = _losses(full), _losses(part)
    assert sorted(b) == list(range(31))  # metrics of the redone iterations replaced, not duplicated
    assert [a[i] for i in range(20, 31)] == [b[i] for i in range(20, 31)]  # bit for bit, dropout included
    assert load_checkpoint(full / "ckpt.pt")["best_val_loss"] == load_checkpoint(part / "ckpt.pt")["best_val_loss"]


def test_early_stopping_triggers_and_keeps_the_best(char_data, tmp_path):
    # a learning rate this high makes the val loss go up after a few evaluations
    s = _train(tiny_flags(char_data, tmp_path, max_iters=400, lr_decay_iters=400, eval_interval=5,
                          learning_rate=0.05, min_lr=0.05, warmup_iters=0, early_stopping_patience=2,
                          early_stopping_min_delta=0.01))
    assert s.stopped_early and s.stopped_at_iter < 400
    evals = s.evals
    assert s.stopped_at_iter == evals[-1]["iter"]
    best = min(evals, key=lambda e: e["val_loss"])
    # the last `patience` evaluations did not beat the best by more than min_delta
    assert all(e["val_loss"] >= best["val_loss"] - 0.01 for e in evals[-2:])
    assert load_checkpoint(tmp_path / "best.pt")["iter_num"] == best["iter"] == s.best_iter


def test_early_stopping_rule():
    es = EarlyStopping(patience=2, min_delta=0.1)
    assert [es.update(v) for v in (3.0, 2.5, 2.45, 2.44, 2.0, 2.1, 1.95)] == [False, False, False, True, False,
                                                                                False, True]
    train = EarlyStopping(patience=0)
    assert not any(train.update(v) for v in (1.0, 2.0, 3.0, 4.0))  # 0 disables


def test_monitor_train_loss(char_data, tmp_path):
    s = _train(tiny_flags(char_data, tmp_path, max_iters=20, eval_interval=5, early_stopping_patience=1,
                          early_stopping_min_delta=100.0, early_stopping_monitor="train"))
    assert s.stopped_early and s.stopped_at_iter == 5  # no train-loss drop can beat a min_delta of 100


def test_resume_without_checkpoint_is_a_user_error(char_data, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(tiny_flags(char_data, tmp_path, init_from="resume"))
    assert e.value.code == 2 and "checkpoint not found" in capsys.readouterr().err


def test_finetune_from_checkpoint_path(char_data, trained, tmp_path):
    s = _train(tiny_flags(char_data, tmp_path, init_from=trained / "best.pt", max_iters=10, eval_interval=10,
                          block_size=16))
    assert s.evals[0]["val_loss"] < 3.5  # starts from the trained weights, not from scratch (ln 65 = 4.17)
    assert load_checkpoint(tmp_path / "best.pt")["model_args"]["block_size"] == 16  # cropped


def test_ddp_under_torchrun_with_early_stopping(char_data, tmp_path):
    """Two CPU processes (gloo) train together, each with its own in-process enhanced generator;
    rank 0's early-stop decision (and its new best.pt) reaches rank 1."""
    import subprocess
    import sys

    from conftest import ROOT

    flags = tiny_flags(char_data, tmp_path, max_iters=200, eval_interval=5, gradient_accumulation_steps=2,
                       early_stopping_patience=1, early_stopping_min_delta=100.0, backend="gloo",
                       enhanced_data_probability=0.3, max_prefix_length=16)
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           "-m", "services.trainer", *flags], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["stopped_early"] and s["stopped_at_iter"] == 5
    assert proc.stdout.count("training summary") == 1  # only rank 0 reports
    assert "could not load" not in proc.stderr  # rank 1's generator found rank 0's best.pt


def test_sigterm_saves_and_resumes(char_data, tmp_path):
    """docker stop / Ctrl-C: the iteration in flight finishes, ckpt.pt is written, exit status 0."""
    import signal
    import subprocess
    import sys
    import time

    from conftest import ROOT

    flags = tiny_flags(char_data, tmp_path, max_iters=100000, lr_decay_iters=100000, eval_interval=1000)
    proc = subprocess.Popen([sys.executable, "-m", "services.trainer", *flags], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = tmp_path / "metrics.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (metrics.is_file() and metrics.read_text().count('"train"') >= 20):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert "SIGTERM: saved" in out and "Traceback" not in err
    s = json.loads((tmp_path / "summary.json").read_text())
    ckpt = load_checkpoint(tmp_path / "ckpt.pt")
    assert s["interrupted_at_iter"] == ckpt["iter_num"] >= 20
    assert ckpt["trainer_state"]["evaluated"] is False
    stop_at = ckpt["iter_num"]
    r = _train(tiny_flags(char_data, tmp_path, max_iters=stop_at + 5, lr_decay_iters=100000, eval_interval=1000,
                          init_from="resume"))
    assert r.start_iter == stop_at and r.iter_num == stop_at + 5


def test_sample_cli(trained, tmp_path, capsys):
    from moredata.models import sample

    sample.main(["--ckpt", str(trained / "best.pt"), "--start", "KING", "--max_new_tokens", "30",
                 "--num_samples", "2", "--device", "cpu"])
    out = capsys.readouterr().out
    texts = out.split("---------------\n")
    assert len(texts) == 3 and all(t.startswith("KING") and len(t.rstrip("\n")) >= 30 for t in texts[:2])
    assert "60 tokens in" in texts[2]
    # a checkpoint without a tokenizer (a nanoGPT import) needs --tokenizer; bad prompts are user errors
    ckpt = load_checkpoint(trained / "best.pt")
    torch.save({**ckpt, "tokenizer": None}, tmp_path / "bare.pt")
    for argv, words in ([["--ckpt", str(tmp_path / "bare.pt")], "carries no tokenizer"],
                        [["--ckpt", str(tmp_path / "nope.pt")], "checkpoint not found"],
                        [["--ckpt", str(trained / "best.pt"), "--start", "€"], "not in the tokenizer's alphabet"]):
        with pytest.raises(SystemExit) as e:
            sample.main(argv)
        assert e.value.code == 2 and words in capsys.readouterr().err
    sample.main(["--ckpt", str(tmp_path / "bare.pt"), "--tokenizer", str(_tokenizer_file(trained, tmp_path)),
                 "--max_new_tokens", "5"])
    assert "5 tokens in" in capsys.readouterr().out


def _tokenizer_file(trained, tmp_path):
    p = tmp_path / "tokenizer.json"
    p.write_text(json.dumps(load_checkpoint(trained / "best.pt")["tokenizer"]))
    return p
