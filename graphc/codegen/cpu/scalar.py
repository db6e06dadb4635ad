"""Scalar templates of elementwise ops -> numba expressions that stay in the node's dtype.

An op's ``scalar`` template is a Python expression over its input element expressions using
the vocabulary documented in graphc/ir/ops/elementwise.py (casts ``f32(..)`` ..., ``min``,
``max``, ``abs``, conditional expressions, and ``exp log tanh sigmoid log1p expm1 sqrt sin cos
floor ceil rint sign pow erf``). ``scalar_expr`` parses the template and rewrites it for numba:

* in a float32 node, every numeric literal becomes a float32 module constant (a Python float
  literal is float64 in numba and would promote the whole expression to float64), and the
  transcendental functions map to graphc.codegen.cpu.runtime.mathlib's vectorisable float32 versions;
* in other nodes the functions map to numpy's (scalar libm calls in numba).

The caller wraps the result in the cast to the node's output dtype.

Also here, being the spelling of numba source that every part of the CPU generator shares:
numpy dtype names (``NP_DTYPE``), tuple text and casts by dtype.
"""
from __future__ import annotations

import ast

from ..templates import TemplateError, TemplateRewriter  # noqa: F401  (TemplateError: for callers)

# math vocabulary -> (float32 implementation, other-dtype implementation); None = numpy ufunc
_F32_MATH = {
    "exp": "exp_f32", "log": "log_f32", "tanh": "tanh_f32", "sigmoid": "sigmoid_f32",
    "log1p": "log1p_f32", "expm1": "expm1_f32", "sin": "sin_f32", "cos": "cos_f32",
    "softplus": "softplus_f32", "log2": "log2_f32", "silu": "silu_f32",
    "gelu_tanh": "gelu_tanh_f32", "selu": "selu_f32",
}
_NP_MATH = {
    "exp": "np.exp", "log": "np.log", "tanh": "np.tanh", "log1p": "np.log1p",
    "expm1": "np.expm1", "sin": "np.sin", "cos": "np.cos", "sqrt": "np.sqrt",
    "floor": "np.floor", "ceil": "np.ceil", "rint": "np.rint", "sign": "np.sign",
    "pow": "np.power", "erf": "math.erf", "log2": "np.log2", "sigmoid": "_sigmoid_any",
    "softplus": "_softplus_any",
}
CASTS = {"f16": "np.float16", "f32": "np.float32", "f64": "np.float64", "i8": "np.int8",
         "i16": "np.int16", "i32": "np.int32", "i64": "np.int64", "u8": "np.uint8",
         "b1": "np.bool_"}
CAST_OF_DTYPE = {"float16": "f16", "float32": "f32", "float64": "f64", "int8": "i8",
                 "int16": "i16", "int32": "i32", "int64": "i64", "uint8": "u8", "bool": "b1"}

# numpy dtype names in generated source
NP_DTYPE = {"float16": "np.float16", "float32": "np.float32", "float64": "np.float64",
            "int8": "np.int8", "int16": "np.int16", "int32": "np.int32", "int64": "np.int64",
            "uint8": "np.uint8", "bool": "np.bool_"}


def cast_fn(dtype: str) -> str:
    return CASTS[CAST_OF_DTYPE[dtype]]


def tuple_text(items) -> str:
    items = list(items)
    if not items:
        return "()"
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


# Helpers every generated module defines (for non-float32 dtypes).
PRELUDE = '''\
@njit(inline="always", error_model="numpy")
def _ipow(a, b):
    # integer power by squaring (numba lowers np.power on ints to powi, which needs
    # compiler-rt symbols llvmlite does not provide)
    r = a - a + 1
    base = a
    e = b
    while e > 0:
        if e & 1:
            r = r * base
        base = base * base
        e = e >> 1
    return r


@njit(inline="always", error_model="numpy")
def _sigmoid_any(x):
    return 1.0 / (1.0 + np.exp(-x))


@njit(inline="always", error_model="numpy")
def _softplus_any(x):
    return max(x, 0.0) + np.log1p(np.exp(-abs(x)))
'''


class _Rewriter(TemplateRewriter):
    def __init__(self, compute_dtype, literal):
        self.compute_dtype = compute_dtype
        self.f32 = compute_dtype == "float32"
        self.literal = literal          # callable(value) -> module constant name

    def visit_Constant(self, node):
        if self.f32 and isinstance(node.value, (int, float)) and \
                not isinstance(node.value, bool):
            return ast.Name(id=self.literal(float(node.value)), ctx=ast.Load())
        return node

    def rewrite_call(self, name, node):
        wide = self.wide_constant(name, node, self.compute_dtype)
        if wide is not None:
            return ast.Constant(wide)           # a Python float: float64 in numba
        self.generic_visit(node)
        if name in CASTS:
            node.func = ast.parse(CASTS[name], mode="eval").body
            return node
        if name in ("min", "max", "abs"):
            return node
        if self.f32 and name in _F32_MATH:
            args = [ast.Call(func=ast.parse("np.float32", mode="eval").body, args=[a],
                             keywords=[]) for a in node.args]
            return ast.Call(func=ast.Name(id=_F32_MATH[name], ctx=ast.Load()), args=args,
                            keywords=[])
        if name == "pow" and self.compute_dtype is None:
            node.func = ast.Name(id="_ipow", ctx=ast.Load())    # np.power on ints -> powi
            return node
        if name in _NP_MATH:
            node.func = ast.parse(_NP_MATH[name], mode="eval").body
            return node
        raise self.unknown(name, node)


def scalar_expr(template: str, compute_dtype: str | None, literal) -> str:
    """Rewrite one op's scalar expression for numba.

    Args:
        template: the expression the op's ``scalar`` returned.
        compute_dtype: the float dtype the node computes in (None for int/bool nodes).
        literal: ``literal(value) -> name`` of a module-level float32 constant.
    Returns:
        The numba-ready expression (source text).

    Example:
        >>> scalar_expr("(0.5 * exp(a))", "float32", lambda v: "_k0")
        '_k0 * exp_f32(np.float32(a))'
    """
    return _Rewriter(compute_dtype, literal).rewrite(template)
