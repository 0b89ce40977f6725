"""PointerNetwork: for each frame of an edited recording, a distribution over the frames of the raw one.

    model = PointerNetwork(PointerConfig(n_mels=80, d_model=96, num_heads=4))
    loss, logits = model(raw, raw_mask, edit, edit_mask, pointers)   # training: (loss, (B, T_edit, T_raw))
    logits = model(raw, raw_mask, edit, edit_mask)                   # inference
    pred = greedy_pointers(logits)                                   # (B, T_edit) argmax raw frame
    pred = smooth_pointers(logits.log_softmax(-1)[0, :n_edit, :n_raw])  # monotonic within segments

Shapes: raw (B, n_mels, T_raw) and edit (B, n_mels, T_edit) log-mels, masks (B, T) bool (True = a real
frame), pointers (B, T_edit) int64 with IGNORE_INDEX (-100) on padding, exactly what
`moredata.pointer.dataset.collate` builds.

Each side: per-recording normalisation (the raw's masked mean and std, applied to both, so a gain change
moves neither), a convolutional front end over time (Conv1d + GELU, `conv_layers` deep), sinusoidal
positions, then transformer layers: self-attention for the raw; self-attention plus cross-attention to
the raw for the edit (an edit frame can look at its candidates before it points). The pointer is
scaled dot-product attention: logits[b, t, j] = <W_q e_t, W_k r_j> / sqrt(d_model), -inf at raw padding.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn as nn
from torch.nn import functional as F

from moredata.errors import InvalidArgument

IGNORE_INDEX = -100


@dataclass
class PointerConfig:
    n_mels: int = 80
    d_model: int = 128
    num_heads: int = 4
    raw_layers: int = 2  # self-attention layers over the raw recording
    edit_layers: int = 2  # self- + cross-attention layers over the edit
    d_ff: int = 0  # 0: 4 * d_model
    conv_layers: int = 2
    conv_kernel: int = 5
    dropout: float = 0.1

    def __post_init__(self):
        if self.d_ff == 0:
            self.d_ff = 4 * self.d_model
        for name in ("n_mels", "d_model", "num_heads", "d_ff", "conv_kernel"):
            if int(getattr(self, name)) < 1:
                raise InvalidArgument(f"model config {name} must be at least 1, got {getattr(self, name)}")
        for name in ("raw_layers", "edit_layers", "conv_layers"):
            if int(getattr(self, name)) < 0:
                raise InvalidArgument(f"model config {name} must be at least 0, got {getattr(self, name)}")
        if self.conv_kernel % 2 == 0:
            raise InvalidArgument(f"model config conv_kernel must be odd (frames stay aligned), got {self.conv_kernel}")
        if self.d_model % self.num_heads:
            raise InvalidArgument(f"model config d_model ({self.d_model}) must be divisible by num_heads "
                                  f"({self.num_heads})")
        if not 0.0 <= self.dropout < 1.0:
            raise InvalidArgument(f"model config dropout must be in [0, 1), got {self.dropout}")

    @classmethod
    def from_dict(cls, args: dict) -> "PointerConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(args) - known)
        if unknown:
            raise InvalidArgument(f"unknown model config key {unknown[0]!r}; known: {', '.join(sorted(known))}")
        out = {}
        for k, v in args.items():
            want = float if k == "dropout" else int
            if isinstance(v, bool) or not isinstance(v, (int, float)) or (want is int and not float(v).is_integer()):
                raise InvalidArgument(f"model config {k} must be {'a number' if want is float else 'an integer'}, "
                                      f"got {v!r}")
            out[k] = want(v)
        return cls(**out)

    def to_dict(self) -> dict:
        return asdict(self)


def sinusoids(length: int, dim: int, device, dtype) -> torch.Tensor:
    """(length, dim) fixed positions: any recording length works, none is learned from 45 samples."""
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    out = torch.zeros(length, dim, device=device)
    out[:, 0::2] = torch.sin(pos * freq)
    out[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return out.to(dtype)


class FrontEnd(nn.Module):
    """(B, n_mels, T) -> (B, T, d_model): 1-D convolutions over time, 'same' padding, then positions."""

    def __init__(self, c: PointerConfig):
        super().__init__()
        widths = [c.n_mels] + [c.d_model] * c.conv_layers
        self.convs = nn.ModuleList(nn.Conv1d(a, b, c.conv_kernel, padding=c.conv_kernel // 2)
                                   for a, b in zip(widths[:-1], widths[1:]))
        self.proj = nn.Linear(widths[-1], c.d_model)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, mel: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask[:, None, :].to(mel.dtype)
        x = mel * m
        for conv in self.convs:  # padding re-zeroed after every layer, as a lone sample's conv padding is
            x = F.gelu(conv(x)) * m
        x = self.proj(x.transpose(1, 2))
        return self.drop(x + sinusoids(x.shape[1], x.shape[2], x.device, x.dtype))


class PointerNetwork(nn.Module):
    model_type = "pointer"

    def __init__(self, config: PointerConfig):
        super().__init__()
        self.config = c = config
        self.raw_front, self.edit_front = FrontEnd(c), FrontEnd(c)
        self.raw_layers = nn.ModuleList(
            nn.TransformerEncoderLayer(c.d_model, c.num_heads, c.d_ff, c.dropout, activation="gelu",
                                       batch_first=True, norm_first=True) for _ in range(c.raw_layers))
        self.edit_layers = nn.ModuleList(
            nn.TransformerDecoderLayer(c.d_model, c.num_heads, c.d_ff, c.dropout, activation="gelu",
                                       batch_first=True, norm_first=True) for _ in range(c.edit_layers))
        for layer in [*self.raw_layers, *self.edit_layers]:
            # no dropout on attention weights: with padding masks it forces PyTorch's unfused attention,
            # whose Bernoulli draws over (B, heads, T, T) took 40% of a CPU step; residual and
            # feed-forward dropout stay
            for attn in (getattr(layer, "self_attn", None), getattr(layer, "multihead_attn", None)):
                if attn is not None:
                    attn.dropout = 0.0
        self.raw_ln, self.edit_ln = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.query, self.key = nn.Linear(c.d_model, c.d_model), nn.Linear(c.d_model, c.d_model)

    @staticmethod
    def normalise(raw, raw_mask, edit):
        """Both mels standardised by the raw's own (masked) mean and std over frames and channels."""
        m = raw_mask[:, None, :].to(raw.dtype)  # (B, 1, T_raw)
        n = (m.sum((1, 2)) * raw.shape[1]).clamp(min=1.0)[:, None, None]
        mean = (raw * m).sum((1, 2), keepdim=True) / n
        std = (((raw - mean) * m).square().sum((1, 2), keepdim=True) / n).sqrt().clamp(min=1e-3)
        return (raw - mean) / std, (edit - mean) / std

    def pointer_logits(self, raw, raw_mask, edit, edit_mask) -> torch.Tensor:
        """(B, T_edit, T_raw) logits; -inf where the raw frame is padding."""
        raw, edit = self.normalise(raw, raw_mask, edit)
        raw_pad, edit_pad = ~raw_mask, ~edit_mask
        r = self.raw_front(raw, raw_mask)
        for layer in self.raw_layers:
            r = layer(r, src_key_padding_mask=raw_pad)
        r = self.raw_ln(r)
        e = self.edit_front(edit, edit_mask)
        for layer in self.edit_layers:
            e = layer(e, r, tgt_key_padding_mask=edit_pad, memory_key_padding_mask=raw_pad)
        e = self.edit_ln(e)
        logits = self.query(e) @ self.key(r).transpose(1, 2) / math.sqrt(self.config.d_model)
        return logits.float().masked_fill(raw_pad[:, None, :], float("-inf"))

    def forward(self, raw, raw_mask, edit, edit_mask, pointers=None, **_ignored):
        """logits (B, T_edit, T_raw); with `pointers`, (cross-entropy loss, logits) instead. Extra batch
        keys (lengths, what augmentation applied) are ignored, so a collated batch can be passed whole."""
        logits = self.pointer_logits(raw, raw_mask, edit, edit_mask)
        if pointers is None:
            return logits
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), pointers.reshape(-1), ignore_index=IGNORE_INDEX)
        return loss, logits

    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
        from moredata.models.encoder_only import configure_adamw

        return configure_adamw(self, weight_decay, learning_rate, betas, device_type)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def greedy_pointers(logits: torch.Tensor) -> torch.Tensor:
    """(..., T_edit, T_raw) -> (..., T_edit): the most likely raw frame for each edit frame."""
    return logits.argmax(-1)


