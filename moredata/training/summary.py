"""What a training run reports when it ends: the TrainSummary (printed as a table, saved as summary.json)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from moredata.training.hints import CLI


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
    ms_per_iter_by_phase: dict = field(default_factory=dict)  # enhanced data: before_generator, generator_p0, drawing
    interrupted_at_iter: int | None = None  # set when SIGINT/SIGTERM ended the run
    resume_hint: str = CLI.resume  # how the caller's front end resumes (moredata.training.hints)

    def table(self) -> str:
        rows = [
            ("iterations", f"{self.start_iter} -> {self.iter_num}"),
            ("best val loss", f"{self.best_val_loss:.4f} (iter {self.best_iter})" if self.best_iter is not None else "n/a"),
            ("last val loss", f"{self.last_val_loss:.4f}" if self.last_val_loss is not None else "n/a"),
            ("stopped early", f"yes, at iter {self.stopped_at_iter}" if self.stopped_early else "no"),
            *([("interrupted", f"at iter {self.interrupted_at_iter} (resume with {self.resume_hint})")]
              if self.interrupted_at_iter is not None else []),
            ("ms/iter (median)", f"{self.ms_per_iter:.1f}" if self.ms_per_iter is not None else "n/a"),
            *([("ms/iter by phase", ", ".join(f"{k.replace('_', ' ')} {v['median_ms']:.1f} ({v['iters']} iters)"
                                              for k, v in self.ms_per_iter_by_phase.items()))]
              if self.ms_per_iter_by_phase and set(self.ms_per_iter_by_phase) != {"no_generator"} else []),
            ("wall time", f"{self.elapsed_s:.1f} s"),
            ("checkpoint", self.checkpoint or "none written"),
            ("loss plot", self.plot or "none"),
        ]
        w = max(len(k) for k, _ in rows)
        return "\n".join(f"  {k:<{w}}  {v}" for k, v in rows)


def summary_dict(s: TrainSummary) -> dict:
    return asdict(s)
