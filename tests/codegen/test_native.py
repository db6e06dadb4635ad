"""graphc.codegen.cpu.runtime (blas, fpenv, arrays): the BLAS gemm intrinsic, FTZ/DAZ around generated functions,
the BLAS thread policy and the allocator setting."""
import numpy as np
import pytest
from numba import njit

from graphc.codegen import compile_graph
from graphc.codegen.cpu import runtime as native
from graphc.ir import Graph, TensorType, apply, constant, source


@njit
def _mm(a, b):
    out = np.empty((a.shape[0], b.shape[1]), a.dtype)
    native.gemm(a, b, out)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_matches_numpy_for_every_layout_combination(dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 7)).astype(dtype)
    b = rng.standard_normal((7, 3)).astype(dtype)
    want = a @ b
    for aa in (a, np.asfortranarray(a)):
        for bb in (b, np.asfortranarray(b)):
            got = _mm(aa, bb)
            assert got.dtype == dtype
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_gemm_handles_empty_operands():
    z = np.zeros((0, 4), np.float32)
    assert _mm(z, np.ones((4, 3), np.float32)).shape == (0, 3)
    out = _mm(np.ones((2, 0), np.float32), np.ones((0, 3), np.float32))
    np.testing.assert_array_equal(out, np.zeros((2, 3), np.float32))


def test_compiled_matmul_with_transposed_operands_equals_numpy():
    x = source("input", TensorType("float32", ("B", 4)), name="x")
    w = source("input", TensorType("float32", (3, 4)), name="w")
    y = apply("matmul", x, apply("transpose", w, perm=(1, 0)))          # x @ w.T
    z = apply("matmul", apply("transpose", x, perm=(1, 0)), y)           # x.T @ y
    fn = compile_graph(Graph([x, w], [y, z]))
    rng = np.random.default_rng(1)
    xv = rng.standard_normal((6, 4)).astype(np.float32)
    wv = rng.standard_normal((3, 4)).astype(np.float32)
    got_y, got_z = fn([xv, wv])
    np.testing.assert_allclose(got_y, xv @ wv.T, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_z, xv.T @ (xv @ wv.T), rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(not native.FTZ_SUPPORTED, reason="FTZ/DAZ is an x86 setting")
def test_generated_code_flushes_denormals_and_restores_mxcsr(monkeypatch):
    x = source("input", TensorType("float32", (3,)), name="x")
    g = Graph([x], [apply("mul", x, constant(np.float32(1e-30)))])
    before = int(native.mxcsr())
    xv = np.full(3, 1e-10, np.float32)
    np.testing.assert_array_equal(compile_graph(g)([xv])[0], np.zeros(3, np.float32))
    assert int(native.mxcsr()) == before
    monkeypatch.setenv("GRAPHC_FTZ", "0")
    out = compile_graph(g)([xv])[0]
    assert out[0] > 0 and out[0] == np.float32(1e-10) * np.float32(1e-30)   # a denormal


@pytest.mark.skipif(not native.FTZ_SUPPORTED, reason="FTZ/DAZ is an x86 setting")
def test_an_error_inside_generated_code_leaves_ftz_off():
    p = source("input", TensorType("float32", (4, 2)), name="p")
    i = source("input", TensorType("int64", (3,)), name="i")
    fn = compile_graph(Graph([p, i], [apply("gather", p, i, axis=0)]))
    with pytest.raises(IndexError, match="out of range"):
        fn([np.ones((4, 2), np.float32), np.array([0, 9, 1])])
    assert int(native.mxcsr()) & 0x8040 == 0


def _mlp_like():
    x = source("input", TensorType("float32", ("B", 8)), name="x")
    w = source("input", TensorType("float32", (8, 5)), name="w")
    return compile_graph(Graph([x, w], [apply("relu", apply("matmul", x, w))]))


def test_blas_thread_policy_fixed_by_environment(monkeypatch):
    if native.blas_library() is None:
        pytest.skip("BLAS thread count not settable here")
    monkeypatch.setenv("GRAPHC_BLAS_THREADS", "1")
    fn = _mlp_like()
    fn([np.ones((4, 8), np.float32), np.ones((8, 5), np.float32)])
    assert native.blas_get_threads() == 1
    monkeypatch.setenv("GRAPHC_BLAS_THREADS", "many")
    with pytest.raises(ValueError, match="GRAPHC_BLAS_THREADS must be 'auto' or a positive"):
        _mlp_like()


def test_blas_thread_policy_auto_follows_the_shape_rule_per_batch_size(monkeypatch):
    monkeypatch.setenv("GRAPHC_BLAS_THREADS", "auto")
    fn = _mlp_like()
    policy = fn.blas_threads
    if policy is None:
        pytest.skip("one core or no settable BLAS: nothing to choose")
    xv, wv = np.ones((4, 8), np.float32), np.ones((8, 5), np.float32)
    out = fn([xv, wv])[0]
    np.testing.assert_allclose(out, np.full((4, 5), 8.0, np.float32))
    assert policy.choice == {4: 1}              # 4*8*5 multiply-adds: one thread
    assert native.blas_get_threads() == 1
    assert policy.threads(1 << 24) == min(policy.ncores, (1 << 24) * 40 // (1 << 26))


def test_tune_malloc_is_idempotent():
    first = native.tune_malloc()
    assert native.tune_malloc() == first
