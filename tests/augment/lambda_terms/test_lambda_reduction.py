"""Terms, the stepper and the independent normaliser: known reductions, round trips, shifting, depth."""
import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moredata.errors import InvalidArgument
from moredata.lambda_terms.compact import parse_compact, to_compact
from moredata.lambda_terms.normalizer import OutOfFuel, normal_form
from moredata.lambda_terms.sampler import sample_term, sample_uniform
from moredata.lambda_terms.stepper import normalize_by_steps, shift, step, substitute
from moredata.lambda_terms.terms import (
    APP,
    LAM,
    TermSyntaxError,
    is_closed,
    lambda_depth,
    parse,
    profile,
    to_text,
    tree_depth,
)
from moredata.lambda_terms.traces import TraceSettings, trace_lines

_NAMED = re.compile(r"\\([a-z]\w*)\.|\(|\)|[a-zA-Z]\w*|\s+")


def named(text: str, **defs: str) -> list:
    """A named term (`\\x. x x`, upper-case names expand from defs) in de Bruijn prefix form (tests only)."""
    while any(re.search(rf"\b{name}\b", text) for name in defs):  # definitions may use each other
        for name, body in defs.items():
            text = re.sub(rf"\b{name}\b", lambda _m, b=body: f"({b})", text)
    frames = [["top", None, []]]

    def close_lams():
        while frames[-1][0] == "lam":
            _, _, items = frames.pop()
            frames[-1][2].append([LAM, *seq(items)])

    def seq(items):
        out = [APP] * (len(items) - 1)
        for it in items:
            out += it
        return out

    for m in _NAMED.finditer(text):
        tok = m.group()
        if tok.isspace():
            continue
        if m.group(1):
            frames.append(["lam", m.group(1), []])
        elif tok == "(":
            frames.append(["paren", None, []])
        elif tok == ")":
            close_lams()
            _, _, items = frames.pop()
            frames[-1][2].append(seq(items))
        else:
            binders = [f[1] for f in frames if f[0] == "lam"]
            frames[-1][2].append([binders[::-1].index(tok)])
    close_lams()
    return seq(frames[0][2])


def church(n: int) -> list:
    return named("\\f.\\x. " + "f (" * n + "x" + ")" * n)


DEFS = dict(
    TRUE="\\t.\\f. t", FALSE="\\t.\\f. f", ISZERO="\\n. n (\\x. FALSE) TRUE",
    PRED="\\n.\\f.\\x. n (\\g.\\h. h (g f)) (\\u. x) (\\u. u)", PLUS="\\m.\\n.\\f.\\x. m f (n f x)",
    MULT="\\m.\\n.\\f. m (n f)", POW="\\b.\\e. e b", Y="\\f. (\\x. f (x x)) (\\x. f (x x))",
)


def nf(t, max_steps=10_000):
    out, steps, why = normalize_by_steps(t, max_steps=max_steps, max_size=100_000)
    assert why == "normal", why
    assert normal_form(t) == out  # the independent normaliser agrees
    return out


@pytest.mark.parametrize("expr, want", [("PLUS TWO THREE", 5), ("MULT TWO THREE", 6), ("POW TWO THREE", 8),
                                         ("PRED THREE", 2)])
def test_church_arithmetic(expr, want):
    t = named(expr, **DEFS, TWO=to_named(2), THREE=to_named(3))
    assert nf(t) == church(want)


def to_named(n: int) -> str:
    return "\\f.\\x. " + "f (" * n + "x" + ")" * n


def test_s_k_k_x_is_x():
    t = named("\\x. S K K x", S="\\a.\\b.\\c. a c (b c)", K="\\a.\\b. a")
    assert to_text(nf(t)) == "\\.0"


def test_factorial_of_3_with_the_y_combinator():
    fact = "Y (\\r.\\n. (ISZERO n) (\\f.\\x. f x) (MULT n (r (PRED n))))"
    t = named(f"({fact}) THREE", **DEFS, THREE=to_named(3))
    assert nf(t, max_steps=100_000) == church(6)


def test_omega_stops_at_the_step_limit():
    omega = parse("(\\.0 0) (\\.0 0)")
    last, steps, why = normalize_by_steps(omega, max_steps=25)
    assert (steps, why) == (25, "max_steps") and last == omega
    with pytest.raises(OutOfFuel):
        normal_form(omega, fuel=10_000)


def test_a_term_that_grows_before_it_shrinks():
    # (\x. x x x) ((\y. y) (\z. z)): the argument is copied three times, then each copy reduces
    t = named("(\\x. x x x) ((\\y. y) (\\z. z))")
    sizes = [len(t)]
    while (s := step(t)) is not None:
        t = s.term
        sizes.append(len(t))
    assert max(sizes) > sizes[0] > sizes[-1] and to_text(t) == "\\.0"


def test_shifting_free_variables_and_indices_crossing_binders():
    # (\.\.2 1 0) 5: the argument's free 5 crosses one lambda of the body (becomes 6); index 2 (free in
    # the redex) drops to 1; index 1 is the substituted one; 0 stays bound
    assert to_text(step(parse("(\\.\\.2 1 0) 5")).term) == "\\.1 6 0"
    # an argument with a bound and a free index, substituted under two lambdas: only the free one shifts
    assert substitute(parse("\\.\\.2"), parse("\\.0 1")) == parse("\\.\\.\\.0 3")
    assert shift(parse("\\.0 1 (\\.2 0)"), 3) == parse("\\.0 4 (\\.5 0)")
    assert shift(parse("0 1"), 2, cutoff=1) == parse("0 3")


