"""Native conv / pooling / bias emitters equal the reference interpreter: forward values and
the gradients (the backprop helper ops), strides 2, 'same' / 'valid' / 'causal' padding,
dilation, both data formats -- each graph compiled to ONE native call."""
from __future__ import annotations

import numpy as np
import pytest
from numba import njit, prange

from graphc.codegen import compile_graph
from graphc.codegen.cpu import runtime as native
from graphc.codegen.cpu.runtime import conv, pool
from graphc.codegen.cpu.lowering import native_supported
from graphc.ir import Graph, TensorType, apply, evaluate, source
from graphc.ir.autodiff import gradients


def _ph(shape, name):
    return source("input", TensorType("float32", shape), name=name)


def _chan(shape_last, fmt):
    """A channels-last shape (N, *S, C) in ``fmt`` order."""
    if fmt == "channels_last":
        return shape_last
    return (shape_last[0], shape_last[-1]) + tuple(shape_last[1:-1])


def _build(fmt):
    """Many NN ops and their gradients in one graph (one compile per data format)."""
    rng = np.random.default_rng(0)
    inputs, arrays, outs, labels = [], [], [], []

    def inp(shape, name):
        v = _ph(shape, name)
        inputs.append(v)
        arrays.append(rng.normal(size=tuple(3 if d == "B" else d for d in shape))
                      .astype(np.float32))
        return v

    def add(label, y, wrt):
        r = inp(tuple(y.shape), f"r_{label}")            # random cotangent
        loss = apply("sum", apply("mul", y, r))
        outs.append(y)
        labels.append(label)
        for w, gv in zip(wrt, gradients(loss, wrt)):
            outs.append(gv)
            labels.append(f"d{label}/d{w.name}")

    x2 = inp(_chan(("B", 7, 6, 3), fmt), "x2")
    for k, (ks, st, pad, dil) in enumerate([((3, 3), 1, "valid", 1), ((3, 2), 2, "same", 1),
                                            ((2, 3), (2, 1), "valid", 1),
                                            ((3, 3), 1, "same", 2)]):
        w = inp(ks + (3, 4), f"w{k}")
        add(f"conv2d{k}", apply("conv2d", x2, w, strides=st, padding=pad, dilation=dil,
                                data_format=fmt), [x2, w])
    x1 = inp(_chan(("B", 9, 2), fmt), "x1")
    for k, (ks, st, pad, dil) in enumerate([(3, 2, "same", 1), (2, 1, "causal", 2),
                                            (3, 1, "valid", 1)]):
        w = inp((ks, 2, 3), f"u{k}")
        add(f"conv1d{k}", apply("conv1d", x1, w, strides=st, padding=pad, dilation=dil,
                                data_format=fmt), [x1, w])
    dk = inp((3, 3, 3, 2), "dk")
    for k, (st, pad) in enumerate([(1, "same"), (2, "valid")]):
        add(f"depthwise{k}", apply("depthwise_conv2d", x2, dk, strides=st, padding=pad,
                                   data_format=fmt), [x2, dk])
    xt = inp(_chan(("B", 3, 4, 2), fmt), "xt")
    tk = inp((3, 3, 5, 2), "tk")
    for k, (st, pad) in enumerate([(2, "valid"), (2, "same")]):
        add(f"deconv{k}", apply("conv2d_transpose", xt, tk, strides=st, padding=pad,
                                data_format=fmt), [xt, tk])
    for op in ("max_pool2d", "avg_pool2d"):
        for k, (ps, st, pad) in enumerate([(2, None, "valid"), (3, 2, "same")]):
            add(f"{op}{k}", apply(op, x2, pool_size=ps, strides=st, padding=pad,
                                  data_format=fmt), [x2])
    for op in ("max_pool1d", "avg_pool1d"):
        add(f"{op}", apply(op, x1, pool_size=3, strides=2, padding="same",
                           data_format=fmt), [x1])
    b = inp((3,), "b")
    add("bias_add", apply("bias_add", x2, b, data_format=fmt), [x2, b])
    bf = inp(tuple(x2.shape[1:]), "bf")
    add("bias_add_full", apply("bias_add", x2, bf, data_format=fmt), [x2, bf])
    return inputs, arrays, outs, labels


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_nn_ops_and_gradients_match_the_interpreter_in_one_native_call(fmt):
    inputs, arrays, outs, labels = _build(fmt)
    g = Graph(inputs, outs, name=f"nn_{fmt}")
    nn_ops = {n.op for n in g.nodes()} - {"input", "sum", "mul", "add", "constant",
                                          "broadcast_like", "fill_like"}
    assert {"conv2d_backprop_input", "conv2d_backprop_filter", "max_pool2d_grad",
            "avg_pool2d_grad", "depthwise_conv2d_backprop_filter", "bias_add_grad",
            "conv1d_backprop_input"} <= nn_ops
    fn = compile_graph(g)
    assert fn.stats["python_nodes"] == 0, fn.program.fallback_ops
    assert fn.stats["segments"] == 1
    got = fn(arrays)
    ref = evaluate(outs, dict(zip(inputs, arrays)))
    for label, r, v in zip(labels, ref, got):
        assert v.shape == r.shape and v.dtype == r.dtype, label
        np.testing.assert_allclose(v, r, rtol=2e-5, atol=2e-5, err_msg=label)


