"""Contractions: matmul (numpy semantics), dot (Keras K.dot), batch_dot (Keras 2
K.batch_dot) and tensordot (numpy semantics).

All four are of kind ``contraction``. The result dtype follows ``result_dtype`` (float32 x
float32 stays float32; the references cast their operands first so numpy never upcasts).
Gradient rules write their transposes explicitly with the ``transpose`` op.
"""
from __future__ import annotations

import numpy as np

from ..types import ShapeError, TensorType, broadcast_shapes, dim_str, dims_compatible, \
    normalize_axis, result_dtype, shape_str
from . import apply, defop
from .core import unbroadcast


# -- helpers -----------------------------------------------------------------------------------

def _merge(a, b):
    """The better known of two dims that must be equal."""
    return a if isinstance(a, int) or b is None else b


def _operands(a, b):
    """Both arrays in the result dtype (so numpy neither upcasts nor mixes dtypes)."""
    dt = result_dtype(a.dtype.name, b.dtype.name)
    return a.astype(dt, copy=False), b.astype(dt, copy=False), dt


def _check_numeric(op, types):
    for t in types:
        if t.dtype == "bool":
            raise ShapeError(f"{op}: operands must be numeric, got {t}; cast it first")


def swap_last(x):
    """``x`` with its last two axes exchanged (the matrix transpose of a batch)."""
    perm = list(range(x.ndim))
    perm[-2], perm[-1] = perm[-1], perm[-2]
    return apply("transpose", x, perm=tuple(perm))


def _transpose_to(x, order):
    """Transpose ``x`` whose axis k holds original axis ``order[k]`` back to original order."""
    perm = tuple(order.index(i) for i in range(len(order)))
    if perm == tuple(range(len(order))):
        return x
    return apply("transpose", x, perm=perm)


# -- matmul ------------------------------------------------------------------------------------

def _matmul_infer(types):
    a, b = types
    _check_numeric("matmul", types)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: cannot multiply {shape_str(a.shape)} by "
                         f"{shape_str(b.shape)}: scalars are not matrices; use mul")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim >= 2 else b.shape[0]
    if not dims_compatible(ka, kb):
        raise ShapeError(f"matmul: cannot multiply {shape_str(a.shape)} by "
                         f"{shape_str(b.shape)}: inner dimensions {dim_str(ka)} and "
                         f"{dim_str(kb)} differ")
    try:
        batch = broadcast_shapes(a.shape[:-2], b.shape[:-2], op="matmul")
    except ShapeError:
        raise ShapeError(f"matmul: cannot multiply {shape_str(a.shape)} by "
                         f"{shape_str(b.shape)}: batch dimensions {shape_str(a.shape[:-2])} "
                         f"and {shape_str(b.shape[:-2])} cannot be broadcast") from None
    out = batch + (a.shape[-2:-1] if a.ndim >= 2 else ()) + (b.shape[-1:] if b.ndim >= 2 else ())
    return TensorType(result_dtype(a.dtype, b.dtype), out)


def _matmul_ref(a, b):
    a, b, dt = _operands(a, b)
    return np.asarray(np.matmul(a, b), dtype=dt)


def _matmul_grad(node, gouts):
    # On matrices: dA = g B^T, dB = A^T g, summed over broadcast batch dims. 1-D operands are
    # lifted to matrices (a row / a column) first, as numpy's definition does.
    a, b = node.inputs
    g = gouts[0]
    a2, b2 = a, b
    if a.ndim == 1:
        a2 = apply("expand_dims", a, axis=0)
        g = apply("expand_dims", g, axis=g.ndim - (b.ndim >= 2))
    if b.ndim == 1:
        b2 = apply("expand_dims", b, axis=1)
        g = apply("expand_dims", g, axis=g.ndim)
    da = unbroadcast(apply("matmul", g, swap_last(b2)), a2.type)
    db = unbroadcast(apply("matmul", swap_last(a2), g), b2.type)
    if a.ndim == 1:
        da = apply("squeeze", da, axis=(0,))
    if b.ndim == 1:
        db = apply("squeeze", db, axis=(1,))
    return [da, db]


def _product_cost(node, ins, outs) -> int:
    """2 * M * N * K: two FLOPs per multiply-add, K the first operand's last axis."""
    a = ins[0]
    return 2 * max((o.size for o in outs), default=0) * (a.shape[-1] if a.ndim else 1)


