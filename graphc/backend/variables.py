"""Tensors and state: placeholders, variables, constants, reading and writing variable values,
and the update pairs that ``K.function`` applies."""
from __future__ import annotations

import itertools

import numpy as np

from ..ir.node import Value, Variable, current_scope
from ..ir.ops import apply, as_value, source
from ..ir.ops import constant as _ir_constant
from ..ir.types import TensorType, as_dtype
from .common import floatx

_var_names: dict[str, int] = {}
_placeholder_names: dict[str, int] = {}
_symbols = itertools.count(1)


def reset_names() -> None:
    """Forget the variable, placeholder and dimension-symbol names handed out
    (``clear_session``), so a rebuilt model dumps the same text."""
    global _symbols
    _var_names.clear()
    _placeholder_names.clear()
    _symbols = itertools.count(1)


def _unique(base: str, used: dict) -> str:
    n = used.get(base, 0)
    used[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def _check_value(x, fn: str) -> Value:
    if not isinstance(x, Value):
        raise TypeError(f"K.{fn} expects a symbolic tensor (graphc Value), got "
                        f"{type(x).__name__}")
    return x


def _check_variable(x, fn: str) -> Variable:
    if not isinstance(x, Value) or x.node.op != "variable":
        what = f"the {x.op} tensor {x.name!r}" if isinstance(x, Value) else type(x).__name__
        raise TypeError(f"K.{fn} expects a variable (made by K.variable), got {what}")
    return x.node.attrs["var"]


# -- creation ---------------------------------------------------------------------------------

def placeholder(shape=None, ndim=None, dtype=None, sparse=False, name=None) -> Value:
    """A symbolic input fed when a function is called.

    Args:
        shape: a tuple of ints and None; the first None becomes the batch dim ``B``, others
            named symbols (``N1``, ``N2``, ...) that are bound at call time.
        ndim: the rank, when ``shape`` is not given (all dims unknown).
        dtype: default ``floatx()``.
        sparse: declare the input sparse. graphc has no sparse tensors: the placeholder is
            dense and remembers the declaration (``K.is_sparse(x)`` is True). A function
            taking it accepts scipy.sparse matrices, densified on each call; numpy arrays
            work too.
        name: a name for dumps and errors (unique names are made by default).
    Returns:
        A Value of op ``input``.

    Example:
        >>> x = K.placeholder(shape=(None, 784))
        >>> x.shape
        ('B', 784)
        >>> s = K.placeholder(shape=(None, 3), sparse=True)
        >>> f = K.function([s], [K.sum(K.to_dense(s), axis=1)])
        >>> f([scipy.sparse.csr_matrix(np.eye(3))])
        [array([1., 1., 1.], dtype=float32)]
    """
    if shape is None:
        if ndim is None:
            raise ValueError("K.placeholder needs a shape or an ndim")
        shape = (None,) * int(ndim)
    elif isinstance(shape, int):
        shape = (shape,)
    keras_shape = tuple(None if d is None else int(d) for d in shape)
    dims, batch_done = [], False
    for d in keras_shape:
        if d is None:
            if not batch_done:
                dims.append("B")
                batch_done = True
            else:
                dims.append(f"N{next(_symbols)}")
        else:
            dims.append(d)
    t = TensorType(as_dtype(dtype or floatx()), tuple(dims))
    x = source("input", t, name=name or _unique("placeholder", _placeholder_names))
    x._keras_shape = keras_shape
    x._uses_learning_phase = False
    if sparse:
        x._is_sparse = True
    return x


def is_placeholder(x) -> bool:
    """True if ``x`` is a placeholder (K.placeholder / an Input tensor)."""
    return isinstance(x, Value) and x.node.op == "input"


def is_tensor(x) -> bool:
    """True if ``x`` is a graphc symbolic tensor."""
    return isinstance(x, Value)


def is_keras_tensor(x) -> bool:
    """True if ``x`` is a tensor produced by a Keras layer or Input (it has _keras_history).

    Raises:
        ValueError: ``x`` is not a symbolic tensor.
    """
    if not isinstance(x, Value):
        raise ValueError(f"Unexpectedly found an instance of type {type(x).__name__}. "
                         f"Expected a symbolic tensor instance.")
    return hasattr(x, "_keras_history")


def is_sparse(x) -> bool:
    """True if ``x`` is a placeholder declared sparse (``K.placeholder(sparse=True)``, an
    ``Input(..., sparse=True)``); its values are dense all the same (graphc has no sparse
    tensors).

    Example:
        >>> K.is_sparse(K.placeholder((None, 3), sparse=True)), K.is_sparse(K.ones((2,)))
        (True, False)
    """
    return bool(getattr(x, "_is_sparse", False))


def to_dense(x):
    """``x`` itself: graphc tensors are dense, also a sparse placeholder's value (its
    scipy.sparse data is densified when fed)."""
    return x


def variable(value, dtype=None, name=None, constraint=None) -> Value:
    """A variable holding a copy of ``value``.

    Args:
        value: an array-like (a Python number, list or numpy array).
        dtype: default ``floatx()``.
        name: a name; made unique ('variable', 'variable_1', ...) and prefixed by the name
            scope.
        constraint: a projection applied by optimizers after each update.
    Returns:
        A Value of op ``variable``; its storage is ``x.variable``.

    Example:
        >>> w = K.variable(np.zeros((3, 2)), name='w')
        >>> K.get_value(w).dtype
        dtype('float32')
    """
    if isinstance(value, Value):
        raise TypeError("K.variable takes an array-like value, not a symbolic tensor; use "
                        "K.eval(x) first")
    if hasattr(value, "tocoo"):
        raise NotImplementedError("graphc has no sparse variables; pass value.toarray()")
    dtype = as_dtype(dtype or floatx())
    try:
        arr = np.array(value, dtype=dtype, copy=True)
    except (TypeError, ValueError) as e:
        raise TypeError(f"K.variable: cannot make a {dtype} array from {value!r}: {e}") from None
    base = name or "variable"
    scope = current_scope()
    if scope and not base.startswith(scope + "/"):
        base = f"{scope}/{base}"
    vname = _unique(base, _var_names)
    store = Variable(arr, vname, trainable=True, constraint=constraint)
    v = source("variable", TensorType(dtype, arr.shape), name=vname, var=store)
    v._keras_shape = tuple(arr.shape)
    v._uses_learning_phase = False
    return v


def constant(value, dtype=None, shape=None, name=None) -> Value:
    """A constant tensor.

    Args:
        value: an array-like; a scalar with ``shape`` fills that shape.
        dtype: default ``floatx()``.
        shape: optional shape.
        name: optional name.

    Example:
        >>> K.eval(K.constant(2., shape=(2,)))
        array([2., 2.], dtype=float32)
    """
    dtype = as_dtype(dtype or floatx())
    arr = np.asarray(value, dtype=dtype)
    if shape is not None:
        shape = tuple(int(d) for d in shape)
        if arr.size == 1:
            arr = np.full(shape, arr.reshape(()), dtype=dtype)
        elif arr.shape != shape:
            arr = arr.reshape(shape)
    return _ir_constant(arr, name=name)


def _shape_tuple(shape, fn: str) -> tuple:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    try:
        return tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise TypeError(f"K.{fn}: shape must be a tuple of ints, got {shape!r}") from None


def zeros(shape, dtype=None, name=None) -> Value:
    """A variable of zeros (as Keras 2's ``K.zeros``)."""
    return variable(np.zeros(_shape_tuple(shape, "zeros")), dtype, name)


def ones(shape, dtype=None, name=None) -> Value:
    """A variable of ones."""
    return variable(np.ones(_shape_tuple(shape, "ones")), dtype, name)


def eye(size, dtype=None, name=None) -> Value:
    """A variable holding an identity matrix; ``size`` is n or (n, m)."""
    if isinstance(size, (tuple, list)):
        n, m = (int(s) for s in size)
    else:
        n = m = int(size)
    return variable(np.eye(n, m), dtype, name)


def zeros_like(x, dtype=None, name=None) -> Value:
    """Zeros of ``x``'s (run-time) shape."""
    x = as_value(x)
    return apply("fill_like", x, value=0.0, dtype=None if dtype is None else as_dtype(dtype))


def ones_like(x, dtype=None, name=None) -> Value:
    """Ones of ``x``'s (run-time) shape."""
    x = as_value(x)
    return apply("fill_like", x, value=1.0, dtype=None if dtype is None else as_dtype(dtype))


def identity(x, name=None) -> Value:
    """A tensor with the contents of ``x``."""
    return apply("identity", as_value(x))


def _seed(seed) -> int:
    return int(np.random.randint(10_000_000)) if seed is None else int(seed)


def random_uniform_variable(shape, low, high, dtype=None, name=None, seed=None) -> Value:
    """A variable filled from U(low, high)."""
    rng = np.random.default_rng(_seed(seed))
    return variable(rng.uniform(low, high, size=_shape_tuple(shape, "random_uniform_variable")),
                    dtype, name)


def random_normal_variable(shape, mean, scale, dtype=None, name=None, seed=None) -> Value:
    """A variable filled from N(mean, scale**2)."""
    rng = np.random.default_rng(_seed(seed))
    return variable(rng.normal(mean, scale, size=_shape_tuple(shape, "random_normal_variable")),
                    dtype, name)


# -- shapes and types -------------------------------------------------------------------------

def int_shape(x) -> tuple:
    """The static shape as a tuple of ints, None for dims known only at run time.

    Example:
        >>> K.int_shape(K.placeholder(shape=(None, 4)))
        (None, 4)
    """
    if isinstance(x, Value):
        return tuple(d if isinstance(d, int) else None for d in x.shape)
    return tuple(np.shape(x))


def get_variable_shape(x) -> tuple:
    """The shape of a variable (``int_shape``)."""
    return int_shape(x)


def ndim(x) -> int:
    """The rank of ``x``."""
    return x.ndim if isinstance(x, Value) else np.ndim(x)


def dtype(x) -> str:
    """The dtype name of ``x``, e.g. ``'float32'``."""
    if isinstance(x, Value):
        return x.dtype
    return np.asarray(x).dtype.name


def shape(x) -> Value:
    """The run-time shape of ``x`` as a symbolic int64 vector."""
    return apply("shape", as_value(x))


def count_params(x) -> int:
    """The number of scalars in the variable ``x``."""
    s = int_shape(x)
    if any(d is None for d in s):
        raise ValueError(f"K.count_params: the shape {s} of {getattr(x, 'name', x)!r} is not "
                         f"fully known")
    return int(np.prod(s))


# -- values -----------------------------------------------------------------------------------

def eval(x) -> np.ndarray:  # noqa: A001 - the Keras name
    """The value of a tensor that depends on no placeholder (the learning phase is fed).

    A random tensor gives a new sample on each call (as in Keras).

    Example:
        >>> K.eval(K.constant([1., 2.]) * 2)
        array([2., 4.], dtype=float32)
    """
    if isinstance(x, Value) and x.node.op == "variable":
        return x.node.attrs["var"].value.copy()
    x = as_value(x)
    fn = getattr(x, "_eval_function", None)
    if fn is None:
        from .graph import function
        fn = function([], [x], name="eval", mode="reference")
        if _draws_random(x):
            # one function per tensor, kept: its random nodes' generators advance from call
            # to call, so each K.eval of a random tensor gives a new sample
            x._eval_function = fn
    return fn([])[0]


_RANDOM_OPS = ("random_uniform", "random_normal", "truncated_normal", "random_binomial")


def _draws_random(x: Value) -> bool:
    from ..ir.graph import toposort
    return any(node.op in _RANDOM_OPS for node in toposort([x]))


def get_value(x) -> np.ndarray:
    """A copy of the value of the variable ``x`` (other tensors are evaluated)."""
    if isinstance(x, Value) and x.node.op == "variable":
        return x.node.attrs["var"].value.copy()
    return eval(_check_value(x, "get_value"))


def batch_get_value(xs) -> list:
    """``[get_value(x) for x in xs]``."""
    return [get_value(x) for x in xs]


def set_value(x, value) -> None:
    """Replace the value of the variable ``x`` (same shape; cast to its dtype).

    Example:
        >>> K.set_value(w, np.ones((3, 2)))
    """
    store = _check_variable(x, "set_value")
    arr = np.asarray(value)
    if arr.shape != store.value.shape:
        raise ValueError(f"K.set_value: variable {store.name!r} has shape "
                         f"{store.value.shape}, the new value has shape {arr.shape}")
    store.value = np.array(arr, dtype=store.value.dtype, copy=True)


def batch_set_value(tuples) -> None:
    """``set_value`` for each ``(variable, value)`` pair."""
    for x, value in tuples:
        set_value(x, value)


# -- updates ----------------------------------------------------------------------------------

def update(x, new_x):
    """The update ``x <- new_x`` for ``K.function(..., updates=[...])``."""
    _check_variable(x, "update")
    return (x, new_x)


def update_add(x, increment):
    """The update ``x <- x + increment``."""
    _check_variable(x, "update_add")
    return (x, x + increment)


def update_sub(x, decrement):
    """The update ``x <- x - decrement``.

    Example:
        >>> updates = [K.update_sub(w, lr * g) for w, g in zip(params, grads)]
    """
    _check_variable(x, "update_sub")
    return (x, x - decrement)


def moving_average_update(x, value, momentum):
    """The update ``x <- x * momentum + value * (1 - momentum)``."""
    _check_variable(x, "moving_average_update")
    return (x, x * momentum + value * (1.0 - momentum))
