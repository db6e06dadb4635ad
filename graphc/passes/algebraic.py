"""Algebraic simplification: small local rules, each with its algebra in a comment.

A rule looks at one node (and the nodes producing its inputs) and returns the Value that
replaces the node's output, or None. A replacement must have the node's exact type (a rule
that would change the shape by dropping a broadcast does not fire). Rules are tried in the
order of ``RULES``; the rewrite sweep visits producers first, so chains simplify in one pass.

The numerically important rules turn the crossentropy of a softmax or a sigmoid, which Keras
writes with probabilities (``-sum(t * log(clip(softmax(z), eps, 1-eps)))``), into the stable
forms on logits (``log_softmax``, ``softplus``) that stay finite for logits of +-1e4.
"""
from __future__ import annotations

import numpy as np

from ..ir.graph import Graph
from ..ir.ops import apply, constant
from ..ir.ops.core import zeros_like
from .rewrite import rewrite


def const_of(v):
    """The numpy value of a constant Value, else None."""
    return v.node.attrs["value"] if v.node.op == "constant" else None


def is_const(v, c) -> bool:
    """v is a constant whose every element equals c."""
    a = const_of(v)
    return a is not None and a.size > 0 and bool(np.all(a == c))


def producer(v, op):
    """The node computing v if its op is ``op`` (single-output), else None."""
    return v.node if v.node.op == op and len(v.node.outputs) == 1 else None


def same_type(v, node) -> bool:
    return v.type == node.outputs[0].type


# -- rules ---------------------------------------------------------------------------------

def identity_arith(node):
    """x*1 -> x, 1*x -> x, x+0 -> x, 0+x -> x, x-0 -> x, x/1 -> x, x**1 -> x."""
    if len(node.inputs) != 2:
        return None
    a, b = node.inputs
    if node.op in ("mul", "add"):
        unit = 1 if node.op == "mul" else 0
        for x, c in ((a, b), (b, a)):
            if is_const(c, unit) and same_type(x, node):
                return x
    if node.op in ("sub", "div", "pow"):
        unit = 0 if node.op == "sub" else 1
        if is_const(b, unit) and same_type(a, node):
            return a
    return None


def self_sub(node):
    """x - x -> 0."""
    if node.op == "sub" and node.inputs[0] is node.inputs[1]:
        return zeros_like(node.inputs[0])
    return None


def double_neg(node):
    """-(-x) -> x."""
    if node.op == "neg":
        inner = producer(node.inputs[0], "neg")
        if inner is not None:
            return inner.inputs[0]
    return None


def add_neg(node):
    """x + (-y) -> x - y;  x - (-y) -> x + y."""
    if node.op in ("add", "sub"):
        a, b = node.inputs
        inner = producer(b, "neg")
        if inner is not None:
            out = apply("sub" if node.op == "add" else "add", a, inner.inputs[0])
            return out if same_type(out, node) else None
    return None


def pow_const(node):
    """x**2 -> square(x);  x**0.5 -> sqrt(x)."""
    if node.op == "pow":
        x, p = node.inputs
        if is_const(p, 2) and same_type(x, node):
            return apply("square", x)
        if is_const(p, 0.5) and same_type(x, node):
            return apply("sqrt", x)
    return None


def double_transpose(node):
    """transpose(transpose(x, p), q) -> transpose(x, p[q]) (or x when that is the identity)."""
    if node.op == "transpose":
        inner = producer(node.inputs[0], "transpose")
        if inner is not None:
            p, q = inner.attrs["perm"], node.attrs["perm"]
            perm = tuple(p[i] for i in q)
            x = inner.inputs[0]
            if perm == tuple(range(len(perm))):
                return x
            return apply("transpose", x, perm=perm)
    return None


def double_reshape(node):
    """reshape(reshape(x)) -> reshape(x);  reshape(x) to x's own static shape -> x."""
    if node.op == "reshape":
        x = node.inputs[0]
        inner = producer(x, "reshape")
        if inner is not None:
            return apply("reshape", inner.inputs[0], **node.attrs)
        if x.type.static and same_type(x, node):
            return x
    return None


