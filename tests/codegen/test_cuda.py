"""The CUDA code generator equals the reference interpreter: fused elementwise kernels,
reductions, the tiled matmul, softmax rows, an MLP forward + gradient graph, variables kept on
the device, and the host fallback (one warning per op).

These tests run in numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1), in a subprocess started by
test_cuda_simulator.py so the rest of the suite keeps the real numba.cuda, or directly on a
machine with a GPU (``pytest tests/codegen/test_cuda.py``). Shapes are small: each simulated
thread costs ~1 ms.
"""
from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from graphc.codegen.cuda import runtime

if not (runtime.is_simulator_env() or runtime.available()):
    pytest.skip("CUDA tests run under the simulator in a subprocess (test_cuda_simulator.py) "
                "or on a machine with a GPU", allow_module_level=True)

from graphc.codegen.cuda import compile_graph_cuda, invalidate, sync_variables  # noqa: E402
from graphc.codegen.cuda import lower as cuda_lower  # noqa: E402
from graphc.ir import Graph, evaluate  # noqa: E402
from graphc.ir.node import Variable  # noqa: E402
from graphc.ir.ops import apply, source  # noqa: E402
from graphc.ir.types import TensorType  # noqa: E402
from graphc.ir.autodiff import gradients  # noqa: E402

RNG = np.random.default_rng(0)


def inp(shape, dtype="float32", name="x"):
    return source("input", TensorType(dtype, shape), name=name)


def var(value, name):
    v = Variable(np.asarray(value), name)
    return source("variable", TensorType(v.value.dtype.name, v.value.shape), name=name, var=v)


def rand(*shape, dtype="float32"):
    return RNG.standard_normal(shape).astype(dtype)


def check(graph, arrays, rtol=2e-5, atol=2e-6, **kw):
    """Compile for CUDA, run, compare every output with the interpreter; returns outputs."""
    f = compile_graph_cuda(graph, **kw)
    got = f(arrays)
    ref = evaluate(graph.outputs, dict(zip(graph.inputs, arrays)))
    assert len(got) == len(ref)
    for v, g, r in zip(graph.outputs, got, ref):
        assert g.dtype.name == v.dtype
        assert g.shape == r.shape
        np.testing.assert_allclose(g, r, rtol=rtol, atol=atol)
    return f, got


# -- runtime -------------------------------------------------------------------------------

def test_runtime_reports_a_usable_implementation():
    assert runtime.available()
    assert runtime.unavailable_reason() == ""
    assert runtime.cuda_module() is runtime.cuda()


def test_missing_gpu_error_names_the_fixes(monkeypatch):
    monkeypatch.setitem(runtime._state, "ok", False)
    assert not runtime.available()
    with pytest.raises(runtime.CudaUnavailableError, match="NUMBA_ENABLE_CUDASIM"):
        compile_graph_cuda(Graph([inp((3,))], [apply("neg", inp((3,)))]))


# -- fused elementwise kernels ---------------------------------------------------------------

def test_fused_chain_with_broadcasting_is_one_kernel():
    x, b, c, s = inp(("B", 5)), inp((5,), name="b"), inp(("B", 1), name="c"), \
        inp((), name="s")
    y = apply("tanh", apply("add", apply("mul", x, b), c))
    z = apply("mul", apply("sigmoid", y), s)
    w = apply("greater", z, apply("add", b, c))
    f, _ = check(Graph([x, b, c, s], [y, z, w]),
                 [rand(4, 5), rand(5), rand(4, 1), np.float32(0.5)])
    kinds = [st.kind for st in f.plan.steps]
    assert kinds.count("kernel") == 1, kinds


