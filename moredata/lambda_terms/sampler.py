"""Random closed terms, aimed on purpose at what small models fail on.

    term, shape = sample_term(np.random.default_rng(seed), max_depth=10, max_size=120)

`max_depth` is a lambda nesting depth (the most lambdas on one path: the users' "depth") and `max_size`
a node count. Both are targets to fill as well as caps: each draw picks a target size spread over the
cycle's range [0.6 max_size, max_size] and a target lambda depth skewed toward max_depth, then builds one
of four shapes (weights in `SamplerWeights`, the three failure modes first):
- `deep_redex`: a redex `(\\.B) A` under 5 or more lambdas (as many as the depth allows), with
  applications on the path and their other sides filled up to the target size (models failed on
  redexes under more than 4 lambdas);
- `growing`: a redex whose body uses its variable two or three times and whose argument is itself
  reducible, so the term grows before it shrinks, under a context of lambdas and applications;
- `lambda_prefix`: 2 or more lambdas at the root (`\\.\\.\\.\\.`) over a body that still reduces;
- `random`: a random term grown top-down to the target size (each open slot becomes an index, a lambda
  or an application, leaves more likely as the size fills), holding at least one redex.
Draws over the limits, or in normal form already (a 1-example trace teaches little), are redrawn.
Closed terms only: an index always points at a lambda above it.

How this relates to uniform sampling: Grygiel & Lescanne (2013) count and sample lambda terms of a given
size uniformly, and Bendkowski's boltzmann-brain builds Boltzmann samplers (uniform among terms of the
same size, with a tunable expected size) for such specifications. Uniform terms are almost all in a
shape a model sees rarely in practice (large, mostly normal forms or shallow redexes), which is why
the default mix is biased. `sample_uniform(rng, size)` gives exact-size uniform closed terms (natural
size: an index k weighs k + 1, a lambda or an application 1, as in Bendkowski's "natural counting") from
a counting table, for comparison and for users who want the unbiased distribution.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from pydantic import Field, model_validator

from moredata.lambda_terms.stepper import find_redex
from moredata.lambda_terms.terms import APP, LAM, Term, lambda_depth
from moredata.options import Options

MIN_REDEX_LAMBDAS = 5  # deep_redex puts its redex under at least this many lambdas (when the depth allows)


class SamplerWeights(Options):
    """How often each shape is drawn (relative weights, normalised). The defaults give the three failure
    modes 90% of the starting terms; see the module docstring for the shapes."""

    random: float = Field(0.1, ge=0.0)
    deep_redex: float = Field(0.4, ge=0.0)
    growing: float = Field(0.2, ge=0.0)
    lambda_prefix: float = Field(0.3, ge=0.0)

    @model_validator(mode="after")
    def _not_all_zero(self):
        if self.random + self.deep_redex + self.growing + self.lambda_prefix <= 0:
            raise ValueError("sampler weights must not all be 0")
        return self

    def probabilities(self) -> np.ndarray:
        w = np.array([self.random, self.deep_redex, self.growing, self.lambda_prefix], dtype=float)
        return w / w.sum()


SHAPES = ("random", "deep_redex", "growing", "lambda_prefix")


def random_term(rng: np.random.Generator, binders: int, lambdas: int, target_size: int,
                normal: bool = False) -> Term:
    """A random term with `binders` lambdas in scope that may nest at most `lambdas` more, of about
    target_size nodes; with `normal`, in normal form (no lambda in function position). Grown top-down
    with a stack of open slots (binders in scope, lambdas left, a function position?): no recursion."""
    out: list[int] = []
    slots = [(binders, lambdas, False)]
    # uniforms drawn in blocks (one numpy call per block, not three per node: this is a hot path)
    u = rng.random(3 * target_size + 64).tolist()
    k = 0
    inv = 1.0 / max(target_size, 1)
    while slots:
        if k + 3 > len(u):
            u += rng.random(len(u)).tolist()
        b, left, fn = slots.pop()
        fill = (len(out) + len(slots)) * inv
        # few leaves while the target size is far, nearly all once reached
        leaf_p = 0.98 if fill >= 1.0 else 0.08 + 0.9 * fill * fill
        if b > 0 and u[k] < leaf_p:
            # indices: half uniform over the binders in scope, half the nearest three (as in real programs)
            out.append(int(u[k + 2] * b) if u[k + 1] < 0.5 else int(u[k + 2] * min(b, 3)))
            k += 3
            continue
        if left > 0 and (b == 0 or u[k + 1] < 0.4) and not (normal and fn):
            out.append(LAM)
            slots.append((b + 1, left - 1, False))
        elif b == 0:  # no binder in scope and no lambda allowed here: the smallest closed term
            out += [LAM, 0]
        else:
            out.append(APP)
            slots.append((b, left, False))  # argument (popped second)
            slots.append((b, left, True))  # function (popped first)
        k += 2
    return out


def _using_var(rng, binders: int, lambdas: int, uses: int, size: int) -> Term:
    """A lambda body (index 0 bound by the lambda just above) that uses index 0 `uses` times."""
    parts = [[0] for _ in range(uses)]
    parts.insert(int(rng.integers(0, len(parts) + 1)), random_term(rng, binders + 1, lambdas, max(1, size - uses)))
    out = [APP] * (len(parts) - 1)
    for p in parts:
        out += p
    return out


def _redex(rng, binders: int, lambdas: int, size: int, uses: int = 1, reducible_arg: bool = False) -> Term:
    """`(\\.B) A` of about `size` nodes with `binders` lambdas in scope, nesting at most `lambdas` more
    (the redex's own lambda included)."""
    if reducible_arg:
        # a small reducible argument: copied 2-3 times it makes the term grow by tens of nodes, not
        # hundreds (a larger one made 10% of traces explode past max_size)
        arg = _redex(rng, binders, lambdas, int(rng.integers(5, 21)))
    else:
        arg = random_term(rng, binders, lambdas, max(1, (size - 3) // 4), normal=True)
    rest = max(1, size - 2 - len(arg))
    body = (_using_var(rng, binders, lambdas - 1, uses, rest) if uses > 1
            else random_term(rng, binders + 1, lambdas - 1, rest))
    return [APP, LAM, *body, *arg]


def _context(rng, hole: Term, binders: int, lams: int, apps: int, max_lambdas: int, pad: int) -> Term:
    """`hole` under `lams` lambdas and `apps` applications in a random order, with `binders` lambdas in
    scope above it all; the other side of each application is a random term, the sides sharing `pad`
    nodes. The hole's indices may refer to all binders + lams lambdas."""
    path = ["L"] * lams + ["A"] * apps
    rng.shuffle(path)
    sides = rng.multinomial(max(pad, apps), np.full(apps, 1 / apps)) if apps else []
    out: list[int] = []
    tails: list[Term] = []  # sides that come after the hole (the hole is a function)
    b, k = binders, 0
    for p in path:
        if p == "L":
            out.append(LAM)
            b += 1
            continue
        # the sides are in normal form: the planted redex is the one the trace is about (reducible sides
        # made a third of these terms explode past max_size before their redex was reached)
        side = random_term(rng, b, max(0, max_lambdas - b), max(1, int(sides[k])), normal=True)
        k += 1
        out.append(APP)
        if rng.random() < 0.5:
            tails.append(side)
        else:
            out += side
    out += hole
    for t in reversed(tails):
        out += t
    return out


def _skewed(rng, lo: int, hi: int, draws: int = 2) -> int:
    """An integer in [lo, hi], skewed toward hi (the largest of `draws` uniform draws)."""
    if hi <= lo:
        return hi
    return int(rng.integers(lo, hi + 1, size=draws).max())


def _deep_redex(rng, lams: int, size: int) -> Term:
    k = _skewed(rng, min(MIN_REDEX_LAMBDAS, lams - 1), lams - 1)  # lambdas above the redex
    hole = _redex(rng, k, lams - k, int(size * rng.uniform(0.3, 0.7)))
    apps = int(rng.integers(0, 3))
    return _context(rng, hole, 0, k, apps, lams, size - len(hole) - k - apps)


def _growing(rng, lams: int, size: int) -> Term:
    j = int(rng.integers(0, max(1, lams - 2)))  # lambdas above the growing redex
    hole = _redex(rng, j, lams - j, int(size * rng.uniform(0.4, 0.8)), uses=int(rng.integers(2, 4)),
                  reducible_arg=True)
    apps = int(rng.integers(0, 3))
    return _context(rng, hole, 0, j, apps, lams, size - len(hole) - j - apps)


def _lambda_prefix(rng, lams: int, size: int) -> Term:
    k = _skewed(rng, 2, lams - 1)  # the prefix's lambdas
    hole = _redex(rng, k, lams - k, int((size - k) * rng.uniform(0.3, 0.7)))
    apps = int(rng.integers(0, 3))
    return [LAM] * k + _context(rng, hole, k, 0, apps, lams, size - k - len(hole) - apps)


def _random(rng, lams: int, size: int) -> Term:
    return random_term(rng, 0, lams, size)


_BUILD = {"random": _random, "deep_redex": _deep_redex, "growing": _growing, "lambda_prefix": _lambda_prefix}


def sample_term(rng: np.random.Generator, max_depth: int = 10, max_size: int = 120,
                weights: SamplerWeights = SamplerWeights(), tries: int = 200) -> tuple[Term, str]:
    """(a closed, reducible term of lambda depth <= max_depth and <= max_size nodes, its shape)."""
    probs = weights.probabilities()
    lo = max(5, max_size * 3 // 5)
    for _ in range(tries):
        shape = SHAPES[int(rng.choice(4, p=probs))]
        size = int(rng.integers(lo, max_size + 1))
        lams = _skewed(rng, max(2, 2 * max_depth // 3), max_depth, draws=3)
        t = _BUILD[shape](rng, lams, size)
        if lo <= len(t) <= max_size and lambda_depth(t) <= max_depth and find_redex(t) >= 0:
            return t, shape
    return [APP, LAM, 0, LAM, 0], "random"  # the limits are too tight for every shape: (\.0) (\.0)


# --- uniform closed terms of an exact natural size (Grygiel & Lescanne; Bendkowski) ------------------

@lru_cache(maxsize=None)
def _count(n: int, m: int) -> int:
    """Terms of natural size n with m lambdas in scope (indices 0..m-1 allowed; index k weighs k + 1).
    Filled bottom-up by _table, so the recursion here is only one level deep per call."""
    if n <= 0:
        return 0
    total = 1 if n <= m else 0  # the index n - 1, if in scope
    total += _count(n - 1, m + 1)  # a lambda
    total += sum(_count(k, m) * _count(n - 1 - k, m) for k in range(1, n - 1))  # an application
    return total


def _table(n: int) -> None:
    for size in range(1, n + 1):  # fill from small sizes up, so _count never recurses deeply
        for m in range(n - size + 1, -1, -1):
            _count(size, m)


def sample_uniform(rng: np.random.Generator, size: int) -> Term:
    """A closed term drawn uniformly among those of natural size `size` (size >= 2)."""
    if size < 2:
        raise ValueError("closed terms have natural size >= 2 (the smallest is \\.0)")
    _table(size)
    out: list[int] = []
    slots = [(size, 0)]
    while slots:
        n, m = slots.pop()
        r = int(rng.integers(0, 2**62)) % _count(n, m) if _count(n, m) < 2**62 else \
            int.from_bytes(rng.bytes(32), "little") % _count(n, m)
        if n <= m:
            if r == 0:
                out.append(n - 1)
                continue
            r -= 1
        lam = _count(n - 1, m + 1)
        if r < lam:
            out.append(LAM)
            slots.append((n - 1, m + 1))
            continue
        r -= lam
        for k in range(1, n - 1):
            c = _count(k, m) * _count(n - 1 - k, m)
            if r < c:
                out.append(APP)
                slots.append((n - 1 - k, m))
                slots.append((k, m))
                break
            r -= c
    return out
