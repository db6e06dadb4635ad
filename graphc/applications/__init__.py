"""Pretrained image-classification networks (Keras 2.2.4's ``keras.applications``).

Each architecture is built layer for layer as Keras 2.2.4 builds it (same layer names, same
order), so Keras's published ImageNet weight files load into it: ``weights='imagenet'`` fetches
the file with ``graphc.utils.get_file`` (into ``<graphc home>/models``, checked against the
published hash) and loads it with graphc's Keras 2 HDF5 loader. ``weights=None`` gives the
untrained architecture; a path loads that weights file.

Modules, as in Keras: ``vgg16``, ``vgg19``, ``resnet50``, ``inception_v3``,
``inception_resnet_v2``, ``xception``, ``mobilenet``, ``mobilenet_v2``, ``densenet``,
``nasnet``, each with its ``preprocess_input`` and ``decode_predictions``;
``imagenet_utils`` holds the shared ones.

Example:
    >>> from graphc.applications import MobileNet
    >>> model = MobileNet(input_shape=(32, 32, 3), alpha=0.25, weights=None,
    ...                   include_top=False, pooling='avg')
    >>> model.output_shape
    (None, 256)
"""
from . import (densenet, imagenet_utils, inception_resnet_v2, inception_v3,  # noqa: F401
               mobilenet, mobilenet_v2, nasnet, resnet50, vgg16, vgg19, xception)
from .densenet import DenseNet121, DenseNet169, DenseNet201
from .inception_resnet_v2 import InceptionResNetV2
from .inception_v3 import InceptionV3
from .mobilenet import MobileNet
from .mobilenet_v2 import MobileNetV2
from .nasnet import NASNetLarge, NASNetMobile
from .resnet50 import ResNet50
from .vgg16 import VGG16
from .vgg19 import VGG19
from .xception import Xception

__all__ = ['VGG16', 'VGG19', 'ResNet50', 'InceptionV3', 'InceptionResNetV2', 'Xception',
           'MobileNet', 'MobileNetV2', 'DenseNet121', 'DenseNet169', 'DenseNet201',
           'NASNetMobile', 'NASNetLarge']
