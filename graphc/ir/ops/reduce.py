"""Reductions and axis-wise ops: mean, max, min, prod, var, std, any, all, argmax, argmin,
logsumexp, cumsum, cumprod, softmax, log_softmax and the fused, numerically stable losses
softmax_cross_entropy, sparse_softmax_cross_entropy and sigmoid_cross_entropy.

Ops of kind ``reduction`` carry ``axes`` (a sorted tuple of non-negative axes after
normalisation; ``None`` = all axes) and ``keepdims``. argmax/argmin, cumsum/cumprod and the
softmax family carry a single non-negative ``axis`` and are of kind ``other``.

Gradient notes:
* mean/var/std divide by the number of reduced elements. When a reduced dimension is symbolic
  (the batch ``"B"``) the count is read at run time (``prod(gather(shape(x), axes))``), never
  taken from the static shape.
* max/min send the cotangent to every position equal to the result, divided by the number of
  such positions (ties share the gradient equally, like Theano's and TensorFlow's rule).
* prod uses exclusive products (built from cumprod) so zeros in the input do not cause a
  division by zero; cumprod's own gradient divides by the input (undefined at exact zeros, as in
  TensorFlow).
* std's gradient is undefined (inf/nan) where std == 0, as in Theano.
"""
from __future__ import annotations

import numpy as np

from ..types import ShapeError, TensorType, broadcast_shapes, is_float, is_int, \
    normalize_axes, normalize_axis, result_dtype, shape_str
from . import Reduction, apply, as_value, constant, defop
from .core import reduce_infer, unbroadcast
from .shape import axis_slice_attrs


# -- helpers -----------------------------------------------------------------------------------

def _float_dtype(dtype: str) -> str:
    """Mean-like reductions of ints/bools give float32 (floats keep their width)."""
    return dtype if is_float(dtype) else "float32"


def _inserted(node):
    """Axes to re-insert into a reduction's cotangent to line it up with the input."""
    return () if node.attrs["keepdims"] else node.attrs["axes"]


def _spread(g, node):
    """The cotangent of a reduction broadcast back to the input's run-time shape."""
    return apply("broadcast_like", g, node.inputs[0], axes=_inserted(node))


def count(x, axes, dtype=None):
    """Number of elements of ``x`` in ``axes`` as a scalar Value of ``dtype`` (default x's).

    Static when every reduced dimension is known; otherwise the ``size`` op reads it from x's
    run-time shape, so a symbolic batch dimension is counted correctly.

    Args:
        x: the Value being reduced.
        axes: normalized axes (a tuple of non-negative ints).
        dtype: dtype of the result (default: x's).
    Returns:
        A scalar Value.

    Example:
        >>> n = count(x, (0,))   # x: f32[B,3] -> size(x, axes=(0,), dtype=float32)
    """
    dtype = dtype or x.dtype
    dims = [x.shape[a] for a in axes]
    if all(isinstance(d, int) for d in dims):
        return constant(np.asarray(int(np.prod(dims)), dtype=dtype))
    return apply("size", x, axes=tuple(axes), dtype=dtype)


def _axes_normalizer(op):
    """normalize(): canonical ``axes`` (sorted non-negative tuple), errors naming ``op``."""
    def normalize(types, attrs):
        attrs["axes"] = normalize_axes(attrs.get("axes"), types[0].ndim, op)
        return attrs
    return normalize


def _axis_normalizer(op, allow_none=False):
    """normalize(): a single non-negative ``axis`` (None kept if allowed), errors naming op."""
    def normalize(types, attrs):
        if attrs["axis"] is None and not allow_none:
            raise ShapeError(f"{op}: axis must be an int, got None")
        if attrs["axis"] is not None:
            attrs["axis"] = normalize_axis(int(attrs["axis"]), types[0].ndim, op)
        return attrs
    return normalize


def _per_element(n: int):
    """cost(): ``n`` FLOPs per element of the largest input (a softmax-like op: the max, the
    subtraction, the exp, the sum and the division or log of each element)."""
    return lambda node, ins, outs: n * max((a.size for a in ins), default=0)


# -- mean, var, std ----------------------------------------------------------------------------

def _mean_ref(x, axes=None, keepdims=False):
    dt = _float_dtype(x.dtype.name)
    return np.asarray(np.mean(x, axis=axes, keepdims=keepdims, dtype=dt), dtype=dt)


