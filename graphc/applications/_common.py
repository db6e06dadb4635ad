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


def classifier_top(x, include_top, classes, pooling, avg_name='avg_pool',
                   dense_name='predictions'):
    """The usual head: global average pooling and a softmax Dense of ``classes`` with the
    top, the optional global pooling of a headless model without it."""
    if include_top:
        x = layers.GlobalAveragePooling2D(name=avg_name)(x)
        return layers.Dense(classes, activation='softmax', name=dense_name)(x)
    return pool(x, pooling)


def finish(x, input_tensor, img_input, name, weights, include_top, top_file, no_top_file):
    """The model of ``x`` named ``name`` with ``weights`` loaded; ``top_file`` /
    ``no_top_file`` are the (file name, origin, hash) of its ImageNet weights with and
    without the top."""
    model = build_model(model_inputs(input_tensor, img_input), x, name)
    return load_weights(model, weights, *(top_file if include_top else no_top_file))


def rows_cols(input_shape, input_tensor):
    """The (rows, cols) ``input_shape`` or the 4-D ``input_tensor`` gives, None where
    unknown."""
    if input_shape is not None:
        return input_shape[0], input_shape[1]
    if input_tensor is not None:
        try:
            shape = K.int_shape(input_tensor)
        except (ValueError, AttributeError, TypeError):
            return None, None
        if shape is not None and len(shape) == 4:
            return shape[1], shape[2]
    return None, None


def mobilenet_input_shape(input_shape, input_tensor, include_top, weights, alpha,
                          depth_multiplier, alphas, alphas_text, sizes):
    """MobileNet / MobileNetV2's input shape and rows (Keras 2.2.4's checks): the default
    size is the given square size when ImageNet weights exist for it, else 224; with
    ImageNet weights ``depth_multiplier`` must be 1, ``alpha`` one of ``alphas`` and the
    input one of the square ``sizes`` (undefined: 224, with a warning). Called inside
    ``channels_last``."""
    from .imagenet_utils import _obtain_input_shape
    rows, cols = rows_cols(input_shape, input_tensor)
    default_size = rows if rows == cols and rows in sizes else 224
    input_shape = _obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                      data_format='channels_last',
                                      require_flatten=include_top, weights=weights)
    rows, cols = input_shape[0], input_shape[1]
    if weights == 'imagenet':
        if depth_multiplier != 1:
            raise ValueError(f'If imagenet weights are being loaded, depth multiplier '
                             f'must be 1; got {depth_multiplier}')
        if alpha not in alphas:
            raise ValueError(f'If imagenet weights are being loaded, alpha can be one of '
                             f'{alphas_text} only; got {alpha}')
        if rows != cols or rows not in sizes:
            if rows is None:
                rows = 224
                warnings.warn('MobileNet shape is undefined. Weights for input shape '
                              '(224, 224) will be loaded.', stacklevel=3)
            else:
                shapes = ', '.join(f'({n}, {n})' for n in sizes[:-1])
                raise ValueError(f'If imagenet weights are being loaded, input must have '
                                 f'a static square shape (one of {shapes}, or '
                                 f'({sizes[-1]}, {sizes[-1]})). Input shape provided = '
                                 f'{input_shape}')
    return input_shape, rows


def bn_axis():
    return 3 if K.image_data_format() == 'channels_last' else 1
