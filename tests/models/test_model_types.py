"""Encoder, encoder-decoder and GPT: bidirectionality, masking statistics, cached generation,
extract -> load for every type and dtype, tied weights in safetensors, nanoGPT export."""
import json

import pytest
import torch
from safetensors import safe_open

from moredata import (
    EncoderDecoderModel,
    EncoderOnlyModel,
    ModelConfig,
    build_model,
    extract_model_for_inference,
    load_model_and_tokenizer,
)
from moredata.data.tokenizers import CharTokenizer
from moredata.models import model_args_of
from moredata.models.checkpoint import save_checkpoint
from moredata.models.encoder_only import IGNORE_INDEX
from moredata.models.masking import mask_tokens

TOK = CharTokenizer("\n !',.?abcdefghijklmnopqrstuvwxyz")
CFG = dict(vocab_size=TOK.total_vocab_size, d_model=32, num_heads=4, num_layers=2, max_seq_len=32)


def test_the_encoder_sees_both_ways_and_the_gpt_only_back():
    torch.manual_seed(0)
    enc = EncoderOnlyModel(ModelConfig(**CFG)).eval()
    gpt = build_model("decoder_only", {**CFG, "vocab_size": TOK.vocab_size}).eval()
    x = torch.tensor([TOK.encode("to be or not to be")])
    y = x.clone()
    y[0, -1] = TOK.encode("q")[0]
    with torch.no_grad():
        assert not torch.allclose(enc(x)[0, 0], enc(y)[0, 0])  # the last token changes the first position
        full_x, full_y = gpt.forward(x, x)[0], gpt.forward(y, y)[0]  # with targets: logits at every position
        assert torch.allclose(full_x[0, 0], full_y[0, 0])


def test_padding_is_not_attended():
    torch.manual_seed(0)
    enc = EncoderOnlyModel(ModelConfig(**CFG)).eval()
    a = torch.tensor([TOK.encode("hello there")])
    padded = torch.cat([a, torch.full((1, 5), TOK.pad_id)], dim=1)
    mask = torch.cat([torch.ones_like(a), torch.zeros(1, 5, dtype=torch.long)], dim=1)
    with torch.no_grad():
        assert torch.allclose(enc(a)[0], enc(padded, mask)[0, : a.size(1)], atol=1e-5)
        assert torch.allclose(enc.sentence_embedding(a), enc.sentence_embedding(padded, mask), atol=1e-5)


def test_masking_follows_80_10_10_and_never_touches_specials():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, TOK.vocab_size, (64, 128), generator=g)
    ids[:, :4] = torch.tensor([TOK.cls_id, TOK.sep_id, TOK.pad_id, TOK.mask_id])
    specials = torch.tensor(list(TOK.special_ids.values()))
    selected = masked = randomised = kept = eligible = 0
    for _ in range(20):
        inputs, labels = mask_tokens(ids, specials, TOK.mask_id, TOK.vocab_size, g)
        sel = labels != IGNORE_INDEX
        assert not sel[:, :4].any() and torch.equal(inputs[:, :4], ids[:, :4])  # specials never chosen
        assert torch.equal(labels[sel], ids[sel])
        selected += int(sel.sum())
        eligible += ids[:, 4:].numel()
        masked += int((inputs[sel] == TOK.mask_id).sum())
        kept += int((inputs[sel] == ids[sel]).sum())
        randomised += int(((inputs[sel] != TOK.mask_id) & (inputs[sel] != ids[sel])).sum())
    assert abs(selected / eligible - 0.15) < 0.01
    assert abs(masked / selected - 0.8) < 0.015
    # a random replacement equals the original 1/vocab of the time: it then counts as kept
    assert abs(randomised / selected - 0.1 * (1 - 1 / TOK.vocab_size)) < 0.01
    assert abs(kept / selected - (0.1 + 0.1 / TOK.vocab_size)) < 0.01


