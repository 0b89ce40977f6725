"""The training loop: nanoGPT's train.py, feature for feature, plus early stopping and exact resume.

Single process:  moredata-train shakespeare_char_cpu
DDP, one node:   torchrun --standalone --nproc_per_node=4 -m services.trainer shakespeare_char

`TrainingLoop.run()` reads as nanoGPT's loop: set the learning rate, evaluate (and save) every
eval_interval, one optimizer step over the micro-batches, log, stop on max_iters or a signal. Set-up lives
in setup.py, the learning-rate schedule in lr_schedule.py, what a checkpoint holds of the run (and how a
resume restores it) in run_state.py, the enhanced-data mixer in enhanced_mixer.py, the summary in summary.py.
"""
from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import torch

from moredata.errors import UserError
from moredata.models.checkpoint import save_checkpoint
from moredata.training.config import TrainerSettings
from moredata.training.early_stopping import EarlyStopping, monitor_mode
from moredata.training.evaluation import estimate_loss
from moredata.training.hints import CLI, Hints
from moredata.training.lr_schedule import get_lr
from moredata.training.metrics import plot_run
from moredata.training.progress import Progress
from moredata.training.run_state import restore_run, run_checkpoint
from moredata.training.setup import autocast_context, check_out_dir, resolve_dtype, setup_distributed, setup_model
from moredata.training.stop_signals import StopSignals
from moredata.training.summary import TrainSummary
from moredata.training.token_data import TokenData