def smooth_pointers(log_probs: torch.Tensor, jump_penalty: float = 4.0) -> torch.Tensor:
    """(T_edit, T_raw) log-probabilities of one sample -> (T_edit,) pointers that run monotonically inside
    segments: a Viterbi path where stepping from raw frame j-1 to j is free and any other move (a cut, a
    repeat, a reorder) costs `jump_penalty` nats. An edit is a few runs of consecutive raw frames, so a
    lone frame that disagrees with both neighbours is pulled back onto its run. One vectorised step per
    edit frame (the recursion is sequential in time), O(T_edit * T_raw)."""
    lp = log_probs.float()
    t_edit, t_raw = lp.shape
    score = lp[0].clone()
    came_from = torch.empty((t_edit, t_raw), dtype=torch.long, device=lp.device)
    frames = torch.arange(t_raw, device=lp.device)
    for t in range(1, t_edit):
        cont = torch.full_like(score, float("-inf"))
        cont[1:] = score[:-1]  # j-1 -> j
        best, arg = score.max(0)
        jump = best - jump_penalty
        take_cont = cont >= jump
        came_from[t] = torch.where(take_cont, frames - 1, arg)
        score = torch.where(take_cont, cont, jump) + lp[t]
    back = came_from.cpu().numpy()
    path = [int(score.argmax())]
    for t in range(t_edit - 1, 0, -1):  # backtrack: one lookup per frame
        path.append(int(back[t, path[-1]]))
    return torch.tensor(path[::-1], dtype=torch.long, device=lp.device)


def pointer_accuracy(pred: torch.Tensor, pointers: torch.Tensor, tolerance: int = 0) -> tuple[int, int]:
    """(hits, counted): |pred - true| <= tolerance over the frames whose target is not IGNORE_INDEX."""
    sel = pointers != IGNORE_INDEX
    return int(((pred - pointers).abs() <= tolerance)[sel].sum()), int(sel.sum())
