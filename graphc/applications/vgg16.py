"""VGG16 (Simonyan & Zisserman, https://arxiv.org/abs/1409.1556), as Keras 2.2.4 builds it.

Example:
    >>> from graphc.applications.vgg16 import VGG16, preprocess_input
    >>> model = VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
"""
from __future__ import annotations

from .. import backend as K
from .. import layers
from . import _common
from .imagenet_utils import _obtain_input_shape, decode_predictions  # noqa: F401
from .imagenet_utils import preprocess_input  # noqa: F401  (mode 'caffe')

WEIGHTS_PATH = ('https://github.com/fchollet/deep-learning-models/releases/download/v0.1/'
                'vgg16_weights_tf_dim_ordering_tf_kernels.h5')
WEIGHTS_PATH_NO_TOP = ('https://github.com/fchollet/deep-learning-models/releases/download/'
                       'v0.1/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5')
WEIGHTS_HASH = '64373286793e3c8b2b4e3219cbf3544b'
WEIGHTS_HASH_NO_TOP = '6d6bbae143d832006294945121d1f1fc'


def build_vgg(convs_per_block, name, include_top, weights, input_tensor, input_shape, pooling,
              classes, files):
    """A VGG network with ``convs_per_block`` 3x3 convolutions in each of its 5 blocks.
    ``files`` = ((top name, url, hash), (no-top name, url, hash))."""
    _common.check_weights_arg(weights, include_top, classes)
    _common.check_pooling(pooling)
    input_shape = _obtain_input_shape(input_shape, default_size=224, min_size=32,
                                      data_format=K.image_data_format(),
                                      require_flatten=include_top, weights=weights)
    img_input = _common.image_input(input_tensor, input_shape)
    x = img_input
    for block, (filters, convs) in enumerate(zip((64, 128, 256, 512, 512), convs_per_block),
                                             start=1):
        for i in range(1, convs + 1):
            x = layers.Conv2D(filters, (3, 3), activation='relu', padding='same',
                              name=f'block{block}_conv{i}')(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f'block{block}_pool')(x)
    if include_top:
        x = layers.Flatten(name='flatten')(x)
        x = layers.Dense(4096, activation='relu', name='fc1')(x)
        x = layers.Dense(4096, activation='relu', name='fc2')(x)
        x = layers.Dense(classes, activation='softmax', name='predictions')(x)
    else:
        x = _common.pool(x, pooling)
    model = _common.build_model(_common.model_inputs(input_tensor, img_input), x, name)
    fname, origin, file_hash = files[0] if include_top else files[1]
    return _common.load_weights(model, weights, fname, origin, file_hash)


def VGG16(include_top=True, weights='imagenet', input_tensor=None, input_shape=None,
          pooling=None, classes=1000, **kwargs):
    """VGG16, optionally with ImageNet weights (Keras 2.2.4's ``keras.applications.VGG16``).

    Args:
        include_top: include the 3 fully-connected layers at the top.
        weights: None (random initialisation), 'imagenet' (Keras's published weights,
            fetched with ``get_file`` into ``<graphc home>/models``), or the path of a
            weights file to load.
        input_tensor: an optional tensor to use as the image input.
        input_shape: (height, width, channels) without the batch axis; only when
            ``include_top`` is False (else it must be (224, 224, 3)); at least 32x32.
        pooling: with ``include_top=False``: None (4D output), 'avg' or 'max'.
        classes: classes of the top layer (1000 with ImageNet weights).

    Returns:
        A ``Model`` named 'vgg16'.

    Raises:
        ValueError: invalid ``weights``, ``classes``, ``pooling`` or input shape.

    Example:
        >>> model = VGG16(weights=None)
        >>> model.count_params()
        138357544
    """
    return build_vgg((2, 2, 3, 3, 3), 'vgg16', include_top, weights, input_tensor,
                     input_shape, pooling, classes,
                     (('vgg16_weights_tf_dim_ordering_tf_kernels.h5', WEIGHTS_PATH,
                       WEIGHTS_HASH),
                      ('vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5',
                       WEIGHTS_PATH_NO_TOP, WEIGHTS_HASH_NO_TOP)))
