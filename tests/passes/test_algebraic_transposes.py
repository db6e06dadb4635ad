"""The transpose rules of graphc.passes.algebraic: a time-major recurrent input projection
transposes its few input features, not the wide projection, and its gradient reads the
stacked cotangent as it lies (tensordot and sum absorb the transpose)."""
import numpy as np

from graphc.ir import Graph, TensorType, apply, constant, evaluate, source
from graphc.passes.algebraic import (simplify, sum_of_transpose, tensordot_of_transpose,
                                     transpose_of_bias_add, transpose_of_dot)

rng = np.random.default_rng(0)
B, T, F, N = 3, 4, 2, 5


def inp(*shape, name):
    return source("input", TensorType("float32", shape), name=name)


def feed(*values):
    return {v: rng.normal(size=tuple(B if d == "B" else d for d in v.shape))
            .astype(np.float32) for v in values}


def close(g1, g2, feeds):
    for a, b in zip(evaluate(g1.outputs, feeds), evaluate(g2.outputs, feeds)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def producers_of_transpose(graph):
    return [n.inputs[0].node.op for n in graph.nodes() if n.op == "transpose"]


def test_time_major_projection_transposes_the_input_not_the_projection():
    x, w, b = inp("B", T, F, name="x"), inp(F, N, name="W"), inp(N, name="b")
    z = apply("transpose", apply("add", apply("dot", x, w), b), perm=(1, 0, 2))
    graph = Graph([x, w, b], [z])
    out = simplify(graph)
    assert producers_of_transpose(out) == ["input"]          # transpose(x) only
    assert out.outputs[0].node.op == "add" and out.outputs[0].type == z.type
    close(graph, out, feed(x, w, b))


def test_transpose_rules_do_not_fire_when_the_moved_axes_matter():
    x, w = inp("B", T, F, name="x"), inp(F, N, name="W")
    moves_last = apply("transpose", apply("dot", x, w), perm=(0, 2, 1))
    assert transpose_of_dot(moves_last.node) is None
    full = inp("B", T, N, name="c")                           # not a broadcast bias
    z = apply("transpose", apply("add", apply("dot", x, w), full), perm=(1, 0, 2))
    assert transpose_of_bias_add(z.node) is None
    bias_on_t = inp(T, 1, name="bt")                          # aligned with a moved axis
    z = apply("transpose", apply("add", apply("dot", x, w), bias_on_t), perm=(1, 0, 2))
    assert transpose_of_bias_add(z.node) is None


def test_tensordot_reads_the_transposed_operand_as_it_lies():
    x, g = inp("B", T, F, name="x"), inp(T, "B", N, name="g")
    gt = apply("transpose", g, perm=(1, 0, 2))
    dw = apply("tensordot", x, gt, axes=((0, 1), (0, 1)))
    graph = Graph([x, g], [dw])
    out = simplify(graph)
    node = out.outputs[0].node
    assert node.op == "tensordot" and node.inputs[1] is g
    assert node.attrs["axes"] == ((1, 0), (0, 1))
    close(graph, out, feed(x, g))


def test_tensordot_keeps_a_transpose_that_moves_a_free_axis():
    x, g = inp(T, F, name="x"), inp(N, T, 3, name="g")
    gt = apply("transpose", g, perm=(1, 2, 0))                # free axes change order
    dw = apply("tensordot", x, gt, axes=((0,), (0,)))
    assert tensordot_of_transpose(dw.node) is None


def test_sum_over_a_transpose_sums_the_original_axes():
    g = inp(T, "B", N, name="g")
    gt = apply("transpose", g, perm=(1, 0, 2))
    s1 = apply("sum", gt, axes=(0, 1))
    s2 = apply("sum", gt)
    graph = Graph([g], [s1, s2])
    out = simplify(graph)
    assert all(v.node.op == "sum" and v.node.inputs[0] is g for v in out.outputs)
    assert out.outputs[0].node.attrs["axes"] == (0, 1)
    close(graph, out, feed(g))


def test_sum_over_a_transpose_keeps_it_when_the_kept_axes_would_reorder():
    g = inp(T, 3, N, name="g")
    gt = apply("transpose", g, perm=(2, 1, 0))
    assert sum_of_transpose(apply("sum", gt, axes=(1,)).node) is None
    assert sum_of_transpose(apply("sum", gt, axes=(0,), keepdims=True).node) is None
    assert sum_of_transpose(apply("sum", constant(np.ones((2, 2), np.float32))).node) is None
