"""Elementwise ops: broadcasting arithmetic, comparisons, logic, math functions, activations.

Each op is one ``defop`` with its numpy reference, its gradient in graphc ops and its scalar
template. Scalar templates are Python/numba expressions over the input element expressions;
they may use the casts ``f32(..)`` ``f64(..)`` ``i32(..)`` ``i64(..)`` ``b1(..)``, Python's
conditional expression, ``min``/``max``/``abs``, and the math vocabulary ``exp log tanh
sigmoid log1p expm1 sqrt sin cos floor ceil rint sign pow`` which each code generator maps to
its own (vectorisable) implementation.
"""
from __future__ import annotations

import numpy as np

from ..types import TensorType
from . import apply, as_value, defop
from .core import elementwise_infer, unbroadcast


def _c(x, like):
    """A constant of ``like``'s dtype, for gradient formulas."""
    return as_value(x, like=like)


def unary(name, reference, scalar, grad=None, dtype=None, defaults=None, doc=""):
    """Define a one-input elementwise op. ``grad(x, y, g, **attrs) -> Value`` (dx)."""
    def grad_rule(node, gouts):
        x, y, g = node.inputs[0], node.outputs[0], gouts[0]
        return [grad(x, y, g, **node.attrs)]

    def infer(types, **attrs):
        return TensorType(dtype or types[0].dtype, types[0].shape)

    return defop(name, infer=infer, reference=reference, kind="elementwise", scalar=scalar,
                 grad=grad_rule if grad else (lambda node, g: [None]), defaults=defaults, doc=doc)


def binary(name, reference, scalar, grad=None, dtype=None, defaults=None, doc=""):
    """Define a broadcasting two-input elementwise op.

    ``grad(a, b, y, g) -> (da, db)`` on the broadcast shape; unbroadcasting is done here.
    """
    def grad_rule(node, gouts):
        a, b = node.inputs
        da, db = grad(a, b, node.outputs[0], gouts[0])
        return [unbroadcast(da, a.type), unbroadcast(db, b.type)]

    return defop(name, infer=elementwise_infer(name, dtype), reference=reference,
                 kind="elementwise", scalar=scalar,
                 grad=grad_rule if grad else (lambda node, g: [None, None]),
                 defaults=defaults, doc=doc)


# -- arithmetic --------------------------------------------------------------------------------

binary("sub", np.subtract, lambda a: f"({a[0]} - {a[1]})",
       grad=lambda a, b, y, g: (g, apply("neg", g)), doc="a - b")
binary("mul", np.multiply, lambda a: f"({a[0]} * {a[1]})",
       grad=lambda a, b, y, g: (apply("mul", g, b), apply("mul", g, a)), doc="a * b")
binary("div", lambda a, b: np.true_divide(a, b).astype(np.result_type(a, b)),
       lambda a: f"({a[0]} / {a[1]})",
       grad=lambda a, b, y, g: (apply("div", g, b), apply("neg", apply("div", apply("mul", g, y), b))),
       doc="a / b")
unary("neg", np.negative, lambda a: f"(-{a[0]})", grad=lambda x, y, g: apply("neg", g), doc="-x")
unary("exp", np.exp, lambda a: f"exp({a[0]})", grad=lambda x, y, g: apply("mul", g, y),
      doc="e**x")
