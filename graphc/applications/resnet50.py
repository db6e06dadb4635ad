"""ResNet50 (He et al., https://arxiv.org/abs/1512.03385), as Keras 2.2.4 builds it.

Example:
    >>> from graphc.applications.resnet50 import ResNet50
    >>> model = ResNet50(weights=None, include_top=False, input_shape=(197, 197, 3))
"""
from __future__ import annotations

import warnings

from .. import backend as K
from .. import layers
from . import _common
from .imagenet_utils import _obtain_input_shape, decode_predictions  # noqa: F401
from .imagenet_utils import preprocess_input  # noqa: F401  (mode 'caffe')

WEIGHTS_PATH = ('https://github.com/fchollet/deep-learning-models/releases/download/v0.2/'
                'resnet50_weights_tf_dim_ordering_tf_kernels.h5')
WEIGHTS_PATH_NO_TOP = ('https://github.com/fchollet/deep-learning-models/releases/download/'
                       'v0.2/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5')
WEIGHTS_HASH = 'a7b3fe01876f51b976af0dea6bc144eb'
WEIGHTS_HASH_NO_TOP = 'a268eb855778b3df3c7506639542a6af'


def _bottleneck(x, kernel_size, filters, stage, block, strides=None):
    """1x1 -> kxk -> 1x1 convolutions with batch norm, added to the shortcut. ``strides``
    None: the identity shortcut; otherwise a strided 1x1 convolution on the shortcut (and on
    the first convolution), named ``res{stage}{block}_branch1``."""
    f1, f2, f3 = filters
    axis = _common.bn_axis()
    conv = f'res{stage}{block}_branch'
    bn = f'bn{stage}{block}_branch'
    first_strides = (1, 1) if strides is None else strides
    y = layers.Conv2D(f1, (1, 1), strides=first_strides, kernel_initializer='he_normal',
                      name=conv + '2a')(x)
    y = layers.BatchNormalization(axis=axis, name=bn + '2a')(y)
    y = layers.Activation('relu')(y)
    y = layers.Conv2D(f2, kernel_size, padding='same', kernel_initializer='he_normal',
                      name=conv + '2b')(y)
    y = layers.BatchNormalization(axis=axis, name=bn + '2b')(y)
    y = layers.Activation('relu')(y)
    y = layers.Conv2D(f3, (1, 1), kernel_initializer='he_normal', name=conv + '2c')(y)
    y = layers.BatchNormalization(axis=axis, name=bn + '2c')(y)
    if strides is None:
        shortcut = x
    else:
        shortcut = layers.Conv2D(f3, (1, 1), strides=strides, kernel_initializer='he_normal',
                                 name=conv + '1')(x)
        shortcut = layers.BatchNormalization(axis=axis, name=bn + '1')(shortcut)
    y = layers.add([y, shortcut])
    return layers.Activation('relu')(y)


# (stage, filters, number of blocks, strides of the first block)
_STAGES = ((2, (64, 64, 256), 3, (1, 1)),
           (3, (128, 128, 512), 4, (2, 2)),
           (4, (256, 256, 1024), 6, (2, 2)),
           (5, (512, 512, 2048), 3, (2, 2)))


def ResNet50(include_top=True, weights='imagenet', input_tensor=None, input_shape=None,
             pooling=None, classes=1000, **kwargs):
    """ResNet50, optionally with ImageNet weights (Keras 2.2.4's
    ``keras.applications.ResNet50``).

    Args:
        include_top: include the average pooling and 1000-way (``classes``) Dense top.
        weights: None, 'imagenet' (fetched with ``get_file``) or the path of a weights file.
        input_tensor: an optional tensor to use as the image input.
        input_shape: only with ``include_top=False`` (else (224, 224, 3)); at least 197x197.
        pooling: with ``include_top=False``: None (4D output), 'avg' or 'max'.
        classes: classes of the top layer (1000 with ImageNet weights).

    Returns:
        A ``Model`` named 'resnet50'.

    Raises:
        ValueError: invalid ``weights``, ``classes``, ``pooling`` or input shape.

    Example:
        >>> ResNet50(weights=None).count_params()
        25636712
    """
    _common.check_weights_arg(weights, include_top, classes)
    _common.check_pooling(pooling)
    input_shape = _obtain_input_shape(input_shape, default_size=224, min_size=197,
                                      data_format=K.image_data_format(),
                                      require_flatten=include_top, weights=weights)
    img_input = _common.image_input(input_tensor, input_shape)
    x = layers.ZeroPadding2D(padding=(3, 3), name='conv1_pad')(img_input)
    x = layers.Conv2D(64, (7, 7), strides=(2, 2), padding='valid',
                      kernel_initializer='he_normal', name='conv1')(x)
    x = layers.BatchNormalization(axis=_common.bn_axis(), name='bn_conv1')(x)
    x = layers.Activation('relu')(x)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    for stage, filters, blocks, strides in _STAGES:
        x = _bottleneck(x, 3, filters, stage, 'a', strides=strides)
        for b in range(1, blocks):
            x = _bottleneck(x, 3, filters, stage, 'abcdef'[b])
    if include_top:
        x = layers.AveragePooling2D((7, 7), name='avg_pool')(x)
        x = layers.Flatten()(x)
        x = layers.Dense(classes, activation='softmax', name='fc1000')(x)
    elif pooling is None:
        warnings.warn('The output shape of `ResNet50(include_top=False)` has been changed '
                      'since Keras 2.2.0.', stacklevel=2)
    else:
        x = _common.pool(x, pooling)
    model = _common.build_model(_common.model_inputs(input_tensor, img_input), x, 'resnet50')
    if include_top:
        files = ('resnet50_weights_tf_dim_ordering_tf_kernels.h5', WEIGHTS_PATH, WEIGHTS_HASH)
    else:
        files = ('resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5', WEIGHTS_PATH_NO_TOP,
                 WEIGHTS_HASH_NO_TOP)
    return _common.load_weights(model, weights, *files)
