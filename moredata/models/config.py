"""One config pattern for every model type, with nanoGPT's names accepted as aliases.

    ModelConfig(vocab_size=67, d_model=256, num_heads=4, num_layers=4, d_ff=1024, max_seq_len=256)
    ModelConfig.from_dict({"n_embd": 256, "n_head": 4, "n_layer": 4, "block_size": 256, "vocab_size": 67})

`d_ff` defaults to 4 * d_model. The GPT keeps its own `GPTConfig` (nanoGPT's field names are part of its
checkpoint format); `gpt_config` converts either spelling into one.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from moredata.errors import InvalidArgument

MODEL_TYPES = ("decoder_only", "encoder_only", "transformer", "pointer")
ALIASES = {"n_embd": "d_model", "n_head": "num_heads", "n_layer": "num_layers", "block_size": "max_seq_len"}


@dataclass
class ModelConfig:
    vocab_size: int = 50304
    d_model: int = 768
    num_heads: int = 12
    num_layers: int = 12
    d_ff: int = 0  # 0: 4 * d_model
    max_seq_len: int = 1024
    dropout: float = 0.0
    bias: bool = True
    num_decoder_layers: int = 0  # transformer only; 0: num_layers

    def __post_init__(self):
        if self.d_ff == 0:
            self.d_ff = 4 * self.d_model
        if self.num_decoder_layers == 0:
            self.num_decoder_layers = self.num_layers
        for name in ("vocab_size", "d_model", "num_heads", "num_layers", "d_ff", "max_seq_len"):
            if int(getattr(self, name)) < 1:
                raise InvalidArgument(f"model config {name} must be at least 1, got {getattr(self, name)}")
        if self.d_model % self.num_heads:
            raise InvalidArgument(f"d_model ({self.d_model}) must be divisible by num_heads ({self.num_heads})")
        if not 0.0 <= self.dropout < 1.0:
            raise InvalidArgument(f"dropout must be in [0, 1), got {self.dropout}")

    @classmethod
    def from_dict(cls, args: dict) -> "ModelConfig":
        """From either spelling (nanoGPT's names are aliases); unknown keys are refused by name."""
        known = {f.name for f in fields(cls)}
        out = {}
        for key, value in args.items():
            name = ALIASES.get(key, key)
            if name not in known:
                raise InvalidArgument(f"unknown model_args key {key!r}")
            out[name] = value
        return cls(**out)

    def to_dict(self) -> dict:
        return asdict(self)


def gpt_config(args: dict):
    """A GPTConfig from nanoGPT's names or the common ones (the GPT's MLP is 4 * d_model by design)."""
    from moredata.models.decoder_only import GPTConfig

    if any(k in args for k in ("d_model", "num_heads", "num_layers", "max_seq_len", "d_ff")):
        c = ModelConfig.from_dict({k: v for k, v in args.items() if k != "num_decoder_layers"})
        if c.d_ff != 4 * c.d_model:
            raise InvalidArgument(f"the GPT's feed-forward size is 4 * d_model ({4 * c.d_model}), got d_ff={c.d_ff}")
        return GPTConfig(block_size=c.max_seq_len, vocab_size=c.vocab_size, n_layer=c.num_layers,
                         n_head=c.num_heads, n_embd=c.d_model, dropout=c.dropout, bias=c.bias)
    return GPTConfig.from_dict(args)
