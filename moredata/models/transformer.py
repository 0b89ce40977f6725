"""EncoderDecoderModel: a sequence-to-sequence transformer (encoder, decoder with cross-attention).

One shared token embedding for source and target (one tokenizer), tied to the output projection; both
stacks follow the config's recipe (moredata.models.config; rotary positions in self-attention only).
Trained with teacher forcing: `loss(src, src_mask, tgt_in, tgt_out)`; generates with a key/value cache:
the decoder's self-attention keys/values grow by one position per step and the cross-attention's are
computed from the encoder memory once.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn import functional as F

from moredata.models.config import ModelConfig
from moredata.models.encoder_only import IGNORE_INDEX, configure_adamw
from moredata.models.layers import DecoderBlock, Embeddings, EncoderBlock, final_norm, init_recipe, key_padding_mask


class EncoderDecoderModel(nn.Module):
    model_type = "transformer"

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config.resolve("transformer")
        self.embed = Embeddings(config)
        self.encoder = nn.ModuleList(EncoderBlock(config, first=i == 0) for i in range(config.num_layers))
        self.decoder = nn.ModuleList(DecoderBlock(config) for _ in range(config.num_decoder_layers))
        self.ln_enc, self.ln_dec = final_norm(config), final_norm(config)
        init_recipe(self, config)

    def encode(self, src_ids, src_mask=None) -> torch.Tensor:
        mask = key_padding_mask(src_mask)
        x = self.embed(src_ids)
        for block in self.encoder:
            x = block(x, mask)
        return self.ln_enc(x)

    def decode(self, tgt_ids, memory, src_mask=None, cache: list | None = None, start: int = 0) -> torch.Tensor:
        """(B, T, vocab) logits for target positions start..start+T-1."""
        mask = key_padding_mask(src_mask)
        x = self.embed(tgt_ids, start)
        for i, block in enumerate(self.decoder):
            x = block(x, memory, mask, None if cache is None else cache[i])
        return self.ln_dec(x) @ self.embed.tok.weight.t()

    def forward(self, src_ids, src_mask, tgt_in, tgt_out=None):
        """(B, T, vocab) logits; with `tgt_out`, (loss, logits) instead (so DDP sees the whole step)."""
        if tgt_out is not None:
            return self.loss(src_ids, src_mask, tgt_in, tgt_out)
        return self.decode(tgt_in, self.encode(src_ids, src_mask), src_mask)

    def loss(self, src_ids, src_mask, tgt_in, tgt_out) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing: predict tgt_out[t] from tgt_in[:t+1] (padding labelled IGNORE_INDEX)."""
        logits = self.decode(tgt_in, self.encode(src_ids, src_mask), src_mask)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), tgt_out.reshape(-1), ignore_index=IGNORE_INDEX)
        return loss, logits

    @torch.no_grad()
    def generate(self, src_ids, src_mask=None, bos_id: int = 0, eos_id: int | None = None, max_new_tokens: int = 64,
                 temperature: float = 0.0, use_cache: bool = True, generator: torch.Generator | None = None,
                 top_k: int | None = None, top_p: float | None = None):
        """(B, <= max_new_tokens) generated ids (greedy when temperature is 0; else sampled, top_k / top_p
        as the GPT's), stopping at eos for all rows."""
        from moredata.models.generation import check_sampling, sample_next

        check_sampling(temperature, top_k, top_p)
        memory = self.encode(src_ids, src_mask)
        B = src_ids.size(0)
        out = torch.full((B, 1), bos_id, dtype=torch.long, device=src_ids.device)
        cache = [{} for _ in self.decoder] if use_cache else None
        done = torch.zeros(B, dtype=torch.bool, device=src_ids.device)
        for t in range(min(max_new_tokens, self.config.max_seq_len - 1)):
            if use_cache:
                logits = self.decode(out[:, -1:], memory, src_mask, cache, start=t)[:, -1]
            else:
                logits = self.decode(out, memory, src_mask)[:, -1]
            nxt = sample_next(logits, temperature, top_k, generator, top_p)
            if eos_id is not None:
                nxt = torch.where(done[:, None], torch.full_like(nxt, eos_id), nxt)
                done |= nxt[:, 0] == eos_id
            out = torch.cat([out, nxt], dim=1)
            if eos_id is not None and bool(done.all()):
                break
        return out[:, 1:]

    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
        return configure_adamw(self, weight_decay, learning_rate, betas, device_type)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
