"""`enhanced_data_probability = "auto"`: the share of enhanced rows follows the run's own evaluations.

    ctl = AutoProbability(max_probability=0.3, tokens_per_iter=768, train_tokens=27_000)
    p = ctl.update(train_loss, val_loss, iter_num)   # at every evaluation; 0 until the run will overfit soon

Enhanced rows help a run that overfits and cost a run that does not (whole tiny Shakespeare: 1.999 with
p = 0.2 against 1.905 with p = 0), and, measured here, they cost a run that dropout already keeps from
overfitting (30k characters of Shakespeare at dropout 0.1, seed 1337: p = 0 best 1.875; enhanced rows
from iteration 400 on, p 0.1-0.28: best 1.909). So p starts at 0 and rises only on evidence that the
run will soon stop improving, from two things the run knows:

1. **Epochs seen** (tokens trained on / the training split's tokens). Below `min_epochs` (4) p stays 0,
   whatever the losses do: a model that has seen each token a few times has not memorised it. The whole
   of tiny Shakespeare in the README's main job sees 1.5 epochs in 2000 iterations, so there auto is p = 0
   exactly (the same batches as p = 0), and the generator writes nothing (`generator_needed()`: it wakes
   at half of min_epochs, to have a reserve when p may first rise).
2. **The memorising share** m over the last `window` (3) evaluations:

       m = growth of the val-train gap / fall of the train loss = 1 - fall of val / fall of train

   the part of what the model learned on the training split that did not reach val (0: all of it did;
   1: val stood still; above 1: val got worse). A ratio needs no threshold in nats, and a harder val
   split (a constant gap) does not move it. While train did not fall by MIN_FALL (a plateau) there is
   no evidence and the target is held.

**The forecast.** m rises as a run heads for its best point, where m = 1. A line fitted through the last
TREND (5) shares says how many evaluations h remain until m reaches 1; the target is max_probability
once h is below HORIZON (0.5) x the evaluations so far, 0 from twice that on, linear between, and 0 while
the fitted m is below `threshold` (0.2). p moves `rate` (0.5) of the way to the target per evaluation.

Why a forecast and not the level of m (the rule before this one: p rose with m from 0.2, full at 0.4):
dropout changes what a level means. On the p = 0 curves of bench/enhanced_vs_regularisers.py (seed 1337,
eval every 100 iterations) m sits at 0.2-0.25 from iteration 400 in every run, with or without
dropout; without dropout it then climbs fast to 1 (30k Shakespeare: 0.46 at 800, 0.91 at the best point
1300; the KJV Bible: 0.65 at 800, 0.90 at the best point 1100), with dropout 0.1 it hovers at 0.4-0.8 for
a thousand iterations while val keeps improving (best at 1800-1900). The level rule gave the dropout
runs p 0.1-0.3 from iteration 500-900 (mean p before their best 0.13-0.21), the forecast 0.04-0.05;
runs without dropout get p > 0.1 from 900 (best 1300) and 800 (best 1100), two to four evaluations
before the best point, where the level rule started at 800 and 500. The measured effect of each, against
dropout and weight decay, is in bench/results/enhanced_vs_regularisers.json and the README.

Rules tried before (bench/results/enhanced_auto.json): max(stall, gap growth) fired at iteration 10 of a
tiny run (each signal alone has an innocent cause); min(stall, gap growth) fired only after the best
point; the gap's growth in nats did not separate a run that overfits from one that does not (whole
tiny Shakespeare's gap grows 0.11 nats while val improves); the level of m (above) acted on dropout runs
that were not going to overfit.

The state (p, the window's losses, the shares, the epochs, the evaluation count) is saved in the
checkpoint, so a resume continues it exactly.
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
