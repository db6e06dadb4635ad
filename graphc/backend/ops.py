"""Tensor operations under their Keras 2 backend names: arithmetic, reductions, comparisons,
linear algebra and array manipulation. Each builds IR nodes with ``graphc.ir.ops.apply``."""
from __future__ import annotations

import builtins

import numpy as np

from ..ir.node import Value
from ..ir.ops import apply, as_value
from ..ir.types import as_dtype, is_float, is_int
from .common import floatx
from .variables import constant


def _v(x, like=None) -> Value:
    """A Value from a Value, array or number (numbers take ``like``'s dtype)."""
    return as_value(x, like=like if isinstance(like, Value) else None)


def _pair(x, y):
    if isinstance(x, Value):
        return x, _v(y, x)
    if isinstance(y, Value):
        return _v(x, y), y
    return _v(x), _v(y)


def _axes(axis):
    if axis is None:
        return None
    if isinstance(axis, (list, tuple)):
        return tuple(int(a) for a in axis)
    return int(axis)


def _float(x: Value) -> Value:
    return x if is_float(x.dtype) else apply("cast", x, dtype=floatx())


# -- reductions -------------------------------------------------------------------------------

def _reduce(op, x, axis, keepdims, to_float=False):
    x = _v(x)
    if to_float or (op in ("sum", "prod", "max", "min") and x.dtype == "bool"):
        x = _float(x)
    return apply(op, x, axes=_axes(axis), keepdims=bool(keepdims))


def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Sum over ``axis`` (an int, a list of ints or None for all)."""
    return _reduce("sum", x, axis, keepdims)


def prod(x, axis=None, keepdims=False):
    """Product over ``axis``."""
    return _reduce("prod", x, axis, keepdims)


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis`` (int and bool tensors are averaged as floatx).

    Example:
        >>> def mean_pred(y_true, y_pred):
        ...     return K.mean(y_pred)
    """
    return _reduce("mean", x, axis, keepdims, to_float=not is_float(_v(x).dtype))


