"""One config pattern for every model type, with nanoGPT's names accepted as aliases.

    ModelConfig(vocab_size=67, d_model=256, num_heads=4, num_layers=4, d_ff=1024, max_seq_len=256)
    ModelConfig.from_dict({"n_embd": 256, "n_head": 4, "n_layer": 4, "block_size": 256, "vocab_size": 67})

`d_ff` defaults to 4 * d_model (8/3 * d_model for GeGLU, the same parameter count). The GPT keeps its own
`GPTConfig` (nanoGPT's field names are part of its checkpoint format); `gpt_config` converts either
spelling into one.

The encoder and the encoder-decoder follow a recipe, one field per part (bench/encoder_mlm.py measures
each against the classic one, with HF's BERT and ModernBERT of the same size on the same batches):

| field       | modern (default)                                  | classic (before; `CLASSIC`)               |
|-------------|---------------------------------------------------|-------------------------------------------|
| `positions` | `rotary`: RoPE on queries and keys                | `learned`: absolute position embeddings   |
| `ffn`       | `geglu`: GELU(x W_a) * (x W_g), then W_out        | `gelu`: GELU(x W_up) W_down               |
| `bias`      | False: no bias in Linears and LayerNorms          | True                                      |
| `norm`      | `embed_pre`: LayerNorm on the embeddings, pre-LN blocks (the first without its attention norm) | `pre`: pre-LN blocks |
| `init`      | `modern`: truncated N(0, 0.02), residual outputs 0.02 / sqrt(2 * layers) | `gpt2`: N(0, 0.02)  |

The encoder-decoder (`transformer`) takes the modern GeGLU, no biases and init, but keeps learned
positions and plain pre-LN by default (`TYPE_DEFAULTS`): measured on string reversal (8 epochs), the
normed embedding never learned to copy (0.0 exact match) and rotary positions, which give the
cross-attention no position to align on, reached 0.72 where learned ones reached 1.0. `positions` and
`norm` left at None take the model type's default when a model is built (`resolve`).

`norm` also takes `post` (BERT's: LayerNorm after each residual add). A checkpoint or extracted folder
written before these fields existed has none of them and loads with the classic values
(`with_saved_recipe`), so old files rebuild exactly the model that wrote them.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from moredata.errors import InvalidArgument

MODEL_TYPES = ("decoder_only", "encoder_only", "transformer", "pointer")
RECIPE_CHOICES = {"positions": ("rotary", "learned"), "ffn": ("geglu", "gelu"), "norm": ("embed_pre", "pre", "post"),
                  "init": ("modern", "gpt2")}
# the defaults each model type was measured best with (bench/encoder_mlm.py for the encoder; string
# reversal, tests/models/test_trainer_defects.py, for the encoder-decoder: there the normed embedding
# stayed at 0.0 exact match and rotary positions reached 0.72 where learned ones reached 1.0 in 8 epochs)
TYPE_DEFAULTS = {"encoder_only": {"positions": "rotary", "norm": "embed_pre"},
                 "transformer": {"positions": "learned", "norm": "pre"}}
# what every encoder and encoder-decoder was before the recipe fields (bias is in every saved config)
CLASSIC = {"positions": "learned", "ffn": "gelu", "norm": "pre", "init": "gpt2", "bias": True}
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
    bias: bool = False
    num_decoder_layers: int = 0  # transformer only; 0: num_layers
    positions: str | None = None  # None: the model type's default (TYPE_DEFAULTS), set by the model
    ffn: str = "geglu"
    norm: str | None = None
    init: str = "modern"

    def resolve(self, model_type: str) -> "ModelConfig":
        """Fills the recipe fields left to the model type (positions, norm) with its measured defaults."""
        for name, value in TYPE_DEFAULTS.get(model_type, TYPE_DEFAULTS["encoder_only"]).items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        return self

    def __post_init__(self):
        for name, allowed in RECIPE_CHOICES.items():
            if getattr(self, name) not in allowed and not (getattr(self, name) is None and name in ("positions", "norm")):
                raise InvalidArgument(f"model config {name} must be one of {', '.join(allowed)}, "
                                      f"got {getattr(self, name)!r}")
        if self.d_ff == 0:  # GeGLU's two input matrices: 8/3 * d_model keeps the parameters of 4 * d_model
            self.d_ff = 4 * self.d_model if self.ffn == "gelu" else -(-8 * self.d_model // 3 // 8) * 8
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


def with_saved_recipe(model_type: str, args: dict) -> dict:
    """`model_args` read from a file: an encoder or encoder-decoder saved before the recipe fields gets
    the classic values it was built with (see the table above)."""
    if model_type in ("encoder_only", "transformer") and isinstance(args, dict):
        return {**CLASSIC, **args}
    return args


def gpt_config(args: dict):
    """A GPTConfig from nanoGPT's names or the common ones (the GPT's MLP is 4 * d_model by design, and
    it keeps nanoGPT's recipe: the encoder's recipe fields are refused for it)."""
    from moredata.models.decoder_only import GPTConfig

    recipe = sorted(set(args) & set(RECIPE_CHOICES))
    if recipe:
        raise InvalidArgument(f"the GPT (decoder_only) keeps nanoGPT's recipe: {', '.join(recipe)} "
                              f"is an encoder setting")
    if any(k in args for k in ("d_model", "num_heads", "num_layers", "max_seq_len", "d_ff")):
        c = ModelConfig.from_dict({"bias": True, "ffn": "gelu",
                                   **{k: v for k, v in args.items() if k != "num_decoder_layers"}})
        if c.d_ff != 4 * c.d_model:
            raise InvalidArgument(f"the GPT's feed-forward size is 4 * d_model ({4 * c.d_model}), got d_ff={c.d_ff}")
        return GPTConfig(block_size=c.max_seq_len, vocab_size=c.vocab_size, n_layer=c.num_layers,
                         n_head=c.num_heads, n_embd=c.d_model, dropout=c.dropout, bias=c.bias)
    return GPTConfig.from_dict(args)
