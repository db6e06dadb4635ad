"""Cases for the elementwise family (graphc/ir/ops/elementwise.py).

Expected values are computed independently: in float64, from the defining formula (Keras 2's
code for relu/elu/selu/hard_sigmoid), or with Python's own scalar functions. Inputs of
gradient cases stay away from the kinks and jumps of each op (see ``away``), where central
finite differences are meaningless.
"""
import math

import numpy as np

from . import Case, rand

F64 = np.float64


def away(x, points, gap=0.05):
    """``x`` with every element closer than ``gap`` to one of ``points`` moved 2*gap up."""
    x = np.array(x)
    for p in points:
        x = np.where(np.abs(x - p) < gap, x + 2 * gap, x).astype(x.dtype)
    return x


def spread(*shape, lo=-4.0, hi=4.0, seed=0, avoid=(0.0,)):
    """Uniform float32 data in [lo, hi) kept away from the points in ``avoid``."""
    return away(rand(*shape, seed=seed, low=lo, high=hi), avoid)


def ints(*shape, lo=-9, hi=10, seed=0, dtype="int32", nonzero=False):
    x = np.random.default_rng(seed).integers(lo, hi, size=shape).astype(dtype)
    if nonzero:
        x = np.where(x == 0, 1, x).astype(dtype)
    return x


def pos(*shape, seed=0, lo=0.5, hi=2.0):
    return rand(*shape, seed=seed, low=lo, high=hi)


def vec(fn, otype=None):
    """Apply a Python scalar function elementwise (an independent reference)."""
    return lambda *xs: np.vectorize(fn, otypes=[otype] if otype else None)(*xs)


def f64(fn):
    """Compute ``fn`` on float64 copies of the inputs."""
    return lambda *xs: fn(*[np.asarray(x, dtype=F64) for x in xs])


def keras_relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """A literal transcription of Keras 2.2.4's theano_backend.relu."""
    x = x.astype(F64)
    negative_part = np.maximum(-x + threshold, 0)
    if threshold != 0.0:
        x = x * (x > threshold)
    else:
        x = np.maximum(x, 0)
    if max_value is not None:
        x = np.clip(x, 0.0, max_value)
    return x - alpha * negative_part


def keras_elu(x, alpha=1.0):
    x = x.astype(F64)
    res = np.array([v if v > 0 else math.exp(v) - 1 for v in x.ravel()]).reshape(x.shape)
    return res if alpha == 1 else np.where(x > 0, res, alpha * res)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

ROUND_DATA = np.array([[-2.5, -1.5, -0.5, 0.5], [1.5, 2.5, 3.5, 0.49]], dtype=np.float32)

