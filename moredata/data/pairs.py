"""(prompt, completion) pairs: read from JSONL, laid out as one token stream with a loss mask.

Each pair is written as `prompt + separator + completion + end`, e.g. with separator "|" and end "\\n" a
lambda trace step is `(\\.0) (\\.1)|\\.1` plus a newline. The loss mask is 1 on the tokens of
`completion + end` (the model learns to write the completion and to stop) and 0 on `prompt + separator`
(the model is given them, as at inference). A trainer with `completion_only_loss` puts the loss on the
masked tokens only: the prompt's tokens then cost no capacity, which matters when the prompt is long and
predictable only in part (a term to reduce, an instruction) and the completion is what users ask for.

    pairs = read_pairs(Path("steps.jsonl"), prompt_key="input", completion_key="target")
    ids, mask = encode_pairs(tokenizer, pairs, separator="|", end="\\n")   # (N,) ids, (N,) uint8
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from moredata.errors import InvalidArgument, UserError
from moredata.jsonl import numbered_jsonl

DEFAULT_SEPARATOR = "\n"
DEFAULT_END = "\n\n"


def read_pairs(path: Path, prompt_key: str = "prompt", completion_key: str = "completion") -> list[tuple[str, str]]:
    """The (prompt, completion) pairs of a JSONL(.gz) file; UserError (an InvalidArgument) naming the line
    of a bad one. `prompt_key` may name several fields, comma-separated, joined by a newline (empty ones
    left out): `instruction,context` for moredata-code's samples."""
    keys = [k.strip() for k in prompt_key.split(",") if k.strip()]
    if not keys:
        raise UserError("prompt_key names no field")
    pairs = []
    try:
        for n, d in numbered_jsonl(path):
            if not isinstance(d, dict) or not all(isinstance(d.get(k), str) for k in (*keys, completion_key)):
                raise UserError(f"{path}:{n}: needs string fields {', '.join(map(repr, keys))} and "
                                f"{completion_key!r}")
            if not d[completion_key]:
                raise UserError(f"{path}:{n}: empty {completion_key!r} (nothing to learn)")
            pairs.append(("\n".join(d[k] for k in keys if d[k]), d[completion_key]))
    except InvalidArgument as e:  # the reader's (no such file, not JSON): a user error of the CLI's
        raise UserError(str(e)) from None
    if not pairs:
        raise UserError(f"{path}: no pairs")
    return pairs


def pair_pieces(pairs: list[tuple[str, str]], separator: str, end: str) -> list[str]:
    """prompt + separator, completion + end, alternating: even pieces unmasked, odd pieces masked."""
    out = []
    for prompt, completion in pairs:
        out.append(prompt + separator)
        out.append(completion + end)
    return out


def encode_pairs(tokenizer, pairs: list[tuple[str, str]], separator: str = DEFAULT_SEPARATOR,
                 end: str = DEFAULT_END) -> tuple[np.ndarray, np.ndarray]:
    """(ids, loss mask) of the pairs laid end to end."""
    return encode_pieces(tokenizer, pair_pieces(pairs, separator, end))


def encode_pieces(tokenizer, pieces: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(ids, loss mask) of pair_pieces' alternating pieces. A char tokenizer encodes the whole text at once
    and the mask follows the pieces' lengths (one id per character); another encodes piece by piece, so
    no token straddles a prompt and its completion."""
    if tokenizer.kind == "char":
        ids = tokenizer.encode_array("".join(pieces))
        lengths = np.fromiter((len(p) for p in pieces), dtype=np.int64, count=len(pieces))
    else:
        parts = [tokenizer.encode_array(p) for p in pieces]
        ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
    mask = np.repeat(np.tile(np.array([0, 1], dtype=np.uint8), len(pieces) // 2), lengths)
    return ids, mask
