"""NASNet-A (Zoph et al., https://arxiv.org/abs/1707.07012): NASNetMobile (4 @ 1056, 224x224)
and NASNetLarge (6 @ 4032, 331x331), as Keras 2.2.4 builds them. Only ``channels_last``;
``preprocess_input`` uses mode 'tf'.

Example:
    >>> from graphc.applications.nasnet import NASNetMobile
    >>> model = NASNetMobile(weights=None, include_top=False, input_shape=(32, 32, 3))
"""
from __future__ import annotations

from .. import backend as K
from .. import layers
from . import _common
from . import imagenet_utils
from .imagenet_utils import _obtain_input_shape, decode_predictions  # noqa: F401

BASE_WEIGHTS_PATH = 'https://github.com/titu1994/Keras-NASNet/releases/download/v1.2/'
NASNET_MOBILE_WEIGHT_PATH = BASE_WEIGHTS_PATH + 'NASNet-mobile.h5'
NASNET_MOBILE_WEIGHT_PATH_NO_TOP = BASE_WEIGHTS_PATH + 'NASNet-mobile-no-top.h5'
NASNET_LARGE_WEIGHT_PATH = BASE_WEIGHTS_PATH + 'NASNet-large.h5'
NASNET_LARGE_WEIGHT_PATH_NO_TOP = BASE_WEIGHTS_PATH + 'NASNet-large-no-top.h5'
NASNET_MOBILE_HASH = '020fb642bf7360b370c678b08e0adf61'
NASNET_MOBILE_HASH_NO_TOP = '1ed92395b5b598bdda52abe5c0dbfd63'
NASNET_LARGE_HASH = '11577c9a518f0070763c2b964a382f17'
NASNET_LARGE_HASH_NO_TOP = 'd81d89dc07e6e56530c4e77faddd61b5'


def _bn(x, name=None):
    return layers.BatchNormalization(axis=-1, momentum=0.9997, epsilon=1e-3, name=name)(x)


def _conv1x1(x, filters, name):
    return layers.Conv2D(filters, (1, 1), strides=(1, 1), padding='same', use_bias=False,
                         name=name, kernel_initializer='he_normal')(x)


def _separable_conv_block(x, filters, kernel_size=(3, 3), strides=(1, 1), block_id=None):
    """Twice relu -> separable conv -> BN (the first one strided)."""
    x = layers.Activation('relu')(x)
    x = layers.SeparableConv2D(filters, kernel_size, strides=strides,
                               name=f'separable_conv_1_{block_id}', padding='same',
                               use_bias=False, kernel_initializer='he_normal')(x)
    x = _bn(x, f'separable_conv_1_bn_{block_id}')
    x = layers.Activation('relu')(x)
    x = layers.SeparableConv2D(filters, kernel_size, name=f'separable_conv_2_{block_id}',
                               padding='same', use_bias=False,
                               kernel_initializer='he_normal')(x)
    return _bn(x, f'separable_conv_2_bn_{block_id}')


def _adjust_block(p, ip, filters, block_id=None):
    """Make the previous cell's output ``p`` match ``ip``: halve its size (two offset
    strided 1x1 paths, concatenated) or project its channels."""
    if p is None:
        return ip
    p_shape, ip_shape = K.int_shape(p), K.int_shape(ip)
    if p_shape[-2] != ip_shape[-2]:
        p = layers.Activation('relu', name=f'adjust_relu_1_{block_id}')(p)
        p1 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding='valid',
                                     name=f'adjust_avg_pool_1_{block_id}')(p)
        p1 = layers.Conv2D(filters // 2, (1, 1), padding='same', use_bias=False,
                           name=f'adjust_conv_1_{block_id}', kernel_initializer='he_normal')(p1)
        p2 = layers.ZeroPadding2D(padding=((0, 1), (0, 1)))(p)
        p2 = layers.Cropping2D(cropping=((1, 0), (1, 0)))(p2)
        p2 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding='valid',
                                     name=f'adjust_avg_pool_2_{block_id}')(p2)
        p2 = layers.Conv2D(filters // 2, (1, 1), padding='same', use_bias=False,
                           name=f'adjust_conv_2_{block_id}', kernel_initializer='he_normal')(p2)
        p = layers.concatenate([p1, p2], axis=-1)
        return _bn(p, f'adjust_bn_{block_id}')
    if p_shape[-1] != filters:
        p = layers.Activation('relu')(p)
        p = layers.Conv2D(filters, (1, 1), strides=(1, 1), padding='same',
                          name=f'adjust_conv_projection_{block_id}', use_bias=False,
                          kernel_initializer='he_normal')(p)
        return _bn(p, f'adjust_bn_{block_id}')
    return p


def _avg3(x, name, strides=(1, 1)):
    return layers.AveragePooling2D((3, 3), strides=strides, padding='same', name=name)(x)