def test_max_pool_gradient_goes_to_the_first_maximum_and_nan_propagates():
    x = _ph(("B", 2, 4, 1), "x")
    y = apply("max_pool2d", x, pool_size=2)
    gr = apply("max_pool2d_grad", x, apply("fill_like", y, value=1.0, dtype="float32"),
               pool_size=2)
    g = Graph([x], [y, gr])
    fn = compile_graph(g)
    xa = np.array([[1, 1, 0, np.nan], [1, 0, 2, 3]], np.float32).reshape(1, 2, 4, 1)
    got = fn([xa])
    ref = evaluate(g.outputs, {x: xa})
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])
    assert got[1][0, 0, 0, 0] == 1 and got[1][0, 0, 1, 0] == 0      # the FIRST of the ties


def test_conv_with_symbolic_spatial_dims_falls_back_cleanly():
    x = _ph(("B", None, 3), "x")
    w = _ph((2, 3, 4), "w")
    node = apply("conv1d", x, w).node
    assert not native_supported(node)


def test_im2col_and_direct_conv_kernels_agree():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 6, 5, 3)).astype(np.float32)
    k = rng.normal(size=(3, 2, 3, 4)).astype(np.float32)
    a = conv.conv2d_fwd(x, k, np.empty(0, np.float32), False, 2, 2, 1, 1, 2, 1, 1, 3, 4)
    b = conv.conv2d_fwd_direct(x, k, 2, 1, 1, 2, 1, 1, 3, 4)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def _max_pool_grad_numpy(x, g, kh, kw, sh, sw, ph, pw):
    """Independent routing: each window's cotangent to its first maximum (np.argmax)."""
    n, h, w, c = x.shape
    dx = np.zeros_like(x)
    for i in range(g.shape[1]):
        for j in range(g.shape[2]):
            r0, c0 = i * sh - ph, j * sw - pw
            rs = [r for r in range(r0, r0 + kh) if 0 <= r < h]
            cs = [q for q in range(c0, c0 + kw) if 0 <= q < w]
            win = x[:, rs][:, :, cs].reshape(n, len(rs) * len(cs), c)
            best = np.argmax(win, axis=1)                       # (n, c)
            for b in range(n):
                for q in range(c):
                    t = best[b, q]
                    dx[b, rs[t // len(cs)], cs[t % len(cs)], q] += g[b, i, j, q]
    return dx


@pytest.mark.parametrize("geom", [
    # (H, W, kh, kw, sh, sw, ph, pw): tiled with an uncovered last row/col, gaps between
    # windows (stride > pool), overlapping windows, leading padding
    (7, 5, 2, 2, 2, 2, 0, 0), (8, 7, 2, 2, 3, 3, 0, 0), (6, 8, 2, 2, 2, 3, 0, 0),
    (6, 7, 3, 2, 3, 2, 0, 0),
    (6, 6, 3, 3, 2, 2, 0, 0), (5, 6, 3, 3, 2, 2, 1, 1)])
def test_max_pool_grad_kernel_routes_to_the_first_maximum_for_every_window_geometry(geom):
    h, w, kh, kw, sh, sw, ph, pw = geom
    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, size=(2, h, w, 3)).astype(np.float32)     # many ties
    oh = (h + 2 * ph - kh) // sh + 1
    ow = (w + 2 * pw - kw) // sw + 1
    g = rng.normal(size=(2, oh, ow, 3)).astype(np.float32)
    dx = pool.max_pool_grad(x, g, False, 2, kh, kw, sh, sw, ph, pw)  # uncovered: zero
    np.testing.assert_allclose(dx, _max_pool_grad_numpy(x, g, kh, kw, sh, sw, ph, pw),
                               rtol=1e-6, atol=1e-6)


def _conv_filter_grad_numpy(x, g, kh, kw, sh, sw, ph, pw):
    n, h, w, c = x.shape
    oh, ow = g.shape[1], g.shape[2]
    xp = np.zeros((n, h + kh + sh * oh, w + kw + sw * ow, c), np.float64)
    xp[:, ph:ph + h, pw:pw + w] = x
    dk = np.zeros((kh, kw, c, g.shape[3]))
    for a in range(kh):
        for e in range(kw):
            patch = xp[:, a:a + sh * oh:sh, e:e + sw * ow:sw][:, :oh, :ow]
            dk[a, e] = np.einsum("nijc,nijo->co", patch, g)
    return dk


@pytest.mark.parametrize("kh, c", [(3, 1), (2, 2), (3, 2), (3, 5)])
def test_conv_filter_gradient_direct_and_im2col_paths_match_numpy(kh, c):
    # (3, 1): the single-channel 3x3 kernel; K = kh * 3 * c <= 16 (2x3 taps, 2 channels):
    # the general direct loops; above: im2col + sgemm
    assert (kh * 3 * c <= conv._DIRECT_MAX_K) == (kh * c <= 4)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 7, 6, c)).astype(np.float32)
    g = rng.normal(size=(3, 4, 3, 4)).astype(np.float32)        # stride 2, pad 1
    got = conv.conv2d_bwd_filter(x, g, kh, 3, 2, 2, 2, 1, 1, 1, 1)
    np.testing.assert_allclose(got, _conv_filter_grad_numpy(x, g, kh, 3, 2, 2, 1, 1),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(6, 4, 1), (2, 4, 5)])    # channels-last fast path / general
