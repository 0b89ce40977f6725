"""The Python training API and the CLI on every model type, on tiny Shakespeare: training, early
stopping that survives a resume, continued training, the README example, and the encoder in RAG."""

import pytest
from conftest import ROOT, tiny_flags
from fastapi.testclient import TestClient

from moredata import (
    Trainer,
    build_model,
    continue_training,
    create_dataloaders,
    extract_model_for_inference,
    load_and_split_data,
    train_tokenizer,
)
from moredata.models.checkpoint import load_checkpoint
from moredata.training.config import load_settings
from moredata.training.loop import TrainingLoop as Loop
from moredata.training.metrics import read_metrics

TEXT = ROOT / "data" / "tinyshakespeare" / "input.txt"


@pytest.fixture(scope="module")
def loaders():
    train, val, test = load_and_split_data(TEXT, split_method="paragraphs", val_split=0.05, test_split=0.05)
    assert len(test) > 0 and len(train) > 10 * len(val) > 0
    tok = train_tokenizer(train, "char")
    return create_dataloaders(train[:640], val[:64], tok, batch_size=32, max_length=64), tok


def test_api_trains_an_encoder_and_its_mlm_loss_falls(loaders, tmp_path):
    (train_dl, val_dl), tok = loaders
    model = build_model("encoder_only", dict(vocab_size=tok.total_vocab_size, d_model=64, num_heads=4,
                                             num_layers=2, max_seq_len=64))
    r = Trainer(model, train_dl, val_dl, learning_rate=3e-3, checkpoint_dir=tmp_path / "enc", device="cpu",
                progress=False).train(epochs=3)
    assert r["epochs_completed"] == 3 and not r["early_stopped"]
    assert r["best_checkpoint"] == str(tmp_path / "enc" / "best.pt")
    losses = [e["val_loss"] for e in r["evals"]]
    assert losses[-1] < losses[0] - 0.5  # from ~ln(vocab) down
    assert r["evals"][-1]["val_masked_acc"] > r["evals"][0]["val_masked_acc"] + 0.05
    assert load_checkpoint(r["best_checkpoint"])["model_type"] == "encoder_only"


def test_continue_training_starts_at_the_saved_step_with_the_new_rate(loaders, tmp_path):
    (train_dl, val_dl), tok = loaders
    model = build_model("decoder_only", dict(vocab_size=tok.total_vocab_size, d_model=32, num_heads=2,
                                             num_layers=2, max_seq_len=64))
    first = Trainer(model, train_dl, val_dl, learning_rate=3e-3, checkpoint_dir=tmp_path / "a", device="cpu",
                    progress=False).train(epochs=1)
    saved = load_checkpoint(tmp_path / "a" / "ckpt.pt")["iter_num"]
    r = continue_training(tmp_path / "a" / "ckpt.pt", train_dl, val_dl, learning_rate=1e-4, epochs=1,
                          checkpoint_dir=tmp_path / "b", progress=False)
    rows = [m for m in read_metrics(tmp_path / "b" / "metrics.jsonl") if m["type"] == "train"]
    assert rows[0]["iter"] == saved and all(m["lr"] == pytest.approx(1e-4) for m in rows)
    assert r["iterations"] >= saved + len(train_dl) - 1 and first["best_checkpoint"] != r["best_checkpoint"]
    assert load_checkpoint(tmp_path / "b" / "ckpt.pt")["tokenizer"] == tok.to_dict()


def test_continued_training_counts_epochs_from_where_it_starts(loaders, tmp_path):
    """Issue 23: from a checkpoint at iteration 63 with a 4-batch loader and epochs=1, evaluations were
    at multiples of 4 (only 64), nothing was saved after it and epochs_completed was 0. Here: 20 batches
    an epoch, a checkpoint at 4 x 20 + 3, two epochs."""
    from moredata.models.checkpoint import save_checkpoint

    (train4, val4), tok = loaders
    steps = len(train4)
    model = build_model("decoder_only", dict(vocab_size=tok.total_vocab_size, d_model=32, num_heads=2,
                                             num_layers=1, max_seq_len=64))
    Trainer(model, train4, val4, learning_rate=3e-3, checkpoint_dir=tmp_path / "a", device="cpu",
            progress=False).train(epochs=1)
    ckpt = load_checkpoint(tmp_path / "a" / "ckpt.pt")
    start = 4 * steps + 3  # not a multiple of the epoch length
    save_checkpoint(tmp_path / "a" / "odd.pt", {**ckpt, "iter_num": start})
    r = continue_training(tmp_path / "a" / "odd.pt", train4, val4, learning_rate=1e-4, epochs=2,
                          checkpoint_dir=tmp_path / "b", progress=False)
    assert [e["iter"] for e in r["evals"]] == [start, start + steps, start + 2 * steps]
    assert r["epochs_completed"] == 2
    assert load_checkpoint(tmp_path / "b" / "ckpt.pt")["iter_num"] >= start + 2 * steps


