"""Metrics (Keras 2 ``keras.metrics``): ``metric(y_true, y_pred)`` returns a value per sample
(or a scalar); the model averages it over the batch. Every loss is also a metric.

'accuracy' / 'acc' in ``compile(metrics=...)`` is resolved by the model to binary,
categorical or sparse categorical accuracy from the loss and the output shape, as Keras does.
"""
from __future__ import annotations

from . import backend as K
from .losses import (  # noqa: F401 - every loss is a metric too
    KLD, MAE, MAPE, MSE, MSLE, binary_crossentropy, categorical_crossentropy,
    categorical_hinge, cosine, cosine_proximity, hinge, kld, kullback_leibler_divergence,
    logcosh, mae, mape, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_error, mean_squared_logarithmic_error, mse, msle, poisson,
    sparse_categorical_crossentropy, squared_hinge)
from . import losses as _losses


def binary_accuracy(y_true, y_pred):
    return K.mean(K.cast(K.equal(y_true, K.round(y_pred)), K.floatx()), axis=-1)


def categorical_accuracy(y_true, y_pred):
    return K.cast(K.equal(K.argmax(y_true, axis=-1), K.argmax(y_pred, axis=-1)), K.floatx())


def sparse_categorical_accuracy(y_true, y_pred):
    # y_true holds class indices with a trailing axis of 1 (Keras's layout) or none
    labels = K.max(y_true, axis=-1) if K.ndim(y_true) == K.ndim(y_pred) else y_true
    pred = K.cast(K.argmax(y_pred, axis=-1), K.floatx())
    return K.cast(K.equal(K.cast(labels, K.floatx()), pred), K.floatx())


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    return K.mean(K.cast(K.in_top_k(y_pred, K.argmax(y_true, axis=-1), k), K.floatx()),
                  axis=-1)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    labels = K.max(y_true, axis=-1) if K.ndim(y_true) == K.ndim(y_pred) else y_true
    return K.mean(K.cast(K.in_top_k(y_pred, K.cast(labels, "int32"), k), K.floatx()), axis=-1)


acc = accuracy = binary_accuracy   # resolved per model in compile(); see module docstring

_OBJECTS = dict(_losses._OBJECTS)
_OBJECTS.update({f.__name__: f for f in (
    binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    top_k_categorical_accuracy, sparse_top_k_categorical_accuracy)})
_OBJECTS.update({"acc": binary_accuracy, "accuracy": binary_accuracy})


def serialize(metric):
    """The metric's name, or ``{'class_name', 'config'}`` for an object with ``get_config``."""
    from .utils.generic_utils import serialize_keras_object
    return serialize_keras_object(metric)


def deserialize(name, custom_objects=None):
    from .utils import deserialize_keras_object
    return deserialize_keras_object(name, module_objects=_OBJECTS, custom_objects=custom_objects,
                                    printable_module_name="metric function")


def get(identifier):
    """A metric from a name or a callable."""
    if isinstance(identifier, str):
        if identifier not in _OBJECTS and identifier.lower() in _OBJECTS:
            identifier = identifier.lower()
        return deserialize(identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret metric function identifier: {identifier!r}")
