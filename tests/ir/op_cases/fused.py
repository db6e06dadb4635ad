import numpy as np

from graphc.ir import Graph, TensorType, apply, constant, source

from . import Case, rand


def _ph(dtype, shape, name):
    return source("input", TensorType(dtype, shape), name=name)


def _chain_body(dtype, batch=False):
    """tanh(a*x + b) * sigmoid(x) + 0.5*x*x, with a broadcast row b; outputs y and a*x."""
    x = _ph(dtype, ("B", 4) if batch else (3, 4), "in0")
    b = _ph(dtype, (4,), "in1")
    ax = apply("mul", x, constant(np.asarray(0.7, dtype)))
    t = apply("tanh", apply("add", ax, b))
    y = apply("add", apply("mul", t, apply("sigmoid", x)),
              apply("mul", apply("mul", constant(np.asarray(0.5, dtype)), x), x))
    return Graph([x, b], [y, ax], name="chain")


def _chain_expected(x, b):
    ax = x * x.dtype.type(0.7)
    y = np.tanh(ax + b) * (1 / (1 + np.exp(-x))) + 0.5 * x * x
    return [y.astype(x.dtype), ax]


def _cmp_body():
    """where(x > y, x - y, y * 2) and the bool mask: mixed dtypes in one region."""
    x = _ph("float32", (2, 5), "in0")
    y = _ph("float32", (2, 5), "in1")
    m = apply("greater", x, y)
    out = apply("where", m, apply("sub", x, y), apply("mul", y, constant(np.float32(2.0))))
    return Graph([x, y], [out, m], name="cmp")


CASES = [
    Case("fused", [rand(3, 4, dtype="float64"), rand(4, seed=1, dtype="float64")],
         _chain_expected, attrs={"body": _chain_body("float64")}, name="chain-f64"),
    Case("fused", [rand(3, 4), rand(4, seed=1)], _chain_expected,
         attrs={"body": _chain_body("float32")}, grad=False, name="chain-f32"),
    Case("fused", [rand(6, 4, dtype="float64"), rand(4, seed=1, dtype="float64")],
         _chain_expected, attrs={"body": _chain_body("float64", batch=True)}, batch=True,
         name="chain-batch"),
    Case("fused", [rand(2, 5), rand(2, 5, seed=1)],
         lambda x, y: [np.where(x > y, x - y, y * 2), x > y],
         attrs={"body": _cmp_body()}, grad=False, name="where-mask"),
]
