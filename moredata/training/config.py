"""Trainer settings: every default in one place, then a config file, then `--key=value` flags.

    moredata-train shakespeare_char_cpu --max_iters=500 --device=cpu

Precedence (highest first): `--key=value` flags, `TRAINER_<KEY>` environment variables, the TOML config
files, the defaults below: the usual order of pydantic-settings and twelve-factor apps (the environment
of a deployment overrides the file in the repository). A bad value is refused wherever it comes from,
named by its source (flag, variable or file). The defaults are nanoGPT's `train.py` ones (GPT-2 124M sizes), except
where a comment says otherwise. An unknown key or a value of the wrong type fails with the key named.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from moredata.cli import parse_key_values
from moredata.enhanced.settings import EnhancedGenerationKeys
from moredata.errors import UserError
from moredata.settings import ServiceSettings, first_error, service_config, unknown_key_message

CONFIG_DIR = Path(__file__).parent / "configs"


class TrainerSettings(ServiceSettings, EnhancedGenerationKeys):
    model_config = service_config("TRAINER_")

    # I/O
    out_dir: str = Field("out", description="checkpoints, metrics.jsonl and loss.png go here")
    eval_interval: int = Field(2000, ge=1, description="evaluate train/val loss every this many iterations")
    log_interval: int = Field(1, ge=1, description="log the training loss every this many iterations")
    eval_iters: int = Field(200, ge=1, description="batches per split in each evaluation")
    eval_only: bool = Field(False, description="evaluate once and exit")
    always_save_checkpoint: bool = Field(True, description="save ckpt.pt at every eval, not only on improvement")
    init_from: str = Field("scratch", description="'scratch', 'resume' (out_dir/ckpt.pt) or a checkpoint path")
    overwrite: bool = Field(False, description="start a fresh run in an out_dir that holds a model (its files "
                            "are replaced only when this run saves its own)")
    seed: int = Field(1337, description="base random seed (each DDP rank adds its rank)")
    # data
    data_dir: str = Field("data/shakespeare_char", description="folder with train.bin, val.bin, meta.json "
                          "(nanoGPT: data/openwebtext, which we cannot download here)")
    completion_only_loss: bool = Field(False, description="loss on completion tokens only: data_dir prepared "
                                       "from (prompt, completion) pairs (moredata-prepare --pairs); GPT only")
    gradient_accumulation_steps: int = Field(40, ge=1, description="micro-steps per optimizer step (5 * 8 GPUs)")
    batch_size: int = Field(12, ge=1, description="micro-batch size (rows)")
    block_size: int = Field(1024, ge=1, description="context length")
    # model
    model_type: Literal["decoder_only", "encoder_only", "transformer", "pointer", "module"] = Field(
        "decoder_only", description="decoder_only: the GPT; encoder_only: a masked-LM encoder (BERT); "
        "transformer: an encoder-decoder trained to continue the first half of each window with the second; "
        "pointer: the audio-edit pointer network (trained on sample folders by moredata-pointer, not token data); "
        "module: any nn.Module whose output carries a loss (the Python Trainer only)")
    n_layer: int = Field(12, ge=1)
    n_head: int = Field(12, ge=1)
    n_embd: int = Field(768, ge=1)
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="0 for pretraining, 0.1+ for finetuning")
    bias: bool = Field(False, description="bias in LayerNorm and Linear layers")
    d_ff: int = Field(0, ge=0, description="feed-forward width of encoder/transformer blocks (0: 4 * n_embd, or 8/3 * n_embd for GeGLU; "
                      "the GPT's is always 4 * n_embd)")
    positions: Literal["rotary", "learned"] | None = Field(None, description="encoder/transformer recipe: rotary "
                                                           "or learned positions (default: the model type's, "
                                                           "moredata.models.config)")
    ffn: Literal["geglu", "gelu"] | None = Field(None, description="encoder/transformer recipe: GeGLU (default) "
                                                 "or a GELU MLP")
    norm: Literal["embed_pre", "pre", "post"] | None = Field(None, description="encoder/transformer recipe: "
                                                             "norm placement (default: the model type's)")
    init: Literal["modern", "gpt2"] | None = Field(None, description="encoder/transformer recipe: ModernBERT's "
                                                   "initialisation (default) or GPT-2's")
    mlm_probability: float = Field(0.15, gt=0.0, lt=1.0, description="share of tokens an encoder batch masks "
                                   "(of those 80% -> <mask>, 10% random, 10% kept)")
    # AdamW
    learning_rate: float = Field(6e-4, gt=0.0, description="max learning rate")
    max_iters: int = Field(600000, ge=0, description="total number of training iterations")
    step_after_last_eval: bool = Field(True, description="nanoGPT's loop: one more optimizer step after the "
                                       "evaluation at max_iters (not saved); false ends at that evaluation, "
                                       "so the model in memory is the one saved (the Python Trainer's way)")
    weight_decay: float = Field(1e-1, ge=0.0)
    beta1: float = Field(0.9, ge=0.0, lt=1.0)
    beta2: float = Field(0.95, ge=0.0, lt=1.0)
    grad_clip: float = Field(1.0, ge=0.0, description="clip gradients at this norm, 0 disables")
    # learning-rate schedule: linear warmup then cosine decay to min_lr
    decay_lr: bool = Field(True, description="whether to decay the learning rate")
    lr_scheduler: Literal["cosine", "linear", "constant", "constant_with_warmup"] = Field(
        "cosine", description="after warmup_iters of linear warm-up: cosine or linear decay to min_lr at "
        "lr_decay_iters, or constant (constant: no warm-up either)")
    warmup_iters: int = Field(2000, ge=0)
    lr_decay_iters: int = Field(600000, ge=1, description="should be ~= max_iters per Chinchilla")
    min_lr: float = Field(6e-5, ge=0.0, description="~= learning_rate/10 per Chinchilla")
    # early stopping (not in nanoGPT)
    early_stopping_patience: int = Field(0, ge=0, description="stop after this many evaluations without "
                                         "improvement of the monitored loss; 0 disables")
    early_stopping_min_delta: float = Field(0.0, ge=0.0, description="an improvement must beat the best by more")
    early_stopping_monitor: str = Field("val", description="what early stopping watches: 'val' or 'train' (the "
                                        "losses), or an evaluated metric by its name in metrics.jsonl "
                                        "('val_masked_acc', a compute_metrics value 'val_<name>')")
    early_stopping_mode: Literal["auto", "min", "max"] = Field(
        "auto", description="whether the monitored value should fall (min) or rise (max); auto: max for names "
        "ending in acc, accuracy, f1 or exact_match, min otherwise")
    save_interval: int = Field(0, ge=0, description="also save checkpoint-<iter>.pt every this many iterations "
                               "(0: only ckpt.pt and best.pt at evaluations)")
    save_total_limit: int = Field(0, ge=0, description="keep only the newest this many checkpoint-<iter>.pt files "
                                  "(0: keep all; ckpt.pt and best.pt are never removed)")
    continue_after_early_stop: bool = Field(False, description="resume a run that stopped early and train on "
                                            "(its patience starts again); without it such a resume only says so")
    # continued training (init_from = a checkpoint path): keep its step count, weights and tokenizer
    continue_training: bool = Field(False, description="with init_from=<path>: start at that checkpoint's step "
                                    "with its optimizer state (new learning rate) instead of at step 0")
    reset_optimizer: bool = Field(False, description="with continue_training: a fresh optimizer")
    # enhanced data (not in nanoGPT): rows continued by the current best checkpoint from real prefixes
    enhanced_data_probability: float | Literal["auto"] = Field(
        0.0, description="chance that a training row is enhanced; 0 creates and starts nothing; 'auto': starts "
        "at 0 and follows the run's measured overfitting up to enhanced_max_probability (auto_probability.py)")
    enhanced_max_probability: float = Field(0.3, gt=0.0, le=1.0, description="with 'auto': the highest share "
                                            "of enhanced rows")
    enhanced_auto_threshold: float = Field(0.2, ge=0.0, lt=1.0, description="with 'auto': the memorising "
                                           "share (the part of the train loss's fall that did not reach val), "
                                           "as fitted over the last 5 evaluations, below which p stays 0; above "
                                           "it p rises as the forecast best point (share 1) comes near")
    enhanced_auto_min_epochs: float = Field(4.0, ge=0.0, description="with 'auto': p stays 0 until the run has "
                                            "seen its training split this many times (tokens trained on / the "
                                            "split's tokens)")
    enhanced_auto_window: int = Field(3, ge=1, description="with 'auto': evaluations the memorising share is "
                                      "measured over")
    enhanced_auto_rate: float = Field(0.5, gt=0.0, le=1.0, description="with 'auto': fraction of the way to "
                                      "the target probability moved at each evaluation (smoothing)")
    # min_prefix_length, max_prefix_length, enhanced_generation_temperature, enhanced_generation_top_k,
    # enhanced_buffer_size, enhanced_generation_batch_size: shared with the generator (EnhancedGenerationKeys)
    generator: str = Field("", description="host:port of a generator service; empty: run the generator "
                           "in this process (in-memory ring, no Redis)")
    enhanced_generation_rate: float = Field(0.0, ge=0.0, description="a cap on the in-process generator's "
                                            "fragments/s; 0: none (it is sized by the rows drawn: "
                                            "enhanced_generation_reuse, _share, _idle_share)")
    # system
    backend: Literal["nccl", "gloo"] = Field("nccl", description="DDP backend (gloo on CPU)")
    device: str = Field("auto", description="'auto' (cuda if available), 'cpu', 'cuda', 'cuda:N', 'mps'; "
                        "nanoGPT: 'cuda'")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="'auto': bfloat16 on CUDA when supported, else float16 on CUDA, float32 on CPU")
    compile: bool = Field(False, description="torch.compile the model (nanoGPT: True; off here for quick CPU starts)")
    # output (not in nanoGPT)
    progress: bool = Field(True, description="progress bar when stderr is a terminal (log lines otherwise)")
    plot: bool = Field(True, description="write out_dir/loss.png at the end")

    @property
    def enhanced_auto(self) -> bool:
        return self.enhanced_data_probability == "auto"

    @property
    def enhanced_enabled(self) -> bool:
        """Whether the feature exists in this run: a fixed p > 0, or 'auto' (which starts at 0)."""
        return self.enhanced_auto or self.enhanced_data_probability > 0

    @field_validator("enhanced_data_probability", mode="before")
    @classmethod
    def _probability_or_auto(cls, v):
        if isinstance(v, str) and v.strip().lower() == "auto":
            return "auto"
        try:
            p = float(v)
        except (TypeError, ValueError):
            raise ValueError("expected a number in [0, 1] or 'auto'") from None
        if not 0.0 <= p <= 1.0:  # NaN fails too
            raise ValueError("expected a number in [0, 1] or 'auto'")
        return p

    @field_validator("device")
    @classmethod
    def _known_device(cls, v: str) -> str:
        if v in ("auto", "cpu", "cuda", "mps") or (v.startswith("cuda:") and v[5:].isdigit()):
            return v
        raise ValueError("expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")

    @model_validator(mode="after")
    def _consistent(self) -> "TrainerSettings":
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if self.generator and not re.fullmatch(r"[\w.\-]+:\d{1,5}|\[[0-9a-fA-F:]+\]:\d{1,5}", self.generator):
            raise ValueError(f"config key 'generator': expected host:port, got {self.generator!r}")
        if self.enhanced_enabled and self.max_prefix_length > self.block_size:
            raise ValueError(f"config key 'max_prefix_length': {self.max_prefix_length} is longer than the "
                             f"model's context block_size ({self.block_size})")
        if self.completion_only_loss and self.model_type != "decoder_only":
            raise ValueError(f"config key 'completion_only_loss': the loss on completions is the GPT's "
                             f"(decoder_only), not {self.model_type}'s")
        if self.completion_only_loss and self.enhanced_enabled:
            raise ValueError("config key 'completion_only_loss': enhanced rows are continuations of random "
                             "prefixes, not (prompt, completion) pairs: set enhanced_data_probability=0")
        recipe = [k for k in ("positions", "ffn", "norm", "init") if getattr(self, k) is not None]
        if recipe and self.model_type == "decoder_only":
            raise ValueError(f"config key {recipe[0]!r}: the GPT keeps nanoGPT's recipe; the recipe keys are "
                             f"for model_type encoder_only and transformer")
        if not re.fullmatch(r"val|train|(val|train)_\w+", self.early_stopping_monitor):
            raise ValueError(f"config key 'early_stopping_monitor': 'val', 'train' or an evaluated metric such "
                             f"as 'val_masked_acc', got {self.early_stopping_monitor!r}")
        if self.min_lr > self.learning_rate:
            raise ValueError(f"min_lr ({self.min_lr}) must not exceed learning_rate ({self.learning_rate})")
        return self


FIELDS = TrainerSettings.model_fields


def resolve_config_path(name: str) -> Path:
    """A config is a TOML file path, or the name of a shipped config (`shakespeare_char_cpu`)."""
    p = Path(name)
    if p.is_file():
        return p
    shipped = CONFIG_DIR / f"{name.removesuffix('.toml')}.toml"
    if shipped.is_file():
        return shipped
    known = ", ".join(sorted(q.stem for q in CONFIG_DIR.glob("*.toml")))
    raise UserError(f"config file not found: {name} (shipped configs: {known})")


def _unknown_key(key: str) -> UserError:
    return UserError(unknown_key_message(key, FIELDS, "config key"))


def read_config_file(path: Path) -> dict:
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"config file {path} is not valid TOML: {e}") from None
    for key in values:
        if key not in FIELDS:
            raise _unknown_key(key)
    return values


def parse_overrides(args: list[str]) -> tuple[list[str], dict]:
    """Splits argv into config files (positional) and `--key=value` overrides (values stay strings)."""
    return parse_key_values(args, FIELDS, lambda key: unknown_key_message(key, FIELDS, "config key"))


def build_settings(values: dict, sources: dict | None = None) -> TrainerSettings:
    """Validates values (plus defaults); a bad one is a UserError naming its key and where it came from."""
    try:
        return TrainerSettings(**values)
    except ValidationError as e:
        key, msg, got = first_error(e)
        where = (sources or {}).get(key, "config key")
        raise UserError(f"{where} '{key}': {msg} (got {got!r})" if key else msg) from None


def env_values(environ=None) -> dict:
    """`TRAINER_<KEY>` variables that are set, as raw strings (validated with everything else)."""
    import os

    environ = os.environ if environ is None else environ
    prefix = TrainerSettings.model_config["env_prefix"]
    return {name: environ[prefix + name.upper()] for name in FIELDS if prefix + name.upper() in environ}


def load_settings(argv: list[str], environ=None) -> TrainerSettings:
    files, overrides = parse_overrides(argv)
    values: dict = {}
    sources: dict = {}
    for name in files:
        file_values = read_config_file(resolve_config_path(name))
        values.update(file_values)
        sources.update({k: f"config file {name}: key" for k in file_values})
    env = env_values(environ)
    values.update(env)
    sources.update({k: f"environment variable {TrainerSettings.model_config['env_prefix']}{k.upper()}: key"
                    for k in env})
    values.update(overrides)
    sources.update({k: "config key" for k in overrides})
    return build_settings(values, sources)


def help_text() -> str:
    lines = [
        "usage: moredata-train [CONFIG ...] [--key=value ...]",
        "",
        "Trains a GPT on prepared data (see moredata-prepare). CONFIG is a TOML file or a shipped",
        f"config name ({', '.join(sorted(q.stem for q in CONFIG_DIR.glob('*.toml')))}).",
        "Later configs override earlier ones; TRAINER_<KEY> env vars override configs; --key=value flags override all",
        "(--key value and --kebab-case spellings work too).",
        "",
        "keys (default) description:",
    ]
    for name in TrainerSettings.fields_in_reading_order():
        f = FIELDS[name]
        lines.append(f"  --{name}={f.default!r}" + (f"  {f.description}" if f.description else ""))
    return "\n".join(lines)
