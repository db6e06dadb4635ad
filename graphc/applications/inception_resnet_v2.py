"""Inception-ResNet V2 (Szegedy et al., https://arxiv.org/abs/1602.07261), as Keras 2.2.4
builds it. Default input 299x299, at least 75x75; ``preprocess_input`` scales to [-1, 1]
(mode 'tf').

Each residual block adds its branches, scaled, to its input with a ``Lambda`` layer named
like the block ('block35_1' ... 'block8_10'). Its function is ``scaled_residual``, a
registered library function: a saved model names it, and loading finds it again even in
safe mode (no bytecode is stored or run).

Example:
    >>> from graphc.applications.inception_resnet_v2 import InceptionResNetV2
    >>> model = InceptionResNetV2(weights=None, include_top=False, input_shape=(75, 75, 3))
"""
from __future__ import annotations

from .. import backend as K
from .. import layers
from ..layers.core import register_lambda_function
from . import _common
from . import imagenet_utils
from .imagenet_utils import _obtain_input_shape, decode_predictions  # noqa: F401

BASE_WEIGHT_URL = 'https://github.com/fchollet/deep-learning-models/releases/download/v0.7/'
WEIGHTS_FILE = 'inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5'
WEIGHTS_FILE_NO_TOP = 'inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5'
WEIGHTS_PATH = BASE_WEIGHT_URL + WEIGHTS_FILE
WEIGHTS_PATH_NO_TOP = BASE_WEIGHT_URL + WEIGHTS_FILE_NO_TOP
WEIGHTS_HASH = 'e693bd0210a403b3192acc6073ad2e96'
WEIGHTS_HASH_NO_TOP = 'd19885ff4a710c122648d3b5c3b684e4'

# the residual scale of each kind of block (the last block8 adds at scale 1, no relu after)
BLOCK_SCALES = {'block35': 0.17, 'block17': 0.1, 'block8': 0.2}


@register_lambda_function
def scaled_residual(inputs, scale):
    """``inputs[0] + inputs[1] * scale``: a block's input plus its scaled residual branch."""
    return inputs[0] + inputs[1] * scale