@pytest.mark.parametrize("model_type", ["encoder_only", "transformer"])
def test_cli_trains_every_type(char_data, tmp_path, model_type):
    s = Loop(load_settings(tiny_flags(char_data, tmp_path / model_type, model_type=model_type, max_iters=30,
                                      plot=False))).run()
    assert s.evals[-1]["val_loss"] < s.evals[0]["val_loss"]
    assert ("val_masked_acc" in s.evals[-1]) == (model_type == "encoder_only")
    assert load_checkpoint(tmp_path / model_type / "best.pt")["model_type"] == model_type


def test_a_run_that_stopped_early_stays_stopped_and_mid_patience_keeps_its_counter(char_data, tmp_path, capsys):
    out = tmp_path / "es"
    # min_delta 10: no evaluation can improve enough, so patience 2 stops at the third evaluation
    flags = dict(model_type="encoder_only", max_iters=200, eval_interval=5, early_stopping_patience=2,
                 early_stopping_min_delta=10.0, plot=False)
    s = Loop(load_settings(tiny_flags(char_data, out, **flags))).run()
    assert s.stopped_early and s.stopped_at_iter == 10
    again = Loop(load_settings(tiny_flags(char_data, out, init_from="resume", **flags))).run()
    assert again.stopped_early and again.iter_num == 10 and not again.evals
    assert "not training again" in capsys.readouterr().out
    on = Loop(load_settings(tiny_flags(char_data, out, init_from="resume", continue_after_early_stop=True,
                                       **flags))).run()
    assert on.stopped_early and on.stopped_at_iter == 20  # patience started again: two more evaluations
    # mid-patience: stop after one bad evaluation (max_iters), resume: the counter is still 1
    mid = tmp_path / "mid"
    Loop(load_settings(tiny_flags(char_data, mid, **{**flags, "early_stopping_patience": 3, "max_iters": 5}))).run()
    assert load_checkpoint(mid / "ckpt.pt")["trainer_state"]["early_stopping"]["bad_evals"] == 1
    r = Loop(load_settings(tiny_flags(char_data, mid, init_from="resume",
                                      **{**flags, "early_stopping_patience": 3}))).run()
    assert r.stopped_at_iter == 15  # evaluations at 10 and 15 make 3 with the one before the resume


def test_the_rag_service_embeds_with_the_projects_encoder(loaders, tmp_path):
    from services.rag.app import create_app
    from services.rag.settings import RagSettings

    (train_dl, val_dl), tok = loaders
    model = build_model("encoder_only", dict(vocab_size=tok.total_vocab_size, d_model=32, num_heads=2,
                                             num_layers=1, max_seq_len=64))
    Trainer(model, train_dl, val_dl, learning_rate=3e-3, checkpoint_dir=tmp_path / "enc", device="cpu",
            progress=False).train(epochs=1)
    extracted = extract_model_for_inference(tmp_path / "enc" / "best.pt", tmp_path / "encoder")
    settings = RagSettings(store_dir=str(tmp_path / "store"), embedder=f"encoder:{extracted}")
    with TestClient(create_app(settings)) as client:
        docs = {"kings": "the king and the queen speak of the crown and the throne",
                "sea": "the ship sails over the sea in the storm and the waves"}
        r = client.post("/documents", json={"documents": [{"doc_id": k, "text": v} for k, v in docs.items()]})
        assert r.status_code == 201, r.text
        r = client.post("/query", json={"query": "the king and the queen", "top_k": 2, "mode": "dense"})
        assert r.status_code == 200, r.text
        hits = r.json()
        assert len(hits) == 2 and hits[0]["doc_id"] == "kings"


def test_messages_name_the_callers_own_spelling(loaders, tmp_path):
    """Issue 23: the Python Trainer and `moredata-pointer train` were told to pass `--init_from=resume` /
    `--overwrite=true`, flags they do not have."""
    from moredata.errors import InvalidArgument
    from moredata.pointer.training import POINTER_CLI
    from moredata.training.config import TrainerSettings
    from moredata.training.setup import check_out_dir

    (train_dl, val_dl), tok = loaders
    model = build_model("decoder_only", dict(vocab_size=tok.total_vocab_size, d_model=16, num_heads=2,
                                             num_layers=1, max_seq_len=64))
    Trainer(model, train_dl, val_dl, checkpoint_dir=tmp_path / "a", device="cpu", progress=False).train(epochs=1)
    with pytest.raises(InvalidArgument) as e:
        Trainer(model, train_dl, val_dl, checkpoint_dir=tmp_path / "a", device="cpu", progress=False).train(epochs=1)
    assert "trainer.train(epochs, resume=True)" in str(e.value) and "Trainer(..., overwrite=True)" in str(e.value)
    assert "--init_from" not in str(e.value)
    with pytest.raises(InvalidArgument) as e:
        check_out_dir(TrainerSettings(out_dir=str(tmp_path / "a")), tmp_path / "a", POINTER_CLI)
    assert "--resume" in str(e.value) and "--overwrite" in str(e.value) and "another --out" in str(e.value)
    assert "--init_from" not in str(e.value) and "--overwrite=true" not in str(e.value)
    with pytest.raises(InvalidArgument) as e:
        check_out_dir(TrainerSettings(out_dir=str(tmp_path / "a")), tmp_path / "a")
    assert "--init_from=resume" in str(e.value)  # the CLI's own spelling stays
