"""DenseNet 121 / 169 / 201 (Huang et al., https://arxiv.org/abs/1608.06993), as Keras 2.2.4
builds them. ``preprocess_input`` uses mode 'torch'.

Example:
    >>> from graphc.applications.densenet import DenseNet121
    >>> model = DenseNet121(weights=None, include_top=False, input_shape=(32, 32, 3))
"""
from __future__ import annotations

from .. import backend as K
from .. import layers
from . import _common
from . import imagenet_utils
from .imagenet_utils import _obtain_input_shape, decode_predictions  # noqa: F401

BASE_WEIGHTS_PATH = ('https://github.com/keras-team/keras-applications/releases/download/'
                     'densenet/')
DENSENET121_WEIGHT_PATH = BASE_WEIGHTS_PATH + 'densenet121_weights_tf_dim_ordering_tf_kernels.h5'
DENSENET121_WEIGHT_PATH_NO_TOP = (BASE_WEIGHTS_PATH +
                                  'densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5')
DENSENET169_WEIGHT_PATH = BASE_WEIGHTS_PATH + 'densenet169_weights_tf_dim_ordering_tf_kernels.h5'
DENSENET169_WEIGHT_PATH_NO_TOP = (BASE_WEIGHTS_PATH +
                                  'densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5')
DENSENET201_WEIGHT_PATH = BASE_WEIGHTS_PATH + 'densenet201_weights_tf_dim_ordering_tf_kernels.h5'
DENSENET201_WEIGHT_PATH_NO_TOP = (BASE_WEIGHTS_PATH +
                                  'densenet201_weights_tf_dim_ordering_tf_kernels_notop.h5')
# (with top, without top) md5 of each published file
WEIGHTS_HASHES = {
    121: ('9d60b8095a5708f2dcce2bca79d332c7', '30ee3e1110167f948a6b9946edeeb738'),
    169: ('d699b8f76981ab1b30698df4c175e90b', 'b8c4d4c20dd625c148057b9ff1c1176b'),
    201: ('1ceb130c1ea1b78c3bf6114dbdfd8807', 'c13680b51ded0fb44dff2d8f86ac8bb1'),
}
_BLOCKS = {121: [6, 12, 24, 16], 169: [6, 12, 32, 32], 201: [6, 12, 48, 32]}


def _bn(x, name):
    return layers.BatchNormalization(axis=_common.bn_axis(), epsilon=1.001e-5, name=name)(x)


def conv_block(x, growth_rate, name):
    """BN-relu-1x1 conv (4k) - BN-relu-3x3 conv (k), concatenated to the input."""
    y = _bn(x, name + '_0_bn')
    y = layers.Activation('relu', name=name + '_0_relu')(y)
    y = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=name + '_1_conv')(y)
    y = _bn(y, name + '_1_bn')
    y = layers.Activation('relu', name=name + '_1_relu')(y)
    y = layers.Conv2D(growth_rate, 3, padding='same', use_bias=False, name=name + '_2_conv')(y)
    return layers.Concatenate(axis=_common.bn_axis(), name=name + '_concat')([x, y])


def dense_block(x, blocks, name):
    for i in range(blocks):
        x = conv_block(x, 32, name=f'{name}_block{i + 1}')
    return x


def transition_block(x, reduction, name):
    """BN-relu-1x1 conv (channels * reduction) - 2x2 average pooling."""
    x = _bn(x, name + '_bn')
    x = layers.Activation('relu', name=name + '_relu')(x)
    channels = K.int_shape(x)[_common.bn_axis()]
    x = layers.Conv2D(int(channels * reduction), 1, use_bias=False, name=name + '_conv')(x)
    return layers.AveragePooling2D(2, strides=2, name=name + '_pool')(x)


