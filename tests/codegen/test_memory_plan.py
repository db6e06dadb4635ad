"""Memory planning by liveness (graphc.codegen.cpu.writer.MemoryPlan): dead intermediates are
reused for later ones of the same dtype and size, never a buffer that is an output, a view of
an input or variable, or still aliased by a live view; results equal the interpreter's."""
from __future__ import annotations

import re

import numpy as np
import pytest

from graphc.codegen import compile_graph
from graphc.codegen.cpu import writer as lower_mod   # the memory plan and its thresholds
from graphc.codegen.cpu.lower import lower
from graphc.codegen.cpu.writer import MemoryPlan, _size_key
from graphc.codegen.executor import build
from graphc.ir import Graph, TensorType, apply, evaluate, source
from graphc.ir.node import Variable


@pytest.fixture(autouse=True)
def _pool_small_buffers(monkeypatch):
    """The tests use small shapes: pool every size (the default skips small buffers)."""
    monkeypatch.setattr(lower_mod, "MIN_POOL_ELEMENTS", 1)


def _ph(shape, name="x", dtype="float32"):
    return source("input", TensorType(dtype, shape), name=name)


def _var(arr, name):
    v = Variable(np.array(arr), name)
    return source("variable", TensorType(v.value.dtype.name, v.value.shape), name=name, var=v), v


def _both(graph):
    """(planned, unplanned) compiled functions of ``graph`` (no fusion: one buffer per op)."""
    return (build(graph, lower(graph, memory_plan=True), False),
            build(graph, lower(graph, memory_plan=False), False))


def _allocs(source: str) -> int:
    return len(re.findall(r"^    \w+ = empty_c\(", source, flags=re.M))


def _chain(x):
    a = apply("exp", x * 0.1)
    b = apply("tanh", a * 2.0)
    c = apply("sin", b + a)            # a dies here
    d = apply("cos", c * b)            # b, c die here
    return d * 3.0 + 1.0