def _mean_grad(node, gouts):
    x = node.inputs[0]
    if not is_float(x.dtype):
        return [None]
    n = count(x, node.attrs["axes"], x.dtype)
    return [apply("div", _spread(gouts[0], node), n)]


def _mean_infer(types, axes=None, keepdims=False):
    t = reduce_infer("mean")(types, axes=axes, keepdims=keepdims)
    return TensorType(_float_dtype(types[0].dtype), t.shape)


defop("mean", infer=_mean_infer, reference=_mean_ref, grad=_mean_grad, kind="reduction",
      defaults={"axes": None, "keepdims": False}, normalize=_axes_normalizer("mean"),
      reduction=Reduction("zero", lambda a, b: f"{a} + {b}", finalize="mean"),
      doc="Arithmetic mean over axes (None = all); ints and bools give float32.")


def _var_ref(x, axes=None, keepdims=False):
    dt = _float_dtype(x.dtype.name)
    return np.asarray(np.var(x, axis=axes, keepdims=keepdims, dtype=dt), dtype=dt)


def _centered(x, axes):
    """x - mean(x, axes, keepdims=True)."""
    return apply("sub", x, apply("mean", x, axes=axes, keepdims=True))


def _var_grad(node, gouts):
    # d var / dx_i = 2 (x_i - mean) / n  (the mean's own dependence on x_i cancels)
    x = node.inputs[0]
    if not is_float(x.dtype):
        return [None]
    axes = node.attrs["axes"]
    scale = apply("div", as_value(2.0, like=x), count(x, axes, x.dtype))
    return [apply("mul", apply("mul", _spread(gouts[0], node), _centered(x, axes)), scale)]


def _var_infer(types, axes=None, keepdims=False):
    return _mean_infer(types, axes=axes, keepdims=keepdims)


defop("var", infer=_var_infer, reference=_var_ref, grad=_var_grad, kind="reduction",
      defaults={"axes": None, "keepdims": False}, normalize=_axes_normalizer("var"),
      doc="Population variance (ddof=0, as Keras K.var) over axes.")


def _std_ref(x, axes=None, keepdims=False):
    dt = _float_dtype(x.dtype.name)
    return np.asarray(np.std(x, axis=axes, keepdims=keepdims, dtype=dt), dtype=dt)


def _std_grad(node, gouts):
    # d std = d var / (2 std) = (x - mean) / (n std)
    x, y = node.inputs[0], node.outputs[0]
    if not is_float(x.dtype):
        return [None]
    axes = node.attrs["axes"]
    g = apply("div", gouts[0], y)
    g = apply("broadcast_like", g, x, axes=_inserted(node))
    return [apply("div", apply("mul", g, _centered(x, axes)), count(x, axes, x.dtype))]


defop("std", infer=_var_infer, reference=_std_ref, grad=_std_grad, kind="reduction",
      defaults={"axes": None, "keepdims": False}, normalize=_axes_normalizer("std"),
      doc="Population standard deviation (ddof=0, as Keras K.std) over axes.")


# -- max, min ----------------------------------------------------------------------------------

def _extreme_ref(fn):
    def ref(x, axes=None, keepdims=False):
        if x.size == 0:
            raise ValueError("max/min of an empty tensor is undefined")
        return np.asarray(fn(x, axis=axes, keepdims=keepdims), dtype=x.dtype)
    return ref


def _extreme_grad(node, gouts):
    # The cotangent goes to the positions equal to the result; ties share it equally.
    x, y = node.inputs[0], node.outputs[0]
    if not is_float(x.dtype):
        return [None]
    axes = node.attrs["axes"]
    hit = apply("equal", x, apply("broadcast_like", y, x, axes=_inserted(node)))
    mask = apply("cast", hit, dtype=x.dtype)
    ties = apply("sum", mask, axes=axes, keepdims=True)
    return [apply("div", apply("mul", _spread(gouts[0], node), mask), ties)]


# NaN wins, as numpy's max / min: the element replaces the accumulator when it is larger
# (smaller) or NaN (x != x)
_MAX = Reduction("lowest", lambda a, b: f"({b} if ({b} > {a} or {b} != {b}) else {a})")
_MIN = Reduction("highest", lambda a, b: f"({b} if ({b} < {a} or {b} != {b}) else {a})")

for _name, _fn, _red in (("max", np.max, _MAX), ("min", np.min, _MIN)):
    defop(_name, infer=reduce_infer(_name), reference=_extreme_ref(_fn), grad=_extreme_grad,
          kind="reduction", defaults={"axes": None, "keepdims": False},
          normalize=_axes_normalizer(_name), reduction=_red,
          doc=f"{_name.capitalize()}imum over axes; the gradient is split between ties.")


