"""Each pass does what its name says, and the optimised graph computes what the original did
(checked with the reference interpreter)."""
import io

import numpy as np
import pytest

from graphc.ir import Graph, TensorType, apply, constant, evaluate, source
from graphc.passes import PIPELINES, PassError, optimize
from graphc.passes.algebraic import simplify
from graphc.passes.const_fold import const_fold
from graphc.passes.cse import cse
from graphc.passes.dce import dce


def inp(*shape, name="x", dtype="float32"):
    return source("input", TensorType(dtype, shape), name=name)


def ops_of(graph):
    return [n.op for n in graph.nodes() if n.op not in ("input", "variable", "constant")]


def same_outputs(g1, g2, feeds):
    for a, b in zip(evaluate(g1.outputs, feeds), evaluate(g2.outputs, feeds)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


X = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)


def test_cse_merges_duplicates():
    x = inp("B", 3)
    a = apply("exp", x)
    b = apply("exp", x)
    g = Graph([x], [a + b])
    assert ops_of(g).count("exp") == 2
    g2 = cse(g)
    assert ops_of(g2).count("exp") == 1
    same_outputs(g, g2, {x: X})


def test_cse_merges_equal_constants():
    x = inp("B", 3)
    g = Graph([x], [(x * 2.0) + (x * 2.0)])
    g2 = cse(g)
    assert ops_of(g2).count("mul") == 1
    same_outputs(g, g2, {x: X})


def test_constants_fold_to_one_constant():
    c = constant(np.arange(3, dtype=np.float32))
    expr = apply("exp", c * 2.0 + 1.0) - c
    x = inp("B", 3)
    g = Graph([x], [x + expr])
    g2 = const_fold(g)
    assert ops_of(g2) == ["add"]
    consts = [v for v in g2.constants()]
    assert len(consts) == 1
    same_outputs(g, g2, {x: X})


def test_a_mean_gradient_counts_with_one_size_node_or_a_constant():
    from graphc.ir.autodiff import gradients
    x = inp("B", 3, 2)
    g = Graph([x], gradients(apply("mean", x, axes=(0, 2)), [x]))
    assert ops_of(g).count("size") == 1 and "gather" not in ops_of(g)
    (size,) = [n for n in g.nodes() if n.op == "size"]
    assert size.attrs["axes"] == (0, 2) and size.outputs[0].dtype == "float32"
    (dx,) = evaluate(g.outputs, {x: np.ones((5, 3, 2), np.float32)})
    np.testing.assert_allclose(dx, np.full((5, 3, 2), 1 / 10, np.float32))
    # over static axes only, the count folds to a constant
    g2 = const_fold(Graph([x], [apply("size", x, axes=(1, 2), dtype="int64")]))
    assert ops_of(g2) == [] and int(g2.outputs[0].node.attrs["value"]) == 6
    g3 = const_fold(Graph([x], [apply("size", x)]))
    assert ops_of(g3) == ["size"]
    (n,) = evaluate(g3.outputs, {x: np.ones((5, 3, 2), np.float32)})
    assert int(n) == 30


def test_a_broadcast_scalar_moves_past_scalar_ops_into_the_weighted_product():
    from graphc.passes.algebraic import simplify
    x = inp("B", 3)
    w = inp("B", 3, name="w")
    n = inp(name="n")
    ones = constant(np.float32(1.0))
    g = Graph([x, w, n], [(apply("broadcast_like", ones, x, axes=(0, 1)) / n) * w])
    g2 = simplify(const_fold(g))
    assert "broadcast_like" not in ops_of(g2)
    feeds = {x: X, w: X * 2, n: np.float32(4.0)}
    same_outputs(g, g2, feeds)
    # with only scalars around it, the broadcast stays (it gives the result its shape)
    g3 = simplify(Graph([x, n], [apply("broadcast_like", ones, x, axes=(0, 1)) / n]))
    assert ops_of(g3) == ["div", "broadcast_like"]
    (out,) = evaluate(g3.outputs, {x: X, n: np.float32(4.0)})
    np.testing.assert_allclose(out, np.full((4, 3), 0.25, np.float32))


