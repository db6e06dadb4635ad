"""A thousand random graphs per run, optimised by the ``fast_run`` pipeline and compiled, against
the reference interpreter (``graphc.ir.evaluate``): values, K.gradients and variable updates, at
two batch sizes; float64 graphs also against central finite differences.

The graphs mix elementwise chains, broadcasts, reductions along an axis, matmul / dot,
reshape / transpose / slicing, concatenate and softmax over placeholders and variables.
Compiling a thousand functions would take ~10 minutes, so each hypothesis example draws
GRAPHS_PER_FUNCTION independent graphs (own placeholders, own variables) and compiles them as
the outputs and updates of ONE function; every graph is then checked on its own.

Every run of the suite compiles FUNCTIONS = 3 functions (120 graphs) from fixed examples
(``derandomize``: the same graphs each run, so CI is repeatable); ``GRAPHC_RANDOM_GRAPHS_MANY=1``
draws 25 new functions (1000 graphs) -- about 9 to 12 minutes cold on the loaded 2-core dev
machine (gradient graphs dominate the compile), beyond the suite's budget today. The full run
found an output that is a view of an updated variable returning the update (fixed, see
tests/codegen/test_update_views.py).
"""
from __future__ import annotations

import os
import warnings

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import graphc.backend as K
from graphc.codegen import compile_graph
from graphc.ir import Graph, TensorType, apply, evaluate, source
from graphc.ir.node import Variable
from graphc.ir.printer import format_graph
from graphc.passes import optimize

MANY = os.environ.get("GRAPHC_RANDOM_GRAPHS_MANY") == "1"
FUNCTIONS = 25 if MANY else 3   # hypothesis examples, one compiled function each
GRAPHS_PER_FUNCTION = 40        # 25 x 40 = 1000 graphs per full run
BATCHES = (2, 5)                # the symbolic batch size B at which each function is called
FLOAT64_EVERY = 4               # every 4th graph is float64
# Graphs 0 and 1 of every 8 also get K.gradients of a loss and variable updates (a gradient
# step on W, a running average on v); graph 0 is float64, so its gradients are also checked
# against finite differences. Gradients are where compile time goes (~0.4 s per graph cold on
# 2 busy cores, against ~0.04 s for a graph without), hence not on every graph.
GRADIENTS_EVERY = 8

SMOOTH_UNARY = ["neg", "tanh", "sigmoid", "square", "softplus", "exp_tanh"]
KINKED_UNARY = ["abs", "relu"]
SMOOTH_BINARY = ["add", "sub", "mul"]
KINKED_BINARY = ["maximum", "minimum"]


class _Case:
    """One random graph: its placeholders and variables, outputs, loss, gradients, updates."""

    def __init__(self, index, dtype, smooth):
        self.index, self.dtype, self.smooth = index, dtype, smooth
        self.with_gradients = index % GRADIENTS_EVERY in (0, 1)
        self.inputs, self.variables, self.outputs = [], [], []
        self.loss, self.wrt, self.grads, self.updates = None, [], [], []


def _placeholder(shape, name, dtype):
    return source("input", TensorType(dtype, shape), name=name)


def _variable(array, name):
    var = Variable(array, name)
    return source("variable", TensorType(array.dtype.name, array.shape), name=name, var=var), var


def _broadcastable(s1, s2):
    """True when the shapes broadcast for every batch size (B pairs only with B or 1)."""
    for d1, d2 in zip(reversed(s1), reversed(s2)):
        if d1 != d2 and d1 != 1 and d2 != 1:
            return False
    return True


