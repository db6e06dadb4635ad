"""Elementwise ops: broadcasting arithmetic, comparisons, logic, math functions, activations.

Each op is one ``defop`` with its numpy reference, its gradient in graphc ops and its scalar
template. Scalar templates are Python/numba expressions over the input element expressions;
they may use the casts ``f32(..)`` ``f64(..)`` ``i32(..)`` ``i64(..)`` ``b1(..)``, Python's
conditional expression, ``min``/``max``/``abs``, and the math vocabulary ``exp log tanh
sigmoid log1p expm1 sqrt sin cos floor ceil rint sign pow`` which each code generator maps to
its own (vectorisable) implementation.

Template conventions (tested in tests/ir/ops/test_elementwise.py by evaluating every template
on numpy scalars):

* input element expressions are atoms or parenthesised; a template is a call or is
  parenthesised, so templates nest by plain substitution;
* every constant is written ``f32(c)``, so float32 inputs give a float32 value (numba would
  widen ``x * 0.5`` to float64); in a node that computes in float64 the code generators read
  ``f32(<number>)`` as ``c`` itself, not its float32 rounding (graphc/codegen/templates.py);
* a generator converts a template's value to the node's output dtype. This matters only for
  integer inputs of float-valued ops (``div``, ``sqrt``, ...: the template computes in a wider
  float, the output is float32) and for ``clip`` of integers (float bounds, integer output).

Dtype rules:

* float in -> the same float out; mixed floats -> the wider one (never float64 creep).
* Integer arithmetic stays integer: ``sub mul floordiv mod pow maximum minimum neg abs square
  sign round floor ceil clip`` keep an integer dtype (numpy's integer promotion).
* Float-valued ops (``div reciprocal sqrt rsqrt exp log log1p expm1 sin cos tanh sigmoid
  hard_sigmoid relu elu selu softplus softsign``) give float32 (floatx) for integer or bool
  inputs -- not numpy's float64. ``div`` of int32 by int32 is float32 true division (an int64
  numerator above 2**24 loses precision there; cast to float64 first if that matters).
* Comparisons and logical ops give bool; logical ops accept any dtype (non-zero = true).

Gradient conventions:

* ``sign round floor ceil floordiv`` have a zero gradient: their rules return ``zeros_like``
  (not None), as Theano does, so a loss through them is connected but constant.
* Comparisons and logical ops have no gradient (None); ``where`` gives none to its condition.
* ``maximum``/``minimum``: the cotangent goes to the selected input; on ties it all goes to
  the first input ``a`` (TensorFlow's choice; Theano gives it to both, which doubles it).
* ``clip`` passes the gradient where ``min <= x <= max`` (inclusive, as Theano and TF).
* ``pow(a, b)``: d/da = b * a**(b-1); d/db = a**b * log(a) where a > 0 and 0 elsewhere
  (TensorFlow's convention: real powers of non-positive bases have no b-derivative).
* At kinks: relu'(threshold) = 0 and abs'(0) = 0; ``clip``, ``hard_sigmoid`` and relu's
  ``max_value`` clip pass the gradient at their bounds (inclusive, as Theano's clip).
"""
from __future__ import annotations

import numbers

import numpy as np

from ..types import ShapeError, TensorType, broadcast_shapes, is_float, result_dtype
from . import apply, as_value, defop
from .core import unbroadcast, zeros_like

# Keras 2 / Klambauer et al. (2017) SELU constants.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _c(x, like):
    """A constant of ``like``'s dtype, for gradient formulas."""
    return as_value(x, like=like)


# -- dtype rules (shared by infer and reference, so the two cannot disagree) -----------------

def same_dtype(*dtypes: str) -> str:
    """Numpy promotion without float64 creep (integer arithmetic stays integer).

    Example:
        >>> same_dtype("int32", "int32"), same_dtype("float32", "int64")
        ('int32', 'float32')
    """
    return result_dtype(*dtypes)


def float_dtype(*dtypes: str) -> str:
    """Promotion, then integer/bool -> float32 (floatx): the rule of float-valued ops.

    Example:
        >>> float_dtype("int32", "int32"), float_dtype("float64")
        ('float32', 'float64')
    """
    d = result_dtype(*dtypes)
    return d if is_float(d) else "float32"