def test_fill_like_of_a_static_shape_folds():
    x = inp(2, 3)
    g = const_fold(Graph([x], [x + apply("fill_like", x, value=2.0)]))
    assert ops_of(g) == ["add"]
    (out,) = evaluate(g.outputs, {x: X[:2]})
    np.testing.assert_allclose(out, X[:2] + 2.0)
    y = inp("B", 3)
    assert "fill_like" in ops_of(const_fold(Graph([y], [apply("fill_like", y, value=2.0)])))


def test_dead_nodes_vanish_and_identity_updates_drop():
    from graphc.ir import Variable
    x = inp("B", 3)
    w = source("variable", TensorType("float32", (3,)), name="w",
               var=Variable(np.ones(3, np.float32), "w"))
    apply("exp", x)  # built, never used
    g = Graph([x], [x * w], updates=[(w, w * 1.0)])
    g2, _ = optimize(g, ["simplify", "dce"])
    assert "exp" not in ops_of(g2)
    assert g2.updates == []


@pytest.mark.parametrize("build,expect_ops", [
    (lambda x: x * 1.0, []),
    (lambda x: 1.0 * x, []),
    (lambda x: x + 0.0, []),
    (lambda x: x - 0.0, []),
    (lambda x: x / 1.0, []),
    (lambda x: -(-x), []),
    (lambda x: x - x, ["fill_like"]),
    (lambda x: apply("exp", x) + (-x), ["exp", "sub"]),
])
def test_algebraic_rule_fires(build, expect_ops):
    x = inp("B", 3)
    g = Graph([x], [build(x)])
    g2 = simplify(g)
    assert ops_of(g2) == expect_ops
    same_outputs(g, g2, {x: X})


def test_rule_does_not_drop_a_broadcast():
    x = inp(3)
    ones = constant(np.ones((2, 3), np.float32))
    g = Graph([x], [x * ones])       # result is [2,3]: x alone would be [3]
    g2 = simplify(g)
    assert ops_of(g2) == ["mul"]


def test_unknown_pipeline_and_pass_names():
    x = inp(3)
    g = Graph([x], [x + 1.0])
    with pytest.raises(PassError, match="unknown pipeline 'fastest'.*fast_run"):
        optimize(g, "fastest")
    with pytest.raises(PassError, match="unknown pass 'cse2'"):
        optimize(g, ["cse2"])
    with pytest.raises(PassError, match="unknown pass 'fusion'"):
        optimize(g, "fast_compile", dump="after:fusion")


def test_stats_and_dump_after_a_pass():
    x = inp("B", 3)
    g = Graph([x], [apply("exp", x) + apply("exp", x)], name="twice")
    buf = io.StringIO()
    g2, stats = optimize(g, "fast_compile", dump="after:cse", out=buf)
    text = buf.getvalue()
    assert "twice after cse" in text and text.count("exp(") == 1
    names = [r[0] for r in stats.records]
    assert names == PIPELINES["fast_compile"]
    cse_rec = stats.records[names.index("cse")]
    assert cse_rec[2] == 3 and cse_rec[3] == 2
    assert "cse" in str(stats)


def test_a_pass_that_blows_the_graph_up_is_stopped_with_an_error_naming_it(monkeypatch):
    from graphc.passes import manager
    x = source("input", TensorType("float32", (3,)), name="x")
    graph = Graph([x], [apply("tanh", x)])

    def runaway(g):                       # a broken rewrite: thousands of new nodes
        y = g.outputs[0]
        for _ in range(1500):
            y = y + 1.0
        return Graph(g.inputs, [y], name=g.name)
    monkeypatch.setitem(manager.PASSES, "runaway", runaway)
    with pytest.raises(manager.PassError, match="pass 'runaway' grew graph .* from 1 to 1501"):
        manager.optimize(graph, ["runaway"])
