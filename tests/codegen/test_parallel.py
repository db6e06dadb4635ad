"""Parallel loops in the CPU code generator: the GRAPHC_PARALLEL setting, size-switched
(serial / prange) loop nests run on both sides of the threshold, 0-d operands inside prange
kernels, and in-place updates written by parallel loops -- each compared with the serial
kernels and the reference interpreter."""
from __future__ import annotations

import numpy as np
import pytest

from graphc.codegen import compile_graph, default_parallel
from graphc.codegen.cpu import writer as lower_mod   # the parallel-mode thresholds
from graphc.ir import Graph, TensorType, apply, evaluate, source
from graphc.ir.node import Variable
from graphc.passes.fuse import fuse


def _ph(shape, name="x", dtype="float32"):
    return source("input", TensorType(dtype, shape), name=name)


def _var(arr, name):
    arr = np.asarray(arr)
    var = Variable(arr.copy(), name)
    return source("variable", TensorType(arr.dtype.name, arr.shape), name=name, var=var), var


@pytest.mark.parametrize("env, expected", [(None, False), ("auto", "auto"), ("0", False),
                                           ("1", True), ("", False)])
def test_default_parallel_reads_the_environment(monkeypatch, env, expected):
    if env is None:
        monkeypatch.delenv("GRAPHC_PARALLEL", raising=False)
    else:
        monkeypatch.setenv("GRAPHC_PARALLEL", env)
    assert default_parallel() == expected


def test_bad_parallel_values_are_clear_errors(monkeypatch):
    monkeypatch.setenv("GRAPHC_PARALLEL", "sometimes")
    with pytest.raises(ValueError, match="GRAPHC_PARALLEL must be 0, 1 or auto"):
        default_parallel()
    x = _ph((3,))
    with pytest.raises(ValueError, match="parallel must be True, False, 'auto'"):
        compile_graph(Graph([x], [x + 1.0]), parallel="sometimes")


def _graph():
    """Elementwise chain with a broadcast row and a 0-d scale, row reductions (kept axis 0),
    a column reduction (serial), softmax and softmax-crossentropy rows."""
    x = _ph(("B", 33))
    b = _ph((33,), "b")
    s = _ph((), "s")
    t = _ph(("B", 33), "t")
    y = apply("tanh", x * s + b) * apply("sigmoid", x) + 0.5 * x * x
    outs = [y, apply("sum", y, axes=(1,)), apply("max", y, axes=(0,)),
            apply("softmax", y, axis=1), apply("softmax_cross_entropy", y, t, axis=1)]
    return [x, b, s, t], fuse(Graph([x, b, s, t], outs))


def _feed(rng, batch):
    t = np.zeros((batch, 33), np.float32)
    t[np.arange(batch), rng.integers(0, 33, batch)] = 1
    return [rng.normal(size=(batch, 33)).astype(np.float32),
            rng.normal(size=33).astype(np.float32), np.array(0.7, np.float32), t]


def test_size_switched_kernels_agree_on_both_sides_of_the_threshold(monkeypatch):
    monkeypatch.setattr(lower_mod, "PARALLEL_MIN_WORK", 1000)
    phs, g = _graph()
    auto = compile_graph(g, parallel="auto")
    serial = compile_graph(g, parallel=False)
    src = auto.source
    assert ">= 1000:" in src and "prange(" in src and "else:" in src
    assert "prange(" not in serial.source and ">= 1000:" not in serial.source
    rng = np.random.default_rng(5)
    # 33 and 330 elements run the serial branch, 3300 and 33000 the prange branch
    for batch in (1, 10, 100, 1000):
        feed = _feed(rng, batch)
        got, want = auto(feed), serial(feed)
        ref = evaluate(g.outputs, dict(zip(phs, feed)))
        np.testing.assert_array_equal(got[0], want[0])     # elementwise: bit-identical
        for a, s, r in zip(got, want, ref):
            # reductions: fastmath lets LLVM reassociate the sums differently per compile
            np.testing.assert_allclose(a, s, rtol=1e-6, atol=1e-6)
            np.testing.assert_allclose(a, r, rtol=2e-5, atol=2e-5)


def test_zero_d_operand_in_a_prange_kernel_compiles_and_agrees():
    # regression: a 0-d array read as t[()] inside a prange body failed numba's typing
    # (seen with GRAPHC_PARALLEL=1 on an LSTM training step)
    phs, g = _graph()
    par = compile_graph(g, parallel=True)
    assert "prange(" in par.source and f">= {lower_mod.PARALLEL_MIN_WORK}:" not in par.source
    rng = np.random.default_rng(6)
    feed = _feed(rng, 7)
    ref = evaluate(g.outputs, dict(zip(phs, feed)))
    for a, r in zip(par(feed), ref):
        np.testing.assert_allclose(a, r, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("parallel", [True, "auto"])
def test_parallel_in_place_update_matches_serial(monkeypatch, parallel):
    monkeypatch.setattr(lower_mod, "PARALLEL_MIN_WORK", 64)
    init = np.random.default_rng(7).normal(size=(40, 9)).astype(np.float32)
    results = []
    for par in (False, parallel):
        w, var = _var(init, "w")
        g_in = _ph((40, 9), "g")
        lr = _ph((), "lr")
        new = w - lr * g_in * apply("tanh", w)
        fn = compile_graph(fuse(Graph([g_in, lr], [apply("sum", new)], updates=[(w, new)])),
                           parallel=par)
        grads = np.random.default_rng(8).normal(size=(40, 9)).astype(np.float32)
        for _ in range(3):
            fn([grads, np.array(0.1, np.float32)])
        results.append(np.array(var.value))
    expected = init.copy()
    for _ in range(3):
        expected = expected - np.float32(0.1) * grads * np.tanh(expected)
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_allclose(results[1], expected, rtol=1e-5, atol=1e-6)


def test_parallel_compiles_prefer_tbb_then_workqueue_unless_the_user_chose(monkeypatch):
    import numba
    from graphc.codegen.cpu.runtime import threads
    monkeypatch.setattr(numba.config, "THREADING_LAYER", "default")
    monkeypatch.setenv("NUMBA_THREADING_LAYER", "omp")
    threads.choose_threading_layer()
    assert numba.config.THREADING_LAYER == "default"          # the user's choice stands
    monkeypatch.delenv("NUMBA_THREADING_LAYER")
    threads.choose_threading_layer()
    assert numba.config.THREADING_LAYER == ("tbb" if threads.load_tbb() else "workqueue")
    monkeypatch.setattr(threads, "load_tbb", lambda: False)   # no oneTBB: never omp
    threads.choose_threading_layer()
    assert numba.config.THREADING_LAYER == "workqueue"


def test_tbb_layer_loads_where_the_tbb_package_is_installed():
    import importlib.util
    import platform
    from graphc.codegen.cpu.runtime import threads
    if importlib.util.find_spec("tbb") is None and not (
            platform.system() == "Linux" and platform.machine() == "x86_64"):
        pytest.skip("the tbb dependency is only declared for x86-64 Linux and Windows")
    assert threads.load_tbb()
    from numba.np.ufunc import tbbpool       # what numba's tbb layer runs on
    assert tbbpool is not None