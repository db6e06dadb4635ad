"""Scalar templates of elementwise ops -> numba-cuda device expressions.

An op's ``scalar`` template uses the vocabulary documented in graphc/ir/ops/elementwise.py:
casts ``f32(..)`` ``f64(..)`` ``i32(..)`` ..., ``min``/``max``/``abs``, conditional
expressions, and ``exp log tanh sigmoid log1p expm1 sqrt sin cos floor ceil rint sign pow erf``
(plus ``log2 softplus``). For CUDA:

* the math functions map to Python's ``math`` module, which numba-cuda lowers to libdevice;
  on float32 arguments they are the float32 versions (``__nv_expf`` ...), so float32 stays
  float32 -- every argument is first cast to the node's compute dtype;
* ``sigmoid sign rint softplus`` are inline expressions over typed module constants
  (:data:`PRELUDE`); integer ``pow`` has no lowering (TemplateError: the node runs on the
  host);
* in a float32 node every numeric literal becomes a float32 module constant (a bare Python
  float is float64 in numba and would promote the whole expression).

The caller wraps the result in the cast to the node's output dtype.
"""
from __future__ import annotations

import ast

from ..templates import TemplateError, TemplateRewriter

# Casts are numba's type objects (``numba.float32(x)``), not numpy's scalar types: typing a
# call of ``np.float32`` in a kernel makes numba-cuda resolve its whole numpy-function table,
# which fails on numpy versions newer than the numba release (numba 0.68.0 with numpy 2.5:
# "module 'numpy' has no attribute 'row_stack'"). In the simulator they return numpy scalars.
CASTS = {"f16": "numba.float16", "f32": "numba.float32", "f64": "numba.float64",
         "i8": "numba.int8", "i16": "numba.int16", "i32": "numba.int32", "i64": "numba.int64",
         "u8": "numba.uint8", "b1": "numba.boolean"}
CAST_OF_DTYPE = {"float16": "f16", "float32": "f32", "float64": "f64", "int8": "i8",
                 "int16": "i16", "int32": "i32", "int64": "i64", "uint8": "u8", "bool": "b1"}

# math vocabulary -> device implementation; result cast back to the compute dtype
_MATH = {"exp": "math.exp", "log": "math.log", "tanh": "math.tanh", "log1p": "math.log1p",
         "expm1": "math.expm1", "sin": "math.sin", "cos": "math.cos", "sqrt": "math.sqrt",
         "erf": "math.erf", "log2": "math.log2", "floor": "math.floor", "ceil": "math.ceil",
         "pow": "math.pow"}

# Typed constants every generated module defines, one set per float dtype (suffix _f32 /
# _f64), so that helper expressions stay in their dtype (a bare 1.0 would be float64).
_FLOAT_CONSTS = '''\
_ONE_{s} = np.{t}(1.0)
_ZERO_{s} = np.{t}(0.0)
_BIG_{s} = np.{t}({big})
'''

PRELUDE = (_FLOAT_CONSTS.format(s="f32", t="float32", big="8388608.0") +
           _FLOAT_CONSTS.format(s="f64", t="float64", big="4503599627370496.0"))
_SUFFIX = {"float32": "f32", "float64": "f64"}

# Helpers written as inline expressions of their argument ``{x}`` (kernels then need no
# device functions, which numba-cuda can only compile with a GPU present -- inline code also
# compiles to PTX on a machine without one). ``{x}`` is an atom: a name or a cast of one.
_INLINE = {
    # 1 / (1 + exp(-x)) without overflow: exp of a non-positive number only
    "sigmoid": "(_ONE_{s} / (_ONE_{s} + math.exp(-{x})) if {x} >= _ZERO_{s} else "
               "math.exp({x}) / (_ONE_{s} + math.exp({x})))",
    "softplus": "(max({x}, _ZERO_{s}) + math.log1p(math.exp(-abs({x}))))",
    "sign": "(_ONE_{s} if {x} > _ZERO_{s} else (-_ONE_{s} if {x} < _ZERO_{s} else "
            "{x} * _ZERO_{s}))",
    # round half to even: adding and subtracting 2**mantissa rounds |x| to an integer in the
    # current (nearest-even) rounding mode; larger values are integral already
    "rint": "(math.copysign((abs({x}) + _BIG_{s}) - _BIG_{s}, {x}) if abs({x}) < _BIG_{s} "
            "else {x})",
}
_INT_INLINE = {"sign": "(1 if {x} > 0 else (-1 if {x} < 0 else 0))", "rint": "{x}"}


def _parse(text: str):
    return ast.parse(text, mode="eval").body


class _Rewriter(TemplateRewriter):
    def __init__(self, compute_dtype, literal):
        self.compute_dtype = compute_dtype          # float dtype name, or None (int/bool)
        self.literal = literal

    def visit_Constant(self, node):
        if self.compute_dtype is not None and isinstance(node.value, (int, float)) and \
                not isinstance(node.value, bool):
            return ast.Name(id=self.literal(float(node.value), self.compute_dtype),
                            ctx=ast.Load())
        return node

    def _cast(self, expr):
        fn = CASTS[CAST_OF_DTYPE[self.compute_dtype]]
        return ast.Call(func=ast.parse(fn, mode="eval").body, args=[expr], keywords=[])

    def rewrite_call(self, name, node):
        wide = self.wide_constant(name, node, self.compute_dtype)
        if wide is not None:
            return _parse(f"numba.float64({wide!r})")
        if name in CASTS:
            # a cast's literal argument keeps its exact value (f32(0.1) is the float32 0.1)
            node.args = [a if isinstance(a, ast.Constant) else self.visit(a) for a in node.args]
            node.func = ast.parse(CASTS[name], mode="eval").body
            return node
        self.generic_visit(node)
        if name in ("min", "max", "abs"):
            return node
        if name not in _MATH and name not in _INLINE:
            raise self.unknown(name, node)
        if self.compute_dtype is None:
            if name in _INT_INLINE:
                return _parse(_INT_INLINE[name].format(x=ast.unparse(node.args[0])))
            if name in _INLINE:              # a float function of an int: in float64
                arg = f"numba.float64({ast.unparse(node.args[0])})"
                return _parse(_INLINE[name].format(x=arg, s="f64"))
            if name == "pow":
                raise TemplateError("integer pow has no CUDA lowering (it runs on the host)")
            node.func = _parse(_MATH[name])
            return node
        node.args = [self._cast(a) for a in node.args]
        if name in _INLINE:
            arg = ast.unparse(node.args[0])
            return self._cast(_parse(_INLINE[name].format(x=arg, s=_SUFFIX[self.compute_dtype])))
        node.func = _parse(_MATH[name])
        return self._cast(node)


def scalar_expr(template: str, compute_dtype: str | None, literal) -> str:
    """Rewrite one op's scalar expression for a numba-cuda kernel.

    Args:
        template: the expression the op's ``scalar`` returned.
        compute_dtype: the float dtype the node computes in (None for int/bool nodes).
        literal: ``literal(value, dtype) -> name`` of a module-level typed constant.
    Returns:
        The device expression (source text).

    Example:
        >>> scalar_expr("(f32(0.5) * exp(a))", "float32", lambda v, d: "_k0")
        'numba.float32(0.5) * numba.float32(math.exp(numba.float32(a)))'
    """
    return _Rewriter(compute_dtype, literal).rewrite(template)
