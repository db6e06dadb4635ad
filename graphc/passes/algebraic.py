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
from ..ir.ops import REGISTRY, apply, constant
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


def _slice_piece(v):
    """(axis, begin, end, g) if v is slice_grad(g, x) writing g into ONE contiguous span
    [begin, end) of a static axis of x, every other axis taken whole with step 1; else None."""
    sg = producer(v, "slice_grad")
    if sg is None:
        return None
    g, x = sg.inputs
    a = sg.attrs
    axis = None
    for ax, (b, e, s) in enumerate(zip(a["begin"], a["end"], a["step"])):
        d = x.shape[ax]
        whole = s == 1 and b in (None, 0) and (e is None or e == d)
        if whole:
            continue
        if axis is not None or s != 1 or not isinstance(d, int):
            return None
        axis = ax
    if axis is None:
        return None
    b, e = a["begin"][axis], a["end"][axis]
    b = 0 if b is None else b
    e = x.shape[axis] if e is None else e
    return axis, b, e, g


def slice_grads_to_concat(node):
    """add(slice_grad(g1, x, [b1:e1]), slice_grad(g2, x, [b2:e2]), ...) over disjoint spans
    of one axis that together cover it -> concatenate(g_i in span order).

    Each slice_grad is zeros with g_i written into its span; spans that are disjoint and cover
    the axis leave no element zero and none summed twice, so the sum IS the pieces side by side.
    The sum may be any tree of adds (autodiff builds a chain: ((sg1 + sg2) + sg3) + sg4); the
    gradient of a step that slices one product into gates (an LSTM's i, f, c, o) is this form.
    """
    if node.op != "add":
        return None
    t = node.outputs[0].type
    pieces, stack = [], list(node.inputs)
    while stack:
        v = stack.pop()
        if v.type != t:         # a broadcasting add: not a sum of whole-shape pieces
            return None
        inner = producer(v, "add")
        if inner is not None:
            stack.extend(inner.inputs)
            continue
        piece = _slice_piece(v)
        if piece is None:
            return None
        pieces.append(piece)
    axes = {p[0] for p in pieces}
    if len(axes) != 1:
        return None
    axis = axes.pop()
    pieces.sort(key=lambda p: p[1])
    pos = 0
    for _, b, e, _ in pieces:
        if b != pos or e < b:
            return None
        pos = e
    if pos != t.shape[axis]:
        return None
    out = apply("concatenate", *[p[3] for p in pieces], axis=axis)
    return out if same_type(out, node) else None


# -- transposes of time-major recurrent inputs ------------------------------------------------
# A recurrent layer projects its batch-major input (B, T, F) @ W and the loop wants it
# time-major: transpose((x @ W) + b, (1, 0, 2)). Moving the transpose onto x (F features,
# usually far fewer than the 4*units of the projection) and, in the gradient, folding the
# transpose of the stacked cotangent into the contraction and the bias's sum, saves two
# transposed copies of the largest tensor of the step.

def _fixes_last(perm, k: int) -> bool:
    n = len(perm)
    return all(perm[i] == i for i in range(n - k, n))


def transpose_of_dot(node):
    """transpose(dot(x, W), p) -> dot(transpose(x, p), W) for a matrix W and p fixing the last
    axis: dot contracts only x's last axis, so permuting the others commutes with it."""
    if node.op != "transpose":
        return None
    d = producer(node.inputs[0], "dot")
    perm = node.attrs["perm"]
    if d is None or d.inputs[1].ndim != 2 or not _fixes_last(perm, 1):
        return None
    out = apply("dot", apply("transpose", d.inputs[0], perm=perm), d.inputs[1])
    return out if same_type(out, node) else None


def transpose_of_bias_add(node):
    """transpose(a + c, p) -> transpose(a, p) + c when c has fewer axes than a and p fixes the
    trailing axes c aligns with: c broadcasts over exactly the axes p moves. The new
    transpose(a, p) is simplified at once (transpose_of_dot)."""
    if node.op != "transpose":
        return None
    add = producer(node.inputs[0], "add")
    if add is None:
        return None
    perm = node.attrs["perm"]
    x = add.outputs[0]
    for a, c in (add.inputs, add.inputs[::-1]):
        if a.type == x.type and c.ndim < a.ndim and _fixes_last(perm, c.ndim) and \
                tuple(perm) != tuple(range(len(perm))):
            moved = apply("transpose", a, perm=perm)
            better = transpose_of_dot(moved.node)
            moved = moved if better is None else better
            out = apply("add", moved, c)
            return out if same_type(out, node) else None
    return None


