"""The op registry: every op is defined ONCE, as an ``OpDef``, in one file per family.

An ``OpDef`` holds everything about an op:

* ``infer(in_types, **attrs) -> TensorType | list[TensorType]`` -- shape and dtype inference;
  raises ``ShapeError`` with a message naming the op and the shapes (``apply`` adds the layer
  and the user's ``file:line``);
* ``reference(*arrays, **attrs) -> ndarray | list[ndarray]`` -- the numpy implementation used
  by the reference interpreter (the oracle), constant folding and the fallback executor;
* ``grad(node, gouts) -> list[Value | None]`` -- the vector-Jacobian product written in graphc
  ops, so autodiff output is ordinary IR. ``gouts`` holds one cotangent per output (``None``
  where an output receives none). Return one entry per input; ``None`` = no gradient;
* ``kind`` -- what passes and code generators need to know: ``elementwise`` (with ``scalar``),
  ``reduction``, ``contraction``, ``shape``, ``source``, ``random``, ``nn``, ``loop``, ``other``;
* ``scalar(args: list[str], **attrs) -> str`` -- for elementwise ops: the scalar expression of
  one output element in terms of the input element expressions (Python/numba syntax, float32
  safe: write constants with ``f32(...)``), used by every fused-kernel generator;
* ``normalize(in_types, attrs) -> attrs`` -- optional: canonical attributes (``axes=-1`` ->
  ``(2,)``) so that equal nodes print and compare equal;
* ``defaults`` -- attribute names and default values; ``random`` ops get an ``rng`` keyword
  (a ``numpy.random.Generator``) in ``reference``;
* ``aliases`` -- whether an output may share memory with an input, for memory planning and
  in-place writes in every code generator: ``"fresh"`` (always a new value; the default for
  elementwise ops, reductions and contractions), ``"view"`` (the same elements in the same
  order, e.g. a reshape: free on every target), ``"strided_view"`` (the same elements, other
  strides: a transpose), or None (unknown: treated as possibly aliasing).

Build nodes with ``apply(op_name, *inputs, **attrs)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..node import Node, Value, current_scope, user_location
from ..types import ShapeError, TensorType, as_dtype

ALIASES = ("fresh", "view", "strided_view", None)
KINDS = ("elementwise", "reduction", "contraction", "shape", "source", "random", "nn", "loop",
         "other")


@dataclass(frozen=True)
class Reduction:
    """How a reduction op folds the elements it reduces, for every code generator.

    The accumulator starts at ``identity`` (by dtype: ``"zero"``, ``"one"``, ``"lowest"`` --
    -inf, or an int dtype's minimum --, ``"highest"``, ``"false"``, ``"true"``), each element
    is folded in with ``combine(acc, x)`` (a scalar template, as an elementwise op's
    ``scalar``: source text over the two expressions), and ``finalize`` is None or
    ``"mean"`` (divide by the number of elements).

    Example:
        >>> REGISTRY["max"].reduction.identity_value("float32")
        -inf
        >>> REGISTRY["sum"].reduction.combine("s", "x")
        's + x'
    """
    identity: str
    combine: Callable[[str, str], str]
    finalize: str | None = None

    IDENTITIES = ("zero", "one", "lowest", "highest", "false", "true")

    def __post_init__(self):
        if self.identity not in self.IDENTITIES:
            raise ValueError(f"reduction identity must be one of {self.IDENTITIES}, got "
                             f"{self.identity!r}")
        if self.finalize not in (None, "mean"):
            raise ValueError(f"reduction finalize must be None or 'mean', got "
                             f"{self.finalize!r}")

    def identity_value(self, dtype: str):
        """The identity as a Python scalar for an accumulator of ``dtype``."""
        import numpy as np
        if self.identity in ("false", "true"):
            return self.identity == "true"
        if self.identity in ("zero", "one"):
            return 0 if self.identity == "zero" else 1
        dt = np.dtype(dtype)
        if dt.kind == "f":
            return float("-inf") if self.identity == "lowest" else float("inf")
        info = np.iinfo(dt)
        return int(info.min if self.identity == "lowest" else info.max)


@dataclass
class OpDef:
    name: str
    infer: Callable
    reference: Callable
    grad: Callable | None = None
    kind: str = "other"
    scalar: Callable | None = None
    defaults: dict = field(default_factory=dict)
    doc: str = ""
    num_outputs: int = 1          # informational; infer decides (a list means several outputs)
    normalize: Callable | None = None  # (in_types, attrs) -> canonical attrs (e.g. axes tuple)
    aliases: str | None = None    # "fresh" | "view" | "strided_view" | None (see above)
    reduction: Reduction | None = None   # a reduction's identity / combine (see Reduction)
    # FLOPs of one run: cost(node, in_arrays, out_arrays) -> int; None: the rule of the op's
    # kind (graphc.profiler.kernel_cost: 1 per output element of an elementwise op, 1 per
    # input element of a reduction or an nn op, 0 for shape ops)
    cost: Callable | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"op {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.aliases is None and self.kind in ("elementwise", "reduction", "contraction"):
            self.aliases = "fresh"
        if self.aliases not in ALIASES:
            raise ValueError(f"op {self.name!r}: aliases must be one of {ALIASES}, got "
                             f"{self.aliases!r}")
        if self.reduction is not None and self.kind != "reduction":
            raise ValueError(f"op {self.name!r}: only a reduction has reduction facts")
        if self.kind == "elementwise" and self.scalar is None:
            raise ValueError(f"elementwise op {self.name!r} needs a scalar template")


REGISTRY: dict[str, OpDef] = {}


def register(opdef: OpDef) -> OpDef:
    """Add an op to the registry. Re-registering a name replaces it (interactive sessions)."""
    REGISTRY[opdef.name] = opdef
    return opdef


def defop(name, *, infer, reference, grad=None, kind="other", scalar=None, defaults=None,
          doc="", num_outputs=1, normalize=None, aliases=None, reduction=None,
          cost=None) -> OpDef:
    return register(OpDef(name, infer, reference, grad, kind, scalar, dict(defaults or {}), doc,
                          num_outputs, normalize, aliases, reduction, cost))


class OpError(ShapeError):
    """A node that cannot be built; the message names the op, the shapes and the provenance."""


def apply(op: str, *inputs, **attrs):
    """Build a node of ``op`` on ``inputs`` and return its output Value (a tuple if several).

    Example:
        >>> y = apply("add", x, b)
    """
    try:
        opdef = REGISTRY[op]
    except KeyError:
        raise KeyError(f"unknown op {op!r}") from None
    inputs = tuple(inputs)
    for i, v in enumerate(inputs):
        if not isinstance(v, Value):
            raise TypeError(f"{op}: input {i} must be a symbolic tensor (graphc Value), got "
                            f"{type(v).__name__}; wrap constants with K.constant")
    full = dict(opdef.defaults)
    unknown = set(attrs) - set(full)
    if unknown:
        raise TypeError(f"{op}: unknown attribute(s) {sorted(unknown)}; valid: {sorted(full)}")
    full.update(attrs)
    try:
        if opdef.normalize is not None:
            full = opdef.normalize([v.type for v in inputs], dict(full))
        out = opdef.infer([v.type for v in inputs], **full)
    except ShapeError as e:
        where = current_scope() or "<top level>"
        src = user_location()
        raise OpError(f"{e} (in {where}" + (f", at {src})" if src else ")")) from None
    types = list(out) if isinstance(out, (list, tuple)) else [out]
    node = Node(op, inputs, full, types)
    return node.outputs if isinstance(out, (list, tuple)) else node.outputs[0]


def source(op: str, type_: TensorType, **attrs) -> Value:
    """A node without inputs (input / variable / constant)."""
    return Node(op, (), attrs, [type_]).outputs[0]


def constant(value, dtype=None, name=None) -> Value:
    """A constant node holding a numpy array."""
    arr = np.asarray(value, dtype=None if dtype is None else as_dtype(dtype))
    if arr.dtype == np.float64 and dtype is None and not isinstance(value, np.ndarray):
        arr = arr.astype(np.float32)  # Python floats become floatx-sized constants
    if arr.dtype.name not in ("float16", "float32", "float64", "int8", "int16", "int32",
                              "int64", "uint8", "bool"):
        arr = arr.astype(np.int64 if arr.dtype.kind in "iu" else np.float32)
    arr.setflags(write=False)
    return source("constant", TensorType(arr.dtype.name, arr.shape), value=arr, name=name)


def as_value(x, like: Value | None = None) -> Value:
    """A Value from a Value, a numpy array or a Python number.

    A Python scalar takes the dtype of ``like`` (``x * 2`` keeps ``x`` float32), as in Keras.
    """
    if isinstance(x, Value):
        return x
    if like is not None and isinstance(x, (int, float, bool, np.number, np.bool_)):
        dt = like.dtype
        if isinstance(x, float) and not dt.startswith("float"):
            dt = "float32"
        return constant(np.asarray(x, dtype=dt))
    return constant(x)


# The op families register themselves on import.
from . import core  # noqa: E402,F401
import importlib as _importlib  # noqa: E402

for _family in ("elementwise", "reduce", "linalg", "shape", "nn", "random", "control", "fused"):
    try:
        _importlib.import_module(f"{__name__}.{_family}")
    except ModuleNotFoundError as _e:  # a family not written yet
        if _e.name != f"{__name__}.{_family}":
            raise
