"""Utilities of the Keras 2 API (``keras.utils``).

Example:
    >>> from graphc.utils import to_categorical
    >>> to_categorical([1], 2).tolist()
    [[0.0, 1.0]]
"""
from graphc.utils.data_utils import Sequence, get_file
from graphc.utils.generic_utils import (
    CustomObjectScope,
    Progbar,
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    serialize_keras_object,
)
from graphc.utils.np_utils import normalize, to_categorical
from graphc.utils.vis_utils import model_to_dot, plot_model

__all__ = [
    'to_categorical', 'normalize', 'get_file', 'Sequence', 'Progbar', 'custom_object_scope',
    'CustomObjectScope', 'get_custom_objects', 'serialize_keras_object',
    'deserialize_keras_object', 'plot_model', 'model_to_dot',
]