# -- prod --------------------------------------------------------------------------------------

def _prod_dtype(dtype):
    return "int64" if dtype == "bool" else dtype


def _prod_infer(types, axes=None, keepdims=False):
    t = reduce_infer("prod")(types, axes=axes, keepdims=keepdims)
    return TensorType(_prod_dtype(types[0].dtype), t.shape)


def _prod_ref(x, axes=None, keepdims=False):
    dt = _prod_dtype(x.dtype.name)
    return np.asarray(np.prod(x, axis=axes, keepdims=keepdims, dtype=dt), dtype=dt)


def _exclusive_left(x, axis):
    """``out[i] = prod(x[:i])`` along ``axis``: cumprod of x shifted right by one, 1 first."""
    nd = x.ndim
    pads = tuple((1, 0) if a == axis else (0, 0) for a in range(nd))
    shifted = apply("pad", apply("slice", x, **axis_slice_attrs(nd, axis, None, -1)), pads=pads,
                    constant_value=1.0)
    out = apply("cumprod", shifted, axis=axis)
    # slicing and padding a symbolic dim loses its name; the size is x's again
    return out if out.shape == x.shape else apply("reshape_like", out, x)


def exclusive_prod(x, axis):
    """Product of all the other elements along ``axis``, without dividing (zero safe).

    ``prod(x[:i]) * prod(x[i+1:])``; the right factor is the left one of the reversed x.
    """
    right = apply("reverse", _exclusive_left(apply("reverse", x, axes=(axis,)), axis),
                  axes=(axis,))
    return apply("mul", _exclusive_left(x, axis), right)


def _exclusive_prod_axes(x, axes):
    """prod over ``axes`` of x excluding each element itself, broadcast to x's shape.

    excl_{A}(x) = excl_{a0}(P) * excl_{A \\ a0}(x) where P = prod(x, A \\ a0, keepdims):
    every element's complement in the reduced block is its row without itself times the
    other rows.
    """
    first, rest = axes[0], axes[1:]
    if not rest:
        return exclusive_prod(x, first)
    inner = _exclusive_prod_axes(x, rest)
    rows = apply("prod", x, axes=rest, keepdims=True)
    outer = apply("broadcast_like", exclusive_prod(rows, first), x, axes=())
    return apply("mul", inner, outer)


def _prod_grad(node, gouts):
    x = node.inputs[0]
    if not is_float(x.dtype):
        return [None]
    axes = node.attrs["axes"]
    if not axes:
        return [gouts[0]]
    return [apply("mul", _spread(gouts[0], node), _exclusive_prod_axes(x, axes))]


defop("prod", infer=_prod_infer, reference=_prod_ref, grad=_prod_grad, kind="reduction",
      defaults={"axes": None, "keepdims": False}, normalize=_axes_normalizer("prod"),
      reduction=Reduction("one", lambda a, b: f"{a} * {b}"),
      doc="Product over axes; the gradient is zero safe (exclusive products).")


# -- any, all ----------------------------------------------------------------------------------

for _name, _fn, _red in (("any", np.any, Reduction("false", lambda a, b: f"({a} or {b})")),
                         ("all", np.all, Reduction("true", lambda a, b: f"({a} and {b})"))):
    defop(_name, infer=reduce_infer(_name, dtype="bool"),
          reference=(lambda fn: lambda x, axes=None, keepdims=False:
                     np.asarray(fn(x, axis=axes, keepdims=keepdims), dtype=np.bool_))(_fn),
          grad=lambda node, g: [None], kind="reduction",
          defaults={"axes": None, "keepdims": False}, normalize=_axes_normalizer(_name),
          reduction=_red,
          doc=f"Logical {_name} over axes (bool output).")


# -- argmax, argmin ----------------------------------------------------------------------------

def _arg_infer(op):
    def infer(types, axis=-1, keepdims=False):
        t = types[0]
        if axis is None:
            shape = (1,) * t.ndim if keepdims else ()
        else:
            shape = tuple(1 if i == axis else d for i, d in enumerate(t.shape)
                          if keepdims or i != axis)
        if t.dtype == "bool":
            raise ShapeError(f"{op}: input must be numeric, got bool{shape_str(t.shape)}")
        return TensorType("int64", shape)
    return infer


