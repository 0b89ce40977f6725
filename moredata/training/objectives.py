"""What a training step computes for each model type, from the loop's (x, y) token windows.

The loop draws (x, y) windows (B, T) as for the GPT; `to_batch` turns them into the model's inputs (with
the batch generator, so a resumed run redraws the same masks), `loss_of` returns the loss, and
`eval_counts` the extra numbers an evaluation reports:

| model_type     | batch                                     | loss                         | eval extra          |
|----------------|-------------------------------------------|------------------------------|---------------------|
| decoder_only   | (x, y)                                    | next-token cross-entropy     | -                   |
| encoder_only   | (masked x, None, labels): BERT's 80/10/10 | cross-entropy at masked ids  | masked-token acc.   |
| transformer    | (first half, None, <cls>+second half[:-1], second half) | teacher forcing | -             |
| pointer        | (the collated batch dict,): no token windows | cross-entropy over raw frames | pointer acc.  |
| module         | (the loader's batch dict,): `model(**batch)`  | the output's loss             | -             |

A batch dict in place of x (and None for y) goes to the model whole, `model(**batch)`: the pointer
network's padded dict of mels and pointers (moredata.pointer.dataset.collate), a generic module's batch
(any `nn.Module` whose output carries a loss: a transformers model, `{"loss": ...}`, or `(loss, ...)`),
and (source, target) pairs for the encoder-decoder (moredata.data.loaders.Seq2SeqCollate: src_ids,
src_mask, tgt_in, tgt_out).

The encoder-decoder on padded rows (one text a row) splits each row at the middle of its own tokens: the
source is its first half, the target the rest (a row "abcdef" padded to 16 is "abc" -> "def", not
"abcdef" + padding -> padding).
"""
from __future__ import annotations

import torch

from moredata.data.tokenizers import SPECIAL_TOKENS
from moredata.errors import UserError
from moredata.models.encoder_only import IGNORE_INDEX
from moredata.models.masking import mask_tokens


