"""Models (``keras.models``): ``Sequential`` and the functional ``Model``, plus
``load_model`` / ``save_model`` / ``model_from_json`` / ``model_from_yaml`` /
``model_from_config`` from ``graphc.saving``.

Example:
    >>> from graphc.models import Sequential
    >>> from graphc.layers import Dense
    >>> model = Sequential([Dense(10, input_shape=(4,))])
"""
from __future__ import annotations

import importlib

from .engine.network import Network  # noqa: F401
from .engine.sequential import Sequential
from .engine.training import Model

_FROM_SAVING = ('load_model', 'save_model', 'model_from_json', 'model_from_yaml',
                'model_from_config')

__all__ = ['Model', 'Sequential', 'clone_model'] + list(_FROM_SAVING)


def __getattr__(name):
    """``load_model`` & co. live in graphc.saving; imported on first use."""
    if name in _FROM_SAVING:
        saving = importlib.import_module('graphc.saving')
        try:
            return getattr(saving, name)
        except AttributeError:
            raise AttributeError(f"graphc.saving has no {name!r}") from None
    raise AttributeError(f"module 'graphc.models' has no attribute {name!r}")


def clone_model(model, input_tensors=None):
    """A new model with the same architecture as ``model`` and freshly initialised weights
    (``keras.models.clone_model``); layers are rebuilt from their configs.

    Args:
        model: a Sequential or functional Model.
        input_tensors: optional tensor(s) to build the clone on.
    Returns:
        The clone (same class for Sequential, a Model otherwise).

    Example:
        >>> clone = clone_model(model)
        >>> clone.set_weights(model.get_weights())
    """
    from .layers import deserialize
    if isinstance(model, Sequential):
        # The configs come from the model in memory, not from a file: a Lambda's lambda is
        # the user's own code, so safe mode does not apply.
        layers = [deserialize({'class_name': type(la).__name__, 'config': la.get_config()},
                              safe_mode=False)
                  for la in model.layers]
        clone = Sequential(name=None)
        if input_tensors is not None:
            from .engine.input_layer import InputLayer
            clone.add(InputLayer(input_tensor=input_tensors if not isinstance(
                input_tensors, (list, tuple)) else input_tensors[0]))
        for la in layers:
            clone.add(la)
        if not clone.inputs and model.inputs:
            clone.build(model.inputs[0]._keras_shape)
        return clone
    config = model.get_config()
    clone = Model.from_config(config, safe_mode=False)     # in memory: see above
    if input_tensors is not None:
        outputs = clone(input_tensors)
        return Model(input_tensors, outputs, name=None)
    return clone
