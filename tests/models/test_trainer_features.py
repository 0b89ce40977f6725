"""Pieces of the HF-style Trainer that the README examples do not pin down: nucleus sampling, the
schedules by name, early stopping on a rising metric, and bad arguments refused by name."""
import pytest
import torch

from moredata.errors import InvalidArgument
from moredata.models.generation import sample_next
from moredata.training.config import TrainerSettings
from moredata.training.early_stopping import EarlyStopping, monitor_mode
from moredata.training.lr_schedule import get_lr


def test_top_p_samples_only_from_the_nucleus():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    logits = probs.log().repeat(4000, 1)
    g = torch.Generator().manual_seed(0)
    drawn = sample_next(logits, 1.0, None, g, top_p=0.8)[:, 0]
    # 0.5 + 0.3 reach 0.8: ids 0 and 1 only, in the ratio 5:3
    assert set(drawn.tolist()) == {0, 1}
    assert (drawn == 0).float().mean().item() == pytest.approx(0.5 / 0.8, abs=0.03)
    assert set(sample_next(logits, 1.0, None, g, top_p=0.81)[:, 0].tolist()) == {0, 1, 2}
    assert set(sample_next(logits[:50], 1.0, None, g, top_p=0.1)[:, 0].tolist()) == {0}  # the likeliest stays


@pytest.mark.parametrize("kind,at_half", [("cosine", 0.55), ("linear", 0.55), ("constant_with_warmup", 1.0),
                                          ("constant", 1.0)])
def test_schedules_by_name(kind, at_half):
    cfg = TrainerSettings(learning_rate=1.0, min_lr=0.1, warmup_iters=10, lr_decay_iters=110, lr_scheduler=kind)
    assert get_lr(60, cfg) == pytest.approx(at_half)
    assert get_lr(0, cfg) == pytest.approx(1.0 if kind == "constant" else 1 / 11)
    assert get_lr(200, cfg) == pytest.approx(0.1 if kind in ("cosine", "linear") else 1.0)


def test_early_stopping_watches_a_rising_metric():
    assert monitor_mode("val_masked_acc", "auto") == "max" and monitor_mode("val", "auto") == "min"
    es = EarlyStopping(2, mode="max")
    assert [es.update(v) for v in (0.3, 0.4, 0.39, 0.41, 0.40, 0.35)] == [False, False, False, False, False, True]


def test_bad_trainer_arguments_are_refused_by_name(tmp_path):
    from moredata import Trainer, build_model, create_dataloaders, train_tokenizer

    tok = train_tokenizer(["to be or not to be", "that is the question"], "char")
    train_dl, val_dl = create_dataloaders(["to be or not to be"] * 8, ["that is the question"], tok, batch_size=4)
    gpt = build_model("decoder_only", dict(vocab_size=tok.total_vocab_size, d_model=16, num_heads=2, num_layers=1,
                                           max_seq_len=32))
    kw = dict(checkpoint_dir=tmp_path, device="cpu", progress=False)
    with pytest.raises(InvalidArgument, match=r"gradient_accumulation_steps must be in \[1, 2\]"):
        Trainer(gpt, train_dl, val_dl, gradient_accumulation_steps=3, **kw)
    with pytest.raises(InvalidArgument, match="lr_scheduler"):
        Trainer(gpt, train_dl, val_dl, lr_scheduler="onecycle", **kw)
    with pytest.raises(InvalidArgument, match="eval_steps must be a positive integer"):
        Trainer(gpt, train_dl, val_dl, eval_steps=0, **kw)
    with pytest.raises(InvalidArgument, match="callbacks must be moredata.Callback instances"):
        Trainer(gpt, train_dl, val_dl, callbacks=[print], **kw)
    assert not tmp_path.joinpath("ckpt.pt").exists()
    with pytest.raises(InvalidArgument, match="'val_f1' is not among the evaluated values"):
        Trainer(gpt, train_dl, val_dl, early_stopping_metric="f1", early_stopping_patience=1, **kw).train(epochs=1)


def test_save_total_limit_removes_only_the_runs_step_checkpoints(tmp_path):
    from moredata import Trainer, build_model, create_dataloaders, train_tokenizer

    tok = train_tokenizer(["to be or not to be", "that is the question"], "char")
    train_dl, val_dl = create_dataloaders(["to be or not to be"] * 16, ["that is the question"], tok, batch_size=4)
    gpt = build_model("decoder_only", dict(vocab_size=tok.total_vocab_size, d_model=16, num_heads=2, num_layers=1,
                                           max_seq_len=32))
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "checkpoint-mine.pt").write_bytes(b"the user's own file")
    Trainer(gpt, train_dl, val_dl, checkpoint_dir=tmp_path, device="cpu", progress=False, save_steps=1,
            save_total_limit=2).train(epochs=2)
    kept = sorted(p.name for p in tmp_path.glob("checkpoint-*.pt"))
    assert kept == ["checkpoint-7.pt", "checkpoint-8.pt", "checkpoint-mine.pt"]
    assert (tmp_path / "checkpoint-mine.pt").read_bytes() == b"the user's own file"