CASES = [
    # -- arithmetic ----------------------------------------------------------------------------
    Case("sub", [rand(3, 4), rand(3, 1, seed=1)], np.subtract),
    Case("sub", [rand(5, 3), rand(3, seed=1)], np.subtract, batch=True, name="batch"),
    Case("sub", [ints(3, 4), ints(4, seed=1)], np.subtract, grad=False, name="int32"),
    Case("mul", [rand(3, 4), rand(4, seed=1)], np.multiply),
    Case("mul", [rand(2, 1, 3), rand(4, 1, seed=1)], np.multiply, name="broadcast-both"),
    Case("mul", [rand(5, 3), rand(5, 1, seed=1)], np.multiply, batch=True, name="batch"),
    Case("div", [rand(3, 4), rand(3, 4, seed=1, low=0.5, high=2.0)], np.divide),
    Case("div", [rand(5, 3), pos(3, seed=1)], f64(np.divide), batch=True, name="batch"),
    Case("div", [ints(3, 4), ints(4, seed=1, nonzero=True)],
         lambda a, b: np.array([[x / y for x, y in zip(r, b)] for r in a]), grad=False,
         name="int32-true-division"),
    Case("neg", [rand(3, 4)], np.negative),
    Case("neg", [rand(5, 2, 3)], lambda x: 0 - x, batch=True, name="batch"),
    Case("exp", [rand(3, 4)], np.exp),
    Case("exp", [rand(5, 3, low=-3, high=3)], vec(math.exp), batch=True, name="batch"),
    Case("floordiv", [ints(3, 4), ints(4, seed=1, nonzero=True)], vec(lambda a, b: a // b),
         grad=False, name="int32"),
    Case("floordiv", [spread(3, 4, seed=2), pos(3, 1, seed=3)],
         vec(lambda a, b: float(a) // float(b)), name="float"),
    Case("floordiv", [spread(5, 3, seed=2), pos(3, seed=3)],
         vec(lambda a, b: float(a) // float(b)), batch=True, name="batch"),
    Case("mod", [ints(3, 4), ints(4, seed=1, nonzero=True)], vec(lambda a, b: a % b),
         grad=False, name="int32"),
    Case("mod", [spread(3, 4, seed=2), pos(3, 1, seed=3)],
         vec(lambda a, b: float(a) % float(b)), name="float", atol=1e-5),
    Case("mod", [spread(5, 3, seed=2), -pos(3, seed=3)],
         vec(lambda a, b: float(a) % float(b)), batch=True, name="batch-negative-divisor",
         atol=1e-5),
    Case("pow", [pos(3, 4), rand(3, 4, seed=1, low=-1.5, high=1.5)],
         f64(lambda a, b: np.exp(b * np.log(a))), rtol=1e-5),
    Case("pow", [pos(5, 3), rand(3, seed=1, low=-2, high=2)],
         vec(lambda a, b: float(a) ** float(b)), batch=True, name="batch", rtol=1e-5),
    Case("pow", [rand(3, 4), np.float32(2.0) * np.ones((1, 4), np.float32)],
         lambda a, b: a * a, grad=(0,), name="negative-base-int-power"),
    Case("pow", [ints(3, 4, lo=-4, hi=5), ints(4, lo=0, hi=4, seed=1)],
         vec(lambda a, b: int(a) ** int(b)), grad=False, name="int32"),
    Case("square", [rand(3, 4)], lambda x: x * x),
    Case("square", [rand(5, 2, 3)], vec(lambda v: v ** 2), batch=True, name="batch"),
    Case("square", [ints(3, 4)], lambda x: x * x, grad=False, name="int32"),
    Case("sqrt", [pos(3, 4)], vec(math.sqrt)),
    Case("sqrt", [pos(5, 3)], f64(lambda x: x ** 0.5), batch=True, name="batch"),
    Case("sqrt", [ints(3, 4, lo=0, hi=50)], f64(np.sqrt), grad=False, name="int32"),
    Case("rsqrt", [pos(3, 4)], vec(lambda v: 1 / math.sqrt(v))),
    Case("rsqrt", [pos(5, 3)], f64(lambda x: x ** -0.5), batch=True, name="batch"),
    Case("reciprocal", [pos(3, 4) * np.float32(-1)], vec(lambda v: 1 / v)),
    Case("reciprocal", [pos(5, 3)], f64(lambda x: 1 / x), batch=True, name="batch"),
    Case("abs", [spread(3, 4)], vec(abs)),
    Case("abs", [spread(5, 3)], f64(lambda x: np.sqrt(x * x)), batch=True, name="batch"),
    Case("abs", [ints(3, 4)], vec(abs), grad=False, name="int32"),
    Case("sign", [spread(3, 4)], vec(lambda v: math.copysign(1.0, v))),
    Case("sign", [np.array([-2.0, 0.0, 3.0], np.float32)], vec(lambda v: int(v > 0) - int(v < 0)),
         grad=False, name="zero"),
    Case("sign", [ints(5, 3)], vec(lambda v: int(v > 0) - int(v < 0)), grad=False, batch=True,
         name="int32-batch"),
    Case("round", [ROUND_DATA], vec(round), grad=False, name="half-to-even"),
    Case("round", [away(spread(5, 3), np.arange(-4.5, 5))], vec(round), batch=True,
         name="batch"),
    Case("floor", [away(spread(3, 4), np.arange(-4, 5))], vec(math.floor)),
    Case("floor", [ints(5, 3)], lambda x: x, grad=False, batch=True, name="int32-batch"),
    Case("ceil", [away(spread(3, 4), np.arange(-4, 5))], vec(math.ceil)),
    Case("ceil", [spread(5, 3, avoid=np.arange(-4, 5))], vec(math.ceil), batch=True,
         name="batch"),
    # -- math functions ------------------------------------------------------------------------
    Case("log", [pos(3, 4, lo=0.1, hi=5)], vec(math.log)),
    Case("log", [pos(5, 3)], f64(np.log), batch=True, name="batch"),
    Case("log", [ints(3, 4, lo=1, hi=100)], f64(np.log), grad=False, name="int32"),
    Case("log1p", [rand(3, 4, low=-0.5, high=3)], vec(math.log1p)),
    Case("log1p", [np.array([1e-7, -1e-7, 1e-4], np.float32)], f64(np.log1p),
         rtol=1e-6, atol=0, grad=False, name="tiny"),
    Case("log1p", [pos(5, 3)], f64(lambda x: np.log(1 + x)), batch=True, name="batch"),
    Case("expm1", [rand(3, 4, low=-3, high=3)], vec(math.expm1)),
    Case("expm1", [np.array([1e-7, -1e-7, 1e-4], np.float32)], vec(math.expm1),
         rtol=1e-6, atol=0, grad=False, name="tiny"),
    Case("expm1", [rand(5, 3)], f64(lambda x: np.exp(x) - 1), batch=True, name="batch"),
    Case("sin", [rand(3, 4, low=-4, high=4)], vec(math.sin)),
    Case("sin", [rand(5, 3, low=-4, high=4)], f64(np.sin), batch=True, name="batch"),
    Case("cos", [rand(3, 4, low=-4, high=4)], vec(math.cos)),
    Case("cos", [rand(5, 3, low=-4, high=4)], f64(np.cos), batch=True, name="batch"),
    Case("tanh", [rand(3, 4, low=-3, high=3)], vec(math.tanh)),
    Case("tanh", [rand(5, 3, low=-3, high=3)], f64(np.tanh), batch=True, name="batch"),
    # -- activations ---------------------------------------------------------------------------
    Case("sigmoid", [rand(3, 4, low=-6, high=6)], vec(lambda v: 1 / (1 + math.exp(-v)))),
    Case("sigmoid", [rand(5, 3, low=-6, high=6)], f64(lambda x: 0.5 * np.tanh(0.5 * x) + 0.5),
         batch=True, name="batch"),
    Case("sigmoid", [np.array([-1000.0, -100.0, -50.0, 0.0, 50.0, 100.0, 1000.0], np.float32)],
         vec(lambda v: math.exp(v) / (1 + math.exp(v)) if v < 0 else 1 / (1 + math.exp(-v))),
         rtol=1e-6, atol=1e-38, grad=False,
         name="large-magnitude"),
    Case("hard_sigmoid", [spread(3, 4, avoid=(-2.5, 2.5))],
         f64(lambda x: np.minimum(np.maximum(0.2 * x + 0.5, 0), 1))),
    Case("hard_sigmoid", [spread(5, 3, avoid=(-2.5, 2.5))],
         vec(lambda v: 0.0 if v < -2.5 else 1.0 if v > 2.5 else 0.2 * v + 0.5), batch=True,
         name="batch"),
    Case("relu", [spread(3, 4)], keras_relu),
    Case("relu", [spread(5, 3)], vec(lambda v: max(v, 0.0)), batch=True, name="batch"),
    Case("relu", [spread(3, 4, seed=1)], lambda x: keras_relu(x, alpha=0.1),
         attrs={"alpha": 0.1}, name="leaky"),
    Case("relu", [spread(4, 6, lo=-8, hi=8, avoid=(0.0, 6.0))],
         lambda x: keras_relu(x, max_value=6), attrs={"max_value": 6}, name="relu6"),
    Case("relu", [spread(4, 6, lo=-3, hi=3, avoid=(0.0, 0.5, 1.5))],
         lambda x: keras_relu(x, alpha=0.2, max_value=1.5, threshold=0.5),
         attrs={"alpha": 0.2, "max_value": 1.5, "threshold": 0.5}, name="all-attrs"),
    Case("relu", [spread(4, 6, lo=-3, hi=3, avoid=(-0.5,))],
         lambda x: keras_relu(x, alpha=0.3, threshold=-0.5),
         attrs={"alpha": 0.3, "threshold": -0.5}, name="negative-threshold"),
    Case("relu", [spread(4, 6, lo=-3, hi=3, avoid=(0.0, -0.5, 2.0))],
         lambda x: keras_relu(x, max_value=2.0, threshold=-0.5),
         attrs={"max_value": 2.0, "threshold": -0.5}, name="negative-threshold-clipped"),
    Case("elu", [spread(3, 4)], keras_elu),
    Case("elu", [spread(5, 3)], lambda x: keras_elu(x, 0.5), attrs={"alpha": 0.5},
         batch=True, name="alpha-batch"),
    Case("selu", [spread(3, 4)], lambda x: SELU_SCALE * keras_elu(x, SELU_ALPHA)),
    Case("selu", [spread(5, 3)],
         vec(lambda v: SELU_SCALE * (v if v > 0 else SELU_ALPHA * (math.exp(v) - 1))),
         batch=True, name="batch"),
    Case("softplus", [rand(3, 4, low=-5, high=5)], vec(lambda v: math.log(1 + math.exp(v)))),
    Case("softplus", [rand(5, 3, low=-5, high=5)], f64(lambda x: np.log1p(np.exp(x))),
         batch=True, name="batch"),
    Case("softplus", [np.array([-200.0, -90.0, 0.0, 90.0, 200.0], np.float32)],
         vec(lambda v: v + math.log1p(math.exp(-v)) if v > 0 else math.log1p(math.exp(v))),
         rtol=1e-6, atol=1e-38, grad=False, name="large-magnitude"),
    Case("softsign", [rand(3, 4, low=-4, high=4)], vec(lambda v: v / (1 + abs(v)))),
    Case("softsign", [rand(5, 3, low=-4, high=4)], f64(lambda x: x / (1 + np.abs(x))),
         batch=True, name="batch"),
    # -- clip, maximum, minimum ----------------------------------------------------------------
    Case("clip", [spread(3, 4, avoid=(-0.5, 1.0))], vec(lambda v: min(max(v, -0.5), 1.0)),
         attrs={"min": -0.5, "max": 1.0}),
    Case("clip", [spread(5, 3, avoid=(0.0,))], vec(lambda v: max(v, 0.0)),
         attrs={"min": 0}, batch=True, name="min-only-batch"),
    Case("clip", [spread(3, 4, avoid=(0.5,))], vec(lambda v: min(v, 0.5)),
         attrs={"max": 0.5}, name="max-only"),
    Case("clip", [spread(3, 4, avoid=(1.0,))], lambda x: np.full(x.shape, 1.0),
         attrs={"min": 1.0, "max": -1.0}, name="max-below-min"),
    Case("clip", [ints(3, 4)], vec(lambda v: min(max(v, -3), 4)), attrs={"min": -3, "max": 4},
         grad=False, name="int32"),
    Case("maximum", [rand(3, 4), rand(4, seed=1)], vec(max)),
    Case("maximum", [rand(5, 3), rand(5, 1, seed=1)], vec(max), batch=True, name="batch"),
    Case("maximum", [ints(3, 4), ints(3, 1, seed=1)], vec(max), grad=False, name="int32"),
    Case("minimum", [rand(3, 4), rand(4, seed=1)], vec(min)),
    Case("minimum", [rand(2, 1, 3), rand(4, 1, seed=1)], vec(min), name="broadcast-both"),
    Case("minimum", [rand(5, 3), rand(5, 3, seed=1)], vec(min), batch=True, name="batch"),
    # -- comparisons and logic -----------------------------------------------------------------
    *[Case(op, [ints(3, 4, lo=-2, hi=3).astype(np.float32), ints(4, lo=-2, hi=3, seed=1)
                .astype(np.float32)], vec(fn, bool), grad=False)
      for op, fn in (("equal", lambda a, b: a == b), ("not_equal", lambda a, b: a != b),
                     ("less", lambda a, b: a < b), ("less_equal", lambda a, b: a <= b),
                     ("greater", lambda a, b: a > b), ("greater_equal", lambda a, b: a >= b))],
    *[Case(op, [ints(5, 3, lo=-2, hi=3), ints(5, 1, lo=-2, hi=3, seed=1)], vec(fn, bool),
           grad=False, batch=True, name="int32-batch")
      for op, fn in (("equal", lambda a, b: a == b), ("not_equal", lambda a, b: a != b),
                     ("less", lambda a, b: a < b), ("less_equal", lambda a, b: a <= b),
                     ("greater", lambda a, b: a > b), ("greater_equal", lambda a, b: a >= b))],
    *[Case(op, [ints(3, 4, lo=0, hi=2).astype(bool), ints(4, lo=0, hi=2, seed=1).astype(bool)],
           vec(fn, bool), grad=False)
      for op, fn in (("logical_and", lambda a, b: a and b), ("logical_or", lambda a, b: a or b),
                     ("logical_xor", lambda a, b: a != b))],
    *[Case(op, [ints(5, 3, lo=-1, hi=2), ints(5, 1, lo=0, hi=2, seed=1).astype(np.float32)],
           vec(fn, bool), grad=False, batch=True, name="numbers-batch")
      for op, fn in (("logical_and", lambda a, b: bool(a) and bool(b)),
                     ("logical_or", lambda a, b: bool(a) or bool(b)),
                     ("logical_xor", lambda a, b: bool(a) != bool(b)))],
    Case("logical_not", [ints(3, 4, lo=0, hi=2).astype(bool)], vec(lambda v: not v, bool),
         grad=False),
    Case("logical_not", [ints(5, 3, lo=-1, hi=2)], vec(lambda v: not v, bool), grad=False,
         batch=True, name="int32-batch"),
    # -- where ---------------------------------------------------------------------------------
    Case("where", [rand(3, 4) > 0, rand(3, 4, seed=1), rand(3, 4, seed=2)],
         vec(lambda c, a, b: a if c else b)),
    Case("where", [rand(3, 1) > 0, rand(4, seed=1), rand(2, 1, 1, seed=2)],
         vec(lambda c, a, b: a if c else b), name="broadcast-three"),
    Case("where", [rand(5, 3) > 0, rand(5, 3, seed=1), np.float32(0.5) * np.ones((3,), "f4")],
         vec(lambda c, a, b: a if c else b), batch=True, name="batch"),
    Case("where", [ints(5, 3, lo=0, hi=2), ints(5, 3, seed=1), ints(3, seed=2)],
         vec(lambda c, a, b: a if c else b), grad=False, name="int32"),
]