def max(x, axis=None, keepdims=False):  # noqa: A001
    """Maximum over ``axis``."""
    return _reduce("max", x, axis, keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    """Minimum over ``axis``."""
    return _reduce("min", x, axis, keepdims)


def var(x, axis=None, keepdims=False):
    """Variance over ``axis``."""
    return _reduce("var", x, axis, keepdims, to_float=not is_float(_v(x).dtype))


def std(x, axis=None, keepdims=False):
    """Standard deviation over ``axis``."""
    return _reduce("std", x, axis, keepdims, to_float=not is_float(_v(x).dtype))


def any(x, axis=None, keepdims=False):  # noqa: A001
    """Logical or over ``axis`` (bool result)."""
    x = _v(x)
    if x.dtype != "bool":
        x = apply("cast", x, dtype="bool")
    return apply("any", x, axes=_axes(axis), keepdims=bool(keepdims))


def all(x, axis=None, keepdims=False):  # noqa: A001
    """Logical and over ``axis`` (bool result)."""
    x = _v(x)
    if x.dtype != "bool":
        x = apply("cast", x, dtype="bool")
    return apply("all", x, axes=_axes(axis), keepdims=bool(keepdims))


def argmax(x, axis=-1):
    """Index of the maximum along ``axis`` (int64)."""
    return apply("argmax", _v(x), axis=int(axis))


def argmin(x, axis=-1):
    """Index of the minimum along ``axis`` (int64)."""
    return apply("argmin", _v(x), axis=int(axis))


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x), axis))``, computed stably."""
    return _reduce("logsumexp", x, axis, keepdims)


def cumsum(x, axis=0):
    """Cumulative sum along ``axis``."""
    return apply("cumsum", _v(x), axis=int(axis))


def cumprod(x, axis=0):
    """Cumulative product along ``axis``."""
    return apply("cumprod", _v(x), axis=int(axis))


# -- elementwise ------------------------------------------------------------------------------

def _unary(op):
    def fn(x):
        return apply(op, _v(x))
    fn.__name__ = op
    fn.__doc__ = f"Elementwise {op}."
    return fn


square = _unary("square")
abs = _unary("abs")  # noqa: A001
exp = _unary("exp")
log = _unary("log")
sign = _unary("sign")
sin = _unary("sin")
cos = _unary("cos")
floor = _unary("floor")
ceil = _unary("ceil")
log1p = _unary("log1p")
expm1 = _unary("expm1")


def round(x):  # noqa: A001
    """Round half to even (as tf.round)."""
    return apply("round", _v(x))


def sqrt(x):
    """Square root; like Keras, ``x`` is first clipped to [0, inf)."""
    x = _v(x)
    return apply("sqrt", apply("clip", x, min=0.0, max=None))


def pow(x, a):  # noqa: A001
    """``x ** a``."""
    x, a = _pair(x, a)
    return apply("pow", x, a)


def clip(x, min_value, max_value):
    """Clip to [min_value, max_value] (None = unbounded; max < min means max = min)."""
    x = _v(x)
    lo = None if min_value is None else float(min_value)
    hi = None if max_value is None else float(max_value)
    if str(x.type.dtype) != "float64":
        return apply("clip", x, min=lo, max=hi)
    # The clip op's scalar template writes its bounds as float32 literals, so a float64 input
    # would be clipped at float32-rounded bounds (0.1 -> 0.10000000149...). Clip float64 with
    # maximum/minimum against float64 constants instead: the same values, and the same
    # gradient (ties go to the first input x, so it passes for lo <= x <= hi, inclusive).
    if lo is not None and hi is not None and hi < lo:
        hi = lo          # Keras 2: max_value < min_value -> max_value = min_value
    out = x
    if lo is not None:
        out = apply("maximum", out, _v(lo, x))
    if hi is not None:
        out = apply("minimum", out, _v(hi, x))
    return out


def _binary(op):
    def fn(x, y):
        x, y = _pair(x, y)
        return apply(op, x, y)
    fn.__name__ = op
    fn.__doc__ = f"Elementwise {op} (broadcasting)."
    return fn


equal = _binary("equal")
not_equal = _binary("not_equal")
greater = _binary("greater")
greater_equal = _binary("greater_equal")
less = _binary("less")
less_equal = _binary("less_equal")
maximum = _binary("maximum")
minimum = _binary("minimum")
logical_and = _binary("logical_and")
logical_or = _binary("logical_or")


def cast(x, dtype):
    """``x`` converted to ``dtype``."""
    return apply("cast", _v(x), dtype=as_dtype(dtype))


# -- linear algebra ---------------------------------------------------------------------------

def dot(x, y):
    """Keras's dot: matrix product for 2-D; for n-D, the last axis of ``x`` with the
    second-to-last of ``y`` (as Theano's / Keras's ``K.dot``)."""
    x, y = _pair(x, y)
    return apply("dot", x, y)


def batch_dot(x, y, axes=None):
    """Batchwise dot product (Keras 2's ``K.batch_dot``)."""
    x, y = _pair(x, y)
    if isinstance(axes, int):
        axes = (axes, axes)
    if axes is None:
        axes = (x.ndim - 1, y.ndim - 2) if y.ndim > 2 else (x.ndim - 1, y.ndim - 1)
    return apply("batch_dot", x, y, axes=tuple(int(a) for a in axes))


def transpose(x):
    """Reverse the axes of ``x``."""
    x = _v(x)
    return apply("transpose", x, perm=tuple(reversed(range(x.ndim))))


def permute_dimensions(x, pattern):
    """Reorder the axes, e.g. ``pattern=(0, 2, 1)``."""
    return apply("transpose", _v(x), perm=tuple(int(p) for p in pattern))


# -- array manipulation -----------------------------------------------------------------------

def reshape(x, shape):
    """Reshape ``x``; ``shape`` may hold one -1 (or one tensor / None for a run-time size,
    as in Keras's ``K.reshape(x, (K.shape(x)[0],) + target_shape)``)."""
    x = _v(x)
    if isinstance(shape, Value):
        raise TypeError("K.reshape: shape must be a tuple (of ints, with at most one -1), "
                        "not a symbolic tensor")
    dims, dynamic = [], 0
    for d in (shape if isinstance(shape, (tuple, list)) else (shape,)):
        if isinstance(d, Value) or d is None:
            dims.append(-1)
            dynamic += 1
        else:
            dims.append(int(d))
    if dims.count(-1) > 1:
        raise ValueError(f"K.reshape: at most one dimension of the target shape may be "
                         f"unknown (-1, None or a tensor), got {tuple(shape)!r}")
    return apply("reshape", x, shape=tuple(dims))


def expand_dims(x, axis=-1):
    """Insert a size-1 axis at ``axis``."""
    return apply("expand_dims", _v(x), axis=int(axis))


def squeeze(x, axis):
    """Remove the size-1 axis ``axis``."""
    return apply("squeeze", _v(x), axis=int(axis))


def flatten(x):
    """A 1-D tensor of all the elements of ``x``."""
    return apply("reshape", _v(x), shape=(-1,))


def batch_flatten(x):
    """Flatten every axis but the first: (B, a, b) -> (B, a*b)."""
    return apply("flatten", _v(x))


def concatenate(tensors, axis=-1):
    """Join tensors along ``axis``."""
    tensors = [_v(t) for t in tensors]
    return apply("concatenate", *tensors, axis=int(axis))


def stack(x, axis=0):
    """Stack tensors of equal shape along a new ``axis``."""
    return apply("stack", *[_v(t) for t in x], axis=int(axis))


def gather(reference, indices):
    """``reference[indices]`` along axis 0 (indices are cast to int64 if needed)."""
    reference = _v(reference)
    indices = _v(indices)
    if not is_int(indices.dtype):
        indices = apply("cast", indices, dtype="int64")
    return apply("gather", reference, indices, axis=0)


def one_hot(indices, num_classes):
    """One-hot encoding: (..., ) int -> (..., num_classes) float."""
    indices = _v(indices)
    if not is_int(indices.dtype):
        indices = apply("cast", indices, dtype="int64")
    return apply("one_hot", indices, num_classes=int(num_classes))


def tile(x, n):
    """Tile ``x``: ``n`` holds one repetition count per axis (an int or a shorter list
    applies to the last axes, as numpy's tile)."""
    x = _v(x)
    reps = (int(n),) if isinstance(n, (int, np.integer)) else tuple(int(r) for r in n)
    if len(reps) < x.ndim:
        reps = (1,) * (x.ndim - len(reps)) + reps
    return apply("tile", x, reps=reps)


def repeat(x, n):
    """Repeat a 2-D tensor: (samples, dim) -> (samples, n, dim)."""
    x = _v(x)
    if x.ndim != 2:
        raise ValueError(f"K.repeat expects a 2-D tensor (samples, dim), got {x.type}")
    return apply("repeat", apply("expand_dims", x, axis=1), repeats=int(n), axis=1)


def repeat_elements(x, rep, axis):
    """Repeat each element ``rep`` times along ``axis`` (np.repeat)."""
    return apply("repeat", _v(x), repeats=int(rep), axis=int(axis))


def reverse(x, axes):
    """Reverse along ``axes`` (an int or a list)."""
    x = _v(x)
    axes = (int(axes),) if isinstance(axes, (int, np.integer)) else tuple(int(a) for a in axes)
    return apply("reverse", x, axes=axes)


def _pad(x, pads):
    return apply("pad", x, pads=tuple((int(a), int(b)) for a, b in pads), mode="constant",
                 constant_value=0.0)


def temporal_padding(x, padding=(1, 1)):
    """Zero-pad the middle axis of a 3-D tensor: (B, T, C) -> (B, T + a + b, C)."""
    x = _v(x)
    if x.ndim != 3:
        raise ValueError(f"K.temporal_padding expects a 3-D tensor, got {x.type}")
    return _pad(x, ((0, 0), tuple(padding), (0, 0)))


def spatial_2d_padding(x, padding=((1, 1), (1, 1)), data_format=None):
    """Zero-pad the two spatial axes of a 4-D tensor."""
    from .common import normalize_data_format
    x = _v(x)
    if x.ndim != 4:
        raise ValueError(f"K.spatial_2d_padding expects a 4-D tensor, got {x.type}")
    (a, b), (c, d) = padding
    if normalize_data_format(data_format) == "channels_first":
        return _pad(x, ((0, 0), (0, 0), (a, b), (c, d)))
    return _pad(x, ((0, 0), (a, b), (c, d), (0, 0)))


def spatial_3d_padding(x, padding=((1, 1), (1, 1), (1, 1)), data_format=None):
    """Zero-pad the three spatial axes of a 5-D tensor."""
    from .common import normalize_data_format
    x = _v(x)
    p = tuple(tuple(q) for q in padding)
    if normalize_data_format(data_format) == "channels_first":
        return _pad(x, ((0, 0), (0, 0)) + p)
    return _pad(x, ((0, 0),) + p + ((0, 0),))


def resize_images(x, height_factor, width_factor, data_format, interpolation="nearest"):
    """Nearest-neighbour upsampling of the spatial axes by integer factors."""
    from .common import normalize_data_format
    if interpolation != "nearest":
        raise ValueError(f"K.resize_images: interpolation must be 'nearest', got "
                         f"{interpolation!r}")
    x = _v(x)
    h, w = (2, 3) if normalize_data_format(data_format) == "channels_first" else (1, 2)
    x = apply("repeat", x, repeats=int(height_factor), axis=h)
    return apply("repeat", x, repeats=int(width_factor), axis=w)


def slice(x, start, size):  # noqa: A001
    """``x[start[i] : start[i] + size[i]]`` on every axis (size -1 = to the end)."""
    x = _v(x)
    key = tuple(builtins.slice(int(s), None if int(n) == -1 else int(s) + int(n))
                for s, n in zip(start, size))
    return x[key]


def arange(start, stop=None, step=1, dtype="int32"):
    """A 1-D constant tensor ``[start, stop)`` with ``step``."""
    if stop is None:
        start, stop = 0, start
    return constant(np.arange(start, stop, step), dtype=dtype)
