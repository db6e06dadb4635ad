"""Plumbing shared by every application: argument checks, the image input, the pooling
head and loading ImageNet weights through ``get_file``.

Weight files are Keras 2's published HDF5 files; they are loaded with graphc's Keras 2 HDF5
loader by topology (the order of the layers that have weights), which is why every
architecture builds its layers in exactly Keras 2.2.4's order and with its names.
"""
from __future__ import annotations

import contextlib
import os
import warnings

from .. import backend as K
from .. import layers
from ..engine.training import Model


def check_weights_arg(weights, include_top, classes):
    """Keras 2.2.4's checks of ``weights`` and ``classes``."""
    if not (weights in ('imagenet', None) or
            (isinstance(weights, (str, os.PathLike)) and os.path.exists(weights))):
        raise ValueError(f'The `weights` argument should be either `None` (random '
                         f'initialization), `imagenet` (pre-training on ImageNet), or the '
                         f'path to the weights file to be loaded; got {weights!r}')
    if weights == 'imagenet' and include_top and classes != 1000:
        raise ValueError(f'If using `weights` as `"imagenet"` with `include_top` as true, '
                         f'`classes` should be 1000; got classes={classes}')


def check_pooling(pooling):
    if pooling not in (None, 'avg', 'max'):
        raise ValueError(f"`pooling` must be None, 'avg' or 'max'; got {pooling!r}")


def image_input(input_tensor, input_shape):
    """The model's image input: a new Input, or ``input_tensor`` (wrapped in an Input layer
    when it is not the output of a layer)."""
    if input_tensor is None:
        return layers.Input(shape=input_shape)
    try:
        is_keras = K.is_keras_tensor(input_tensor)
    except ValueError:
        raise ValueError(f'`input_tensor` must be a symbolic tensor (e.g. the output of '
                         f'`Input()`); got {type(input_tensor).__name__}') from None
    if not is_keras:
        return layers.Input(tensor=input_tensor, shape=input_shape)
    return input_tensor


def model_inputs(input_tensor, img_input):
    """The inputs of the model: those ``input_tensor`` depends on, or the new Input."""
    if input_tensor is None:
        return img_input
    from ..utils.layer_utils import get_source_inputs
    return get_source_inputs(input_tensor)


def pool(x, pooling, name_avg=None, name_max=None):
    """The optional global pooling of a headless model."""
    if pooling == 'avg':
        return layers.GlobalAveragePooling2D(name=name_avg)(x)
    if pooling == 'max':
        return layers.GlobalMaxPooling2D(name=name_max)(x)
    return x


@contextlib.contextmanager
def channels_last(model_name):
    """Build with ``channels_last`` (the only format some networks exist in), as Keras does:
    a warning and the global setting switched for the duration of the build."""
    old = K.image_data_format()
    if old != 'channels_last':
        warnings.warn(f'The {model_name} model is only available for the input data format '
                      f'"channels_last" (height, width, channels), but your settings specify '
                      f'"{old}". The model being returned expects "channels_last" inputs.',
                      stacklevel=4)
        K.set_image_data_format('channels_last')
    try:
        yield
    finally:
        if old != 'channels_last':
            K.set_image_data_format(old)


def load_weights(model, weights, fname=None, origin=None, file_hash=None):
    """Load ``weights`` into ``model``: 'imagenet' fetches ``origin`` with ``get_file`` into
    ``<graphc home>/models/<fname>`` (checked against ``file_hash`` when there is one); a path
    is loaded as is."""
    if weights is None:
        return model
    if weights == 'imagenet':
        from ..utils.data_utils import get_file
        weights = get_file(fname, origin, cache_subdir='models', file_hash=file_hash)
    model.load_weights(weights)
    return model


def build_model(inputs, outputs, name):
    return Model(inputs, outputs, name=name)


def bn_axis():
    return 3 if K.image_data_format() == 'channels_last' else 1
