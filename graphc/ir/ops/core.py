"""Core ops: graph sources and the few ops autodiff itself is built from.

Sources: ``input`` (a placeholder), ``variable`` (trainable or state storage), ``constant``.
Autodiff needs: ``add`` (summing cotangents), ``sum`` and ``broadcast_like`` (undoing and
redoing broadcasting), ``fill_like`` (zeros / ones of another value's run-time shape), ``cast``
and ``stop_gradient``/``identity``. The other families build on the helpers defined here
(``elementwise_infer``, ``unbroadcast``).
"""
from __future__ import annotations

import numpy as np

from ..types import ShapeError, TensorType, as_dtype, broadcast_shapes, normalize_axes, \
    result_dtype, shape_str, is_float
from . import Reduction, apply, defop

F32 = np.float32


# -- helpers shared by the op families ---------------------------------------------------------

def elementwise_infer(op: str, dtype: str | None = None):
    """infer() for a broadcasting elementwise op; output dtype = promotion or ``dtype``."""
    def infer(types, **attrs):
        shape = broadcast_shapes(*[t.shape for t in types], op=op)
        return TensorType(dtype or result_dtype(*[t.dtype for t in types]), shape)
    return infer


def unbroadcast(g, type_: TensorType):
    """Sum cotangent ``g`` down to ``type_``'s shape (the gradient of numpy broadcasting)."""
    if g is None:
        return None
    extra = g.ndim - type_.ndim
    if extra > 0:
        g = apply("sum", g, axes=tuple(range(extra)), keepdims=False)
    axes = tuple(i for i, (d, gd) in enumerate(zip(type_.shape, g.shape)) if d == 1 and gd != 1)
    if axes:
        g = apply("sum", g, axes=axes, keepdims=True)
    if g.dtype != type_.dtype and is_float(type_.dtype):
        g = apply("cast", g, dtype=type_.dtype)
    return g


def zeros_like(x):
    return apply("fill_like", x, value=0.0)


def ones_like(x):
    return apply("fill_like", x, value=1.0)


# -- sources -----------------------------------------------------------------------------------

def _no_infer(types, **attrs):
    raise ShapeError("source nodes are built with ops.source(), not apply()")


def _no_reference(*args, **attrs):
    raise RuntimeError("source nodes are read by the executor, not computed")


defop("input", infer=_no_infer, reference=_no_reference, kind="source",
      defaults={"name": None}, doc="A placeholder fed at call time.")
defop("variable", infer=_no_infer, reference=_no_reference, kind="source",
      defaults={"name": None, "var": None}, doc="Variable storage (graphc.ir.node.Variable).")
defop("constant", infer=_no_infer, reference=_no_reference, kind="source",
      defaults={"value": None, "name": None}, doc="A constant numpy array.")


# -- add (needed to sum cotangents) ---------------------------------------------------------

def _add_grad(node, gouts):
    g = gouts[0]
    return [unbroadcast(g, node.inputs[0].type), unbroadcast(g, node.inputs[1].type)]


defop("add", infer=elementwise_infer("add"), reference=lambda a, b: np.add(a, b),
      grad=_add_grad, kind="elementwise", scalar=lambda a: f"({a[0]} + {a[1]})",
      doc="Broadcasting addition.")


# -- sum and its inverse broadcast_like -----------------------------------------------------

def reduce_infer(op: str, dtype=None):
    """infer() for reductions with ``axes`` (None = all) and ``keepdims``."""
    def infer(types, axes=None, keepdims=False, **attrs):
        t = types[0]
        ax = normalize_axes(axes, t.ndim, op)
        shape = tuple((1 if i in ax else d) for i, d in enumerate(t.shape)
                      if keepdims or i not in ax)
        return TensorType(dtype or t.dtype, shape)
    return infer


def normalize_reduce(types, attrs):
    """Canonical ``axes``: a sorted tuple of non-negative axes (None = all axes)."""
    attrs["axes"] = normalize_axes(attrs.get("axes"), types[0].ndim, "sum")
    return attrs


def _sum_ref(x, axes=None, keepdims=False):
    out = np.sum(x, axis=None if axes is None else tuple(axes), keepdims=keepdims)
    return np.asarray(out, dtype=x.dtype if x.dtype != np.bool_ else np.int64)


