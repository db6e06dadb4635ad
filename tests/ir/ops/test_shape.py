"""Shape family: reshape/flatten with a symbolic batch, getitem against numpy for a table of
keys, split/unstack helpers, shape errors, run-time index errors, and hypothesis properties
(random transposes, random slices)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from graphc.ir import ShapeError, TensorType, apply, constant, evaluate, source
from graphc.ir.ops.shape import getitem, split, unstack
from graphc.ir.autodiff import gradients


def inp(shape, dtype="float32", name="x"):
    return source("input", TensorType(dtype, shape), name=name)


def run(outs, feeds):
    return evaluate(outs if isinstance(outs, list) else [outs], feeds)


# -- reshape / flatten with a symbolic batch -------------------------------------------------

@pytest.mark.parametrize("xs, target, out", [
    (("B", 28, 28), (-1, 784), ("B", 784)),
    (("B", 28, 28), (-1, 28, 28, 1), ("B", 28, 28, 1)),
    (("B", 28, 28), (-1, 392), (None, 392)),       # 2B rows: not provably B
    (("B", 6), (-1, 2, 3), ("B", 2, 3)),
    (("B", None, 4), (-1, 4), (None, 4)),
    ((2, 3, 4), (4, -1), (4, 6)),
    ((2, 3, 4), (24,), (24,)),
])
def test_reshape_infers_the_minus_one(xs, target, out):
    assert apply("reshape", inp(xs), shape=target).shape == out


def test_reshape_runs_for_any_batch_and_gradient_keeps_the_batch_symbol():
    x = inp(("B", 28, 28))
    y = apply("reshape", x, shape=(-1, 784))
    g, = gradients(apply("sum", y * y), [x])
    assert g.shape == ("B", 28, 28)
    for n in (1, 3):
        data = np.random.default_rng(n).normal(size=(n, 28, 28)).astype(np.float32)
        vy, vg = run([y, g], {x: data})
        np.testing.assert_array_equal(vy, data.reshape(n, 784))
        np.testing.assert_allclose(vg, 2 * data)


def test_reshape_errors():
    with pytest.raises(ShapeError, match=r"reshape: cannot reshape \[2,3,4\] into \(5, -1\): "
                                         r"24 elements are not divisible by 5"):
        apply("reshape", inp((2, 3, 4)), shape=(5, -1))
    with pytest.raises(ShapeError, match=r"cannot reshape \[2,3\] into \(7,\): 6 elements vs 7"):
        apply("reshape", inp((2, 3)), shape=(7,))
    with pytest.raises(ShapeError, match="more than one -1"):
        apply("reshape", inp((2, 3)), shape=(-1, -1))
    with pytest.raises(ShapeError, match=r"cannot reshape \[B,3\] into \(4,\): 4 is not a "
                                         r"multiple of the 3 known elements"):
        apply("reshape", inp(("B", 3)), shape=(4,))


def test_reshape_to_a_run_time_shape_vector():
    x, y = inp(("B", 6)), inp(("B", 2, 3), name="y")
    z = apply("reshape", x, apply("shape", y))
    assert z.shape == (None, None, None)
    data = np.arange(12, dtype=np.float32).reshape(2, 6)
    got, = run(z, {x: data, y: np.zeros((2, 2, 3), np.float32)})
    np.testing.assert_array_equal(got, data.reshape(2, 2, 3))


def test_flatten_keeps_the_batch_axis():
    x = inp(("B", 4, 5))
    y = apply("flatten", x)
    assert y.shape == ("B", 20)
    assert apply("flatten", inp(("B", None, 5))).shape == ("B", None)
    got, = run(y, {x: np.ones((3, 4, 5), np.float32)})
    assert got.shape == (3, 20)


def test_shape_op_is_int64_run_time_shape():
    x = inp(("B", 3))
    s = apply("shape", x)
    assert s.type == TensorType("int64", (2,))
    got, = run(s, {x: np.zeros((7, 3), np.float32)})
    assert got.dtype == np.int64 and list(got) == [7, 3]


# -- getitem -----------------------------------------------------------------------------------

KEYS = [
    0, -1, 2, slice(1, 3), slice(None, None, -1), slice(-2, None), slice(3, 0, -2),
    (0, 1), (slice(None), -1), (Ellipsis, 0), (Ellipsis, None), (None, 1),
    (1, Ellipsis, slice(None, None, 2)), (slice(None), None, slice(1, None), -2),
    (-1, -1, -1), (slice(10, 20),), (slice(-10, 2),), (None, Ellipsis, None),
    (np.int64(1), slice(None), np.int32(0)), Ellipsis,
]


@pytest.mark.parametrize("key", KEYS, ids=[repr(k) for k in KEYS])
def test_getitem_matches_numpy(key):
    data = np.arange(3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5)
    x = inp((3, 4, 5))
    y = x[key]
    got, = run(y, {x: data})
    want = data[key]
    assert got.shape == want.shape == y.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("key", [(slice(None), -1), (slice(None), slice(1, None), 0),
                                 (Ellipsis, None), (slice(None, None, -1),)])
def test_getitem_with_symbolic_batch_and_gradient(key):
    x = inp(("B", 4, 5), "float64")
    y = x[key]
    data = np.random.default_rng(0).normal(size=(3, 4, 5))
    got, = run(y, {x: data})
    np.testing.assert_array_equal(got, data[key])
    g, = gradients(apply("sum", y), [x])
    want = np.zeros_like(data)
    want[key] = 1.0
    np.testing.assert_array_equal(run(g, {x: data})[0], want)


def test_getitem_keeps_the_batch_symbol_where_possible():
    x = inp(("B", 10, 3))
    assert x[:, -1].shape == ("B", 3)
    assert x[..., None].shape == ("B", 10, 3, 1)
    assert x[1:].shape == (None, 10, 3)


def test_getitem_errors():
    x = inp((3, 4))
    with pytest.raises(IndexError, match="index 4 is out of bounds for axis 1 with size 4"):
        x[0, 4]
    with pytest.raises(IndexError, match="too many indices for a tensor of rank 2"):
        x[0, 0, 0]
    with pytest.raises(TypeError, match="unsupported index"):
        x["a"]
    with pytest.raises(TypeError, match="float64 array is not supported"):
        x[np.array([0.5])]


def test_getitem_with_int_array_gathers():
    x = inp((3, 4))
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    got, = run(x[[2, 0, 2]], {x: data})
    np.testing.assert_array_equal(got, data[[2, 0, 2]])


def test_value_T_reverses_axes():
    x = inp(("B", 3, 4))
    assert x.T.shape == (4, 3, "B")


# -- split / unstack helpers -------------------------------------------------------------------

def test_split_and_unstack():
    x = inp(("B", 6))
    a, b = split(x, [2, 4], axis=1)
    assert a.shape == ("B", 2) and b.shape == ("B", 4)
    parts = split(x, 3, axis=-1)
    cols = unstack(x, axis=1)
    data = np.arange(12, dtype=np.float32).reshape(2, 6)
    got = run([a, b] + parts + cols, {x: data})
    np.testing.assert_array_equal(got[0], data[:, :2])
    np.testing.assert_array_equal(got[1], data[:, 2:])
    for i in range(3):
        np.testing.assert_array_equal(got[2 + i], data[:, 2 * i:2 * i + 2])
    for i in range(6):
        np.testing.assert_array_equal(got[5 + i], data[:, i])
    with pytest.raises(ShapeError, match="cannot split axis 1 of size 6 into 4 equal parts"):
        split(x, 4, axis=1)
    with pytest.raises(ShapeError, match="must have a static size"):
        unstack(x, axis=0)


# -- shape errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("build, pattern", [
    (lambda: apply("transpose", inp((2, 3, 4)), perm=(0, 0, 1)),
     r"transpose: perm \(0, 0, 1\) is not a permutation of the 3 axes of \[2,3,4\]"),
    (lambda: apply("squeeze", inp(("B", 3)), axis=1),
     r"squeeze: axis 1 of \[B,3\] has size 3, not 1"),
    (lambda: apply("expand_dims", inp((2, 3)), axis=4),
     r"expand_dims: axis 4 is out of range for a tensor of rank 2"),
    (lambda: apply("concatenate", inp(("B", 3)), inp(("B", 4), name="y"), axis=0),
     r"concatenate: shapes \[B,3\], \[B,4\] differ on axis 1; only the concatenation axis 0"),
    (lambda: apply("concatenate", inp((2, 3)), inp((3,), name="y")),
     r"concatenate: all inputs must have the same rank, got \[2,3\], \[3\]"),
    (lambda: apply("stack", inp((2, 3)), inp((2, 4), name="y")),
     r"stack: all inputs must have the same shape, got \[2,3\], \[2,4\]"),
    (lambda: apply("slice", inp((2, 3)), begin=(0, 0, 0), end=(1, 1, 1), step=(1, 1, 1)),
     r"slice: 3 axes given for a tensor of rank 2"),
    (lambda: apply("slice", inp((2, 3)), begin=(0,), end=(1,), step=(0,)),
     r"slice: step must be nonzero"),
    (lambda: apply("gather", inp((5, 3)), inp((2,), "float32", "i")),
     r"gather: indices must be an integer tensor, got f32\[2\]"),
    (lambda: apply("one_hot", inp((4,), "int64"), num_classes=0),
     r"one_hot: num_classes must be a positive int, got 0"),
    (lambda: apply("pad", inp((2, 3)), pads=((1, 1),) * 3),
     r"pad: 3 \(before, after\) pairs given for a tensor of rank 2"),
    (lambda: apply("pad", inp((2, 3)), pads=((0, 0), (3, 0)), mode="reflect"),
     r"pad: reflect padding of axis 1 by \(3, 0\) needs a size of at least 4, got 3"),
    (lambda: apply("pad", inp((2, 3)), pads=1, mode="edge"),
     r"pad: mode must be one of 'constant', 'reflect', 'symmetric', got 'edge'"),
    (lambda: apply("repeat", inp((2, 3)), repeats=1.5, axis=0),
     r"repeat: repeats must be a non-negative int"),
    (lambda: apply("tile", inp((2, 3)), reps=(-1, 1)), r"tile: reps must be non-negative"),
])
def test_shape_errors_name_the_op_and_shapes(build, pattern):
    with pytest.raises(ShapeError, match=pattern):
        build()


def test_gather_out_of_range_index_fails_clearly_at_run_time():
    p, i = inp((5, 3)), inp((2,), "int64", "i")
    with pytest.raises(IndexError, match="gather: index 7 is out of range for an axis of size 5"):
        run(apply("gather", p, i), {p: np.zeros((5, 3), np.float32), i: np.array([1, 7])})


def test_gather_gradient_accumulates_repeated_indices():
    p, i = inp((4, 2)), inp(("B",), "int64", "i")
    g, = gradients(apply("sum", apply("gather", p, i)), [p])
    got, = run(g, {p: np.zeros((4, 2), np.float32), i: np.array([1, 3, 1, 1])})
    np.testing.assert_array_equal(got, [[0, 0], [3, 3], [0, 0], [1, 1]])


def test_pad_and_tile_and_repeat_types_with_symbolic_batch():
    x = inp(("B", 3))
    assert apply("pad", x, pads=((0, 0), (1, 2))).shape == ("B", 6)
    assert apply("pad", x, pads=((1, 0), (0, 0))).shape == (None, 3)
    assert apply("tile", x, reps=(1, 2)).shape == ("B", 6)
    assert apply("tile", x, reps=(2, 1)).shape == (None, 3)
    assert apply("repeat", x, repeats=2, axis=1).shape == ("B", 6)
    assert apply("one_hot", inp(("B",), "int32"), num_classes=10).type == \
        TensorType("float32", ("B", 10))


def test_tile_gradient_with_symbolic_batch():
    x = inp(("B", 3), "float64")
    y = apply("tile", x, reps=(2, 3))
    w = np.arange(2 * 2 * 9, dtype=np.float64).reshape(4, 9)
    g, = gradients(apply("sum", apply("mul", y, constant(w))), [x])
    assert g.shape == ("B", 3)
    got, = run(g, {x: np.zeros((2, 3))})
    want = w.reshape(2, 2, 3, 3).sum(axis=(0, 2))
    np.testing.assert_allclose(got, want)


def test_references_do_not_alias_their_inputs():
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    x = inp((2, 3))
    outs = [apply("reshape", x, shape=(3, 2)), apply("transpose", x), x[0],
            apply("expand_dims", x, axis=0), apply("squeeze", apply("expand_dims", x, axis=0)),
            apply("slice", x, begin=(0,), end=(1,), step=(1,)), apply("flatten", x)]
    for out in run(outs, {x: data}):
        assert not np.shares_memory(out, data)


# -- properties ------------------------------------------------------------------------------

@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_random_transposes_match_numpy_and_invert(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=5, min_side=1, max_side=3))
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    arr = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    x = inp(shape)
    y = apply("transpose", x, perm=perm)
    g, = gradients(apply("sum", apply("mul", y, constant(np.transpose(arr, perm)))), [x])
    vy, vg = run([y, g], {x: arr})
    np.testing.assert_array_equal(vy, np.transpose(arr, perm))
    np.testing.assert_array_equal(vg, arr)


_bound = st.none() | st.integers(-6, 6)


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_random_slices_match_numpy(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    key = tuple(slice(data.draw(_bound), data.draw(_bound),
                      data.draw(st.none() | st.sampled_from([-3, -2, -1, 1, 2, 3])))
                for _ in shape)
    arr = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    x = inp(shape)
    y = x[key]
    got, = run(y, {x: arr})
    assert got.shape == arr[key].shape == y.shape
    np.testing.assert_array_equal(got, arr[key])
    if y.node.op == "slice":
        g, = gradients(apply("sum", y), [x])
        want = np.zeros_like(arr)
        want[key] = 1
        np.testing.assert_array_equal(run(g, {x: arr})[0], want)
