"""VGG19 (Simonyan & Zisserman, https://arxiv.org/abs/1409.1556), as Keras 2.2.4 builds it.

Example:
    >>> from graphc.applications.vgg19 import VGG19
    >>> model = VGG19(weights=None, include_top=False, input_shape=(32, 32, 3))
"""
from __future__ import annotations

from .imagenet_utils import decode_predictions  # noqa: F401
from .imagenet_utils import preprocess_input  # noqa: F401  (mode 'caffe')
from .vgg16 import build_vgg

WEIGHTS_PATH = ('https://github.com/fchollet/deep-learning-models/releases/download/v0.1/'
                'vgg19_weights_tf_dim_ordering_tf_kernels.h5')
WEIGHTS_PATH_NO_TOP = ('https://github.com/fchollet/deep-learning-models/releases/download/'
                       'v0.1/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5')
WEIGHTS_HASH = 'cbe5617147190e668d6c5d5026f83318'
WEIGHTS_HASH_NO_TOP = '253f8cb515780f3b799900260a226db6'


def VGG19(include_top=True, weights='imagenet', input_tensor=None, input_shape=None,
          pooling=None, classes=1000, **kwargs):
    """VGG19, optionally with ImageNet weights (Keras 2.2.4's ``keras.applications.VGG19``).

    Arguments, return value and errors as ``VGG16``; the model is named 'vgg19'.

    Example:
        >>> VGG19(weights=None).count_params()
        143667240
    """
    return build_vgg((2, 2, 4, 4, 4), 'vgg19', include_top, weights, input_tensor,
                     input_shape, pooling, classes,
                     (('vgg19_weights_tf_dim_ordering_tf_kernels.h5', WEIGHTS_PATH,
                       WEIGHTS_HASH),
                      ('vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5',
                       WEIGHTS_PATH_NO_TOP, WEIGHTS_HASH_NO_TOP)))