@pytest.mark.parametrize("op,attrs", [
    ("exp", {}), ("log1p", {}), ("expm1", {}), ("sqrt", {}), ("rsqrt", {}), ("sin", {}),
    ("cos", {}), ("softplus", {}), ("softsign", {}), ("elu", {"alpha": 0.7}), ("selu", {}),
    ("hard_sigmoid", {}), ("relu", {"alpha": 0.1, "max_value": 1.5}), ("round", {}),
    ("floor", {}), ("ceil", {}), ("sign", {}), ("abs", {}), ("square", {}),
    ("clip", {"min": -0.5, "max": 0.7}), ("reciprocal", {}), ("logical_not", {}),
])
def test_unary_kernels_match_the_reference(op, attrs):
    x = inp((3, 7))
    data = rand(3, 7) * 2
    data[0, :4] = [0.5, -0.5, 2.5, -1.5]          # rounding ties: half to even
    if op in ("sqrt", "rsqrt", "log1p"):
        data = np.abs(data) + 0.1
    check(Graph([x], [apply(op, x, **attrs)]), [data], rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("op", ["sub", "div", "maximum", "minimum", "pow", "floordiv", "mod",
                                "equal", "less_equal", "logical_xor"])
def test_binary_kernels_match_the_reference(op):
    a, b = inp((4, 6)), inp((6,), name="b")
    da, db = np.abs(rand(4, 6)) + 0.5, np.abs(rand(6)) + 0.5
    check(Graph([a, b], [apply(op, a, b)]), [da, db], rtol=1e-5)


def test_integer_and_where_kernels():
    i, j = inp((2, 5), "int32"), inp((2, 5), "int32", name="j")
    c = inp((2, 5), "bool", name="c")
    outs = [apply("mul", i, j), apply("sign", i), apply("where", c, i, j),
            apply("cast", i, dtype="float32"), apply("floordiv", i, apply("abs", j))]
    di = RNG.integers(-9, 9, (2, 5)).astype(np.int32)
    dj = RNG.integers(1, 9, (2, 5)).astype(np.int32)
    check(Graph([i, j, c], outs), [di, dj, di > 0])


def test_integer_pow_runs_on_the_host_with_one_warning():
    i = inp((4,), "int32")
    g = Graph([i], [apply("pow", apply("add", i, i), i)])
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        cuda_lower._warned_ops.discard("pow")
        cuda_lower._warned_ops.discard("fused")
        check(g, [np.arange(4, dtype=np.int32)], pipeline="none")
    assert sum("no CUDA lowering" in str(w.message) for w in rec) == 1


def test_batch_size_change_does_not_recompile():
    x = inp(("B", 3))
    f = compile_graph_cuda(Graph([x], [apply("exp", apply("neg", x))]))
    for n in (2, 5):
        d = rand(n, 3)
        np.testing.assert_allclose(f([d])[0], np.exp(-d), rtol=1e-6)
    assert f.stats["kernels"] == 1


# -- reductions --------------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["sum", "mean", "max", "min", "prod"])
@pytest.mark.parametrize("axes,keepdims", [((1,), False), (None, False), ((0,), True),
                                           ((0, 2), False), ((1, 2), True)])
def test_reductions_match_the_reference(op, axes, keepdims):
    x = inp((3, 4, 5))
    data = rand(3, 4, 5) * 0.8
    check(Graph([x], [apply(op, x, axes=axes, keepdims=keepdims)]), [data], rtol=1e-5,
          atol=1e-6)


def test_integer_sum_and_nan_max():
    i, x = inp((3, 4), "int32"), inp((2, 3), name="y")
    dx = rand(2, 3)
    dx[1, 1] = np.nan
    check(Graph([i, x], [apply("sum", i, axes=(1,)), apply("max", x, axes=(1,))]),
          [RNG.integers(-5, 5, (3, 4)).astype(np.int32), dx])


# -- matmul, softmax ---------------------------------------------------------------------------

@pytest.mark.parametrize("sa,sb", [((19, 13), (13, 21)), ((5, 40), (40, 3)), ((7,), (7, 4)),
                                   ((6, 7), (7,)), ((2, 5, 3), (2, 3, 4))])
def test_matmul_matches_the_reference(sa, sb):
    a, b = inp(sa), inp(sb, name="b")
    check(Graph([a, b], [apply("matmul", a, b)]), [rand(*sa), rand(*sb)], rtol=1e-5,
          atol=1e-5)


def test_matmul_of_transposed_operands_reads_them_in_place():
    a, b = inp((9, 6)), inp((11, 9), name="b")
    out = apply("matmul", apply("transpose", a, perm=(1, 0)),
                apply("transpose", b, perm=(1, 0)))
    check(Graph([a, b], [out]), [rand(9, 6), rand(11, 9)], rtol=1e-5, atol=1e-5)


def test_transpose_3d_and_broadcast_like():
    x, s = inp((2, 3, 4)), inp((3,), name="s")
    t = apply("transpose", x, perm=(2, 0, 1))
    bl = apply("broadcast_like", s, x, axes=(1,))
    bl2 = apply("broadcast_like", s, apply("transpose", x, perm=(0, 2, 1)), axes=(0, 1))
    check(Graph([x, s], [t, bl, bl2]), [rand(2, 3, 4), rand(3)])


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_rows(op):
    x = inp((3, 10))
    data = rand(3, 10) * 5
    data[2] = -np.inf
    data[2, 3] = 1.0
    check(Graph([x], [apply(op, x, axis=-1)]), [data], rtol=1e-5, atol=1e-6)


def test_softmax_cross_entropy_rows():
    z, t = inp((4, 6)), inp((4, 6), name="t")
    targets = np.eye(6, dtype=np.float32)[[0, 5, 2, 2]]
    check(Graph([z, t], [apply("softmax_cross_entropy", z, t, axis=1)]),
          [rand(4, 6) * 30, targets], rtol=1e-5, atol=1e-5)


# -- whole graphs, variables and the fallback ------------------------------------------------

def _mlp(seed=1):
    rng = np.random.default_rng(seed)
    x, y = inp(("B", 6)), inp(("B", 3), name="y")
    ws = [var(rng.standard_normal(s).astype(np.float32) * 0.4, n)
          for s, n in (((6, 8), "W1"), ((8,), "b1"), ((8, 3), "W2"), ((3,), "b2"))]
    W1, b1, W2, b2 = ws
    h = apply("relu", apply("add", apply("matmul", x, W1), b1))
    logits = apply("add", apply("matmul", h, W2), b2)
    loss = apply("mean", apply("softmax_cross_entropy", logits, y, axis=-1))
    return x, y, ws, loss


def _batch(n, seed=2):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, 6)).astype(np.float32),
            np.eye(3, dtype=np.float32)[rng.integers(0, 3, n)])


