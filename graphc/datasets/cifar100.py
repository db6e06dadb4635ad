"""CIFAR-100: 50,000 32x32 colour training images and 10,000 test images in 100 fine classes
grouped into 20 coarse ones.

Example:
    >>> from graphc.datasets import cifar100
    >>> (x_train, y_train), _ = cifar100.load_data(label_mode='coarse')  # doctest: +SKIP
"""
from __future__ import annotations

import os

import numpy as np

from graphc import config
from graphc.datasets import _files
from graphc.datasets.cifar import load_batch, to_image_format


def load_data(label_mode='fine'):
    """Load CIFAR-100, downloading and extracting it on first use.

    Args:
        label_mode: 'fine' (100 classes) or 'coarse' (20 superclasses).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images (n, 32, 32, 3) for
        ``channels_last`` or (n, 3, 32, 32) for ``channels_first``, and uint8 labels (n, 1).
    """
    if label_mode not in ('fine', 'coarse'):
        raise ValueError(f"label_mode must be 'fine' or 'coarse'; got {label_mode!r}")
    path = _files.fetch('cifar-100-python.tar.gz', fname='cifar-100-python', untar=True)
    key = label_mode + '_labels'
    x_train, y_train = load_batch(os.path.join(path, 'train'), label_key=key)
    x_test, y_test = load_batch(os.path.join(path, 'test'), label_key=key)

    y_train = np.asarray(y_train, dtype=np.uint8).reshape(len(y_train), 1)
    y_test = np.asarray(y_test, dtype=np.uint8).reshape(len(y_test), 1)
    data_format = config.get('image_data_format')
    return ((to_image_format(x_train, data_format), y_train),
            (to_image_format(x_test, data_format), y_test))
