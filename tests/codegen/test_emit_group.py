"""Horizontal fusion (graphc/codegen/cpu/emit_group.py): fused kernels with the same body,
such as an optimiser's update of each variable, run as one loop over their instances; the
results equal the interpreter's and the kernels emitted one by one."""
from __future__ import annotations

import re

import numpy as np
import pytest

from graphc.codegen.cpu.emit_group import group_key, plan_groups
from graphc.codegen.cpu.lower import lower
from graphc.codegen.executor import build
from graphc.ir import Graph, TensorType, apply, constant, evaluate, source
from graphc.ir.node import Variable
from graphc.passes.fuse import fuse

SHAPES = [(6, 5), (5,), (5, 3), (3,)]


def _var(arr, name):
    v = Variable(np.array(arr, np.float32), name)
    return source("variable", TensorType("float32", v.value.shape), name=name, var=v), v


def _momentum_graph(lr_per_var=False):
    """Momentum SGD on four variables of different shapes, gradient = x-dependent scale of
    the variable: m <- 0.9 m + g; w <- w - lr * m (two outputs per kernel, one body)."""
    rng = np.random.default_rng(0)
    x = source("input", TensorType("float32", ()), name="x")
    lr = source("input", TensorType("float32", ()), name="lr")
    updates, state = [], []
    for k, shape in enumerate(SHAPES):
        w, wv = _var(rng.normal(size=shape), f"w{k}")
        m, mv = _var(np.zeros(shape), f"m{k}")
        grad = apply("tanh", w * x)                      # not part of the update kernel's body
        step = (lr * float(k + 1)) if lr_per_var else lr
        m_new = m * 0.9 + grad
        updates += [(m, m_new), (w, w - step * m_new)]
        state += [wv, mv]
    return Graph([x, lr], [x * 1.0], updates=updates), (x, lr), state


def _run(graph, state, feeds, parallel=False, steps=3):
    """Compile and call ``steps`` times; the variables' values after each call."""
    start = [v.value.copy() for v in state]
    fn = build(graph, lower(graph, parallel=parallel), bool(parallel))
    out = []
    for _ in range(steps):
        fn(list(feeds))
        out.append([v.value.copy() for v in state])
    for v, a in zip(state, start):
        v.value[...] = a
    return fn, out


def _reference(graph, state, inputs, feeds, steps=3):
    start = [v.value.copy() for v in state]
    out = []
    for _ in range(steps):
        news = evaluate([new for _, new in graph.updates], dict(zip(inputs, feeds)))
        for (var, _), a in zip(graph.updates, news):
            var.node.attrs["var"].value[...] = a
        out.append([v.value.copy() for v in state])
    for v, a in zip(state, start):
        v.value[...] = a
    return out


def test_updates_of_four_variables_share_one_loop_body_and_match_the_interpreter():
    graph, inputs, state = _momentum_graph()
    fused = fuse(graph)
    kernels = [n for n in fused.nodes() if n.op == "fused" and len(n.outputs) == 2]
    assert len(kernels) == 4 and len({group_key(n) for n in kernels}) == 1
    feeds = [np.float32(0.5), np.float32(0.1)]
    fn, got = _run(fused, state, feeds)
    src = fn.program.source
    assert len(re.findall(r"for g\d+ in range\(4\):", src)) == 1
    assert len(re.findall(r"= [ox]\d+ - e\d+", src)) == 1   # w - lr * m appears once
    want = _reference(graph, state, inputs, feeds)
    for g_step, w_step in zip(got, want):
        for a, b in zip(g_step, w_step):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_a_different_scalar_per_member_is_read_from_a_tuple():
    graph, inputs, state = _momentum_graph(lr_per_var=True)
    fused = fuse(graph)
    feeds = [np.float32(0.5), np.float32(0.1)]
    fn, got = _run(fused, state, feeds)
    src = fn.program.source
    assert re.search(r"gs\d+ = \(", src), "per-member scalars go through a tuple"
    want = _reference(graph, state, inputs, feeds)
    for a, b in zip(got[-1], want[-1]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_parallel_loops_are_emitted_one_by_one_with_the_same_results():
    graph, inputs, state = _momentum_graph()
    fused = fuse(graph)
    feeds = [np.float32(0.5), np.float32(0.1)]
    fn, got = _run(fused, state, feeds, parallel=True)
    assert not re.search(r"for g\d+ in range\(", fn.program.source)
    _, serial = _run(fused, state, feeds)
    for a, b in zip(got[-1], serial[-1]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_a_kernel_whose_output_is_read_before_the_last_stays_in_place():
    x = source("input", TensorType("float32", (4,)), name="x")
    y = source("input", TensorType("float32", (4,)), name="y")
    a = apply("exp", x * 2.0 + 1.0)                     # kernel 1
    b = apply("exp", apply("sum", a) * y * 2.0 + 1.0)   # reads a through the sum
    c = apply("exp", y * 2.0 + 1.0)                     # kernel 3, same body as kernel 1
    g = fuse(Graph([x, y], [b, c]))
    nodes = g.nodes()
    order, groups = plan_groups(nodes)
    k1 = next(n for n in nodes if n.op == "fused" and n.inputs[0] is x)
    assert all(k1 not in grp for grp in groups)
    assert order.index(k1) < order.index(next(n for n in nodes if n.op == "sum"))
    xa = np.arange(4, dtype=np.float32) / 4
    ya = np.ones(4, np.float32) / 8
    fn = build(g, lower(g), False)
    for got, want in zip(fn([xa, ya]), evaluate(g.outputs, {x: xa, y: ya})):
        np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize("other", [
    lambda m, g: m * 0.8 + g,          # another constant
    lambda m, g: m * 0.9 - g,          # another op
])
def test_kernels_with_different_bodies_get_different_keys(other):
    m = source("input", TensorType("float32", (3,)), name="m")
    gr = source("input", TensorType("float32", (3,)), name="g")
    k1 = fuse(Graph([m, gr], [m * 0.9 + gr])).nodes()[-1]
    k2 = fuse(Graph([m, gr], [other(m, gr)])).nodes()[-1]
    assert k1.op == k2.op == "fused"
    assert group_key(k1) is not None and group_key(k1) != group_key(k2)


def test_a_constant_and_a_variable_in_one_operand_position_are_not_grouped():
    # numba types a graph constant as a read-only array: a tuple of it and a writable array
    # cannot be indexed at run time, so such kernels are emitted one by one
    x = source("input", TensorType("float32", (300,)), name="x")
    w, _ = _var(np.linspace(1, 2, 300), "w")
    k = constant(np.linspace(0, 1, 300).astype(np.float32))
    g = fuse(Graph([x], [apply("exp", x * k + 1.0), apply("exp", x * w + 1.0)]))
    assert len({group_key(n) for n in g.nodes() if n.op == "fused"}) == 1
    fn = build(g, lower(g), False)
    assert not re.search(r"for g\d+ in range\(", fn.program.source)
    xa = np.random.default_rng(0).normal(size=300).astype(np.float32)
    for got, want in zip(fn([xa]), evaluate(g.outputs, {x: xa})):
        np.testing.assert_allclose(got, want, rtol=1e-5)