def test_mlp_forward_and_gradients_match_the_reference():
    x, y, ws, loss = _mlp()
    g = Graph([x, y], [loss] + gradients(loss, ws))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)      # no host fallback on device data
        f, _ = check(g, list(_batch(5)), rtol=1e-5, atol=1e-6)
    assert {s.kind for s in f.plan.steps} >= {"matmul", "kernel", "reduce", "xent"}


def test_sgd_updates_stay_on_the_device_and_sync_back():
    x, y, ws, loss = _mlp()
    grads = gradients(loss, ws)
    lr = 0.5
    updates = [(w, apply("sub", w, apply("mul", g, apply("fill_like", g, value=lr))))
               for w, g in zip(ws, grads)]
    train = Graph([x, y], [loss], updates)
    predict = Graph([x], [ws[0] * 1.0])
    f = compile_graph_cuda(train)
    p = compile_graph_cuda(predict)
    stores = [w.node.attrs["var"] for w in ws]
    expect = [s.value.copy() for s in stores]
    held = [s.value for s in stores]
    xa, ya = _batch(6)
    for _ in range(2):
        # the reference step on a copy of the weights
        env = {w: e for w, e in zip(ws, expect)}
        env.update({x: xa, y: ya})
        gs = evaluate(grads, env)
        expect = [e - np.float32(lr) * gv for e, gv in zip(expect, gs)]
        f([xa, ya])
    for s, e, h in zip(stores, expect, held):
        np.testing.assert_allclose(s.value, e, rtol=1e-5, atol=1e-6)
        assert s.value is h                       # synced into the same host array
    # another CUDA function reads the device mirror
    np.testing.assert_allclose(p([xa])[0], expect[0], rtol=1e-5, atol=1e-6)
    # K.set_value replaces the host array: the next call re-uploads it
    stores[0].value = np.zeros_like(stores[0].value)
    np.testing.assert_array_equal(p([xa])[0], 0)
    # an in-place host write needs invalidate()
    stores[0].value[...] = 1.0
    invalidate(stores[0])
    np.testing.assert_array_equal(p([xa])[0], 1)


def test_sync_back_false_keeps_values_on_the_device_until_synced():
    w = var(np.ones(4, np.float32), "w")
    x = inp((4,))
    f = compile_graph_cuda(Graph([x], [], [(w, apply("add", w, x))]), sync_back=False)
    store = w.node.attrs["var"]
    f([np.full(4, 2, np.float32)])
    f([np.full(4, 2, np.float32)])
    np.testing.assert_array_equal(store.value, 1)          # not synced yet
    assert sync_variables() >= 1
    np.testing.assert_array_equal(store.value, 5)


def test_updates_use_the_old_values_theano_semantics():
    a, b = var(np.ones(3, np.float32), "a"), var(np.full(3, 2, np.float32), "b")
    f = compile_graph_cuda(Graph([], [a], [(a, b), (b, apply("add", a, b))]))
    out = f([])
    np.testing.assert_array_equal(out[0], 1)
    np.testing.assert_array_equal(a.node.attrs["var"].value, 2)
    np.testing.assert_array_equal(b.node.attrs["var"].value, 3)


def test_op_without_cuda_lowering_falls_back_with_one_warning():
    x = inp((3, 4))
    g = Graph([x], [apply("cumsum", apply("exp", x), axis=1)])
    cuda_lower._warned_ops.discard("cumsum")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        f, _ = check(g, [rand(3, 4)], rtol=1e-5)
        f([rand(3, 4)])
    msgs = [str(w.message) for w in rec if "cumsum" in str(w.message)]
    assert len(msgs) == 1 and "no CUDA lowering" in msgs[0]


@pytest.mark.skipif(not runtime.is_simulator_env(), reason="exercises many simulated launches")
def test_every_registry_op_case_runs_and_matches():
    """Each op case of the registry: a CUDA kernel or the host fallback, never a crash."""
    from ..ir.op_cases import all_cases
    from ..ir.test_op_registry import build
    failures = []
    for case in all_cases():
        if case.check is not None or case.op in ("scan",):
            continue
        xs, outs = build(case)
        arrays = [np.asarray(a) for a in case.inputs]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                got = compile_graph_cuda(Graph(xs, outs, name=case.op), pipeline="none")(arrays)
            except Exception as e:   # collected so one report lists every failing op
                failures.append(f"{case.id}: {type(e).__name__}: {e}")
                continue
        ref = evaluate(outs, dict(zip(xs, arrays)))
        for g, r in zip(got, ref):
            if g.shape != r.shape or not np.allclose(g, r, rtol=max(case.rtol, 1e-5),
                                                     atol=max(case.atol, 1e-6),
                                                     equal_nan=True):
                failures.append(f"{case.id}: differs from the interpreter")
    assert not failures, "\n".join(failures)