def bool_dtype(*dtypes: str) -> str:
    """The rule of comparisons and logical ops: always bool."""
    return "bool"


def _rule(dtype):
    """``dtype`` as a rule: None -> promotion, a str -> fixed, a callable -> itself."""
    if dtype is None:
        return same_dtype
    if isinstance(dtype, str):
        return lambda *ds: dtype
    return dtype


def _cast_ref(reference, rule):
    """Wrap a numpy reference so it returns exactly the dtype the infer rule states."""
    def ref(*arrays, **attrs):
        out = np.asarray(reference(*arrays, **attrs))
        return out.astype(rule(*[np.asarray(a).dtype.name for a in arrays]), copy=False)
    ref.__doc__ = getattr(reference, "__doc__", None)
    return ref


def _no_bool(name, types):
    for t in types:
        if t.dtype == "bool":
            raise ShapeError(f"{name}: got a bool input ({t}); cast it to a number first "
                             f"(K.cast(x, 'float32')) or use the logical ops")


def unary(name, reference, scalar, grad=None, dtype=None, defaults=None, doc="",
          normalize=None, bool_ok=True):
    """Define a one-input elementwise op.

    Args:
        name: registry name. reference: numpy function (its result is cast to the output
            dtype). scalar: template builder ``scalar(args, **attrs) -> str``.
        grad: ``grad(x, y, g, **attrs) -> Value`` (dx), or None for no gradient.
        dtype: None (the input's dtype), a dtype name, or a rule ``f(in_dtype) -> dtype``.
        defaults, normalize, doc: as for ``defop``. bool_ok: False rejects bool inputs.
    Returns:
        The registered ``OpDef``.

    Example (not a doctest: it would register an op)::

        unary("cube", lambda x: x ** 3, lambda a: f"({a[0]} * {a[0]} * {a[0]})")
    """
    rule = _rule(dtype)

    def grad_rule(node, gouts):
        x, y, g = node.inputs[0], node.outputs[0], gouts[0]
        return [grad(x, y, g, **node.attrs)]

    def infer(types, **attrs):
        if not bool_ok:
            _no_bool(name, types)
        return TensorType(rule(types[0].dtype), types[0].shape)

    return defop(name, infer=infer, reference=_cast_ref(reference, rule), kind="elementwise",
                 scalar=scalar, grad=grad_rule if grad else (lambda node, g: [None]),
                 defaults=defaults, doc=doc, normalize=normalize)


def binary(name, reference, scalar, grad=None, dtype=None, defaults=None, doc="",
           bool_ok=True):
    """Define a broadcasting two-input elementwise op.

    Args:
        name, reference, scalar, defaults, doc, bool_ok: as for ``unary``.
        grad: ``grad(a, b, y, g) -> (da, db)`` on the broadcast shape (unbroadcasting to the
            input shapes is done here), or None for no gradient.
        dtype: None (promotion), a dtype name, or a rule ``f(dtype_a, dtype_b) -> dtype``.
    Returns:
        The registered ``OpDef``.

    Example (not a doctest: it would register an op)::

        binary("hypot2", lambda a, b: a * a + b * b,
               lambda a: f"({a[0]} * {a[0]} + {a[1]} * {a[1]})")
    """
    rule = _rule(dtype)

    def grad_rule(node, gouts):
        a, b = node.inputs
        da, db = grad(a, b, node.outputs[0], gouts[0])
        return [unbroadcast(da, a.type), unbroadcast(db, b.type)]

    def infer(types, **attrs):
        shape = broadcast_shapes(*[t.shape for t in types], op=name)
        if not bool_ok:
            _no_bool(name, types)
        return TensorType(rule(*[t.dtype for t in types]), shape)

    return defop(name, infer=infer, reference=_cast_ref(reference, rule),
                 kind="elementwise", scalar=scalar,
                 grad=grad_rule if grad else (lambda node, g: [None, None]),
                 defaults=defaults, doc=doc)


# -- small builders used by gradient rules ----------------------------------------------------

def _where(cond, a, b):
    return apply("where", cond, a, b)


