"""MobileNet v1 (Howard et al., https://arxiv.org/abs/1704.04861), as Keras 2.2.4 builds it.
Only ``channels_last``. ``alpha`` scales the width; ImageNet weights exist for alpha in
(0.25, 0.5, 0.75, 1.0) and square inputs of 128, 160, 192 or 224.

Example:
    >>> from graphc.applications.mobilenet import MobileNet
    >>> model = MobileNet(input_shape=(32, 32, 3), alpha=0.25, weights=None, include_top=False)
"""
from __future__ import annotations

from .. import layers
from . import _common
from . import imagenet_utils
from .imagenet_utils import _obtain_input_shape, decode_predictions  # noqa: F401

BASE_WEIGHT_PATH = ('https://github.com/fchollet/deep-learning-models/releases/download/'
                    'v0.6/')
_ALPHA_TEXT = {1.0: '1_0', 0.75: '7_5', 0.5: '5_0', 0.25: '2_5'}
_SIZES = (128, 160, 192, 224)


def _conv_block(inputs, filters, alpha, kernel=(3, 3), strides=(1, 1)):
    filters = int(filters * alpha)
    x = layers.ZeroPadding2D(padding=((0, 1), (0, 1)), name='conv1_pad')(inputs)
    x = layers.Conv2D(filters, kernel, padding='valid', use_bias=False, strides=strides,
                      name='conv1')(x)
    x = layers.BatchNormalization(axis=-1, name='conv1_bn')(x)
    return layers.ReLU(6., name='conv1_relu')(x)


def _depthwise_conv_block(inputs, pointwise_filters, alpha, depth_multiplier=1,
                          strides=(1, 1), block_id=1):
    """3x3 depthwise conv -> BN -> relu6 -> 1x1 conv -> BN -> relu6."""
    pointwise_filters = int(pointwise_filters * alpha)
    x = inputs
    if strides != (1, 1):
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f'conv_pad_{block_id}')(x)
    x = layers.DepthwiseConv2D((3, 3), padding='same' if strides == (1, 1) else 'valid',
                               depth_multiplier=depth_multiplier, strides=strides,
                               use_bias=False, name=f'conv_dw_{block_id}')(x)
    x = layers.BatchNormalization(axis=-1, name=f'conv_dw_{block_id}_bn')(x)
    x = layers.ReLU(6., name=f'conv_dw_{block_id}_relu')(x)
    x = layers.Conv2D(pointwise_filters, (1, 1), padding='same', use_bias=False,
                      strides=(1, 1), name=f'conv_pw_{block_id}')(x)
    x = layers.BatchNormalization(axis=-1, name=f'conv_pw_{block_id}_bn')(x)
    return layers.ReLU(6., name=f'conv_pw_{block_id}_relu')(x)


# (pointwise filters, strides) of depthwise blocks 1..13
_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
           (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


def MobileNet(input_shape=None, alpha=1.0, depth_multiplier=1, dropout=1e-3, include_top=True,
              weights='imagenet', input_tensor=None, pooling=None, classes=1000, **kwargs):
    """MobileNet v1, optionally with ImageNet weights (Keras 2.2.4's
    ``keras.applications.MobileNet``).

    Args:
        input_shape: (rows, cols, 3), at least 32x32; only with ``include_top=False`` unless
            it is the default size.
        alpha: width multiplier (< 1 thins every layer, > 1 widens it).
        depth_multiplier: channel multiplier of the depthwise convolutions.
        dropout: dropout rate before the classifier.
        include_top: include the classifier (a 1x1 convolution ``conv_preds``).
        weights: None, 'imagenet' (fetched with ``get_file``) or the path of a weights file.
        input_tensor: an optional tensor to use as the image input.
        pooling: with ``include_top=False``: None (4D output), 'avg' or 'max'.
        classes: classes of the top (1000 with ImageNet weights).

    Returns:
        A ``Model`` named 'mobilenet_<alpha>_<rows>'.

    Raises:
        ValueError: invalid arguments, or a combination ImageNet weights do not exist for.

    Example:
        >>> MobileNet(weights=None).count_params()
        4253864
    """
    _common.check_weights_arg(weights, include_top, classes)
    _common.check_pooling(pooling)
    with _common.channels_last('MobileNet'):
        input_shape, rows = _common.mobilenet_input_shape(
            input_shape, input_tensor, include_top, weights, alpha,
            depth_multiplier, _ALPHA_TEXT, '`0.25`, `0.50`, `0.75` or `1.0`', _SIZES)
        img_input = _common.image_input(input_tensor, input_shape)
        x = _conv_block(img_input, 32, alpha, strides=(2, 2))
        for block_id, (filters, stride) in enumerate(_BLOCKS, start=1):
            x = _depthwise_conv_block(x, filters, alpha, depth_multiplier,
                                      strides=(stride, stride), block_id=block_id)
        if include_top:
            x = layers.GlobalAveragePooling2D()(x)
            x = layers.Reshape((1, 1, int(1024 * alpha)), name='reshape_1')(x)
            x = layers.Dropout(dropout, name='dropout')(x)
            x = layers.Conv2D(classes, (1, 1), padding='same', name='conv_preds')(x)
            x = layers.Activation('softmax', name='act_softmax')(x)
            x = layers.Reshape((classes,), name='reshape_2')(x)
        else:
            x = _common.pool(x, pooling)
        model = _common.build_model(_common.model_inputs(input_tensor, img_input), x,
                                    'mobilenet_%0.2f_%s' % (alpha, rows))
        if weights == 'imagenet':
            suffix = 'tf.h5' if include_top else 'tf_no_top.h5'
            fname = f'mobilenet_{_ALPHA_TEXT[alpha]}_{rows}_{suffix}'
            return _common.load_weights(model, weights, fname, BASE_WEIGHT_PATH + fname, None)
        return _common.load_weights(model, weights)


def relu6(x):
    """min(max(x, 0), 6): Keras 2's ``mobilenet.relu6`` (the layers use ``ReLU(6.)``)."""
    from .. import backend as K
    return K.relu(x, max_value=6)


def preprocess_input(x, data_format=None, **kwargs):
    """Scale a batch of RGB images in [0, 255] to [-1, 1] (``imagenet_utils`` mode 'tf')."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode='tf', **kwargs)
