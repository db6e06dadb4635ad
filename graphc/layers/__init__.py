"""Layers (``keras.layers``): the engine's Input / InputLayer / Layer, the core layers, and
every other layer family module present in this package.

``serialize(layer)`` / ``deserialize(config)`` turn layers (and models) into
``{'class_name', 'config'}`` dicts and back.

Example:
    >>> from graphc.layers import Input, Dense
    >>> y = Dense(10)(Input(shape=(4,)))
"""
from __future__ import annotations

import importlib as _importlib

from ..engine.base_layer import InputSpec, Layer  # noqa: F401
from ..engine.input_layer import Input, InputLayer  # noqa: F401
from .core import (  # noqa: F401
    Activation, ActivityRegularization, Dense, Dropout, Embedding, Flatten, Lambda, Masking,
    Permute, RepeatVector, Reshape)

__all__ = ['Input', 'InputLayer', 'InputSpec', 'Layer', 'Dense', 'Activation', 'Dropout',
           'Flatten', 'Reshape', 'Permute', 'RepeatVector', 'Lambda',
           'ActivityRegularization', 'Masking', 'Embedding', 'serialize', 'deserialize']

# Other layer families register here when their module exists (each defines __all__).
_FAMILIES = ('convolutional', 'pooling', 'recurrent', 'normalization', 'merge',
             'advanced_activations', 'noise', 'local', 'wrappers', 'embeddings',
             'convolutional_recurrent', 'cudnn_recurrent')
for _family in _FAMILIES:
    try:
        _module = _importlib.import_module(f'{__name__}.{_family}')
    except ModuleNotFoundError as _e:
        if _e.name != f'{__name__}.{_family}':
            raise
        continue
    for _name in getattr(_module, '__all__', []):
        globals()[_name] = getattr(_module, _name)
        if _name not in __all__:
            __all__.append(_name)

# Keras 1 layers that Keras 2 still exports from keras.layers (deprecated).
from ..legacy.layers import (  # noqa: E402,F401
    AtrousConvolution1D, AtrousConvolution2D, Highway, MaxoutDense)
__all__ += ['Highway', 'MaxoutDense', 'AtrousConvolution1D', 'AtrousConvolution2D']


def serialize(layer):
    """``{'class_name': ..., 'config': ...}`` for a layer or model.

    Example:
        >>> serialize(Dense(2))['class_name']
        'Dense'
    """
    return {'class_name': type(layer).__name__, 'config': layer.get_config()}


def _module_objects():
    from ..engine.network import Network
    from ..engine.sequential import Sequential
    from ..engine.training import Model
    objects = {name: globals()[name] for name in __all__ if name in globals()
               and isinstance(globals()[name], type)}
    objects.update({'Model': Model, 'Sequential': Sequential, 'Network': Network})
    return objects


def deserialize(config, custom_objects=None, safe_mode=None):
    """A layer (or model) from ``serialize``'s dict; ``custom_objects`` maps names of user
    classes and functions. ``safe_mode`` (default: the enclosing setting, safe unless
    ``graphc.config.enable_unsafe_deserialization()`` was called) refuses saved bytecode.

    Raises:
        ValueError naming an unknown class and the known ones, or saved code in safe mode.
    """
    from ..utils.generic_utils import deserialize_keras_object
    from ..utils.safe_mode import SafeModeScope
    with SafeModeScope(safe_mode):
        return deserialize_keras_object(config, module_objects=_module_objects(),
                                        custom_objects=custom_objects,
                                        printable_module_name='layer')
