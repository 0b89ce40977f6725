"""Ending a run cleanly on SIGINT/SIGTERM (Ctrl-C, docker stop): the loop finishes its iteration, saves
ckpt.pt and returns. Under DDP every rank leaves at the same iteration."""
from __future__ import annotations

import signal
import threading

import torch


class StopSignals:
    """`with StopSignals(ddp, device) as stop:` catches SIGINT/SIGTERM while the run lasts (restoring the
    old handlers after); `stop.requested()` says whether one reached this process or any DDP rank."""

    def __init__(self, ddp: bool = False, device: str = "cpu"):
        self.ddp, self.device = ddp, device
        self.reason: str | None = None  # the signal's name once one arrived
        self._old: dict = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():  # signal handlers live on the main thread
            self._old = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        self._old = {}

    def _handle(self, signum, _frame) -> None:
        self.reason = signal.Signals(signum).name

    def requested(self) -> bool:
        """One all-reduce (MAX) of a flag per iteration under DDP, so every rank leaves the loop at the same
        iteration. A rank stopping on its own flag would leave the others blocked in their next gradient
        all-reduce until the timeout."""
        local = self.reason is not None
        if not self.ddp:
            return local
        import torch.distributed as dist

        flag = torch.tensor([int(local)], device=self.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        if flag.item() and not local:
            self.reason = "SIGTERM on another rank"
        return bool(flag.item())