def _normal_a_cell(ip, p, filters, block_id=None):
    """The Normal cell of NASNet-A; returns (output, ip)."""
    p = _adjust_block(p, ip, filters, block_id)
    h = layers.Activation('relu')(ip)
    h = _conv1x1(h, filters, f'normal_conv_1_{block_id}')
    h = _bn(h, f'normal_bn_1_{block_id}')

    x1 = layers.add([
        _separable_conv_block(h, filters, (5, 5), block_id=f'normal_left1_{block_id}'),
        _separable_conv_block(p, filters, block_id=f'normal_right1_{block_id}')],
        name=f'normal_add_1_{block_id}')
    x2 = layers.add([
        _separable_conv_block(p, filters, (5, 5), block_id=f'normal_left2_{block_id}'),
        _separable_conv_block(p, filters, (3, 3), block_id=f'normal_right2_{block_id}')],
        name=f'normal_add_2_{block_id}')
    x3 = layers.add([_avg3(h, f'normal_left3_{block_id}'), p],
                    name=f'normal_add_3_{block_id}')
    x4 = layers.add([_avg3(p, f'normal_left4_{block_id}'),
                     _avg3(p, f'normal_right4_{block_id}')], name=f'normal_add_4_{block_id}')
    x5 = _separable_conv_block(h, filters, block_id=f'normal_left5_{block_id}')
    x5 = layers.add([x5, h], name=f'normal_add_5_{block_id}')
    x = layers.concatenate([p, x1, x2, x3, x4, x5], axis=-1, name=f'normal_concat_{block_id}')
    return x, ip


def _reduction_a_cell(ip, p, filters, block_id=None):
    """The Reduction cell of NASNet-A (halves height and width); returns (output, ip)."""
    p = _adjust_block(p, ip, filters, block_id)
    h = layers.Activation('relu')(ip)
    h = _conv1x1(h, filters, f'reduction_conv_1_{block_id}')
    h = _bn(h, f'reduction_bn_1_{block_id}')
    s2 = (2, 2)

    x1 = layers.add([
        _separable_conv_block(h, filters, (5, 5), s2, block_id=f'reduction_left1_{block_id}'),
        _separable_conv_block(p, filters, (7, 7), s2, block_id=f'reduction_right1_{block_id}')],
        name=f'reduction_add_1_{block_id}')
    x2 = layers.add([
        layers.MaxPooling2D((3, 3), strides=s2, padding='same',
                            name=f'reduction_left2_{block_id}')(h),
        _separable_conv_block(p, filters, (7, 7), s2, block_id=f'reduction_right2_{block_id}')],
        name=f'reduction_add_2_{block_id}')
    x3 = layers.add([
        _avg3(h, f'reduction_left3_{block_id}', strides=s2),
        _separable_conv_block(p, filters, (5, 5), s2, block_id=f'reduction_right3_{block_id}')],
        name=f'reduction_add3_{block_id}')
    x4 = layers.add([x2, _avg3(x1, f'reduction_left4_{block_id}')])
    x5 = layers.add([
        _separable_conv_block(x1, filters, (3, 3), block_id=f'reduction_left4_{block_id}'),
        layers.MaxPooling2D((3, 3), strides=s2, padding='same',
                            name=f'reduction_right5_{block_id}')(h)],
        name=f'reduction_add4_{block_id}')
    x = layers.concatenate([x2, x3, x4, x5], axis=-1, name=f'reduction_concat_{block_id}')
    return x, ip


