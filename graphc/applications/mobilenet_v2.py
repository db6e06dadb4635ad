"""MobileNetV2 (Sandler et al., https://arxiv.org/abs/1801.04381), as Keras 2.2.4 builds it.
Only ``channels_last``. ImageNet weights exist for alpha in (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
and square inputs of 96, 128, 160, 192 or 224.

Example:
    >>> from graphc.applications.mobilenet_v2 import MobileNetV2
    >>> model = MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None,
    ...                     include_top=False)
"""
from __future__ import annotations

from .. import backend as K
from .. import layers
from . import _common
from . import imagenet_utils
from .imagenet_utils import _obtain_input_shape, decode_predictions  # noqa: F401

BASE_WEIGHT_PATH = ('https://github.com/JonathanCMitchell/mobilenet_v2_keras/releases/'
                    'download/v1.1/')
_ALPHAS = (0.35, 0.50, 0.75, 1.0, 1.3, 1.4)
_SIZES = (96, 128, 160, 192, 224)


def _make_divisible(v, divisor, min_value=None):
    """``v`` rounded to the nearest multiple of ``divisor``, not below ``min_value`` and
    not more than 10% below ``v`` (the rule of the reference implementation)."""
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _correct_pad(x, kernel_size):
    """The zero padding that makes a stride-2 'valid' convolution match TensorFlow's 'same'
    on the input ``x`` (one more row / column at the end for even sizes)."""
    size = K.int_shape(x)[1:3]
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    half = kernel_size // 2
    return ((half - adjust[0], half), (half - adjust[1], half))


def _inverted_res_block(inputs, expansion, stride, alpha, filters, block_id):
    in_channels = K.int_shape(inputs)[-1]
    pointwise_filters = _make_divisible(int(filters * alpha), 8)
    x = inputs
    prefix = f'block_{block_id}_'
    if block_id:
        x = layers.Conv2D(expansion * in_channels, kernel_size=1, padding='same',
                          use_bias=False, activation=None, name=prefix + 'expand')(x)
        x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999,
                                      name=prefix + 'expand_BN')(x)
        x = layers.ReLU(6., name=prefix + 'expand_relu')(x)
    else:
        prefix = 'expanded_conv_'
    if stride == 2:
        x = layers.ZeroPadding2D(padding=_correct_pad(x, 3), name=prefix + 'pad')(x)
    x = layers.DepthwiseConv2D(kernel_size=3, strides=stride, activation=None, use_bias=False,
                               padding='same' if stride == 1 else 'valid',
                               name=prefix + 'depthwise')(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999,
                                  name=prefix + 'depthwise_BN')(x)
    x = layers.ReLU(6., name=prefix + 'depthwise_relu')(x)
    x = layers.Conv2D(pointwise_filters, kernel_size=1, padding='same', use_bias=False,
                      activation=None, name=prefix + 'project')(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999,
                                  name=prefix + 'project_BN')(x)
    if in_channels == pointwise_filters and stride == 1:
        return layers.Add(name=prefix + 'add')([inputs, x])
    return x


# (filters, stride, expansion) of blocks 0..16
_BLOCKS = ((16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6),
           (64, 2, 6), (64, 1, 6), (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6),
           (160, 2, 6), (160, 1, 6), (160, 1, 6), (320, 1, 6))


def MobileNetV2(input_shape=None, alpha=1.0, depth_multiplier=1, include_top=True,
                weights='imagenet', input_tensor=None, pooling=None, classes=1000, **kwargs):
    """MobileNetV2, optionally with ImageNet weights (Keras 2.2.4's
    ``keras.applications.MobileNetV2``).

    Args:
        input_shape: (rows, cols, 3), at least 32x32.
        alpha: width multiplier.
        depth_multiplier: accepted as in Keras 2.2.4 (must be 1 with ImageNet weights; the
            depthwise convolutions do not use it).
        include_top: include the global average pooling and Dense ``Logits`` top.
        weights: None, 'imagenet' (fetched with ``get_file``) or the path of a weights file.
        input_tensor: an optional tensor to use as the image input.
        pooling: with ``include_top=False``: None (4D output), 'avg' or 'max'.
        classes: classes of the top (1000 with ImageNet weights).

    Returns:
        A ``Model`` named 'mobilenetv2_<alpha>_<rows>'.

    Raises:
        ValueError: invalid arguments, or a combination ImageNet weights do not exist for.

    Example:
        >>> MobileNetV2(weights=None).count_params()
        3538984
    """
    _common.check_weights_arg(weights, include_top, classes)
    _common.check_pooling(pooling)
    with _common.channels_last('MobileNetV2'):
        input_shape, rows = _common.mobilenet_input_shape(
            input_shape, input_tensor, include_top, weights, alpha,
            depth_multiplier, _ALPHAS, '`0.35`, `0.50`, `0.75`, `1.0`, `1.3` or `1.4`', _SIZES)
        img_input = _common.image_input(input_tensor, input_shape)
        first = _make_divisible(32 * alpha, 8)
        x = layers.ZeroPadding2D(padding=_correct_pad(img_input, 3), name='Conv1_pad')(img_input)
        x = layers.Conv2D(first, kernel_size=3, strides=(2, 2), padding='valid', use_bias=False,
                          name='Conv1')(x)
        x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name='bn_Conv1')(x)
        x = layers.ReLU(6., name='Conv1_relu')(x)
        for block_id, (filters, stride, expansion) in enumerate(_BLOCKS):
            x = _inverted_res_block(x, filters=filters, alpha=alpha, stride=stride,
                                    expansion=expansion, block_id=block_id)
        # no alpha on the last convolution unless it widens the network
        last = _make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
        x = layers.Conv2D(last, kernel_size=1, use_bias=False, name='Conv_1')(x)
        x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name='Conv_1_bn')(x)
        x = layers.ReLU(6., name='out_relu')(x)
        if include_top:
            x = layers.GlobalAveragePooling2D()(x)
            x = layers.Dense(classes, activation='softmax', use_bias=True, name='Logits')(x)
        else:
            x = _common.pool(x, pooling)
        model = _common.build_model(_common.model_inputs(input_tensor, img_input), x,
                                    'mobilenetv2_%0.2f_%s' % (alpha, rows))
        if weights == 'imagenet':
            fname = (f'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{rows}'
                     f'{"" if include_top else "_no_top"}.h5')
            return _common.load_weights(model, weights, fname, BASE_WEIGHT_PATH + fname, None)
        return _common.load_weights(model, weights)


def preprocess_input(x, data_format=None, **kwargs):
    """Scale a batch of RGB images in [0, 255] to [-1, 1] (``imagenet_utils`` mode 'tf')."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode='tf', **kwargs)
