"""The encoder recipe (moredata.models.config): every combination builds and trains, rotary positions are
relative, the modern init scales the residual outputs, and files written before the recipe fields
existed load as the classic model that wrote them."""
import itertools
import json

import pytest
import torch

from moredata import build_model, extract_model_for_inference, load_model_and_tokenizer
from moredata.data.tokenizers import CharTokenizer
from moredata.errors import InvalidArgument
from moredata.models.checkpoint import save_checkpoint
from moredata.models.config import CLASSIC, ModelConfig
from moredata.models.layers import Rotary

TOK = CharTokenizer("\n !',.?abcdefghijklmnopqrstuvwxyz")
SIZE = dict(vocab_size=TOK.total_vocab_size, d_model=32, num_heads=4, num_layers=2, max_seq_len=24)
# what a checkpoint's model_args held before the recipe fields: every ModelConfig field of the time
OLD_FIELDS = ("vocab_size", "d_model", "num_heads", "num_layers", "d_ff", "max_seq_len", "dropout", "bias",
              "num_decoder_layers")


@pytest.mark.parametrize("model_type", ["encoder_only", "transformer"])
@pytest.mark.parametrize("positions,ffn,bias,norm,init", list(itertools.product(
    ["rotary", "learned"], ["geglu", "gelu"], [False, True], ["embed_pre", "pre", "post"], ["modern", "gpt2"]))[::5])
def test_every_recipe_trains(model_type, positions, ffn, bias, norm, init):
    torch.manual_seed(0)
    model = build_model(model_type, dict(SIZE, positions=positions, ffn=ffn, bias=bias, norm=norm, init=init))
    x = torch.tensor([TOK.encode("to be or not to be!"), TOK.encode("that is the questio")])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(12):
        if model_type == "encoder_only":
            loss, _ = model(x, None, x)
        else:
            loss, _ = model(x[:, :9], None, x[:, 9:-1], x[:, 10:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses))) and losses[-1] < losses[0] * 0.8, losses


def test_the_default_is_the_modern_recipe_and_has_the_classic_parameter_count():
    modern = build_model("encoder_only", dict(SIZE, d_model=128, num_heads=4, num_layers=4, max_seq_len=64))
    classic = build_model("encoder_only", dict(SIZE, d_model=128, num_heads=4, num_layers=4, max_seq_len=64,
                                               **CLASSIC))
    c = modern.config
    assert (c.positions, c.ffn, c.bias, c.norm, c.init) == ("rotary", "geglu", False, "embed_pre", "modern")
    assert c.d_ff == 344  # 8/3 * 128 rounded up to a multiple of 8
    assert "embed.pos.weight" not in modern.state_dict() and "embed.pos.weight" in classic.state_dict()
    n_modern, n_classic = modern.num_params(), classic.num_params()
    assert abs(n_modern - n_classic) / n_classic < 0.02, (n_modern, n_classic)
    # the encoder-decoder keeps learned positions and pre-LN (measured on reversal: see the config module)
    seq = build_model("transformer", dict(SIZE)).config
    assert (seq.positions, seq.ffn, seq.bias, seq.norm, seq.init) == ("learned", "geglu", False, "pre", "modern")


def test_rotary_attention_scores_depend_only_on_the_offset():
    rot = Rotary(16, 40)
    q, k = torch.randn(1, 1, 1, 16), torch.randn(1, 1, 1, 16)
    score = lambda i, j: float((rot(q, i) * rot(k, j)).sum())  # noqa: E731
    assert score(3, 7) == pytest.approx(score(20, 24), abs=1e-5)
    assert score(3, 7) != pytest.approx(score(3, 9), abs=1e-3)
    assert torch.allclose(rot(q, 0), q)  # position 0 is no rotation


def test_the_modern_init_scales_the_residual_outputs():
    torch.manual_seed(0)
    m = build_model("encoder_only", dict(SIZE, d_model=128, num_heads=4, num_layers=8, max_seq_len=64))
    out_std, in_std = m.blocks[3].attn.proj.weight.std().item(), m.blocks[3].attn.q.weight.std().item()
    # truncated at 2 sd: the sd of the draws is 0.88 of the nominal one
    assert in_std == pytest.approx(0.02 * 0.88, rel=0.1) and out_std == pytest.approx(0.02 / 4 * 0.88, rel=0.1)
    assert m.blocks[0].attn.q.weight.abs().max() <= 0.04 + 1e-6


def test_bad_recipe_values_are_refused_by_name():
    with pytest.raises(InvalidArgument, match="positions must be one of rotary, learned, got 'alibi'"):
        ModelConfig(**SIZE, positions="alibi")
    with pytest.raises(InvalidArgument, match="nanoGPT's recipe: ffn"):
        build_model("decoder_only", dict(vocab_size=40, d_model=32, num_heads=4, num_layers=1, ffn="geglu"))


@pytest.mark.parametrize("model_type", ["encoder_only", "transformer"])
def test_a_file_written_before_the_recipe_loads_as_the_classic_model(tmp_path, model_type):
    torch.manual_seed(3)
    old = build_model(model_type, dict(SIZE, **CLASSIC)).eval()
    old_args = {k: v for k, v in old.config.to_dict().items() if k in OLD_FIELDS}
    save_checkpoint(tmp_path / "old.pt", {"model": old.state_dict(), "model_type": model_type, "model_args": old_args,
                                          "iter_num": 5, "best_val_loss": 1.0, "tokenizer": TOK.to_dict()})
    x = torch.tensor([TOK.encode("a little text to run")])

    def out(m):
        with torch.no_grad():
            return m.hidden(x) if model_type == "encoder_only" else m(x[:, :8], None, x[:, 8:])

    loaded, _ = load_model_and_tokenizer(tmp_path / "old.pt")
    assert loaded.config.positions == "learned" and torch.equal(out(loaded), out(old))
    # an extracted folder of the time: config.json without the recipe fields
    folder = extract_model_for_inference(tmp_path / "old.pt", tmp_path / "old_extracted")
    cfg = json.loads((folder / "config.json").read_text())
    cfg["model_args"] = old_args
    (folder / "config.json").write_text(json.dumps(cfg))
    again, _ = load_model_and_tokenizer(folder)
    assert torch.equal(out(again), out(old))
