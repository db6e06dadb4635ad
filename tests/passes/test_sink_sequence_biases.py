"""sink_sequence_biases and slice_of_bias_add: a loop sequence ``x W + b`` read only by loops
becomes ``x W`` with the bias a constant of the body (the forward loop and its gradient
loop), the results equal the reference interpreter's (evaluated and compiled), a sum that
something else reads is left alone; and a slice of a bias add becomes the add of slices."""
from __future__ import annotations

import numpy as np

from graphc.codegen import compile_graph
from graphc.ir import Graph, TensorType, apply, evaluate, source
from graphc.ir.node import Variable
from graphc.ir.ops.control import scan
from graphc.passes.algebraic import simplify, slice_of_bias_add
from graphc.ir.autodiff import gradients
from graphc.passes.fuse import fuse, sink_sequence_biases

T, D, H = 3, 4, 5


def _ph(shape, name):
    return source("input", TensorType("float32", shape), name=name)


def _var(rng, shape, name):
    v = Variable((rng.normal(size=shape) * 0.5).astype(np.float32), name)
    return source("variable", TensorType("float32", shape), name=name, var=v)


def _lstm(rng, extra_reader=False):
    """An LSTM whose input projection and bias are computed for every step before the loop
    (as the LSTM layer does), its loss and gradients."""
    xs, h0, c0 = _ph((T, "B", D), "xs"), _ph(("B", H), "h0"), _ph(("B", H), "c0")
    W, U, b = _var(rng, (D, 4 * H), "W"), _var(rng, (H, 4 * H), "U"), _var(rng, (4 * H,), "b")
    seq = apply("dot", xs, W) + b

    def step(z, h, c, U):
        z = z + apply("matmul", h, U)
        i, f, o, g = (z[:, k * H:(k + 1) * H] for k in range(4))
        c2 = apply("sigmoid", f) * c + apply("sigmoid", i) * apply("tanh", g)
        h2 = apply("sigmoid", o) * apply("tanh", c2)
        return [h2], [h2, c2]
    res = scan(step, [seq], [h0, c0], [U], symbolic_batch=True)
    loss = apply("sum", res.outputs[0] * res.outputs[0])
    if extra_reader:
        loss = loss + apply("sum", seq)
    g = Graph([xs, h0, c0], [loss] + list(gradients(loss, [W, U, b])))
    arrays = [rng.normal(size=(T, 2, D)).astype(np.float32),
              rng.normal(size=(2, H)).astype(np.float32),
              rng.normal(size=(2, H)).astype(np.float32)]
    return g, arrays


def _same(g, graph, arrays):
    ref = evaluate(g.outputs, dict(zip(g.inputs, arrays)))
    got = evaluate(graph.outputs, dict(zip(graph.inputs, arrays)))
    compiled = compile_graph(graph)(arrays)
    for r, v, w in zip(ref, got, compiled):
        np.testing.assert_allclose(v, r, rtol=2e-5, atol=2e-5)
        np.testing.assert_allclose(w, r, rtol=2e-5, atol=2e-5)


def test_the_forward_and_gradient_loops_take_the_projection_and_the_bias_apart():
    g, arrays = _lstm(np.random.default_rng(0))
    scans = [n for n in g.nodes() if n.op == "scan"]
    assert len(scans) == 2 and all(n.inputs[0].node.op == "add" for n in scans)
    sunk = sink_sequence_biases(g)
    scans = [n for n in sunk.nodes() if n.op == "scan"]
    assert len(scans) == 2
    for n in scans:
        assert n.inputs[0].node.op == "dot"             # x W, no sum before the loop
        assert n.inputs[-1].shape == (4 * H,)            # the bias, the last constant
    bias = scans[0].inputs[-1]
    assert not [n for n in sunk.nodes() if n.op == "add" and n.outputs[0].ndim == 3
                and any(v is bias for v in n.inputs)]
    _same(g, sunk, arrays)
    _same(g, fuse(g), arrays)


def test_a_sum_that_something_else_reads_stays_before_the_loop():
    g, arrays = _lstm(np.random.default_rng(1), extra_reader=True)
    assert sink_sequence_biases(g) is g
    _same(g, fuse(g), arrays)


def test_a_slice_of_a_bias_add_is_the_add_of_the_slices():
    rng = np.random.default_rng(2)
    a, c, c1 = _ph(("B", 8), "a"), _ph((8,), "c"), _ph((1,), "c1")
    s = apply("add", a, c)[:, 2:6]
    s1 = apply("add", c1, a)[1:, 3:7]
    for v in (s, s1):
        out = slice_of_bias_add(v.node)
        assert out is not None and out.node.op == "add" and out.type == v.type
        assert all(w.node.op == "slice" for w in out.node.inputs)
    g = Graph([a, c, c1], [s * 1.0, s1 * 1.0])
    arrays = [rng.normal(size=(3, 8)).astype(np.float32),
              rng.normal(size=8).astype(np.float32),
              rng.normal(size=1).astype(np.float32)]
    _same(g, simplify(g), arrays)
    # a bias of the full rank is not a broadcast over leading axes: left alone
    full = _ph(("B", 8), "full")
    assert slice_of_bias_add(apply("add", a, full)[:, 1:3].node) is None
