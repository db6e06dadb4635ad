"""Nodes and values: the vertices of the IR.

A ``Node`` applies one registered op to input ``Value``s with attributes and produces one or more
output ``Value``s. Nodes are immutable once built. Source nodes (ops ``input``, ``variable``,
``constant``) have no inputs. Every node records its provenance: the name scope it was built in
(the layer, e.g. ``dense_1``) and the ``file:line`` of the user code that created it.

``Value`` is also the symbolic tensor users hold: it supports Python operators (+ - * / ** @,
comparisons, indexing, ``.T``, ``.shape``, ``.ndim``) which build new nodes.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import sys
import threading

import numpy as np

from .types import TensorType

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_ids = itertools.count()
_scope = threading.local()


@contextlib.contextmanager
def name_scope(name: str):
    """Nodes built inside ``with name_scope('dense_1'):`` carry that name as provenance.

    Nested scopes join with '/'. Layers open one around ``call``.
    """
    stack = getattr(_scope, "stack", None)
    if stack is None:
        stack = _scope.stack = []
    stack.append(name)
    try:
        yield
    finally:
        stack.pop()


@contextlib.contextmanager
def provenance_of(node):
    """Nodes built inside carry ``node``'s scope and source line (used by rewrites, so a
    replacement still names the user's layer and line)."""
    old = getattr(_scope, "override", None)
    _scope.override = (node.scope, node.src)
    try:
        yield
    finally:
        _scope.override = old


def current_scope() -> str:
    stack = getattr(_scope, "stack", None)
    return "/".join(stack) if stack else ""


_OURS: dict[str, bool] = {}     # code file name -> inside graphc (or import machinery)


def _ours(fname: str) -> bool:
    got = _OURS.get(fname)
    if got is None:
        got = _OURS[fname] = os.path.abspath(fname).startswith(_PKG_DIR + os.sep) or \
            "importlib" in fname or fname.startswith("<frozen ")
    return got


def user_location() -> str:
    """``file:line`` of the innermost frame outside the graphc package (the user's code)."""
    frame = sys._getframe(1)
    while frame is not None:
        fname = frame.f_code.co_filename
        if not _ours(fname):
            return f"{os.path.basename(fname)}:{frame.f_lineno}"
        frame = frame.f_back
    return ""


class Node:
    """One application of an op. Build nodes with ``graphc.ir.ops.apply``, not directly."""

    __slots__ = ("id", "op", "inputs", "attrs", "outputs", "scope", "src", "__weakref__")

    def __init__(self, op: str, inputs, attrs: dict, out_types, scope=None, src=None):
        self.id = next(_ids)
        self.op = op
        self.inputs = tuple(inputs)
        self.attrs = dict(attrs)
        override = getattr(_scope, "override", None)
        if override is not None and scope is None and src is None:
            scope, src = override
        self.scope = current_scope() if scope is None else scope
        self.src = user_location() if src is None else src
        self.outputs = tuple(Value(t, self, i) for i, t in enumerate(out_types))

    @property
    def opdef(self):
        from .ops import REGISTRY
        return REGISTRY[self.op]

    @property
    def provenance(self) -> str:
        """``scope (file:line)`` for error messages."""
        where = self.scope or "<top level>"
        return f"{where} ({self.src})" if self.src else where

    def __repr__(self):
        ins = ", ".join(f"%{v.node.id}" for v in self.inputs)
        return f"<Node {self.op}({ins}) #{self.id}>"