class TrainingLoop:
    """Holds model, optimizer, data and bookkeeping; `run()` trains and returns a TrainSummary.
    (The public Python API, `moredata.Trainer`, drives this loop over the user's dataloaders.)"""

    def __init__(self, cfg: TrainerSettings, model=None, data=None, hints: Hints = CLI, compute_metrics=None,
                 callbacks=(), steps_per_epoch: int | None = None):
        """`model` (a built, untrained model) and `data` (a LoaderData) are the Python API's way in;
        the CLI passes neither: the model comes from the config or a checkpoint, the data from data_dir.
        `hints`: how the caller's front end spells resume/overwrite in messages (moredata.training.hints).
        `compute_metrics(EvalPrediction) -> dict` adds `val_<name>` to every evaluation; `callbacks`
        (moredata.training.callbacks.Callback) see the run and may stop it."""
        self.cfg, self.hints = cfg, hints
        self.compute_metrics = compute_metrics
        from moredata.training.callbacks import CallbackList

        self.callbacks = CallbackList(callbacks, steps_per_epoch)
        self.dist = setup_distributed(cfg)
        self.master, self.device, self.ddp = self.dist.master, self.dist.device, self.dist.ddp
        self.out_dir = Path(cfg.out_dir)
        self.wrote_best = False  # this run's best.pt exists (an earlier run's stays until it is beaten)
        if self.master:
            check_out_dir(cfg, self.out_dir, hints)
            self.out_dir.mkdir(parents=True, exist_ok=True)
        seed = cfg.seed + self.dist.seed_offset
        torch.manual_seed(seed)
        torch.backends.cuda.matmul.allow_tf32 = True  # allow tf32 on matmul
        torch.backends.cudnn.allow_tf32 = True  # allow tf32 on cudnn
        self.device_type = "cuda" if self.device.startswith("cuda") else ("mps" if self.device == "mps" else "cpu")
        self.dtype = resolve_dtype(cfg, self.device_type)
        self.ctx = autocast_context(self.device_type, self.dtype)
        self.data = data if data is not None else TokenData(cfg.data_dir, cfg.block_size, torch.device(self.device),
                                                            completion_only=cfg.completion_only_loss)
        # separate generators for train batches and eval batches, so a resume can restore each exactly
        self.batch_gen = torch.Generator().manual_seed(seed + 1)
        self.eval_gen = torch.Generator().manual_seed(seed + 2)
        self.iter_num, self.best_val_loss, self.best_iter = 0, 1e9, None
        self.resumed_after_eval = True
        self.signals = StopSignals(self.ddp, self.device)  # SIGINT/SIGTERM while run() lasts
        self.stopper = EarlyStopping(cfg.early_stopping_patience, cfg.early_stopping_min_delta,
                                     monitor_mode(cfg.early_stopping_monitor, cfg.early_stopping_mode))
        built = setup_model(cfg, self.data, self.out_dir, self.device, model)
        self.model, self.model_type, self.model_args, self.objective = (built.model, built.model_type,
                                                                        built.model_args, built.objective)
        self.enhanced = None
        if cfg.enhanced_enabled:  # with p = 0 nothing of the feature exists ('auto' starts at 0 but exists)
            from moredata.training.enhanced_mixer import EnhancedBatchMixer

            train = self.data.splits["train"]
            # tokens one iteration trains on, over every rank: with the split's size, the epochs auto weighs
            tokens_per_iter = cfg.batch_size * cfg.block_size * self.gradient_accumulation_steps * self.dist.world_size
            self.enhanced = EnhancedBatchMixer(cfg, train, train.dtype, seed, self.model_args["vocab_size"],
                                               "cuda" if self.device_type == "cuda" else "cpu", tokens_per_iter)
        self.scaler = torch.amp.GradScaler(self.device_type, enabled=(self.dtype == "float16"))
        configure = getattr(self.model, "configure_optimizers", None)
        if configure is None:  # a generic module: AdamW as for ours, matrices decayed
            from moredata.models.encoder_only import configure_adamw

            configure = lambda *a: configure_adamw(self.model, *a)  # noqa: E731
        self.optimizer, self.fused = configure(cfg.weight_decay, cfg.learning_rate, (cfg.beta1, cfg.beta2),
                                               self.device_type)
        if built.resume_from is not None:
            restore_run(self, built.resume_from)
        if self.enhanced is not None and cfg.init_from != "scratch":
            # generate from the best model there is right away, not only after the next improvement
            best = self.out_dir / "best.pt"
            start = Path(cfg.init_from) if cfg.init_from != "resume" else (best if best.is_file() else
                                                                            self.out_dir / "ckpt.pt")
            self.enhanced.on_new_best(str(start))
        self.raw_model = self.model
        if cfg.compile:
            self.model = torch.compile(self.model)
        if self.ddp:
            from torch.nn.parallel import DistributedDataParallel as DDP

            self.model = DDP(self.model, device_ids=[self.dist.local_rank] if self.device_type == "cuda" else None)

    @property
    def gradient_accumulation_steps(self) -> int:
        return self.dist.gradient_accumulation_steps

    # --- pieces of the loop -----------------------------------------------------------------------

    def next_batch(self) -> tuple:
        """The next training micro-batch, as the model type takes it; remembers the RNG state it was drawn
        from (for resume: the masks of an encoder batch come from the same generator)."""
        self.batch_rng_before = self.batch_gen.get_state()
        if self.enhanced is None:
            x, y, *mask = self.data.get_batch("train", self.cfg.batch_size, self.batch_gen)
        else:
            x, y = self.data.get_batch_cpu("train", self.cfg.batch_size, self.batch_gen)
            self.enhanced.mix(x, y)  # enhanced rows replaced on the CPU, then one copy to the device
            x, y = self.data.to_device(x, y)
            mask = []
        return self.objective.to_batch(x, y, self.batch_gen, *mask)

    def estimate_loss(self) -> dict[str, float]:
        return estimate_loss(self.model, self.data, self.objective, self.cfg.batch_size, self.cfg.eval_iters,
                             self.ctx, self.eval_gen, self.compute_metrics)

    def checkpoint(self, evaluated: bool = True) -> dict:
        return run_checkpoint(self, evaluated)

    def _save(self, improved: bool) -> None:
        ckpt = self.checkpoint()
        path = self.out_dir / "ckpt.pt"
        save_checkpoint(path, ckpt)
        self.saved = str(path)
        self.callbacks.on_save(self, path)
        if improved:  # best.pt: always the best by val loss, whatever always_save_checkpoint says
            save_checkpoint(self.out_dir / "best.pt", ckpt)
            self.wrote_best = True
            if self.enhanced is not None:
                self.enhanced.on_new_best(str(self.out_dir / "best.pt"))

    def _evaluate(self, lr: float) -> tuple[bool, bool]:
        """Evaluates, logs, saves; returns (early stopping says stop, a new best.pt was written)."""
        if not self.evals:  # the first evaluation can take minutes on a CPU (nanoGPT: 2 x 200 batches)
            self.progress.say(f"step {self.iter_num}: evaluating ({self.cfg.eval_iters} batches of train and of val)...")
        losses = self.estimate_loss()
        self.last_val = losses["val"]
        extra = {k: v for k, v in losses.items() if k not in ("train", "val")}
        if self.enhanced is not None:  # the share of enhanced rows until the next evaluation (auto: from these losses)
            extra["enhanced_p"] = self.enhanced.on_eval(losses["train"], losses["val"], self.iter_num)
        self.evals.append({"iter": self.iter_num, "train_loss": losses["train"], "val_loss": losses["val"], **extra})
        self.progress.write({"type": "eval", "iter": self.iter_num, "train_loss": losses["train"],
                            "val_loss": losses["val"], "lr": lr, **extra})
        name = self.objective.accuracy_name
        acc = f", val {name.replace('_', ' ')} {extra[f'val_{name}']:.3f}" if f"val_{name}" in extra else ""
        acc += self.enhanced.eval_text() if self.enhanced is not None else ""
        self.progress.say(f"step {self.iter_num}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}{acc}")
        improved = losses["val"] < self.best_val_loss
        if improved:
            self.best_val_loss, self.best_iter = losses["val"], self.iter_num
        stop = self.stopper.update(self._monitored(losses))
        self.callbacks.on_evaluate(self, self.evals[-1])
        stop = stop or self.callbacks.should_stop
        self.stopper.stopped = stop  # in the checkpoint saved below: a resume knows this run stopped early
        # nanoGPT never saves at iter 0 (random weights); a run initialised from a checkpoint may be best there
        may_save = self.iter_num > 0 or self.cfg.init_from != "scratch"
        if (improved or self.cfg.always_save_checkpoint) and may_save:
            self._save(improved)
        self.progress.postfix(f"val {losses['val']:.4f} best {self.best_val_loss:.4f}")
        return stop, improved and may_save

    def _monitored(self, losses: dict) -> float:
        name = self.cfg.early_stopping_monitor
        if name not in losses:
            raise UserError(f"early_stopping_monitor {name!r} is not among the evaluated values "
                            f"({', '.join(sorted(losses))})")
        return losses[name]

    def _save_step_checkpoint(self) -> None:
        """checkpoint-<iter>.pt every save_interval iterations; only the newest save_total_limit stay
        (files this run's loop named so: ckpt.pt and best.pt are never removed)."""
        path = self.out_dir / f"checkpoint-{self.iter_num}.pt"
        save_checkpoint(path, self.checkpoint(evaluated=False))
        self.callbacks.on_save(self, path)
        if self.cfg.save_total_limit:  # only checkpoint-<digits>.pt: a file of another name is never touched
            steps = sorted(int(m.group(1)) for f in self.out_dir.glob("checkpoint-*.pt")
                           if (m := re.fullmatch(r"checkpoint-(\d+)\.pt", f.name)))
            for step in steps[:-self.cfg.save_total_limit]:
                (self.out_dir / f"checkpoint-{step}.pt").unlink(missing_ok=True)

    def _evaluate_and_sync(self, lr: float) -> bool:
        """Rank 0 evaluates; under DDP every rank learns whether to stop (and the mixer syncs its share and
        generator). Returns whether early stopping ends the run."""
        stop, wrote_best = self._evaluate(lr) if self.master else (False, False)
        if self.ddp:  # every rank must leave the loop together
            import torch.distributed as dist

            flag = torch.tensor([float(stop)], dtype=torch.float64, device=self.device)
            dist.broadcast(flag, 0)
            stop = bool(flag[0].item())
            if self.enhanced is not None:
                self.enhanced.sync(self.device, wrote_best, str(self.out_dir / "best.pt"))
        if stop:
            cfg = self.cfg
            what = f"{cfg.early_stopping_monitor} loss" if cfg.early_stopping_monitor in ("val", "train") \
                else cfg.early_stopping_monitor
            self.progress.say(f"early stopping at iter {self.iter_num}: {what} has not "
                      f"improved by more than {cfg.early_stopping_min_delta} for "
                      f"{cfg.early_stopping_patience} evaluations")
        return stop

    def _train_step(self, batch: tuple) -> tuple[torch.Tensor, tuple]:
        """One optimizer step: forward/backward over the micro-batches (gradient accumulation, the fp16
        scaler when training in fp16), clipping, step. Returns the last micro-batch's scaled loss and the
        next batch (prefetched while the device is busy)."""
        steps = self.gradient_accumulation_steps
        for micro_step in range(steps):
            if self.ddp:
                # sync gradients only at the last micro step (no_sync context is the official way,
                # this is what nanoGPT does and it avoids a context manager)
                self.model.require_backward_grad_sync = micro_step == steps - 1
            with self.ctx:
                loss, _ = self.objective.loss_of(self.model, batch)
                loss = loss / steps  # scale the loss to account for accumulation
            batch = self.next_batch()  # prefetch the next batch while the model is busy on the GPU
            self.scaler.scale(loss).backward()
        if self.cfg.grad_clip != 0.0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)  # flush the gradients as soon as we can
        return loss, batch

    def _log(self, loss: torch.Tensor, lr: float, dt: float, local_iter_num: int) -> None:
        """A `train` row of metrics.jsonl and the progress line, every log_interval iterations (rank 0)."""
        cfg = self.cfg
        lossf = loss.item() * self.gradient_accumulation_steps  # .item() syncs with the device: only here
        if local_iter_num >= 5 and self.device_type == "cuda" and self.model_type == "decoder_only":
            mfu = self.raw_model.estimate_mfu(cfg.batch_size * self.gradient_accumulation_steps, dt)
            self.running_mfu = mfu if self.running_mfu == -1.0 else 0.9 * self.running_mfu + 0.1 * mfu
        row = {"type": "train", "iter": self.iter_num, "loss": lossf, "lr": lr, "ms": dt * 1000, "mfu": self.running_mfu}
        enh = ""
        if self.enhanced is not None:
            row.update(self.enhanced.log_fields())
            enh = self.enhanced.progress_text(row)
        self.progress.train_row(row, self.last_val, enh)

    def _save_on_interrupt(self) -> None:
        if self.master:  # keep the work: ckpt.pt becomes this point, best.pt stays the best
            save_checkpoint(self.out_dir / "ckpt.pt", self.checkpoint(evaluated=False))
            self.saved = str(self.out_dir / "ckpt.pt")
            self.progress.say(f"{self.signals.reason}: saved {self.saved} at iter {self.iter_num}; "
                      f"continue with {self.hints.resume}")

    def request_stop(self, reason: str) -> None:
        """What SIGINT does, for a loop running in a thread: finish the iteration, save ckpt.pt, return."""
        self.signals.reason = reason

    # --- the loop ---------------------------------------------------------------------------------

    def run(self) -> TrainSummary:
        cfg = self.cfg
        self._begin_run()
        self.callbacks.on_train_begin(self)
        with self.signals:
            if self._resumed and self.stopper.stopped and not cfg.continue_after_early_stop:
                return self._refuse_to_retrain()
            if self._resumed and self.stopper.stopped:  # asked to continue: patience starts again
                self.stopper.stopped, self.stopper.bad_evals = False, 0
            stopped_at = interrupted = None
            batch = self.next_batch()  # fetch the very first batch
            t0, local_iter_num = time.time(), 0  # local: iterations in this process's lifetime
            while True:
                lr = get_lr(self.iter_num, cfg)
                for group in self.optimizer.param_groups:
                    group["lr"] = lr
                # evaluate (except right after a resume: that evaluation was done and logged before the save)
                just_resumed = self._resumed and self.iter_num == self.start_iter and self.resumed_after_eval
                if (self.iter_num - self.eval_offset) % cfg.eval_interval == 0 and not just_resumed:
                    if self._evaluate_and_sync(lr):
                        stopped_at = self.iter_num
                        break
                    t0 = time.time()  # evaluations are not counted in ms/iter
                if self.iter_num == 0 and cfg.eval_only:
                    break
                if self.iter_num >= cfg.max_iters and not cfg.step_after_last_eval:
                    self.ended_at_eval = True  # the model in memory is the one just evaluated (and saved)
                    break
                phase = self.enhanced.phase() if self.enhanced is not None else "no_generator"
                loss, batch = self._train_step(batch)
                t1 = time.time()
                dt, t0 = t1 - t0, t1
                self.dts.append(dt)
                self.phase_dts.setdefault(phase, []).append(dt)
                if self.iter_num % cfg.log_interval == 0 and self.master:
                    self._log(loss, lr, dt, local_iter_num)
                self.progress.step()
                self.iter_num += 1
                local_iter_num += 1
                if self.master and cfg.save_interval and self.iter_num % cfg.save_interval == 0:
                    self._save_step_checkpoint()
                self.callbacks.on_step_end(self)
                if self.callbacks.should_stop and not self.ddp:  # a callback asked: save and stop, as on SIGINT
                    self.signals.reason = "a callback asked to stop"
                if self.iter_num > cfg.max_iters:
                    break
                if self.signals.requested():
                    interrupted = self.iter_num
                    self._save_on_interrupt()
                    break
        summary = self._finish(stopped_at)
        summary.interrupted_at_iter, summary.resume_hint = interrupted, self.hints.resume
        self.callbacks.on_train_end(self)
        return summary

    def _begin_run(self) -> None:
        cfg = self.cfg
        self.t_start, self.start_iter = time.time(), self.iter_num
        self._resumed = cfg.init_from == "resume"
        # continued training counts its evaluations (its epochs) from where it starts: from a checkpoint at
        # iter 63 with 4 batches an epoch, evaluations at 63, 67, ... (at multiples of 4 the run stopped at
        # 67 with only 64 evaluated and reported 0 epochs); a fresh or resumed run keeps nanoGPT's multiples
        self.eval_offset = self.start_iter if cfg.continue_training else 0
        self.evals: list[dict] = []
        self.last_val: float | None = None
        self.saved: str | None = None
        self.dts: list[float] = []
        self.phase_dts: dict[str, list[float]] = {}  # step times by the enhanced mixer's phase
        self.running_mfu = -1.0
        self.ended_at_eval = False
        self.progress = Progress(self.master, cfg.progress, cfg.max_iters + 1, self.start_iter, self.out_dir,
                                 self._resumed)

    def _refuse_to_retrain(self) -> TrainSummary:
        """The run being resumed ended by early stopping: training again would undo that decision."""
        self.progress.say(f"this run stopped early at iter {self.iter_num} (no improvement for "
                          f"{self.stopper.bad_evals} evaluations); not training again. Pass "
                          f"--continue_after_early_stop=true to train on.")
        summary = self._finish(self.start_iter)
        summary.stopped_early, summary.stopped_at_iter = True, self.start_iter
        return summary

    def _finish(self, stopped_at: int | None) -> TrainSummary:
        plot_path = None
        if self.enhanced is not None:
            self.enhanced.close()
        self.progress.close()
        if self.master:
            unit = "frame" if self.model_type == "pointer" else "token"
            plot_path = plot_run(self.out_dir, stopped_at, unit) if self.cfg.plot else None
        if self.ddp:
            import torch.distributed as dist

            dist.destroy_process_group()
        last_trained = self.iter_num if stopped_at is not None or self.ended_at_eval else self.iter_num - 1
        best = self.out_dir / "best.pt"
        return TrainSummary(
            out_dir=str(self.out_dir), start_iter=self.start_iter, iter_num=max(last_trained, self.start_iter),
            best_val_loss=self.best_val_loss, best_iter=self.best_iter, last_val_loss=self.last_val,
            stopped_early=stopped_at is not None, stopped_at_iter=stopped_at,
            ms_per_iter=statistics.median(self.dts) * 1000 if self.dts else None,
            ms_per_iter_by_phase={k: {"iters": len(v), "median_ms": round(statistics.median(v) * 1000, 2),
                                      "mean_ms": round(statistics.fmean(v) * 1000, 2)}
                                  for k, v in self.phase_dts.items()},
            elapsed_s=time.time() - self.t_start,
            checkpoint=str(best) if best.is_file() and (self.wrote_best or self.cfg.init_from == "resume")
            else self.saved,
            plot=plot_path, evals=self.evals)
