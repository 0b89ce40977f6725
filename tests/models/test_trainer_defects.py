"""Issue 26's numbered defects of the Python Trainer and of extraction, one test each (every one failed on
the code before the fix), run on tiny Shakespeare with small models."""
import json
import subprocess
import sys

import pytest
import torch
from conftest import ROOT

from moredata import (
    Callback,
    Trainer,
    build_model,
    create_dataloaders,
    create_seq2seq_dataloaders,
    extract_model_for_inference,
    load_and_split_data,
    load_model_and_tokenizer,
    train_tokenizer,
)
from moredata.errors import InvalidArgument
from moredata.models.checkpoint import load_checkpoint
from moredata.models.extract import main as extract_main
from moredata.training.objectives import Objective

TEXT = ROOT / "data" / "tinyshakespeare" / "input.txt"


@pytest.fixture(scope="module")
def data():
    train, val, _ = load_and_split_data(TEXT, split_method="paragraphs", val_split=0.05)
    tok = train_tokenizer(train, "char")
    return train, val, tok


def _loaders(data, n_train=192, batch_size=32, shuffle=True):
    train, val, tok = data
    return (*create_dataloaders(train[:n_train], val[:32], tok, batch_size=batch_size, max_length=48,
                                shuffle=shuffle), tok)


def _gpt(tok, seed=0):
    torch.manual_seed(seed)
    return build_model("decoder_only", dict(vocab_size=tok.total_vocab_size, d_model=32, num_heads=2, num_layers=1,
                                            max_seq_len=48))


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k].cpu(), b[k].cpu()) for k in a)


class StopAt(Callback):
    """Ends the run after `step` optimizer steps, as an interruption would (ckpt.pt saved there)."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, state):
        if state.iteration == self.step:
            state.should_stop = True


def test_1_resume_trains_the_model_the_user_passed(data, tmp_path):
    train_dl, val_dl, tok = _loaders(data)
    Trainer(_gpt(tok), train_dl, val_dl, learning_rate=3e-3, checkpoint_dir=tmp_path, device="cpu",
            progress=False, callbacks=[StopAt(4)]).train(epochs=2)
    fresh = _gpt(tok, seed=5)  # the user's object after a restart: random weights
    Trainer(fresh, train_dl, val_dl, learning_rate=3e-3, checkpoint_dir=tmp_path, device="cpu",
            progress=False).train(epochs=2, resume=True)
    # before: the run trained a copy rebuilt from ckpt.pt and `fresh` kept its random weights
    assert _same(fresh.state_dict(), load_checkpoint(tmp_path / "ckpt.pt")["model"])


@pytest.mark.parametrize("model_type", ["decoder_only", "encoder_only"])
def test_2_a_resumed_run_with_shuffled_loaders_follows_the_uninterrupted_curve(data, tmp_path, model_type):
    train_dl, val_dl, tok = _loaders(data)

    def model():
        if model_type == "decoder_only":
            return _gpt(tok)
        torch.manual_seed(0)
        return build_model("encoder_only", dict(vocab_size=tok.total_vocab_size, d_model=32, num_heads=2,
                                                num_layers=1, max_seq_len=48))

    kw = dict(learning_rate=3e-3, device="cpu", progress=False)
    whole = Trainer(model(), train_dl, val_dl, checkpoint_dir=tmp_path / "whole", **kw).train(epochs=3)
    steps = len(train_dl)
    Trainer(model(), train_dl, val_dl, checkpoint_dir=tmp_path / "cut", callbacks=[StopAt(steps + 2)],
            **kw).train(epochs=3)
    resumed = Trainer(model(), train_dl, val_dl, checkpoint_dir=tmp_path / "cut", **kw).train(epochs=3, resume=True)
    # before: the resumed run replayed epoch 0's order (val 3.1586 against 3.1685 uninterrupted)
    assert [e["val_loss"] for e in resumed["evals"]] == [e["val_loss"] for e in whole["evals"][2:]]
    assert _same(load_checkpoint(tmp_path / "cut" / "ckpt.pt")["model"],
                 load_checkpoint(tmp_path / "whole" / "ckpt.pt")["model"])


def test_3_epochs_take_exactly_epochs_times_steps_and_memory_is_ckpt(data, tmp_path):
    train_dl, val_dl, tok = _loaders(data)

    class Count(Callback):
        steps = 0

        def on_step_end(self, state):
            Count.steps += 1

    model = _gpt(tok)
    r = Trainer(model, train_dl, val_dl, checkpoint_dir=tmp_path, device="cpu", progress=False,
                callbacks=[Count()]).train(epochs=2)
    ckpt = load_checkpoint(tmp_path / "ckpt.pt")
    assert Count.steps == 2 * len(train_dl) == r["iterations"] == ckpt["iter_num"]  # before: one step more
    assert _same(model.state_dict(), ckpt["model"])


def test_4_a_transformers_model_trains_as_a_module(data, tmp_path):
    from transformers import BertConfig, BertForMaskedLM

    from moredata.models.masking import mask_tokens

    train, val, tok = data
    specials = torch.tensor(list(tok.special_ids.values()))

    def collate(rows):  # HF-style MLM batches: input_ids, attention_mask, labels
        ids = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=tok.pad_id)
        inputs, labels = mask_tokens(ids, specials, tok.mask_id, tok.vocab_size, None, 0.15)
        return {"input_ids": inputs, "attention_mask": (ids != tok.pad_id).long(), "labels": labels}

    from torch.utils.data import DataLoader

    from moredata.data.loaders import TextDataset

    ds_train, ds_val = TextDataset(train[:256], tok, 48), TextDataset(val[:32], tok, 48)
    torch.manual_seed(0)
    bert = BertForMaskedLM(BertConfig(vocab_size=tok.total_vocab_size, hidden_size=32, num_hidden_layers=1,
                                      num_attention_heads=2, intermediate_size=64, max_position_embeddings=48,
                                      pad_token_id=tok.pad_id))
    before = {k: v.clone() for k, v in bert.state_dict().items()}
    trainer = Trainer(bert, DataLoader(ds_train, 32, shuffle=True, collate_fn=collate),
                      DataLoader(ds_val, 32, collate_fn=collate), learning_rate=3e-3, checkpoint_dir=tmp_path,
                      device="cpu", progress=False)  # before: 'BertConfig' object has no attribute 'block_size'
    r = trainer.train(epochs=2)
    assert r["evals"][-1]["val_loss"] < r["evals"][0]["val_loss"] - 0.3
    assert not _same(before, bert.state_dict()) and _same(bert.state_dict(), load_checkpoint(tmp_path / "ckpt.pt")["model"])
    with pytest.raises(InvalidArgument, match="cannot rebuild"):
        load_model_and_tokenizer(tmp_path / "ckpt.pt")  # a module's weights: loaded by its own code


@pytest.fixture(scope="module")
def extracted(data, tmp_path_factory):
    work = tmp_path_factory.mktemp("extracted")
    train_dl, val_dl, tok = _loaders(data)
    Trainer(_gpt(tok), train_dl, val_dl, checkpoint_dir=work / "run", device="cpu", progress=False).train(epochs=1)
    return work, extract_model_for_inference(work / "run" / "best.pt", work / "gpt")


def _copy(folder, dest, names):
    """A copy of some of an extracted folder's files, to damage the rest."""
    dest.mkdir()
    for name in names:
        (dest / name).write_bytes((folder / name).read_bytes())
    return dest


