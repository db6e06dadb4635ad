"""The MNIST handwritten digits: 60,000 28x28 grayscale training images and 10,000 test images.

Example:
    >>> from graphc.datasets import mnist
    >>> (x_train, y_train), (x_test, y_test) = mnist.load_data()  # doctest: +SKIP
    >>> x_train.shape, y_train.dtype  # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
"""
from __future__ import annotations

import numpy as np

from graphc.datasets import _files


def load_data(path='mnist.npz'):
    """Load MNIST, downloading it on first use.

    Args:
        path: where to cache the file (relative to ``<graphc home>/datasets``).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 arrays of shapes (60000, 28, 28),
        (60000,), (10000, 28, 28), (10000,).
    """
    path = _files.fetch('mnist.npz', fname=path)
    with np.load(path, allow_pickle=False) as f:
        x_train, y_train = f['x_train'], f['y_train']
        x_test, y_test = f['x_test'], f['y_test']
    return (x_train, y_train), (x_test, y_test)
