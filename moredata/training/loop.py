"""The training loop: nanoGPT's train.py, feature for feature, plus early stopping and exact resume.

Single process:  moredata-train shakespeare_char_cpu
DDP, one node:   torchrun --standalone --nproc_per_node=4 -m services.trainer shakespeare_char
"""
from __future__ import annotations

import math
import os
import statistics
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from moredata.cli_errors import UserError
from moredata.data.tokenizers import SPECIAL_TOKENS
from moredata.errors import MoredataError
from moredata.models import build_model, model_type_of
from moredata.models.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from moredata.training.config import TrainerSettings
from moredata.training.early_stopping import EarlyStopping
from moredata.training.metrics import MetricsLog, plot_losses, read_metrics
from moredata.training.objectives import Objective
from moredata.training.token_data import TokenData

MODEL_KEYS = ("n_layer", "n_head", "n_embd", "block_size", "bias", "vocab_size", "dropout")


@dataclass
class TrainSummary:
    out_dir: str
    start_iter: int
    iter_num: int  # the last iteration trained
    best_val_loss: float
    best_iter: int | None
    last_val_loss: float | None
    stopped_early: bool
    stopped_at_iter: int | None
    ms_per_iter: float | None  # median over iterations, evaluations excluded
    elapsed_s: float
    checkpoint: str | None
    plot: str | None
    evals: list[dict] = field(default_factory=list)
    interrupted_at_iter: int | None = None  # set when SIGINT/SIGTERM ended the run

    def table(self) -> str:
        rows = [
            ("iterations", f"{self.start_iter} -> {self.iter_num}"),
            ("best val loss", f"{self.best_val_loss:.4f} (iter {self.best_iter})" if self.best_iter is not None else "n/a"),
            ("last val loss", f"{self.last_val_loss:.4f}" if self.last_val_loss is not None else "n/a"),
            ("stopped early", f"yes, at iter {self.stopped_at_iter}" if self.stopped_early else "no"),
            *([("interrupted", f"at iter {self.interrupted_at_iter} (resume with --init_from=resume)")]
              if self.interrupted_at_iter is not None else []),
            ("ms/iter (median)", f"{self.ms_per_iter:.1f}" if self.ms_per_iter is not None else "n/a"),
            ("wall time", f"{self.elapsed_s:.1f} s"),
            ("checkpoint", self.checkpoint or "none written"),
            ("loss plot", self.plot or "none"),
        ]
        w = max(len(k) for k, _ in rows)
        return "\n".join(f"  {k:<{w}}  {v}" for k, v in rows)


def resolve_device(cfg: TrainerSettings) -> str:
    if cfg.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"config key 'device': {cfg.device} requested but CUDA is not available")
    return cfg.device


def resolve_dtype(cfg: TrainerSettings, device_type: str) -> str:
    if cfg.dtype != "auto":
        return cfg.dtype
    if device_type == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return "float32"


def get_lr(it: int, cfg: TrainerSettings) -> float:
    """Linear warmup for warmup_iters, cosine decay to min_lr at lr_decay_iters, then min_lr."""
    if not cfg.decay_lr:
        return cfg.learning_rate
    if it < cfg.warmup_iters:
        return cfg.learning_rate * (it + 1) / (cfg.warmup_iters + 1)
    if it > cfg.lr_decay_iters:
        return cfg.min_lr
    decay_ratio = (it - cfg.warmup_iters) / max(1, cfg.lr_decay_iters - cfg.warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * min(1.0, decay_ratio)))  # 1 -> 0
    return cfg.min_lr + coeff * (cfg.learning_rate - cfg.min_lr)