for _name, _fn in (("argmax", np.argmax), ("argmin", np.argmin)):
    defop(_name, infer=_arg_infer(_name),
          reference=(lambda fn: lambda x, axis=-1, keepdims=False:
                     np.asarray(fn(x, axis=axis, keepdims=keepdims), dtype=np.int64))(_fn),
          grad=lambda node, g: [None], kind="other",
          normalize=_axis_normalizer(_name, allow_none=True),
          defaults={"axis": -1, "keepdims": False},
          doc=f"Index of the {_name[3:]}imum along axis (int64; None = flattened).")


# -- logsumexp ---------------------------------------------------------------------------------

def _lse_ref(x, axes=None, keepdims=False):
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, np.zeros_like(m))
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
    if not keepdims:
        out = np.squeeze(out, axis=axes)
    return np.asarray(out, dtype=x.dtype)


def _lse_grad(node, gouts):
    # d lse / dx = softmax(x) = exp(x - lse)
    x, y = node.inputs[0], node.outputs[0]
    yb = apply("broadcast_like", y, x, axes=_inserted(node))
    return [apply("mul", _spread(gouts[0], node), apply("exp", apply("sub", x, yb)))]


def _lse_infer(types, axes=None, keepdims=False):
    if not is_float(types[0].dtype):
        raise ShapeError(f"logsumexp: input must be a float tensor, got {types[0]}")
    return reduce_infer("logsumexp")(types, axes=axes, keepdims=keepdims)


defop("logsumexp", cost=_per_element(5), infer=_lse_infer, reference=_lse_ref, grad=_lse_grad, kind="reduction",
      defaults={"axes": None, "keepdims": False}, normalize=_axes_normalizer("logsumexp"),
      doc="log(sum(exp(x))) over axes, computed stably (max subtracted first).")


# -- cumsum, cumprod ---------------------------------------------------------------------------

def _cum_dtype(dtype):
    return "int64" if dtype == "bool" else dtype


def _cum_infer(op):
    def infer(types, axis=0):
        t = types[0]
        if t.ndim == 0:
            raise ShapeError(f"{op}: needs a tensor of rank >= 1, got a scalar")
        return TensorType(_cum_dtype(t.dtype), t.shape)
    return infer


def _reverse_cumsum(g, axis):
    return apply("reverse", apply("cumsum", apply("reverse", g, axes=(axis,)), axis=axis),
                 axes=(axis,))


def _cumsum_grad(node, gouts):
    if not is_float(node.inputs[0].dtype):
        return [None]
    return [_reverse_cumsum(gouts[0], node.attrs["axis"])]


def _cumprod_grad(node, gouts):
    # dx_i = sum_{k >= i} g_k y_k / x_i  (undefined at exact zeros of x, as in TensorFlow)
    x, y = node.inputs[0], node.outputs[0]
    if not is_float(x.dtype):
        return [None]
    acc = _reverse_cumsum(apply("mul", gouts[0], y), node.attrs["axis"])
    return [apply("div", acc, x)]


defop("cumsum", infer=_cum_infer("cumsum"),
      reference=lambda x, axis=0: np.cumsum(x, axis=axis, dtype=_cum_dtype(x.dtype.name)),
      grad=_cumsum_grad, kind="other", defaults={"axis": 0}, normalize=_axis_normalizer("cumsum"),
      doc="Cumulative sum along axis (Keras K.cumsum; default axis 0).")
defop("cumprod", infer=_cum_infer("cumprod"),
      reference=lambda x, axis=0: np.cumprod(x, axis=axis, dtype=_cum_dtype(x.dtype.name)),
      grad=_cumprod_grad, kind="other", defaults={"axis": 0},
      normalize=_axis_normalizer("cumprod"),
      doc="Cumulative product along axis (Keras K.cumprod; default axis 0).")


# -- softmax, log_softmax ----------------------------------------------------------------------

def _float_axis_infer(op):
    def infer(types, axis=-1):
        t = types[0]
        if t.ndim == 0:
            raise ShapeError(f"{op}: needs a tensor of rank >= 1, got a scalar")
        if not is_float(t.dtype):
            raise ShapeError(f"{op}: input must be a float tensor, got {t}")
        return t
    return infer