def _contraction_cost(node, ins, outs) -> int:
    """2 * output elements * K, K recovered from the operand sizes (a.size * b.size =
    out.size * K**2 for one batch entry of a product)."""
    import math
    a, b = ins[0], ins[1]
    out_n = max((o.size for o in outs), default=0)
    if not out_n:
        return 0
    batch = a.shape[0] if node.op == "batch_dot" and a.ndim else 1
    return int(2 * out_n * math.sqrt(max(a.size * b.size / (out_n * batch), 1.0)))


defop("matmul", infer=_matmul_infer, reference=_matmul_ref, grad=_matmul_grad,
      kind="contraction", cost=_product_cost,
      doc="Matrix product with numpy semantics: 2-D, batched (leading dims broadcast), "
          "and 1-D operands (a vector is a row on the left, a column on the right).")


# -- tensordot ---------------------------------------------------------------------------------

def _td_normalize(types, attrs):
    a, b = types
    axes = attrs["axes"]
    op = "tensordot"
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > min(a.ndim, b.ndim):
            raise ShapeError(f"{op}: axes={n} must be between 0 and min(rank) = "
                             f"{min(a.ndim, b.ndim)} for {shape_str(a.shape)} and "
                             f"{shape_str(b.shape)}")
        ax_a, ax_b = tuple(range(a.ndim - n, a.ndim)), tuple(range(n))
    else:
        try:
            ax_a, ax_b = axes
        except (TypeError, ValueError):
            raise ShapeError(f"{op}: axes must be an int or a pair (axes_of_a, axes_of_b), "
                             f"got {axes!r}") from None
        ax_a = (ax_a,) if isinstance(ax_a, (int, np.integer)) else tuple(ax_a)
        ax_b = (ax_b,) if isinstance(ax_b, (int, np.integer)) else tuple(ax_b)
        if len(ax_a) != len(ax_b):
            raise ShapeError(f"{op}: axes {ax_a} of a and {ax_b} of b have different lengths")
        ax_a = tuple(normalize_axis(int(i), a.ndim, op) for i in ax_a)
        ax_b = tuple(normalize_axis(int(i), b.ndim, op) for i in ax_b)
        if len(set(ax_a)) != len(ax_a) or len(set(ax_b)) != len(ax_b):
            raise ShapeError(f"{op}: repeated axis in axes {(ax_a, ax_b)}")
    attrs["axes"] = (ax_a, ax_b)
    return attrs


def _td_infer(types, axes=2):
    a, b = types
    _check_numeric("tensordot", types)
    ax_a, ax_b = axes
    for i, j in zip(ax_a, ax_b):
        if not dims_compatible(a.shape[i], b.shape[j]):
            raise ShapeError(f"tensordot: cannot contract {shape_str(a.shape)} with "
                             f"{shape_str(b.shape)}: axis {i} ({dim_str(a.shape[i])}) and axis "
                             f"{j} ({dim_str(b.shape[j])}) differ")
    out = tuple(d for i, d in enumerate(a.shape) if i not in ax_a) + \
        tuple(d for j, d in enumerate(b.shape) if j not in ax_b)
    return TensorType(result_dtype(a.dtype, b.dtype), out)


def _td_ref(a, b, axes=2):
    a, b, dt = _operands(a, b)
    return np.asarray(np.tensordot(a, b, axes=(list(axes[0]), list(axes[1]))), dtype=dt)


def tensordot_grads(a, b, ax_a, ax_b, g):
    """Cotangents of ``tensordot(a, b, (ax_a, ax_b))`` for output cotangent ``g``."""
    a_free = [i for i in range(a.ndim) if i not in ax_a]
    b_free = [j for j in range(b.ndim) if j not in ax_b]
    na = len(a_free)
    # g . b over b's free axes -> a_free + b's contracted axes (ascending): a's order back
    da = apply("tensordot", g, b, axes=(tuple(range(na, g.ndim)), tuple(b_free)))
    da = _transpose_to(da, a_free + [ax_a[ax_b.index(j)] for j in sorted(ax_b)])
    # a . g over a's free axes -> a's contracted axes (ascending) + b_free: b's order back
    db = apply("tensordot", a, g, axes=(tuple(a_free), tuple(range(na))))
    db = _transpose_to(db, [ax_b[ax_a.index(i)] for i in sorted(ax_a)] + b_free)
    return [da, db]


