"""NN ops beyond the registry-wide cases: a forward grid against naive loops, adjointness of
conv2d_transpose, shape inference with symbolic dims, clear shape errors, second-order
gradients and the Keras 2 / TF edge cases (asymmetric 'same' padding, avg over valid elements).
"""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from graphc.ir import ShapeError, TensorType, apply, evaluate, source
from graphc.ir.ops.nn import conv_output_length, deconv_length
from graphc.ir.autodiff import gradients

from ..op_cases import rand
from ..op_cases.nn import naive_conv2d, naive_depthwise, naive_pool2d, to_first


def inp(shape, dtype="float32", name="x"):
    return source("input", TensorType(dtype, shape), name=name)


def run(op, arrays, **attrs):
    xs = [inp(a.shape, a.dtype.name, f"x{i}") for i, a in enumerate(arrays)]
    y = apply(op, *xs, **attrs)
    return evaluate([y], dict(zip(xs, arrays)))[0], y


def dot(a, b):
    return float(np.sum(np.asarray(a, np.float64) * np.asarray(b, np.float64)))


# -- forward against naive loops ---------------------------------------------------------------

GRID = list(itertools.product((1, 2), ("valid", "same"), (1, 2)))


@pytest.mark.parametrize("strides,padding,dilation", GRID)
def test_conv2d_matches_naive_loops_in_both_data_formats(strides, padding, dilation):
    x, k = rand(2, 7, 6, 3), rand(3, 2, 3, 4, seed=1)
    want = naive_conv2d(x, k, (strides,) * 2, padding, (dilation,) * 2)
    attrs = dict(strides=strides, padding=padding, dilation=dilation)
    last, y = run("conv2d", [x, k], **attrs)
    first, _ = run("conv2d", [to_first(x), k], data_format="channels_first", **attrs)
    assert last.dtype == np.float32 and last.shape == y.shape
    np.testing.assert_allclose(last, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(first, to_first(last), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("strides,padding,dilation", GRID)
def test_depthwise_conv2d_matches_naive_loops(strides, padding, dilation):
    x, k = rand(2, 6, 7, 2), rand(2, 3, 2, 3, seed=1)
    got, y = run("depthwise_conv2d", [x, k], strides=strides, padding=padding,
                 dilation=dilation)
    assert y.shape[-1] == 6 and got.shape == y.shape
    np.testing.assert_allclose(got, naive_depthwise(x, k, (strides,) * 2, padding,
                                                    (dilation,) * 2), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("pool,strides,padding", [(2, None, "valid"), (3, 2, "same"),
                                                  (2, 1, "same"), (3, 1, "valid")])
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool2d_matches_naive_loops_in_both_data_formats(pool, strides, padding, mode):
    x = rand(2, 5, 6, 3)
    st_ = (pool, pool) if strides is None else (strides, strides)
    want = naive_pool2d(x, (pool, pool), st_, padding, mode)
    attrs = dict(pool_size=pool, strides=strides, padding=padding)
    last, _ = run(f"{mode}_pool2d", [x], **attrs)
    first, _ = run(f"{mode}_pool2d", [to_first(x)], data_format="channels_first", **attrs)
    np.testing.assert_allclose(last, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(first, to_first(last), rtol=1e-6, atol=1e-7)


@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 7), w=st.integers(1, 7), kh=st.integers(1, 3), kw=st.integers(1, 3),
       s=st.integers(1, 3), d=st.integers(1, 2), padding=st.sampled_from(["valid", "same"]))
def test_conv2d_geometry_property(h, w, kh, kw, s, d, padding):
    """Any geometry: the inferred shape is the computed one and values match the naive loop."""
    x, k = rand(1, h, w, 2), rand(kh, kw, 2, 2, seed=1)
    if padding == "valid" and ((kh - 1) * d + 1 > h or (kw - 1) * d + 1 > w):
        with pytest.raises(ShapeError, match="larger than the input"):
            apply("conv2d", inp(x.shape), inp(k.shape), padding=padding, dilation=d)
        return
    got, y = run("conv2d", [x, k], strides=s, padding=padding, dilation=d)
    assert got.shape == y.shape
    np.testing.assert_allclose(got, naive_conv2d(x, k, (s, s), padding, (d, d)), atol=1e-5)


def test_same_padding_puts_the_odd_element_at_the_bottom_right():
    # 4x4 input, 2x2 kernel of ones, stride 1, 'same': one row/col of padding, after (TF).
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    k = np.ones((2, 2, 1, 1), np.float32)
    y, _ = run("conv2d", [x, k], padding="same")
    assert y[0, 0, 0, 0] == 0 + 1 + 4 + 5          # top-left window is fully inside
    assert y[0, 3, 3, 0] == 15                      # bottom-right sees only padding + x[3, 3]


def test_avg_pool_same_averages_over_valid_elements_only():
    x = np.ones((1, 3, 3, 1), np.float32)
    y, _ = run("avg_pool2d", [x], pool_size=2, strides=1, padding="same")
    np.testing.assert_array_equal(y, np.ones((1, 3, 3, 1)))


def test_max_pool_same_padding_never_wins_over_negative_inputs():
    x = -np.ones((1, 3, 3, 1), np.float32) - rand(1, 3, 3, 1, low=0, high=1)
    y, _ = run("max_pool2d", [x], pool_size=2, padding="same")
    assert y.shape == (1, 2, 2, 1) and (y < 0).all()


def test_conv1d_causal_output_depends_only_on_the_past():
    x, k = rand(1, 8, 2), rand(3, 2, 1, seed=1)
    y, _ = run("conv1d", [x, k], padding="causal", dilation=2)
    x2 = x.copy()
    x2[0, 5:] += 10.0                               # change the future from t = 5 on
    y2, _ = run("conv1d", [x2, k], padding="causal", dilation=2)
    assert y.shape == (1, 8, 1)
    np.testing.assert_array_equal(y[0, :5], y2[0, :5])
    assert not np.allclose(y[0, 5:], y2[0, 5:])


def test_references_keep_float32_and_float64():
    for dt in ("float32", "float64"):
        x, k = rand(1, 4, 4, 2, dtype=dt), rand(2, 2, 2, 3, seed=1, dtype=dt)
        for op, args in (("conv2d", [x, k]), ("max_pool2d", [x]), ("avg_pool2d", [x]),
                         ("depthwise_conv2d", [x, k[..., :1]]),
                         ("bias_add", [x, rand(2, dtype=dt)])):
            got, y = run(op, args)
            assert got.dtype == np.dtype(dt) and y.dtype == dt, op


# -- conv2d_transpose --------------------------------------------------------------------------

@pytest.mark.parametrize("strides,padding,dilation,fmt", [
    (1, "valid", 1, "channels_last"), (2, "valid", 1, "channels_last"),
    (2, "same", 1, "channels_first"), (1, "same", 2, "channels_last"),
    (3, "same", 1, "channels_last")])
def test_conv2d_transpose_is_the_adjoint_of_conv2d(strides, padding, dilation, fmt):
    """<conv2d(x, k), y> == <x, conv2d_transpose(y, k)> with output_shape = x's size."""
    x, k = rand(2, 7, 6, 3), rand(3, 3, 3, 4, seed=1)
    if fmt == "channels_first":
        x = to_first(x)
    attrs = dict(strides=strides, padding=padding, dilation=dilation, data_format=fmt)
    cx, _ = run("conv2d", [x, k], **attrs)
    y = rand(*cx.shape, seed=2)
    spatial = x.shape[1:3] if fmt == "channels_last" else x.shape[2:]
    ty, tv = run("conv2d_transpose", [y, k], output_shape=spatial, **attrs)
    assert ty.shape == x.shape == tuple(tv.shape)
    assert abs(dot(cx, y) - dot(x, ty)) < 1e-4 * max(1.0, abs(dot(cx, y)))


@pytest.mark.parametrize("op,kshape", [("conv1d", (3, 2, 4)), ("depthwise_conv2d",
                                                                (3, 2, 2, 3))])
def test_backprop_input_and_filter_are_adjoints(op, kshape):
    """<op(x, k), g> == <x, backprop_input(x, k, g)> == <k, backprop_filter(x, k, g)>."""
    x = rand(2, 7, 2) if op == "conv1d" else rand(2, 6, 5, 2)
    k = rand(*kshape, seed=1)
    attrs = dict(strides=2, padding="same")
    y, _ = run(op, [x, k], **attrs)
    g = rand(*y.shape, seed=2)
    dx, _ = run(f"{op}_backprop_input", [x, k, g], **attrs)
    dk, _ = run(f"{op}_backprop_filter", [x, k, g], **attrs)
    assert dx.shape == x.shape and dk.shape == k.shape
    np.testing.assert_allclose(dot(y, g), dot(x, dx), rtol=1e-5)
    np.testing.assert_allclose(dot(y, g), dot(k, dk), rtol=1e-5)


@pytest.mark.parametrize("n,k,s,padding,want", [
    (7, 3, 2, "valid", 15), (7, 3, 2, "same", 14), (4, 2, 2, "valid", 8),
    (4, 1, 3, "valid", 12), (5, 3, 1, "valid", 7), (5, 3, 1, "same", 5)])
def test_conv2d_transpose_output_size_is_keras_deconv_length(n, k, s, padding, want):
    assert deconv_length(n, k, s, padding) == want
    y = apply("conv2d_transpose", inp(("B", n, n, 3)), inp((k, k, 5, 3), name="k"),
              strides=s, padding=padding)
    assert y.shape == ("B", want, want, 5)


def test_conv2d_transpose_accepts_a_keras_style_full_output_shape():
    y = apply("conv2d_transpose", inp(("B", 3, 3, 4)), inp((3, 3, 2, 4), name="k"),
              output_shape=(None, 5, 6, 2), strides=2, padding="same")
    assert y.shape == ("B", 5, 6, 2) and y.node.attrs["output_shape"] == (5, 6)
    # unknown entries fall back to Keras 2's deconv_length for that axis
    x, k = inp(("B", 3, "W", 4)), inp((3, 3, 2, 4), name="k")
    y = apply("conv2d_transpose", x, k, output_shape=(None, 5, None, 2), strides=2,
              padding="same")
    assert y.shape == ("B", 5, None, 2) and y.node.attrs["output_shape"] == (5, None)
    out, = evaluate([y], {x: rand(1, 3, 4, 4), k: rand(3, 3, 2, 4, seed=1)})
    assert out.shape == (1, 5, 8, 2)


def test_conv2d_transpose_rejects_an_inconsistent_output_shape():
    with pytest.raises(ShapeError, match=r"conv2d_transpose: output_shape \[9,9\] is "
                                         r"inconsistent with the input"):
        apply("conv2d_transpose", inp(("B", 3, 3, 4)), inp((3, 3, 2, 4), name="k"),
              output_shape=(9, 9), strides=2, padding="same")
    with pytest.raises(ShapeError, match="has 3 channels but the kernel"):
        apply("conv2d_transpose", inp(("B", 3, 3, 4)), inp((3, 3, 2, 4), name="k"),
              output_shape=(None, 6, 6, 3), strides=2, padding="same")


# -- shape inference and errors ------------------------------------------------------------

def test_symbolic_batch_and_spatial_dims():
    y = apply("conv2d", inp(("B", 28, 28, 1)), inp((3, 3, 1, 32), name="k"))
    assert y.shape == ("B", 26, 26, 32)
    y = apply("conv2d", inp(("B", 3, "H", "W")), inp((3, 3, 3, 8), name="k"), padding="same",
              data_format="channels_first")
    assert y.shape == ("B", 8, "H", "W")
    y = apply("conv2d", inp(("B", "H", 9, 3)), inp((3, 3, 3, 8), name="k"), strides=2,
              padding="same")
    assert y.shape == ("B", None, 5, 8)
    assert apply("max_pool1d", inp(("B", 9, 4))).shape == ("B", 4, 4)
    assert apply("avg_pool2d", inp(("B", 4, 7, 7)), pool_size=3, strides=2,
                 data_format="channels_first").shape == ("B", 4, 3, 3)
    assert apply("depthwise_conv2d", inp(("B", 5, 5, 3)), inp((3, 3, 3, 2), name="k"),
                 ).shape == ("B", 3, 3, 6)
    assert conv_output_length("B", 3, 1, "same") == "B"


def test_symbolic_batch_evaluates_at_any_batch_size():
    x, k = inp(("B", 5, 5, 2)), inp((3, 3, 2, 4), name="k")
    y = apply("max_pool2d", apply("conv2d", x, k, padding="same"), padding="same")
    kk = rand(3, 3, 2, 4, seed=1)
    for n in (1, 3):
        out, = evaluate([y], {x: rand(n, 5, 5, 2), k: kk})
        assert out.shape == (n, 3, 3, 4)


def test_kernel_larger_than_input_is_a_clear_error():
    with pytest.raises(ShapeError) as e:
        apply("conv2d", inp(("B", 4, 4, 3)), inp((5, 5, 3, 8), name="k"))
    msg = str(e.value)
    assert "conv2d" in msg and "(5, 5)" in msg and "[B,4,4,3]" in msg and "'same'" in msg
    with pytest.raises(ShapeError, match=r"dilated to 5"):
        apply("conv1d", inp(("B", 4, 3)), inp((3, 3, 8), name="k"), dilation=2)
    with pytest.raises(ShapeError, match="max_pool2d: the pool window"):
        apply("max_pool2d", inp(("B", 2, 2, 3)), pool_size=3)


def test_channel_mismatch_names_both_shapes_and_the_layout():
    with pytest.raises(ShapeError) as e:
        apply("conv2d", inp(("B", 8, 8, 3)), inp((3, 3, 4, 8), name="k"))
    msg = str(e.value)
    assert "conv2d" in msg and "[B,8,8,3]" in msg and "[3,3,4,8]" in msg
    assert "(kh, kw, in, out)" in msg and "3 channels" in msg
    with pytest.raises(ShapeError, match="channels_first"):
        apply("conv2d", inp(("B", 8, 8, 3)), inp((3, 3, 3, 8), name="k"),
              data_format="channels_first")
    with pytest.raises(ShapeError, match=r"bias_add: the bias f32\[4\] does not match"):
        apply("bias_add", inp(("B", 8, 3)), inp((4,), name="b"))


def test_bad_attribute_values_list_the_valid_choices():
    x, k = inp(("B", 8, 8, 3)), inp((3, 3, 3, 8), name="k")
    with pytest.raises(ShapeError, match="data_format must be one of 'channels_last', "
                                         "'channels_first', got 'NHWC'"):
        apply("conv2d", x, k, data_format="NHWC")
    with pytest.raises(ShapeError, match="padding must be one of 'valid', 'same', got 'causal'"):
        apply("conv2d", x, k, padding="causal")
    with pytest.raises(ShapeError, match=r"strides must be a positive int or a tuple of 2"):
        apply("conv2d", x, k, strides=(1, 0))
    with pytest.raises(ShapeError, match="max_pool2d: data_format must be one of"):
        apply("max_pool2d", x, data_format="nhwc")
    with pytest.raises(ShapeError, match="the kernel must have rank 4"):
        apply("conv2d", x, inp((3, 3, 8), name="k1"))
    with pytest.raises(ShapeError, match="expects float tensors"):
        apply("conv2d", inp(("B", 8, 8, 3), "int32"), k)


# -- gradients -----------------------------------------------------------------------------

def numeric_grad(f, a, eps=1e-6):
    out = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        p, m = a.copy(), a.copy()
        p[i] += eps
        m[i] -= eps
        out[i] = (f(p) - f(m)) / (2 * eps)
    return out


def test_second_order_gradient_through_conv2d():
    """d/dk of <dL/dx, c> where L = <conv2d(x, k), w>: uses conv2d_backprop_input's grad."""
    x = rand(2, 4, 4, 2, dtype="float64")
    kv = rand(2, 2, 2, 2, seed=1, dtype="float64")
    w = rand(2, 2, 2, 2, seed=2, dtype="float64")
    c = rand(2, 4, 4, 2, seed=3, dtype="float64")
    X, K = inp(x.shape, "float64"), inp(kv.shape, "float64", "k")
    attrs = dict(strides=2, padding="same")
    loss = apply("sum", apply("conv2d", X, K, **attrs) * w)
    dx = gradients(loss, X)
    second = gradients(apply("sum", dx * c), K)
    got, = evaluate([second], {X: x, K: kv})

    def f(kk):
        return float(np.sum(evaluate([dx], {X: x, K: kk})[0] * c))
    np.testing.assert_allclose(got, numeric_grad(f, kv), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d"])
def test_second_order_gradient_through_pooling(op):
    """d/dw of <d<pool(x), w>/dx, c> exercises the pooling grad ops' own gradients."""
    x = rand(2, 5, 5, 2, dtype="float64")
    X = inp(x.shape, "float64")
    y = apply(op, X, pool_size=3, strides=2, padding="same")
    W = inp(y.shape, "float64", "w")
    c = rand(*x.shape, seed=3, dtype="float64")
    dx = gradients(apply("sum", y * W), X)
    second = gradients(apply("sum", dx * c), W)
    wv = rand(*y.shape, seed=2, dtype="float64")
    got, = evaluate([second], {X: x, W: wv})

    def f(ww):
        return float(np.sum(evaluate([dx], {X: x, W: ww})[0] * c))
    np.testing.assert_allclose(got, numeric_grad(f, wv), rtol=1e-6, atol=1e-8)


def test_max_pool_gradient_goes_to_the_first_maximum_only():
    x = np.array([[1.0, 3.0], [3.0, 0.0]], np.float32).reshape(1, 2, 2, 1)
    X = inp(x.shape)
    dx, = evaluate([gradients(apply("sum", apply("max_pool2d", X)), X)], {X: x})
    np.testing.assert_array_equal(dx.reshape(2, 2), [[0, 1], [0, 0]])


def test_bias_add_gradient_sums_over_all_but_the_channel_axis():
    x, b = rand(3, 4, 5, 2), rand(4, seed=1)
    X, B = inp(("B", 4, 5, 2)), inp((4,), name="b")
    y = apply("bias_add", X, B, data_format="channels_first")
    gb, = evaluate([gradients(apply("sum", y * y), B)], {X: x, B: b})
    want = (2 * (x + b[:, None, None])).sum(axis=(0, 2, 3))
    np.testing.assert_allclose(gb, want, rtol=1e-5)