class Value:
    """A typed symbolic tensor: output ``index`` of ``node``."""

    __slots__ = ("type", "node", "index", "_keras_history", "_keras_shape", "_uses_learning_phase",
                 "_keras_mask", "__weakref__", "__dict__")
    __array_priority__ = 100  # numpy defers to our operators: np_array + value -> Value

    def __init__(self, type_: TensorType, node: Node, index: int = 0):
        self.type = type_
        self.node = node
        self.index = index

    # -- type information -------------------------------------------------------------------
    @property
    def dtype(self) -> str:
        return self.type.dtype

    @property
    def shape(self) -> tuple:
        """Static shape; symbolic dims as names (e.g. 'B') or None when unknown."""
        return self.type.shape

    @property
    def ndim(self) -> int:
        return self.type.ndim

    @property
    def op(self) -> str:
        return self.node.op

    @property
    def name(self) -> str:
        n = self.node
        if n.op in ("input", "variable"):
            return n.attrs["name"]
        base = n.scope + "/" if n.scope else ""
        return f"{base}{n.op}_{n.id}" + (f":{self.index}" if len(n.outputs) > 1 else "")

    @property
    def variable(self):
        """The storage object of a variable value (``None`` for other values)."""
        return self.node.attrs.get("var") if self.node.op == "variable" else None

    def __repr__(self):
        return f"<graphc.Value {self.name!r} {self.type}>"

    def __hash__(self):
        return id(self)

    def __bool__(self):
        raise TypeError(
            "a symbolic tensor has no truth value while the graph is being built; use K.switch "
            "or graphc ops (K.greater, K.all, ...) instead of Python `if`/`and`/`or`")

    def __len__(self):
        d = self.shape[0] if self.ndim else None
        if not isinstance(d, int):
            raise TypeError(f"len() of a symbolic tensor whose first dimension is {d!r} is "
                            f"unknown until run time; use K.shape(x)[0]")
        return d

    def __iter__(self):
        raise TypeError("a symbolic tensor is not iterable; index it (x[0]) or use K.unstack")

    # -- operators (the op builders live in graphc.ir.ops; imported lazily) ------------------
    def _bin(self, op, other, reverse=False):
        from . import ops
        other = ops.as_value(other, like=self)
        return ops.apply(op, other, self) if reverse else ops.apply(op, self, other)

    def __add__(self, o): return self._bin("add", o)
    def __radd__(self, o): return self._bin("add", o, True)
    def __sub__(self, o): return self._bin("sub", o)
    def __rsub__(self, o): return self._bin("sub", o, True)
    def __mul__(self, o): return self._bin("mul", o)
    def __rmul__(self, o): return self._bin("mul", o, True)
    def __truediv__(self, o): return self._bin("div", o)
    def __rtruediv__(self, o): return self._bin("div", o, True)
    def __floordiv__(self, o): return self._bin("floordiv", o)
    def __rfloordiv__(self, o): return self._bin("floordiv", o, True)
    def __mod__(self, o): return self._bin("mod", o)
    def __rmod__(self, o): return self._bin("mod", o, True)
    def __pow__(self, o): return self._bin("pow", o)
    def __rpow__(self, o): return self._bin("pow", o, True)
    def __matmul__(self, o): return self._bin("matmul", o)
    def __rmatmul__(self, o): return self._bin("matmul", o, True)
    def __lt__(self, o): return self._bin("less", o)
    def __le__(self, o): return self._bin("less_equal", o)
    def __gt__(self, o): return self._bin("greater", o)
    def __ge__(self, o): return self._bin("greater_equal", o)
    def __and__(self, o): return self._bin("logical_and", o)
    def __or__(self, o): return self._bin("logical_or", o)
    def __xor__(self, o): return self._bin("logical_xor", o)

    # == and != stay identity comparisons (Values are dict keys); use K.equal / K.not_equal.

    def __neg__(self):
        from . import ops
        return ops.apply("neg", self)

    def __pos__(self):
        return self

    def __abs__(self):
        from . import ops
        return ops.apply("abs", self)

    def __invert__(self):
        from . import ops
        return ops.apply("logical_not", self)

    def __getitem__(self, key):
        from .ops.shape import getitem
        return getitem(self, key)

    @property
    def T(self):
        from . import ops
        return ops.apply("transpose", self, perm=tuple(reversed(range(self.ndim))))

    def eval(self):
        """Evaluate a value that depends on no placeholder (like Keras's ``K.eval``)."""
        from .interpreter import evaluate
        return evaluate([self], {})[0]

    def numpy(self):
        return self.eval()

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            f"cannot convert the symbolic tensor {self.name!r} to a numpy array while building "
            f"the graph; evaluate it with K.function(...) or K.eval(x)")


class Variable:
    """Storage of a variable: a numpy array that compiled functions read and update in place."""

    __slots__ = ("value", "name", "trainable", "constraint", "__weakref__")

    def __init__(self, value: np.ndarray, name: str, trainable: bool = True, constraint=None):
        self.value = value
        self.name = name
        self.trainable = trainable
        self.constraint = constraint

    def __repr__(self):
        return f"<Variable {self.name} {self.value.dtype}{list(self.value.shape)}>"
