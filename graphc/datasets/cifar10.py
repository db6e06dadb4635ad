"""CIFAR-10: 50,000 32x32 colour training images and 10,000 test images in 10 classes.

Labels: 0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer, 5 dog, 6 frog, 7 horse, 8 ship,
9 truck.

Example:
    >>> from graphc.datasets import cifar10
    >>> (x_train, y_train), (x_test, y_test) = cifar10.load_data()  # doctest: +SKIP
    >>> x_train.shape  # with image_data_format 'channels_last'  # doctest: +SKIP
    (50000, 32, 32, 3)
"""
from __future__ import annotations

import os

import numpy as np

from graphc import config
from graphc.datasets import _files
from graphc.datasets.cifar import load_batch, to_image_format


def load_data():
    """Load CIFAR-10, downloading and extracting it on first use.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images (n, 32, 32, 3) for
        ``channels_last`` or (n, 3, 32, 32) for ``channels_first``, and uint8 labels (n, 1).
    """
    path = _files.fetch('cifar-10-python.tar.gz', fname='cifar-10-batches-py', untar=True)
    batches = [load_batch(os.path.join(path, f'data_batch_{i}')) for i in range(1, 6)]
    x_train = np.concatenate([x for x, _ in batches])
    y_train = np.concatenate([np.asarray(y, dtype=np.uint8) for _, y in batches])
    x_test, y_test = load_batch(os.path.join(path, 'test_batch'))

    y_train = y_train.reshape(len(y_train), 1)
    y_test = np.asarray(y_test, dtype=np.uint8).reshape(len(y_test), 1)
    data_format = config.get('image_data_format')
    return ((to_image_format(x_train, data_format), y_train),
            (to_image_format(x_test, data_format), y_test))
