"""Decorators that accept Keras 1 argument names and pass Keras 2 ones (Keras 2's
``keras.legacy.interfaces``), each with a warning that shows the Keras 2 call.

Example:
    >>> class MyDense(Layer):
    ...     @legacy_dense_support
    ...     def __init__(self, units, kernel_initializer='glorot_uniform', **kwargs): ...
    >>> MyDense(output_dim=3, init='zeros')   # warns; same as MyDense(3, kernel_initializer=...)
"""
from __future__ import annotations

import functools
import warnings

__all__ = ['generate_legacy_interface', 'generate_legacy_method_interface',
           'raise_duplicate_arg_error', 'legacy_dense_support', 'legacy_dropout_support',
           'legacy_embedding_support', 'legacy_get_updates_support', 'legacy_add_weight_support',
           'legacy_generator_methods_support', 'legacy_model_constructor_support',
           'legacy_input_support']


def raise_duplicate_arg_error(old_arg, new_arg):
    """The error for a call that passes both a Keras 1 name and its Keras 2 replacement."""
    raise TypeError(f"For the `{new_arg}` argument, the layer received both the legacy "
                    f"keyword argument `{old_arg}` and the Keras 2 keyword argument "
                    f"`{new_arg}`. Stick to the latter!")


def _call_text(object_name, args, kwargs):
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"`{object_name}({', '.join(parts)})`"


def generate_legacy_interface(allowed_positional_args=None, conversions=None, preprocessor=None,
                              value_conversions=None, object_type='class'):
    """A decorator of an ``__init__`` (or a method, ``object_type='method'``) that renames
    Keras 1 keyword arguments and values to Keras 2 ones.

    Args:
        allowed_positional_args: the names of the positional arguments Keras 2 accepts after
            ``self`` (more positional arguments raise a TypeError), or None for any number.
        conversions: ``[(old_name, new_name), ...]``.
        preprocessor: ``f(args, kwargs) -> (args, kwargs, extra_conversions)`` run first.
        value_conversions: ``{new_name: {old_value: new_value}}``.
        object_type: 'class' (decorating ``__init__``) or 'method'.

    Returns:
        The decorator.
    """
    conversions = list(conversions or [])
    value_conversions = dict(value_conversions or {})

    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if object_type == 'class':
                object_name = type(args[0]).__name__
            else:
                object_name = func.__name__
            extra = []
            if preprocessor is not None:
                args, kwargs, extra = preprocessor(args, kwargs)
            if allowed_positional_args is not None and len(args) > len(allowed_positional_args) + 1:
                raise TypeError(f"`{object_name}` can accept only {len(allowed_positional_args)}"
                                f" positional arguments {tuple(allowed_positional_args)}, but "
                                f"you passed the following positional arguments: "
                                f"{list(args[1:])}")
            for name, mapping in value_conversions.items():
                if name in kwargs and kwargs[name] in mapping:
                    kwargs[name] = mapping[kwargs[name]]
            converted = list(extra)
            for old, new in conversions:
                if old in kwargs:
                    if new in kwargs:
                        raise_duplicate_arg_error(old, new)
                    kwargs[new] = kwargs.pop(old)
                    converted.append((old, new))
            if converted:
                shown = {k: v for k, v in kwargs.items()}
                warnings.warn(f"Update your {_call_text(object_name, args[1:], shown)} call to "
                              f"the Keras 2 API (renamed: "
                              f"{', '.join(f'{o} -> {n}' for o, n in converted)})",
                              UserWarning, stacklevel=2)
            return func(*args, **kwargs)
        wrapper._original_function = func
        return wrapper
    return decorator


def generate_legacy_method_interface(allowed_positional_args=None, conversions=None,
                                     preprocessor=None, value_conversions=None):
    """``generate_legacy_interface`` for a method."""
    return generate_legacy_interface(allowed_positional_args, conversions, preprocessor,
                                     value_conversions, object_type='method')


legacy_dense_support = generate_legacy_interface(
    allowed_positional_args=['units'],
    conversions=[('output_dim', 'units'), ('init', 'kernel_initializer'),
                 ('W_regularizer', 'kernel_regularizer'), ('b_regularizer', 'bias_regularizer'),
                 ('W_constraint', 'kernel_constraint'), ('b_constraint', 'bias_constraint'),
                 ('bias', 'use_bias')])

legacy_dropout_support = generate_legacy_interface(
    allowed_positional_args=['rate', 'noise_shape', 'seed'], conversions=[('p', 'rate')])


def _embedding_preprocessor(args, kwargs):
    extra = []
    if 'dropout' in kwargs:
        kwargs.pop('dropout')
        warnings.warn("The `dropout` argument is no longer supported in `Embedding`; apply "
                      "dropout to the next layer instead.", UserWarning, stacklevel=3)
    return args, kwargs, extra


legacy_embedding_support = generate_legacy_interface(
    allowed_positional_args=['input_dim', 'output_dim'],
    conversions=[('init', 'embeddings_initializer'),
                 ('W_regularizer', 'embeddings_regularizer'),
                 ('W_constraint', 'embeddings_constraint')],
    preprocessor=_embedding_preprocessor)


def _get_updates_preprocessor(args, kwargs):
    # Keras 1: get_updates(params, constraints, loss); Keras 2: get_updates(loss, params)
    if len(args) > 4:
        raise TypeError("`get_updates` takes (loss, params)")
    if len(args) == 4:
        self, params, _constraints, loss = args
        warnings.warn("`get_updates` takes (loss, params) in Keras 2; the constraints "
                      "argument is dropped (constraints are set on the layers)", UserWarning,
                      stacklevel=3)
        return (self,), {'loss': loss, 'params': params, **kwargs}, []
    if 'constraints' in kwargs:
        kwargs.pop('constraints')
    return args, kwargs, []


legacy_get_updates_support = generate_legacy_interface(
    allowed_positional_args=None, conversions=[], preprocessor=_get_updates_preprocessor,
    object_type='method')


def _add_weight_preprocessor(args, kwargs):
    # Keras 1: add_weight(shape, initializer, ...); Keras 2: add_weight(name, shape, ...)
    if len(args) > 1 and isinstance(args[1], (tuple, list)):
        self, shape, *rest = args
        kwargs['shape'] = shape
        for key, value in zip(('initializer', 'name', 'trainable', 'regularizer', 'constraint'),
                              rest):
            kwargs.setdefault(key, value)
        args = (self,)
        warnings.warn("`add_weight` takes (name, shape, ...) in Keras 2", UserWarning,
                      stacklevel=3)
    return args, kwargs, []


legacy_add_weight_support = generate_legacy_interface(
    allowed_positional_args=['name', 'shape'], preprocessor=_add_weight_preprocessor,
    object_type='method')

legacy_generator_methods_support = generate_legacy_method_interface(
    allowed_positional_args=['generator', 'steps_per_epoch', 'epochs'],
    conversions=[('samples_per_epoch', 'steps_per_epoch'), ('val_samples', 'steps'),
                 ('nb_epoch', 'epochs'), ('nb_val_samples', 'validation_steps'),
                 ('nb_worker', 'workers'), ('pickle_safe', 'use_multiprocessing'),
                 ('max_q_size', 'max_queue_size')])

legacy_model_constructor_support = generate_legacy_interface(
    allowed_positional_args=None, conversions=[('input', 'inputs'), ('output', 'outputs')])

legacy_input_support = generate_legacy_interface(
    allowed_positional_args=None, conversions=[('input_dtype', 'dtype')])
