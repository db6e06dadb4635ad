"""graphc.codegen.cpu.runtime.mathlib: accuracy against numpy (float64) over the whole float32 range,
special values, and that a fused loop over the functions vectorises."""
import re

import numpy as np
import pytest
from numba import njit

from graphc.codegen.cpu.runtime import mathlib as M

F32_MAX = float(np.finfo(np.float32).max)
F32_TINY = float(np.finfo(np.float32).tiny)


def _float32_sweep(n=1 << 20):
    """Evenly spaced bit patterns from 0 to FLT_MAX (so every binade, denormals included, is
    covered about equally), both signs, the saturation points, inf, nan and a dense linear
    grid over [-120, 120]."""
    pos = np.linspace(0, 0x7F7FFFFF, n).astype(np.uint32).view(np.float32)
    points = np.array([0.0, 1e-45, F32_TINY, np.nextafter(np.float32(F32_TINY), 0), 1e-30,
                       1e-7, 0.5, 1.0, 2.0, 9.01, 9.1, 20.0, 87.33654, 88.72283, 88.72284,
                       89.0, 103.972, 104.0, 120.0, 4096.0, F32_MAX, np.inf, np.nan],
                      dtype=np.float32)
    grid = np.linspace(-120, 120, 200001, dtype=np.float32)
    return np.concatenate([pos, -pos, points, -points, grid])