def NASNet(input_shape=None, penultimate_filters=4032, num_blocks=6, stem_block_filters=96,
           skip_reduction=True, filter_multiplier=2, include_top=True, weights=None,
           input_tensor=None, pooling=None, classes=1000, default_size=None, **kwargs):
    """A NASNet-A network ``NASNet (num_blocks @ penultimate_filters)`` (Keras 2.2.4's
    ``nasnet.NASNet``). ImageNet weights exist only for the Mobile and Large settings.

    Args:
        input_shape: (rows, cols, 3), at least 32x32 (static with ImageNet weights).
        penultimate_filters: filters of the penultimate layer (a multiple of 24).
        num_blocks: normal cells between reductions.
        stem_block_filters: filters of the first convolution.
        skip_reduction: the cells after a reduction see the input of the reduction (Large).
        filter_multiplier: the width growth at each reduction.
        include_top, weights, input_tensor, pooling, classes: as ``NASNetMobile``.
        default_size: the default rows / cols (224: Mobile's weights, 331: Large's).

    Returns:
        A ``Model`` named 'NASNet'.

    Raises:
        ValueError: invalid arguments.
    """
    _common.check_weights_arg(weights, include_top, classes)
    _common.check_pooling(pooling)
    if (isinstance(input_shape, tuple) and None in input_shape and weights == 'imagenet'):
        raise ValueError(f'When specifying the input shape of a NASNet and loading `ImageNet` '
                         f'weights, the input_shape argument must be static (no None '
                         f'entries). Got: `input_shape={input_shape}`.')
    if penultimate_filters % 24 != 0:
        raise ValueError(f'For NASNet-A models, the value of `penultimate_filters` needs to be '
                         f'divisible by 24. Current value: {penultimate_filters}')
    default_size = 331 if default_size is None else default_size
    if weights == 'imagenet' and default_size not in (224, 331):
        raise ValueError('ImageNet weights can only be loaded with NASNetLarge or NASNetMobile')
    with _common.channels_last('NASNet'):
        input_shape = _obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                          data_format='channels_last',
                                          require_flatten=include_top, weights=weights)
        img_input = _common.image_input(input_tensor, input_shape)
        filters = penultimate_filters // 24
        x = layers.Conv2D(stem_block_filters, (3, 3), strides=(2, 2), padding='valid',
                          use_bias=False, name='stem_conv1',
                          kernel_initializer='he_normal')(img_input)
        x = _bn(x, 'stem_bn1')
        p = None
        x, p = _reduction_a_cell(x, p, filters // (filter_multiplier ** 2), block_id='stem_1')
        x, p = _reduction_a_cell(x, p, filters // filter_multiplier, block_id='stem_2')
        for stage in range(3):
            width = filters * filter_multiplier ** stage
            if stage:
                x, p0 = _reduction_a_cell(x, p, width, block_id=f'reduce_{stage * num_blocks}')
                p = p if skip_reduction else p0
            for i in range(num_blocks):
                block = stage * num_blocks + i + (1 if stage else 0)
                x, p = _normal_a_cell(x, p, width, block_id=f'{block}')
        x = layers.Activation('relu')(x)
        if include_top:
            x = layers.GlobalAveragePooling2D()(x)
            x = layers.Dense(classes, activation='softmax', name='predictions')(x)
        else:
            x = _common.pool(x, pooling)
        model = _common.build_model(_common.model_inputs(input_tensor, img_input), x, 'NASNet')
        if weights != 'imagenet':
            return _common.load_weights(model, weights)
        if default_size == 224:
            files = (('nasnet_mobile.h5', NASNET_MOBILE_WEIGHT_PATH, NASNET_MOBILE_HASH)
                     if include_top else
                     ('nasnet_mobile_no_top.h5', NASNET_MOBILE_WEIGHT_PATH_NO_TOP,
                      NASNET_MOBILE_HASH_NO_TOP))
        else:
            files = (('nasnet_large.h5', NASNET_LARGE_WEIGHT_PATH, NASNET_LARGE_HASH)
                     if include_top else
                     ('nasnet_large_no_top.h5', NASNET_LARGE_WEIGHT_PATH_NO_TOP,
                      NASNET_LARGE_HASH_NO_TOP))
        return _common.load_weights(model, weights, *files)


def NASNetLarge(input_shape=None, include_top=True, weights='imagenet', input_tensor=None,
                pooling=None, classes=1000, **kwargs):
    """NASNet-A Large (6 @ 4032), default input 331x331 (Keras 2.2.4's
    ``keras.applications.NASNetLarge``). Arguments as ``NASNetMobile``.

    Example:
        >>> NASNetLarge(weights=None).count_params()  # doctest: +SKIP
        88949818
    """
    return NASNet(input_shape, penultimate_filters=4032, num_blocks=6, stem_block_filters=96,
                  skip_reduction=True, filter_multiplier=2, include_top=include_top,
                  weights=weights, input_tensor=input_tensor, pooling=pooling,
                  classes=classes, default_size=331)


def NASNetMobile(input_shape=None, include_top=True, weights='imagenet', input_tensor=None,
                 pooling=None, classes=1000, **kwargs):
    """NASNet-A Mobile (4 @ 1056), default input 224x224 (Keras 2.2.4's
    ``keras.applications.NASNetMobile``).

    Args:
        input_shape: only with ``include_top=False`` (else (224, 224, 3)); at least 32x32.
        include_top: include the global average pooling and Dense ``predictions`` top.
        weights: None, 'imagenet' (fetched with ``get_file``) or the path of a weights file.
        input_tensor: an optional tensor to use as the image input.
        pooling: with ``include_top=False``: None (4D output), 'avg' or 'max'.
        classes: classes of the top layer (1000 with ImageNet weights).

    Returns:
        A ``Model`` named 'NASNet'.

    Example:
        >>> NASNetMobile(weights=None).count_params()
        5326716
    """
    return NASNet(input_shape, penultimate_filters=1056, num_blocks=4, stem_block_filters=32,
                  skip_reduction=False, filter_multiplier=2, include_top=include_top,
                  weights=weights, input_tensor=input_tensor, pooling=pooling,
                  classes=classes, default_size=224)


def preprocess_input(x, data_format=None, **kwargs):
    """Scale a batch of RGB images in [0, 255] to [-1, 1] (``imagenet_utils`` mode 'tf')."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode='tf', **kwargs)
