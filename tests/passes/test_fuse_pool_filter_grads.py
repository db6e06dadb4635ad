"""fuse_pool_filter_grads: a pooled first layer's filter and bias gradients read the pooled
gradient -- the rule fires when nothing else needs the full-size gradient, keeps the
reference interpreter's results (evaluated and compiled, the fused single-channel kernel and
the general path), and leaves the graph alone when the input gradient is wanted too."""
from __future__ import annotations

import numpy as np
import pytest

from graphc.codegen import compile_graph
from graphc.ir import Graph, TensorType, apply, evaluate, source
from graphc.ir.autodiff import gradients
from graphc.passes.fuse import fuse, fuse_conv_epilogues, fuse_pool_filter_grads


def _ph(shape, name):
    return source("input", TensorType("float32", shape), name=name)


def _layer(fmt, c, padding, wrt_x=False, hw=(9, 8)):
    """conv(c -> 4, 3x3) + bias -> relu -> 2x2 max pool -> sum(* r); outputs: the loss and
    its gradients w.r.t. the kernel and the bias (and x)."""
    xs = ("B",) + hw + (c,) if fmt == "channels_last" else ("B", c) + hw
    x, k, b = _ph(xs, "x"), _ph((3, 3, c, 4), "k"), _ph((4,), "b")
    z = apply("bias_add", apply("conv2d", x, k, padding=padding, data_format=fmt), b,
              data_format=fmt)
    p = apply("max_pool2d", apply("relu", z), pool_size=2, data_format=fmt)
    r = _ph(tuple(p.shape), "r")
    loss = apply("sum", apply("mul", p, r))
    wrt = [k, b] + ([x] if wrt_x else [])
    return Graph([x, k, b, r], [loss] + list(gradients(loss, wrt))), xs, p.shape


def _arrays(xs, ps, c, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(3,) + tuple(xs[1:])).astype(np.float32),
            rng.normal(size=(3, 3, c, 4)).astype(np.float32),
            rng.normal(size=4).astype(np.float32),
            rng.normal(size=(3,) + tuple(ps[1:])).astype(np.float32)]


@pytest.mark.parametrize("fmt, c, padding", [
    ("channels_last", 1, "valid"),      # the fused single-channel 3x3 / 2x2 kernel
    ("channels_last", 1, "same"),
    ("channels_first", 1, "valid"),
    ("channels_last", 2, "same")])      # general: pool gradient, then filter gradient
def test_filter_and_bias_gradients_read_the_pooled_gradient(fmt, c, padding):
    g, xs, ps = _layer(fmt, c, padding)
    f = fuse_pool_filter_grads(fuse_conv_epilogues(g))
    ops = [n.op for n in f.nodes()]
    assert "conv2d_backprop_filter_pool" in ops
    assert "max_pool2d_relu_grad" not in ops and "conv2d_backprop_filter" not in ops
    arrays = _arrays(xs, ps, c)
    want = evaluate(g.outputs, dict(zip(g.inputs, arrays)))
    got = evaluate(f.outputs, dict(zip(f.inputs, arrays)))
    for w, v in zip(want, got):
        np.testing.assert_allclose(v, w, rtol=1e-5, atol=1e-5)
    fn = compile_graph(fuse(g))                     # fuse() applies the rule itself
    assert fn.stats["python_nodes"] == 0, fn.program.fallback_ops
    assert "conv2d_bwd_filter_pool(" in fn.source and "max_pool_grad(" not in fn.source
    for w, v in zip(want, fn(arrays)):
        np.testing.assert_allclose(v, w, rtol=2e-5, atol=2e-5)


def test_wanting_the_input_gradient_keeps_the_full_size_pool_gradient():
    g, _, _ = _layer("channels_last", 1, "valid", wrt_x=True)
    f = fuse_conv_epilogues(g)
    assert fuse_pool_filter_grads(f) is f
    assert "max_pool2d_relu_grad" in [n.op for n in f.nodes()]


def test_bias_gradient_without_the_forward_pooling_in_the_graph_is_left_alone():
    # the pooled output P is what the bias rewrite masks with; a graph that holds the pool
    # gradient and the bias gradient but not max_pool2d(y) keeps them
    y, gp = _ph(("B", 6, 6, 4), "y"), _ph(("B", 3, 3, 4), "g")
    x, k = _ph(("B", 8, 8, 1), "x"), _ph((3, 3, 1, 4), "k")
    m = apply("max_pool2d_relu_grad", y, gp, pool_size=2)
    dk = apply("conv2d_backprop_filter", x, k, m)
    db = apply("bias_add_grad", m)
    g = Graph([x, k, y, gp], [dk, db])
    assert fuse_pool_filter_grads(g) is g
    g2 = Graph([x, k, y, gp], [dk])                  # filter gradient only: rewritten
    ops = [n.op for n in fuse_pool_filter_grads(g2).nodes()]
    assert "conv2d_backprop_filter_pool" in ops and "max_pool2d_relu_grad" not in ops
