"""Graph-level functions: ``K.function``, ``K.gradients``, ``K.stop_gradient``, ``K.switch``
and the learning-phase switches ``in_train_phase`` / ``in_test_phase``."""
from __future__ import annotations

from ..function import Function
from ..ir.node import Value
from ..ir.ops import apply, as_value
from ..ir import autodiff
from .common import learning_phase

_FUNCTION_KWARGS = ("name", "mode", "pipeline")


def function(inputs, outputs, updates=None, **kwargs) -> Function:
    """A callable computing ``outputs`` from ``inputs`` and applying ``updates``.

    Args:
        inputs: a list of placeholders.
        outputs: a list of tensors.
        updates: ``(variable, new_value)`` pairs (``K.update``, ``K.update_add``, ...).
        **kwargs: ``name`` (for dumps), ``mode`` ('compiled' or 'reference') and
            ``pipeline`` (optimisation pipeline: 'fast_run', 'fast_compile', 'none' or a
            list of pass names; default: the ``pipeline`` setting).
    Returns:
        A ``graphc.function.Function``: ``f(list_of_arrays) -> list_of_arrays``. When the
        outputs use ``K.print_tensor`` or host-computed values (``K.ctc_decode`` with beam
        search), the Function runs that host work around its compiled graph.

    Example:
        >>> f = K.function([x], [K.square(x)])
        >>> f([np.array([[2.]])])
        [array([[4.]], dtype=float32)]
    """
    unknown = sorted(set(kwargs) - set(_FUNCTION_KWARGS))
    if unknown:
        raise ValueError(f"Invalid argument(s) {', '.join(map(repr, unknown))} passed to "
                         f"K.function with the graphc backend; valid: "
                         f"{', '.join(_FUNCTION_KWARGS)}")
    from .host import make_function
    return make_function(inputs, outputs, updates=updates, **kwargs)


def gradients(loss, variables) -> list:
    """Symbolic gradients of ``loss`` with respect to each of ``variables``.

    A non-scalar loss is summed first; a variable the loss does not depend on gets zeros.

    Example:
        >>> grads = K.gradients(loss, [W, b])
    """
    if isinstance(variables, Value):
        variables = [variables]
    return autodiff.gradients(loss, list(variables))


def stop_gradient(variables):
    """``variables`` (a tensor or a list) with gradients blocked."""
    if isinstance(variables, (list, tuple)):
        return [apply("stop_gradient", as_value(v)) for v in variables]
    return apply("stop_gradient", as_value(variables))


def _resolve(x):
    return x() if callable(x) and not isinstance(x, Value) else x


def switch(condition, then_expression, else_expression):
    """``then_expression`` where ``condition`` is true, else ``else_expression``.

    ``condition`` may be a scalar (bool or int) or a tensor of rank up to that of the
    expressions (it is broadcast over their trailing axes, as in Keras). The expressions may be
    callables returning tensors.
    """
    cond = as_value(condition) if not isinstance(condition, Value) else condition
    a = _resolve(then_expression)
    b = _resolve(else_expression)
    if isinstance(a, Value):
        b = as_value(b, like=a)
    elif isinstance(b, Value):
        a = as_value(a, like=b)
    else:
        a, b = as_value(a), as_value(b)
    if cond.dtype != "bool":
        cond = apply("not_equal", cond, as_value(0, like=cond))
    expr_ndim = max(a.ndim, b.ndim)
    if cond.ndim > expr_ndim:
        raise ValueError(f"K.switch: the rank of the condition ({cond.type}) must not exceed "
                         f"that of the expressions ({a.type}, {b.type})")
    if 0 < cond.ndim < expr_ndim:
        for _ in range(expr_ndim - cond.ndim):
            cond = apply("expand_dims", cond, axis=-1)
    return apply("where", cond, a, b)


def in_train_phase(x, alt, training=None):
    """``x`` in the training phase, ``alt`` otherwise.

    Args:
        x, alt: tensors or callables returning tensors.
        training: None (the learning phase placeholder), a Python bool / 0 / 1 (chosen now) or
            a scalar tensor.

    Example:
        >>> y = K.in_train_phase(K.dropout(x, 0.5), x)
    """
    uses_learning_phase = False
    if training is None:
        training = learning_phase()
        uses_learning_phase = True
    if training is True or (not isinstance(training, Value) and training == 1):
        return _resolve(x)
    if training is False or (not isinstance(training, Value) and training == 0):
        return _resolve(alt)
    out = switch(training, x, alt)
    if uses_learning_phase:
        out._uses_learning_phase = True
    return out


def in_test_phase(x, alt, training=None):
    """``x`` in the test phase, ``alt`` in training."""
    return in_train_phase(alt, x, training=training)