def _sum_grad(node, gouts):
    x = node.inputs[0]
    inserted = () if node.attrs["keepdims"] else node.attrs["axes"]
    return [apply("broadcast_like", gouts[0], x, axes=inserted)]


defop("sum", infer=reduce_infer("sum"), reference=_sum_ref, grad=_sum_grad, kind="reduction",
      defaults={"axes": None, "keepdims": False}, normalize=normalize_reduce,
      reduction=Reduction("zero", lambda a, b: f"{a} + {b}"),
      doc="Sum over axes (None = all).")


def _expanded_shape(gshape, axes):
    shape = list(gshape)
    for a in sorted(axes):
        shape.insert(a, 1)
    return shape


def _bl_infer(types, axes=()):
    g, x = types
    expanded = _expanded_shape(g.shape, axes)
    if len(expanded) > x.ndim:
        raise ShapeError(f"broadcast_like: cannot broadcast {shape_str(g.shape)} (with axes "
                         f"{tuple(axes)} inserted) to {shape_str(x.shape)}")
    broadcast_shapes(expanded, x.shape, op="broadcast_like")
    return TensorType(g.dtype, x.shape)


def _bl_ref(g, x, axes=()):
    g = np.reshape(g, tuple(_expanded_shape(g.shape, axes)))
    return np.broadcast_to(g, x.shape).copy()


def _bl_grad(node, gouts):
    g, x = node.inputs
    axes = tuple(sorted(node.attrs["axes"]))
    expanded = _expanded_shape(g.shape, axes)
    lead = x.ndim - len(expanded)
    out = gouts[0]
    if lead:
        out = apply("sum", out, axes=tuple(range(lead)), keepdims=False)
    keep = tuple(i for i, d in enumerate(expanded)
                 if i not in axes and d == 1 and x.shape[lead + i] != 1)
    if keep:
        out = apply("sum", out, axes=keep, keepdims=True)
    if axes:
        out = apply("sum", out, axes=axes, keepdims=False)
    return [out, None]


defop("broadcast_like", infer=_bl_infer, reference=_bl_ref, grad=_bl_grad, kind="shape",
      defaults={"axes": ()},
      doc="Broadcast input 0 to the run-time shape of input 1, first inserting `axes`.",
      aliases="fresh")


# -- fill_like, cast, identity, stop_gradient ------------------------------------------------

def _fill_infer(types, value=0.0, dtype=None):
    return TensorType(dtype or types[0].dtype, types[0].shape)


def _fill_ref(x, value=0.0, dtype=None):
    return np.full(x.shape, value, dtype=dtype or x.dtype)


defop("fill_like", infer=_fill_infer, reference=_fill_ref, grad=lambda node, g: [None],
      kind="elementwise", scalar=lambda a, value=0.0, dtype=None: repr(float(value)),
      defaults={"value": 0.0, "dtype": None},
      doc="A tensor of the shape of the input, filled with `value`.")


def _cast_infer(types, dtype="float32"):
    return TensorType(as_dtype(dtype), types[0].shape)


def _cast_grad(node, gouts):
    x = node.inputs[0]
    if not is_float(x.dtype) or gouts[0] is None:
        return [None]
    return [apply("cast", gouts[0], dtype=x.dtype)]


_CAST_FN = {"float16": "f16", "float32": "f32", "float64": "f64", "int8": "i8", "int16": "i16",
            "int32": "i32", "int64": "i64", "uint8": "u8", "bool": "b1"}

defop("cast", infer=_cast_infer,
      reference=lambda x, dtype="float32": x.astype(as_dtype(dtype)),
      grad=_cast_grad, kind="elementwise",
      scalar=lambda a, dtype="float32": f"{_CAST_FN[as_dtype(dtype)]}({a[0]})",
      defaults={"dtype": "float32"}, doc="Convert to another dtype.")

defop("identity", infer=lambda types: types[0], reference=lambda x: x,
      grad=lambda node, g: [g[0]], kind="elementwise", scalar=lambda a: a[0],
      doc="Returns its input.")

defop("stop_gradient", infer=lambda types: types[0], reference=lambda x: x,
      grad=lambda node, g: [None], kind="elementwise", scalar=lambda a: a[0],
      doc="Identity in the forward pass; blocks gradients.")
