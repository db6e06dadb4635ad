"""Template constants in float64 graphs: ops write their constants ``f32(c)`` so float32 nodes
stay float32; a float64 node must compute with ``c`` itself (relu's max_value=0.1 is 0.1, not
its float32 rounding 0.10000000149...)."""
from __future__ import annotations

import numpy as np

from graphc.codegen import compile_graph
from graphc.codegen.cpu.scalar import scalar_expr
from graphc.codegen.cuda.scalar import scalar_expr as cuda_scalar_expr
from graphc.ir import Graph, TensorType, apply, evaluate, source

X = np.array([[0.1, 0.7, -0.3, 0.30000001, -2.0, 5.0]])


def _outputs(x):
    return [apply("relu", x, max_value=0.1), apply("relu", x, alpha=0.3, threshold=0.2),
            apply("hard_sigmoid", x), apply("elu", x, alpha=0.3),
            apply("clip", x, min=0.1, max=0.7)]


def test_float64_nodes_compute_with_the_exact_constants_and_float32_nodes_stay_float32():
    for dtype, rtol in (("float64", 1e-15), ("float32", 1e-6)):
        x = source("input", TensorType(dtype, ("B", 6)), name="x")
        outs = _outputs(x)
        g = Graph([x], outs, name=f"consts_{dtype}")
        xa = X.astype(dtype)
        got = compile_graph(g)([xa])
        ref = evaluate(outs, {x: xa})
        for a, r in zip(got, ref):
            assert a.dtype == np.dtype(dtype)
            np.testing.assert_allclose(a, r, rtol=rtol, atol=0)
    relu = np.minimum(np.maximum(X, 0.0), 0.1)
    x = source("input", TensorType("float64", ("B", 6)), name="x")
    y = compile_graph(Graph([x], [apply("relu", x, max_value=0.1)]))([X])[0]
    assert (y == relu).all()          # 0.1 exactly, not 0.10000000149011612


def test_both_renderers_spell_a_constant_in_the_nodes_float_width():
    t = "min(max(a, f32(0.0)), f32(-0.1))"
    assert scalar_expr(t, "float64", lambda v: "_k") == "min(max(a, 0.0), -0.1)"
    assert "np.float32(_k)" in scalar_expr(t, "float32", lambda v: "_k")
    assert cuda_scalar_expr(t, "float64", lambda v, d: "_k") == \
        "min(max(a, numba.float64(0.0)), numba.float64(-0.1))"
    assert "numba.float32(0.0)" in cuda_scalar_expr(t, "float32", lambda v, d: "_k")