def tensordot_of_transpose(node):
    """tensordot(a, transpose(g, p), (A, B)) -> tensordot(a, g, (A', B')) when p leaves g's
    free axes in place: the contraction pairs a's axis A[i] with g's axis p[B[i]]. Pairs are
    listed in g's axis order, so g (the large cotangent) is read as it lies."""
    if node.op != "tensordot":
        return None
    t = producer(node.inputs[1], "transpose")
    if t is None:
        return None
    perm = t.attrs["perm"]
    ax_a, ax_b = node.attrs["axes"]
    if any(perm[j] != j for j in range(len(perm)) if j not in ax_b):
        return None
    pairs = sorted(zip((perm[j] for j in ax_b), ax_a))
    axes = (tuple(i for _, i in pairs), tuple(j for j, _ in pairs))
    out = apply("tensordot", node.inputs[0], t.inputs[0], axes=axes)
    return out if same_type(out, node) else None


def sum_of_transpose(node):
    """sum(transpose(x, p), A) -> sum(x, p[A]) when the axes kept stay in their order (and
    keepdims is off): a sum does not depend on the order of the axes it adds over."""
    if node.op != "sum" or node.attrs["keepdims"]:
        return None
    t = producer(node.inputs[0], "transpose")
    axes = node.attrs["axes"]
    if t is None:
        return None
    if axes is None:                                  # sum of every element
        return apply("sum", t.inputs[0], axes=None, keepdims=False)
    perm = t.attrs["perm"]
    kept = [perm[i] for i in range(len(perm)) if i not in axes]
    if kept != sorted(kept):
        return None
    out = apply("sum", t.inputs[0], axes=tuple(sorted(perm[a] for a in axes)), keepdims=False)
    return out if same_type(out, node) else None


def slice_of_bias_add(node):
    """slice(a + c, S) -> slice(a, S) + slice(c, S') when c has fewer axes than a (a bias
    broadcast over a's leading axes): element-by-element addition commutes with taking a
    block, and c's block is S on the trailing axes c aligns with (whole where c has size 1).
    A loop step's gate columns of (x_t + b) then read x_t and b, not a new sum."""
    if node.op != "slice":
        return None
    add = producer(node.inputs[0], "add")
    if add is None:
        return None
    x = add.outputs[0]
    a_attrs = node.attrs
    for a, c in (add.inputs, add.inputs[::-1]):
        if a.type != x.type or c.ndim >= a.ndim or c.dtype != a.dtype:
            continue
        lead = a.ndim - c.ndim
        begin, end, step = [], [], []
        for k in range(c.ndim):
            b, e, st = (a_attrs[key][lead + k] for key in ("begin", "end", "step"))
            if c.shape[k] == 1:
                b, e, st = None, None, 1
            elif c.shape[k] != a.shape[lead + k]:
                return None
            begin.append(b)
            end.append(e)
            step.append(st)
        out = apply("add", apply("slice", a, **a_attrs),
                    apply("slice", c, begin=tuple(begin), end=tuple(end), step=tuple(step)))
        return out if same_type(out, node) else None
    return None


def _one_element(v) -> bool:
    return all(d == 1 for d in v.shape)


def elementwise_of_broadcast(node):
    """An elementwise op reading ``b = broadcast_like(s, ref)`` of a one-element ``s``:

    * ``f(b, y) -> f(s, y)`` when ``y`` already gives the result its shape (f(s, y) has the
      node's type, every dim known or a symbol): broadcasting s inside f is the same;
    * ``f(b, c) -> broadcast_like(f(s, c), ref)`` when the other operands are one element
      too (f(s, c) has s's type): a scalar op commutes with the broadcast.

    A mean's gradient starts as ``broadcast_like(1.0, x) / n / ...`` times the weights: the
    broadcast moves past the scalar ops and vanishes into the product with the weights, so
    no array of ones is written and read back."""
    opdef = REGISTRY.get(node.op)
    if opdef is None or opdef.kind != "elementwise" or len(node.outputs) != 1 or \
            any(d is None for d in node.outputs[0].shape):
        return None
    for i, v in enumerate(node.inputs):
        b = producer(v, "broadcast_like")
        if b is None or not _one_element(b.inputs[0]):
            continue
        sv = b.inputs[0]
        args = list(node.inputs)
        args[i] = sv
        out = apply(node.op, *args, **node.attrs)
        if same_type(out, node):
            return out
        if all(_one_element(w) for j, w in enumerate(node.inputs) if j != i) and \
                out.type == sv.type:
            out = apply("broadcast_like", out, b.inputs[1], **b.attrs)
            return out if same_type(out, node) else None
    return None


RULES = [identity_arith, self_sub, double_neg, add_neg, pow_const, double_transpose,
         double_reshape, exp_log, log_softmax, log_sigmoid, mean_to_sum,
         slice_grads_to_concat, transpose_of_bias_add, transpose_of_dot,
         tensordot_of_transpose, sum_of_transpose, slice_of_bias_add,
         elementwise_of_broadcast]


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
