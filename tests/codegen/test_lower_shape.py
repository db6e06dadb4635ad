"""Native shape / indexing / misc emitters equal the reference interpreter (values and the
gradients built from them), and the ops that used to fall back to numpy now run natively."""
from __future__ import annotations

import numpy as np
import pytest

from graphc.codegen import compile_graph
from graphc.codegen.cpu.lowering import native_supported
from graphc.ir import Graph, TensorType, apply, evaluate, source
from graphc.ir.autodiff import gradients

from ..ir.op_cases import all_cases
from ..ir.test_op_registry import build

NOW_NATIVE = {
    "conv1d", "conv2d", "depthwise_conv2d", "conv2d_transpose",
    "conv1d_backprop_input", "conv1d_backprop_filter", "conv2d_backprop_input",
    "conv2d_backprop_filter", "depthwise_conv2d_backprop_input",
    "depthwise_conv2d_backprop_filter", "max_pool1d", "max_pool2d", "avg_pool1d",
    "avg_pool2d", "max_pool1d_grad", "max_pool2d_grad", "max_pool1d_grad_grad",
    "max_pool2d_grad_grad", "avg_pool1d_grad", "avg_pool2d_grad", "bias_add",
    "bias_add_grad", "scan", "slice", "slice_grad", "concatenate", "split_like", "stack",
    "one_hot", "argmax", "argmin", "var", "std", "cumsum", "cumprod", "tile", "repeat",
    "reverse", "batch_dot", "tensordot", "sparse_softmax_cross_entropy", "where",
    "sigmoid_cross_entropy", "gather", "gather_grad", "logsumexp",
}


def _ph(shape, name, dtype="float32"):
    return source("input", TensorType(dtype, shape), name=name)


def test_registry_cases_of_these_ops_run_natively():
    seen = set()
    for case in all_cases():
        if case.op not in NOW_NATIVE or case.check is not None:
            continue
        xs, outs = build(case)
        node = outs[0].node
        if any(v.dtype == "float16" for v in list(node.inputs) + list(node.outputs)):
            continue
        if case.op == "pad" and case.attrs.get("mode", "constant") != "constant":
            continue
        assert native_supported(node), case.id
        seen.add(case.op)
    assert NOW_NATIVE - seen <= {"where", "sigmoid_cross_entropy"} or not NOW_NATIVE - seen


def test_constant_pad_is_native_and_reflect_pad_falls_back():
    x = _ph((3, 4), "x")
    assert native_supported(apply("pad", x, pads=((1, 2), (0, 1))).node)
    assert not native_supported(apply("pad", x, pads=((1, 1), (1, 1)), mode="reflect").node)


def test_shape_ops_and_their_gradients_match_the_interpreter():
    rng = np.random.default_rng(0)
    x = _ph(("B", 4, 6), "x")
    y = _ph(("B", 4, 6), "y")
    z = _ph(("B", 4, 3), "z")
    lab = _ph(("B",), "lab", "int64")
    m = _ph((6, 5), "m")
    outs = [
        x[:, 1:3, ::-2],
        x[:, -1],
        apply("reverse", x, axes=(1, 2)),
        apply("concatenate", x, z, axis=2),
        apply("stack", x, y, axis=1),
        apply("pad", x, pads=((0, 0), (1, 2), (2, 0)), constant_value=1.5),
        apply("tile", z, reps=(1, 2, 3)),
        apply("repeat", z, repeats=3, axis=1),
        apply("repeat", z, repeats=2),
        apply("one_hot", lab, num_classes=4),
        apply("argmax", x, axis=1),
        apply("argmin", x, axis=2, keepdims=True),
        apply("var", x, axes=(1, 2)),
        apply("std", x, axes=(2,), keepdims=True),
        apply("cumsum", x, axis=1),
        apply("cumprod", z, axis=2),
        apply("tensordot", x, m, axes=((2,), (0,))),
        apply("batch_dot", x, y, axes=(2, 2)),
        apply("batch_dot", x, y, axes=(1, 1)),
        apply("sparse_softmax_cross_entropy", x[:, 0], lab),
    ]
    wrt = [x, y, z, m]
    loss = None
    for o in outs:
        if o.dtype != "float32":
            continue
        term = apply("sum", apply("mul", o, o))
        loss = term if loss is None else apply("add", loss, term)
    grads = gradients(loss, wrt)
    g = Graph([x, y, z, lab, m], outs + grads, name="shape_ops")
    for n in g.nodes():
        if n.op in NOW_NATIVE:
            assert native_supported(n), n.op
    fn = compile_graph(g)
    assert fn.stats["python_nodes"] == 0, fn.program.fallback_ops
    arrays = [rng.normal(size=(3, 4, 6)).astype(np.float32),
              rng.normal(size=(3, 4, 6)).astype(np.float32),
              rng.uniform(0.5, 1.5, size=(3, 4, 3)).astype(np.float32),
              np.array([0, 3, 1], np.int64),
              rng.normal(size=(6, 5)).astype(np.float32)]
    got = fn(arrays)
    ref = evaluate(g.outputs, dict(zip(g.inputs, arrays)))
    for k, (r, v) in enumerate(zip(ref, got)):
        assert v.shape == r.shape and v.dtype == r.dtype, k
        np.testing.assert_allclose(v, r, rtol=3e-5, atol=3e-5, err_msg=f"output {k}")


