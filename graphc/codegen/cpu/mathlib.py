"""Vectorisable float32 transcendental functions for fused CPU kernels.

The pip builds of llvmlite carry no SVML, so ``np.tanh`` / ``np.exp`` inside a numba loop
become one scalar libm call per element and block LLVM's loop vectoriser: a fused loop is
then slower than numpy. The functions here are written in plain float32 arithmetic, integer
bit manipulation and selects only (no calls, no float64), so that an ``njit`` loop which
uses them vectorises to ``<8 x float>`` (AVX2) or ``<16 x float>`` (AVX-512) code.

Each function is an ``@njit(inline='always')`` scalar function of one float32 argument
(``elu_f32`` / ``selu``-style helpers take constant parameters) that returns float32. A
generated kernel calls them by name, e.g. ``from graphc.codegen.cpu.mathlib import tanh_f32``.

Fast-math flags: use :data:`FASTMATH` for every kernel that calls these functions.
    ``inline='always'`` splices a function's numba IR into the caller, so the *caller's*
    ``fastmath`` flags govern the inlined instructions. :data:`FASTMATH` is
    ``{'nsz', 'arcp', 'contract', 'afn', 'reassoc'}``:

    - ``nnan`` and ``ninf`` are left out on purpose: with them LLVM may assume no input or
      result is nan/inf, folds ``x != x`` to false and ``x > 3.4e38`` to false, and turns
      nan/inf inputs into poison; tanh(inf), exp(-inf), log(0) and nan propagation break.
    - ``reassoc`` is what lets LLVM vectorise *reductions* (sum, max, softmax) in the
      same fused kernel, so it is kept. It may re-associate float arithmetic, which would
      undo compensated steps (Cody-Waite range reduction, ``x - ((1 + x) - 1)``). The steps
      whose rounding matters are therefore emitted by small intrinsics below whose LLVM
      instructions carry *no* fast-math flags (``_fmuladd``, ``_strict_sub``,
      ``_round_to_i32``), which LLVM must evaluate as written.
    - ``contract`` allows FMA (faster and more accurate), ``arcp`` allows ``a/b`` as
      ``a*(1/b)`` (<= 1 extra ulp, included in the measured bounds), ``nsz`` may drop the
      sign of a zero result (``tanh(-0.0)`` may be ``+0.0``), ``afn`` only affects libm
      calls, of which there are none.
    Measured: every function below vectorises under these flags and under none.

Accuracy (:data:`MAX_ULP_ERROR`, :data:`MAX_REL_ERROR`) was measured against numpy in float64
over a dense sweep of all float32 magnitudes (denormals to FLT_MAX, both signs, the
saturation points); see tests/codegen/test_mathlib.py. ulp = the float32 spacing at the
exact result (denormal spacing below FLT_MIN). Special values: exp(-inf)=0, exp(x>88.72)=inf,
log(0)=-inf, log(x<0)=nan, tanh(+-inf)=+-1, sigmoid(+-inf)=1/0, softplus(inf)=inf, nan in ->
nan out, for every function.

sin/cos: Cody-Waite reduction with a 3-part pi/2; accurate (see the bounds) for
``|x| <= SINCOS_ACCURATE_LIMIT``; beyond it the reduction loses bits, the result stays in
[-1, 1] but its error grows (there is no vectorisable Payne-Hanek here); sin(+-inf)=nan.

Measured on the dev machine (AMD EPYC znver5, 2 cores, AVX-512; numba 0.68.1), chain
``tanh(a*x + b) * sigmoid(x) + 0.5*x*x`` over 4M float32 (a=0.7, b=0.1), best of 7:

    =========================================  ========
    numpy (np.tanh, 1/(1+np.exp(-x)), ...)      47.6 ms
    njit serial loop, np.tanh / np.exp (libm)   87.6 ms
    njit serial loop, this module, FASTMATH      6.4 ms
    njit parallel=True prange, this module       3.7 ms   (2 threads)
    =========================================  ========

(see ``measure_chain()``; the serial loop vectorises to ``<16 x float>`` on this CPU.)
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = [
    "FASTMATH", "FUNCTIONS", "MAX_ULP_ERROR", "MAX_REL_ERROR", "SINCOS_ACCURATE_LIMIT",
    "exp_f32", "expm1_f32", "log_f32", "log1p_f32", "log2_f32", "tanh_f32", "sigmoid_f32",
    "softplus_f32", "silu_f32", "gelu_tanh_f32", "elu_f32", "selu_f32", "sin_f32",
    "cos_f32", "measure_chain",
]

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})
_FM = set(FASTMATH)  # numba wants a set

f32 = np.float32
_I32 = ir.IntType(32)
_F32 = ir.FloatType()


# ---------------------------------------------------------------------------------------------
# Intrinsics: single LLVM instructions on i32 / f32, without fast-math flags. numba types scalar
# integer arithmetic as int64; doing the bit work here keeps it <N x i32> when vectorised.
# ---------------------------------------------------------------------------------------------

def _as_i32(context, builder, value, ty):
    return context.cast(builder, value, ty, types.int32)


@intrinsic
def _bits(typingctx, x):
    """The IEEE bits of a float32 as int32."""
    if x != types.float32:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], _I32)
    return types.int32(x), codegen


@intrinsic
def _from_bits(typingctx, i):
    """The float32 whose IEEE bits are the int32 ``i``."""
    if not isinstance(i, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(_as_i32(context, builder, args[0], i), _F32)
    return types.float32(i), codegen


def _make_i32_binop(name, emit):
    def typer(typingctx, a, b):
        if not (isinstance(a, types.Integer) and isinstance(b, types.Integer)):
            return None

        def codegen(context, builder, sig, args):
            x = _as_i32(context, builder, args[0], a)
            y = _as_i32(context, builder, args[1], b)
            return emit(builder, x, y)
        return types.int32(a, b), codegen
    typer.__name__ = name
    return intrinsic(typer)


_i32_add = _make_i32_binop("_i32_add", lambda b, x, y: b.add(x, y))
_i32_sub = _make_i32_binop("_i32_sub", lambda b, x, y: b.sub(x, y))
_i32_and = _make_i32_binop("_i32_and", lambda b, x, y: b.and_(x, y))
_i32_ashr = _make_i32_binop("_i32_ashr", lambda b, x, y: b.ashr(x, y))
_i32_shl = _make_i32_binop("_i32_shl", lambda b, x, y: b.shl(x, y))


@intrinsic
def _i32_to_f32(typingctx, i):
    """sitofp: an int32 to float32."""
    if not isinstance(i, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        return builder.sitofp(_as_i32(context, builder, args[0], i), _F32)
    return types.float32(i), codegen


@intrinsic
def _round_to_i32(typingctx, t):
    """round-to-nearest(t) as int32 for |t| < 2**22, via the 1.5*2**23 trick.

    Well defined for nan/inf inputs (unlike fptosi, which gives poison); the fadd carries no
    fast-math flag so ``reassoc`` cannot cancel it.
    """
    if t != types.float32:
        return None

    def codegen(context, builder, sig, args):
        magic = ir.Constant(_F32, 12582912.0)
        shifted = builder.fadd(args[0], magic)
        return builder.sub(builder.bitcast(shifted, _I32), ir.Constant(_I32, 0x4B400000))
    return types.int32(t), codegen


@intrinsic
def _fmuladd(typingctx, a, b, c):
    """a*b + c, fused where the CPU has FMA (llvm.fmuladd), never re-associated."""
    if not (a == b == c == types.float32):
        return None

    def codegen(context, builder, sig, args):
        fn = builder.module.declare_intrinsic("llvm.fmuladd", [_F32])
        return builder.call(fn, args)
    return types.float32(a, b, c), codegen


@intrinsic
def _strict_sub(typingctx, a, b):
    """a - b exactly as written (no fast-math flags: ``reassoc`` cannot fold it away)."""
    if not (a == b == types.float32):
        return None

    def codegen(context, builder, sig, args):
        return builder.fsub(args[0], args[1])
    return types.float32(a, b), codegen


# ---------------------------------------------------------------------------------------------
# Constants (all float32 / int32 so that numba never promotes to float64 / int64)
# ---------------------------------------------------------------------------------------------

_ZERO, _HALF, _ONE, _TWO = f32(0.0), f32(0.5), f32(1.0), f32(2.0)
_INF, _NAN = f32(np.inf), f32(np.nan)
_LOG2E = f32(1.4426950408889634)
# ln2 = _LN2_HI + _LN2_LO; _LN2_HI has 16 significant bits so n*_LN2_HI is exact for |n| < 2**8
_LN2_HI = f32(0.693145751953125)
_LN2_LO = f32(1.428606765330187e-06)
# expm1(r) ~= r + r^2/2 + r^3*(P0 + P1 r + P2 r^2 + P3 r^3) on |r| <= ln2/2 (fitted here,
# relative error 1.6e-8 in exact arithmetic)
_EP0, _EP1 = f32(0.16666538), f32(0.04166673)
_EP2, _EP3 = f32(0.00836734), f32(0.00139099)
_EXP_HI, _EXP_LO = f32(89.0), f32(-104.0)    # exp overflows above 88.73, is 0 below -103.98
_EXPM1_LO = f32(-18.0)                       # expm1(x) rounds to -1 below -17.33
_TANH_CLAMP = f32(9.1)                       # tanh(x) rounds to 1 above 9.01
# log: atanh series 2s + 2s^3/3 + ..., s = f/(2+f); R(z) = 2z/3 + 2z^2/5 + ..., z = s^2
_LC1, _LC2, _LC3, _LC4 = f32(2.0 / 3.0), f32(2.0 / 5.0), f32(2.0 / 7.0), f32(2.0 / 9.0)
_SQRT_HALF_BITS = 0x3F3504F3                 # bits of float32(sqrt(0.5))
_MANT_MASK = 0x007FFFFF
_FLT_MIN = f32(np.finfo(np.float32).tiny)
_TWO25 = f32(33554432.0)
_M25 = f32(-25.0)
_INV_LN2 = f32(1.4426950408889634)
_SELU_ALPHA = f32(1.6732632423543772)
_SELU_SCALE = f32(1.0507009873554805)
_GELU_C = f32(0.7978845608028654)            # sqrt(2/pi)
_GELU_K = f32(0.044715)
_F32_2P22 = f32(4194304.0)
# sin/cos: 2/pi and pi/2 = _PIO2_A + _PIO2_B + _PIO2_C (A, B with 12 significant bits, so
# n*A and n*B are exact for |n| < 2**12; C carries the rest)
_TWO_OVER_PI = f32(0.6366197723675814)
_PIO2_A = f32(1.5703125)
_PIO2_B = f32(0.0004837512969970703)
_PIO2_C = f32(7.549789948768648e-08)
SINCOS_ACCURATE_LIMIT = 4096.0
_SINCOS_CLAMP = f32(2.0 ** 21)
# minimax-like polynomials on |r| <= pi/4 (Taylor, enough for float32)
_S1, _S2, _S3 = f32(-1.0 / 6.0), f32(1.0 / 120.0), f32(-1.0 / 5040.0)
_S4 = f32(1.0 / 362880.0)
_C1, _C2, _C3 = f32(-0.5), f32(1.0 / 24.0), f32(-1.0 / 720.0)
_C4, _C5 = f32(1.0 / 40320.0), f32(-1.0 / 3628800.0)


def _jit(fn):
    return njit(inline="always", fastmath=_FM, cache=False)(fn)


# ---------------------------------------------------------------------------------------------
# exp family
# ---------------------------------------------------------------------------------------------

@_jit
def _ldexp(p, n):
    """p * 2**n for n in [-252, 254]: two power-of-two factors so that denormal and
    overflowing results round correctly."""
    n1 = _i32_ashr(n, 1)
    n2 = _i32_sub(n, n1)
    s1 = _from_bits(_i32_shl(_i32_add(n1, 127), 23))
    s2 = _from_bits(_i32_shl(_i32_add(n2, 127), 23))
    return p * s1 * s2


@_jit
def _expm1_reduced(r):
    """expm1(r) for |r| <= ~0.35."""
    poly = _EP0 + r * (_EP1 + r * (_EP2 + r * _EP3))
    return _fmuladd(r * r, _fmuladd(r, poly, _HALF), r)


@_jit
def _reduce_ln2(x):
    """(n, r) with x = n*ln2 + r, |r| <= ln2/2 (+rounding); x already clamped to |x| < 2**8."""
    n = _round_to_i32(x * _LOG2E)
    nf = _i32_to_f32(n)
    r = _fmuladd(-nf, _LN2_HI, x)
    r = _fmuladd(-nf, _LN2_LO, r)
    return n, r


@_jit
def exp_f32(x):
    """e**x in float32. exp(-inf)=0, exp(x > 88.72)=inf, denormal results included."""
    # clamp in an order that keeps nan (a comparison with nan is false)
    xc = _EXP_HI if x > _EXP_HI else x
    xc = _EXP_LO if xc < _EXP_LO else xc
    n, r = _reduce_ln2(xc)
    p = _expm1_reduced(r) + _ONE
    return _ldexp(p, n)


@_jit
def expm1_f32(x):
    """e**x - 1 in float32, accurate near 0. expm1(-inf)=-1, expm1(x > 88.72)=inf."""
    xc = _EXP_HI if x > _EXP_HI else x
    xc = _EXPM1_LO if xc < _EXPM1_LO else xc
    n, r = _reduce_ln2(xc)
    q = _expm1_reduced(r)
    # expm1(x) = 2**n * q + (2**n - 1) = 2 * (h*q + (h - 1/2)),  h = 2**(n-1) in [2**-27, 2**127]
    h = _from_bits(_i32_shl(_i32_add(n, 126), 23))
    return _TWO * _fmuladd(h, q, _strict_sub(h, _HALF))


# ---------------------------------------------------------------------------------------------
# log family
# ---------------------------------------------------------------------------------------------

@_jit
def _log_finite(x):
    """log(x) for finite x > 0 (denormals included); other inputs give garbage."""
    denormal = x < _FLT_MIN
    xs = x * _TWO25 if denormal else x
    eadj = _M25 if denormal else _ZERO
    # x = 2**e * m with m in [sqrt(1/2), sqrt(2))
    t = _i32_sub(_bits(xs), _SQRT_HALF_BITS)
    e = _i32_ashr(t, 23)
    m = _from_bits(_i32_add(_i32_and(t, _MANT_MASK), _SQRT_HALF_BITS))
    f = m - _ONE                                   # exact (Sterbenz)
    s = f / (_TWO + f)
    z = s * s
    rz = z * (_LC1 + z * (_LC2 + z * (_LC3 + z * _LC4)))
    # log1p(f) = 2s + s*R = f - s*(f - R)  (leading term f is exact)
    lg = _strict_sub(f, s * _strict_sub(f, rz))
    ef = _i32_to_f32(e) + eadj
    return _fmuladd(ef, _LN2_HI, _fmuladd(ef, _LN2_LO, lg))


@_jit
def log_f32(x):
    """Natural log in float32. log(0)=-inf, log(x<0)=nan, log(inf)=inf."""
    res = _log_finite(x)
    res = _INF if x == _INF else res
    res = -_INF if x == _ZERO else res
    return res if x >= _ZERO else _NAN        # also nan for nan


@_jit
def log2_f32(x):
    """Base-2 log in float32 (log(x) / ln 2)."""
    return log_f32(x) * _INV_LN2


@_jit
def log1p_f32(x):
    """log(1 + x) in float32, accurate near 0. log1p(-1)=-inf, log1p(x<-1)=nan."""
    u = x + _ONE
    lu = log_f32(u)
    # u rounds 1+x; log1p(x) = log(u) + (x - (u-1))/u to first order
    corr = _strict_sub(x, _strict_sub(u, _ONE)) / u
    corr = corr if corr == corr else _ZERO    # inf/inf and 0/0 at the ends: keep log(u)
    return lu + corr


# ---------------------------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------------------------

@_jit
def tanh_f32(x):
    """tanh in float32: expm1(2|x|) / (expm1(2|x|) + 2) with the sign of x; tanh(+-inf)=+-1."""
    a = abs(x)
    a = _TANH_CLAMP if a > _TANH_CLAMP else a
    e = expm1_f32(a + a)
    t = e / (e + _TWO)
    return -t if x < _ZERO else t


@_jit
def sigmoid_f32(x):
    """1 / (1 + e**-x) in float32, relatively accurate also for x << 0 (down to denormals)."""
    e = exp_f32(-abs(x))                      # in (0, 1], never overflows
    r = _ONE / (_ONE + e)
    return r if x >= _ZERO else e * r         # x<0: e**x / (1 + e**x); nan: e*r = nan


@_jit
def softplus_f32(x):
    """log(1 + e**x) = max(x, 0) + log1p(e**-|x|) in float32; softplus(inf)=inf."""
    pos = x if x > _ZERO else _ZERO
    return pos + log1p_f32(exp_f32(-abs(x)))


@_jit
def silu_f32(x):
    """x * sigmoid(x) (swish) in float32."""
    return x * sigmoid_f32(x)


@_jit
def gelu_tanh_f32(x):
    """The tanh approximation of GELU: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    inner = _GELU_C * _fmuladd(_GELU_K * x * x, x, x)
    return _HALF * x * (_ONE + tanh_f32(inner))


