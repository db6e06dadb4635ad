"""Xception (Chollet, https://arxiv.org/abs/1610.02357), as Keras 2.2.4 builds it. Only
``channels_last``; default input 299x299; ``preprocess_input`` scales to [-1, 1] (mode 'tf').

Example:
    >>> from graphc.applications.xception import Xception
    >>> model = Xception(weights=None, include_top=False, input_shape=(71, 71, 3))
"""
from __future__ import annotations

from .. import layers
from . import _common
from . import imagenet_utils
from .imagenet_utils import _obtain_input_shape, decode_predictions  # noqa: F401

TF_WEIGHTS_PATH = ('https://github.com/fchollet/deep-learning-models/releases/download/v0.4/'
                   'xception_weights_tf_dim_ordering_tf_kernels.h5')
TF_WEIGHTS_PATH_NO_TOP = ('https://github.com/fchollet/deep-learning-models/releases/'
                          'download/v0.4/xception_weights_tf_dim_ordering_tf_kernels_notop.h5')
WEIGHTS_HASH = '0a58e3b7378bc2990ea3b43d5981f1f6'
WEIGHTS_HASH_NO_TOP = 'b0042744bf5b25fce3cb969f33bebb97'


def _sep_bn(x, filters, name):
    x = layers.SeparableConv2D(filters, (3, 3), padding='same', use_bias=False, name=name)(x)
    return layers.BatchNormalization(name=name + '_bn')(x)


def _shortcut(x, filters):
    """The strided 1x1 projection of an entry / exit block (its layers are unnamed)."""
    r = layers.Conv2D(filters, (1, 1), strides=(2, 2), padding='same', use_bias=False)(x)
    return layers.BatchNormalization()(r)


def _down_block(x, block, filters1, filters2, first_relu=True):
    """relu? -> sepconv -> relu -> sepconv -> maxpool /2, plus a projected shortcut."""
    residual = _shortcut(x, filters2)
    prefix = f'block{block}'
    if first_relu:
        x = layers.Activation('relu', name=prefix + '_sepconv1_act')(x)
    x = _sep_bn(x, filters1, prefix + '_sepconv1')
    x = layers.Activation('relu', name=prefix + '_sepconv2_act')(x)
    x = _sep_bn(x, filters2, prefix + '_sepconv2')
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding='same', name=prefix + '_pool')(x)
    return layers.add([x, residual])


def Xception(include_top=True, weights='imagenet', input_tensor=None, input_shape=None,
             pooling=None, classes=1000, **kwargs):
    """Xception, optionally with ImageNet weights (Keras 2.2.4's
    ``keras.applications.Xception``). The model is always ``channels_last`` (with a warning
    when the setting is ``channels_first``).

    Args:
        include_top: include the global average pooling and Dense (``classes``) top.
        weights: None, 'imagenet' (fetched with ``get_file``) or the path of a weights file.
        input_tensor: an optional tensor to use as the image input.
        input_shape: (height, width, 3), at least 71x71.
        pooling: with ``include_top=False``: None (4D output), 'avg' or 'max'.
        classes: classes of the top layer (1000 with ImageNet weights).

    Returns:
        A ``Model`` named 'xception'.

    Raises:
        ValueError: invalid ``weights``, ``classes``, ``pooling`` or input shape.

    Example:
        >>> Xception(weights=None).count_params()
        22910480
    """
    _common.check_weights_arg(weights, include_top, classes)
    _common.check_pooling(pooling)
    with _common.channels_last('Xception'):
        input_shape = _obtain_input_shape(input_shape, default_size=299, min_size=71,
                                          data_format='channels_last', require_flatten=False,
                                          weights=weights)
        img_input = _common.image_input(input_tensor, input_shape)
        x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False,
                          name='block1_conv1')(img_input)
        x = layers.BatchNormalization(name='block1_conv1_bn')(x)
        x = layers.Activation('relu', name='block1_conv1_act')(x)
        x = layers.Conv2D(64, (3, 3), use_bias=False, name='block1_conv2')(x)
        x = layers.BatchNormalization(name='block1_conv2_bn')(x)
        x = layers.Activation('relu', name='block1_conv2_act')(x)

        x = _down_block(x, 2, 128, 128, first_relu=False)
        x = _down_block(x, 3, 256, 256)
        x = _down_block(x, 4, 728, 728)
        for block in range(5, 13):          # middle flow: 8 residual blocks
            residual = x
            for i in (1, 2, 3):
                x = layers.Activation('relu', name=f'block{block}_sepconv{i}_act')(x)
                x = _sep_bn(x, 728, f'block{block}_sepconv{i}')
            x = layers.add([x, residual])
        x = _down_block(x, 13, 728, 1024)

        x = _sep_bn(x, 1536, 'block14_sepconv1')
        x = layers.Activation('relu', name='block14_sepconv1_act')(x)
        x = _sep_bn(x, 2048, 'block14_sepconv2')
        x = layers.Activation('relu', name='block14_sepconv2_act')(x)

        x = _common.classifier_top(x, include_top, classes, pooling)
        return _common.finish(
            x, input_tensor, img_input, 'xception', weights, include_top,
            ('xception_weights_tf_dim_ordering_tf_kernels.h5', TF_WEIGHTS_PATH, WEIGHTS_HASH),
            ('xception_weights_tf_dim_ordering_tf_kernels_notop.h5', TF_WEIGHTS_PATH_NO_TOP,
             WEIGHTS_HASH_NO_TOP))


def preprocess_input(x, data_format=None, **kwargs):
    """Scale a batch of RGB images in [0, 255] to [-1, 1] (``imagenet_utils`` mode 'tf')."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode='tf', **kwargs)
