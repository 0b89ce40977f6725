"""An independent normaliser, used only to check the stepper: normalisation by evaluation (NbE).

It shares no code with `stepper.py`: terms become trees of its own, evaluate lazily into closures and
neutral terms (arguments are thunks, so a term has a normal form exactly when this finds it, as with
normal order), and read back with de Bruijn levels. Agreement of two unrelated methods on every
generated trace is what proves the stepper at scale.

NbE recurses on the structure of values. It runs in a thread of its own with a large stack and a raised
recursion limit (restored afterwards); `fuel` bounds the work, so a term without a normal form raises
OutOfFuel instead of running forever.
"""
from __future__ import annotations

import sys
import threading

LAM, APP = -1, -2  # the prefix encoding it reads (data, not shared code)


class OutOfFuel(Exception):
    """The term needed more evaluation steps than the budget (no normal form, or a huge one)."""


class _Thunk:
    __slots__ = ("tree", "env", "value")

    def __init__(self, tree, env, value=None):
        self.tree, self.env, self.value = tree, env, value


class _Closure:
    __slots__ = ("body", "env")

    def __init__(self, body, env):
        self.body, self.env = body, env


class _Neutral:  # a variable at a de Bruijn level, applied to thunks
    __slots__ = ("level", "args")

    def __init__(self, level, args=()):
        self.level, self.args = level, args


def _tree(prefix: list[int]):
    """Prefix list -> nested tuples ('v', k) / ('l', body) / ('a', f, x), built with an explicit stack."""
    out = []
    for x in reversed(prefix):  # postfix evaluation of the reversed prefix list
        if x >= 0:
            out.append(("v", x))
        elif x == LAM:
            out.append(("l", out.pop()))
        else:
            f = out.pop()
            a = out.pop()
            out.append(("a", f, a))
    (root,) = out
    return root


def _prefix(tree) -> list[int]:
    out, stack = [], [tree]
    while stack:
        node = stack.pop()
        if node[0] == "v":
            out.append(node[1])
        elif node[0] == "l":
            out.append(LAM)
            stack.append(node[1])
        else:
            out.append(APP)
            stack.append(node[2])
            stack.append(node[1])
    return out


class _Machine:
    def __init__(self, fuel: int):
        self.fuel = fuel

    def tick(self):
        self.fuel -= 1
        if self.fuel < 0:
            raise OutOfFuel

    def force(self, th: _Thunk):
        if th.value is None:
            th.value = self.eval(th.tree, th.env)
            th.tree = th.env = None
        return th.value

    def eval(self, tree, env):
        self.tick()
        kind = tree[0]
        if kind == "v":
            k = tree[1]
            for _ in range(k):  # env is a cons list: (thunk, rest)
                env = env[1]
            return self.force(env[0])
        if kind == "l":
            return _Closure(tree[1], env)
        return self.apply(self.eval(tree[1], env), _Thunk(tree[2], env))

    def apply(self, f, arg: _Thunk):
        if isinstance(f, _Closure):
            return self.eval(f.body, (arg, f.env))
        return _Neutral(f.level, (*f.args, arg))

    def quote(self, v, level: int):
        self.tick()
        if isinstance(v, _Closure):
            var = _Thunk(None, None, _Neutral(level))
            return ("l", self.quote(self.eval(v.body, (var, v.env)), level + 1))
        node = ("v", level - v.level - 1)
        for a in v.args:
            node = ("a", node, self.quote(self.force(a), level))
        return node


def normal_form(prefix: list[int], fuel: int = 1_000_000, stack_mb: int = 512) -> list[int]:
    """The normal form of a closed term (prefix list), or OutOfFuel."""
    result: dict = {}

    def run():
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, 1_000_000))
        try:
            m = _Machine(fuel)
            result["nf"] = _prefix(m.quote(m.eval(_tree(prefix), None), 0))
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            result["error"] = e
        finally:
            sys.setrecursionlimit(old)

    old_size = threading.stack_size()
    threading.stack_size(stack_mb * 2**20)
    try:
        t = threading.Thread(target=run, name="nbe")
        t.start()
    finally:
        threading.stack_size(old_size)
    t.join()
    if "error" in result:
        raise result["error"]
    return result["nf"]
