"""Contraction family: shape errors, Keras 2 batch_dot / K.dot output shapes, dtypes, and
hypothesis properties of matmul / tensordot against numpy."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from graphc.ir import ShapeError, TensorType, apply, evaluate, source
from graphc.ir.autodiff import gradients


def inp(shape, dtype="float32", name="x"):
    return source("input", TensorType(dtype, shape), name=name)


def test_matmul_inner_dimension_error_names_op_and_shapes():
    with pytest.raises(ShapeError, match=r"matmul: cannot multiply \[B,784\] by \[100,10\]: "
                                         r"inner dimensions 784 and 100 differ"):
        apply("matmul", inp(("B", 784)), inp((100, 10), name="w"))


def test_matmul_batch_and_scalar_errors():
    with pytest.raises(ShapeError, match=r"batch dimensions \[2\] and \[3\] cannot be"):
        apply("matmul", inp((2, 4, 5)), inp((3, 5, 6), name="w"))
    with pytest.raises(ShapeError, match="scalars are not matrices"):
        apply("matmul", inp(()), inp((3, 5), name="w"))


def test_value_matmul_operator_builds_matmul():
    x, w = inp(("B", 4)), inp((4, 3), name="w")
    y = x @ w
    assert y.op == "matmul" and y.shape == ("B", 3)


@pytest.mark.parametrize("xs, ys, out", [
    ((32, 28, 3), (3, 4), (32, 28, 4)),           # Keras K.dot docstring
    ((2, 3, 4), (7, 4, 5), (2, 3, 7, 5)),         # nD x nD: Theano semantics
    (("B", 4), (4,), ("B",)),
    ((4,), (4,), ()),
])
def test_dot_output_shapes_follow_keras(xs, ys, out):
    assert apply("dot", inp(xs), inp(ys, name="y")).shape == out


def test_dot_error_explains_the_contracted_axes():
    with pytest.raises(ShapeError, match=r"dot: cannot multiply \[2,3,4\] by \[7,5,5\]: inner "
                                         r"dimensions 4 and 5 differ \(dot contracts the last "
                                         r"axis of x with the second-to-last axis of y\)"):
        apply("dot", inp((2, 3, 4)), inp((7, 5, 5), name="y"))


@pytest.mark.parametrize("xs, ys, axes, out", [
    ((32, 20), (32, 20), 1, (32, 1)),
    ((32, 20, 1), (32, 30, 20), (1, 2), (32, 1, 30)),   # Keras 2 docstring example
    ((100, 20), (100, 30, 20), (1, 2), (100, 30)),      # the "shape inference" walk-through
    ((32, 5, 20), (32, 20, 7), None, (32, 5, 7)),       # default: batched matmul
    ((32, 20), (32, 20), None, (32, 1)),                # default for 2-D y: last axes
    (("B", 3, 4), ("B", 4), (2, 1), ("B", 3)),
])
def test_batch_dot_output_shapes_follow_keras2(xs, ys, axes, out):
    x, y = inp(xs), inp(ys, name="y")
    z = apply("batch_dot", x, y, axes=axes)
    assert z.shape == out
    n = 2 if xs[0] == "B" else xs[0]
    feeds = {x: np.ones((n,) + tuple(xs[1:]), np.float32),
             y: np.ones((n,) + tuple(ys[1:]), np.float32)}
    got, = evaluate([z], feeds)
    assert got.shape == (n,) + tuple(out[1:])


def test_batch_dot_keras_doc_values():
    x, y = inp((2, 2)), inp((2, 2), name="y")
    got, = evaluate([apply("batch_dot", x, y, axes=1)],
                    {x: np.array([[1, 2], [3, 4]], np.float32),
                     y: np.array([[5, 6], [7, 8]], np.float32)})
    np.testing.assert_array_equal(got, [[17], [53]])


def test_batch_dot_errors():
    with pytest.raises(ShapeError, match="batch_dot: cannot contract over the batch axis 0"):
        apply("batch_dot", inp((3, 4)), inp((3, 4), name="y"), axes=0)
    with pytest.raises(ShapeError, match=r"batch_dot: cannot contract \[3,4\] axis 1 \(4\) with "
                                         r"\[3,5\] axis 1 \(5\)"):
        apply("batch_dot", inp((3, 4)), inp((3, 5), name="y"), axes=1)
    with pytest.raises(ShapeError, match="rank >= 2"):
        apply("batch_dot", inp((3,)), inp((3, 5), name="y"))


def test_tensordot_errors_and_normalized_axes():
    a, b = inp((3, 4, 5)), inp((4, 5, 2), name="b")
    assert apply("tensordot", a, b, axes=2).node.attrs["axes"] == ((1, 2), (0, 1))
    assert apply("tensordot", a, b, axes=((-1,), (1,))).node.attrs["axes"] == ((2,), (1,))
    with pytest.raises(ShapeError, match=r"tensordot: cannot contract \[3,4,5\] with "
                                         r"\[4,5,2\]: axis 0 \(3\) and axis 0 \(4\) differ"):
        apply("tensordot", a, b, axes=((0,), (0,)))
    with pytest.raises(ShapeError, match="different lengths"):
        apply("tensordot", a, b, axes=((0, 1), (0,)))


@pytest.mark.parametrize("op", ["matmul", "dot", "batch_dot", "tensordot"])
def test_float32_inputs_give_float32(op):
    x, y = inp((2, 3, 4)), inp((2, 4, 3), name="y")
    attrs = {"axes": ((2,), (1,))} if op == "tensordot" else {}
    z = apply(op, x, y, **attrs)
    rng = np.random.default_rng(0)
    got, = evaluate([z], {x: rng.normal(size=(2, 3, 4)).astype(np.float32),
                          y: rng.normal(size=(2, 4, 3)).astype(np.float32)})
    assert z.dtype == "float32" and got.dtype == np.float32


def test_int_times_float_does_not_upcast_to_float64():
    x, y = inp((2, 3), "int32"), inp((3, 2), "float32", "y")
    z = apply("matmul", x, y)
    got, = evaluate([z], {x: np.ones((2, 3), np.int32), y: np.ones((3, 2), np.float32)})
    assert z.dtype == "float32" and got.dtype == np.float32


def test_matmul_gradient_with_symbolic_batch_and_broadcast_weights():
    x, w = inp(("B", 3, 4), "float64"), inp((4, 2), "float64", "w")
    gx, gw = gradients(apply("sum", apply("matmul", x, w)), [x, w])
    assert gx.shape == ("B", 3, 4) and gw.shape == (4, 2)
    xa = np.random.default_rng(0).normal(size=(5, 3, 4))
    wa = np.random.default_rng(1).normal(size=(4, 2))
    vx, vw = evaluate([gx, gw], {x: xa, w: wa})
    np.testing.assert_allclose(vx, np.broadcast_to(wa.sum(1), (5, 3, 4)))
    np.testing.assert_allclose(vw, np.broadcast_to(xa.sum((0, 1))[:, None], (4, 2)))


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_matmul_matches_numpy_for_random_batched_shapes(data):
    n, k, m = (data.draw(st.integers(1, 4)) for _ in range(3))
    batch_a = tuple(data.draw(st.lists(st.sampled_from([1, 2]), max_size=2)))
    batch_b = tuple(data.draw(st.lists(st.sampled_from([1, 2]), max_size=2)))
    a_vec, b_vec = data.draw(st.booleans()), data.draw(st.booleans())
    sa = (k,) if a_vec else batch_a + (n, k)
    sb = (k,) if b_vec else batch_b + (k, m)
    rng = np.random.default_rng(0)
    aa, bb = rng.normal(size=sa).astype(np.float32), rng.normal(size=sb).astype(np.float32)
    a, b = inp(sa), inp(sb, name="b")
    z = apply("matmul", a, b)
    got, = evaluate([z], {a: aa, b: bb})
    want = np.matmul(aa.astype(np.float64), bb.astype(np.float64))
    assert got.shape == want.shape == z.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_tensordot_gradient_shapes_for_random_axis_pairs(data):
    a_shape = tuple(data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    ncon = data.draw(st.integers(0, len(a_shape)))
    ax_a = data.draw(st.permutations(range(len(a_shape))))[:ncon]
    extra = tuple(data.draw(st.lists(st.integers(1, 3), max_size=2)))
    b_dims = [a_shape[i] for i in ax_a] + list(extra)
    order = data.draw(st.permutations(range(len(b_dims))))
    b_shape = tuple(b_dims[i] for i in order)
    ax_b = [order.index(i) for i in range(ncon)]
    a, b = inp(a_shape, "float64"), inp(b_shape, "float64", "b")
    z = apply("tensordot", a, b, axes=(tuple(ax_a), tuple(ax_b)))
    rng = np.random.default_rng(0)
    aa, bb = rng.normal(size=a_shape), rng.normal(size=b_shape)
    w = rng.normal(size=z.shape)
    ga, gb = gradients(apply("sum", apply("mul", z, _const(w))), [a, b])
    va, vb = evaluate([ga, gb], {a: aa, b: bb})
    # d/da sum(w * tensordot(a, b)) is linear in w: compare with numpy's einsum-free form
    want_a = np.zeros_like(aa)
    for idx in np.ndindex(*a_shape):
        e = np.zeros_like(aa)
        e[idx] = 1
        want_a[idx] = np.sum(w * np.tensordot(e, bb, axes=(ax_a, ax_b)))
    np.testing.assert_allclose(va, want_a, atol=1e-10)
    assert vb.shape == b_shape


def _const(arr):
    from graphc.ir import constant
    return constant(arr)