def _mask(cond, g):
    """``g`` where ``cond`` holds, 0 elsewhere (broadcast to both)."""
    return _where(cond, g, _c(0, like=g))


def _mul(a, b):
    return apply("mul", a, b)


def _zero_grad(x, y, g, **attrs):
    return zeros_like(x)


# -- attribute checks -------------------------------------------------------------------------

def _number(op, name, v, allow_none=False):
    if v is None and allow_none:
        return None
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        kind = "a number or None" if allow_none else "a number"
        raise TypeError(f"{op}: attribute {name!r} must be {kind}, got {v!r}")
    return float(v)


def _f(v) -> str:
    """A float constant in a template (repr round-trips the float64 value exactly)."""
    return f"f32({float(v)!r})"


# -- arithmetic --------------------------------------------------------------------------------

binary("sub", np.subtract, lambda a: f"({a[0]} - {a[1]})",
       grad=lambda a, b, y, g: (g, apply("neg", g)), bool_ok=False, doc="a - b")
binary("mul", np.multiply, lambda a: f"({a[0]} * {a[1]})",
       grad=lambda a, b, y, g: (_mul(g, b), _mul(g, a)), doc="a * b")
binary("div", np.true_divide, lambda a: f"({a[0]} / {a[1]})", dtype=float_dtype,
       grad=lambda a, b, y, g: (apply("div", g, b),
                                apply("neg", apply("div", _mul(g, y), b))),
       doc="True division a / b; integer inputs give float32 (see the module docstring).")
unary("neg", np.negative, lambda a: f"(-{a[0]})", grad=lambda x, y, g: apply("neg", g),
      bool_ok=False, doc="-x")
unary("exp", np.exp, lambda a: f"exp({a[0]})", dtype=float_dtype,
      grad=lambda x, y, g: _mul(g, y), doc="e**x")


binary("floordiv", np.floor_divide, lambda a: f"({a[0]} // {a[1]})", bool_ok=False,
       grad=lambda a, b, y, g: (zeros_like(g), zeros_like(g)),
       doc="floor(a / b), Python/numpy semantics; integers stay integers. Zero gradient.")


def _mod_grad(a, b, y, g):
    # a mod b = a - floor(a / b) * b
    return g, apply("neg", _mul(g, apply("floor", apply("div", a, b))))


binary("mod", np.mod, lambda a: f"({a[0]} % {a[1]})", grad=_mod_grad, bool_ok=False,
       doc="a mod b with the sign of b (Python/numpy/Theano semantics).")


def _pow_grad(a, b, y, g):
    da = _mul(g, _mul(b, apply("pow", a, apply("sub", b, _c(1, like=b)))))
    positive = apply("greater", a, _c(0, like=a))
    safe_a = _where(positive, a, _c(1, like=a))          # log(1) = 0 where a <= 0
    db = _mul(g, _mul(y, apply("log", safe_a)))
    return da, db


binary("pow", np.power, lambda a: f"pow({a[0]}, {a[1]})", grad=_pow_grad, bool_ok=False,
       doc="a ** b. The b-gradient is a**b*log(a) for a > 0 and 0 where a <= 0. Integer "
           "bases with negative integer exponents fail at run time, as in numpy.")

unary("square", np.square, lambda a: f"({a[0]} * {a[0]})", bool_ok=False,
      grad=lambda x, y, g: _mul(g, _mul(_c(2, like=x), x)), doc="x * x")
unary("sqrt", np.sqrt, lambda a: f"sqrt({a[0]})", dtype=float_dtype,
      grad=lambda x, y, g: apply("div", _mul(g, _c(0.5, like=y)), y), doc="x ** 0.5")
unary("rsqrt", lambda x: np.reciprocal(np.sqrt(x)), lambda a: f"(f32(1.0) / sqrt({a[0]}))",
      dtype=float_dtype,
      grad=lambda x, y, g: _mul(g, _mul(_c(-0.5, like=y), apply("div", y, x))),
      doc="1 / sqrt(x)")
unary("reciprocal", lambda x: np.true_divide(1, x), lambda a: f"(f32(1.0) / {a[0]})",
      dtype=float_dtype, grad=lambda x, y, g: apply("neg", _mul(g, _mul(y, y))),
      doc="1 / x")
