"""Reduction traces as training examples, and the complexity cycles that vary them chunk by chunk.

Each step of a term's normal-order reduction is one example:
    {"input": "<term>", "target": "<next term>" or NF_MARKER,
     "meta": {"depth", "size", "redex_depth", "step", "total_steps", "grows", "stopped", "cycle", "seed"}}
`size` counts nodes, `depth` nodes on the longest path (both of the input), `redex_depth` the nodes above
the reduced redex (-1 for a normal form), `grows` whether the target is larger than the input,
`stopped` why the trace ended: "normal", "max_steps" (divergent or slow) or "max_size" (exploding).
A trace that stops at a limit has no normal-form example, and only its first `cut_trace_examples` steps
are kept (`total_steps` still says how far it ran).
"""
from __future__ import annotations

import json
import threading

import numpy as np
from pydantic import Field, model_validator

from moredata.lambda_terms.sampler import SamplerWeights, sample_term
from moredata.lambda_terms.stepper import step
from moredata.lambda_terms.terms import Term, depth, to_text
from moredata.options import Options

NF_MARKER = "<nf>"
DEFAULT_DEPTHS = (6, 7, 8, 9, 10, 11, 12, 13, 14, 15)  # cycle 0..9: max depth
DEFAULT_SIZES = (80, 100, 120, 140, 160, 180, 200, 150, 130, 110)  # cycle 0..9: max size (nodes)


class TraceSettings(Options):
    # steps per trace before it is cut (a divergent term stops here; normal traces rarely pass 50)
    max_steps: int = Field(150, ge=1)
    # a term growing past this many nodes stops its trace: 3x the largest cycle's terms, and about what
    # a small model's context holds in characters
    max_size: int = Field(600, ge=2)
    # examples kept from a trace cut by a limit: its first steps. Without this bound the few divergent
    # terms (7% of traces) gave 72% of all examples, 200 near-identical loop steps each
    cut_trace_examples: int = Field(16, ge=0)
    # cycle c (chunk c mod len) draws terms at most depths[c] deep and sizes[c] nodes large
    depths: tuple[int, ...] = Field(DEFAULT_DEPTHS, min_length=1)
    sizes: tuple[int, ...] = Field(DEFAULT_SIZES, min_length=1)
    weights: SamplerWeights = SamplerWeights()

    @model_validator(mode="after")
    def _cycles(self):
        if len(self.depths) != len(self.sizes):
            raise ValueError(f"the depth and size tables need the same length, got {len(self.depths)} "
                             f"and {len(self.sizes)}")
        if min(self.depths) < 2 or min(self.sizes) < 2:
            raise ValueError("every cycle needs max depth >= 2 and max size >= 2")
        return self

    def cycle_of(self, chunk_id: int) -> int:
        return chunk_id % len(self.depths)


def trace(term: Term, settings: TraceSettings, stop: threading.Event | None = None
          ) -> tuple[list[tuple[Term, Term | None, int, int]], str]:
    """The reduction of term as (input, target or None for the normal form, redex depth, input depth)
    steps, and why it stopped ("cancelled" once `stop` is set: checked every step, a step being one pass
    over a term of at most max_size nodes)."""
    steps = []
    t = term
    for _ in range(settings.max_steps):
        if stop is not None and stop.is_set():
            return steps, "cancelled"
        s = step(t)
        if s is None:
            steps.append((t, None, -1, depth(t)))
            return steps, "normal"
        if len(s.term) > settings.max_size:
            return steps, "max_size"
        steps.append((t, s.term, s.redex_depth, depth(t)))
        t = s.term
    return steps, "max_steps"


def trace_lines(term: Term, settings: TraceSettings, cycle: int, seed: int,
                stop: threading.Event | None = None) -> list[str]:
    """The trace of one term as JSON lines (each term printed once: a target is the next input)."""
    steps, why = trace(term, settings, stop)
    total = len(steps)
    if why != "normal":
        steps = steps[: settings.cut_trace_examples]
    lines = []
    texts = [to_text(s[0]) for s in steps]
    for k, (t, nxt, rdepth, d) in enumerate(steps):
        target = NF_MARKER if nxt is None else (texts[k + 1] if k + 1 < len(texts) else to_text(nxt))
        lines.append(json.dumps({"input": texts[k], "target": target, "meta": {
            "depth": d, "size": len(t), "redex_depth": rdepth, "step": k, "total_steps": total,
            "grows": nxt is not None and len(nxt) > len(t), "stopped": why, "cycle": cycle, "seed": seed}},
            separators=(",", ":")))
    return lines


def chunk_lines(run_seed: int, chunk_id: int, count: int, settings: TraceSettings,
                stop: threading.Event | None = None) -> list[str] | None:
    """Exactly `count` example lines for one chunk: its own seed from (run seed, chunk id), its cycle's
    depth and size limits. The same (run seed, chunk id) gives the same lines on any worker. None when
    `stop` is set before the chunk is complete (a service's client went away: stop within a step)."""
    rng = np.random.default_rng(np.random.SeedSequence([run_seed, chunk_id]))
    cycle = settings.cycle_of(chunk_id)
    max_depth, max_size = settings.depths[cycle], settings.sizes[cycle]
    lines: list[str] = []
    while len(lines) < count:
        term, _ = sample_term(rng, max_depth, max_size, settings.weights)
        lines += trace_lines(term, settings, cycle, run_seed, stop)
        if stop is not None and stop.is_set():
            return None
    return lines[:count]
