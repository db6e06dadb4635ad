"""Reduction family: shape errors, symbolic-batch gradients, tie and zero handling, numerical
stability of the softmax losses, second-order gradients, and hypothesis properties against
numpy for random axes / keepdims."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from graphc.ir import ShapeError, TensorType, apply, evaluate, source
from graphc.ir.autodiff import gradients


def inp(shape, dtype="float32", name="x"):
    return source("input", TensorType(dtype, shape), name=name)


def run(outs, feeds):
    return evaluate(outs if isinstance(outs, list) else [outs], feeds)


# -- shape and dtype inference -------------------------------------------------------------

def test_reduction_types_with_symbolic_batch():
    x = inp(("B", 3, 4))
    assert apply("mean", x, axes=(1, 2)).shape == ("B",)
    assert apply("max", x, axes=-1, keepdims=True).shape == ("B", 3, 1)
    assert apply("var", x).shape == ()
    assert apply("argmax", x).type == TensorType("int64", ("B", 3))
    assert apply("any", x, axes=0).type == TensorType("bool", (3, 4))
    assert apply("mean", inp((2, 3), "int32")).dtype == "float32"


def test_axes_are_normalized_to_sorted_nonnegative_tuples():
    x = inp((2, 3, 4))
    y = apply("mean", x, axes=[-1, 0])
    assert y.node.attrs["axes"] == (0, 2)
    assert apply("softmax", x, axis=-1).node.attrs["axis"] == 2


@pytest.mark.parametrize("op, attrs", [("mean", {"axes": 3}), ("max", {"axes": (0, -4)}),
                                       ("softmax", {"axis": 2}), ("cumsum", {"axis": -3}),
                                       ("argmax", {"axis": 5})])
def test_out_of_range_axis_names_op_and_rank(op, attrs):
    with pytest.raises(ShapeError, match=rf"{op}: axis -?\d is out of range .* rank 2"):
        apply(op, inp((2, 3)), **attrs)


def test_cross_entropy_shape_errors_are_clear():
    with pytest.raises(ShapeError, match=r"softmax_cross_entropy: shapes \[B,10\], \[B,5\] "
                                         r"cannot be broadcast"):
        apply("softmax_cross_entropy", inp(("B", 10)), inp(("B", 5), name="t"))
    with pytest.raises(ShapeError, match=r"labels \[B,1\] must have the shape of the logits "
                                         r"\[B,10\] without the class axis 1, i.e. \[B\]"):
        apply("sparse_softmax_cross_entropy", inp(("B", 10)), inp(("B", 1), "int64", "y"))
    with pytest.raises(ShapeError, match=r"labels must be an integer tensor.*K.cast"):
        apply("sparse_softmax_cross_entropy", inp(("B", 10)), inp(("B",), "float32", "y"))
    with pytest.raises(ShapeError, match="sigmoid_cross_entropy: shapes"):
        apply("sigmoid_cross_entropy", inp(("B", 3)), inp(("B", 4), name="t"))


def test_sparse_labels_out_of_range_fail_at_run_time_with_a_clear_message():
    x, y = inp((2, 3)), inp((2,), "int64", "y")
    out = apply("sparse_softmax_cross_entropy", x, y)
    with pytest.raises(ValueError, match="label 3 is out of range for 3 classes"):
        run(out, {x: np.zeros((2, 3), np.float32), y: np.array([0, 3])})


# -- gradients with a symbolic batch dimension ----------------------------------------------

@pytest.mark.parametrize("op", ["mean", "var", "std"])
def test_batch_reduction_gradient_uses_the_run_time_count(op):
    # the same graph, fed batches of 2 and 5 rows, gives the gradient for each size
    x = inp(("B", 3))
    g, = gradients(apply(op, x), [x])
    for n in (2, 5):
        data = np.random.default_rng(n).normal(size=(n, 3)).astype(np.float32)
        got, = run(g, {x: data})
        if op == "mean":
            want = np.full((n, 3), 1.0 / (3 * n))
        elif op == "var":
            want = 2 * (data - data.mean()) / data.size
        else:
            want = (data - data.mean()) / (data.size * data.std())
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_max_gradient_is_split_between_ties():
    x = inp((2, 3))
    g, = gradients(apply("max", x, axes=1), [x])
    got, = run(g, {x: np.array([[1, 3, 3], [5, 0, 2]], np.float32)})
    np.testing.assert_array_equal(got, [[0, 0.5, 0.5], [1, 0, 0]])
    g, = gradients(apply("min", x), [x])
    got, = run(g, {x: np.array([[1, 3, 1], [5, 1, 2]], np.float32)})
    np.testing.assert_allclose(got, np.array([[1, 0, 1], [0, 1, 0]]) / 3)


def test_prod_gradient_with_zeros_has_no_nan():
    x = inp(("B", 3))
    g, = gradients(apply("prod", x, axes=1), [x])
    data = np.array([[2, 0, 3], [0, 0, 4], [1, 2, 3]], np.float32)
    got, = run(g, {x: data})
    np.testing.assert_array_equal(got, [[0, 6, 0], [0, 0, 0], [6, 3, 2]])


def test_argmax_and_any_have_no_gradient_path():
    x = inp((2, 3))
    y = apply("argmax", x)
    assert y.dtype == "int64"
    assert y.node.opdef.grad(y.node, [None]) == [None]


# -- numerical stability ---------------------------------------------------------------------

def test_softmax_cross_entropy_is_stable_for_huge_logits():
    x, t = inp((2, 3)), inp((2, 3), name="t")
    loss = apply("softmax_cross_entropy", x, t)
    gx, = gradients(apply("sum", loss), [x])
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], np.float32)
    target = np.array([[0, 1, 0], [0.5, 0.5, 0]], np.float32)
    got_loss, got_g = run([loss, gx], {x: logits, t: target})
    np.testing.assert_allclose(got_loss, [2e4, 1e4 + np.log(2)], rtol=1e-6)
    assert np.all(np.isfinite(got_g))
    np.testing.assert_allclose(got_g, [[1, -1, 0], [-0.5, 0, 0.5]], atol=1e-6)


def test_sparse_and_dense_cross_entropy_agree():
    x, y, t = inp(("B", 4)), inp(("B",), "int64", "y"), inp(("B", 4), name="t")
    logits = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32) * 50
    labels = np.array([3, 0, 2])
    a = apply("sparse_softmax_cross_entropy", x, y)
    b = apply("softmax_cross_entropy", x, t)
    ga, = gradients(apply("sum", a), [x])
    gb, = gradients(apply("sum", b), [x])
    va, vb, vga, vgb = run([a, b, ga, gb], {x: logits, y: labels,
                                            t: np.eye(4, dtype=np.float32)[labels]})
    np.testing.assert_allclose(va, vb, rtol=1e-6)
    np.testing.assert_allclose(vga, vgb, atol=1e-6)


def test_sparse_gradient_with_symbolic_class_count():
    x, y = inp(("B", "C")), inp(("B",), "int64", "y")
    g, = gradients(apply("sum", apply("sparse_softmax_cross_entropy", x, y)), [x])
    logits = np.random.default_rng(1).normal(size=(2, 5)).astype(np.float32)
    got, = run(g, {x: logits, y: np.array([4, 1])})
    e = np.exp(logits - logits.max(1, keepdims=True))
    want = e / e.sum(1, keepdims=True) - np.eye(5)[[4, 1]]
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_softmax_log_softmax_logsumexp_stable_along_any_axis():
    x = inp((2, 3))
    data = np.array([[1e4, 1e4, -1e4], [-1e4, -1e4, 3.0]], np.float32)
    s0, l0, z0 = run([apply("softmax", x, axis=0), apply("log_softmax", x, axis=0),
                      apply("logsumexp", x, axes=0)], {x: data})
    assert np.all(np.isfinite(s0)) and np.all(np.isfinite(l0)) and np.all(np.isfinite(z0))
    np.testing.assert_allclose(s0.sum(0), 1, rtol=1e-6)
    np.testing.assert_allclose(z0, [1e4, 1e4, 3.0], rtol=1e-6)
    np.testing.assert_allclose(l0[:, 2], [-1e4 - 3.0, 0.0], atol=1e-3)


def test_sigmoid_cross_entropy_stable_and_scalar_template_matches_reference():
    x, t = inp((4,)), inp((4,), name="t")
    logits = np.array([-1e4, -3.0, 2.0, 1e4], np.float32)
    target = np.array([0.0, 1.0, 0.25, 1.0], np.float32)
    got, = run(apply("sigmoid_cross_entropy", x, t), {x: logits, t: target})
    want = np.logaddexp(0, logits.astype(np.float64)) - logits * target
    np.testing.assert_allclose(got, want, rtol=1e-6)
    from graphc.ir import REGISTRY
    expr = REGISTRY["sigmoid_cross_entropy"].scalar(["a", "b"])
    env = {"max": np.maximum, "abs": np.abs, "exp": np.exp, "log1p": np.log1p,
           "f32": np.float32, "a": logits, "b": target}
    np.testing.assert_allclose(eval(expr, {"__builtins__": {}}, env), got, rtol=1e-6)


def test_float32_stays_float32():
    x = inp((3, 4))
    data = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    for op in ["mean", "var", "std", "prod", "max", "logsumexp"]:
        out, = run(apply(op, x, axes=1), {x: data})
        assert out.dtype == np.float32, op
    for op in ["softmax", "log_softmax", "cumsum", "cumprod"]:
        out, = run(apply(op, x), {x: data})
        assert out.dtype == np.float32, op


# -- second-order gradients ------------------------------------------------------------------

@pytest.mark.parametrize("op, attrs", [("logsumexp", {"axes": 1}), ("softmax", {"axis": 1}),
                                       ("var", {"axes": 0}), ("prod", {"axes": 1})])
def test_second_order_gradient_matches_finite_differences(op, attrs):
    x = inp((2, 3), "float64")
    w = np.random.default_rng(3).uniform(0.5, 1.5, size=(2, 3))
    y = apply(op, x, **attrs)
    g, = gradients(y, [x])
    gg, = gradients(apply("sum", apply("mul", g, source_const(w))), [x])
    data = np.random.default_rng(4).uniform(0.5, 1.5, size=(2, 3))
    got, = run(gg, {x: data})

    def f(a):
        return float(np.sum(run(g, {x: a})[0] * w))
    num = np.zeros_like(data)
    for k in range(data.size):
        d = np.zeros(data.size)
        d[k] = 1e-6
        num.reshape(-1)[k] = (f(data + d.reshape(data.shape)) -
                              f(data - d.reshape(data.shape))) / 2e-6
    np.testing.assert_allclose(got, num, rtol=1e-4, atol=1e-6)


def source_const(arr):
    from graphc.ir import constant
    return constant(arr)


# -- properties against numpy ------------------------------------------------------------------

_NP = {"mean": np.mean, "max": np.max, "min": np.min, "prod": np.prod, "var": np.var,
       "std": np.std, "sum": np.sum}


@settings(max_examples=60, deadline=None)
@given(data=st.data(), op=st.sampled_from(sorted(_NP)))
def test_reductions_match_numpy_for_random_axes(data, op):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    arr = data.draw(hnp.arrays(np.float32, shape,
                               elements=st.floats(-2, 2, width=32)))
    nd = len(shape)
    axes = data.draw(st.none() | st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=nd,
                                          unique_by=lambda a: a % nd))
    keepdims = data.draw(st.booleans())
    x = inp(shape)
    y = apply(op, x, axes=None if axes is None else tuple(axes), keepdims=keepdims)
    got, = run(y, {x: arr})
    np_axes = None if axes is None else tuple(a % nd for a in axes)
    want = _NP[op](arr.astype(np.float64), axis=np_axes, keepdims=keepdims)
    assert got.shape == np.shape(want) == tuple(d for d in y.shape)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_softmax_sums_to_one_for_any_axis_and_scale(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    scale = data.draw(st.sampled_from([1.0, 100.0, 1e4]))
    arr = data.draw(hnp.arrays(np.float32, shape, elements=st.floats(-1, 1, width=32))) * scale
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = inp(shape)
    s, ls = run([apply("softmax", x, axis=axis), apply("log_softmax", x, axis=axis)], {x: arr})
    np.testing.assert_allclose(s.sum(axis=axis), 1.0, rtol=1e-5)
    assert np.all(ls <= 1e-6) and np.all(np.isfinite(ls))