def test_bias_kernels_match_numpy(shape):
    rng = np.random.default_rng(5)
    x = rng.normal(size=shape).astype(np.float32)
    b = rng.normal(size=shape[1]).astype(np.float32)
    np.testing.assert_allclose(conv.bias_add3(x, b), x + b[None, :, None], rtol=1e-6)
    np.testing.assert_allclose(conv.bias_grad3(x), x.sum(axis=(0, 2)), rtol=1e-5,
                               atol=1e-6)


def test_conv_graph_without_dense_gets_the_blas_thread_policy(monkeypatch):
    from graphc.codegen.cpu import runtime as native
    if native.blas_library() is None:
        pytest.skip("the BLAS library's thread count cannot be set here")
    monkeypatch.setenv("GRAPHC_BLAS_THREADS", "1")
    x = _ph(("B", 5, 5, 2), "x")
    w = _ph((3, 3, 2, 4), "w")
    fn = compile_graph(Graph([x, w], [apply("conv2d", x, w)]))
    assert "gemm(" not in fn.source                 # the products live inside the kernel
    assert fn.blas_threads is not None and fn.blas_threads.fixed == 1


# -- the batch-parallel kernels: every chunk count gives the reference's result ---------------

_GEOMS = [  # (H, W, C, O, KH, KW, strides, dilation, padding)
    (7, 6, 3, 4, 3, 3, (1, 1), (1, 1), "valid"),
    (7, 6, 1, 5, 3, 2, (2, 1), (1, 1), "same"),       # 1 channel: direct filter gradient
    (8, 7, 2, 3, 2, 3, (1, 2), (2, 1), "same"),
    (6, 6, 4, 2, 3, 3, (2, 2), (1, 1), "valid"),
    # one channel, 3x3: the direct single-channel kernels; valid, and same padding with
    # strides and dilation (a zero-padded copy, windows reaching past the input)
    (7, 6, 1, 5, 3, 3, (1, 1), (1, 1), "valid"),
    (8, 7, 1, 3, 3, 3, (2, 1), (1, 2), "same"),
    (7, 9, 1, 17, 3, 3, (2, 3), (2, 1), "same")]


