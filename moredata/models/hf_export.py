"""A GPT (decoder_only) as a Hugging Face `GPT2LMHeadModel` folder: `moredata-extract CKPT OUT --hf`.

    from transformers import GPT2LMHeadModel
    hf = GPT2LMHeadModel.from_pretrained("models/gpt-hf")     # logits equal to ours (fp32: within 1e-5)

nanoGPT's GPT is GPT-2's architecture, so the weights carry over as they are, with four differences of
form: GPT-2's `Conv1D` stores (in, out) matrices where our Linears store (out, in) (c_attn, attn.c_proj,
c_fc, mlp.c_proj: transposed), a model trained with `bias=False` gets zero biases, and the config must say
`activation_function="gelu"` (exact GELU, ours; GPT-2's default is the tanh approximation "gelu_new") and
`layer_norm_epsilon=1e-5`. The output head stays tied to the token embedding.

The folder: config.json, generation_config.json and model.safetensors (transformers' own
`save_pretrained`), plus the tokenizer: a BPE tokenizer as `tokenizer.json` + `tokenizer_config.json`
(PreTrainedTokenizerFast / AutoTokenizer load it), a char-level one as `moredata_tokenizer.json`
(moredata.data.tokenizers.tokenizer_from_dict; transformers has no char-level tokenizer class). The folder
is written beside its destination and renamed into place: an interrupted export leaves nothing half-written.
Needs `transformers` (pip install 'moredata[hf]').
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch

from moredata.errors import InvalidArgument

_TRANSPOSED = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def gpt2_state_dict(model) -> dict[str, torch.Tensor]:
    """Our GPT's weights under GPT2LMHeadModel's names and layouts (fp32 copies)."""
    c = model.config
    out = {}
    for name, t in model.state_dict().items():
        t = t.detach().float().cpu()
        out[name] = t.t().contiguous() if name.endswith(_TRANSPOSED) else t.clone()
    if not c.bias:  # GPT-2 always has biases: zeros make the same function
        d = c.n_embd
        for i in range(c.n_layer):
            p = f"transformer.h.{i}."
            for name, size in (("ln_1.bias", d), ("ln_2.bias", d), ("attn.c_attn.bias", 3 * d),
                               ("attn.c_proj.bias", d), ("mlp.c_fc.bias", 4 * d), ("mlp.c_proj.bias", d)):
                out[p + name] = torch.zeros(size)
        out["transformer.ln_f.bias"] = torch.zeros(d)
    return out


def gpt2_config(model, tokenizer=None):
    from transformers import GPT2Config

    c = model.config
    eos = getattr(tokenizer, "eos_id", None)
    return GPT2Config(vocab_size=c.vocab_size, n_positions=c.block_size, n_embd=c.n_embd, n_layer=c.n_layer,
                      n_head=c.n_head, n_inner=4 * c.n_embd, activation_function="gelu", layer_norm_epsilon=1e-5,
                      resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, tie_word_embeddings=True,
                      bos_token_id=eos, eos_token_id=eos)


def to_gpt2(model, tokenizer=None):
    """A transformers GPT2LMHeadModel (eval mode, fp32) computing what `model` computes."""
    try:
        from transformers import GPT2LMHeadModel
    except ImportError:
        raise InvalidArgument("the Hugging Face export needs transformers: pip install 'moredata[hf]'") from None
    from moredata.models import model_type_for

    if model_type_for(model) != "decoder_only":
        raise InvalidArgument(f"only a GPT (decoder_only) exports as GPT2LMHeadModel, not a {model_type_for(model)}")
    hf = GPT2LMHeadModel(gpt2_config(model, tokenizer))
    state = gpt2_state_dict(model)
    missing, unexpected = hf.load_state_dict(state, strict=False)
    # GPT-2's attention may register a causal-mask buffer; everything else must be ours
    missing = [k for k in missing if not k.endswith((".attn.bias", ".attn.masked_bias"))]
    if missing or unexpected:
        raise InvalidArgument(f"GPT-2 conversion failed: missing {missing[:3]}, unexpected {unexpected[:3]}")
    hf.tie_weights()
    return hf.eval()


def save_hf(model, tokenizer, out: Path) -> Path:
    """Writes the GPT2LMHeadModel folder `out` (see the module doc); returns it."""
    hf = to_gpt2(model, tokenizer)
    out = Path(out)
    tmp = out.parent / f".{out.name}.hf-tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        hf.save_pretrained(tmp)
        if tokenizer is not None and getattr(tokenizer, "kind", None) == "bpe":
            tokenizer._tok.save(str(tmp / "tokenizer.json"))
            (tmp / "tokenizer_config.json").write_text(json.dumps(
                {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": model.config.block_size}) + "\n")
        elif tokenizer is not None:
            (tmp / "moredata_tokenizer.json").write_text(json.dumps(tokenizer.to_dict()) + "\n")
        if out.exists():
            if any(out.iterdir()):
                raise InvalidArgument(f"{out} is not empty: the Hugging Face export writes a folder of its own")
            out.rmdir()
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
