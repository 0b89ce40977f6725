"""Normal-order (leftmost-outermost) one-step beta reduction on prefix-order terms, without recursion.

In prefix order the first APP whose function is a LAM is the leftmost-outermost redex: a redex that
contained it, or one to its left, would start earlier. Reducing `(\\.B) A` substitutes A for index 0 in
B: an index equal to its binder depth d inside B becomes A shifted up by d (A's free indices gain the
d lambdas crossed), an index above d drops by one (B loses a binder), one below d stays.
"""
from __future__ import annotations

from dataclasses import dataclass

from moredata.lambda_terms.terms import APP, LAM, Term, profile, subterm_end


def find_redex(t: Term) -> int:
    """Index of the leftmost-outermost redex's APP, or -1 in normal form."""
    i = 0
    index = t.index
    try:
        while True:
            i = index(APP, i)
            if t[i + 1] == LAM:
                return i
            i += 1
    except ValueError:
        return -1


def shift(t: Term, by: int, cutoff: int = 0) -> Term:
    """t with every free index (>= cutoff + its binder depth) raised by `by`."""
    if by == 0:
        return t
    out = []
    append = out.append
    d = cutoff
    stack: list[int] = []  # per open node: -1 for a lambda, else APP children still to come
    for x in t:
        if x >= 0:
            append(x + by if x >= d else x)
            while stack:
                top = stack[-1]
                if top == -1:
                    stack.pop()
                    d -= 1
                elif top == 2:
                    stack[-1] = 1
                    break
                else:
                    stack.pop()
        else:
            append(x)
            if x == LAM:
                d += 1
                stack.append(-1)
            else:
                stack.append(2)
    return out


# shift and substitute walk the term with the same inline stack (binder depth per position): written out
# in each, not shared through a callback, since this loop is the generator's hot path
def substitute(body: Term, arg: Term) -> Term:
    """body[0 := arg] with the binder of index 0 removed (the contractum of `(\\.body) arg`)."""
    out: list[int] = []
    append, extend = out.append, out.extend
    shifted: dict[int, Term] = {}  # arg shifted by each depth it is needed at
    d = 0
    stack: list[int] = []
    for x in body:
        if x >= 0:
            if x == d:
                a = shifted.get(d)
                if a is None:
                    a = shifted[d] = shift(arg, d)
                extend(a)
            else:
                append(x - 1 if x > d else x)
            while stack:
                top = stack[-1]
                if top == -1:
                    stack.pop()
                    d -= 1
                elif top == 2:
                    stack[-1] = 1
                    break
                else:
                    stack.pop()
        else:
            append(x)
            if x == LAM:
                d += 1
                stack.append(-1)
            else:
                stack.append(2)
    return out


@dataclass
class Step:
    term: Term  # the term after the step
    redex_at: int  # prefix index of the reduced redex in the term before
    redex_depth: int  # lambdas above the redex (the users' "a redex at depth 6": under 6 lambdas)
    redex_tree_depth: int  # nodes above the redex (0: the redex is the whole term)
    lambda_depth: int  # the lambda nesting depth of the term before
    tree_depth: int  # nodes on the longest path of the term before


def step(t: Term) -> Step | None:
    """One normal-order beta step, or None when t is in normal form."""
    i = find_redex(t)
    if i < 0:
        return None
    body_end = subterm_end(t, i + 2)
    arg_end = subterm_end(t, body_end)
    new = t[:i]
    new += substitute(t[i + 2:body_end], t[body_end:arg_end])
    new += t[arg_end:]
    tdepth, ldepth, above_nodes, above_lams = profile(t, i)
    return Step(new, i, above_lams, above_nodes, ldepth, tdepth)


def normalize_by_steps(t: Term, max_steps: int = 1000, max_size: int = 10_000) -> tuple[Term, int, str]:
    """(last term, steps taken, why it stopped: 'normal' | 'max_steps' | 'max_size')."""
    for n in range(max_steps):
        s = step(t)
        if s is None:
            return t, n, "normal"
        if len(s.term) > max_size:
            return t, n, "max_size"
        t = s.term
    return t, max_steps, "normal" if find_redex(t) < 0 else "max_steps"
