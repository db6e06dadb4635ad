"""Whole graphs compiled vs the reference interpreter: gradients of composites (an MLP loss,
a softmax classifier), a training step with Adam updates, and hypothesis-generated random
DAGs of elementwise, broadcasting, reduction, matmul and shape ops."""
from __future__ import annotations

import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphc.codegen import compile_graph
from graphc.ir import Graph, TensorType, apply, evaluate, source
from graphc.ir.node import Variable
from graphc.ir.autodiff import gradients
from graphc.passes.fuse import fuse


def _ph(shape, name, dtype="float32"):
    return source("input", TensorType(dtype, shape), name=name)


def _var(arr, name):
    v = Variable(np.array(arr), name)
    return source("variable", TensorType(v.value.dtype.name, v.value.shape), name=name, var=v), v


def _mlp(rng):
    x, y = _ph(("B", 6), "x"), _ph(("B", 3), "y")
    W1, _ = _var(rng.normal(size=(6, 5)).astype(np.float32) * 0.5, "W1")
    b1, _ = _var(np.full(5, 0.1, np.float32), "b1")
    W2, _ = _var(rng.normal(size=(5, 3)).astype(np.float32) * 0.5, "W2")
    b2, _ = _var(np.zeros(3, np.float32), "b2")
    h = apply("tanh", apply("matmul", x, W1) + b1)
    logits = apply("matmul", h, W2) + b2
    loss = apply("mean", apply("softmax_cross_entropy", logits, y))
    return x, y, [W1, b1, W2, b2], loss


def test_mlp_loss_gradients_match_the_interpreter():
    rng = np.random.default_rng(0)
    x, y, params, loss = _mlp(rng)
    grads = gradients(loss, params)
    g = Graph([x, y], [loss] + grads, name="mlp_grads")
    fn = compile_graph(fuse(g))
    assert fn.stats["python_nodes"] == 0
    xa = rng.normal(size=(7, 6)).astype(np.float32)
    ya = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 7)]
    got = fn([xa, ya])
    ref = evaluate(g.outputs, {x: xa, y: ya})
    for a, r in zip(got, ref):
        assert a.shape == r.shape and a.dtype == np.float32
        np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-6)


def test_sgd_training_step_updates_match_the_interpreter():
    rng = np.random.default_rng(1)
    x, y, params, loss = _mlp(rng)
    grads = gradients(loss, params)
    updates = [(p, p - 0.1 * gr) for p, gr in zip(params, grads)]
    g = Graph([x, y], [loss], updates, name="sgd_step")
    start = [p.node.attrs["var"].value.copy() for p in params]
    xa = rng.normal(size=(4, 6)).astype(np.float32)
    ya = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 4)]
    # reference: evaluate twice from the same start with Theano semantics
    expected_losses, state = [], [s.copy() for s in start]
    for _ in range(2):
        for p, s in zip(params, state):
            p.node.attrs["var"].value = s.copy()
        vals = evaluate([loss] + [n for _, n in updates], {x: xa, y: ya})
        expected_losses.append(vals[0])
        state = vals[1:]
    for p, s in zip(params, start):
        p.node.attrs["var"].value = s.copy()
    fn = compile_graph(fuse(g))
    losses = [fn([xa, ya])[0] for _ in range(2)]
    np.testing.assert_allclose(losses, expected_losses, rtol=1e-5)
    for p, s in zip(params, state):
        np.testing.assert_allclose(p.node.attrs["var"].value, s, rtol=1e-5, atol=1e-7)


# -- random DAGs -------------------------------------------------------------------------------

UNARY = ["neg", "exp", "tanh", "sigmoid", "abs", "square", "relu", "softplus"]
BINARY = ["add", "sub", "mul", "maximum", "minimum"]


def _build_random_graph(draw, shapes):
    """A random DAG over inputs of shape (4, 3) / (3,) / (4, 1) and their combinations."""
    x = _ph((4, 3), "x")
    r = _ph((3,), "r")
    c = _ph((4, 1), "c")
    pool = [x, r, c]
    n_ops = draw(st.integers(3, 9))
    for _ in range(n_ops):
        kind = draw(st.sampled_from(["unary", "binary", "binary", "reduce", "matmul",
                                     "shape"]))
        a = draw(st.sampled_from(pool))
        if kind == "unary":
            v = apply(draw(st.sampled_from(UNARY)), apply("tanh", a) if a.ndim else a)
        elif kind == "binary":
            b = draw(st.sampled_from(pool))
            try:
                v = apply(draw(st.sampled_from(BINARY)), a, b)
            except ValueError:
                continue
        elif kind == "reduce":
            if a.ndim == 0:
                continue
            axis = draw(st.integers(0, a.ndim - 1))
            v = apply(draw(st.sampled_from(["sum", "max", "mean"])), a, axes=(axis,),
                      keepdims=draw(st.booleans()))
        elif kind == "matmul":
            if a.shape != (4, 3):
                continue
            w = apply("transpose", a) if draw(st.booleans()) else None
            v = apply("matmul", a, w) if w is not None else apply("matmul", a, apply(
                "transpose", apply("exp", a)))
        else:
            if a.ndim != 2:
                continue
            v = apply("transpose", a) if draw(st.booleans()) else apply(
                "reshape", a, shape=(-1,))
        pool.append(v)
    outs = pool[3:][-3:] or [x]
    return Graph([x, r, c], outs, name="random")


@st.composite
def random_graphs(draw):
    return _build_random_graph(draw, None)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(random_graphs(), st.integers(0, 2 ** 16))
def test_random_dags_match_the_interpreter(graph, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=v.shape).astype(np.float32) for v in graph.inputs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fn = compile_graph(fuse(graph))
        got = fn(arrays)
    ref = evaluate(graph.outputs, dict(zip(graph.inputs, arrays)))
    for a, r in zip(got, ref):
        assert a.shape == r.shape and a.dtype == r.dtype
        np.testing.assert_allclose(a, r, rtol=2e-5, atol=2e-6)
