"""moredata-sample: text from a trained checkpoint, with the KV-cache generator.

    moredata-sample --ckpt runs/shakespeare_char_cpu/best.pt --start "ROMEO:" --num_samples 2
    moredata-sample --ckpt nanogpt/out/ckpt.pt     # a nanoGPT char model: its data/<dataset>/meta.pkl is read
    moredata-sample --ckpt nanogpt/out/ckpt.pt --tokenizer data/shakespeare_char/tokenizer.json
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from moredata.cli import CliParser, exit_on_user_error
from moredata.data.nanogpt_meta import read_nanogpt_meta
from moredata.data.tokenizers import tokenizer_from_dict
from moredata.errors import MoredataError, UserError
from moredata.models import model_type_of
from moredata.models.checkpoint import load_checkpoint, model_from_checkpoint, tokenizer_from_checkpoint
from moredata.models.generation import generate


def build_parser() -> argparse.ArgumentParser:
    p = CliParser(prog="moredata-sample", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--ckpt", type=Path, required=True, help="checkpoint file (ours or nanoGPT's ckpt.pt)")
    p.add_argument("--start", default="\n", help="prompt text, or FILE:path to read it from a file")
    p.add_argument("--num_samples", type=int, default=1, help="samples, generated as one batch")
    p.add_argument("--max_new_tokens", type=int, default=500, help="tokens generated after the prompt (default 500)")
    p.add_argument("--temperature", type=float, default=0.8, help="0 = greedy; <1 sharper, >1 more random")
    p.add_argument("--top_k", type=int, default=200, help="sample among the k most likely tokens (0 = all)")
    p.add_argument("--seed", type=int, default=1337, help="sampling seed: the same seed gives the same samples")
    p.add_argument("--device", default="auto", help="'auto', 'cpu', 'cuda', ...")
    p.add_argument("--tokenizer", type=Path, default=None,
                   help="tokenizer.json, for checkpoints that carry none (nanoGPT imports)")
    return p


def meta_pkl_candidates(ckpt_path: Path, config: dict) -> list[Path]:
    """Where nanoGPT keeps meta.pkl for a checkpoint: beside it, or data/<dataset>/ of its repo or of here."""
    out = [ckpt_path.parent / "meta.pkl"]
    dataset = config.get("dataset")
    if isinstance(dataset, str) and dataset and "/" not in dataset and dataset not in (".", ".."):
        out += [ckpt_path.resolve().parent.parent / "data" / dataset / "meta.pkl", Path("data") / dataset / "meta.pkl"]
    return out


def nanogpt_meta_tokenizer(ckpt_path: Path, config: dict):
    """The char tokenizer of a nanoGPT char-level checkpoint, from its meta.pkl; None if there is none."""
    for path in meta_pkl_candidates(ckpt_path, config):
        if path.is_file():
            return read_nanogpt_meta(path)
    return None


SAMPLES_NOT = {
    "encoder_only": "an encoder fills masked tokens (use it through load_model_and_tokenizer, or as the RAG "
                    "embedder: --embedder=encoder:PATH)",
    "transformer": "an encoder-decoder continues its input through model.generate in Python",
    "pointer": "a pointer model maps edited audio frames to the recording (moredata-pointer evaluate)",
}


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    for name, low in (("num_samples", 1), ("max_new_tokens", 0), ("temperature", 0), ("top_k", 0)):
        if getattr(args, name) < low:  # one message per value: the user sees which one is wrong
            raise UserError(f"--{name} must be at least {low}, got {getattr(args, name)}")
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    try:
        ckpt = load_checkpoint(args.ckpt)  # read once: its type is checked before a model is built from it
        kind = model_type_of(ckpt)
        if kind != "decoder_only":
            raise UserError(f"{args.ckpt} holds a model of type {kind}: moredata-sample continues text with a GPT "
                            f"(decoder_only) checkpoint; {SAMPLES_NOT.get(kind, 'this type does not generate text')}")
        model, tok = model_from_checkpoint(ckpt, device).eval(), tokenizer_from_checkpoint(ckpt)
        ckpt_config = ckpt.get("config") if isinstance(ckpt.get("config"), dict) else {}
    except (FileNotFoundError, ValueError, MoredataError) as e:
        raise UserError(str(e)) from None
    if args.tokenizer is not None:
        try:
            tok = tokenizer_from_dict(json.loads(args.tokenizer.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError) as e:
            raise UserError(f"--tokenizer {args.tokenizer}: {e}") from None
    if tok is None:
        try:
            tok = nanogpt_meta_tokenizer(args.ckpt, ckpt_config)
        except MoredataError as e:
            raise UserError(str(e)) from None
    if tok is None:
        where = " or ".join(str(p) for p in meta_pkl_candidates(args.ckpt, ckpt_config))
        raise UserError(f"{args.ckpt} carries no tokenizer: pass --tokenizer path/to/tokenizer.json, or put "
                        f"nanoGPT's meta.pkl at {where}")
    try:
        start = Path(args.start[5:]).read_text(encoding="utf-8") if args.start.startswith("FILE:") else args.start
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"--start: {e}") from None
    try:
        ids = tok.encode(start)
    except ValueError as e:
        raise UserError(f"--start: {e}") from None
    if not ids:
        raise UserError("--start encodes to no tokens")
    torch.manual_seed(args.seed)
    gen = torch.Generator(device=device).manual_seed(args.seed)
    x = torch.tensor(ids, dtype=torch.long, device=device)[None, :].repeat(args.num_samples, 1)
    t0 = time.time()
    out = generate(model, x, args.max_new_tokens, temperature=args.temperature,
                   top_k=args.top_k or None, generator=gen)
    dt = time.time() - t0
    for row in out.tolist():
        print(tok.decode(row))
        print("---------------")
    n = args.num_samples * args.max_new_tokens
    print(f"[{n} tokens in {dt:.2f}s, {n / max(dt, 1e-9):.0f} tokens/s on {device}]")


if __name__ == "__main__":
    main()
