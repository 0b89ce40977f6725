"""`enhanced_data_probability = "auto"`: the share of enhanced rows follows measured memorisation.

    ctl = AutoProbability(max_probability=0.3)
    p = ctl.update(train_loss, val_loss)     # at every evaluation; 0 until the run starts memorising

Enhanced rows help a run that overfits and cost a run that does not (measured: whole tiny Shakespeare
ends at 1.999 with p = 0.2 against 1.905 with p = 0; the 30k-character run that overfits ends at 1.889
against 2.105). So p starts at 0 and rises only on evidence from the trainer's own evaluations.

The signal, the *memorising share* m over the last `window` evaluations:

    m = growth of the val-train gap / fall of the train loss      (both over the window)
      = 1 - (fall of the val loss / fall of the train loss)

is the share of what the model learned on the training split that did not carry over to val. 0: every
nat learned also helps val; 1: val stood still while train fell; above 1: val got worse. It is a ratio,
so it needs no threshold in nats, and a val split that is harder than the train split (a constant gap)
does not move it. target = max_probability x clamp((m - threshold) / RAMP), and p moves `rate` of the way
to the target at each evaluation (smooth both ways). While train loss did not fall by `MIN_FALL` over the
window (a plateau) there is no evidence either way and the target is held.

Measured on the p = 0 curves of the three benchmark corpora (bench/enhanced_auto.py, window 3): the
whole of tiny Shakespeare (never overfits in 2000 iterations) stays below 0.2 until iteration 1250 and
peaks at 0.40 in its last 500 iterations; the 30k-character slice sits at 0.21-0.25 from iteration 400,
passes 0.46 at 800 and 0.59 at 900, before its best val (1100-1300); the 120k-character Bible run (BPE)
passes 0.30 at iteration 400 and 0.43 at 500, six evaluations before its best. Single-seed runs of the
slice (seed 1337, generator started once p rose; p = 0.2 fixed: best 1.894):

    threshold 0.4, full at 0.6:    best 1.931, last 1.962   (p rises at 800: too late)
    threshold 0.2, full at 0.4:    best 1.894, last 1.917   (chosen)
    threshold 0.2, full at 0.6:    best 1.913, last 1.949
    threshold 0.4, max 0.5:        best 1.959, last 1.986

and on the whole of tiny Shakespeare threshold 0.2 cost 0.009 (1.914 against 1.906 at p = 0), from the
small p of its last 500 iterations.

Rules tried before this one (bench/results/enhanced_auto.json, corpus b):
- max(stall, gap growth): p rose at iteration 10 of a tiny run: the gap grows from the untrained
  evaluation on and one noisy evaluation stalls val; each signal alone has an innocent cause.
- min(stall, gap growth) (val not improving for 2 evaluations AND the gap grown 0.1 nats above its
  minimum): never wrong, but late: it fires only after the best val loss, so the best stayed that of
  p = 0 (1.934 against 1.900 for p = 0.2 fixed) and the last val loss was 0.08 above the best.
- the gap growth in nats alone: the whole of tiny Shakespeare's gap grows by 0.11 nats while val keeps
  improving (not overfitting), as much as the 30k slice's before it overfits; nats do not separate them,
  the ratio to the train loss's fall does.

The state (p, the window's losses, the evaluation count) is saved in the checkpoint, so a resume
continues it exactly.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

MIN_FALL = 0.01  # nats the train loss must fall over the window for m to be measured
TREND = 5  # the last this many shares m are fitted by a line: its slope forecasts when m reaches 1
HORIZON = 0.5  # full p once the forecast best point is nearer than this share of the evaluations so far


@dataclass
class AutoProbability:
    max_probability: float = 0.3
    threshold: float = 0.2  # memorising share at which p starts to rise
    window: int = 3  # evaluations the share is measured over
    rate: float = 0.5  # fraction of the way to the target moved per evaluation
    probability: float = 0.0
    target: float = 0.0
    evals: int = 0
    history: list = field(default_factory=list)  # [train, val] of the last window + 1 evaluations
    min_epochs: float = 4.0  # p stays 0 until the run has seen its training split this many times
    tokens_per_iter: int = 0  # with train_tokens: what turns an iteration count into epochs (0: unknown)
    train_tokens: int = 0
    epochs: float = 0.0  # epochs seen at the last evaluation
    shares: list = field(default_factory=list)  # [evaluation, m] of the last TREND measured shares
    forecast: float | None = None  # evaluations until m reaches 1 (val stops improving), as last forecast

    def memorising_share(self) -> float | None:
        """m over the window, or None while there is no evidence (too few evaluations, a plateau)."""
        if len(self.history) <= self.window:
            return None
        (t0, v0), (t1, v1) = self.history[0], self.history[-1]
        fall = t0 - t1
        return None if fall < MIN_FALL else ((v1 - t1) - (v0 - t0)) / fall

    def update(self, train_loss: float, val_loss: float, iter_num: int | None = None) -> float:
        """Takes one evaluation's losses (and the iteration it ran at); returns the probability for the
        iterations until the next."""
        if self.evals > 0:  # not the untrained model's evaluation: its fall to the next is not learning yet
            self.history = [*self.history, [float(train_loss), float(val_loss)]][-(self.window + 1):]
        if iter_num is not None and self.train_tokens > 0 and self.tokens_per_iter > 0:
            self.epochs = iter_num * self.tokens_per_iter / self.train_tokens
        m = self.memorising_share()
        if m is not None:
            self.shares = [*self.shares, [self.evals, m]][-TREND:]
        if self.train_tokens > 0 and self.epochs < self.min_epochs:
            self.target = 0.0  # too few passes over the data to memorise it: whatever the gap does
        elif m is not None and len(self.shares) >= 3:
            self.target = self.max_probability * self._urgency()
        self.probability = min(self.max_probability, max(0.0, self.probability + self.rate * (self.target - self.probability)))
        if self.probability < 1e-4:  # a tail of 1e-9 would keep the generator busy for nothing
            self.probability = 0.0
        self.evals += 1
        return self.probability

    def _urgency(self) -> float:
        """0..1 from the forecast: a line through the last shares m (m = 1: val stopped improving) says in
        how many evaluations h the best point comes; 1 once h <= HORIZON x the evaluations so far, 0 from
        h >= that x 2 on (and while the fitted m is below the threshold: too little evidence)."""
        xs = [x for x, _ in self.shares]
        ys = [y for _, y in self.shares]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
        now = my + slope * (xs[-1] - mx)  # the fitted m at this evaluation
        if now < self.threshold:
            self.forecast = None
            return 0.0
        if now >= 1.0:
            self.forecast = 0.0
            return 1.0
        self.forecast = (1.0 - now) / slope if slope > 0 else float("inf")
        near = HORIZON * self.evals
        return min(1.0, max(0.0, (2 * near - self.forecast) / near))

    def generator_needed(self) -> bool:
        """False while p cannot rise for a while (less than half of min_epochs seen): the generator need not
        write yet. From half of it on, it writes its reserve, ready for the first evaluation that may raise p."""
        return not (self.train_tokens > 0 and self.epochs < 0.5 * self.min_epochs)

    def state_dict(self) -> dict:
        return asdict(self)

    def load_state_dict(self, state: dict) -> None:
        for k, v in state.items():
            if hasattr(self, k):
                setattr(self, k, v)
