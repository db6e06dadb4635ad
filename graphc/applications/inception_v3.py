"""Inception V3 (Szegedy et al., http://arxiv.org/abs/1512.00567), as Keras 2.2.4 builds it.
Default input 299x299; ``preprocess_input`` scales to [-1, 1] (mode 'tf').

Example:
    >>> from graphc.applications.inception_v3 import InceptionV3
    >>> model = InceptionV3(weights=None, include_top=False, input_shape=(75, 75, 3))
"""
from __future__ import annotations

from .. import backend as K
from .. import layers
from . import _common
from . import imagenet_utils
from .imagenet_utils import _obtain_input_shape, decode_predictions  # noqa: F401

WEIGHTS_PATH = ('https://github.com/fchollet/deep-learning-models/releases/download/v0.5/'
                'inception_v3_weights_tf_dim_ordering_tf_kernels.h5')
WEIGHTS_PATH_NO_TOP = ('https://github.com/fchollet/deep-learning-models/releases/download/'
                       'v0.5/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5')
WEIGHTS_HASH = '9a0d58056eeedaa3f26cb7ebd46da564'
WEIGHTS_HASH_NO_TOP = 'bcbd6486424b2319ff4ef7d526e38f63'


def conv2d_bn(x, filters, num_row, num_col, padding='same', strides=(1, 1), name=None):
    """Conv2D (no bias) -> BatchNormalization (no scale) -> relu; with ``name``, the layers
    are ``name + '_conv'``, ``name + '_bn'`` and ``name``."""
    x = layers.Conv2D(filters, (num_row, num_col), strides=strides, padding=padding,
                      use_bias=False, name=None if name is None else name + '_conv')(x)
    x = layers.BatchNormalization(axis=_common.bn_axis(), scale=False,
                                  name=None if name is None else name + '_bn')(x)
    return layers.Activation('relu', name=name)(x)


def _avg3(x):
    return layers.AveragePooling2D((3, 3), strides=(1, 1), padding='same')(x)


def _chain(x, specs):
    """conv2d_bn applied in turn for each (filters, rows, cols)."""
    for filters, rows, cols in specs:
        x = conv2d_bn(x, filters, rows, cols)
    return x


def InceptionV3(include_top=True, weights='imagenet', input_tensor=None, input_shape=None,
                pooling=None, classes=1000, **kwargs):
    """Inception V3, optionally with ImageNet weights (Keras 2.2.4's
    ``keras.applications.InceptionV3``).

    Args:
        include_top: include the global average pooling and Dense (``classes``) top.
        weights: None, 'imagenet' (fetched with ``get_file``) or the path of a weights file.
        input_tensor: an optional tensor to use as the image input.
        input_shape: (height, width, 3), at least 75x75; default (299, 299, 3) with
            ImageNet weights and the top, else any size (None, None, 3).
        pooling: with ``include_top=False``: None (4D output), 'avg' or 'max'.
        classes: classes of the top layer (1000 with ImageNet weights).

    Returns:
        A ``Model`` named 'inception_v3'.

    Raises:
        ValueError: invalid ``weights``, ``classes``, ``pooling`` or input shape.

    Example:
        >>> InceptionV3(weights=None).count_params()
        23851784
    """
    _common.check_weights_arg(weights, include_top, classes)
    _common.check_pooling(pooling)
    input_shape = _obtain_input_shape(input_shape, default_size=299, min_size=75,
                                      data_format=K.image_data_format(),
                                      require_flatten=False, weights=weights)
    img_input = _common.image_input(input_tensor, input_shape)
    axis = _common.bn_axis()

    x = conv2d_bn(img_input, 32, 3, 3, strides=(2, 2), padding='valid')
    x = conv2d_bn(x, 32, 3, 3, padding='valid')
    x = conv2d_bn(x, 64, 3, 3)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = conv2d_bn(x, 80, 1, 1, padding='valid')
    x = conv2d_bn(x, 192, 3, 3, padding='valid')
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)

    # mixed 0, 1, 2: 35 x 35 x 256 / 288
    for i, pool_filters in enumerate((32, 64, 64)):
        b1 = conv2d_bn(x, 64, 1, 1)
        b5 = _chain(x, ((48, 1, 1), (64, 5, 5)))
        b3 = _chain(x, ((64, 1, 1), (96, 3, 3), (96, 3, 3)))
        bp = conv2d_bn(_avg3(x), pool_filters, 1, 1)
        x = layers.concatenate([b1, b5, b3, bp], axis=axis, name=f'mixed{i}')

    # mixed 3: 17 x 17 x 768
    b3 = conv2d_bn(x, 384, 3, 3, strides=(2, 2), padding='valid')
    b3d = _chain(x, ((64, 1, 1), (96, 3, 3)))
    b3d = conv2d_bn(b3d, 96, 3, 3, strides=(2, 2), padding='valid')
    bp = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = layers.concatenate([b3, b3d, bp], axis=axis, name='mixed3')

    # mixed 4, 5, 6, 7: 17 x 17 x 768, with 7x7 factorised into 1x7 and 7x1
    for i, n in zip((4, 5, 6, 7), (128, 160, 160, 192)):
        b1 = conv2d_bn(x, 192, 1, 1)
        b7 = _chain(x, ((n, 1, 1), (n, 1, 7), (192, 7, 1)))
        b7d = _chain(x, ((n, 1, 1), (n, 7, 1), (n, 1, 7), (n, 7, 1), (192, 1, 7)))
        bp = conv2d_bn(_avg3(x), 192, 1, 1)
        x = layers.concatenate([b1, b7, b7d, bp], axis=axis, name=f'mixed{i}')

    # mixed 8: 8 x 8 x 1280
    b3 = conv2d_bn(x, 192, 1, 1)
    b3 = conv2d_bn(b3, 320, 3, 3, strides=(2, 2), padding='valid')
    b7 = _chain(x, ((192, 1, 1), (192, 1, 7), (192, 7, 1)))
    b7 = conv2d_bn(b7, 192, 3, 3, strides=(2, 2), padding='valid')
    bp = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = layers.concatenate([b3, b7, bp], axis=axis, name='mixed8')

    # mixed 9, 10: 8 x 8 x 2048
    for i in range(2):
        b1 = conv2d_bn(x, 320, 1, 1)
        b3 = conv2d_bn(x, 384, 1, 1)
        b3 = layers.concatenate([conv2d_bn(b3, 384, 1, 3), conv2d_bn(b3, 384, 3, 1)],
                                axis=axis, name=f'mixed9_{i}')
        b3d = _chain(x, ((448, 1, 1), (384, 3, 3)))
        b3d = layers.concatenate([conv2d_bn(b3d, 384, 1, 3), conv2d_bn(b3d, 384, 3, 1)],
                                 axis=axis)
        bp = conv2d_bn(_avg3(x), 192, 1, 1)
        x = layers.concatenate([b1, b3, b3d, bp], axis=axis, name=f'mixed{9 + i}')

    x = _common.classifier_top(x, include_top, classes, pooling)
    return _common.finish(
        x, input_tensor, img_input, 'inception_v3', weights, include_top,
        ('inception_v3_weights_tf_dim_ordering_tf_kernels.h5', WEIGHTS_PATH, WEIGHTS_HASH),
        ('inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5', WEIGHTS_PATH_NO_TOP,
         WEIGHTS_HASH_NO_TOP))


def preprocess_input(x, data_format=None, **kwargs):
    """Scale a batch of RGB images in [0, 255] to [-1, 1] (``imagenet_utils`` mode 'tf')."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode='tf', **kwargs)
