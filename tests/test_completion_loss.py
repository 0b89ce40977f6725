"""Loss on the completion only: prepare --pairs writes a loss mask, the trainer (CLI and Python API) puts
the loss on completion tokens, and the refusals around it."""
import json
import random

import numpy as np
import pytest
import torch
from conftest import tiny_flags

from moredata.data import prepare as prep
from moredata.data.loaders import create_dataloaders, create_pair_dataloaders
from moredata.data.tokenizers import CharTokenizer, tokenizer_from_dict
from moredata.errors import InvalidArgument
from moredata.models.decoder_only import GPT, GPTConfig
from moredata.training.api import Trainer
from moredata.training.token_data import TokenData
from services.trainer import cli


def _pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """A random word as the prompt (unpredictable), its last letter four times as the completion
    (determined by it)."""
    rng = random.Random(seed)
    words = ["".join(rng.choice("abcdefghij") for _ in range(rng.randint(3, 8))) for _ in range(n)]
    return [(w, w[-1] * 4) for w in words]


@pytest.fixture(scope="module")
def pair_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("pairs")
    src = d / "pairs.jsonl"
    src.write_text("".join(json.dumps({"input": p, "target": c}) + "\n" for p, c in _pairs(3000)))
    meta = prep.prepare([src], d / "data", block_size=32, pairs=True, prompt_key="input", completion_key="target",
                        separator="|", end="\n")
    return d / "data", meta


def test_prepare_pairs_writes_a_mask_on_the_completions(pair_data):
    data, meta = pair_data
    assert meta["loss_mask"] and meta["train_pairs"] == 2700 and meta["val_pairs"] == 300
    tok = tokenizer_from_dict(json.loads((data / "tokenizer.json").read_text()))
    ids = np.fromfile(data / "val.bin", dtype=np.dtype(meta["dtype"]))
    mask = np.fromfile(data / "val.loss_mask.bin", dtype=np.uint8)
    assert ids.size == mask.size
    val = _pairs(3000)[2700:]
    assert tok.decode(ids) == "".join(f"{p}|{c}\n" for p, c in val)
    # the masked tokens are exactly the completions and their ends, the rest the prompts and separators
    assert tok.decode(ids[mask == 1]) == "".join(f"{c}\n" for _, c in val)
    assert tok.decode(ids[mask == 0]) == "".join(f"{p}|" for p, _ in val)
    assert meta["completion_tokens"]["val"] == int(mask.sum())


def test_batches_count_completion_targets_only(pair_data):
    data, _ = pair_data
    full = TokenData(data, 32, torch.device("cpu"))
    comp = TokenData(data, 32, torch.device("cpu"), completion_only=True)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    x1, y1 = full.get_batch("train", 16, g1)
    x2, y2 = comp.get_batch("train", 16, g2)
    assert torch.equal(x1, x2) and (y1 >= 0).all()
    tok = tokenizer_from_dict(full.tokenizer_dict)
    bar, newline = tok.encode("|")[0], tok.encode("\n")[0]
    # a target is counted iff it lies after a '|' and up to its line's end: walk each row to check
    for xr, yr, y2r in zip(x1.tolist(), y1.tolist(), y2.tolist()):
        state = None  # unknown until the first separator or newline in the window
        for xt, yt, counted in zip(xr, yr, y2r):
            state = True if xt == bar else False if xt == newline else state
            if state is not None:
                assert (counted != -1) == state and (counted == -1 or counted == yt)
    assert 0.2 < (y2 != -1).float().mean() < 0.8


def test_cli_trains_on_completions_and_learns_them(pair_data, tmp_path):
    data, _ = pair_data
    out = tmp_path / "run"
    cli.main(tiny_flags(data, out, completion_only_loss=True, max_iters=150, lr_decay_iters=150,
                        eval_interval=50, n_embd=64, batch_size=16))
    s = json.loads((out / "summary.json").read_text())
    first, last = s["evals"][0]["val_loss"], s["evals"][-1]["val_loss"]
    # the completion follows from the prompt: once learnt its loss falls far below the letters' entropy
    # (ln 10 = 2.3), which a loss that counted the random prompts could never do
    assert first > 2.0 and last < 1.2, (first, last)