def test_depth_1000_and_size_10000_without_recursion():
    deep = "\\." * 1000 + "0"
    t = parse(deep)
    assert len(t) == 1001 and tree_depth(t) == 1001 and lambda_depth(t) == 1000 and to_text(t) == deep
    nested = "(" * 999 + "0" + ")" * 999
    assert parse(nested) == [0]
    chain = parse("\\." + " ".join(["0"] * 5000))  # size 10,000
    assert len(chain) == 10_000 and to_text(chain) == "\\." + " ".join(["0"] * 5000)
    redex = [APP, *([LAM] * 1000), 0, LAM, 0]  # a redex under 1,000 lambdas of its body
    assert step(redex).term == [LAM] * 999 + [0]  # the bound 0 under 999 lambdas stays


@pytest.mark.parametrize("text, where, why", [("(0", 0, "never closed"), ("0)", 1, "without a matching"),
                                               ("\\.", 0, "without a body"), ("()", 0, "empty parentheses"),
                                               ("", 0, "empty"), ("0 x", 2, "unexpected character"),
                                               ("\\0", 0, "'\\.'")])
def test_parse_errors_name_the_position_and_reason(text, where, why):
    with pytest.raises(TermSyntaxError, match=rf"position {where}: .*{re.escape(why)}"):
        parse(text)


_trees = st.recursive(st.integers(0, 12).map(lambda k: [k]),
                      lambda sub: st.one_of(sub.map(lambda b: [LAM, *b]),
                                            st.tuples(sub, sub).map(lambda p: [APP, *p[0], *p[1]])),
                      max_leaves=40)


@given(_trees)
@settings(max_examples=300, deadline=None)
def test_print_parse_round_trip(t):
    assert parse(to_text(t)) == t


@pytest.mark.parametrize("text, depth, redex_depth, tree", [
    # the users' example `\\.\\.\\.\\.\\.\\.(\\.x)y`: "a redex at depth 6" is a redex under 6 lambdas
    # (y: the sixth lambda's variable); the redex's own lambda makes the term's lambda depth 7
    ("\\.\\.\\.\\.\\.\\.(\\.0) 0", 7, 6, 9),
    ("\\.\\.\\.\\.(\\.1 0) (\\.0)", 5, 4, 8),  # a lambda prefix \.\.\.\. over a reducible body
    ("(\\.0 0) (\\.0 0)", 1, 0, 4),  # omega: the redex is the whole term
    ("\\.0 ((\\.\\.\\.1) 0)", 4, 1, 7),  # depth counts lambdas on one path, not all lambdas
])
def test_depth_is_lambda_nesting_and_redex_depth_counts_lambdas_above(text, depth, redex_depth, tree):
    t = parse(text)
    s = step(t)
    assert (lambda_depth(t), s.redex_depth, tree_depth(t)) == (depth, redex_depth, tree)
    assert s.lambda_depth == depth and s.tree_depth == tree
    assert profile(t, s.redex_at)[3] == redex_depth
    line = json.loads(trace_lines(t, TraceSettings(), 0, 1)[0])
    assert (line["meta"]["depth"], line["meta"]["redex_depth"], line["meta"]["tree_depth"]) == (depth, redex_depth, tree)


@given(st.integers(0, 2**32), st.integers(4, 12), st.integers(8, 120))
@settings(max_examples=150, deadline=None)
def test_stepper_agrees_with_the_normaliser_on_sampled_terms(seed, max_depth, max_size):
    t, _ = sample_term(np.random.default_rng(seed), max_depth, max_size)
    assert is_closed(t) and lambda_depth(t) <= max_depth and len(t) <= max_size
    last, _, why = normalize_by_steps(t, max_steps=500, max_size=5000)
    if why == "normal":
        assert normal_form(t, fuel=5_000_000) == last


def test_uniform_sampler_gives_closed_terms_of_the_exact_natural_size():
    rng = np.random.default_rng(0)
    for size in (2, 5, 17, 40):
        t = sample_uniform(rng, size)
        natural = sum(x + 1 if x >= 0 else 1 for x in t)
        assert is_closed(t) and natural == size


@pytest.mark.parametrize("text, compact", [("\\.\\.1 (1 0)", "λλ1(10)"), ("(\\.0 0) (\\.0 0)", "(λ00)(λ00)"),
                                           ("\\.\\.\\.2 0 (1 0)", "λλλ20(10)"),
                                           ("\\." * 12 + "11 10 0", "λλλλλλλλλλλλba0")])
def test_compact_spelling_is_one_symbol_per_lambda_index_and_bracket(text, compact):
    t = parse(text)
    assert to_compact(t) == compact and parse_compact(compact) == t


@given(_trees)
@settings(max_examples=200, deadline=None)
def test_compact_round_trip(t):
    assert parse_compact(to_compact(t)) == t


def test_compact_refuses_what_it_cannot_spell():
    with pytest.raises(InvalidArgument, match="index 62 has no compact symbol"):
        to_compact([LAM] * 63 + [62])
    with pytest.raises(InvalidArgument, match="position 2: unexpected character '!'"):
        parse_compact("λ0!")
