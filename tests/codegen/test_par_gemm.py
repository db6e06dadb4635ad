"""Products on numba's threads (native.par_gemm, gemm on slices), prange nests outlined into
kernels of their own, and the thread policy of parallel programs: parallel equals serial."""
from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from graphc.codegen import compile_graph
from graphc.codegen.cpu import runtime as native
from graphc.codegen.cpu.lower import lower
from graphc.codegen.executor import _BlasThreadPolicy
from graphc.ir import Graph, TensorType, apply, evaluate, source
from graphc.ir.node import Variable


@njit(cache=False)
def _gemm(a, b, out):
    native.gemm(a, b, out)


@njit(cache=False)
def _par(a, b, out):
    native.par_gemm(a, b, out)


def _layouts(a):
    return [a, np.asfortranarray(a)]


def test_gemm_takes_row_and_column_slices():
    rng = np.random.default_rng(0)
    big = rng.normal(size=(20, 30)).astype(np.float32)
    a, b = big[2:9, 3:12], big[5:14, 1:12]
    out = np.zeros((7, 20), np.float32)
    _gemm(a, b, out[:, 4:15])                     # a column block of the output
    np.testing.assert_allclose(out[:, 4:15], a @ b, rtol=1e-5, atol=1e-5)
    assert not out[:, :4].any() and not out[:, 15:].any()
    at = big.T[3:10, 2:11]                         # rows of a transposed (F) array
    _gemm(at, b, out[:, 0:11])
    np.testing.assert_allclose(out[:, 0:11], at @ b, rtol=1e-5, atol=1e-5)


def test_gemm_refuses_operands_strided_on_both_axes():
    x = np.ones((8, 8), np.float32)
    with pytest.raises(ValueError, match="strided along both axes"):
        _gemm(x[::2, ::2], x[:4, :4], np.empty((4, 4), np.float32))


@pytest.mark.parametrize("m,k,n", [(5, 7, 3), (64, 300, 260), (300, 64, 70), (2, 4000, 600)])
def test_par_gemm_equals_gemm_for_every_layout(m, k, n, monkeypatch):
    rng = np.random.default_rng(m + n)
    a = rng.normal(size=(m, k)).astype(np.float32)
    b = rng.normal(size=(k, n)).astype(np.float32)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    for A in _layouts(a):
        for B in _layouts(b):
            out = np.full((m, n), np.nan, np.float32)
            _par(A, B, out)
            np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-3)


def test_par_gemm_checks_shapes():
    with pytest.raises(ValueError, match="shapes do not match"):
        _par(np.ones((3, 4), np.float32), np.ones((5, 2), np.float32),
             np.empty((3, 2), np.float32))


def _train_graph(rng):
    x = source("input", TensorType("float32", ("B", 96)), name="x")
    W = Variable(rng.normal(size=(96, 1400)).astype(np.float32) * 0.05, "W")
    w = source("variable", TensorType("float32", (96, 1400)), name="W", var=W)
    h = apply("tanh", apply("matmul", x, w))
    loss = apply("mean", h * h)
    from graphc.ir.autodiff import gradients
    from graphc.passes.fuse import fuse
    (g,) = gradients(loss, [w])
    return fuse(Graph([x], [loss, h], [(w, w - 0.5 * g)], name="par_step")), x, W


@pytest.mark.parametrize("batch", [3, 1500])
def test_parallel_training_step_equals_serial_and_the_interpreter(batch):
    rng = np.random.default_rng(7)
    g, x, W = _train_graph(rng)
    W0 = W.value.copy()
    xa = rng.normal(size=(batch, 96)).astype(np.float32)
    ref = evaluate(g.outputs + [n for _, n in g.updates], {x: xa})
    results = {}
    for parallel in (False, "auto"):
        W.value = W0.copy()
        fn = compile_graph(g, parallel=parallel)
        if parallel:
            # prange loops run in kernels of their own, compiled with the parallel flags
            assert "par_gemm(" in fn.source
            assert any(k.parallel for k in fn.program.kir.kernels.values())
            assert fn.blas_threads is not None and fn.blas_threads.parallel
        out = fn([xa])
        results[parallel] = [o.copy() for o in out] + [W.value.copy()]
    for a, b, r in zip(results[False], results["auto"], ref):
        np.testing.assert_allclose(a, r, rtol=2e-4, atol=1e-5)
        np.testing.assert_allclose(b, r, rtol=2e-4, atol=1e-5)


def test_parallel_programs_tune_numba_threads_and_keep_blas_at_one(monkeypatch):
    rng = np.random.default_rng(8)
    g, x, _ = _train_graph(rng)
    prog = lower(g, parallel="auto")
    monkeypatch.setenv("GRAPHC_BLAS_THREADS", "auto")
    policy = _BlasThreadPolicy.for_program(prog)
    if policy is None:                     # one core: nothing to choose
        return
    assert policy.parallel and policy.fixed is None
    monkeypatch.setenv("GRAPHC_BLAS_THREADS", "1")
    fixed = _BlasThreadPolicy.for_program(prog)
    assert fixed.parallel and fixed.fixed == 1
    calls = []
    fixed.wrap(lambda arrays: calls.append(native.blas._BLAS_THREADS[0]))([np.zeros((2, 96))])
    assert calls == [1]
    serial = _BlasThreadPolicy.for_program(lower(g, parallel=False))
    assert serial is None or not serial.parallel


@pytest.mark.parametrize("parallel", [False, "auto"])
def test_backward_products_take_transposed_views_without_copies(parallel):
    g, _, _ = _train_graph(np.random.default_rng(9))
    src = lower(g, parallel=parallel).full_source
    assert ".T\n" in src                       # x^T, W^T are views ...
    assert "ascontiguousarray" not in src      # ... that reach BLAS without a copy


@pytest.mark.skipif(not native.FTZ_SUPPORTED, reason="FTZ/DAZ are x86 MXCSR bits")
def test_par_gemm_blocks_run_under_the_callers_ftz_daz():
    @njit
    def under_ftz(a, b, out):
        saved = native.ftz_enter()
        native.par_gemm(a, b, out)
        native.ftz_exit(saved)

    a = np.full((64, 256), 1e-41, np.float32)       # denormal; every sum stays denormal
    b = np.ones((256, 512), np.float32)
    assert 64 * 256 * 512 >= native.PAR_GEMM_MIN_WORK  # split over the threads
    out = np.full((64, 512), np.nan, np.float32)
    native.blas_set_threads(1)
    under_ftz(a, b, out)
    assert np.all(out == 0)                           # DAZ in every block
    native.par_gemm(a, b, out)
    assert np.all(out > 0)                            # without it: denormal results
