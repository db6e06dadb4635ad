"""Activation functions (Keras 2 ``keras.activations``), each a function of a symbolic tensor.

Example:
    >>> from graphc import activations
    >>> f = activations.get("relu")
    >>> y = f(x)
"""
from __future__ import annotations

from . import backend as K


def softmax(x, axis=-1):
    """Softmax along ``axis`` (a 1-D input is an error, as in Keras 2)."""
    if K.ndim(x) == 1:
        raise ValueError("softmax: cannot apply softmax to a 1-D tensor; expected rank >= 2")
    return K.softmax(x, axis=axis) if axis != -1 else K.softmax(x)


def elu(x, alpha=1.0):
    return K.elu(x, alpha)


def selu(x):
    return K.selu(x)


def softplus(x):
    return K.softplus(x)


def softsign(x):
    return K.softsign(x)


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    return K.relu(x, alpha=alpha, max_value=max_value, threshold=threshold)


def tanh(x):
    return K.tanh(x)


def sigmoid(x):
    return K.sigmoid(x)


def hard_sigmoid(x):
    return K.hard_sigmoid(x)


def exponential(x):
    return K.exp(x)


def linear(x):
    return x


_ALL = {f.__name__: f for f in (softmax, elu, selu, softplus, softsign, relu, tanh, sigmoid,
                                hard_sigmoid, exponential, linear)}


def serialize(activation) -> str:
    """The name of an activation function."""
    name = getattr(activation, "__name__", None)
    if name in _ALL and _ALL[name] is activation:
        return name
    if hasattr(activation, "get_config"):   # an advanced-activation layer
        from .utils import serialize_keras_object
        return serialize_keras_object(activation)
    return name


def deserialize(name, custom_objects=None):
    from .utils import deserialize_keras_object
    return deserialize_keras_object(name, module_objects=_ALL, custom_objects=custom_objects,
                                    printable_module_name="activation function")


def get(identifier):
    """An activation from a name (case-insensitive), a callable, or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        key = identifier.lower() if identifier.lower() in _ALL else identifier
        return deserialize(key)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}; "
                     f"valid names are: {', '.join(sorted(_ALL))}")