def _gelu_tanh(x):
    # 0.5 x (1 + tanh(u)) without the cancellation of 1 + tanh(u); the limit 0 at -inf
    g = x / (1 + np.exp(-2 * np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    return np.where(x == -np.inf, 0.0, g)


REFERENCE = {
    "exp": np.exp, "expm1": np.expm1, "log": np.log, "log2": np.log2, "log1p": np.log1p,
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "softplus": lambda x: np.logaddexp(0, x),
    "silu": lambda x: np.where(x == -np.inf, 0.0, x / (1 + np.exp(-x))),
    "gelu_tanh": _gelu_tanh,
    "selu": lambda x: 1.0507009873554805 * np.where(
        x > 0, x, 1.6732632423543772 * np.expm1(np.minimum(x, 0))),
    "sin": np.sin, "cos": np.cos,
}


def _apply_kernel(fn):
    @njit(**M.NJIT_OPTIONS)
    def apply(x, out):
        for i in range(x.shape[0]):
            out[i] = fn(x[i])
    return apply


def _errors(result, x, reference):
    """(ulp errors, relative errors, mask of wrong non-finite results) against float64."""
    with np.errstate(all="ignore"):
        exact = reference(x.astype(np.float64))
        exact32 = exact.astype(np.float32)
        result = result.astype(np.float64)
        finite = np.isfinite(exact32) & np.isfinite(result)
        # float32 spacing at the exact value; denormal spacing below FLT_MIN
        ulp = np.exp2(np.floor(np.log2(np.maximum(np.abs(exact), F32_TINY))) - 23)
        ulp_err = np.where(finite, np.abs(result - exact) / ulp, 0.0)
        normal = finite & (np.abs(exact) >= F32_TINY)
        rel_err = np.where(normal, np.abs(result - exact) / np.abs(exact), 0.0)
    same_special = (np.isnan(result) & np.isnan(exact32)) | (result == exact32)
    return ulp_err, rel_err, ~finite & ~same_special


@pytest.fixture(scope="module")
def sweep():
    return _float32_sweep()


def test_registry_is_complete():
    assert set(M.FUNCTIONS) == set(M.MAX_ULP_ERROR) == set(M.MAX_REL_ERROR) == set(REFERENCE)
    assert not {"nnan", "ninf", "fast"} & M.FASTMATH
    for name, fn_name in M.FUNCTION_NAMES.items():       # generated source imports these
        assert getattr(M, fn_name) is M.FUNCTIONS.get(name, M.elu_f32)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_matches_numpy_within_stated_bounds(name, sweep):
    x = sweep
    if name in ("sin", "cos"):
        x = x[~(np.abs(x) > M.SINCOS_ACCURATE_LIMIT)]       # keeps nan
    out = np.empty_like(x)
    _apply_kernel(M.FUNCTIONS[name])(x, out)
    assert out.dtype == np.float32
    ulp_err, rel_err, wrong_special = _errors(out, x, REFERENCE[name])
    if name in M.FLUSHES_DENORMALS:
        # where the exact result is below FLT_MIN the function may return 0 (or a denormal)
        with np.errstate(all="ignore"):
            tiny = np.abs(REFERENCE[name](x.astype(np.float64))) < F32_TINY
        assert np.all(np.abs(out[tiny]) < F32_TINY)
        assert tiny.sum() > 1000        # the sweep reaches that range
        ulp_err = np.where(tiny, 0.0, ulp_err)
    assert not wrong_special.any(), (
        f"{name}: wrong inf/nan/overflow result at x={x[wrong_special][:5]}: "
        f"{out[wrong_special][:5]}")
    worst = int(np.argmax(ulp_err))
    assert ulp_err[worst] <= M.MAX_ULP_ERROR[name], (
        f"{name}({x[worst]!r}) = {out[worst]!r}: {ulp_err[worst]:.2f} ulp")
    assert rel_err.max() <= M.MAX_REL_ERROR[name]


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_sincos_beyond_accurate_limit_stays_bounded_and_accurate_up_to_2_21(name):
    x = np.linspace(M.SINCOS_ACCURATE_LIMIT, 2.0**21, 100001, dtype=np.float32)
    x = np.concatenate([x, -x, np.float32([1e30, -1e30])])
    out = np.empty_like(x)
    _apply_kernel(M.FUNCTIONS[name])(x, out)
    assert np.all(np.abs(out) <= 1)
    exact = REFERENCE[name](x[:-2].astype(np.float64))
    assert np.abs(out[:-2] - exact).max() < 1e-6     # absolute error (FMA: ~1e-7)


SPECIALS = [
    ("exp", -np.inf, 0.0), ("exp", np.inf, np.inf), ("exp", 89.0, np.inf),
    ("exp", -104.0, 0.0), ("exp", 0.0, 1.0), ("exp", -100.0, np.exp(-100.0)),
    ("expm1", -np.inf, -1.0), ("expm1", np.inf, np.inf), ("expm1", 1e-30, 1e-30),
    ("log", 0.0, -np.inf), ("log", -0.0, -np.inf), ("log", -1.0, np.nan),
    ("log", np.inf, np.inf), ("log", -np.inf, np.nan), ("log", 1.0, 0.0),
    ("log", 1e-45, np.log(1.401298464324817e-45)),
    ("log1p", -1.0, -np.inf), ("log1p", -2.0, np.nan), ("log1p", np.inf, np.inf),
    ("log1p", 1e-30, 1e-30),
    ("tanh", np.inf, 1.0), ("tanh", -np.inf, -1.0), ("tanh", 20.0, 1.0), ("tanh", -9.5, -1.0),
    ("tanh", 1e-30, 1e-30),
    ("sigmoid", np.inf, 1.0), ("sigmoid", -np.inf, 0.0), ("sigmoid", -87.0, np.exp(-87.0)),
    ("sigmoid", -100.0, 0.0), ("sigmoid", 100.0, 1.0), ("tanh", 9.1, 1.0), ("tanh", -0.0, -0.0),
    ("softplus", np.inf, np.inf), ("softplus", -np.inf, 0.0), ("softplus", 100.0, 100.0),
    ("silu", np.inf, np.inf), ("silu", -np.inf, 0.0), ("gelu_tanh", -np.inf, 0.0),
    ("gelu_tanh", np.inf, np.inf), ("selu", -np.inf, -1.0507009873554805 * 1.6732632423543772),
    ("sin", np.inf, np.nan), ("cos", -np.inf, np.nan), ("sin", 0.0, 0.0), ("cos", 0.0, 1.0),
] + [(name, np.nan, np.nan) for name in sorted(REFERENCE)]


def test_special_values():
    failures = []
    for name in sorted({s[0] for s in SPECIALS}):
        cases = [(x, want) for n, x, want in SPECIALS if n == name]
        x = np.array([c[0] for c in cases], dtype=np.float32)
        out = np.empty_like(x)
        _apply_kernel(M.FUNCTIONS[name])(x, out)
        for xi, got, (_, want) in zip(x, out, cases):
            ok = np.isnan(got) if np.isnan(want) else got == np.float32(want) or (
                np.isfinite(want) and abs(got - want) <= 2e-7 * abs(want))
            if not ok:
                failures.append(f"{name}({xi}) = {got}, expected {want}")
    assert not failures, failures


def test_elu_takes_alpha():
    @njit(**M.NJIT_OPTIONS)
    def elu(x, alpha, out):
        for i in range(x.shape[0]):
            out[i] = M.elu_f32(x[i], alpha)

    x = np.linspace(-30, 5, 1001, dtype=np.float32)
    out = np.empty_like(x)
    elu(x, np.float32(0.3), out)
    expected = np.where(x > 0, x, 0.3 * np.expm1(x.astype(np.float64)))
    np.testing.assert_allclose(out, expected, rtol=3e-7, atol=0)


@njit(**M.NJIT_OPTIONS)
def _fused_chain(x, a, b, out):
    for i in range(x.shape[0]):
        v = x[i]
        out[i] = (M.tanh_f32(a * v + b) * M.sigmoid_f32(v) + M.log1p_f32(v * v)
                  + M.softplus_f32(v) * M.sin_f32(v))


def test_fused_loop_vectorises_without_float64_or_libm_calls():
    x = np.linspace(-5, 5, 1000, dtype=np.float32)
    out = np.empty_like(x)
    a, b = np.float32(0.7), np.float32(0.1)
    _fused_chain(x, a, b, out)
    sig = _fused_chain.signatures[0]
    llvm_ir = _fused_chain.inspect_llvm(sig)
    asm = _fused_chain.inspect_asm(sig)
    assert "<8 x float>" in llvm_ir or "<16 x float>" in llvm_ir
    assert "ymm" in asm or "zmm" in asm
    # no float64 promotion (the Python wrapper's unboxing has doubles, hence the regex)
    assert "fpext" not in llvm_ir
    assert not re.search(r"= f(add|sub|mul|div)( \w+)* double ", llvm_ir)
    for libm in ("@llvm.exp", "@llvm.log", "tanhf", "expf", "logf", "sinf", "@llvm.sin"):
        assert libm not in llvm_ir, f"{libm} called in the fused loop"
    xd = x.astype(np.float64)
    expected = (np.tanh(0.7 * xd + 0.1) / (1 + np.exp(-xd)) + np.log1p(xd * xd)
                + np.logaddexp(0, xd) * np.sin(xd))
    np.testing.assert_allclose(out, expected, rtol=2e-6, atol=2e-6)


def test_tanh_coefficients_are_the_stated_fit():
    """tanh_f32's rational is fit_tanh_rational(9.1, 5, 4): refitting gives the same
    coefficients (to float32), and the fit's float64 relative error is far below float32's
    epsilon, so the measured bound is the float32 evaluation's rounding."""
    p, q, worst = M.fit_tanh_rational(9.1, 5, 4)
    assert worst < 5e-9
    np.testing.assert_allclose(np.float32(p), M._TP, rtol=1e-5)
    np.testing.assert_allclose(np.float32(q), M._TQ, rtol=1e-5)
    x = np.linspace(0, 9.1, 10001)
    s = x * x
    ratio = x * np.polyval(p[::-1], s) / np.polyval(q[::-1], s)
    assert (np.abs(ratio[1:] - np.tanh(x[1:])) / np.tanh(x[1:])).max() < 5e-9
    assert np.float32(np.tanh(9.1)) == np.float32(1.0)       # why the clamp may be 9.1


def test_sigmoid_is_cheap_form_but_relatively_accurate_down_to_flt_min():
    x = np.linspace(-87.3, 30, 200001, dtype=np.float32)
    out = np.empty_like(x)
    _apply_kernel(M.sigmoid_f32)(x, out)
    exact = 1 / (1 + np.exp(-x.astype(np.float64)))
    assert np.all(exact >= F32_TINY)
    assert (np.abs(out - exact) / exact).max() <= M.MAX_REL_ERROR["sigmoid"]