def _log_softmax_np(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, np.zeros_like(m))
    z = x - m
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def _softmax_np(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, np.zeros_like(m))
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def _softmax_grad(node, gouts):
    # dx = y * (g - sum(g * y))
    y, g, axis = node.outputs[0], gouts[0], node.attrs["axis"]
    dot = apply("sum", apply("mul", g, y), axes=(axis,), keepdims=True)
    return [apply("mul", y, apply("sub", g, dot))]


def _log_softmax_grad(node, gouts):
    # dx = g - softmax(x) * sum(g)
    y, g, axis = node.outputs[0], gouts[0], node.attrs["axis"]
    total = apply("sum", g, axes=(axis,), keepdims=True)
    return [apply("sub", g, apply("mul", apply("exp", y), total))]


defop("softmax", cost=_per_element(5), infer=_float_axis_infer("softmax"),
      reference=lambda x, axis=-1: np.asarray(_softmax_np(x, axis), dtype=x.dtype),
      grad=_softmax_grad, kind="other", defaults={"axis": -1},
      normalize=_axis_normalizer("softmax"),
      doc="exp(x) / sum(exp(x)) along axis, computed stably.",
      aliases="fresh")
defop("log_softmax", cost=_per_element(5), infer=_float_axis_infer("log_softmax"),
      reference=lambda x, axis=-1: np.asarray(_log_softmax_np(x, axis), dtype=x.dtype),
      grad=_log_softmax_grad, kind="other", defaults={"axis": -1},
      normalize=_axis_normalizer("log_softmax"),
      doc="x - logsumexp(x) along axis, computed stably.",
      aliases="fresh")


# -- cross entropies ---------------------------------------------------------------------------

def _xent_normalize(types, attrs):
    attrs["axis"] = normalize_axis(int(attrs["axis"]), types[0].ndim, "softmax_cross_entropy")
    return attrs


def _xent_infer(types, axis=-1):
    logits, targets = types
    op = "softmax_cross_entropy"
    if logits.ndim == 0:
        raise ShapeError(f"{op}: logits need a class axis, got a scalar")
    if not is_float(logits.dtype) or not is_float(targets.dtype):
        raise ShapeError(f"{op}: logits and targets must be float tensors, got {logits} and "
                         f"{targets}")
    if logits.ndim != targets.ndim:
        raise ShapeError(f"{op}: logits {shape_str(logits.shape)} and targets "
                         f"{shape_str(targets.shape)} must have the same rank")
    shape = broadcast_shapes(logits.shape, targets.shape, op=op)
    out = shape[:axis] + shape[axis + 1:]
    return TensorType(result_dtype(logits.dtype, targets.dtype), out)


def _xent_ref(logits, targets, axis=-1):
    dt = result_dtype(logits.dtype.name, targets.dtype.name)
    logp = _log_softmax_np(logits.astype(dt), axis)
    return np.asarray(-np.sum(targets.astype(dt) * logp, axis=axis), dtype=dt)


def _xent_grad(node, gouts):
    # loss = -sum(t * log_softmax(x)); dx = g (softmax(x) sum(t) - t); dt = -g log_softmax(x)
    x, t = node.inputs
    axis = node.attrs["axis"]
    g = apply("expand_dims", gouts[0], axis=axis)
    tsum = apply("sum", t, axes=(axis,), keepdims=True)
    dx = apply("mul", g, apply("sub", apply("mul", apply("softmax", x, axis=axis), tsum), t))
    dt = apply("neg", apply("mul", g, apply("log_softmax", x, axis=axis)))
    return [unbroadcast(dx, x.type), unbroadcast(dt, t.type)]


defop("softmax_cross_entropy", cost=_per_element(5), infer=_xent_infer, reference=_xent_ref, grad=_xent_grad,
      kind="other", defaults={"axis": -1}, normalize=_xent_normalize,
      doc="-sum(targets * log_softmax(logits)) along axis: the per-example categorical "
          "cross entropy of logits against one-hot or probability targets, stable for large "
          "logits.",
      aliases="fresh")


def _sparse_infer(types, axis=-1):
    logits, labels = types
    op = "sparse_softmax_cross_entropy"
    if logits.ndim == 0:
        raise ShapeError(f"{op}: logits need a class axis, got a scalar")
    if not is_float(logits.dtype):
        raise ShapeError(f"{op}: logits must be a float tensor, got {logits}")
    if not is_int(labels.dtype):
        raise ShapeError(f"{op}: labels must be an integer tensor, got {labels}; cast them "
                         f"with K.cast(labels, 'int64')")
    want = logits.shape[:axis] + logits.shape[axis + 1:]
    if labels.ndim != len(want) or any(
            isinstance(a, int) and isinstance(b, int) and a != b
            for a, b in zip(labels.shape, want)):
        raise ShapeError(f"{op}: labels {shape_str(labels.shape)} must have the shape of the "
                         f"logits {shape_str(logits.shape)} without the class axis {axis}, "
                         f"i.e. {shape_str(want)}")
    out = tuple(b if isinstance(b, int) or a is None else a for a, b in zip(labels.shape, want))
    return TensorType(logits.dtype, out)