def exp_log(node):
    """exp(log(x)) -> x;  log(exp(x)) -> x."""
    pairs = {"exp": "log", "log": "exp"}
    if node.op in pairs:
        inner = producer(node.inputs[0], pairs[node.op])
        if inner is not None:
            return inner.inputs[0]
    return None


def _strip_clip(v):
    """The value under clip(v, lo, hi) with lo > 0 tiny and hi < 1 near 1 (Keras's epsilon
    clip of probabilities), else v."""
    clip = producer(v, "clip")
    if clip is not None:
        lo, hi = clip.attrs.get("min"), clip.attrs.get("max")
        if lo is not None and hi is not None and 0 <= lo <= 1e-3 and 1 - 1e-3 <= hi <= 1:
            return clip.inputs[0]
    return v


def _softmax_of(v):
    """(logits, axis) if v is softmax(z), or softmax(z) / sum(softmax(z), axis, keepdims)."""
    sm = producer(v, "softmax")
    if sm is not None:
        return sm.inputs[0], sm.attrs["axis"]
    div = producer(v, "div")
    if div is not None:
        num, den = div.inputs
        s = producer(den, "sum")
        inner = producer(num, "softmax")
        if inner is not None and s is not None and s.inputs[0] is num and s.attrs["keepdims"] \
                and tuple(s.attrs["axes"]) == (inner.attrs["axis"] % num.ndim,):
            return inner.inputs[0], inner.attrs["axis"]
    return None


def log_softmax(node):
    """log(softmax(z)) -> log_softmax(z), also through Keras's eps-clip and renormalisation:
    log(clip(softmax(z) / sum(softmax(z)), eps, 1-eps)) -> log_softmax(z)."""
    if node.op == "log":
        found = _softmax_of(_strip_clip(node.inputs[0]))
        if found is not None:
            z, axis = found
            out = apply("log_softmax", z, axis=axis)
            return out if same_type(out, node) else None
    return None


def log_sigmoid(node):
    """log(sigmoid(z)) -> -softplus(-z);  log(1 - sigmoid(z)) -> -softplus(z)
    (also through the eps-clip), the stable binary crossentropy on logits."""
    if node.op != "log":
        return None
    x = _strip_clip(node.inputs[0])
    sig = producer(x, "sigmoid")
    if sig is not None:
        return apply("neg", apply("softplus", apply("neg", sig.inputs[0])))
    sub = producer(x, "sub")
    if sub is not None and is_const(sub.inputs[0], 1):
        sig = producer(_strip_clip(sub.inputs[1]), "sigmoid")
        if sig is not None:
            out = apply("neg", apply("softplus", sig.inputs[0]))
            return out if same_type(out, node) else None
    return None


def mean_to_sum(node):
    """mean(x, axes) -> sum(x, axes) * (1/N) when N, the count of reduced elements, is static."""
    if node.op == "mean":
        x = node.inputs[0]
        dims = [x.shape[a] for a in node.attrs["axes"]]
        if all(isinstance(d, int) for d in dims):
            n = int(np.prod(dims)) if dims else 1
            s = apply("sum", x, axes=node.attrs["axes"], keepdims=node.attrs["keepdims"])
            return apply("mul", s, constant(np.asarray(1.0 / max(n, 1), dtype=x.dtype)))
    return None


RULES = [identity_arith, self_sub, double_neg, add_neg, pow_const, double_transpose,
         double_reshape, exp_log, log_softmax, log_sigmoid, mean_to_sum]


def simplify(graph: Graph, rules=None) -> Graph:
    """Apply the algebraic rules once over the graph (producers first)."""
    rules = RULES if rules is None else rules

    def rule(node):
        for r in rules:
            out = r(node)
            if out is not None:
                return [out]
        return None

    return rewrite(graph, rule)