@pytest.mark.parametrize("over, words", [
    (dict(completion_only_loss=True, model_type="encoder_only"), "not encoder_only's"),
    (dict(completion_only_loss=True, enhanced_data_probability=0.2, min_prefix_length=4, max_prefix_length=16),
     "not (prompt, completion) pairs"),
])
def test_cli_refuses_what_cannot_be_completion_only(pair_data, tmp_path, capsys, over, words):
    with pytest.raises(SystemExit) as e:
        cli.main(tiny_flags(pair_data[0], tmp_path / "r", **over))
    err = capsys.readouterr().err
    assert e.value.code == 2 and words in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_cli_refuses_completion_only_on_data_without_a_mask(char_data, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(tiny_flags(char_data, tmp_path / "r", completion_only_loss=True))
    err = capsys.readouterr().err
    assert e.value.code == 2 and "moredata-prepare --pairs" in err and err.count("\n") == 1


def test_prepare_pairs_refuses_bad_lines(tmp_path, capsys):
    src = tmp_path / "p.jsonl"
    src.write_text('{"prompt": "a", "completion": "b"}\n{"prompt": "a"}\n')
    with pytest.raises(SystemExit) as e:
        prep.main([str(src), "--pairs", "--out_dir", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "p.jsonl:2: needs string fields 'prompt' and 'completion'" in err
    assert not (tmp_path / "o").exists()


def test_python_api_completion_only(tmp_path):
    pairs = _pairs(600, seed=1)
    tok = CharTokenizer.train("".join(p + c for p, c in pairs) + "|\n")
    train, val = create_pair_dataloaders(pairs[:500], pairs[500:], tok, batch_size=16, max_length=24,
                                         separator="|", end="\n")
    batch = next(iter(train))
    assert set(batch) == {"input_ids", "attention_mask", "loss_mask"}
    row, lm = batch["input_ids"][0], batch["loss_mask"][0]
    text = tok.decode(row[batch["attention_mask"][0].bool()].tolist())
    assert tok.decode(row[lm.bool()].tolist()) == text.split("|", 1)[1]
    model = GPT(GPTConfig(block_size=24, vocab_size=tok.total_vocab_size, n_layer=2, n_head=2, n_embd=64, dropout=0.0))
    r = Trainer(model, train, val, learning_rate=3e-3, checkpoint_dir=tmp_path / "ck", device="cpu", progress=False,
                completion_only_loss=True, tokenizer=tok).train(epochs=4)
    assert r["evals"][0]["val_loss"] > 2.0 and r["best_val_loss"] < r["evals"][0]["val_loss"] - 0.5
    # loaders without a loss mask are refused, naming what to use
    plain_train, plain_val = create_dataloaders(["ab|ba\n"] * 20, ["ab|ba\n"] * 4, tok, batch_size=4)
    with pytest.raises(InvalidArgument, match="create_pair_dataloaders"):
        Trainer(model, plain_train, plain_val, checkpoint_dir=tmp_path / "ck2", device="cpu", progress=False,
                completion_only_loss=True, tokenizer=tok).train(epochs=1)


def test_python_api_refuses_completion_only_for_an_encoder(tmp_path):
    from moredata.models.config import ModelConfig
    from moredata.models.encoder_only import EncoderOnlyModel

    pairs = _pairs(40)
    tok = CharTokenizer.train("".join(p + c for p, c in pairs) + "|\n")
    train, val = create_pair_dataloaders(pairs[:30], pairs[30:], tok, batch_size=8, max_length=24, separator="|",
                                         end="\n")
    model = EncoderOnlyModel(ModelConfig(vocab_size=tok.total_vocab_size, max_seq_len=24, num_layers=1,
                                         num_heads=1, d_model=16))
    with pytest.raises(InvalidArgument, match="not encoder_only's"):
        Trainer(model, train, val, checkpoint_dir=tmp_path / "ck", device="cpu", progress=False,
                completion_only_loss=True, tokenizer=tok)
    assert not (tmp_path / "ck").exists()


def test_a_batch_without_counted_targets_costs_zero_not_nan():
    model = GPT(GPTConfig(block_size=8, vocab_size=11, n_layer=1, n_head=1, n_embd=16, dropout=0.0))
    x = torch.randint(0, 11, (2, 8))
    _, loss = model(x, torch.full_like(x, -1))
    assert torch.isfinite(loss) and loss.item() == 0.0
    loss.backward()  # still a graph: the step goes through with zero gradients


def test_code_samples_prompt_is_instruction_and_context(tmp_path):
    src = tmp_path / "samples.jsonl"
    rows = [{"instruction": f"Finish f{i}.", "context": f"def f{i}(x):\n", "completion": f"    return x + {i}\n"}
            for i in range(40)]
    rows[3]["context"] = ""  # an empty field is left out, not joined as a blank line
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    meta = prep.prepare([src], tmp_path / "d", block_size=8, pairs=True, prompt_key="instruction,context")
    tok = tokenizer_from_dict(json.loads((tmp_path / "d" / "tokenizer.json").read_text()))
    ids = np.fromfile(tmp_path / "d" / "train.bin", dtype=np.dtype(meta["dtype"]))
    text = tok.decode(ids)
    assert text.startswith("Finish f0.\ndef f0(x):\n\n    return x + 0\n\n\nFinish f1.")
    assert "Finish f3.\n    return x + 3\n" in text