def _sparse_normalize(types, attrs):
    attrs["axis"] = normalize_axis(int(attrs["axis"]), types[0].ndim,
                                   "sparse_softmax_cross_entropy")
    return attrs


def _sparse_ref(logits, labels, axis=-1):
    n = logits.shape[axis]
    if labels.size and (labels.min() < 0 or labels.max() >= n):
        bad = labels[(labels < 0) | (labels >= n)].reshape(-1)[0]
        raise ValueError(f"sparse_softmax_cross_entropy: label {bad} is out of range for "
                         f"{n} classes (valid labels are 0..{n - 1})")
    logp = _log_softmax_np(logits, axis)
    idx = np.expand_dims(labels.astype(np.int64), axis)
    return np.asarray(-np.take_along_axis(logp, idx, axis=axis).squeeze(axis),
                      dtype=logits.dtype)


def _one_hot_along(labels, like, axis):
    """One-hot of int ``labels`` with classes along ``axis`` of the float tensor ``like``."""
    n = like.shape[axis]
    if isinstance(n, int):
        oh = apply("one_hot", labels, num_classes=n, dtype=like.dtype)
        if axis != like.ndim - 1:
            perm = list(range(like.ndim - 1))
            perm.insert(axis, like.ndim - 1)
            oh = apply("transpose", oh, perm=tuple(perm))
        return oh
    # symbolic class count: compare a run-time iota along axis with the labels
    iota = apply("sub", apply("cumsum", apply("fill_like", like, value=1.0), axis=axis),
                 as_value(1.0, like=like))
    lab = apply("expand_dims", apply("cast", labels, dtype=like.dtype), axis=axis)
    return apply("cast", apply("equal", iota, lab), dtype=like.dtype)


def _sparse_grad(node, gouts):
    # dx = g (softmax(x) - one_hot(labels))
    x, labels = node.inputs
    axis = node.attrs["axis"]
    g = apply("expand_dims", gouts[0], axis=axis)
    diff = apply("sub", apply("softmax", x, axis=axis), _one_hot_along(labels, x, axis))
    return [apply("mul", g, diff), None]


defop("sparse_softmax_cross_entropy", cost=_per_element(5), infer=_sparse_infer, reference=_sparse_ref,
      grad=_sparse_grad, kind="other", defaults={"axis": -1}, normalize=_sparse_normalize,
      doc="-log_softmax(logits)[label] along axis, for integer labels; stable.")


def _sig_xent_ref(x, t):
    dt = result_dtype(x.dtype.name, t.dtype.name)
    x, t = x.astype(dt), t.astype(dt)
    return np.asarray(np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x))), dtype=dt)


def _sig_xent_grad(node, gouts):
    # dx = g (sigmoid(x) - t); dt = -g x
    x, t = node.inputs
    g = gouts[0]
    dx = apply("mul", g, apply("sub", apply("sigmoid", x), t))
    dt = apply("neg", apply("mul", g, x))
    return [unbroadcast(dx, x.type), unbroadcast(dt, t.type)]


def _sig_xent_infer(types):
    x, t = types
    if not is_float(x.dtype) or not is_float(t.dtype):
        raise ShapeError(f"sigmoid_cross_entropy: logits and targets must be float tensors, "
                         f"got {x} and {t}")
    return TensorType(result_dtype(x.dtype, t.dtype),
                      broadcast_shapes(x.shape, t.shape, op="sigmoid_cross_entropy"))


defop("sigmoid_cross_entropy", cost=_per_element(5), infer=_sig_xent_infer, reference=_sig_xent_ref,
      grad=_sig_xent_grad, kind="elementwise",
      scalar=lambda a: (f"(max({a[0]}, f32(0.0)) - {a[0]} * {a[1]} "
                        f"+ log1p(exp(-abs({a[0]}))))"),
      doc="Elementwise binary cross entropy of logits against targets in the stable form "
          "max(x, 0) - x t + log1p(exp(-|x|)).")