def _op(draw, pool, case):
    """One random node over values of ``pool``, or None when the draw does not fit."""
    kind = draw(st.sampled_from(["unary", "unary", "binary", "binary", "reduce", "matmul",
                                 "shape", "concat", "softmax"]))
    a = draw(st.sampled_from(pool))
    if kind == "unary":
        name = draw(st.sampled_from(SMOOTH_UNARY + ([] if case.smooth else KINKED_UNARY)))
        if name == "exp_tanh":                           # exp of a bounded value stays finite
            return apply("exp", apply("tanh", a))
        return apply(name, apply("tanh", a) if name == "square" else a)
    if kind == "binary":
        b = draw(st.sampled_from(pool))
        name = draw(st.sampled_from(SMOOTH_BINARY + ([] if case.smooth else KINKED_BINARY)))
        return apply(name, a, b) if _broadcastable(a.shape, b.shape) else None
    if a.ndim == 0:
        return None
    if kind == "reduce":
        axis = draw(st.integers(0, a.ndim - 1))
        name = draw(st.sampled_from(["sum", "mean"] + ([] if case.smooth else ["max"])))
        return apply(name, a, axes=(axis,), keepdims=draw(st.booleans()))
    if kind == "softmax":
        return apply("softmax", a, axis=draw(st.integers(-a.ndim, a.ndim - 1)))
    if kind == "matmul":
        if a.ndim != 2 or a.shape[-1] != 4:
            return None
        w = case.variables[0][0]                         # the (4, 4) weight
        if draw(st.booleans()):
            return apply("matmul", a, w)
        return apply("dot", a, apply("transpose", apply("tanh", w)))
    if kind == "concat":
        others = [b for b in pool if b.ndim == a.ndim and b.ndim >= 1
                  and b.shape[:-1] == a.shape[:-1]]
        if not others:
            return None
        return apply("concatenate", a, draw(st.sampled_from(others)), axis=-1)
    # shape ops
    choice = draw(st.sampled_from(["transpose", "reshape", "slice"]))
    if choice == "transpose":
        return apply("transpose", a) if a.ndim >= 2 else None
    if choice == "reshape":
        if a.shape[-1] == 4 and all(isinstance(d, int) or d == "B" for d in a.shape):
            return apply("reshape", a, shape=tuple(-1 if d == "B" else d for d in a.shape[:-1])
                         + (2, 2))
        if a.ndim >= 2 and all(isinstance(d, int) for d in a.shape[1:]):
            lead = -1 if a.shape[0] == "B" else a.shape[0]
            return apply("reshape", a, shape=(lead, int(np.prod(a.shape[1:]))))
        return None
    static = [ax for ax, d in enumerate(a.shape) if isinstance(d, int) and d >= 2]
    if not static:
        return None
    axis = draw(st.sampled_from(static))
    n = a.shape[axis]
    begin = draw(st.integers(0, n - 1))
    end = draw(st.integers(begin + 1, n))
    step = draw(st.sampled_from([1, 1, 2]))
    pad = (None,) * axis
    return apply("slice", a, begin=pad + (begin,), end=pad + (end,),
                 step=(1,) * axis + (step,))


@st.composite
def _case(draw, index):
    dtype = "float64" if index % FLOAT64_EVERY == 0 else "float32"
    case = _Case(index, dtype, smooth=index % GRADIENTS_EVERY == 0)
    npdt = np.dtype(dtype)
    x = _placeholder(("B", 4), f"x{index}", dtype)
    c = _placeholder(("B", 1), f"c{index}", dtype)
    r = _placeholder((4,), f"r{index}", dtype)
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 31)))
    W = _variable((rng.uniform(-0.6, 0.6, (4, 4))).astype(npdt), f"W{index}")
    v = _variable((rng.uniform(-1, 1, (4,))).astype(npdt), f"v{index}")
    case.inputs = [x, c, r]
    case.variables = [W, v]
    pool = [x, c, r, W[0], v[0]]
    for _ in range(draw(st.integers(2, 7))):
        node = _op(draw, pool, case)
        if node is not None:
            pool.append(node)
    made = pool[5:]
    case.outputs = made[-2:] if made else [apply("tanh", x)]
    total = None
    for out in case.outputs:
        term = apply("sum", apply("tanh", out), axes=tuple(range(out.ndim)))
        total = term if total is None else apply("add", total, term)
    case.loss = total
    if not case.with_gradients:
        return case
    case.wrt = [x, c, W[0], v[0]]
    case.grads = K.gradients(case.loss, case.wrt)
    # a training step on W and a running statistic on v
    case.updates = [(W[0], W[0] - 0.1 * case.grads[2]),
                    (v[0], 0.9 * v[0] + 0.1 * case.grads[3])]
    return case