class Objective:
    def __init__(self, model_type: str, vocab_size: int, mask_prob: float = 0.15):
        self.model_type = model_type
        self.vocab_size = vocab_size  # regular ids; the specials follow (see tokenizers.SPECIAL_TOKENS)
        self.pad_id, self.mask_id, self.cls_id = vocab_size, vocab_size + 1, vocab_size + 2
        self.specials = torch.arange(vocab_size, vocab_size + len(SPECIAL_TOKENS))
        self.mask_prob = mask_prob

    @property
    def accuracy_name(self) -> str | None:
        """The eval extra's name (`<split>_<name>` in metrics): what eval_counts counts, if anything."""
        return {"encoder_only": "masked_acc", "pointer": "pointer_acc"}.get(self.model_type)

    @property
    def counts_tokens(self) -> bool:
        """The model takes this project's token batches (a vocabulary and a tokenizer)."""
        return self.model_type in ("decoder_only", "encoder_only", "transformer")

    def model_vocab(self, data_vocab: int) -> int:
        """Rows the model needs: the GPT only the data's ids, the others the special tokens too."""
        return data_vocab if self.model_type == "decoder_only" else data_vocab + len(SPECIAL_TOKENS)

    def to_batch(self, x, y: torch.Tensor | None, generator: torch.Generator,
                 attention_mask: torch.Tensor | None = None) -> tuple:
        """The model's inputs from (B, T) windows; `attention_mask` (1 = token, 0 = padding) when padded.
        A batch dict (x) is the model's keyword arguments as they are."""
        if isinstance(x, dict):
            return (x,)
        if self.model_type == "decoder_only":
            return x, y
        if self.model_type == "encoder_only":
            inputs, labels = mask_tokens(x, self.specials, self.mask_id, self.vocab_size, generator, self.mask_prob)
            return inputs, attention_mask, labels
        if attention_mask is None:  # token windows: every row full, split in the middle
            half = x.size(1) // 2
            src, tgt = x[:, :half], x[:, half:]
            return src, None, self.shift_right(tgt), tgt
        return self.split_rows(x, attention_mask)

    def shift_right(self, tgt: torch.Tensor) -> torch.Tensor:
        """The decoder's input: <cls> then the target without its last token."""
        return torch.cat([torch.full_like(tgt[:, :1], self.cls_id), tgt[:, :-1]], dim=1)

    def split_rows(self, x: torch.Tensor, attention_mask: torch.Tensor) -> tuple:
        """Each padded row split at the middle of its own tokens: (src, src_mask, tgt_in, tgt_out), the
        target gathered from position half_i of row i (vectorised; padding is pad_id, labels IGNORE_INDEX)."""
        lengths = attention_mask.sum(1)  # (B,)
        half = lengths // 2
        S, T = int(half.max()), int((lengths - half).max())
        pos_s = torch.arange(S, device=x.device)[None, :]  # (1, S)
        src_mask = (pos_s < half[:, None]).long()
        src = torch.where(src_mask.bool(), x[:, :S], torch.full_like(x[:, :S], self.pad_id))
        pos_t = torch.arange(T, device=x.device)[None, :] + half[:, None]  # (B, T) source positions
        tgt_ok = pos_t < lengths[:, None]
        tgt = torch.gather(x, 1, pos_t.clamp(max=x.size(1) - 1))
        tgt_out = torch.where(tgt_ok, tgt, torch.full_like(tgt, IGNORE_INDEX))
        tgt_in = torch.where(tgt_ok, self.shift_right(tgt), torch.full_like(tgt, self.pad_id))
        return src, src_mask, tgt_in, tgt_out

    def loss_of(self, model, batch: tuple) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(loss, logits)."""
        if len(batch) == 1 and isinstance(batch[0], dict):
            return loss_and_logits(model(**batch[0]))
        if self.model_type == "decoder_only":
            logits, loss = model(*batch)
            return loss, logits
        return model(*batch)  # encoder and encoder-decoder: forward with labels returns (loss, logits)

    def labels_of(self, batch: tuple) -> torch.Tensor | None:
        """What the logits are scored against (-100 where nothing is): the GPT's shifted targets, the
        encoder's masked ids, the encoder-decoder's target; a batch dict's `labels` (or `tgt_out`, `pointers`)."""
        if len(batch) == 1 and isinstance(batch[0], dict):
            d = batch[0]
            return next((d[k] for k in ("labels", "tgt_out", "pointers") if k in d), None)
        if self.model_type == "decoder_only":
            y = batch[1]
            return None if y is None else torch.where(y == -1, torch.full_like(y, IGNORE_INDEX), y)
        return batch[-1]

    def eval_counts(self, batch: tuple, logits: torch.Tensor | None) -> tuple[int, int]:
        """(correct, counted): masked tokens for the encoder, edit frames for the pointer network (exact
        raw frame); (0, 0) otherwise."""
        if logits is None or self.accuracy_name is None:
            return 0, 0
        labels = self.labels_of(batch)
        sel = labels != IGNORE_INDEX
        return int((logits.argmax(-1)[sel] == labels[sel]).sum()), int(sel.sum())


def loss_and_logits(out) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(loss, logits or None) from what a model returns: an object with `.loss` (transformers' outputs),
    a dict with "loss", a (loss, logits, ...) tuple, or the loss tensor alone."""
    if isinstance(out, torch.Tensor):
        return out, None
    if isinstance(out, dict) or hasattr(out, "keys"):
        if out.get("loss") is None:
            raise UserError("the model's output holds no loss: pass labels in the batch (a transformers model "
                            "computes its loss only when given labels) or return {'loss': ...}")
        return out["loss"], out.get("logits")
    if hasattr(out, "loss"):
        return out.loss, getattr(out, "logits", None)
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor) and out[0].dim() == 0:
        return out[0], out[1] if len(out) > 1 and isinstance(out[1], torch.Tensor) else None
    raise UserError(f"the model returned {type(out).__name__}: return the loss, (loss, logits), a dict with "
                    f"'loss', or an object with .loss")
