"""Random closed terms, biased on purpose toward what small models fail on.

    term = sample_term(np.random.default_rng(seed), max_depth=10, max_size=120)

A draw picks one of four shapes (weights in `SamplerWeights`), then rejects and redraws until the term
fits `max_depth` and `max_size` (nodes):
- `random`: a plain random term grown top-down: each open slot becomes an index (one of the lambdas
  above it), a lambda or an application, with leaves more likely as the drawn target size fills up;
- `deep_redex`: a redex `(\\.B) A` planted under a context of lambdas and applications 3 or more nodes
  deep (models failed on redexes deeper than 4);
- `growing`: a redex whose body uses its variable two or three times and whose argument is itself
  reducible, so the term grows before it shrinks;
- `lambda_prefix`: 2 to 6 lambdas over a body that is not in normal form (`\\.\\.\\.\\.` prefixes).
Every shape but `random` holds a redex by construction. Closed terms only: an index always points at a
lambda above it.

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

from moredata.lambda_terms.terms import APP, LAM, Term, depth
from moredata.options import Options


class SamplerWeights(Options):
    """How often each shape is drawn (relative weights, normalised)."""

    random: float = Field(0.25, ge=0.0)
    deep_redex: float = Field(0.3, ge=0.0)
    growing: float = Field(0.25, ge=0.0)
    lambda_prefix: float = Field(0.2, ge=0.0)

    @model_validator(mode="after")
    def _not_all_zero(self):
        if self.random + self.deep_redex + self.growing + self.lambda_prefix <= 0:
            raise ValueError("sampler weights must not all be 0")
        return self

    def probabilities(self) -> np.ndarray:
        w = np.array([self.random, self.deep_redex, self.growing, self.lambda_prefix], dtype=float)
        return w / w.sum()


SHAPES = ("random", "deep_redex", "growing", "lambda_prefix")


def random_term(rng: np.random.Generator, binders: int, max_depth: int, target_size: int) -> Term:
    """A random term with `binders` lambdas in scope, at most max_depth deep, about target_size nodes.
    Grown top-down with a stack of open slots (binders in scope, depth left): no recursion."""
    out: list[int] = []
    slots = [(binders, max_depth)]
    rand = rng.random
    while slots:
        b, d = slots.pop()
        used = len(out) + len(slots)
        fill = min(1.0, used / max(target_size, 1))
        leaf_p = 0.08 + 0.9 * fill * fill  # few leaves while the target size is far, nearly all once reached
        if d <= 1 or (b > 0 and rand() < leaf_p):
            if b == 0:  # a closed leaf needs a binder: \.0
                out += [LAM, 0]
            else:
                out.append(int(rng.integers(0, b)) if rand() < 0.5 else 0 if b == 1 else int(rng.integers(0, min(b, 3))))
            continue
        if d >= 2 and (b == 0 or rand() < 0.45):
            out.append(LAM)
            slots.append((b + 1, d - 1))
        else:
            out.append(APP)
            slots.append((b, d - 1))  # argument (popped second)
            slots.append((b, d - 1))  # function (popped first)
    return out


def _using_var(rng, binders: int, max_depth: int, uses: int) -> Term:
    """A lambda body (index 0 bound by the lambda just above) that uses index 0 `uses` times."""
    parts = [[0] for _ in range(uses)]
    extra = random_term(rng, binders + 1, max(2, max_depth - uses), 4)
    parts.insert(int(rng.integers(0, len(parts) + 1)), extra)
    out = [APP] * (len(parts) - 1)
    for p in parts:
        out += p
    return out


def _redex(rng, binders: int, max_depth: int, size: int, uses: int = 1, reducible_arg: bool = False) -> Term:
    body = _using_var(rng, binders, max_depth - 2, uses) if uses > 1 else random_term(
        rng, binders + 1, max_depth - 2, max(3, size // 2))
    if reducible_arg:
        arg = _redex(rng, binders, max(4, max_depth - 2), max(4, size // 3))
    else:
        arg = random_term(rng, binders, max_depth - 2, max(2, size // 3))
    return [APP, LAM, *body, *arg]


def _context(rng, hole: Term, binders_at_hole: int, levels: int, max_depth: int) -> Term:
    """`levels` lambdas and applications above `hole` (its indices refer to the lambdas placed here)."""
    # choose the path top-down: 'L' (lambda) or 'A0'/'A1' (the hole in the function / argument side)
    path = []
    lams = 0
    for _ in range(levels):
        if lams < binders_at_hole and rng.random() < 0.5:
            path.append("L")
            lams += 1
        else:
            path.append("A0" if rng.random() < 0.5 else "A1")
    while lams < binders_at_hole:  # the hole's indices need their lambdas
        path.insert(int(rng.integers(0, len(path) + 1)), "L")
        lams += 1
    out: list[int] = []
    b = 0
    tails: list[Term] = []  # sibling subterms that come after the hole (argument siblings)
    for k, p in enumerate(path):
        left = max(2, max_depth - k - 1)
        if p == "L":
            out.append(LAM)
            b += 1
        elif p == "A0":
            out.append(APP)
            tails.append(random_term(rng, b, left, 3))
        else:
            out.append(APP)
            out += random_term(rng, b, left, 3)
    out += hole
    for t in reversed(tails):
        out += t
    return out


def sample_term(rng: np.random.Generator, max_depth: int = 10, max_size: int = 120,
                weights: SamplerWeights = SamplerWeights(), tries: int = 200) -> tuple[Term, str]:
    """(a closed term within the limits, the shape it was drawn as)."""
    probs = weights.probabilities()
    for _ in range(tries):
        shape = SHAPES[int(rng.choice(4, p=probs))]
        size = int(rng.integers(max(4, max_size // 8), max_size + 1))
        if shape == "random":
            t = random_term(rng, 0, max_depth, size)
        elif shape == "deep_redex":
            levels = int(rng.integers(3, max(4, max_depth - 3)))
            inner = int(rng.integers(0, 3))
            hole = _redex(rng, inner, max(4, max_depth - levels), max(4, size // 2))
            t = _context(rng, hole, inner, levels, max_depth)
        elif shape == "growing":
            t = _redex(rng, 0, max_depth, size, uses=int(rng.integers(2, 4)), reducible_arg=True)
            if rng.random() < 0.5:
                t = _context(rng, t, 0, int(rng.integers(1, 4)), max_depth)
        else:
            k = int(rng.integers(2, 7))
            body = _redex(rng, k, max(4, max_depth - k), max(4, size - k))
            if rng.random() < 0.5:
                body = [APP, *body, *random_term(rng, k, max(2, max_depth - k - 1), 3)]
            t = [LAM] * k + body
        if len(t) <= max_size and depth(t) <= max_depth:
            return t, shape
    return [LAM, 0], "random"  # the limits are too tight for every shape: the identity


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