def _td_grad(node, gouts):
    a, b = node.inputs
    ax_a, ax_b = node.attrs["axes"]
    return tensordot_grads(a, b, list(ax_a), list(ax_b), gouts[0])


defop("tensordot", infer=_td_infer, reference=_td_ref, grad=_td_grad, kind="contraction",
      defaults={"axes": 2}, normalize=_td_normalize, cost=_contraction_cost,
      doc="numpy.tensordot: axes=N contracts the last N axes of a with the first N of b; "
          "axes=(axes_a, axes_b) pairs them explicitly. Output: a's free axes, then b's.")


# -- dot (Keras K.dot) -------------------------------------------------------------------------

def _dot_axes(a_ndim, b_ndim):
    return a_ndim - 1, max(b_ndim - 2, 0)


def _dot_infer(types):
    a, b = types
    _check_numeric("dot", types)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"dot: cannot multiply {shape_str(a.shape)} by {shape_str(b.shape)}: "
                         f"scalars are not allowed; use mul")
    i, j = _dot_axes(a.ndim, b.ndim)
    if not dims_compatible(a.shape[i], b.shape[j]):
        raise ShapeError(f"dot: cannot multiply {shape_str(a.shape)} by {shape_str(b.shape)}: "
                         f"inner dimensions {dim_str(a.shape[i])} and {dim_str(b.shape[j])} "
                         f"differ (dot contracts the last axis of x with the "
                         f"{'second-to-last' if b.ndim >= 2 else 'only'} axis of y)")
    out = a.shape[:-1] + b.shape[:j] + b.shape[j + 1:]
    return TensorType(result_dtype(a.dtype, b.dtype), out)


def _dot_ref(a, b):
    a, b, dt = _operands(a, b)
    return np.asarray(np.dot(a, b), dtype=dt)


def _dot_grad(node, gouts):
    a, b = node.inputs
    g = gouts[0]
    if a.ndim == 2 and b.ndim == 2:
        return [apply("matmul", g, swap_last(b)), apply("matmul", swap_last(a), g)]
    i, j = _dot_axes(a.ndim, b.ndim)
    return tensordot_grads(a, b, [i], [j], g)


defop("dot", infer=_dot_infer, reference=_dot_ref, grad=_dot_grad, kind="contraction",
      cost=_product_cost,
      doc="Keras K.dot (Theano / numpy.dot semantics): contracts the last axis of x with the "
          "second-to-last axis of y (its only axis if y is 1-D); (2,3,4) . (7,4,5) -> "
          "(2,3,7,5).")


# -- batch_dot (Keras 2 K.batch_dot) -----------------------------------------------------------

def _bd_normalize(types, attrs):
    x, y = types
    op = "batch_dot"
    if x.ndim < 2 or y.ndim < 2:
        raise ShapeError(f"{op}: both inputs need rank >= 2 (batch axis first), got "
                         f"{shape_str(x.shape)} and {shape_str(y.shape)}")
    axes = attrs["axes"]
    if axes is None:  # Keras 2: like a batched matmul
        axes = (x.ndim - 1, y.ndim - 1 if y.ndim == 2 else y.ndim - 2)
    elif isinstance(axes, (int, np.integer)):
        axes = (int(axes), int(axes))
    else:
        try:
            ax, ay = axes
            axes = (int(ax), int(ay))
        except (TypeError, ValueError):
            raise ShapeError(f"{op}: axes must be None, an int or a pair of ints (one axis of "
                             f"x and one of y), got {attrs['axes']!r}") from None
    axes = (normalize_axis(axes[0], x.ndim, op), normalize_axis(axes[1], y.ndim, op))
    if 0 in axes:
        raise ShapeError(f"{op}: cannot contract over the batch axis 0 (axes={attrs['axes']!r} "
                         f"for {shape_str(x.shape)} and {shape_str(y.shape)})")
    attrs["axes"] = axes
    return attrs


def _bd_free(ndim, axis):
    return [i for i in range(1, ndim) if i != axis]