unary("abs", np.abs, lambda a: f"abs({a[0]})", bool_ok=False,
      grad=lambda x, y, g: _mul(g, apply("sign", x)), doc="|x| (gradient sign(x); 0 at 0)")

# Zero-gradient ops: the rules return zeros_like(x), as Theano does.
unary("sign", np.sign, lambda a: f"sign({a[0]})", grad=_zero_grad, bool_ok=False,
      doc="-1, 0 or 1. Zero gradient.")
unary("round", np.rint, lambda a: f"rint({a[0]})", grad=_zero_grad,
      doc="Round half to even (np.round). Zero gradient.")
unary("floor", np.floor, lambda a: f"floor({a[0]})", grad=_zero_grad, doc="Zero gradient.")
unary("ceil", np.ceil, lambda a: f"ceil({a[0]})", grad=_zero_grad, doc="Zero gradient.")

# -- math functions ----------------------------------------------------------------------------

unary("log", np.log, lambda a: f"log({a[0]})", dtype=float_dtype,
      grad=lambda x, y, g: apply("div", g, x), doc="Natural logarithm.")
unary("log1p", np.log1p, lambda a: f"log1p({a[0]})", dtype=float_dtype,
      grad=lambda x, y, g: apply("div", g, apply("add", x, _c(1, like=x))), doc="log(1 + x)")
unary("expm1", np.expm1, lambda a: f"expm1({a[0]})", dtype=float_dtype,
      grad=lambda x, y, g: _mul(g, apply("add", y, _c(1, like=y))), doc="exp(x) - 1")
unary("sin", np.sin, lambda a: f"sin({a[0]})", dtype=float_dtype,
      grad=lambda x, y, g: _mul(g, apply("cos", x)), doc="sine")
unary("cos", np.cos, lambda a: f"cos({a[0]})", dtype=float_dtype,
      grad=lambda x, y, g: apply("neg", _mul(g, apply("sin", x))), doc="cosine")
unary("tanh", np.tanh, lambda a: f"tanh({a[0]})", dtype=float_dtype,
      grad=lambda x, y, g: _mul(g, apply("sub", _c(1, like=y), _mul(y, y))),
      doc="Hyperbolic tangent.")


# -- activations -------------------------------------------------------------------------------

def _sigmoid_ref(x):
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    z = np.exp(-np.abs(x))                       # in (0, 1]: never overflows
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype)


unary("sigmoid", _sigmoid_ref, lambda a: f"sigmoid({a[0]})", dtype=float_dtype,
      grad=lambda x, y, g: _mul(g, _mul(y, apply("sub", _c(1, like=y), y))),
      doc="1 / (1 + exp(-x)), computed without overflow for large |x|.")


def _hard_sigmoid_ref(x):
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


def _hard_sigmoid_grad(x, y, g):
    inside = apply("logical_and", apply("greater_equal", x, _c(-2.5, like=x)),
                   apply("less_equal", x, _c(2.5, like=x)))
    return _mask(inside, _mul(g, _c(0.2, like=g)))


unary("hard_sigmoid", _hard_sigmoid_ref,
      lambda a: f"min(max(f32(0.2) * {a[0]} + f32(0.5), f32(0.0)), f32(1.0))",
      dtype=float_dtype, grad=_hard_sigmoid_grad,
      doc="clip(0.2 * x + 0.5, 0, 1), as Keras 2.")


def _normalize_relu(types, attrs):
    return {"alpha": _number("relu", "alpha", attrs["alpha"]),
            "max_value": _number("relu", "max_value", attrs["max_value"], allow_none=True),
            "threshold": _number("relu", "threshold", attrs["threshold"])}


def _relu_ref(x, alpha=0.0, max_value=None, threshold=0.0):
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    pos = x if max_value is None else np.clip(x, 0.0, max_value)
    return np.where(x > threshold, pos, alpha * (x - threshold)).astype(x.dtype)