def test_argmax_takes_the_first_nan_and_the_first_maximum():
    x = _ph((2, 4), "x")
    g = Graph([x], [apply("argmax", x, axis=1), apply("argmin", x, axis=1)])
    fn = compile_graph(g)
    xa = np.array([[1, 3, 3, 0], [2, np.nan, 5, np.nan]], np.float32)
    got = fn([xa])
    np.testing.assert_array_equal(got[0], [1, 1])
    np.testing.assert_array_equal(got[1], [3, 1])


def test_out_of_range_sparse_label_is_a_clear_error():
    x, lab = _ph((2, 3), "x"), _ph((2,), "lab", "int64")
    fn = compile_graph(Graph([x, lab], [apply("sparse_softmax_cross_entropy", x, lab)]))
    import pytest
    with pytest.raises(ValueError, match="out of range"):
        fn([np.zeros((2, 3), np.float32), np.array([0, 3], np.int64)])


def test_gather_on_any_axis_its_gradient_and_logsumexp_run_natively():
    rng = np.random.default_rng(5)
    p = _ph((3, 5, 4), "p")
    idx = _ph((2, 3), "idx", "int64")
    x = _ph(("B", 3, 4), "x")
    g1 = apply("gather", p, idx, axis=1)                     # (3, 2, 3, 4)
    g2 = apply("gather", p, idx, axis=2)                     # (3, 5, 2, 3)
    l1 = apply("logsumexp", x, axes=(0,))
    l2 = apply("logsumexp", x, axes=(1, 2), keepdims=True)
    loss = apply("sum", g1 * g1) + apply("sum", apply("tanh", g2)) + apply("sum", l1) + \
        apply("sum", l2 * l2)
    gp, gx = gradients(loss, [p, x])
    g = Graph([p, idx, x], [g1, g2, l1, l2, gp, gx])
    fn = compile_graph(g)
    assert fn.stats["python_nodes"] == 0
    for n in g.nodes():
        if n.op in ("gather", "gather_grad", "logsumexp"):
            assert native_supported(n), n.op
    pa = rng.normal(size=(3, 5, 4)).astype(np.float32)
    ia = np.array([[0, -1, 3], [3, 3, 1]], np.int64)          # negative and repeated indices
    xa = rng.normal(size=(2, 3, 4)).astype(np.float32) * 30
    xa[1, 0] = -np.inf                                       # a row of -inf: lse = -inf
    xa[0, 2, 1] = np.inf
    feed = {p: pa, idx: ia, x: xa}
    with np.errstate(invalid="ignore"):                     # inf - inf in the gradients
        ref = evaluate(g.outputs, feed)
    for got, want in zip(fn([pa, ia, xa]), ref):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-5)


def test_native_gather_names_an_out_of_range_index():
    p = _ph((4, 3), "p")
    idx = _ph((2,), "idx", "int64")
    fn = compile_graph(Graph([p, idx], [apply("gather", p, idx, axis=1)]))
    pa = np.ones((4, 3), np.float32)
    np.testing.assert_array_equal(fn([pa, np.array([2, -3])])[0], pa[:, [2, 0]])
    with pytest.raises(IndexError, match="gather: an index is out of range"):
        fn([pa, np.array([0, 3])])


def test_concatenate_copies_and_checks_the_other_dims_at_run_time():
    # the concatenation copies with loop nests (no numba setitem, no bounds checks): inputs
    # whose symbolic dims disagree at run time are an error, not a write out of bounds
    x, y = _ph(("B", 3), "x"), _ph(("C", 2), "y")
    fn = compile_graph(Graph([x, y], [apply("concatenate", x, y, axis=1)]))
    a, b = np.arange(12, dtype=np.float32).reshape(4, 3), -np.ones((4, 2), np.float32)
    np.testing.assert_array_equal(fn([a, b])[0], np.concatenate([a, b], axis=1))
    import re
    assert not re.search(r"^\s*\w+\[[^\n]*:[^\n]*\] = ", fn.source, re.M)   # no slice assignment
    with pytest.raises(ValueError, match="differ off the concatenation axis"):
        fn([a, np.ones((5, 2), np.float32)])


def test_kernels_read_column_slices_of_a_contiguous_array_through_the_array():
    # a slice of a C-contiguous array with unit steps is read as parent[i, b + j] (strides
    # known to LLVM) rather than through the strided view; a reversed slice is not
    import re
    x = _ph(("B", 8), "x")
    left, right = x[:, 0:4], x[:, 4:8]
    rev = apply("reverse", x, axes=(1,))[:, 2:6]
    out = apply("tanh", left) * right + rev
    fn = compile_graph(Graph([x], [out, x[1:, 3:5] * 2.0]))
    a = np.arange(24, dtype=np.float32).reshape(3, 8) / 10
    got = fn([a])
    np.testing.assert_allclose(got[0], np.tanh(a[:, :4]) * a[:, 4:] + a[:, ::-1][:, 2:6],
                               rtol=1e-6)
    np.testing.assert_allclose(got[1], a[1:, 3:5] * 2.0)
    assert re.search(r"= \w+\[\(i\d+, 4 \+ i\d+\)\]$", fn.source, re.M)
    assert re.search(r"= \w+\[\(1 \+ i\d+[^,]*, 3 \+ i\d+\)\]$", fn.source, re.M)
