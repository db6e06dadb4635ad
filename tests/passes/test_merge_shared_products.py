"""merge_shared_products: products P_i^T Q with the same right operand become one product
whose row blocks are the results -- a matmul of a transpose and a tensordot over the right
operand's leading axes (a recurrent layer's dW and dU) merge, the results equal the
reference interpreter's (evaluated and compiled), and groups that are all wide, that do not
share Q, or whose operands depend on one of the products are left alone."""
from __future__ import annotations

import numpy as np
import pytest

from graphc.codegen import compile_graph
from graphc.ir import Graph, TensorType, apply, evaluate, source
from graphc.passes import fuse as fuse_mod
from graphc.passes.fuse import fuse, merge_shared_products

T, N = 4, 6


def _ph(shape, name):
    return source("input", TensorType("float32", shape), name=name)


def _products(nodes):
    return [n for n in nodes if n.op in ("matmul", "tensordot", "dot")]


def _check(g, arrays):
    merged = merge_shared_products(g)
    ref = evaluate(g.outputs, dict(zip(g.inputs, arrays)))
    for graph in (merged, fuse(g)):
        got = evaluate(graph.outputs, dict(zip(graph.inputs, arrays)))
        for r, v in zip(ref, got):
            assert v.shape == r.shape
            np.testing.assert_allclose(v, r, rtol=1e-5, atol=1e-5)
    compiled = compile_graph(fuse(g))(arrays)
    for r, v in zip(ref, compiled):
        np.testing.assert_allclose(v, r, rtol=1e-5, atol=1e-5)
    return merged


def _rnn_like(rng, x_width=3, h_width=5):
    """dW = tensordot(x, G) over (time, batch) and dU = H^T G with G the stacked
    (T, B, N) cotangent, as a recurrent layer's gradient has them."""
    x, e, g = _ph(("B", T, x_width), "x"), _ph((T, "B", h_width), "e"), _ph((T, "B", N), "g")
    dw = apply("tensordot", x, g, axes=((1, 0), (0, 1)))
    du = apply("matmul", apply("transpose", apply("reshape", e, shape=(-1, h_width)),
                               perm=(1, 0)), apply("reshape", g, shape=(-1, N)))
    arrays = [rng.normal(size=(2, T, x_width)).astype(np.float32),
              rng.normal(size=(T, 2, h_width)).astype(np.float32),
              rng.normal(size=(T, 2, N)).astype(np.float32)]
    return Graph([x, e, g], [dw * 1.0, du * 2.0]), arrays


def test_a_recurrent_layers_weight_gradients_become_one_product():
    g, arrays = _rnn_like(np.random.default_rng(0))
    assert len(_products(g.nodes())) == 2
    merged = _check(g, arrays)
    prods = _products(merged.nodes())
    assert len(prods) == 1 and prods[0].op == "matmul"
    assert prods[0].outputs[0].shape == (3 + 5, N)
    # the operands sit side by side: x time-major (a reshape of its transpose) and e
    cat, = [n for n in merged.nodes() if n.op == "concatenate"]
    assert [v.shape[1] for v in cat.inputs] == [3, 5]


def test_two_plain_matrix_products_with_the_same_right_operand_merge():
    rng = np.random.default_rng(1)
    a, b, q = _ph(("R", 2), "a"), _ph(("R", 7), "b"), _ph(("R", N), "q")
    ta, tb = apply("transpose", a, perm=(1, 0)), apply("transpose", b, perm=(1, 0))
    g = Graph([a, b, q], [apply("matmul", ta, q), apply("matmul", tb, q) + 1.0])
    arrays = [rng.normal(size=(5, k)).astype(np.float32) for k in (2, 7, N)]
    merged = _check(g, arrays)
    assert len(_products(merged.nodes())) == 1