def test_encoder_decoder_generation_with_and_without_the_cache_agree():
    torch.manual_seed(1)
    model = EncoderDecoderModel(ModelConfig(**CFG)).eval()
    src = torch.tensor([TOK.encode("the quick brown fox"), TOK.encode("jumps over the dogs")])
    a = model.generate(src, bos_id=TOK.cls_id, max_new_tokens=12)
    b = model.generate(src, bos_id=TOK.cls_id, max_new_tokens=12, use_cache=False)
    assert a.shape == (2, 12) and torch.equal(a, b)


def _checkpoint(tmp_path, model_type):
    torch.manual_seed(2)
    vocab = TOK.vocab_size if model_type == "decoder_only" else TOK.total_vocab_size
    args = {**CFG, "vocab_size": vocab}
    if model_type == "decoder_only":
        args = {"n_layer": 2, "n_head": 4, "n_embd": 32, "block_size": 32, "vocab_size": vocab, "bias": True,
                "dropout": 0.0}
    model = build_model(model_type, args)
    path = tmp_path / f"{model_type}.pt"
    save_checkpoint(path, {"model": model.state_dict(), "model_type": model_type, "model_args": model_args_of(model),
                           "iter_num": 7, "best_val_loss": 1.0, "config": {}, "tokenizer": TOK.to_dict()})
    return path


def _outputs(model, model_type):
    x = torch.tensor([TOK.encode("a little text to run")])
    with torch.no_grad():
        if model_type == "decoder_only":
            return model(x, x)[0].float()
        if model_type == "encoder_only":
            return model.predict_mlm(x).float()
        return model(x, None, x).float()


