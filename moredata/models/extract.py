"""Extract a model for inference, and load any model with its tokenizer.

    extract_model_for_inference("runs/enc/best.pt", "models/enc", dtype="bf16")
    model, tokenizer = load_model_and_tokenizer("models/enc")      # or a checkpoint, or a nanoGPT ckpt.pt

An extracted model is a directory: `model.safetensors` (weights only; tied tensors such as the output
head that shares the token embedding are stored once and tied again on load), `config.json`
({"model_type", "model_args", "dtype", "source"}) and `tokenizer.json`. With `nanogpt=True` a GPT is
also written as nanoGPT's `ckpt.pt` (+ `meta.pkl` for a char-level tokenizer), so nanoGPT's own
`sample.py` runs on it (put meta.pkl under nanoGPT's data/<config['dataset']>/). With `hf=True` (`--hf`)
a GPT is written as a transformers `GPT2LMHeadModel` folder instead (moredata.models.hf_export).
"""
from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import torch

from moredata.atomic import atomic_write_text, atomic_write_with, check_output_dir
from moredata.data.tokenizers import CharTokenizer
from moredata.errors import InvalidArgument
from moredata.models import model_args_of, model_type_for
from moredata.models.loader import DTYPES, dtype_of, load_model_and_tokenizer, read_model  # noqa: F401


def extract_model_for_inference(model_path: str | Path, output_path: str | Path, device: str | None = None,
                                dtype: str = "fp32", nanogpt: bool = False, dataset: str = "moredata",
                                hf: bool = False) -> Path:
    """Write `output_path/` (model.safetensors, config.json, tokenizer.json); returns the directory.
    `hf=True`: a GPT as a transformers GPT2LMHeadModel folder instead (moredata.models.hf_export)."""
    from safetensors.torch import save_model

    out = check_output_dir(output_path)
    dtype_of(dtype)
    model, tokenizer = load_model_and_tokenizer(model_path, device="cpu")
    if hf:
        from moredata.models.hf_export import save_hf

        if nanogpt or dtype != "fp32":
            raise InvalidArgument("--hf writes an fp32 GPT2LMHeadModel folder of its own: without --nanogpt or --dtype")
        return save_hf(model.float(), tokenizer, out)
    if nanogpt and model_type_for(model) != "decoder_only":  # refused before anything is written
        raise InvalidArgument(f"only a GPT (decoder_only) can be written as a nanoGPT ckpt.pt; {model_path} holds "
                              f"a {model_type_for(model)} model")
    out.mkdir(parents=True, exist_ok=True)
    model = model.to(dtype_of(dtype))
    tmp = out / f".model.safetensors.tmp-{os.getpid()}"
    # safetensors writes its files 0600, which left the extracted model unreadable to the other users of a
    # shared machine: it gets the mode any new file gets here (0666 less the umask, read off a probe file)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666))
    mode = os.stat(tmp).st_mode & 0o777
    save_model(model, str(tmp))  # shared tensors (tied heads) are written once and re-tied by load_model
    os.chmod(tmp, mode)
    os.replace(tmp, out / "model.safetensors")
    config = {"model_type": model_type_for(model), "model_args": model_args_of(model),
              "dtype": str(dtype_of(dtype)).replace("torch.", ""), "source": str(model_path)}
    atomic_write_text(out / "config.json", json.dumps(config, indent=2) + "\n")
    if tokenizer is not None:
        atomic_write_text(out / "tokenizer.json", json.dumps(tokenizer.to_dict()) + "\n")
    if nanogpt:
        _write_nanogpt(model, tokenizer, out, dataset)
    return out


def _write_nanogpt(model, tokenizer, out: Path, dataset: str) -> None:
    state = {k: v.float() for k, v in model.state_dict().items()}
    ckpt = {"model": state, "model_args": model_args_of(model), "iter_num": 0, "best_val_loss": 0.0,
            "config": {"dataset": dataset}}
    atomic_write_with(out / "ckpt.pt", lambda f: torch.save(ckpt, f))
    if isinstance(tokenizer, CharTokenizer):  # nanoGPT's sample.py reads stoi/itos from meta.pkl
        meta = {"vocab_size": tokenizer.vocab_size, "itos": dict(enumerate(tokenizer.chars)),
                "stoi": {c: i for i, c in enumerate(tokenizer.chars)}}
        atomic_write_with(out / "meta.pkl", lambda f: pickle.dump(meta, f))




def main(argv: list[str] | None = None) -> None:
    """moredata-extract MODEL OUT_DIR [--dtype fp32|fp16|bf16] [--nanogpt --dataset NAME]"""
    from moredata.cli import CliParser, exit_on_user_error
    from moredata.errors import MoredataError, UserError

    p = CliParser(prog="moredata-extract", description="Write a model for inference: model.safetensors (weights "
               "only, tied tensors once), config.json and tokenizer.json, from any checkpoint or nanoGPT ckpt.pt.")
    p.add_argument("model", help="a checkpoint (.pt), a nanoGPT ckpt.pt, or an extracted directory")
    p.add_argument("out", help="output directory")
    p.add_argument("--dtype", default="fp32", choices=["fp32", "fp16", "bf16"])
    p.add_argument("--nanogpt", action="store_true", help="also write a GPT as nanoGPT's ckpt.pt (+ meta.pkl)")
    p.add_argument("--dataset", default="moredata", help="config['dataset'] of the nanoGPT ckpt.pt")
    p.add_argument("--hf", action="store_true", help="write a GPT as a transformers GPT2LMHeadModel folder "
                   "(from_pretrained loads it; needs transformers)")
    args = p.parse_args(argv)

    @exit_on_user_error
    def run():
        try:
            out = extract_model_for_inference(args.model, args.out, dtype=args.dtype, nanogpt=args.nanogpt,
                                              dataset=args.dataset, hf=args.hf)
        except (MoredataError, FileNotFoundError, ValueError) as e:
            raise UserError(str(e)) from None
        print(f"wrote {out}: " + ", ".join(sorted(f.name for f in out.iterdir())))

    run()


if __name__ == "__main__":
    main()