def DenseNet(blocks, include_top=True, weights='imagenet', input_tensor=None, input_shape=None,
             pooling=None, classes=1000, **kwargs):
    """A DenseNet with ``blocks`` conv blocks in each of its 4 dense blocks (Keras 2.2.4's
    ``densenet.DenseNet``). ImageNet weights exist for the 121, 169 and 201 layouts.

    Args:
        blocks: 4 integers.
        include_top, weights, input_tensor, input_shape, pooling, classes: as ``DenseNet121``.

    Returns:
        A ``Model`` named 'densenet121' / 'densenet169' / 'densenet201' / 'densenet'.
    """
    blocks = list(blocks)
    depth = next((d for d, b in _BLOCKS.items() if b == blocks), None)
    _common.check_weights_arg(weights, include_top, classes)
    _common.check_pooling(pooling)
    if weights == 'imagenet' and depth is None:
        raise ValueError(f'ImageNet weights exist only for DenseNet121, 169 and 201; got '
                         f'blocks={blocks}')
    input_shape = _obtain_input_shape(input_shape, default_size=224, min_size=32,
                                      data_format=K.image_data_format(),
                                      require_flatten=include_top, weights=weights)
    img_input = _common.image_input(input_tensor, input_shape)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name='conv1/conv')(x)
    x = _bn(x, 'conv1/bn')
    x = layers.Activation('relu', name='conv1/relu')(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name='pool1')(x)
    for i, n in enumerate(blocks):
        x = dense_block(x, n, name=f'conv{i + 2}')
        if i < 3:
            x = transition_block(x, 0.5, name=f'pool{i + 2}')
    x = _bn(x, 'bn')
    if include_top:
        x = layers.GlobalAveragePooling2D(name='avg_pool')(x)
        x = layers.Dense(classes, activation='softmax', name='fc1000')(x)
    else:
        x = _common.pool(x, pooling, name_avg='avg_pool', name_max='max_pool')
    name = f'densenet{depth}' if depth else 'densenet'
    model = _common.build_model(_common.model_inputs(input_tensor, img_input), x, name)
    if weights == 'imagenet':
        fname = f'densenet{depth}_weights_tf_dim_ordering_tf_kernels' + \
            ('.h5' if include_top else '_notop.h5')
        # read at call time, so a changed module constant is honoured
        origin = globals()[f'DENSENET{depth}_WEIGHT_PATH' + ('' if include_top else '_NO_TOP')]
        return _common.load_weights(model, weights, fname, origin,
                                    WEIGHTS_HASHES[depth][0 if include_top else 1])
    return _common.load_weights(model, weights)


_DOC = """DenseNet{n}, optionally with ImageNet weights (Keras 2.2.4's
    ``keras.applications.DenseNet{n}``).

    Args:
        include_top: include the global average pooling and Dense ``fc1000`` top.
        weights: None, 'imagenet' (fetched with ``get_file``) or the path of a weights file.
        input_tensor: an optional tensor to use as the image input.
        input_shape: only with ``include_top=False`` (else (224, 224, 3)); at least 32x32.
        pooling: with ``include_top=False``: None (4D output), 'avg' or 'max'.
        classes: classes of the top layer (1000 with ImageNet weights).

    Returns:
        A ``Model`` named 'densenet{n}'.

    Raises:
        ValueError: invalid ``weights``, ``classes``, ``pooling`` or input shape.
    """


def DenseNet121(include_top=True, weights='imagenet', input_tensor=None, input_shape=None,
                pooling=None, classes=1000, **kwargs):
    return DenseNet(_BLOCKS[121], include_top, weights, input_tensor, input_shape, pooling,
                    classes)


def DenseNet169(include_top=True, weights='imagenet', input_tensor=None, input_shape=None,
                pooling=None, classes=1000, **kwargs):
    return DenseNet(_BLOCKS[169], include_top, weights, input_tensor, input_shape, pooling,
                    classes)


def DenseNet201(include_top=True, weights='imagenet', input_tensor=None, input_shape=None,
                pooling=None, classes=1000, **kwargs):
    return DenseNet(_BLOCKS[201], include_top, weights, input_tensor, input_shape, pooling,
                    classes)


DenseNet121.__doc__ = _DOC.format(n=121)
DenseNet169.__doc__ = _DOC.format(n=169)
DenseNet201.__doc__ = _DOC.format(n=201)


def preprocess_input(x, data_format=None, **kwargs):
    """Scale a batch of RGB images in [0, 255] to [0, 1] and normalise each channel by
    ImageNet's mean and standard deviation (``imagenet_utils`` mode 'torch')."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode='torch', **kwargs)