@pytest.mark.parametrize("model_type", ["decoder_only", "encoder_only", "transformer"])
@pytest.mark.parametrize("dtype, tol", [("fp32", 0.0), ("fp16", 2e-2), ("bf16", 1e-1)])
def test_extract_then_load_gives_the_same_outputs(tmp_path, model_type, dtype, tol):
    path = _checkpoint(tmp_path, model_type)
    original, tok = load_model_and_tokenizer(path, device="cpu")
    out = extract_model_for_inference(path, tmp_path / "x", dtype=dtype)
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors", "tokenizer.json"]
    assert json.loads((out / "config.json").read_text())["model_type"] == model_type
    model, tok2 = load_model_and_tokenizer(out, device="cpu")
    assert tok2.to_dict() == tok.to_dict() and next(model.parameters()).dtype == {
        "fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[dtype]
    a, b = _outputs(original, model_type), _outputs(model.float(), model_type)
    assert torch.allclose(a, b, atol=tol, rtol=tol) if tol else torch.equal(a, b)


@pytest.mark.parametrize("model_type", ["decoder_only", "encoder_only", "transformer"])
def test_tied_weights_are_stored_once_and_tied_again(tmp_path, model_type):
    out = extract_model_for_inference(_checkpoint(tmp_path, model_type), tmp_path / "x")
    with safe_open(str(out / "model.safetensors"), "pt") as f:
        keys = set(f.keys())
    if model_type == "decoder_only":
        assert ("lm_head.weight" in keys) != ("transformer.wte.weight" in keys)  # one copy of the shared matrix
        model, _ = load_model_and_tokenizer(out, device="cpu")
        assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()
    else:
        assert "embed.tok.weight" in keys  # the heads use the embedding itself: nothing duplicated
        assert not any("head" in k for k in keys)


def test_a_gpt_exports_as_a_nanogpt_checkpoint(tmp_path):
    import nanogpt_reference as ngpt

    path = _checkpoint(tmp_path, "decoder_only")
    out = extract_model_for_inference(path, tmp_path / "x", nanogpt=True, dataset="shakespeare_char")
    ckpt = torch.load(out / "ckpt.pt", weights_only=True)
    assert ckpt["config"]["dataset"] == "shakespeare_char"
    theirs = ngpt.GPT(ngpt.GPTConfig(**ckpt["model_args"]))
    theirs.load_state_dict(ckpt["model"])
    ours, _ = load_model_and_tokenizer(path, device="cpu")
    x = torch.tensor([TOK.encode("to be or not")])
    with torch.no_grad():
        assert torch.allclose(theirs.eval()(x)[0], ours(x)[0], atol=1e-6)
    # meta.pkl holds plain values nanoGPT's sample.py reads, and our own loader reads it back
    from moredata.data.nanogpt_meta import read_nanogpt_meta

    assert read_nanogpt_meta(out / "meta.pkl").chars == TOK.chars


def test_loading_names_what_is_wrong(tmp_path):
    from moredata.errors import InvalidArgument, NotFound

    with pytest.raises(NotFound):
        load_model_and_tokenizer(tmp_path / "missing.pt")
    (tmp_path / "d").mkdir()
    with pytest.raises(InvalidArgument, match="config.json"):
        load_model_and_tokenizer(tmp_path / "d")
    with pytest.raises(InvalidArgument, match="dtype"):
        extract_model_for_inference(_checkpoint(tmp_path, "encoder_only"), tmp_path / "y", dtype="int8")


def test_the_extract_command(tmp_path):
    import subprocess
    import sys

    path = _checkpoint(tmp_path, "encoder_only")
    r = subprocess.run([sys.executable, "-m", "moredata.models.extract", str(path), str(tmp_path / "out"), "--dtype",
                        "fp16"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "model.safetensors" in r.stdout
    assert json.loads((tmp_path / "out" / "config.json").read_text())["dtype"] == "float16"
    bad = subprocess.run([sys.executable, "-m", "moredata.models.extract", str(tmp_path / "nope.pt"), str(tmp_path / "o2")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "does not exist" in bad.stderr


def test_special_tokens_follow_the_vocabulary_and_move_no_id():
    from moredata.data.tokenizers import BPETokenizer

    text = "the king, the queen and the crown"
    char = CharTokenizer.train(text)
    before = char.encode(text)
    assert char.special_ids == {"<pad>": char.vocab_size, "<mask>": char.vocab_size + 1,
                                "<cls>": char.vocab_size + 2, "<sep>": char.vocab_size + 3}
    assert char.encode(text) == before and char.decode(before + [char.mask_id, char.pad_id]) == text
    bpe = BPETokenizer.train([text] * 20, vocab_size=300)
    ids = bpe.encode(text)
    assert bpe.pad_id == bpe.vocab_size and max(ids) < bpe.vocab_size
    assert bpe.decode(ids + [bpe.sep_id]) == text and bpe.total_vocab_size == bpe.vocab_size + 4


def test_sample_names_the_model_types_it_samples(tmp_path, capsys):
    """Issue 23: an encoder checkpoint gave "'EncoderOnlyModel' object has no attribute 'lm_head'"."""
    from moredata.models import build_model as build
    from moredata.models.checkpoint import save_checkpoint as save
    from moredata.models.sample import main as sample_main

    args = dict(vocab_size=11, d_model=16, num_heads=2, num_layers=1, max_seq_len=8)
    enc = build("encoder_only", args)
    save(tmp_path / "enc.pt", {"model": enc.state_dict(), "model_type": "encoder_only",
                               "model_args": model_args_of(enc), "iter_num": 0, "best_val_loss": 1.0, "tokenizer": None})
    with pytest.raises(SystemExit) as e:
        sample_main(["--ckpt", str(tmp_path / "enc.pt")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "model of type encoder_only" in err and "decoder_only" in err and err.count("\n") == 1
    with pytest.raises(SystemExit) as e:
        sample_main(["--ckpt", str(tmp_path / "enc.pt"), "--top_k", "-1"])
    assert e.value.code == 2 and "--top_k must be at least 0, got -1" in capsys.readouterr().err