def _bd_infer(types, axes=None):
    x, y = types
    _check_numeric("batch_dot", types)
    ax, ay = axes
    if not dims_compatible(x.shape[0], y.shape[0]):
        raise ShapeError(f"batch_dot: batch sizes differ: {shape_str(x.shape)} and "
                         f"{shape_str(y.shape)}")
    if not dims_compatible(x.shape[ax], y.shape[ay]):
        raise ShapeError(f"batch_dot: cannot contract {shape_str(x.shape)} axis {ax} "
                         f"({dim_str(x.shape[ax])}) with {shape_str(y.shape)} axis {ay} "
                         f"({dim_str(y.shape[ay])}): sizes differ")
    out = (_merge(x.shape[0], y.shape[0]),) + tuple(x.shape[i] for i in _bd_free(x.ndim, ax)) \
        + tuple(y.shape[j] for j in _bd_free(y.ndim, ay))
    if len(out) == 1:
        out = out + (1,)
    return TensorType(result_dtype(x.dtype, y.dtype), out)


def _bd_ref(x, y, axes=None):
    x, y, dt = _operands(x, y)
    ax, ay = axes
    xf, yf = _bd_free(x.ndim, ax), _bd_free(y.ndim, ay)
    n, k = x.shape[0], x.shape[ax]
    fx = int(np.prod([x.shape[i] for i in xf]))
    fy = int(np.prod([y.shape[j] for j in yf]))
    xm = np.transpose(x, [0] + xf + [ax]).reshape(n, fx, k)
    ym = np.transpose(y, [0, ay] + yf).reshape(n, k, fy)
    out = np.matmul(xm, ym)
    shape = (n,) + tuple(x.shape[i] for i in xf) + tuple(y.shape[j] for j in yf)
    if len(shape) == 1:
        shape = (n, 1)
    return np.asarray(out.reshape(shape), dtype=dt)


def _insert_ones(v, pos, count):
    for _ in range(count):
        v = apply("expand_dims", v, axis=pos)
    return v


def _bd_grad(node, gouts):
    x, y = node.inputs
    ax, ay = node.attrs["axes"]
    xf, yf = _bd_free(x.ndim, ax), _bd_free(y.ndim, ay)
    nxf, nyf = len(xf), len(yf)
    g = gouts[0]                                   # (B, xf..., yf...) or (B, 1)
    if nxf + nyf == 0:
        g = apply("squeeze", g, axis=(1,))
    xt = _transpose_to_order(x, [0] + xf + [ax])  # (B, xf..., K)
    yt = _transpose_to_order(y, [0] + yf + [ay])  # (B, yf..., K)
    if nxf == 1 and nyf == 1:                      # both are batched matrices: stay contractions
        dxt = apply("batch_dot", g, yt, axes=(2, 1))
        dyt = apply("batch_dot", g, xt, axes=(1, 1))
    else:                                          # general case: broadcast multiply and sum
        ge = apply("expand_dims", g, axis=g.ndim)  # (B, xf..., yf..., 1)
        dxt = apply("mul", ge, _insert_ones(yt, 1, nxf))
        if nyf:
            dxt = apply("sum", dxt, axes=tuple(range(1 + nxf, 1 + nxf + nyf)))
        dyt = apply("mul", ge, _insert_ones(xt, 1 + nxf, nyf))
        if nxf:
            dyt = apply("sum", dyt, axes=tuple(range(1, 1 + nxf)))
    return [_transpose_to(dxt, [0] + xf + [ax]), _transpose_to(dyt, [0] + yf + [ay])]


def _transpose_to_order(x, order):
    """``x`` with its axes rearranged so that axis k is original axis ``order[k]``."""
    if list(order) == list(range(x.ndim)):
        return x
    return apply("transpose", x, perm=tuple(order))


defop("batch_dot", infer=_bd_infer, reference=_bd_ref, grad=_bd_grad, kind="contraction",
      defaults={"axes": None}, normalize=_bd_normalize, cost=_contraction_cost,
      doc="Keras 2 K.batch_dot: for each batch entry i, contract axis axes[0] of x[i] with axis "
          "axes[1] of y[i] (axes count the batch axis 0). Output: x's shape without the "
          "contracted axis, then y's without its batch and contracted axes; a rank-1 result "
          "becomes (batch, 1). x (32,20), y (32,20), axes=1 -> (32,1); x (32,20,1), "
          "y (32,30,20), axes=(1,2) -> (32,1,30).")