def _relu_grad(x, y, g, alpha=0.0, max_value=None, threshold=0.0):
    above = apply("greater", x, _c(threshold, like=x))
    if max_value is not None:   # the clip to [0, max_value] passes where inside (inclusive)
        above = apply("logical_and", above, apply("logical_and",
                      apply("greater_equal", x, _c(0.0, like=x)),
                      apply("less_equal", x, _c(max_value, like=x))))
    if alpha == 0.0:
        return _mask(above, g)
    below = apply("less", x, _c(threshold, like=x))
    return apply("add", _mask(above, g), _mask(below, _mul(g, _c(alpha, like=g))))


def _relu_scalar(a, alpha=0.0, max_value=None, threshold=0.0):
    x = a[0]
    pos = x if max_value is None else f"min(max({x}, f32(0.0)), {_f(max_value)})"
    if alpha == 0.0 and threshold == 0.0 and max_value is None:
        return f"max({x}, f32(0.0))"
    low = "f32(0.0)" if alpha == 0.0 else f"{_f(alpha)} * ({x} - {_f(threshold)})"
    return f"({pos} if {x} > {_f(threshold)} else {low})"


unary("relu", _relu_ref, _relu_scalar, dtype=float_dtype, grad=_relu_grad,
      defaults={"alpha": 0.0, "max_value": None, "threshold": 0.0},
      normalize=_normalize_relu,
      doc="Keras 2.2's K.relu: x above `threshold` (clipped to [0, max_value] if given), "
          "alpha * (x - threshold) at and below it.")


def _elu_ref(x, alpha=1.0):
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype)


def _elu_grad(x, y, g, alpha=1.0):
    # d/dx alpha*(exp(x)-1) = alpha*exp(x) = y + alpha
    inside = _mul(g, apply("add", y, _c(alpha, like=y)))
    return _where(apply("greater", x, _c(0, like=x)), g, inside)


unary("elu", _elu_ref,
      lambda a, alpha=1.0: f"({a[0]} if {a[0]} > f32(0.0) else {_f(alpha)} * expm1({a[0]}))",
      dtype=float_dtype, grad=_elu_grad, defaults={"alpha": 1.0},
      normalize=lambda types, attrs: {"alpha": _number("elu", "alpha", attrs["alpha"])},
      doc="x if x > 0 else alpha * (exp(x) - 1).")


def _selu_ref(x):
    return SELU_SCALE * _elu_ref(x, SELU_ALPHA)


def _selu_grad(x, y, g):
    inside = _mul(g, apply("add", y, _c(SELU_SCALE * SELU_ALPHA, like=y)))
    return _where(apply("greater", x, _c(0, like=x)), _mul(g, _c(SELU_SCALE, like=g)), inside)


unary("selu", _selu_ref,
      lambda a: (f"({_f(SELU_SCALE)} * {a[0]} if {a[0]} > f32(0.0) else "
                 f"{_f(SELU_SCALE * SELU_ALPHA)} * expm1({a[0]}))"),
      dtype=float_dtype, grad=_selu_grad,
      doc="scale * elu(x, alpha) with Keras's constants (SELU_SCALE, SELU_ALPHA).")


def _softplus_ref(x):
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    return np.logaddexp(x.dtype.type(0), x)


unary("softplus", _softplus_ref,
      lambda a: f"(max({a[0]}, f32(0.0)) + log1p(exp(-abs({a[0]}))))",
      dtype=float_dtype, grad=lambda x, y, g: _mul(g, apply("sigmoid", x)),
      doc="log(1 + exp(x)), computed as max(x, 0) + log1p(exp(-|x|)) (no overflow).")


def _softsign_grad(x, y, g):
    d = apply("add", _c(1, like=x), apply("abs", x))
    return apply("div", g, _mul(d, d))


unary("softsign", lambda x: x / (1 + np.abs(x)),
      lambda a: f"({a[0]} / (f32(1.0) + abs({a[0]})))", dtype=float_dtype,
      grad=_softsign_grad, doc="x / (1 + |x|)")


# -- clip, maximum, minimum --------------------------------------------------------------------

def _normalize_clip(types, attrs):
    lo = _number("clip", "min", attrs["min"], allow_none=True)
    hi = _number("clip", "max", attrs["max"], allow_none=True)
    if lo is not None and hi is not None and hi < lo:
        hi = lo          # Keras 2: max_value < min_value -> max_value = min_value
    return {"min": lo, "max": hi}


