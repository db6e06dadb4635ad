"""Types of IR values: a dtype and a static shape whose dimensions may be symbolic.

A dimension is one of
  * an ``int`` >= 0            -- known statically;
  * a ``str`` such as ``"B"``  -- a named symbol, the same size wherever the name appears in a
                                 graph (the batch dimension of every input is ``"B"``);
  * ``None``                   -- unknown (e.g. the result of a reshape of a symbolic dim).
Symbolic and unknown dimensions are bound to sizes when a function is called.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Dim = "int | str | None"

DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")
FLOAT_DTYPES = ("float16", "float32", "float64")
INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8")

SHORT = {"float16": "f16", "float32": "f32", "float64": "f64", "int8": "i8", "int16": "i16",
         "int32": "i32", "int64": "i64", "uint8": "u8", "bool": "bool"}
LONG = {v: k for k, v in SHORT.items()}


class ShapeError(ValueError):
    """Shapes or dtypes that an op cannot accept, found while building the graph."""


def as_dtype(dtype) -> str:
    """Canonical dtype name ('float32', ...) from a string, numpy dtype or Python type."""
    if isinstance(dtype, str) and dtype in LONG:
        return LONG[dtype]
    try:
        name = np.dtype(dtype).name
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}; valid dtypes are: {', '.join(DTYPES)}") from None
    if name not in DTYPES:
        raise TypeError(f"unsupported dtype {name!r}; valid dtypes are: {', '.join(DTYPES)}")
    return name


def is_float(dtype: str) -> bool:
    return dtype in FLOAT_DTYPES


def is_int(dtype: str) -> bool:
    return dtype in INT_DTYPES


def result_dtype(*dtypes: str) -> str:
    """The dtype of an arithmetic op on these inputs (numpy promotion, without float64 creep:
    two different float widths promote to the wider one, ints with floats give the float)."""
    floats = [d for d in dtypes if is_float(d)]
    if floats:
        return max(floats, key=FLOAT_DTYPES.index)
    return np.result_type(*[np.dtype(d) for d in dtypes]).name


def dim_str(d) -> str:
    return "?" if d is None else str(d)


def shape_str(shape) -> str:
    return "[" + ",".join(dim_str(d) for d in shape) + "]"


@dataclass(frozen=True)
class TensorType:
    """The static type of a value: ``dtype`` (canonical name) and ``shape`` (tuple of Dim)."""
    dtype: str
    shape: tuple

    def __post_init__(self):
        object.__setattr__(self, "dtype", as_dtype(self.dtype))
        shape = tuple(None if d is None else (d if isinstance(d, str) else int(d))
                      for d in self.shape)
        object.__setattr__(self, "shape", shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def static(self) -> bool:
        """True when every dimension is a known int."""
        return all(isinstance(d, int) for d in self.shape)

    def size(self):
        """Number of elements, or None if a dimension is not static."""
        return int(np.prod(self.shape)) if self.static else None

    def __str__(self) -> str:
        return SHORT[self.dtype] + shape_str(self.shape)


def known(d) -> bool:
    return isinstance(d, int)


def dims_equal(a, b) -> bool:
    """Statically known to be equal."""
    return a == b and a is not None


def dims_compatible(a, b) -> bool:
    """Could be equal at run time (only two different ints are incompatible)."""
    return not (known(a) and known(b) and a != b)


def broadcast_dim(a, b):
    if a == 1:
        return b
    if b == 1:
        return a
    if known(a) and known(b):
        return a if a == b else _NO
    if a == b:
        return a
    if known(a):       # a symbol broadcast against n > 1 must be n (or 1)
        return a
    if known(b):
        return b
    return None


_NO = object()


def broadcast_shapes(*shapes, op: str = "broadcast"):
    """Numpy broadcasting of static shapes with symbolic dims; ShapeError if impossible."""
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for s in shapes:
        padded = (1,) * (ndim - len(s)) + tuple(s)
        for i, d in enumerate(padded):
            r = broadcast_dim(out[i], d)
            if r is _NO:
                raise ShapeError(
                    f"{op}: shapes {', '.join(shape_str(x) for x in shapes)} cannot be broadcast "
                    f"together (axis {i - ndim}: {dim_str(out[i])} vs {dim_str(d)})")
            out[i] = r
    return tuple(out)


def normalize_axis(axis: int, ndim: int, op: str = "op") -> int:
    if not -ndim <= axis < max(ndim, 1):
        raise ShapeError(f"{op}: axis {axis} is out of range for a tensor of rank {ndim}")
    return axis % ndim if ndim else 0


def normalize_axes(axes, ndim: int, op: str = "op") -> tuple:
    """None -> all axes; an int or sequence -> a sorted tuple of non-negative axes."""
    if axes is None:
        return tuple(range(ndim))
    if isinstance(axes, (int, np.integer)):
        axes = (int(axes),)
    out = sorted({normalize_axis(int(a), ndim, op) for a in axes})
    return tuple(out)
