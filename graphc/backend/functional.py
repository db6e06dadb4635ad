"""Higher-order functions of the Keras 2 backend: ``K.map_fn``, ``K.foldl``, ``K.foldr``.

Each traces ``fn`` once on a placeholder of one element and becomes one ``scan`` node (the loop
op recurrent layers use): the loop is compiled with the rest of the function and
differentiated as a reversed loop, whether or not the first dimension is static. Nothing is
unrolled. As in any ``scan`` body, ``fn`` may not draw random numbers (draw them outside and
close over them).
"""
from __future__ import annotations

from ..ir.node import Value
from ..ir.ops import apply, as_value
from ..ir.ops.control import scan


def _elems(elems, what) -> Value:
    elems = as_value(elems) if not isinstance(elems, Value) else elems
    if elems.ndim < 1:
        raise ValueError(f"K.{what}: elems must have at least one axis (the axis iterated "
                         f"over), got the scalar {elems.type}")
    return elems


def _checked(result, what) -> Value:
    if isinstance(result, (list, tuple)):
        raise TypeError(f"K.{what}: fn must return one tensor, got a {type(result).__name__}; "
                        f"graphc's {what} does not take nested structures")
    return as_value(result)


def map_fn(fn, elems, name=None, dtype=None):
    """Map ``fn`` over the first axis of ``elems``: ``stack([fn(e) for e in elems])``.

    One compiled loop (a ``scan`` node), also when the first dimension is static.

    Args:
        fn: a function of one tensor (an element of ``elems``, its first axis removed)
            returning one tensor.
        elems: a tensor; its first axis is iterated over.
        name: unused (Keras compatibility).
        dtype: the output dtype (the result is cast to it).
    Returns:
        A tensor ``(len(elems),) + fn's output shape``.

    Example:
        >>> x = K.placeholder((None, 3))
        >>> y = K.map_fn(lambda row: K.sum(K.square(row)), x)   # (batch,)
    """
    elems = _elems(elems, "map_fn")

    def step(x_t):
        return [_checked(fn(x_t), "map_fn")], []
    out = scan(step, [elems], name="map_fn").outputs[0]
    if dtype is not None and out.dtype != dtype:
        out = apply("cast", out, dtype=dtype)
    return out


def _fold(fn, elems, initializer, backwards, what):
    elems = _elems(elems, what)
    if initializer is None:
        # the first element processed starts the accumulator
        first = elems[-1] if backwards else elems[0]
        elems = elems[:-1] if backwards else elems[1:]
        acc0 = first
    else:
        acc0 = as_value(initializer, like=elems)

    def step(x_t, acc):
        new = _checked(fn(acc, x_t), what)
        if new.dtype != acc.dtype:
            new = apply("cast", new, dtype=acc.dtype)
        if tuple(new.shape) != tuple(acc.shape):
            raise ValueError(f"K.{what}: fn(acc, x) must return a tensor shaped like the "
                             f"accumulator {acc.type}, got {new.type}")
        return [], [new]
    return scan(step, [elems], [acc0], go_backwards=backwards, name=what).final_states[0]


def foldl(fn, elems, initializer=None, name=None):
    """Reduce ``elems`` from left to right: ``acc = fn(acc, e)`` for each ``e`` along the
    first axis.

    One compiled loop (a ``scan`` node), also when the first dimension is static.

    Args:
        fn: ``fn(acc, x) -> new acc`` (same shape and dtype as ``acc``).
        elems: a tensor; its first axis is iterated over.
        initializer: the first ``acc`` (default: ``elems[0]``, the fold then runs over
            ``elems[1:]``).
        name: unused (Keras compatibility).
    Returns:
        The final accumulator.

    Example:
        >>> total = K.foldl(lambda acc, x: acc + x, K.placeholder((5, 3)))   # (3,)
    """
    return _fold(fn, elems, initializer, False, "foldl")


def foldr(fn, elems, initializer=None, name=None):
    """Reduce ``elems`` from right to left: ``acc = fn(acc, e)`` for each ``e`` along the
    first axis, last element first.

    One compiled loop (a ``scan`` node), also when the first dimension is static.

    Args:
        fn: ``fn(acc, x) -> new acc`` (same shape and dtype as ``acc``).
        elems: a tensor; its first axis is iterated over, from the end.
        initializer: the first ``acc`` (default: ``elems[-1]``, the fold then runs over
            ``elems[:-1]``).
        name: unused (Keras compatibility).
    Returns:
        The final accumulator.

    Example:
        >>> y = K.foldr(lambda acc, x: acc * 2 + x, K.placeholder((5,)), initializer=0.)
    """
    return _fold(fn, elems, initializer, True, "foldr")
