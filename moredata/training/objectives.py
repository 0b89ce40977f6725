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

A pointer network's data source yields its padded batch dict in place of x (and None for y); see
moredata.models.pointer and moredata.pointer.dataset.collate.
"""
from __future__ import annotations

import torch

from moredata.data.tokenizers import SPECIAL_TOKENS
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

    def model_vocab(self, data_vocab: int) -> int:
        """Rows the model needs: the GPT only the data's ids, the others the special tokens too."""
        return data_vocab if self.model_type == "decoder_only" else data_vocab + len(SPECIAL_TOKENS)

    def to_batch(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator,
                 attention_mask: torch.Tensor | None = None) -> tuple:
        """The model's inputs from (B, T) windows; `attention_mask` (1 = token, 0 = padding) when padded."""
        if self.model_type == "decoder_only":
            return x, y
        if self.model_type == "pointer":
            return (x,)
        if self.model_type == "encoder_only":
            inputs, labels = mask_tokens(x, self.specials, self.mask_id, self.vocab_size, generator, self.mask_prob)
            return inputs, attention_mask, labels
        half = x.size(1) // 2
        src, tgt = x[:, :half], x[:, half:]
        tgt_in = torch.cat([torch.full_like(tgt[:, :1], self.cls_id), tgt[:, :-1]], dim=1)
        if attention_mask is None:
            return src, None, tgt_in, tgt
        tgt_out = torch.where(attention_mask[:, half:].bool(), tgt, torch.full_like(tgt, IGNORE_INDEX))
        return src, attention_mask[:, :half], tgt_in, tgt_out

    def loss_of(self, model, batch: tuple) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, logits)."""
        if self.model_type == "decoder_only":
            logits, loss = model(*batch)
            return loss, logits
        if self.model_type == "pointer":
            return model(**batch[0])
        return model(*batch)  # encoder and encoder-decoder: forward with labels returns (loss, logits)

    def eval_counts(self, batch: tuple, logits: torch.Tensor) -> tuple[int, int]:
        """(correct, counted): masked tokens for the encoder, edit frames for the pointer network (exact
        raw frame); (0, 0) otherwise."""
        if self.model_type == "pointer":
            labels = batch[0]["pointers"]
        elif self.model_type == "encoder_only":
            labels = batch[2]
        else:
            return 0, 0
        sel = labels != IGNORE_INDEX
        return int((logits.argmax(-1)[sel] == labels[sel]).sum()), int(sel.sum())