def test_5_a_truncated_safetensors_is_one_line_and_exit_2(extracted, tmp_path, capsys):
    _, folder = extracted
    bad = _copy(folder, tmp_path / "bad", ("config.json", "tokenizer.json"))
    blob = (folder / "model.safetensors").read_bytes()
    (bad / "model.safetensors").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(SystemExit) as e:
        extract_main([str(bad), str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and "truncated" in err and "Traceback" not in err
    with pytest.raises(InvalidArgument, match="truncated"):
        load_model_and_tokenizer(bad)


def test_6_a_folder_declaring_a_huge_vocabulary_is_refused_before_allocating(extracted, tmp_path):
    _, folder = extracted
    liar = _copy(folder, tmp_path / "liar", ("model.safetensors", "tokenizer.json"))
    cfg = json.loads((folder / "config.json").read_text())
    cfg["model_args"]["vocab_size"] = 20_000_000
    (liar / "config.json").write_text(json.dumps(cfg))
    # VmHWM: this process image's own peak (ru_maxrss would carry the forking pytest parent's peak over exec)
    code = ("import re\nfrom moredata import load_model_and_tokenizer\n"
            f"try:\n    load_model_and_tokenizer({str(liar)!r}, max_bytes=1 << 20)\n"
            "except ValueError as e:\n    print('refused:', e)\n"
            "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
            "print('peak_mb', int(hwm) // 1024)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300).stdout
    assert "refused:" in out and "does not match its config.json" in out, out
    peak = int(out.split("peak_mb")[1])
    assert peak < 1500, out  # before: 5.2 GB allocated before the refusal


def test_7_nanogpt_export_of_an_encoder_writes_nothing(data, tmp_path, capsys):
    train_dl, val_dl, tok = _loaders(data)
    enc = build_model("encoder_only", dict(vocab_size=tok.total_vocab_size, d_model=32, num_heads=2, num_layers=1,
                                           max_seq_len=48))
    Trainer(enc, train_dl, val_dl, checkpoint_dir=tmp_path / "run", device="cpu", progress=False).train(epochs=1)
    with pytest.raises(SystemExit) as e:
        extract_main([str(tmp_path / "run" / "best.pt"), str(tmp_path / "out"), "--nanogpt"])
    assert e.value.code == 2 and "only a GPT" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # before: model.safetensors and the JSON files were written first


def test_8_encoder_decoder_rows_split_at_their_own_middle_and_pairs_train(data, tmp_path):
    train, val, tok = data
    obj = Objective("transformer", tok.vocab_size)
    x = torch.full((2, 16), tok.pad_id)
    x[0, :6] = torch.tensor(tok.encode("abcdef"))
    x[1, :9] = torch.tensor(tok.encode("the quick"))
    mask = (x != tok.pad_id).long()
    src, src_mask, tgt_in, tgt_out = obj.to_batch(x, None, None, mask)
    assert tok.decode(src[0][src_mask[0].bool()].tolist()) == "abc"  # before: "abcdef" -> padding
    assert tok.decode(tgt_out[0][tgt_out[0] >= 0].tolist()) == "def"
    assert tok.decode(src[1][src_mask[1].bool()].tolist()) == "the "
    assert tok.decode(tgt_out[1][tgt_out[1] >= 0].tolist()) == "quick"
    assert tgt_in[0, 0] == tok.cls_id and tok.decode(tgt_in[0, 1:3].tolist()) == "de"
    # (source, target) pairs: string reversal, learned from pairs through the Trainer
    import random

    rng = random.Random(0)
    words = ["".join(rng.choice("abcdefgh") for _ in range(rng.randint(3, 5))) for _ in range(1200)]
    pairs = [(w, w[::-1]) for w in words]
    train_dl, val_dl = create_seq2seq_dataloaders(pairs[:1100], pairs[1100:], tok, batch_size=50, max_length=8)
    torch.manual_seed(0)
    model = build_model("transformer", dict(vocab_size=tok.total_vocab_size, d_model=64, num_heads=4, num_layers=2,
                                            max_seq_len=8))
    r = Trainer(model, train_dl, val_dl, learning_rate=3e-3, checkpoint_dir=tmp_path, device="cpu",
                progress=False).train(epochs=8)
    assert r["evals"][-1]["val_loss"] < 0.5 * r["evals"][0]["val_loss"]
    model.eval()
    batch = next(iter(val_dl))
    out = model.generate(batch["src_ids"], batch["src_mask"], bos_id=tok.cls_id, eos_id=tok.sep_id, max_new_tokens=7)
    got = [tok.decode([t for t in row.tolist() if t < tok.vocab_size]) for row in out]
    exact = sum(g == w[::-1] for g, w in zip(got, words[1100:1150])) / len(got)
    assert exact >= 0.6, list(zip(got, words[1100:1110]))


def test_9_dtype_names_and_tokenizer_kinds(extracted, data, tmp_path):
    _, folder = extracted
    wrong = _copy(folder, tmp_path / "wrong", ("model.safetensors", "tokenizer.json"))
    cfg = json.loads((folder / "config.json").read_text())
    (wrong / "config.json").write_text(json.dumps({**cfg, "dtype": "float16"}))
    with pytest.raises(InvalidArgument, match="says dtype 'float16' but the weights are float32"):
        load_model_and_tokenizer(wrong)  # before: cast silently
    (wrong / "config.json").write_text(json.dumps(cfg))
    (wrong / "tokenizer.json").write_text(json.dumps({"kind": "wordpiece"}))
    with pytest.raises(InvalidArgument, match="unknown tokenizer kind 'wordpiece'"):
        load_model_and_tokenizer(wrong)  # before: a plain ValueError
    train_dl, val_dl, tok = _loaders(data)
    for name in ("fp32", "bf16"):  # extraction's spellings (fp16 needs a GPU for training)
        assert Trainer(_gpt(tok), train_dl, val_dl, dtype=name, checkpoint_dir=tmp_path / name, device="cpu",
                       progress=False).cfg.dtype == {"fp32": "float32", "bf16": "bfloat16"}[name]
    t = Trainer(_gpt(tok), train_dl, val_dl, dtype="fp16", checkpoint_dir=tmp_path / "h", device="cpu", progress=False)
    assert t.cfg.dtype == "float16"  # before: refused
    with pytest.raises(InvalidArgument, match="dtype must be one of"):
        Trainer(_gpt(tok), train_dl, val_dl, dtype="fp8", checkpoint_dir=tmp_path / "x", device="cpu")
