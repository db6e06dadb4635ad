"""Loss functions (Keras 2 ``keras.losses``): ``loss(y_true, y_pred)`` returns the loss of each
sample (the mean over the last axis is taken inside, as in Keras 2); the model averages over
the batch and applies sample weights.

Example:
    >>> model.compile(loss=losses.categorical_crossentropy, optimizer="sgd")
"""
from __future__ import annotations

import numpy as np

from . import backend as K


def mean_squared_error(y_true, y_pred):
    return K.mean(K.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    return K.mean(K.abs(y_pred - y_true), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    diff = K.abs((y_true - y_pred) / K.clip(K.abs(y_true), K.epsilon(), None))
    return 100.0 * K.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    first_log = K.log(K.clip(y_pred, K.epsilon(), None) + 1.0)
    second_log = K.log(K.clip(y_true, K.epsilon(), None) + 1.0)
    return K.mean(K.square(first_log - second_log), axis=-1)


def squared_hinge(y_true, y_pred):
    return K.mean(K.square(K.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


def hinge(y_true, y_pred):
    return K.mean(K.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def categorical_hinge(y_true, y_pred):
    pos = K.sum(y_true * y_pred, axis=-1)
    neg = K.max((1.0 - y_true) * y_pred, axis=-1)
    return K.maximum(0.0, neg - pos + 1.0)


def logcosh(y_true, y_pred):
    """log(cosh(x)) computed as x + softplus(-2x) - log(2), finite for large x."""
    x = y_pred - y_true
    return K.mean(x + K.softplus(-2.0 * x) - float(np.log(2.0)), axis=-1)


def categorical_crossentropy(y_true, y_pred):
    return K.categorical_crossentropy(y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred):
    return K.sparse_categorical_crossentropy(y_true, y_pred)


def binary_crossentropy(y_true, y_pred):
    return K.mean(K.binary_crossentropy(y_true, y_pred), axis=-1)


def kullback_leibler_divergence(y_true, y_pred):
    y_true = K.clip(y_true, K.epsilon(), 1)
    y_pred = K.clip(y_pred, K.epsilon(), 1)
    return K.sum(y_true * K.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    return K.mean(y_pred - y_true * K.log(y_pred + K.epsilon()), axis=-1)


def cosine_proximity(y_true, y_pred):
    y_true = K.l2_normalize(y_true, axis=-1)
    y_pred = K.l2_normalize(y_pred, axis=-1)
    return -K.sum(y_true * y_pred, axis=-1)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence
cosine = cosine_proximity

_LOSSES = [mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
           mean_squared_logarithmic_error, squared_hinge, hinge, categorical_hinge, logcosh,
           categorical_crossentropy, sparse_categorical_crossentropy, binary_crossentropy,
           kullback_leibler_divergence, poisson, cosine_proximity]
_OBJECTS = {f.__name__: f for f in _LOSSES}
_OBJECTS.update({"mse": mse, "MSE": mse, "mae": mae, "MAE": mae, "mape": mape, "MAPE": mape,
                 "msle": msle, "MSLE": msle, "kld": kld, "KLD": kld, "cosine": cosine})


def serialize(loss):
    """The loss's name, or ``{'class_name', 'config'}`` for an object with ``get_config``."""
    from .utils.generic_utils import serialize_keras_object
    return serialize_keras_object(loss)


def deserialize(name, custom_objects=None):
    from .utils import deserialize_keras_object
    return deserialize_keras_object(name, module_objects=_OBJECTS, custom_objects=custom_objects,
                                    printable_module_name="loss function")


def get(identifier):
    """A loss from a name ('mse', 'categorical_crossentropy', ...) or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        if identifier not in _OBJECTS and identifier.lower() in _OBJECTS:
            identifier = identifier.lower()
        return deserialize(identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret loss function identifier: {identifier!r}")