def test_wide_products_and_products_of_different_operands_are_left_alone(monkeypatch):
    g, arrays = _rnn_like(np.random.default_rng(2))
    monkeypatch.setattr(fuse_mod, "MERGE_MAX_ROWS", 3)       # both widths (3, 5) >= 3
    assert merge_shared_products(g) is g
    monkeypatch.undo()
    a, b = _ph(("R", 2), "a"), _ph(("R", 2), "b")
    q1, q2 = _ph(("R", N), "q1"), _ph(("R", N), "q2")
    g2 = Graph([a, b, q1, q2], [apply("matmul", apply("transpose", a, perm=(1, 0)), q1),
                                apply("matmul", apply("transpose", b, perm=(1, 0)), q2)])
    assert merge_shared_products(g2) is g2


def test_rows_named_differently_merge_and_operands_of_two_dtypes_stay_apart():
    rng = np.random.default_rng(5)
    # a's rows are B and b's C: both must equal q's at run time, so they merge
    a, b, q = _ph(("B", 2), "a"), _ph(("C", 3), "b"), _ph((None, N), "q")
    g = Graph([a, b, q], [apply("matmul", apply("transpose", a, perm=(1, 0)), q),
                          apply("matmul", apply("transpose", b, perm=(1, 0)), q)])
    assert len(_products(merge_shared_products(g).nodes())) == 1
    _check(g, [rng.normal(size=(4, k)).astype(np.float32) for k in (2, 3, N)])
    # a float64 operand beside a float32 one cannot be concatenated: left alone
    a64 = source("input", TensorType("float64", ("B", 2)), name="a64")
    g2 = Graph([a64, b, q], [apply("matmul", apply("transpose", a64, perm=(1, 0)), q),
                             apply("matmul", apply("transpose", b, perm=(1, 0)), q)])
    assert merge_shared_products(g2) is g2


def test_a_product_whose_operand_depends_on_the_other_is_not_merged():
    rng = np.random.default_rng(3)
    a, q = _ph((N, 2), "a"), _ph((N, N), "q")
    first = apply("matmul", apply("transpose", a, perm=(1, 0)), q)           # (2, N)
    p2 = apply("transpose", apply("tanh", first), perm=(1, 0))                # (N, 2)
    second = apply("matmul", apply("transpose", p2, perm=(1, 0)), q)
    g = Graph([a, q], [first, second])
    assert merge_shared_products(g) is g
    arrays = [rng.normal(size=(N, 2)).astype(np.float32),
              rng.normal(size=(N, N)).astype(np.float32)]
    _check(g, arrays)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_an_lstm_gradient_merges_dw_and_du(go_backwards):
    from graphc.ir.node import Variable
    from graphc.ir.ops.control import scan
    from graphc.ir.autodiff import gradients
    rng = np.random.default_rng(4)
    D, H = 3, 4

    def var(shape, name):
        v = Variable((rng.normal(size=shape) * 0.5).astype(np.float32), name)
        return source("variable", TensorType("float32", shape), name=name, var=v)
    W, U, b = var((D, 4 * H), "W"), var((H, 4 * H), "U"), var((4 * H,), "b")
    xs, h0, c0 = _ph((T, "B", D), "xs"), _ph(("B", H), "h0"), _ph(("B", H), "c0")

    def step(x, h, c, W, U, b):
        z = apply("matmul", x, W) + apply("matmul", h, U) + b
        i, f, o, gg = (z[:, k * H:(k + 1) * H] for k in range(4))
        c2 = apply("sigmoid", f) * c + apply("sigmoid", i) * apply("tanh", gg)
        h2 = apply("sigmoid", o) * apply("tanh", c2)
        return [h2], [h2, c2]
    res = scan(step, [xs], [h0, c0], [W, U, b], symbolic_batch=True,
               go_backwards=go_backwards)
    loss = apply("sum", res.outputs[0] * res.outputs[0])
    g = Graph([xs, h0, c0], [loss] + list(gradients(loss, [W, U, b])))
    arrays = [rng.normal(size=(T, 2, D)).astype(np.float32),
              rng.normal(size=(2, H)).astype(np.float32),
              rng.normal(size=(2, H)).astype(np.float32)]
    merged = _check(g, arrays)
    outer = [n for n in merged.nodes() if n.op in ("matmul", "tensordot")
             and n.outputs[0].shape[-1] == 4 * H]
    assert len(outer) == 1 and outer[0].outputs[0].shape == (D + H, 4 * H)