def _clip_ref(x, min=None, max=None):
    lo = -np.inf if min is None else min
    hi = np.inf if max is None else max
    return np.clip(x, lo, hi)


def _clip_grad(x, y, g, min=None, max=None):
    conds = []
    if min is not None:
        conds.append(apply("greater_equal", x, _c(min, like=x)))
    if max is not None:
        conds.append(apply("less_equal", x, _c(max, like=x)))
    if not conds:
        return g
    inside = conds[0] if len(conds) == 1 else apply("logical_and", *conds)
    return _mask(inside, g)


def _clip_scalar(a, min=None, max=None):
    out = a[0]
    if min is not None:
        out = f"max({out}, {_f(min)})"
    if max is not None:
        out = f"min({out}, {_f(max)})"
    return out if out != a[0] else f"({out})"


unary("clip", _clip_ref, _clip_scalar, grad=_clip_grad, bool_ok=False,
      defaults={"min": None, "max": None}, normalize=_normalize_clip,
      doc="Clip to [min, max] (None = unbounded; max < min means max = min, as Keras 2). "
          "The gradient passes where min <= x <= max.")

binary("maximum", np.maximum, lambda a: f"max({a[0]}, {a[1]})", bool_ok=False,
       grad=lambda a, b, y, g: (_mask(apply("greater_equal", a, b), g),
                                _mask(apply("less", a, b), g)),
       doc="Elementwise maximum; on ties the gradient goes to a.")
binary("minimum", np.minimum, lambda a: f"min({a[0]}, {a[1]})", bool_ok=False,
       grad=lambda a, b, y, g: (_mask(apply("less_equal", a, b), g),
                                _mask(apply("greater", a, b), g)),
       doc="Elementwise minimum; on ties the gradient goes to a.")


# -- comparisons and logic (bool results, no gradient) -----------------------------------------

for _name, _fn, _sym in (("equal", np.equal, "=="), ("not_equal", np.not_equal, "!="),
                         ("less", np.less, "<"), ("less_equal", np.less_equal, "<="),
                         ("greater", np.greater, ">"),
                         ("greater_equal", np.greater_equal, ">=")):
    binary(_name, _fn, lambda a, _s=_sym: f"({a[0]} {_s} {a[1]})", dtype=bool_dtype,
           doc=f"a {_sym} b (bool; no gradient)")

for _name, _fn, _sym in (("logical_and", np.logical_and, "&"),
                         ("logical_or", np.logical_or, "|"),
                         ("logical_xor", np.logical_xor, "^")):
    binary(_name, _fn, lambda a, _s=_sym: f"(b1({a[0]}) {_s} b1({a[1]}))", dtype=bool_dtype,
           doc=f"{_name[8:]} of the truth values (non-zero = true; bool; no gradient)")

unary("logical_not", np.logical_not, lambda a: f"(not b1({a[0]}))", dtype=bool_dtype,
      doc="not x (non-zero = true; bool; no gradient)")


# -- where -------------------------------------------------------------------------------------

def _where_infer(types):
    if len(types) != 3:
        raise ShapeError(f"where: takes 3 inputs (cond, a, b), got {len(types)}")
    shape = broadcast_shapes(*[t.shape for t in types], op="where")
    return TensorType(same_dtype(types[1].dtype, types[2].dtype), shape)


def _where_ref(cond, a, b):
    out = np.where(np.asarray(cond).astype(bool), a, b)
    return out.astype(same_dtype(np.asarray(a).dtype.name, np.asarray(b).dtype.name))


def _where_grad(node, gouts):
    cond, a, b = node.inputs
    g = gouts[0]
    zero = _c(0, like=g)
    return [None, unbroadcast(_where(cond, g, zero), a.type),
            unbroadcast(_where(cond, zero, g), b.type)]


defop("where", infer=_where_infer, reference=_where_ref, grad=_where_grad, kind="elementwise",
      scalar=lambda a: f"({a[1]} if {a[0]} else {a[2]})",
      doc="a where cond (non-zero = true) else b; all three broadcast. Gradient to a and b.")