def test_a_chain_reuses_dead_buffers_and_matches_the_interpreter():
    x = _ph(("B", 16))
    g = Graph([x], [_chain(x)], name="chain")
    planned, plain = _both(g)
    assert planned.program.memory["reused"] >= 3
    assert plain.program.memory == {"allocations": 0, "reused": 0}
    # fewer unconditional allocations (empty_c) in the generated code (a reuse falls back to
    # empty_c, indented under ``else:``, only when a run-time size differs)
    assert _allocs(planned.source) <= _allocs(plain.source) - 3
    xa = np.random.default_rng(0).normal(size=(5, 16)).astype(np.float32)
    ref = evaluate(g.outputs, {x: xa})[0]
    np.testing.assert_allclose(planned([xa])[0], ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(plain([xa])[0], ref, rtol=1e-5, atol=1e-6)
    # a ragged batch (another run-time size) through the same compiled code
    xb = xa[:3].copy()
    np.testing.assert_allclose(planned([xb])[0], evaluate(g.outputs, {x: xb})[0],
                               rtol=1e-5, atol=1e-6)


def test_outputs_are_never_reused_for_later_intermediates():
    x = _ph((6, 8))
    a = apply("exp", x * 0.5)               # an output, dead inside the graph after b
    b = apply("tanh", a + 1.0)
    c = apply("sin", b * 2.0)               # same size as a: must not take a's buffer
    d = apply("cos", c + 0.5)
    g = Graph([x], [a, d], name="keep_outputs")
    planned, _ = _both(g)
    xa = np.random.default_rng(1).normal(size=(6, 8)).astype(np.float32)
    got = planned([xa])
    ref = evaluate(g.outputs, {x: xa})
    for r, o in zip(ref, got):
        np.testing.assert_allclose(o, r, rtol=1e-5, atol=1e-6)
    assert not np.shares_memory(got[0], got[1])


def test_a_live_transposed_view_keeps_its_buffer():
    x = _ph((8, 8))
    a = apply("exp", x * 0.25)
    at = apply("transpose", a, perm=(1, 0))  # a view of a's buffer, read at the end
    b = apply("tanh", x + 1.0)               # a's last direct use is before this
    c = apply("sin", b * 3.0)                # would take a's buffer if views were ignored
    d = apply("cos", c - 1.0)
    out = apply("matmul", at, d)
    g = Graph([x], [out], name="views")
    planned, plain = _both(g)
    xa = np.random.default_rng(2).normal(size=(8, 8)).astype(np.float32)
    ref = evaluate(g.outputs, {x: xa})[0]
    np.testing.assert_allclose(planned([xa])[0], ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(plain([xa])[0], ref, rtol=1e-4, atol=1e-5)


def test_a_reshaped_view_output_keeps_its_buffer():
    x = _ph(("B", 4))
    a = apply("exp", x * 0.5)
    r = apply("reshape", a, shape=(-1,))     # an output that is a view of a's buffer
    b = apply("tanh", x * 2.0)
    c = apply("sin", b + 1.0)
    d = apply("cos", c * c)
    g = Graph([x], [r, d], name="view_out")
    planned, _ = _both(g)
    xa = np.random.default_rng(3).normal(size=(5, 4)).astype(np.float32)
    got = planned([xa])
    for o, e in zip(got, evaluate(g.outputs, {x: xa})):
        np.testing.assert_allclose(o, e, rtol=1e-5, atol=1e-6)


def test_inputs_and_variables_are_never_taken_as_buffers():
    x = _ph((4, 5))
    w, wv = _var(np.linspace(-1, 1, 20, dtype=np.float32).reshape(4, 5), "w")
    a = apply("exp", x * 0.3)
    b = apply("tanh", a * w)
    c = apply("sin", b + 1.0)
    d = apply("cos", c * 2.0)
    g = Graph([x], [d], [(w, w - 0.1 * d)], name="vars")
    planned, _ = _both(g)
    xa = np.random.default_rng(4).normal(size=(4, 5)).astype(np.float32)
    x_before, w_before = xa.copy(), wv.value.copy()
    ref = evaluate(g.outputs, {x: xa})[0]
    got = planned([xa])[0]
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(xa, x_before)                 # the input is untouched
    np.testing.assert_allclose(wv.value, w_before - 0.1 * ref, rtol=1e-5, atol=1e-6)


def test_transposed_symbolic_shapes_share_a_size_class():
    assert _size_key(("B", 1024), "float32") == _size_key((1024, "B"), "float32")
    assert _size_key(("B", 10), "float32") != _size_key(("B", 10), "float64")
    assert _size_key(("B", 10), "float32") != _size_key(("N", 10), "float32")
    assert _size_key((None, 3), "float32") is None
    assert _size_key((), "float32") is None
    x = _ph(("B", 6))
    a = apply("exp", x * 0.2)                            # (B, 6), dies at at's consumer
    at = apply("transpose", apply("tanh", a), perm=(1, 0))
    b = apply("sin", at * 2.0)                            # (6, B): may take a (B, 6) buffer
    c = apply("cos", b + 1.0)
    g = Graph([x], [c], name="sym")
    planned, _ = _both(g)
    assert planned.program.memory["reused"] >= 1
    xa = np.random.default_rng(5).normal(size=(3, 6)).astype(np.float32)
    np.testing.assert_allclose(planned([xa])[0], evaluate(g.outputs, {x: xa})[0],
                               rtol=1e-5, atol=1e-6)


def test_the_plan_frees_a_buffer_only_after_its_last_use():
    plan = MemoryPlan([3, 1, 5, 6])
    key = ("float32", 8, ())
    plan.own(key, "t1", 0, (2, 4))    # dies after position 3
    assert plan.take(key, 3, (2, 4)) is None
    assert plan.take(key, 4, (8,)) == ("t1", (2, 4))
    plan.own(key, "t2", 1, (4, 2))    # dies after position 1
    assert plan.take(("float64", 8, ()), 2, (4, 2)) is None
    assert plan.take(key, 2, (4, 2)) == ("t2", (4, 2))
    plan.own(key, "t3", 0, (2, 4))
    plan.own(key, "t4", 1, (8,))      # freed more recently, but t3 has the asked shape
    assert plan.take(key, 5, (2, 4)) == ("t3", (2, 4))


@pytest.mark.parametrize("memory_plan", [True, False])
def test_a_training_step_with_reuse_matches_the_interpreter(memory_plan):
    from graphc.ir.autodiff import gradients
    from graphc.passes.fuse import fuse
    rng = np.random.default_rng(6)
    x, y = _ph(("B", 6), "x"), _ph(("B", 3), "y")
    W1, w1 = _var(rng.normal(size=(6, 8)).astype(np.float32) * 0.5, "W1")
    W2, w2 = _var(rng.normal(size=(8, 3)).astype(np.float32) * 0.5, "W2")
    h = apply("relu", apply("matmul", x, W1))
    h2 = apply("tanh", apply("matmul", h, apply("transpose", W1, perm=(1, 0))))
    h3 = apply("relu", apply("matmul", h2, W1))
    loss = apply("mean", apply("softmax_cross_entropy", apply("matmul", h3, W2), y))
    grads = gradients(loss, [W1, W2])
    g = fuse(Graph([x, y], [loss, h], [(W1, W1 - 0.1 * grads[0]), (W2, W2 - 0.1 * grads[1])],
                   name="step"))
    fn = build(g, lower(g, memory_plan=memory_plan), False)
    if memory_plan:
        assert fn.program.memory["reused"] >= 1
    xa = rng.normal(size=(5, 6)).astype(np.float32)
    ya = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 5)]
    ref = evaluate(g.outputs + [n for _, n in g.updates], {x: xa, y: ya})
    got = fn([xa, ya])
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(w1.value, ref[2], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(w2.value, ref[3], rtol=1e-4, atol=1e-6)


def test_small_buffers_are_not_pooled_by_default(monkeypatch):
    monkeypatch.setattr(lower_mod, "MIN_POOL_ELEMENTS", 1 << 14)
    x = _ph(("B", 16))
    small = lower(Graph([x], [_chain(x)], name="small"))
    assert small.memory["reused"] == 0
    y = _ph(("B", 1024))
    large = lower(Graph([y], [_chain(y)], name="large"))
    assert large.memory["reused"] >= 3


def test_memory_plan_can_be_turned_off_by_the_environment(monkeypatch):
    x = _ph(("B", 16))
    monkeypatch.setenv("GRAPHC_MEMORY_PLAN", "0")
    assert lower(Graph([x], [_chain(x)], name="off")).memory["allocations"] == 0
    monkeypatch.setenv("GRAPHC_MEMORY_PLAN", "1")
    assert lower(Graph([x], [_chain(x)], name="on")).memory["reused"] >= 3


def test_compile_graph_plans_memory_by_default():
    x = _ph(("B", 16))
    fn = compile_graph(Graph([x], [_chain(x)], name="chain_default"))
    assert fn.stats["buffers_reused"] == fn.program.memory["reused"]


def test_a_matrix_product_buffer_of_another_rank_is_reused_through_a_reshape():
    # dot of a 3-D input runs sgemm on a 2-D buffer whose static shape is 3-D; a later 3-D
    # intermediate of the same size that takes it must not be typed as the 2-D array
    x = _ph(("B", 20, 32))
    w1 = _ph((32, 32), "w1")
    w2 = _ph((32, 32), "w2")
    y1 = apply("dot", x, w1)
    y2 = apply("dot", x, w2)
    s = apply("sum", y1, axes=(2,))            # y1's buffer dies here
    e = apply("exp", y2 * 0.1)                 # a 3-D buffer of y1's size
    g = Graph([x, w1, w2], [s, e, apply("tanh", e * 2.0)])
    planned, plain = _both(g)
    assert planned.program.memory["reused"] >= 1
    rng = np.random.default_rng(4)
    xa = rng.normal(size=(3, 20, 32)).astype(np.float32)
    wa, wb = (rng.normal(size=(32, 32)).astype(np.float32) for _ in range(2))
    ref = evaluate(g.outputs, {x: xa, w1: wa, w2: wb})
    for fn in (planned, plain):
        for got, want in zip(fn([xa, wa, wb]), ref):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
