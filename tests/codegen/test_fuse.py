"""The fusion pass: elementwise regions become single fused nodes computing the same values."""
from __future__ import annotations

import numpy as np

from graphc.ir import Graph, TensorType, apply, evaluate, source
from graphc.passes.fuse import find_regions, fuse


def _ph(shape, name="x", dtype="float32"):
    return source("input", TensorType(dtype, shape), name=name)


def _compute_ops(graph):
    return [n.op for n in graph.nodes() if n.inputs]


def test_six_chained_elementwise_ops_become_one_fused_node():
    x = _ph(("B", 16))
    b = _ph((16,), "b")
    y = apply("exp", apply("tanh", apply("neg", x * 2.0 + b) - 1.0))
    g = fuse(Graph([x, b], [y]))
    assert _compute_ops(g) == ["fused"]
    body = g.nodes()[-1].attrs["body"]
    assert [n.op for n in body.nodes() if n.inputs] == ["mul", "add", "neg", "sub", "tanh", "exp"]
    xa = np.random.default_rng(0).normal(size=(3, 16)).astype(np.float32)
    ba = np.arange(16, dtype=np.float32) / 16
    np.testing.assert_allclose(evaluate(g.outputs, {x: xa, b: ba})[0],
                               np.exp(np.tanh(-(xa * 2 + ba) - 1)), rtol=1e-6)


def test_values_used_outside_a_region_become_extra_outputs():
    x = _ph((4, 5))
    a = apply("tanh", x)
    b = apply("exp", a) + 1.0
    s = apply("sum", a)                     # a is also needed by the reduction
    g = fuse(Graph([x], [b, s]))
    fused = [n for n in g.nodes() if n.op == "fused"]
    assert len(fused) == 1 and len(fused[0].outputs) == 2
    xa = np.random.default_rng(1).normal(size=(4, 5)).astype(np.float32)
    got = evaluate(g.outputs, {x: xa})
    np.testing.assert_allclose(got[0], np.exp(np.tanh(xa)) + 1, rtol=1e-6)
    np.testing.assert_allclose(got[1], np.tanh(xa).sum(), rtol=1e-5)


def test_region_never_swallows_a_path_through_a_non_elementwise_node():
    # a -> sum -> (broadcast back) -> c : fusing a with c would make the node its own ancestor
    x = _ph((4, 5))
    a = apply("exp", x)
    s = apply("sum", a, axes=(1,), keepdims=True)
    c = apply("div", a, s)
    g = fuse(Graph([x], [c]))
    ops = _compute_ops(g)
    assert "sum" in ops
    xa = np.random.default_rng(2).normal(size=(4, 5)).astype(np.float32)
    e = np.exp(xa)
    np.testing.assert_allclose(evaluate(g.outputs, {x: xa})[0], e / e.sum(1, keepdims=True),
                               rtol=1e-6)


def test_different_shapes_are_not_fused_together():
    x = _ph((4, 5))
    w = _ph((5,), "w")
    v = apply("exp", w) * 2.0            # a (5,) region
    y = apply("tanh", x + v)             # a (4, 5) region reading it
    regions = find_regions(Graph([x, w], [y]))
    shapes = sorted(tuple(r[0].outputs[0].shape) for r in regions)
    assert shapes == [(4, 5), (5,)]


def test_graph_without_elementwise_chains_is_unchanged():
    x = _ph((3, 3))
    g = Graph([x], [apply("sum", x)])
    assert fuse(g) is g


def test_updates_are_rewired_to_fused_outputs():
    from graphc.ir.node import Variable
    from graphc.ir.ops import source as src
    var = Variable(np.ones(3, np.float32), "v")
    v = src("variable", TensorType("float32", (3,)), name="v", var=var)
    x = _ph((3,))
    new = apply("tanh", v * 0.5 + x)
    g = fuse(Graph([x], [new], updates=[(v, new)]))
    assert g.updates[0][1] is g.outputs[0]
    assert g.updates[0][1].node.op == "fused"


def test_a_region_that_would_read_its_own_output_is_left_unfused_and_fusion_terminates():
    """``exp(v) / (1 + z*z)`` with the gradient of its sum over ``v``: a candidate region
    feeds a reduction that feeds the region back. Fusion used to loop forever (memory
    without bound); now it finishes and computes what the interpreter computes."""
    from graphc.ir.node import Variable
    from graphc.ir.autodiff import gradients
    z = _ph(("B", 3), "z")
    var = Variable(np.array([0.5, -1.0, 2.0], np.float32), "v")
    v = source("variable", TensorType("float32", (3,)), name="v", var=var)
    o = apply("exp", v) / (1.0 + apply("square", z))
    (g,) = gradients(apply("sum", o), [v])
    graph = Graph([z], [o, g])
    fused = fuse(graph)
    za = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
    want = evaluate(graph.outputs, {z: za})
    got = evaluate(fused.outputs, {z: za})
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(want[1], np.exp(var.value) * (1 / (1 + za * za)).sum(0),
                               rtol=1e-5)
