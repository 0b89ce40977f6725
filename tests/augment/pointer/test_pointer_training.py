"""Training the pointer network on real speech through the Python Trainer: the loss falls, resume is
exact, the service's stored mode gives the in-process result, and bad configs and samples are refused."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import grpc
import numpy as np
import pytest
import torch
from conftest import ROOT, wait_until

from moredata.errors import InvalidArgument
from moredata.models.checkpoint import load_checkpoint
from moredata.pointer.client import AugmentClient
from moredata.pointer.config import AugmentationConfig
from moredata.pointer.dataset import PointerDataset
from moredata.pointer.speech_sets import make_sets
from moredata.pointer.training import PointerTrainConfig, train_pointer
from moredata.training.metrics import read_metrics
from services.augment.main import serve
from services.augment.settings import AugmentSettings

ALL = AugmentationConfig.from_name_or_file("all")


def tiny(epochs: int = 3, dropout: float = 0.0, **training) -> PointerTrainConfig:
    return PointerTrainConfig.model_validate({
        "model": {"d_model": 32, "num_heads": 4, "raw_layers": 1, "edit_layers": 1, "dropout": dropout},
        "training": {"batch_size": 8, "learning_rate": 3e-3, "epochs": epochs, "workers": 1, **training},
        "augmentation": ALL.augmentation.model_dump()})


@pytest.fixture(scope="module")
def speech_sets(tmp_path_factory):
    out = tmp_path_factory.mktemp("speech_sets")
    make_sets(out, seed=0, progress=False)
    return out


@pytest.fixture(scope="module")
def stored_service(speech_sets):
    handle = serve(AugmentSettings(address="127.0.0.1:0", samples_dir=str(speech_sets / "train")),
                   install_signals=False)
    yield f"127.0.0.1:{handle.port}"
    handle.stop(0)


def test_make_sets_is_reproducible_and_holds_out_texts_and_a_voice(speech_sets, tmp_path):
    manifest = json.loads((speech_sets / "manifest.json").read_text())
    sets = manifest["sets"]
    assert {k: len(v) for k, v in sets.items()} == {"train": 45, "val": 30, "ood": 20}
    train_texts = {r["text"] for r in sets["train"]}
    assert not train_texts & {r["text"] for r in sets["val"] + sets["ood"]}
    train_voices = {r["voice"] for r in sets["train"]}
    assert {r["voice"] for r in sets["val"]} <= train_voices
    assert not {r["voice"] for r in sets["ood"]} & train_voices
    assert len({(r["speed"], r["pitch"]) for r in sets["train"]}) > 30  # speeds and pitches vary
    for name, rows in sets.items():  # real edits: the edit is cut, repeated or reordered, not the raw
        assert any(r["segments"] != sorted(r["segments"]) or r["edit_frames"] != r["raw_frames"] for r in rows)
    again = tmp_path / "again"
    make_sets(again, seed=0, progress=False)
    for name in ("train", "ood"):
        a, b = np.load(speech_sets / name / f"{name}_003.npz"), np.load(again / name / f"{name}_003.npz")
        assert np.array_equal(a["raw"], b["raw"]) and np.array_equal(a["pointers"], b["pointers"])


def test_loss_falls_on_real_speech(speech_sets, tmp_path):
    s = train_pointer(tiny(epochs=4), speech_sets, tmp_path / "run", progress=False, device="cpu")
    evals = s["evals"]
    assert len(evals) == 5 and evals[0]["iter"] == 0  # one evaluation before training and one per epoch
    assert evals[-1]["val_loss"] < evals[0]["val_loss"] - 1.0  # from about log(300) = 5.7 nats
    assert evals[-1]["val_pointer_acc"] > 3 * evals[0]["val_pointer_acc"]
    assert set(s["scores"]) == {"train", "val", "ood"}
    assert s["scores"]["val"]["acc_within_2"] >= s["scores"]["val"]["acc"] > 0.02
    assert (tmp_path / "run" / "loss.png").stat().st_size > 10_000
    rows = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert [r["iter"] for r in rows if r["type"] == "eval"] == [e["iter"] for e in evals]
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["best_val_loss"] == s["best_val_loss"]


def test_an_interrupted_run_resumes_to_the_same_weights(speech_sets, tmp_path):
    """Ctrl-C in the middle of an epoch, then --resume: the final weights equal an uninterrupted run's,
    bit for bit (dropout 0: dropout masks are the one thing a resumed run draws differently)."""
    cfg = tiny(epochs=3)
    whole = train_pointer(cfg, speech_sets, tmp_path / "whole", progress=False, device="cpu")
    metrics = tmp_path / "cut" / "metrics.jsonl"

    def interrupt_mid_epoch_two():
        def past():
            try:
                return any(r["type"] == "train" and r["iter"] >= 8 for r in read_metrics(metrics))
            except (FileNotFoundError, json.JSONDecodeError):
                return False
        wait_until(past, timeout=300)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_mid_epoch_two, daemon=True).start()
    cut = train_pointer(cfg, speech_sets, tmp_path / "cut", progress=False, device="cpu")
    stopped_at = load_checkpoint(tmp_path / "cut" / "ckpt.pt")["iter_num"]
    assert 8 < stopped_at < whole["iterations"] and stopped_at % 6  # mid-epoch (6 batches per epoch)
    assert cut["iterations"] < whole["iterations"]
    resumed = train_pointer(cfg, speech_sets, tmp_path / "cut", progress=False, device="cpu", resume=True)
    assert resumed["iterations"] == whole["iterations"]
    a = load_checkpoint(tmp_path / "whole" / "ckpt.pt")["model"]
    b = load_checkpoint(tmp_path / "cut" / "ckpt.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed["best_val_loss"] == whole["best_val_loss"]


def test_stored_mode_gives_the_in_process_items(speech_sets, stored_service):
    local = PointerDataset(speech_sets / "train", ALL, seed=11)
    remote = PointerDataset(speech_sets / "train", ALL, seed=11, service=stored_service, service_mode="stored")
    assert len(remote) == 45
    names = set()
    for index, epoch in [(i, e) for e in (0, 3) for i in range(0, 45, 4)]:
        a, b = local[(index, epoch)], remote[(index, epoch)]
        assert a["applied"] == b["applied"]
        assert torch.equal(a["raw"], b["raw"]) and torch.equal(a["edit"], b["edit"])
        assert torch.equal(a["pointers"], b["pointers"])
        names |= {t["name"] for t in a["applied"]}
    assert {"crop", "chunk_shuffle", "concatenation", "noise"} <= names  # the pointer-aware paths were exercised
    items = [(i, 2) for i in (0, 7, 44)]
    with AugmentClient(stored_service) as client:  # the streaming RPC: the same items, in order
        for (index, epoch), (out, applied) in zip(items, client.augment_stored_many(items, seed=11, config=ALL)):
            a = local[(index, epoch)]
            assert applied == a["applied"] and np.array_equal(out.raw, a["raw"].numpy())
            assert np.array_equal(out.pointers, a["pointers"].numpy())
        with pytest.raises(grpc.RpcError) as e:
            list(client.augment_stored_many([(0, 0), (99, 0)], seed=11, config=ALL))
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "request 1: index 99" in e.value.details()


def test_training_through_the_service_equals_in_process(speech_sets, stored_service, tmp_path):
    cfg = tiny(epochs=2)
    local = train_pointer(cfg, speech_sets, tmp_path / "local", progress=False, device="cpu")
    remote = train_pointer(cfg, speech_sets, tmp_path / "remote", service=stored_service, progress=False,
                           device="cpu")
    assert [e["val_loss"] for e in local["evals"]] == [e["val_loss"] for e in remote["evals"]]
    assert remote["service"] == stored_service


def test_stored_mode_refusals(speech_sets, stored_service, tmp_path):
    with AugmentClient(stored_service) as client:
        with pytest.raises(grpc.RpcError) as e:
            client.augment_stored(45, 0, 1)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "index 45 outside [0, 45)" in e.value.details()
        with pytest.raises(grpc.RpcError) as e:
            client.augment_stored(0, -1, 1)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "epoch" in e.value.details()
        with pytest.raises(grpc.RpcError) as e:
            client.augment_stored(0, 0, 1, config='{"augmentation": {"crop": {"min_len": 0}}}')
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "crop.min_len" in e.value.details()
    with pytest.raises(InvalidArgument, match="holds other samples"):
        PointerDataset(speech_sets / "val", ALL, service=stored_service, service_mode="stored")
    plain = serve(AugmentSettings(address="127.0.0.1:0"), install_signals=False)
    try:
        with AugmentClient(f"127.0.0.1:{plain.port}") as client, pytest.raises(grpc.RpcError) as e:
            client.stored_info()
        assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "--samples_dir" in e.value.details()
    finally:
        plain.stop(0)


@pytest.mark.parametrize("config, message", [
    ({"training": {"batch_size": 0}}, "training.batch_size"),
    ({"training": {"epoch": 3}}, "training.epoch"),
    ({"model": {"d_model": 30, "num_heads": 4}}, "divisible by num_heads"),
    ({"model": {"width": 3}}, "unknown model config key 'width'"),
    ({"augmentation": {"noise": {"probability": 2}}}, "augmentation.noise.probability"),
    ({"augmentation": {"crop": {"enabled": True, "min_len": 50, "max_len": 10}}}, "min_len"),
    ({"optimizer": "sgd"}, "optimizer"),
])
def test_bad_configs_name_the_key(config, message):
    with pytest.raises(InvalidArgument, match=message.replace(".", r"\.")):
        PointerTrainConfig.from_json(json.dumps(config))


def cli(*args):
    return subprocess.run([sys.executable, "-m", "moredata.pointer.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_cli_refuses_bad_input_with_one_line(speech_sets, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"training": {"learning_rate": -1}}')
    broken = tmp_path / "broken"
    for name in ("train", "val"):
        (broken / name).mkdir(parents=True)
        (broken / name / "a_000.npz").write_bytes((speech_sets / name / f"{name}_000.npz").read_bytes())
    (broken / "train" / "b_001.npz").write_bytes(b"not a zip file")
    cases = [
        (["train", "--config", bad, "--data", speech_sets, "--out", tmp_path / "r1"], "training.learning_rate"),
        (["train", "--data", tmp_path / "nowhere", "--out", tmp_path / "r2"], "make-sets"),
        (["train", "--data", speech_sets, "--out", tmp_path / "r3", "--augment", "loud"], "not found: loud"),
        (["train", "--config", "mini", "--data", broken, "--out", tmp_path / "r4", "--epochs", "1", "--quiet"],
         "b_001.npz: not a sample file"),
        (["evaluate", tmp_path / "none.pt", "--data", speech_sets], "checkpoint not found"),
    ]
    for args, message in cases:
        r = cli(*args)
        assert r.returncode == 2, (args, r.stderr[-2000:])
        last = r.stderr.strip().splitlines()[-1]
        assert last.startswith("error: ") and message in last and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert not (tmp_path / "r4" / "best.pt").exists()


def test_moredata_train_refuses_the_pointer_type(char_data, tmp_path):
    r = subprocess.run([sys.executable, "-m", "services.trainer", f"--data_dir={char_data}",
                        f"--out_dir={tmp_path}", "--model_type=pointer", "--max_iters=1", "--device=cpu"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 2 and "moredata-pointer" in r.stderr and "Traceback" not in r.stderr
