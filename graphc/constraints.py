"""Weight constraints (Keras 2 ``keras.constraints``): applied to a variable after each
optimizer update, inside the compiled training step.

Example:
    >>> Dense(64, kernel_constraint=constraints.max_norm(2.))
"""
from __future__ import annotations

from . import backend as K


class Constraint:
    """Base class: ``__call__(w) -> constrained w``."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MaxNorm(Constraint):
    """Rescale so the norm along ``axis`` is at most ``max_value``."""

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        norms = K.sqrt(K.sum(K.square(w), axis=self.axis, keepdims=True))
        desired = K.clip(norms, 0, self.max_value)
        return w * (desired / (K.epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Negative weights become zero."""

    def __call__(self, w):
        return w * K.cast(K.greater_equal(w, 0.0), K.floatx())


class UnitNorm(Constraint):
    """Norm 1 along ``axis``."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (K.epsilon() + K.sqrt(K.sum(K.square(w), axis=self.axis, keepdims=True)))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Norm along ``axis`` moved towards [min_value, max_value] at speed ``rate``."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        norms = K.sqrt(K.sum(K.square(w), axis=self.axis, keepdims=True))
        desired = (self.rate * K.clip(norms, self.min_value, self.max_value)
                   + (1 - self.rate) * norms)
        return w * (desired / (K.epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


max_norm = maxnorm = MaxNorm
non_neg = nonneg = NonNeg
unit_norm = unitnorm = UnitNorm
min_max_norm = MinMaxNorm

_OBJECTS = {"Constraint": Constraint, "MaxNorm": MaxNorm, "NonNeg": NonNeg,
            "UnitNorm": UnitNorm, "MinMaxNorm": MinMaxNorm, "max_norm": MaxNorm,
            "maxnorm": MaxNorm, "non_neg": NonNeg, "nonneg": NonNeg, "unit_norm": UnitNorm,
            "unitnorm": UnitNorm, "min_max_norm": MinMaxNorm}


def serialize(constraint):
    from .utils import serialize_keras_object
    return serialize_keras_object(constraint)


def deserialize(config, custom_objects=None):
    from .utils import deserialize_keras_object
    return deserialize_keras_object(config, module_objects=_OBJECTS,
                                    custom_objects=custom_objects,
                                    printable_module_name="constraint")


def get(identifier):
    """A constraint from None, a name (case-insensitive), a config dict or a callable."""
    from .utils.generic_utils import get_from_module
    return get_from_module(identifier, _OBJECTS, "constraint")
