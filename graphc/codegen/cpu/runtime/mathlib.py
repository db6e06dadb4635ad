"""Vectorisable float32 transcendental functions for fused CPU kernels.

The pip builds of llvmlite carry no SVML, so ``np.tanh`` / ``np.exp`` inside a numba loop
become one scalar libm call per element and block LLVM's loop vectoriser: a fused loop is
then slower than numpy. The functions here are written in plain float32 arithmetic, integer
bit manipulation and selects only (no calls, no float64), so that an ``njit`` loop which
uses them vectorises to ``<8 x float>`` (AVX2) or ``<16 x float>`` (AVX-512) code.

Each function is an ``@njit(inline='always')`` scalar function of one float32 argument
that returns float32 (``elu_f32(x, alpha)`` also takes a float32 ``alpha``). A
generated kernel calls them by name, e.g. ``from graphc.codegen.cpu.runtime.mathlib import tanh_f32``.

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
      instructions carry only the ``contract`` flag (``_fmuladd``, ``_strict_sub``,
      ``_round_to_i32``; numba's fast-math rewrite leaves flagged instructions alone), so
      LLVM evaluates them as written, fused into FMAs at most.
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
nan out, for every function. sigmoid returns 0 where its exact result is below FLT_MIN
(x < -88.72; :data:`FLUSHES_DENORMALS`), as the generated kernels' FTZ mode would anyway.

sin/cos: Cody-Waite reduction with a 5-part pi/2. <= 2.5 ulp for ``|x| <= 4096``
(``SINCOS_ACCURATE_LIMIT``) on any CPU, and up to 2**21 where the CPU has FMA (measured: 2.4
ulp). Beyond 2**21 the argument is clamped: the result is in [-1, 1] but not sin(x) (there is
no vectorisable Payne-Hanek reduction here). sin(+-inf) = cos(+-inf) = nan.

Kernel options: ``njit(fastmath=set(FASTMATH), error_model='numpy')`` (:data:`NJIT_OPTIONS`).
The divisions here are IEEE divisions whatever the caller's ``error_model``, but a kernel's own
``a / b`` under the default ``error_model='python'`` gets a zero check that blocks
vectorisation.

Measured on the dev machine (AMD EPYC, Zen 5, 2 cores, AVX-512; numba 0.68.1), the chain
``tanh(a*x + b) * sigmoid(x) + 0.5*x*x`` over 4M float32 (a=0.7, b=0.1), best of 7, with
``python -m graphc.codegen.cpu.runtime.mathlib`` (see :func:`measure_chain`). "First version": tanh
as expm1(2|x|) / (expm1(2|x|) + 2), sigmoid as the two-sided e**-|x| form, two divisions;
"now": tanh a rational, sigmoid one-sided with a single power-of-two scale, the two
divisions merged into one (see ``_div``); the machine is shared, so the best of three runs:

    ==========================================  ===========  ==============  =============
    variant                                     first        now (native,    first, AVX2
                                                version      <16 x f32>)     (<8 x float>)
    ==========================================  ===========  ==============  =============
    numpy (np.tanh, 1/(1+np.exp(-x)), ...)      11.4 ms      11.9 ms         10.6 ms
    njit serial loop, np.tanh / np.exp (libm)   65.9 ms      68.9 ms         64.3 ms
    njit serial loop, this module, FASTMATH      1.65 ms      1.15 ms         3.31 ms
    njit parallel=True prange, this module      0.94 ms      0.63 ms         1.69 ms
    ==========================================  ===========  ==============  =============

max |difference| to numpy 7.6e-6 on values up to ~100 (relative ~1e-7). Compile time of one
such loop: ~0.1-0.4 s after numba's first-compile warm-up.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = [
    "FASTMATH", "NJIT_OPTIONS", "FUNCTIONS", "FUNCTION_NAMES", "MAX_ULP_ERROR", "MAX_REL_ERROR",
    "FLUSHES_DENORMALS", "SINCOS_ACCURATE_LIMIT", "fit_tanh_rational", "exp_f32", "expm1_f32",
    "log_f32", "log1p_f32", "log2_f32",
    "tanh_f32", "sigmoid_f32", "softplus_f32", "silu_f32", "gelu_tanh_f32", "elu_f32",
    "selu_f32", "sin_f32", "cos_f32", "measure_chain",
]

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})
_FM = set(FASTMATH)  # numba wants a set
NJIT_OPTIONS = {"fastmath": _FM, "error_model": "numpy"}
"""Options for a kernel that calls these functions: ``njit(**NJIT_OPTIONS)``."""

f32 = np.float32
_I32 = ir.IntType(32)
# numba's fast-math rewrite adds the kernel's flags to every float instruction that has none;
# instructions that must not be re-associated carry just 'contract' (FMA fusion only).
_STRICT = ("contract",)
_F32 = ir.FloatType()


# ---------------------------------------------------------------------------------------------
# Intrinsics: single LLVM instructions on i32 / f32. numba types scalar integer arithmetic as
# int64; doing the bit work here keeps it <N x i32> when vectorised.
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
        shifted = builder.fadd(args[0], magic, flags=_STRICT)
        return builder.sub(builder.bitcast(shifted, _I32), ir.Constant(_I32, 0x4B400000))
    return types.int32(t), codegen


@intrinsic
def _fmuladd(typingctx, a, b, c):
    """a*b + c, fused into an FMA where the CPU has one, never re-associated."""
    if not (a == b == c == types.float32):
        return None

    def codegen(context, builder, sig, args):
        prod = builder.fmul(args[0], args[1], flags=_STRICT)
        return builder.fadd(prod, args[2], flags=_STRICT)
    return types.float32(a, b, c), codegen


@intrinsic
def _strict_sub(typingctx, a, b):
    """a - b exactly as written (no fast-math flags: ``reassoc`` cannot fold it away)."""
    if not (a == b == types.float32):
        return None

    def codegen(context, builder, sig, args):
        return builder.fsub(args[0], args[1], flags=_STRICT)
    return types.float32(a, b), codegen


@intrinsic
def _strict_mul(typingctx, a, b):
    """a * b exactly as written (``reassoc`` cannot regroup p*2**n1*2**n2 into p*inf)."""
    if not (a == b == types.float32):
        return None

    def codegen(context, builder, sig, args):
        return builder.fmul(args[0], args[1], flags=_STRICT)
    return types.float32(a, b), codegen


@intrinsic
def _div(typingctx, a, b):
    """a / b as IEEE division (inf/nan, never ZeroDivisionError, whatever the caller's
    ``error_model``); ``arcp`` lets LLVM use a reciprocal, and ``reassoc`` lets it merge two
    divisions whose quotients are multiplied in one kernel into one, (a/b)*(c/d) ->
    (a*c)/(b*d): ``tanh(u) * sigmoid(v)`` costs one division (measured: the 4M chain 1.41 ->
    1.22 ms serial). No compensated step ends in a division here."""
    if not (a == b == types.float32):
        return None

    def codegen(context, builder, sig, args):
        return builder.fdiv(args[0], args[1], flags=("arcp", "contract", "reassoc"))
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
_SILU_LO = f32(-120.0)
_EXPM1_LO = f32(-18.0)                       # expm1(x) rounds to -1 below -17.33
_TANH_CLAMP = f32(9.1)                       # tanh(x) rounds to 1 above 9.01
# tanh(x) ~= x * P(x^2) / Q(x^2) on |x| <= 9.1: an odd [11/8] rational fitted to minimise the
# relative error (fit_tanh_rational(9.1, 5, 4) below; 1.4e-9 in exact arithmetic, so the
# float32 evaluation's rounding dominates the measured bound)
_TP = tuple(f32(c) for c in (1.0, 0.13676147162914276, 0.003863606369122863,
                             2.7912197765544988e-05, 3.0356115843233056e-08,
                             -1.2034034359287293e-11))
_TQ = tuple(f32(c) for c in (1.0, 0.47009479999542236, 0.02722856029868126,
                             0.0003930306702386588, 1.2807124676328385e-06))
_TP0, _TP1, _TP2, _TP3, _TP4, _TP5 = _TP
_TQ0, _TQ1, _TQ2, _TQ3, _TQ4 = _TQ
_SIG_HI, _SIG_LO = f32(89.0), f32(-87.0)      # e**-x clamps: overflow to inf / 1 + e**-x == 1
# log: atanh series 2s + 2s^3/3 + ..., s = f/(2+f); R(z) = 2z/3 + 2z^2/5 + ..., z = s^2
_LC1, _LC2, _LC3, _LC4 = f32(2.0 / 3.0), f32(2.0 / 5.0), f32(2.0 / 7.0), f32(2.0 / 9.0)
_SQRT_HALF_BITS = 0x3F3504F3                 # bits of float32(sqrt(0.5))
_MANT_MASK = 0x007FFFFF
_FLT_MIN = f32(np.finfo(np.float32).tiny)
_TWO25 = f32(33554432.0)
_M25 = f32(-25.0)
_SELU_ALPHA = f32(1.6732632423543772)
_SELU_SCALE = f32(1.0507009873554805)
_GELU_2C = f32(2.0 * 0.7978845608028654)      # 2 * sqrt(2/pi)
_GELU_K = f32(0.044715)
# sin/cos: 2/pi and pi/2 = A + B + C + D + E; A..D have <= 12 significant bits, so n*A .. n*D
# are exact for |n| < 2**12 even on CPUs without FMA; E carries the rest
_TWO_OVER_PI = f32(0.6366197723675814)
_PIO2_A = f32(1.5703125)
_PIO2_B = f32(0.0004837512969970703)
_PIO2_C = f32(7.549533620476723e-08)
_PIO2_D = f32(2.5632829192545614e-12)
_PIO2_E = f32(6.123234262925839e-17)
# <= 2 ulp (measured) for |x| <= 4096 on any CPU; with FMA also up to the clamp 2**21
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
    return _strict_mul(_strict_mul(p, s1), s2)


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
def _exp_parts(x):
    """(n, p) with e**x = p * 2**n, p in [0.7, 1.42]; n is clamped so that _ldexp is valid."""
    # clamp in an order that keeps nan (a comparison with nan is false)
    xc = _EXP_HI if x > _EXP_HI else x
    xc = _EXP_LO if xc < _EXP_LO else xc
    n, r = _reduce_ln2(xc)
    return n, _expm1_reduced(r) + _ONE


@_jit
def exp_f32(x):
    """e**x in float32. exp(-inf)=0, exp(x > 88.72)=inf, denormal results included."""
    n, p = _exp_parts(x)
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
    s = _div(f, _TWO + f)
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
    return log_f32(x) * _LOG2E


@_jit
def log1p_f32(x):
    """log(1 + x) in float32, accurate near 0. log1p(-1)=-inf, log1p(x<-1)=nan."""
    u = x + _ONE
    lu = log_f32(u)
    # u rounds 1+x; log1p(x) = log(u) + (x - (u-1))/u to first order
    corr = _div(_strict_sub(x, _strict_sub(u, _ONE)), u)
    corr = corr if corr == corr else _ZERO    # inf/inf and 0/0 at the ends: keep log(u)
    return lu + corr


# ---------------------------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------------------------

@_jit
def tanh_f32(x):
    """tanh in float32: the odd rational x * P(x^2) / Q(x^2) on x clamped to [-9.1, 9.1]
    (tanh rounds to +-1 beyond 9.01); tanh(+-inf)=+-1, nan in -> nan out. 11 multiply-adds
    and one division, no exp: about 20% cheaper than expm1(2|x|) / (expm1(2|x|) + 2)."""
    a = _TANH_CLAMP if x > _TANH_CLAMP else x      # in an order that keeps nan
    a = -_TANH_CLAMP if a < -_TANH_CLAMP else a
    s = a * a
    p = _fmuladd(_fmuladd(_fmuladd(_fmuladd(_fmuladd(_TP5, s, _TP4), s, _TP3), s, _TP2), s,
                          _TP1), s, _TP0)
    q = _fmuladd(_fmuladd(_fmuladd(_fmuladd(_TQ4, s, _TQ3), s, _TQ2), s, _TQ1), s, _TQ0)
    return _div(a * p, q)


@_jit
def sigmoid_f32(x):
    """1 / (1 + e**-x) in float32, relatively accurate down to FLT_MIN (x >= -87.3).

    e**-x is scaled by ONE power of two (no denormal results to round): it overflows to inf
    for x < -88.72, so the result there is 0 -- the exact value is a denormal below 2.3e-39,
    which the generated kernels flush to zero anyway (they run with FTZ/DAZ set). For x > 87
    e**-x is clamped to e**-87 (1 + that == 1). Cheaper than the two-sided
    e**-|x| / (1 + e**-|x|) form: no select, no second product.
    """
    y = _SIG_HI if -x > _SIG_HI else -x      # clamps keep nan (comparisons with nan are false)
    y = _SIG_LO if y < _SIG_LO else y
    n, r = _reduce_ln2(y)
    e = (_expm1_reduced(r) + _ONE) * _from_bits(_i32_shl(_i32_add(n, 127), 23))
    return _div(_ONE, _ONE + e)


@_jit
def _sigmoid_wide(x):
    """1 / (1 + e**-x) with denormal results rounded (x down to -103.97): for gelu_tanh,
    whose x * sigmoid(2u) is still a normal number where sigmoid(2u) is a denormal."""
    e = exp_f32(-abs(x))                      # in (0, 1], never overflows
    r = _div(_ONE, _ONE + e)
    return r if x >= _ZERO else e * r         # x<0: e**x / (1 + e**x); nan: e*r = nan


@_jit
def softplus_f32(x):
    """log(1 + e**x) = max(x, 0) + log1p(e**-|x|) in float32; softplus(inf)=inf."""
    pos = x if x > _ZERO else _ZERO
    return pos + log1p_f32(exp_f32(-abs(x)))


@_jit
def silu_f32(x):
    """x * sigmoid(x) (swish) in float32; silu(-inf) = -0.0 (the limit), silu(inf) = inf."""
    a = -abs(x)
    a = _SILU_LO if a < _SILU_LO else a      # x e**x rounds to 0 below -109; keeps nan
    n, t = _reduce_ln2(a)
    p = _expm1_reduced(t) + _ONE
    r = _div(_ONE, _ONE + _ldexp(p, n))
    # x < 0: x * e**x * r, scaled by 2**n last so that tiny results round only once
    # (a == x for -120 <= x < 0; below, a*e**a rounds to -0 like x*e**x; -inf -> -0)
    neg = _ldexp(a * p, n) * r
    return x * r if x >= _ZERO else neg


@_jit
def gelu_tanh_f32(x):
    """The tanh approximation of GELU: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    Evaluated as x * sigmoid(2u) (= 0.5 x (1 + tanh(u))), which avoids the cancellation of
    1 + tanh(u) for x < 0. gelu(-inf) = -0.0 (the limit), gelu(inf) = inf.
    """
    inner = _GELU_2C * _fmuladd(_GELU_K * x * x, x, x)
    res = x * _sigmoid_wide(inner)
    return -_ZERO if x == -_INF else res      # the limit, not -inf * 0


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
    r = _fmuladd(-nf, _PIO2_D, r)
    r = _fmuladd(-nf, _PIO2_E, r)
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

FUNCTION_NAMES = {name: fn.py_func.__name__ for name, fn in FUNCTIONS.items()}
FUNCTION_NAMES["elu"] = "elu_f32"
"""Name -> the function's name in this module, for generated source:
``from graphc.codegen.cpu.runtime.mathlib import {FUNCTION_NAMES['tanh']}``."""

# Measured maxima (dense sweep of 2**24 + 0.2M float32 inputs, see the module docstring), rounded
# up by <= 0.5 ulp; the same bounds held with and without FMA (NUMBA_CPU_FEATURES=-fma).
# ulp errors count denormal results in denormal ulps; relative errors only normal results.
# sin/cos: over |x| <= SINCOS_ACCURATE_LIMIT. gelu_tanh: the error comes from rounding its
# argument u = c*(x + 0.044715 x^3) to float32 (exp's condition number |u| ~ 80 for x ~ -10,
# where gelu < 1e-34); for x >= -3 it is <= 14 ulp / 8.4e-7. tanh: 4.8 ulp / 2.8e-7 with FMA,
# 6.2 ulp / 3.7e-7 without (its rational's Horner steps round separately); sigmoid 2.4 ulp /
# 1.4e-7 (results below FLT_MIN excepted, see FLUSHES_DENORMALS).
MAX_ULP_ERROR: dict[str, float] = {
    "exp": 1.5, "expm1": 2.0, "log": 1.0, "log2": 2.0, "log1p": 1.5, "tanh": 6.5,
    "sigmoid": 2.5, "softplus": 2.5, "silu": 3.5, "gelu_tanh": 200.0, "selu": 3.0,
    "sin": 2.5, "cos": 2.5,
}
MAX_REL_ERROR: dict[str, float] = {
    "exp": 1.0e-7, "expm1": 1.3e-7, "log": 1.0e-7, "log2": 1.3e-7, "log1p": 1.4e-7,
    "tanh": 3.7e-7, "sigmoid": 1.5e-7, "softplus": 1.8e-7, "silu": 2.4e-7, "gelu_tanh": 1.5e-5,
    "selu": 3.3e-7, "sin": 1.8e-7, "cos": 1.7e-7,
}
FLUSHES_DENORMALS = frozenset({"sigmoid"})
"""Functions that return 0 (or a denormal) where the exact result is below FLT_MIN, instead of
the rounded denormal; the generated kernels flush denormals to zero anyway (FTZ/DAZ)."""


def fit_tanh_rational(clamp: float = 9.1, deg_p: int = 5, deg_q: int = 4,
                      iterations: int = 200) -> tuple:
    """Fit tanh(x) ~= x * P(x^2) / Q(x^2) (Q(0) = 1) on [0, clamp] to a small maximum relative
    error: Loeb's linearised least squares (P - f*Q = 0 weighted by 1/(f*Q_prev), f =
    tanh(x)/x), then Lawson's reweighting toward the minimax fit, in float64 with x^2 scaled
    to [0, 1]. How ``tanh_f32``'s coefficients were made: ``fit_tanh_rational(9.1, 5, 4)``.

    Returns:
        (P coefficients, Q coefficients, lowest to highest power of x^2; max relative error
        of the fit in float64).
    """
    x = np.unique(np.concatenate([np.linspace(0.0, clamp, 40001)[1:],
                                  np.geomspace(1e-4, 1.0, 4000)]))
    f = np.tanh(x) / x
    u = (x / clamp) ** 2
    a_p = np.stack([u ** k for k in range(deg_p + 1)], 1)
    a_q = np.stack([u ** k for k in range(1, deg_q + 1)], 1)
    q_prev, w = np.ones_like(x), np.ones_like(x)
    best = None
    for it in range(iterations):
        scale = np.sqrt(w) / (f * q_prev)
        m = np.concatenate([a_p, -f[:, None] * a_q], 1) * scale[:, None]
        coef = np.linalg.lstsq(m, f * scale, rcond=None)[0]
        p, q = coef[:deg_p + 1], coef[deg_p + 1:]
        q_prev = 1.0 + a_q @ q
        err = np.abs((a_p @ p / q_prev - f) / f)
        if best is None or err.max() < best[0]:
            best = (err.max(), p, q)
        if it >= 10:                     # Lawson, once Loeb's iterations have settled
            w = w * err
            w /= w.sum()
    worst, p, q = best
    powers = clamp ** (2.0 * np.arange(max(deg_p, deg_q) + 1))
    return (p / powers[:deg_p + 1], np.concatenate([[1.0], q / powers[1:deg_q + 1]]),
            float(worst))


def measure_chain(n: int = 4 * 1024 * 1024, repeat: int = 7) -> dict:
    """Time ``tanh(a*x + b) * sigmoid(x) + 0.5*x*x`` over ``n`` float32 values.

    Compares numpy, an njit loop over libm calls (``np.tanh`` / ``np.exp``), and njit loops
    over this module's functions (serial ``range`` and ``parallel=True`` ``prange``). Not used
    by the library; it is how the table in this module's docstring was measured.

    Args:
        n: number of elements.
        repeat: timings per variant; the best is reported.

    Returns:
        ``{variant: best seconds}``, plus ``"max_abs_diff"`` between this module's serial
        result and numpy's.

    Example:
        >>> from graphc.codegen.cpu import mathlib
        >>> mathlib.measure_chain(1 << 16, repeat=2)["numpy"] > 0   # doctest: +SKIP
        True
    """
    import time

    from numba import prange

    a, b = np.float32(0.7), np.float32(0.1)
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32) * np.float32(3)
    opts = dict(fastmath=_FM, error_model="numpy")

    def numpy_chain(x):
        return np.tanh(a * x + b) * (np.float32(1) / (np.float32(1) + np.exp(-x))) + \
            np.float32(0.5) * x * x

    @njit(**opts)
    def libm_loop(x, out):
        for i in range(x.shape[0]):
            v = x[i]
            out[i] = np.tanh(a * v + b) * (_ONE / (_ONE + np.exp(-v))) + _HALF * v * v

    @njit(**opts)
    def serial_loop(x, out):
        for i in range(x.shape[0]):
            v = x[i]
            out[i] = tanh_f32(a * v + b) * sigmoid_f32(v) + _HALF * v * v

    @njit(parallel=True, **opts)
    def parallel_loop(x, out):
        for i in prange(x.shape[0]):
            v = x[i]
            out[i] = tanh_f32(a * v + b) * sigmoid_f32(v) + _HALF * v * v

    def best(fn):
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    out = np.empty_like(x)
    results = {"numpy": best(lambda: numpy_chain(x))}
    for name, loop in [("njit_libm", libm_loop), ("njit_mathlib_serial", serial_loop),
                       ("njit_mathlib_parallel", parallel_loop)]:
        loop(x, out)                                   # compile
        results[name] = best(lambda: loop(x, out))
    serial_loop(x, out)
    results["max_abs_diff"] = float(np.abs(out - numpy_chain(x)).max())
    return results


if __name__ == "__main__":
    for key, value in measure_chain().items():
        print(f"{key:24s} {value * 1e3:8.2f} ms" if key != "max_abs_diff" else
              f"{key:24s} {value:.3g}")