def conv2d_bn(x, filters, kernel_size, strides=1, padding='same', activation='relu',
              use_bias=False, name=None):
    """Conv2D -> BatchNormalization (no scale; only without bias) -> activation (unless
    None); with ``name``, the layers are ``name``, ``name + '_bn'`` and ``name + '_ac'``."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding,
                      use_bias=use_bias, name=name)(x)
    if not use_bias:
        x = layers.BatchNormalization(axis=_common.bn_axis(), scale=False,
                                      name=None if name is None else name + '_bn')(x)
    if activation is not None:
        x = layers.Activation(activation, name=None if name is None else name + '_ac')(x)
    return x


def inception_resnet_block(x, scale, block_type, block_idx, activation='relu'):
    """One Inception-ResNet block: its branches concatenated ('<block>_mixed'), a 1x1 conv
    with bias back to the input's depth ('<block>_conv'), ``x + scale * that`` (the Lambda
    '<block>') and ``activation`` ('<block>_ac'); ``<block>`` is ``block_type + '_' +
    block_idx``.

    Raises:
        ValueError: ``block_type`` is not 'block35', 'block17' or 'block8'.
    """
    if block_type == 'block35':
        branches = [conv2d_bn(x, 32, 1),
                    conv2d_bn(conv2d_bn(x, 32, 1), 32, 3),
                    conv2d_bn(conv2d_bn(conv2d_bn(x, 32, 1), 48, 3), 64, 3)]
    elif block_type == 'block17':
        branches = [conv2d_bn(x, 192, 1),
                    conv2d_bn(conv2d_bn(conv2d_bn(x, 128, 1), 160, [1, 7]), 192, [7, 1])]
    elif block_type == 'block8':
        branches = [conv2d_bn(x, 192, 1),
                    conv2d_bn(conv2d_bn(conv2d_bn(x, 192, 1), 224, [1, 3]), 256, [3, 1])]
    else:
        raise ValueError(f'Unknown Inception-ResNet block type. Expects "block35", '
                         f'"block17" or "block8", but got: {block_type}')

    block_name = f'{block_type}_{block_idx}'
    axis = _common.bn_axis()
    mixed = layers.Concatenate(axis=axis, name=block_name + '_mixed')(branches)
    up = conv2d_bn(mixed, K.int_shape(x)[axis], 1, activation=None, use_bias=True,
                   name=block_name + '_conv')
    x = layers.Lambda(scaled_residual, output_shape=K.int_shape(x)[1:],
                      arguments={'scale': scale}, name=block_name)([x, up])
    if activation is not None:
        x = layers.Activation(activation, name=block_name + '_ac')(x)
    return x


def InceptionResNetV2(include_top=True, weights='imagenet', input_tensor=None,
                      input_shape=None, pooling=None, classes=1000, **kwargs):
    """Inception-ResNet V2, optionally with ImageNet weights (Keras 2.2.4's
    ``keras.applications.InceptionResNetV2``).

    Args:
        include_top: include the global average pooling and Dense (``classes``) top.
        weights: None, 'imagenet' (fetched with ``get_file``) or the path of a weights file.
        input_tensor: an optional tensor to use as the image input.
        input_shape: (height, width, 3), at least 75x75; default (299, 299, 3) with
            ImageNet weights, else any size (None, None, 3).
        pooling: with ``include_top=False``: None (4D output), 'avg' or 'max'.
        classes: classes of the top layer (1000 with ImageNet weights).

    Returns:
        A ``Model`` named 'inception_resnet_v2'.

    Raises:
        ValueError: invalid ``weights``, ``classes``, ``pooling`` or input shape.

    Example:
        >>> InceptionResNetV2(weights=None).count_params()
        55873736
    """
    _common.check_weights_arg(weights, include_top, classes)
    _common.check_pooling(pooling)
    input_shape = _obtain_input_shape(input_shape, default_size=299, min_size=75,
                                      data_format=K.image_data_format(),
                                      require_flatten=False, weights=weights)
    img_input = _common.image_input(input_tensor, input_shape)
    axis = _common.bn_axis()

    # stem: 35 x 35 x 192
    x = conv2d_bn(img_input, 32, 3, strides=2, padding='valid')
    x = conv2d_bn(x, 32, 3, padding='valid')
    x = conv2d_bn(x, 64, 3)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = conv2d_bn(x, 80, 1, padding='valid')
    x = conv2d_bn(x, 192, 3, padding='valid')
    x = layers.MaxPooling2D(3, strides=2)(x)

    # mixed 5b (Inception-A): 35 x 35 x 320
    b0 = conv2d_bn(x, 96, 1)
    b1 = conv2d_bn(conv2d_bn(x, 48, 1), 64, 5)
    b2 = conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1), 96, 3), 96, 3)
    bp = conv2d_bn(layers.AveragePooling2D(3, strides=1, padding='same')(x), 64, 1)
    x = layers.Concatenate(axis=axis, name='mixed_5b')([b0, b1, b2, bp])

    for idx in range(1, 11):        # 10 x block35 (Inception-ResNet-A): 35 x 35 x 320
        x = inception_resnet_block(x, BLOCK_SCALES['block35'], 'block35', idx)

    # mixed 6a (Reduction-A): 17 x 17 x 1088
    b0 = conv2d_bn(x, 384, 3, strides=2, padding='valid')
    b1 = conv2d_bn(conv2d_bn(conv2d_bn(x, 256, 1), 256, 3), 384, 3, strides=2,
                   padding='valid')
    bp = layers.MaxPooling2D(3, strides=2, padding='valid')(x)
    x = layers.Concatenate(axis=axis, name='mixed_6a')([b0, b1, bp])

    for idx in range(1, 21):        # 20 x block17 (Inception-ResNet-B): 17 x 17 x 1088
        x = inception_resnet_block(x, BLOCK_SCALES['block17'], 'block17', idx)

    # mixed 7a (Reduction-B): 8 x 8 x 2080
    b0 = conv2d_bn(conv2d_bn(x, 256, 1), 384, 3, strides=2, padding='valid')
    b1 = conv2d_bn(conv2d_bn(x, 256, 1), 288, 3, strides=2, padding='valid')
    b2 = conv2d_bn(conv2d_bn(conv2d_bn(x, 256, 1), 288, 3), 320, 3, strides=2,
                   padding='valid')
    bp = layers.MaxPooling2D(3, strides=2, padding='valid')(x)
    x = layers.Concatenate(axis=axis, name='mixed_7a')([b0, b1, b2, bp])

    for idx in range(1, 10):        # 10 x block8 (Inception-ResNet-C): 8 x 8 x 2080
        x = inception_resnet_block(x, BLOCK_SCALES['block8'], 'block8', idx)
    x = inception_resnet_block(x, 1., 'block8', 10, activation=None)

    x = conv2d_bn(x, 1536, 1, name='conv_7b')        # 8 x 8 x 1536

    x = _common.classifier_top(x, include_top, classes, pooling)
    return _common.finish(
        x, input_tensor, img_input, 'inception_resnet_v2', weights, include_top,
        (WEIGHTS_FILE, WEIGHTS_PATH, WEIGHTS_HASH),
        (WEIGHTS_FILE_NO_TOP, WEIGHTS_PATH_NO_TOP, WEIGHTS_HASH_NO_TOP))


def preprocess_input(x, data_format=None, **kwargs):
    """Scale a batch of RGB images in [0, 255] to [-1, 1] (``imagenet_utils`` mode 'tf')."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode='tf', **kwargs)