@st.composite
def _batch(draw):
    return [draw(_case(i)) for i in range(GRAPHS_PER_FUNCTION)]


def _feeds(case, batch, rng):
    npdt = np.dtype(case.dtype)
    shapes = [(batch, 4), (batch, 1), (4,)]
    return {v: rng.uniform(-1, 1, s).astype(npdt) for v, s in zip(case.inputs, shapes)}


def _values(case):
    return case.outputs + ([case.loss] + case.grads if case.with_gradients else [])


def _tolerances(dtype):
    return (1e-9, 1e-10) if dtype == "float64" else (2e-4, 2e-5)


def _check_finite_differences(case, feeds, grads, where):
    """float64: the compiled gradient of each placeholder against central differences of the
    interpreter's loss, at up to 4 coordinates per placeholder."""
    rng = np.random.default_rng(case.index)
    for value, g in zip(case.wrt[:2], grads[:2]):
        base = feeds[value]
        flat = base.reshape(-1)
        for i in rng.choice(flat.size, size=min(4, flat.size), replace=False):
            h = 1e-6
            plus, minus = dict(feeds), dict(feeds)
            plus[value] = base.copy()
            plus[value].reshape(-1)[i] += h
            minus[value] = base.copy()
            minus[value].reshape(-1)[i] -= h
            fd = (evaluate([case.loss], plus)[0] - evaluate([case.loss], minus)[0]) / (2 * h)
            assert abs(g.reshape(-1)[i] - fd) <= 1e-5 * max(1.0, abs(fd)), (
                f"{where}: d loss / d {value.name}[{i}]: compiled {g.reshape(-1)[i]!r}, "
                f"finite differences {fd!r}")


@settings(max_examples=FUNCTIONS, deadline=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.reuse, Phase.generate], derandomize=not MANY,
          database=None)
@given(_batch(), st.integers(0, 2 ** 16))
def test_many_random_graphs_compiled_match_the_interpreter(cases, seed):
    inputs = [v for case in cases for v in case.inputs]
    outputs = [v for case in cases for v in _values(case)]
    updates = [u for case in cases for u in case.updates]
    graph = Graph(inputs, outputs, updates, name="many_random")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        optimized, _ = optimize(graph, "fast_run")
        fn = compile_graph(optimized)
    rng = np.random.default_rng(seed)
    initial = [[var.value.copy() for _, var in case.variables] for case in cases]
    for batch in BATCHES:
        feeds = [_feeds(case, batch, rng) for case in cases]
        for case, start in zip(cases, initial):
            for (_, var), value in zip(case.variables, start):
                var.value = value.copy()
        expected = []
        for case, feed in zip(cases, feeds):
            values = _values(case) + [new for _, new in case.updates]
            expected.append(evaluate(values, feed))
        for case, start in zip(cases, initial):         # the interpreter does not update
            for (_, var), value in zip(case.variables, start):
                var.value = value.copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            got = fn([feed[v] for case, feed in zip(cases, feeds) for v in case.inputs])
        pos = 0
        for case, feed, ref in zip(cases, feeds, expected):
            n = len(_values(case))
            mine = list(got[pos:pos + n]) + [var.value for _, var in case.variables]
            pos += n
            where = (f"graph {case.index} ({case.dtype}) at batch {batch}:\n"
                     f"{format_graph(Graph(case.inputs, case.outputs))}")
            rtol, atol = _tolerances(case.dtype)
            for j, (a, r) in enumerate(zip(mine, ref)):
                r = np.asarray(r)
                assert a.shape == r.shape and a.dtype == r.dtype, (
                    f"{where}\nresult {j}: {a.dtype}{a.shape} vs interpreter {r.dtype}{r.shape}")
                scale = max(1.0, float(np.max(np.abs(r)))) if r.size else 1.0
                np.testing.assert_allclose(a, r, rtol=rtol, atol=atol * scale,
                                           err_msg=f"{where}\nresult {j}")
            if case.dtype == "float64" and case.with_gradients:
                for (_, var), value in zip(case.variables, initial[case.index]):
                    var.value = value.copy()      # the loss before this call's updates
                _check_finite_differences(case, feed, list(mine[len(case.outputs) + 1:]),
                                          where)