@_jit
def elu_f32(x, alpha):
    """x for x > 0, alpha * expm1(x) otherwise (``alpha`` must be float32)."""
    return x if x > _ZERO else alpha * expm1_f32(x)


@_jit
def selu_f32(x):
    """SELU: scale * elu(x, alpha) with the self-normalising constants."""
    return _SELU_SCALE * elu_f32(x, _SELU_ALPHA)


# ---------------------------------------------------------------------------------------------
# sin / cos
# ---------------------------------------------------------------------------------------------

@_jit
def _sincos_reduce(x):
    """(quadrant n, r) with x = n*pi/2 + r, |r| <= pi/4 (+rounding)."""
    xc = _SINCOS_CLAMP if x > _SINCOS_CLAMP else x
    xc = -_SINCOS_CLAMP if xc < -_SINCOS_CLAMP else xc
    n = _round_to_i32(xc * _TWO_OVER_PI)
    nf = _i32_to_f32(n)
    r = _fmuladd(-nf, _PIO2_A, xc)
    r = _fmuladd(-nf, _PIO2_B, r)
    r = _fmuladd(-nf, _PIO2_C, r)
    return n, r


@_jit
def _sin_poly(r):
    z = r * r
    return _fmuladd(r * z, _S1 + z * (_S2 + z * (_S3 + z * _S4)), r)