def _conv_case(geom, fmt, n=5, seed=7):
    from graphc.codegen.cpu.lowering.nn import _geometry
    h, w, c, o, kh, kw, st, dl, pad = geom
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, h, w, c)).astype(np.float32)
    k = rng.normal(size=(kh, kw, c, o)).astype(np.float32)
    b = rng.normal(size=o).astype(np.float32)
    st4, dl4, pads, outs = _geometry((h, w), (kh, kw), st, dl, pad, 2)
    g = rng.normal(size=(n,) + outs + (o,)).astype(np.float32)
    attrs = dict(strides=st, dilation=dl, padding=pad, data_format=fmt)
    return x, k, b, g, st4 + dl4 + pads, outs, attrs


@pytest.mark.parametrize("geom", _GEOMS)
@pytest.mark.parametrize("relu", [False, True])
def test_conv_kernels_equal_the_reference_for_every_chunk_count(geom, relu):
    from graphc.ir.ops import REGISTRY
    x, k, b, g, geo, outs, attrs = _conv_case(geom, "channels_last")
    attrs = dict(attrs, data_format="channels_last")
    act = "relu" if relu else "linear"
    y_ref = REGISTRY["conv2d_bias_act"].reference(x, k, b, activation=act, **attrs)
    dx_ref = REGISTRY["conv2d_backprop_input"].reference(x, k, g, **attrs)
    dk_ref = REGISTRY["conv2d_backprop_filter"].reference(x, k, g, **attrs)
    results = []
    for nt in (1, 2, 3, 8):                         # 8 > batch: one image per chunk
        y = conv.conv2d_fwd(x, k, b, relu, nt, *geo, *outs)
        dx = conv.conv2d_bwd_input(x.shape[1], x.shape[2], k, g, nt, *geo)
        dk = conv.conv2d_bwd_filter(x, g, k.shape[0], k.shape[1], nt, *geo)
        np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(dx, dx_ref, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(dk, dk_ref, rtol=1e-4, atol=1e-4)
        results.append((y, dx, dk))
    for y, dx, dk in results[1:]:                   # forward / input gradient: per image
        np.testing.assert_array_equal(y, results[0][0])
        np.testing.assert_array_equal(dx, results[0][1])
        np.testing.assert_allclose(dk, results[0][2], rtol=1e-5, atol=1e-5)


def test_conv_kernel_without_bias_or_relu_is_the_plain_convolution():
    from graphc.ir.ops import REGISTRY
    x, k, _, _, geo, outs, attrs = _conv_case(_GEOMS[0], "channels_last")
    y = conv.conv2d_fwd(x, k, np.empty(0, np.float32), True, 2, *geo, *outs)
    ref = REGISTRY["conv2d"].reference(x, k, **attrs)
    np.testing.assert_allclose(y, np.where(ref > 0, ref, 0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("geom", [(6, 7, 2, 2, 2, 2, 0, 0), (6, 6, 3, 3, 2, 2, 0, 0),
                                  (5, 6, 3, 3, 2, 2, 1, 1), (8, 7, 2, 2, 3, 3, 0, 0)])
def test_pool_kernels_with_the_relu_mask_agree_for_every_chunk_count(geom):
    h, w, kh, kw, sh, sw, ph, pw = geom
    rng = np.random.default_rng(9)
    x = rng.integers(-2, 3, size=(5, h, w, 3)).astype(np.float32)    # ties and x <= 0
    x[0, 0, 0, 0] = np.nan
    oh = (h + 2 * ph - kh) // sh + 1
    ow = (w + 2 * pw - kw) // sw + 1
    g = rng.normal(size=(5, oh, ow, 3)).astype(np.float32)
    plain = _max_pool_grad_numpy(x, g, kh, kw, sh, sw, ph, pw)
    masked = np.where(x > 0, plain, 0)
    first = None
    for nt in (1, 2, 3, 8):
        y = pool.max_pool_fwd(x, nt, kh, kw, sh, sw, ph, pw, oh, ow)
        d0 = pool.max_pool_grad(x, g, False, nt, kh, kw, sh, sw, ph, pw)
        d1 = pool.max_pool_grad(x, g, True, nt, kh, kw, sh, sw, ph, pw)
        np.testing.assert_allclose(d0, plain, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(d1, masked, rtol=1e-6, atol=1e-6)
        if first is None:
            first = (y, d0, d1)
        for a, b_ in zip(first, (y, d0, d1)):
            np.testing.assert_array_equal(a, b_)


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_fused_epilogue_ops_compile_to_one_native_call_equal_to_the_reference(fmt):
    x = _ph(_chan(("B", 7, 6, 3), fmt), "x")
    k, b = _ph((3, 3, 3, 4), "k"), _ph((4,), "b")
    y = apply("conv2d_bias_act", x, k, b, activation="relu", strides=(1, 2), padding="same",
              data_format=fmt)
    d = apply("max_pool2d_relu_grad", y, apply("max_pool2d", y, data_format=fmt),
              data_format=fmt)
    g = Graph([x, k, b], [y, d])
    fn = compile_graph(g)
    assert fn.stats["python_nodes"] == 0 and "conv2d_fwd(" in fn.source
    rng = np.random.default_rng(2)
    arrays = [rng.normal(size=(3,) + tuple(x.shape[1:])).astype(np.float32),
              rng.normal(size=(3, 3, 3, 4)).astype(np.float32),
              rng.normal(size=4).astype(np.float32)]
    for v, r in zip(fn(arrays), evaluate(g.outputs, dict(zip(g.inputs, arrays)))):
        np.testing.assert_allclose(v, r, rtol=2e-5, atol=2e-5)


def test_programs_with_parallel_kernels_keep_blas_at_one_thread(monkeypatch):
    from graphc.codegen.cpu import runtime as native
    if native.blas_library() is None:
        pytest.skip("the BLAS library's thread count cannot be set here")
    monkeypatch.delenv("GRAPHC_BLAS_THREADS", raising=False)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1}, raising=False)
    x = _ph(("B", 5, 5, 2), "x")
    w = _ph((3, 3, 2, 4), "w")
    fn = compile_graph(Graph([x, w], [apply("conv2d", x, w)]))
    assert fn.blas_threads is not None and fn.blas_threads.fixed == 1


@pytest.mark.skipif(not native.FTZ_SUPPORTED, reason="FTZ/DAZ are x86 MXCSR bits")
def test_parallel_kernels_run_every_chunk_under_the_callers_ftz_daz():
    """A generated function sets FTZ/DAZ on its thread; the batch chunks that numba's worker
    threads run must use it too (a denormal input is zero under DAZ), and the workers get
    their own environment back afterwards."""
    @njit(parallel=True)
    def worker_mxcsr(nch):
        out = np.empty(nch, np.int64)
        for ci in prange(nch):
            out[ci] = native.mxcsr()
        return out

    @njit
    def conv_under_ftz(x, k):
        saved = native.ftz_enter()
        y = conv.conv2d_fwd(x, k, np.empty(0, np.float32), False, 4,
                               1, 1, 1, 1, 0, 0, 2, 2)
        native.ftz_exit(saved)
        return y

    before = worker_mxcsr(8)
    x = np.full((8, 3, 3, 2), 1e-39, np.float32)          # denormal: zero under DAZ
    k = np.ones((2, 2, 2, 3), np.float32)
    y = conv_under_ftz(x, k)
    assert y.shape == (8, 2, 2, 3) and np.all(y == 0), y.reshape(8, -1)[:, 0]
    plain = conv.conv2d_fwd(x, k, np.empty(0, np.float32), False, 4, 1, 1, 1, 1, 0, 0, 2, 2)
    assert np.all(plain > 0)                               # without FTZ: denormal sums
    # the workers' FTZ/DAZ mode bits are back (the low six bits are sticky exception flags:
    # the plain convolution above sets 'denormal' on whichever worker ran a chunk)
    np.testing.assert_array_equal(worker_mxcsr(8) & 0x8040, before & 0x8040)
