"""fuse_conv_epilogues: bias + relu folded into conv2d, the relu gradient into the max-pool
gradient -- the rules fire on a convnet's training graph, keep the results of the reference
interpreter, and leave graphs alone where a fused value would be needed elsewhere."""
from __future__ import annotations

import numpy as np
import pytest

from graphc.codegen import compile_graph
from graphc.ir import Graph, TensorType, apply, evaluate, source
from graphc.ir.autodiff import gradients
from graphc.passes.fuse import fuse, fuse_conv_epilogues


def _ph(shape, name):
    return source("input", TensorType("float32", shape), name=name)


def _convnet(fmt="channels_last", expose_pre_activation=False):
    """conv -> bias -> relu -> max_pool -> sum(* r); outputs: loss and d/dx, d/dk, d/db."""
    xs = ("B", 6, 7, 2) if fmt == "channels_last" else ("B", 2, 6, 7)
    x, k, b = _ph(xs, "x"), _ph((3, 3, 2, 4), "k"), _ph((4,), "b")
    z = apply("bias_add", apply("conv2d", x, k, data_format=fmt), b, data_format=fmt)
    y = apply("relu", z)
    p = apply("max_pool2d", y, pool_size=2, data_format=fmt)
    r = _ph(tuple(p.shape), "r")
    loss = apply("sum", apply("mul", p, r))
    outs = [loss] + list(gradients(loss, [x, k, b]))
    if expose_pre_activation:
        outs.append(z)
    return Graph([x, k, b, r], outs), p.shape


def _arrays(g, pshape, fmt):
    rng = np.random.default_rng(0)
    xs = (3, 6, 7, 2) if fmt == "channels_last" else (3, 2, 6, 7)
    rs = (3,) + tuple(pshape[1:])
    return [rng.normal(size=xs).astype(np.float32),
            rng.normal(size=(3, 3, 2, 4)).astype(np.float32),
            rng.normal(size=4).astype(np.float32),
            rng.normal(size=rs).astype(np.float32)]


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_conv_bias_relu_and_its_pooled_gradient_fuse_and_match_the_reference(fmt):
    g, pshape = _convnet(fmt)
    f = fuse_conv_epilogues(g)
    ops = [n.op for n in f.nodes()]
    assert "conv2d_bias_act" in ops and "max_pool2d_relu_grad" in ops
    assert not {"conv2d", "bias_add", "relu", "max_pool2d_grad", "where"} & set(ops)
    arrays = _arrays(g, pshape, fmt)
    feed = dict(zip(g.inputs, arrays))
    want = evaluate(g.outputs, feed)
    got = evaluate(f.outputs, dict(zip(f.inputs, arrays)))
    for w, v in zip(want, got):
        np.testing.assert_allclose(v, w, rtol=1e-5, atol=1e-5)
    fn = compile_graph(fuse(f))                     # the native kernels, both formats
    assert fn.stats["python_nodes"] == 0, fn.program.fallback_ops
    for w, v in zip(want, fn(arrays)):
        np.testing.assert_allclose(v, w, rtol=2e-5, atol=2e-5)


def test_pre_activation_used_elsewhere_keeps_the_relu_but_still_fuses_the_bias():
    g, _ = _convnet(expose_pre_activation=True)
    ops = [n.op for n in fuse_conv_epilogues(g).nodes()]
    assert "relu" in ops and "max_pool2d_grad" in ops and "max_pool2d_relu_grad" not in ops
    assert "conv2d_bias_act" not in ops and "bias_add" in ops


def test_bias_without_activation_becomes_a_linear_epilogue():
    x, k, b = _ph(("B", 5, 5, 2), "x"), _ph((3, 3, 2, 3), "k"), _ph((3,), "b")
    y = apply("bias_add", apply("conv2d", x, k), b)
    f = fuse_conv_epilogues(Graph([x, k, b], [y]))
    (node,) = [n for n in f.nodes() if n.inputs]
    assert node.op == "conv2d_bias_act" and node.attrs["activation"] == "linear"


def test_conv_output_used_twice_is_not_fused():
    x, k, b = _ph(("B", 5, 5, 2), "x"), _ph((3, 3, 2, 3), "k"), _ph((3,), "b")
    c = apply("conv2d", x, k)
    g = Graph([x, k, b], [apply("relu", apply("bias_add", c, b)), c])
    assert fuse_conv_epilogues(g) is g


def test_graph_without_convolutions_is_returned_unchanged():
    x = _ph(("B", 4), "x")
    g = Graph([x], [apply("relu", x)])
    assert fuse_conv_epilogues(g) is g
