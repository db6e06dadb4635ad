"""The rule ``slice_grads_to_concat``: a sum of zero-padded slices (slice_grad) over disjoint
spans that cover one axis becomes one concatenate, and only then."""
import numpy as np

from graphc.ir import Graph, TensorType, apply, evaluate, source
from graphc.passes.algebraic import simplify, slice_grads_to_concat

rng = np.random.default_rng(0)


def inp(*shape, name="g"):
    return source("input", TensorType("float32", shape), name=name)


def ops_of(graph):
    return [n.op for n in graph.nodes() if n.op not in ("input", "variable", "constant")]


def pad(g, like, begin, end, axis=1):
    b = [None] * like.ndim
    e = [None] * like.ndim
    b[axis], e[axis] = begin, end
    return apply("slice_grad", g, like, begin=tuple(b), end=tuple(e))


def check_same(g1, g2, inputs):
    feeds = {v: rng.normal(size=tuple(2 if d == "B" else d for d in v.shape))
             .astype(np.float32) for v in inputs}
    for a, b in zip(evaluate(g1.outputs, feeds), evaluate(g2.outputs, feeds)):
        np.testing.assert_array_equal(a, b)


def test_a_chain_of_gate_cotangents_becomes_one_concatenate_in_span_order():
    x = inp("B", 12, name="x")
    gs = [inp("B", 3, name=f"g{k}") for k in range(4)]
    spans = [(6, 9), (0, 3), (3, 6), (9, 12)]          # the order autodiff adds them in
    total = pad(gs[0], x, *spans[0])
    for g, span in zip(gs[1:], spans[1:]):
        total = apply("add", total, pad(g, x, *span))
    graph = Graph([x] + gs, [total])
    out = simplify(graph)
    assert ops_of(out) == ["concatenate"]
    node = out.outputs[0].node
    assert [v.name for v in node.inputs] == ["g1", "g2", "g0", "g3"]
    assert out.outputs[0].type == total.type
    check_same(graph, out, [x] + gs)


def test_spans_on_axis_zero_of_a_static_shape():
    x = inp(5, 2, name="x")
    a, b = inp(2, 2, name="a"), inp(3, 2, name="b")
    total = apply("add", pad(b, x, 2, 5, axis=0), pad(a, x, 0, 2, axis=0))
    graph = Graph([x, a, b], [total])
    out = simplify(graph)
    assert ops_of(out) == ["concatenate"]
    check_same(graph, out, [x, a, b])


def test_does_not_fire_when_the_spans_leave_a_gap():
    x = inp("B", 9, name="x")
    a, b = inp("B", 3, name="a"), inp("B", 3, name="b")
    total = apply("add", pad(a, x, 0, 3), pad(b, x, 6, 9))
    assert slice_grads_to_concat(total.node) is None
    graph = Graph([x, a, b], [total])
    assert "concatenate" not in ops_of(simplify(graph))


def test_does_not_fire_when_the_spans_overlap():
    x = inp("B", 6, name="x")
    a, b, c = (inp("B", 3, name=n) for n in "abc")
    total = apply("add", apply("add", pad(a, x, 0, 3), pad(b, x, 3, 6)), pad(c, x, 0, 3))
    assert slice_grads_to_concat(total.node) is None


def test_does_not_fire_for_other_summands_or_strided_spans():
    x = inp("B", 6, name="x")
    a, b = inp("B", 3, name="a"), inp("B", 6, name="b")
    plain = apply("add", pad(a, x, 0, 3), b)           # b is not a slice_grad
    assert slice_grads_to_concat(plain.node) is None
    evens = apply("slice_grad", a, x, begin=(None, 0), end=(None, 6), step=(1, 2))
    odds = apply("slice_grad", a, x, begin=(None, 1), end=(None, 6), step=(1, 2))
    assert slice_grads_to_concat(apply("add", evens, odds).node) is None


def test_does_not_fire_for_spans_on_different_axes():
    x = inp(4, 4, name="x")
    a, b = inp(2, 4, name="a"), inp(4, 2, name="b")
    total = apply("add", pad(a, x, 0, 2, axis=0), pad(b, x, 2, 4, axis=1))
    assert slice_grads_to_concat(total.node) is None
