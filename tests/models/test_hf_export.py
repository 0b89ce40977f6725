"""`moredata-extract CKPT OUT --hf`: a GPT as transformers' GPT2LMHeadModel (with and without biases, char
and BPE tokenizers), logits within 1e-5 of ours and the same greedy text; what it refuses."""
import pytest
import torch
from conftest import ROOT

from moredata import Trainer, build_model, create_dataloaders, load_and_split_data, train_tokenizer
from moredata.models.extract import main as extract_main

TEXT = ROOT / "data" / "tinyshakespeare" / "input.txt"


@pytest.mark.parametrize("kind,bias", [("bpe", False), ("char", True)])
def test_hf_export_loads_in_gpt2_and_generates_the_same_text(tmp_path, kind, bias, capsys):
    from transformers import AutoTokenizer, GPT2LMHeadModel

    train, val, _ = load_and_split_data(TEXT, split_method="paragraphs", val_split=0.05)
    tok = train_tokenizer(train[:400], kind, vocab_size=300)
    train_dl, val_dl = create_dataloaders(train[:128], val[:32], tok, batch_size=32, max_length=64)
    torch.manual_seed(0)
    gpt = build_model("decoder_only", dict(vocab_size=tok.total_vocab_size, d_model=32, num_heads=2, num_layers=2,
                                           max_seq_len=64, bias=bias))
    Trainer(gpt, train_dl, val_dl, learning_rate=3e-3, checkpoint_dir=tmp_path / "run", device="cpu",
            progress=False).train(epochs=1)
    extract_main([str(tmp_path / "run" / "ckpt.pt"), str(tmp_path / "hf"), "--hf"])
    assert "wrote" in capsys.readouterr().out
    hf = GPT2LMHeadModel.from_pretrained(tmp_path / "hf").eval()
    prompt = torch.tensor([tok.encode("KING RICHARD:\n")])
    with torch.no_grad():
        assert torch.allclose(gpt.eval()(prompt, prompt)[0], hf(prompt).logits, atol=1e-5)
    ours = gpt.generate(prompt, 24, temperature=0)
    theirs = hf.generate(prompt, max_new_tokens=24, do_sample=False, pad_token_id=0)
    assert torch.equal(ours, theirs)
    if kind == "bpe":  # the tokenizer goes with it: AutoTokenizer decodes the same text
        hf_tok = AutoTokenizer.from_pretrained(tmp_path / "hf")
        assert hf_tok.decode(theirs[0].tolist()) == tok.decode(ours[0].tolist())
    else:
        assert (tmp_path / "hf" / "moredata_tokenizer.json").is_file()


def test_hf_export_refuses_what_it_cannot_write(tmp_path, capsys):
    from moredata.models import model_args_of
    from moredata.models.checkpoint import save_checkpoint

    enc = build_model("encoder_only", dict(vocab_size=20, d_model=16, num_heads=2, num_layers=1, max_seq_len=8))
    save_checkpoint(tmp_path / "enc.pt", {"model": enc.state_dict(), "model_type": "encoder_only",
                                          "model_args": model_args_of(enc), "iter_num": 0, "best_val_loss": 1.0})
    with pytest.raises(SystemExit) as e:
        extract_main([str(tmp_path / "enc.pt"), str(tmp_path / "out"), "--hf"])
    assert e.value.code == 2 and "only a GPT (decoder_only) exports" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
