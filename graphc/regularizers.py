"""Weight regularizers (Keras 2 ``keras.regularizers``): callables from a weight to a scalar
penalty that the model adds to its loss.

Example:
    >>> Dense(64, kernel_regularizer=regularizers.l2(0.01))
"""
from __future__ import annotations

from . import backend as K


class Regularizer:
    """Base class: ``__call__(x) -> scalar tensor``."""

    def __call__(self, x):
        return 0.0

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = float(l1)
        self.l2 = float(l2)

    def __call__(self, x):
        penalty = None
        if self.l1:
            penalty = self.l1 * K.sum(K.abs(x))
        if self.l2:
            term = self.l2 * K.sum(K.square(x))
            penalty = term if penalty is None else penalty + term
        return K.constant(0.0) if penalty is None else penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


def l1(l=0.01):  # noqa: E741 - Keras's argument name
    return L1L2(l1=l)


def l2(l=0.01):  # noqa: E741
    return L1L2(l2=l)


def l1_l2(l1=0.01, l2=0.01):  # noqa: F811
    return L1L2(l1=l1, l2=l2)


_OBJECTS = {"Regularizer": Regularizer, "L1L2": L1L2, "l1": l1, "l2": l2, "l1_l2": l1_l2}


def serialize(regularizer):
    from .utils import serialize_keras_object
    return serialize_keras_object(regularizer)


def deserialize(config, custom_objects=None):
    from .utils import deserialize_keras_object
    return deserialize_keras_object(config, module_objects=_OBJECTS,
                                    custom_objects=custom_objects,
                                    printable_module_name="regularizer")


def get(identifier):
    """A regularizer from None, a name (case-insensitive), a config dict or a callable."""
    from .utils.generic_utils import get_from_module
    return get_from_module(identifier, _OBJECTS, "regularizer")
