"""Reduction traces as training examples, and the complexity cycles that vary them chunk by chunk.

Each step of a term's normal-order reduction is one example:
    {"input": "<term>", "target": "<next term>" or NF_MARKER,
     "meta": {"depth", "tree_depth", "size", "redex_depth", "step", "total_steps", "grows", "stopped",
              "cycle", "seed"}}
Of the input: `depth` is the lambda nesting depth (the most lambdas on one path: the users' word),
`tree_depth` the nodes on the longest path, `size` the nodes. `redex_depth` is the number of lambdas
above the reduced redex (-1 for a normal form): `\\.\\.\\.\\.\\.\\.(\\.0) 0` is "a redex at
depth 6", depth 7, tree_depth 9. `grows`: the target is larger than the input. `stopped` says why the
trace ended: "normal", "max_steps" (divergent or slow) or "max_size" (exploding); a trace cut by a limit
keeps only its first `cut_trace_examples` steps and has no normal-form example.

Traces are whole: a chunk holds whole traces only, and `total_steps` is the number of examples the trace
has in the file (`step` runs 0 .. total_steps - 1). A chunk has an exact number of examples: its last
trace is the tail of a normal trace that fits the room left (the whole trace of an intermediate term).
"""
from __future__ import annotations

import json
import threading

import numpy as np
from pydantic import Field, model_validator

from moredata.lambda_terms.sampler import SamplerWeights, sample_term
from moredata.lambda_terms.stepper import step
from moredata.lambda_terms.terms import Term, profile, to_text
from moredata.options import Options

NF_MARKER = "<nf>"
DEFAULT_DEPTHS = (6, 7, 8, 9, 10, 11, 12, 13, 14, 15)  # cycle 0..9: max lambda nesting depth
DEFAULT_SIZES = (80, 100, 120, 140, 160, 180, 200, 150, 130, 110)  # cycle 0..9: max size (nodes)


class TraceSettings(Options):
    # steps per trace before it is cut (a divergent term stops here; normal traces rarely pass 50)
    max_steps: int = Field(150, ge=1)
    # a term growing past this many nodes stops its trace: 1.5x the largest cycle's terms. At 600 the
    # exploding traces put 30% of all examples above 200 nodes, past the users' range and most contexts
    max_size: int = Field(300, ge=5)
    # examples kept from a trace cut by a limit: its first steps. Without this bound the few divergent
    # terms (7% of traces) gave 72% of all examples, 150 near-identical loop steps each
    cut_trace_examples: int = Field(8, ge=0)
    # cycle c (chunk c mod len) draws starting terms of lambda depth up to depths[c] (skewed toward it)
    # and 0.6 sizes[c] .. sizes[c] nodes
    depths: tuple[int, ...] = Field(DEFAULT_DEPTHS, min_length=1)
    sizes: tuple[int, ...] = Field(DEFAULT_SIZES, min_length=1)
    weights: SamplerWeights = SamplerWeights()

    @model_validator(mode="after")
    def _cycles(self):
        if len(self.depths) != len(self.sizes):
            raise ValueError(f"the depth and size tables need the same length, got {len(self.depths)} "
                             f"and {len(self.sizes)}")
        if self.max_size < max(self.sizes):
            # a cycle's own starting terms must fit, or every trace would stop before its first example
            raise ValueError(f"max_size ({self.max_size}) must be at least the largest cycle size "
                             f"({max(self.sizes)})")
        if min(self.depths) < 2 or min(self.sizes) < 5:
            # the smallest term with a redex, (\\.0) (\\.0), has lambda depth 1 and 5 nodes
            raise ValueError("every cycle needs max depth >= 2 and max size >= 5")
        return self

    def cycle_of(self, chunk_id: int) -> int:
        return chunk_id % len(self.depths)


def trace(term: Term, settings: TraceSettings, stop: threading.Event | None = None
          ) -> tuple[list[tuple[Term, Term | None, int, int, int]], str]:
    """The reduction of term as (input, target or None for the normal form, redex depth in lambdas, input
    lambda depth, input tree depth) steps, and why it stopped ("cancelled" once `stop` is set: checked
    every step, a step being one pass over a term of at most max_size nodes)."""
    steps = []
    t = term
    for _ in range(settings.max_steps):
        if stop is not None and stop.is_set():
            return steps, "cancelled"
        s = step(t)
        if s is None:
            tdepth, ldepth, _, _ = profile(t)
            steps.append((t, None, -1, ldepth, tdepth))
            return steps, "normal"
        if len(s.term) > settings.max_size:
            return steps, "max_size"
        steps.append((t, s.term, s.redex_depth, s.lambda_depth, s.tree_depth))
        t = s.term
    return steps, "max_steps"


def format_trace(steps: list, why: str, cycle: int, seed: int) -> list[str]:
    """A whole trace's steps as JSON lines (each term printed once: a target is the next input)."""
    texts = [to_text(s[0]) for s in steps]
    total = len(steps)
    lines = []
    for k, (t, nxt, rdepth, ldepth, tdepth) in enumerate(steps):
        target = NF_MARKER if nxt is None else (texts[k + 1] if k + 1 < total else to_text(nxt))
        lines.append(json.dumps({"input": texts[k], "target": target, "meta": {
            "depth": ldepth, "tree_depth": tdepth, "size": len(t), "redex_depth": rdepth, "step": k,
            "total_steps": total, "grows": nxt is not None and len(nxt) > len(t), "stopped": why,
            "cycle": cycle, "seed": seed}}, separators=(",", ":")))
    return lines


def trace_lines(term: Term, settings: TraceSettings, cycle: int, seed: int,
                stop: threading.Event | None = None) -> list[str]:
    """The trace of one term as JSON lines (a trace cut by a limit: its first cut_trace_examples steps)."""
    steps, why = trace(term, settings, stop)
    if why != "normal":
        steps = steps[: settings.cut_trace_examples]
    return format_trace(steps, why, cycle, seed)


def chunk_lines(run_seed: int, chunk_id: int, count: int, settings: TraceSettings,
                stop: threading.Event | None = None) -> list[str] | None:
    """Exactly `count` example lines of whole traces for one chunk: its own seed from (run seed, chunk
    id), its cycle's depth and size limits. The same (run seed, chunk id, count) gives the same lines on
    any worker. None when `stop` is set before the chunk is complete (a service's client went away: stop
    within a step)."""
    rng = np.random.default_rng(np.random.SeedSequence([run_seed, chunk_id]))
    cycle = settings.cycle_of(chunk_id)
    max_depth, max_size = settings.depths[cycle], settings.sizes[cycle]
    lines: list[str] = []
    while len(lines) < count:
        term, _ = sample_term(rng, max_depth, max_size, settings.weights)
        steps, why = trace(term, settings, stop)
        if why == "cancelled" or (stop is not None and stop.is_set()):
            return None
        if why != "normal":
            if why == "max_size" and len(steps) < 2:  # explodes at its first step: at most one example
                continue
            steps = steps[: settings.cut_trace_examples]
        room = count - len(lines)
        if len(steps) > room:
            if why != "normal":
                continue  # a cut trace has no tail that is a whole trace: draw another term
            steps = steps[-room:]  # the whole trace of the term `room` steps before the normal form
        lines += format_trace(steps, why, cycle, run_seed)
    return lines