@_jit
def _cos_poly(r):
    z = r * r
    return _fmuladd(z, _C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * _C5))), _ONE)


@_jit
def _quadrant(s, c, n):
    """sin(n*pi/2 + r) from s = sin(r), c = cos(r)."""
    v = c if _i32_and(n, 1) != 0 else s
    return -v if _i32_and(n, 2) != 0 else v


@_jit
def sin_f32(x):
    """sin in float32 (accurate for |x| <= SINCOS_ACCURATE_LIMIT); sin(+-inf)=nan."""
    n, r = _sincos_reduce(x)
    s = _sin_poly(r)
    c = _cos_poly(r)
    v = _quadrant(s, c, n)
    return v if abs(x) < _INF else _NAN


@_jit
def cos_f32(x):
    """cos in float32 (accurate for |x| <= SINCOS_ACCURATE_LIMIT); cos(+-inf)=nan."""
    n, r = _sincos_reduce(x)
    s = _sin_poly(r)
    c = _cos_poly(r)
    v = _quadrant(s, c, _i32_add(n, 1))       # cos(x) = sin(x + pi/2)
    return v if abs(x) < _INF else _NAN


FUNCTIONS = {
    "exp": exp_f32,
    "expm1": expm1_f32,
    "log": log_f32,
    "log2": log2_f32,
    "log1p": log1p_f32,
    "tanh": tanh_f32,
    "sigmoid": sigmoid_f32,
    "softplus": softplus_f32,
    "silu": silu_f32,
    "gelu_tanh": gelu_tanh_f32,
    "selu": selu_f32,
    "sin": sin_f32,
    "cos": cos_f32,
}
"""Name -> numba scalar function (float32 -> float32). ``elu_f32(x, alpha)`` takes two."""

# Filled in from measurements below.
MAX_ULP_ERROR: dict[str, float] = {}
MAX_REL_ERROR: dict[str, float] = {}
