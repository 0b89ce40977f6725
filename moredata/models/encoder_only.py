"""EncoderOnlyModel: a BERT-style masked language model.

Bidirectional self-attention with a padding mask, built to the config's recipe (moredata.models.config:
rotary positions, GeGLU, no biases, a normed embedding and pre-LN blocks, ModernBERT's initialisation by
default; the classic BERT-like recipe for checkpoints written before). The MLM
head (dense, GELU, LayerNorm, then a projection onto the vocabulary) shares its output matrix with the
token embedding, as BERT does; safetensors export handles the shared tensor (see `extract.py`).

    h = model(input_ids, attention_mask)               # (B, T, d_model) hidden states
    logits = model.predict_mlm(input_ids, attention_mask)  # (B, T, vocab)
    e = model.sentence_embedding(input_ids, attention_mask)  # (B, d_model), mean over real tokens, L2-normed
"""
from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn import functional as F

from moredata.models.config import ModelConfig
from moredata.models.layers import Embeddings, EncoderBlock, final_norm, init_recipe, key_padding_mask, layer_norm

IGNORE_INDEX = -100


class EncoderOnlyModel(nn.Module):
    model_type = "encoder_only"

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config.resolve("encoder_only")
        self.embed = Embeddings(config)
        self.blocks = nn.ModuleList(EncoderBlock(config, first=i == 0) for i in range(config.num_layers))
        self.ln_f = final_norm(config)
        self.mlm_dense = nn.Linear(config.d_model, config.d_model, bias=config.bias)
        self.mlm_ln = layer_norm(config)
        self.mlm_bias = nn.Parameter(torch.zeros(config.vocab_size))
        init_recipe(self, config)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, labels=None):
        """(B, T, d_model) hidden states; with `labels`, (MLM loss, logits) instead (through forward, so
        DistributedDataParallel sees the whole step)."""
        if labels is not None:
            return self.mlm_loss(input_ids, attention_mask, labels)
        return self.hidden(input_ids, attention_mask)

    def hidden(self, input_ids, attention_mask=None) -> torch.Tensor:
        mask = key_padding_mask(attention_mask)
        x = self.embed(input_ids)
        for block in self.blocks:
            x = block(x, mask)
        return self.ln_f(x)

    def predict_mlm(self, input_ids, attention_mask=None) -> torch.Tensor:
        h = self.mlm_ln(F.gelu(self.mlm_dense(self.hidden(input_ids, attention_mask))))
        return h @ self.embed.tok.weight.t() + self.mlm_bias  # the head tied to the token embedding

    def mlm_loss(self, input_ids, attention_mask, labels) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, logits): cross-entropy at the positions whose label is not IGNORE_INDEX."""
        logits = self.predict_mlm(input_ids, attention_mask)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1), ignore_index=IGNORE_INDEX)
        return loss, logits

    @torch.no_grad()
    def sentence_embedding(self, input_ids, attention_mask=None, normalize: bool = True) -> torch.Tensor:
        h = self.hidden(input_ids, attention_mask)
        m = (torch.ones_like(input_ids) if attention_mask is None else attention_mask).unsqueeze(-1).to(h.dtype)
        e = (h * m).sum(1) / m.sum(1).clamp(min=1.0)  # mean over the real (unpadded) tokens
        return F.normalize(e, dim=-1) if normalize else e

    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
        """AdamW, decay on matrices only (as the GPT): the trainer builds every model's optimizer the same way."""
        return configure_adamw(self, weight_decay, learning_rate, betas, device_type)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def configure_adamw(model: nn.Module, weight_decay, learning_rate, betas, device_type):
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    fused = device_type == "cuda"
    return torch.optim.AdamW(groups, lr=learning_rate, betas=betas, fused=fused), fused
