"""Reverse-mode automatic differentiation as a graph transformation.

``gradients(loss, wrt)`` walks the graph from ``loss`` back to ``wrt`` in reverse topological
order and calls each op's ``grad`` rule, which builds ordinary IR nodes. The result can be
printed, optimised, compiled and differentiated again.

Invariants: cotangents of a value used several times are summed; integer and boolean values
carry no cotangent; a non-scalar ``loss`` is summed first (as tf.gradients / Theano's grad of a
sum); a ``wrt`` that the loss does not depend on gets zeros, or an error when
``unconnected='raise'``.
"""
from __future__ import annotations

from .graph import toposort
from .node import Value, name_scope
from .ops import apply, as_value
from .ops.core import ones_like, zeros_like
from .types import is_float


class GradientError(ValueError):
    """A gradient that cannot be taken (bad target, unconnected value, non-float loss)."""


def _accumulate(cot: dict, v: Value, g):
    if g is None or not is_float(v.dtype):
        return
    if g.dtype != v.dtype:
        g = apply("cast", g, dtype=v.dtype)
    prev = cot.get(v)
    cot[v] = g if prev is None else apply("add", prev, g)


def gradients(loss, wrt, *, unconnected: str = "zero", grad_loss=None) -> list:
    """Symbolic gradients of ``loss`` with respect to each Value in ``wrt``.

    Args:
        loss: a float Value; summed over all elements if not a scalar.
        wrt: a Value or a list of Values (variables, placeholders or intermediate values).
        unconnected: 'zero' (default) gives zeros for a value the loss does not depend on;
            'raise' raises GradientError; 'none' returns None.
        grad_loss: optional cotangent of ``loss`` (default: ones).
    Returns:
        A list of Values (same order as ``wrt``), or a single Value if ``wrt`` was one Value.

    Example:
        >>> g, = gradients(K.mean(K.square(w * x - y)), [w])
    """
    single = isinstance(wrt, Value)
    targets = [wrt] if single else list(wrt)
    if not isinstance(loss, Value):
        raise GradientError(f"the loss must be a symbolic tensor, got {type(loss).__name__}")
    if not is_float(loss.dtype):
        raise GradientError(f"cannot differentiate the {loss.dtype} value {loss.name!r}; "
                            f"the loss must be a float tensor")
    for i, t in enumerate(targets):
        if not isinstance(t, Value):
            raise GradientError(
                f"gradients: item {i} of the targets is a {type(t).__name__}, not a variable or "
                f"placeholder (a symbolic tensor); pass e.g. model.trainable_weights")

    with name_scope("grad"):
        seed = ones_like(loss) if grad_loss is None else as_value(grad_loss, like=loss)
    cot = _backprop([loss], [seed], targets)

    results = []
    for t in targets:
        g = cot.get(t)
        if g is None:
            if unconnected == "raise":
                raise GradientError(f"the loss does not depend on {t.name!r} ({t.type}); "
                                    f"its gradient is undefined")
            if unconnected == "zero":
                g = zeros_like(t)
        results.append(g)
    return results[0] if single else results


def _backprop(outputs, seeds, targets) -> dict:
    """Reverse sweep: cotangents (Value -> Value) of every value between ``targets`` and
    ``outputs``, given the cotangent ``seeds[i]`` of ``outputs[i]`` (None = no cotangent; an
    output listed twice gets the sum of its seeds)."""
    order = toposort(list(outputs))
    # Only nodes on a path from a target to an output need a cotangent.
    target_ids = {id(t) for t in targets}
    relevant: set[int] = set()
    for node in order:
        if any(id(o) in target_ids for o in node.outputs) or \
                any(v.node.id in relevant for v in node.inputs):
            relevant.add(node.id)

    cot: dict = {}
    with name_scope("grad"):
        for v, g in zip(outputs, seeds):
            _accumulate(cot, v, g)
    # gradient nodes are scoped "grad/<scope of the forward node>" (inside the caller's scope)
    for node in reversed(order):
        if node.id not in relevant or not node.inputs:
            continue
        gouts = [cot.get(o) for o in node.outputs]
        if all(g is None for g in gouts):
            continue
        grad = node.opdef.grad
        if grad is None:
            raise GradientError(f"op {node.op!r} (built in {node.provenance}) has no "
                                f"gradient; wrap its input in K.stop_gradient if intended")
        with name_scope(f"grad/{node.scope}" if node.scope else "grad"):
            gins = grad(node, gouts)
            if len(gins) != len(node.inputs):
                raise AssertionError(f"grad rule of {node.op} returned {len(gins)} "
                                     f"cotangents for {len(node.inputs)} inputs")
            for v, g in zip(node.inputs, gins):
                if v.node.id in relevant:
                    _accumulate(cot, v, g)
    return cot


def vjp(outputs, cotangents, wrt, *, unconnected: str = "zero") -> list:
    """Vector-Jacobian products: the cotangents of ``wrt`` given those of several outputs.

    ``gradients(loss, wrt)`` is ``vjp([loss], [ones_like(loss)], wrt)``; ``vjp`` takes any
    number of outputs, each with its own cotangent, which is what the gradient of a loop body
    needs (step outputs and new states flow back at once).

    Args:
        outputs: a list of Values.
        cotangents: one per output: a Value of the output's shape, or None (no cotangent).
            An output listed twice receives the sum of its cotangents. Integer and bool
            outputs are skipped.
        wrt: a list of Values (placeholders, variables or intermediate values).
        unconnected: 'zero' (default) gives zeros for a target the outputs do not depend on;
            'raise' raises GradientError; 'none' returns None for it.
    Returns:
        A list of Values (or None), one per ``wrt`` entry.

    Example:
        >>> dx, dh = vjp([y, h_new], [g_y, g_h], [x, h])
    """
    outputs, cotangents, targets = list(outputs), list(cotangents), list(wrt)
    if len(outputs) != len(cotangents):
        raise GradientError(f"vjp: {len(outputs)} outputs but {len(cotangents)} cotangents; "
                            f"give one cotangent (or None) per output")
    for name, vals in (("outputs", outputs), ("wrt", targets)):
        for i, v in enumerate(vals):
            if not isinstance(v, Value):
                raise GradientError(f"vjp: {name}[{i}] is a {type(v).__name__}, not a "
                                    f"symbolic tensor")
    seeds = []
    for i, (v, g) in enumerate(zip(outputs, cotangents)):
        if g is not None:
            g = as_value(g, like=v)
            if g.ndim != v.ndim:
                raise GradientError(f"vjp: the cotangent of outputs[{i}] ({v.type}) has type "
                                    f"{g.type}; it must have the output's shape")
        seeds.append(g)
    if unconnected not in ("zero", "raise", "none"):
        raise GradientError(f"vjp: unconnected must be 'zero', 'raise' or 'none', got "
                            f"{unconnected!r}")
    cot = _backprop(outputs, seeds, targets)
    results = []
    for t in targets:
        g = cot.get(t)
        if g is None and unconnected == "raise":
            raise GradientError(f"the outputs do not depend on {t.name!r} ({t.type}); its "
                                f"gradient is undefined")
        if g is None and unconnected == "zero":
            g = zeros_like(t)
        results.append(g)
    return results