class Trainer:
    """Holds model, optimizer, data and bookkeeping; `run()` trains and returns a TrainSummary."""

    def __init__(self, cfg: TrainerSettings, model=None, data=None):
        """`model` (a built, untrained model) and `data` (a LoaderData) are the Python API's way in;
        the CLI passes neither: the model comes from the config or a checkpoint, the data from data_dir."""
        self.cfg = cfg
        self._given_model = model
        self._setup_distributed()
        self.out_dir = Path(cfg.out_dir)
        self.wrote_best = False  # this run's best.pt exists (an earlier run's stays until it is beaten)
        if self.master:
            self._check_out_dir()
            self.out_dir.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(cfg.seed + self.seed_offset)
        torch.backends.cuda.matmul.allow_tf32 = True  # allow tf32 on matmul
        torch.backends.cudnn.allow_tf32 = True  # allow tf32 on cudnn
        self.device_type = "cuda" if self.device.startswith("cuda") else ("mps" if self.device == "mps" else "cpu")
        self.dtype = resolve_dtype(cfg, self.device_type)
        ptdtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[self.dtype]
        self.ctx = (nullcontext() if self.device_type == "cpu"
                    else torch.amp.autocast(device_type=self.device_type, dtype=ptdtype))
        self.data = data if data is not None else TokenData(cfg.data_dir, cfg.block_size, torch.device(self.device))
        # separate generators for train batches and eval batches, so a resume can restore each exactly
        self.batch_gen = torch.Generator().manual_seed(cfg.seed + self.seed_offset + 1)
        self.eval_gen = torch.Generator().manual_seed(cfg.seed + self.seed_offset + 2)
        self.iter_num = 0
        self.best_val_loss = 1e9
        self.resumed_after_eval = True
        self.best_iter: int | None = None
        self.stopper = EarlyStopping(cfg.early_stopping_patience, cfg.early_stopping_min_delta)
        resume_state = self._init_model()
        self.enhanced = None
        if cfg.enhanced_enabled:  # with p = 0 nothing of the feature exists ('auto' starts at 0 but exists)
            from moredata.training.enhanced_mixer import EnhancedBatchMixer

            self.enhanced = EnhancedBatchMixer(cfg, self.data.splits["train"], self.data.splits["train"].dtype,
                                               cfg.seed + self.seed_offset, self.model_args["vocab_size"],
                                               "cuda" if self.device_type == "cuda" else "cpu")
        self.scaler = torch.amp.GradScaler(self.device_type, enabled=(self.dtype == "float16"))
        self.optimizer, self.fused = self.model.configure_optimizers(
            cfg.weight_decay, cfg.learning_rate, (cfg.beta1, cfg.beta2), self.device_type)
        if resume_state is not None:
            self._restore(resume_state)
        if self.enhanced is not None and cfg.init_from != "scratch":
            # generate from the best model there is right away, not only after the next improvement
            if cfg.init_from == "resume":
                best = self.out_dir / "best.pt"
                start = best if best.is_file() else self.out_dir / "ckpt.pt"
            else:
                start = Path(cfg.init_from)
            self.enhanced.on_new_best(str(start))
        self.raw_model = self.model
        if cfg.compile:
            self.model = torch.compile(self.model)
        if self.ddp:
            from torch.nn.parallel import DistributedDataParallel as DDP

            self.model = DDP(self.model, device_ids=[self.ddp_local_rank] if self.device_type == "cuda" else None)

    # --- set-up -----------------------------------------------------------------------------------

    def _setup_distributed(self) -> None:
        cfg = self.cfg
        self.ddp = int(os.environ.get("RANK", -1)) != -1  # launched by torchrun?
        self.gradient_accumulation_steps = cfg.gradient_accumulation_steps
        if self.ddp:
            import torch.distributed as dist

            dist.init_process_group(backend=cfg.backend)
            self.ddp_rank = int(os.environ["RANK"])
            self.ddp_local_rank = int(os.environ["LOCAL_RANK"])
            self.world_size = int(os.environ["WORLD_SIZE"])
            self.device = f"cuda:{self.ddp_local_rank}" if cfg.backend == "nccl" else "cpu"
            if self.device.startswith("cuda"):
                torch.cuda.set_device(self.device)
            self.master = self.ddp_rank == 0
            self.seed_offset = self.ddp_rank  # each process gets a different seed
            if self.gradient_accumulation_steps % self.world_size:
                raise UserError(f"config key 'gradient_accumulation_steps': {cfg.gradient_accumulation_steps} "
                                f"is not divisible by the world size {self.world_size}")
            # world_size processes train at once: scale the micro-steps down proportionally
            self.gradient_accumulation_steps //= self.world_size
        else:
            self.master, self.seed_offset, self.world_size, self.ddp_rank = True, 0, 1, 0
            self.device = resolve_device(cfg)

    def _model_args(self, vocab_size: int) -> dict:
        cfg = self.cfg
        if cfg.model_type == "decoder_only":  # nanoGPT's names: the GPT's checkpoint format
            args = {k: getattr(cfg, k) for k in MODEL_KEYS if k != "vocab_size"}
            args["vocab_size"] = vocab_size
            return args
        return {"vocab_size": vocab_size, "d_model": cfg.n_embd, "num_heads": cfg.n_head, "num_layers": cfg.n_layer,
                "d_ff": cfg.d_ff, "max_seq_len": cfg.block_size, "dropout": cfg.dropout, "bias": cfg.bias}

    def _init_model(self) -> dict | None:
        """Builds the model; returns the checkpoint to restore optimizer/RNG state from on resume."""
        cfg = self.cfg
        ckpt = None
        if cfg.init_from == "scratch":
            # nanoGPT's default for data without a vocabulary: GPT-2's 50257 rounded up to 50304
            vocab = self.data.vocab_size or 50304
            if self._given_model is not None:  # the Python API: the user's model, as built
                from moredata.models import model_args_of, model_type_for

                model = self._given_model
                self.model_type, self.model_args = model_type_for(model), model_args_of(model)
                self.objective = Objective(self.model_type, vocab, cfg.mlm_probability)
                if self.model_type != "pointer" and self.model_args["vocab_size"] < self.objective.model_vocab(vocab):
                    raise UserError(f"the model has {self.model_args['vocab_size']} token rows; the tokenizer "
                                    f"needs {self.objective.model_vocab(vocab)}")
            else:
                self.model_type = cfg.model_type
                if self.model_type == "pointer":
                    raise UserError("config key 'model_type': the pointer network trains on audio-edit sample "
                                    "folders: use moredata-pointer train (or the Python Trainer with its model)")
                self.objective = Objective(self.model_type, vocab, cfg.mlm_probability)
                self.model_args = self._model_args(self.objective.model_vocab(vocab))
                try:
                    model = build_model(self.model_type, self.model_args)
                except MoredataError as e:
                    raise UserError(f"model config: {e}") from None
        else:
            path = self.out_dir / "ckpt.pt" if cfg.init_from == "resume" else Path(cfg.init_from)
            try:
                ckpt = load_checkpoint(path)
            except (FileNotFoundError, ValueError, MoredataError) as e:
                raise UserError(f"config key 'init_from': {e}") from None
            # the architecture (and model type) comes from the checkpoint; dropout may be overridden
            self.model_type = model_type_of(ckpt)
            self.model_args = dict(ckpt["model_args"])
            if cfg.init_from != "resume":
                self.model_args["dropout"] = cfg.dropout
            model = model_from_checkpoint({**ckpt, "model_args": self.model_args})
            if self.model_type == "pointer":  # frames, not tokens: no vocabulary to check
                self.objective = Objective(self.model_type, 0)
                self.model = model.to(self.device)
                return ckpt if cfg.init_from == "resume" or cfg.continue_training else None
            ckpt_vocab = self.model_args["vocab_size"]
            regular = ckpt_vocab if self.model_type == "decoder_only" else ckpt_vocab - len(SPECIAL_TOKENS)
            if self.data.vocab_size and self.data.vocab_size > regular:
                raise UserError(f"data vocabulary ({self.data.vocab_size}) is larger than the checkpoint's "
                                f"({regular})")
            self.objective = Objective(self.model_type, self.data.vocab_size or regular, cfg.mlm_probability)
        if self.model_type == "decoder_only":
            if cfg.block_size < model.config.block_size:
                model.crop_block_size(cfg.block_size)  # model surgery, as nanoGPT
                self.model_args["block_size"] = cfg.block_size
            elif cfg.block_size > model.config.block_size:
                raise UserError(f"config key 'block_size': {cfg.block_size} exceeds the checkpoint's "
                                f"{model.config.block_size}")
        elif self.model_type != "pointer" and cfg.block_size > model.config.max_seq_len:
            raise UserError(f"config key 'block_size': {cfg.block_size} exceeds the checkpoint's "
                            f"{model.config.max_seq_len}")
        self.model = model.to(self.device)
        if cfg.init_from == "resume" or (ckpt is not None and cfg.continue_training):
            return ckpt
        return None

    def _restore(self, ckpt: dict) -> None:
        continuing = self.cfg.init_from != "resume"  # continued training on new data: step and optimizer only
        if "optimizer" in ckpt and not (continuing and self.cfg.reset_optimizer):
            self.optimizer.load_state_dict(ckpt["optimizer"])
            for group in self.optimizer.param_groups:  # the new run's learning rate, not the saved one
                group["lr"] = self.cfg.learning_rate
        self.iter_num = int(ckpt["iter_num"])
        if continuing:
            return  # best loss, patience and RNG belong to the old data: this run measures its own
        self.best_val_loss = float(ckpt["best_val_loss"])
        state = ckpt.get("trainer_state") or {}
        self.best_iter = state.get("best_iter")
        self.resumed_after_eval = bool(state.get("evaluated", True))
        if "enhanced" in state and self.enhanced is not None:
            self.enhanced.load_state_dict(state["enhanced"])
        if "early_stopping" in state:
            self.stopper.load_state_dict(state["early_stopping"])
        # RNG states last: everything above may have consumed random numbers
        if "batch_rng" in state:
            self.batch_gen.set_state(state["batch_rng"])
            self.eval_gen.set_state(state["eval_rng"])
            torch.set_rng_state(state["torch_rng"])
            if self.device_type == "cuda" and "cuda_rng" in state:
                torch.cuda.set_rng_state(state["cuda_rng"])

    # --- pieces of the loop -----------------------------------------------------------------------

    def next_batch(self) -> tuple:
        """The next training micro-batch, as the model type takes it; remembers the RNG state it was drawn
        from (for resume: the masks of an encoder batch come from the same generator)."""
        self._batch_rng_before = self.batch_gen.get_state()
        if self.enhanced is None:
            x, y, *mask = self.data.get_batch("train", self.cfg.batch_size, self.batch_gen)
        else:
            x, y = self.data.get_batch_cpu("train", self.cfg.batch_size, self.batch_gen)
            self.enhanced.mix(x, y)  # enhanced rows replaced on the CPU, then one copy to the device
            x, y = self.data.to_device(x, y)
            mask = []
        return self.objective.to_batch(x, y, self.batch_gen, *mask)

    @torch.no_grad()
    def estimate_loss(self) -> dict[str, float]:
        """Mean loss over eval_iters batches of each split, with the model in eval mode; for an encoder
        also the masked-token accuracy of each split (`<split>_masked_acc`), for a pointer network the
        exact-frame accuracy (`<split>_pointer_acc`)."""
        out = {}
        self.model.eval()
        for split in ("train", "val"):
            if hasattr(self.data, "restart"):  # a DataLoader source: every evaluation sees the same batches
                self.data.restart(split, self.eval_gen)
            losses = torch.zeros(self.cfg.eval_iters)
            correct = counted = 0
            for k in range(self.cfg.eval_iters):
                x, y, *mask = self.data.get_batch(split, self.cfg.batch_size, self.eval_gen)
                batch = self.objective.to_batch(x, y, self.eval_gen, *mask)
                with self.ctx:
                    loss, logits = self.objective.loss_of(self.model, batch)
                losses[k] = loss.item()
                c, n = self.objective.eval_counts(batch, logits)
                correct, counted = correct + c, counted + n
            out[split] = losses.mean().item()
            if counted:
                out[f"{split}_{self.objective.accuracy_name}"] = correct / counted
        self.model.train()
        return out

    def checkpoint(self, evaluated: bool = True) -> dict:
        state = {
            "evaluated": evaluated,  # False for a save on interrupt: the resumed run evaluates first
            "batch_rng": self._batch_rng_before,  # state before the batch in hand: a resume redraws it
            "eval_rng": self.eval_gen.get_state(),
            "torch_rng": torch.get_rng_state(),
            "early_stopping": self.stopper.state_dict(),
            "best_iter": self.best_iter,
        }
        if self.enhanced is not None:
            state["enhanced"] = self.enhanced.state_dict()
        if self.device_type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state()
        return {
            "model": self.raw_model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "model_type": self.model_type,
            "model_args": self.model_args,
            "iter_num": self.iter_num,
            "best_val_loss": self.best_val_loss,
            "config": self.cfg.model_dump(),
            "tokenizer": self.data.tokenizer_dict,
            "trainer_state": state,
        }

    def _check_out_dir(self) -> None:
        """A fresh run never deletes a model: into an out_dir that holds one it starts only with
        --overwrite, and even then the old best.pt stays until this run saves a better-or-first one of
        its own (an atomic replace). --init_from=<a file in out_dir> continues from it the same way."""
        cfg = self.cfg
        if cfg.init_from == "resume" or cfg.overwrite:
            return
        held = [n for n in ("best.pt", "ckpt.pt") if (self.out_dir / n).is_file()]
        init = Path(cfg.init_from).resolve() if cfg.init_from != "scratch" else None
        if held and not (init is not None and init.parent == self.out_dir.resolve()):
            raise UserError(f"out_dir {self.out_dir} already holds a model ({', '.join(held)}): continue it with "
                            f"--init_from=resume, pick another --out_dir, or pass --overwrite=true (the old files "
                            f"are replaced only when this run saves its own)")

    def _save(self, improved: bool) -> None:
        ckpt = self.checkpoint()
        path = self.out_dir / "ckpt.pt"
        save_checkpoint(path, ckpt)
        self.saved = str(path)
        if improved:  # best.pt: always the best by val loss, whatever always_save_checkpoint says
            save_checkpoint(self.out_dir / "best.pt", ckpt)
            self.wrote_best = True
            if self.enhanced is not None:
                self.enhanced.on_new_best(str(self.out_dir / "best.pt"))

    def _evaluate(self, metrics: MetricsLog, lr: float, bar) -> tuple[bool, bool]:
        """Evaluates, logs, saves; returns (early stopping says stop, a new best.pt was written)."""
        if not self.evals:  # the first evaluation can take minutes on a CPU (nanoGPT: 2 x 200 batches)
            self._say(f"step {self.iter_num}: evaluating ({self.cfg.eval_iters} batches of train and of val)...", bar)
        losses = self.estimate_loss()
        self.last_val = losses["val"]
        extra = {k: v for k, v in losses.items() if k.endswith("_acc")}
        if self.enhanced is not None:  # the share of enhanced rows until the next evaluation (auto: from these losses)
            extra["enhanced_p"] = self.enhanced.on_eval(losses["train"], losses["val"])
        self.evals.append({"iter": self.iter_num, "train_loss": losses["train"], "val_loss": losses["val"], **extra})
        metrics.write({"type": "eval", "iter": self.iter_num, "train_loss": losses["train"],
                       "val_loss": losses["val"], "lr": lr, **extra})
        name = self.objective.accuracy_name
        acc = f", val {name.replace('_', ' ')} {extra[f'val_{name}']:.3f}" if f"val_{name}" in extra else ""
        acc += f", enhanced p {extra['enhanced_p']:.3f}" if self.cfg.enhanced_auto else ""
        self._say(f"step {self.iter_num}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}{acc}", bar)
        improved = losses["val"] < self.best_val_loss
        if improved:
            self.best_val_loss, self.best_iter = losses["val"], self.iter_num
        stop = self.stopper.update(losses[self.cfg.early_stopping_monitor])
        self.stopper.stopped = stop  # in the checkpoint saved below: a resume knows this run stopped early
        # nanoGPT never saves at iter 0 (random weights); a run initialised from a checkpoint may be best there
        may_save = self.iter_num > 0 or self.cfg.init_from != "scratch"
        if (improved or self.cfg.always_save_checkpoint) and may_save:
            self._save(improved)
        if bar is not None:
            bar.set_postfix_str(f"val {losses['val']:.4f} best {self.best_val_loss:.4f}", refresh=False)
        return stop, improved and may_save

    def _say(self, text: str, bar) -> None:
        if bar is not None:
            bar.write(text)
        else:
            print(text, flush=True)

    # --- the loop ---------------------------------------------------------------------------------

    def run(self) -> TrainSummary:
        cfg = self.cfg
        t_start = time.time()
        start_iter = self.iter_num
        resumed = cfg.init_from == "resume"
        self.evals: list[dict] = []
        self.last_val: float | None = None
        self.saved: str | None = None
        stopped_at: int | None = None
        interrupted: int | None = None
        self._interrupt: str | None = None
        restore_signals = self._catch_stop_signals()
        dts: list[float] = []
        metrics = MetricsLog(self.out_dir / "metrics.jsonl", start_iter if resumed else None) if self.master else None
        show_bar = self.master and cfg.progress and sys.stderr.isatty()
        bar = tqdm(total=cfg.max_iters + 1, initial=start_iter, unit="it", dynamic_ncols=True,
                   disable=not show_bar, mininterval=0.5) if self.master else None
        bar = bar if show_bar else None
        raw_model = self.raw_model
        if resumed and self.stopper.stopped and not cfg.continue_after_early_stop:
            # the run being resumed ended by early stopping: training again would undo that decision
            self._say(f"this run stopped early at iter {self.iter_num} (no improvement for "
                      f"{self.stopper.bad_evals} evaluations); not training again. Pass "
                      f"--continue_after_early_stop=true to train on.", bar)
            if bar is not None:
                bar.close()
            restore_signals()
            self.last_val = None
            summary = self._finish(metrics, start_iter, start_iter, dts, time.time() - t_start)
            summary.stopped_early, summary.stopped_at_iter = True, start_iter
            return summary
        if resumed and self.stopper.stopped:  # asked to continue: patience starts again
            self.stopper.stopped, self.stopper.bad_evals = False, 0
        batch = self.next_batch()  # fetch the very first batch
        t0 = time.time()
        local_iter_num = 0  # iterations in this process's lifetime
        running_mfu = -1.0
        while True:
            lr = get_lr(self.iter_num, cfg)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            # evaluate (except right after a resume: that evaluation was done and logged before the save)
            just_resumed = resumed and self.iter_num == start_iter and self.resumed_after_eval
            if self.iter_num % cfg.eval_interval == 0 and not just_resumed:
                stop, wrote_best = self._evaluate(metrics, lr, bar) if self.master else (False, False)
                if self.ddp:  # every rank must leave the loop together
                    import torch.distributed as dist

                    p = self.enhanced.p if self.enhanced is not None else 0.0
                    flag = torch.tensor([float(stop), float(wrote_best), p], dtype=torch.float64, device=self.device)
                    dist.broadcast(flag, 0)
                    stop = bool(flag[0].item())
                    if not self.master and self.enhanced is not None and cfg.enhanced_auto:
                        self.enhanced.set_probability(float(flag[2].item()))  # rank 0's auto share, on every rank
                    if flag[1].item() and not self.master and self.enhanced is not None:
                        # each rank's in-process generator follows rank 0's best.pt (same node)
                        self.enhanced.on_peer_new_best(str(self.out_dir / "best.pt"))
                if stop:
                    stopped_at = self.iter_num
                    self._say(f"early stopping at iter {self.iter_num}: {cfg.early_stopping_monitor} loss has not "
                              f"improved by more than {cfg.early_stopping_min_delta} for "
                              f"{cfg.early_stopping_patience} evaluations", bar)
                    break
                t0 = time.time()  # evaluations are not counted in ms/iter
            if self.iter_num == 0 and cfg.eval_only:
                break
            # forward/backward with gradient accumulation, and the fp16 scaler when training in fp16
            for micro_step in range(self.gradient_accumulation_steps):
                if self.ddp:
                    # sync gradients only at the last micro step (no_sync context is the official way,
                    # this is what nanoGPT does and it avoids a context manager)
                    self.model.require_backward_grad_sync = micro_step == self.gradient_accumulation_steps - 1
                with self.ctx:
                    loss, _ = self.objective.loss_of(self.model, batch)
                    loss = loss / self.gradient_accumulation_steps  # scale the loss to account for accumulation
                batch = self.next_batch()  # prefetch the next batch while the model is busy on the GPU
                self.scaler.scale(loss).backward()
            if cfg.grad_clip != 0.0:
                self.scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.optimizer.zero_grad(set_to_none=True)  # flush the gradients as soon as we can
            t1 = time.time()
            dt = t1 - t0
            t0 = t1
            dts.append(dt)
            if self.iter_num % cfg.log_interval == 0 and self.master:
                # loss.item() syncs with the device: only at log_interval
                lossf = loss.item() * self.gradient_accumulation_steps
                if local_iter_num >= 5 and self.device_type == "cuda" and self.model_type == "decoder_only":
                    mfu = raw_model.estimate_mfu(cfg.batch_size * self.gradient_accumulation_steps, dt)
                    running_mfu = mfu if running_mfu == -1.0 else 0.9 * running_mfu + 0.1 * mfu
                row = {"type": "train", "iter": self.iter_num, "loss": lossf, "lr": lr, "ms": dt * 1000,
                       "mfu": running_mfu}
                enh = ""
                if self.enhanced is not None:
                    st = self.enhanced.stats
                    row.update(enhanced_rows=st.enhanced_rows, fallback_rows=st.fallback_rows,
                               generator_version=self.enhanced.model_version, buffer_fill=self.enhanced.fill(),
                               filtered_fragments=self.enhanced.filtered(), enhanced_p=self.enhanced.p)
                    enh = (f", enh v{self.enhanced.model_version} buf {row['buffer_fill']} "
                           f"fallbacks {st.fallback_rows}")
                metrics.write(row)
                if bar is not None:
                    bar.set_postfix_str(f"loss {lossf:.4f}, {dt * 1000:.0f} ms/it"
                                        + (f", val {self.last_val:.4f}" if self.last_val is not None else "")
                                        + enh, refresh=False)
                else:
                    mfu_txt = f", mfu {running_mfu * 100:.2f}%" if running_mfu >= 0 else ""
                    print(f"iter {self.iter_num}: loss {lossf:.4f}, time {dt * 1000:.2f}ms{mfu_txt}{enh}", flush=True)
            if bar is not None:
                bar.update(1)
            self.iter_num += 1
            local_iter_num += 1
            if self.iter_num > cfg.max_iters:
                break
            if self._stop_requested():
                interrupted = self.iter_num
                if self.master:  # keep the work: ckpt.pt becomes this point, best.pt stays the best
                    save_checkpoint(self.out_dir / "ckpt.pt", self.checkpoint(evaluated=False))
                    self.saved = str(self.out_dir / "ckpt.pt")
                    self._say(f"{self._interrupt}: saved {self.saved} at iter {self.iter_num}; "
                              f"continue with --init_from=resume", bar)
                break
        if bar is not None:
            bar.close()
        restore_signals()
        summary = self._finish(metrics, start_iter, stopped_at, dts, time.time() - t_start)
        summary.interrupted_at_iter = interrupted
        return summary

    def _stop_requested(self) -> bool:
        """Whether SIGINT/SIGTERM reached this process or, under DDP, any rank: one all-reduce (MAX) of a
        flag per iteration, so every rank leaves the loop at the same iteration. A rank stopping on its
        own flag would leave the others blocked in their next gradient all-reduce until the timeout."""
        local = self._interrupt is not None
        if not self.ddp:
            return local
        import torch.distributed as dist

        flag = torch.tensor([int(local)], device=self.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        if flag.item() and not local:
            self._interrupt = "SIGTERM on another rank"
        return bool(flag.item())

    def _catch_stop_signals(self):
        """SIGINT/SIGTERM (Ctrl-C, docker stop) finish the current iteration, save, and end cleanly."""
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def handler(signum, _frame):
            self._interrupt = signal.Signals(signum).name

        old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
        return lambda: [signal.signal(sig, h) for sig, h in old.items()]

    def _finish(self, metrics, start_iter, stopped_at, dts, elapsed) -> TrainSummary:
        plot_path = None
        if self.enhanced is not None:
            self.enhanced.close()
        if self.master:
            metrics.close()
            if self.cfg.plot:
                rows = read_metrics(self.out_dir / "metrics.jsonl")
                if rows:
                    plot_path = str(self.out_dir / "loss.png")
                    plot_losses(rows, Path(plot_path), title=f"{self.out_dir.name}", stopped_at=stopped_at)
        if self.ddp:
            import torch.distributed as dist

            dist.destroy_process_group()
        last_trained = self.iter_num if stopped_at is not None else self.iter_num - 1
        best = self.out_dir / "best.pt"
        return TrainSummary(
            out_dir=str(self.out_dir),
            start_iter=start_iter,
            iter_num=max(last_trained, start_iter),
            best_val_loss=self.best_val_loss,
            best_iter=self.best_iter,
            last_val_loss=self.last_val,
            stopped_early=stopped_at is not None,
            stopped_at_iter=stopped_at,
            ms_per_iter=statistics.median(dts) * 1000 if dts else None,
            elapsed_s=elapsed,
            checkpoint=str(best) if best.is_file() and (self.wrote_best or self.cfg.init_from == "resume")
            else self.saved,
            plot=plot_path,
            evals=self.evals,
        )


def summary_dict(s: TrainSummary) -> dict:
    return asdict(s)
