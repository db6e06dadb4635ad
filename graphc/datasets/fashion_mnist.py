"""Fashion-MNIST: 60,000 28x28 grayscale images of 10 kinds of clothing, and 10,000 test images.

Labels: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker,
8 Bag, 9 Ankle boot. The files are gzipped IDX files, cached in
``<graphc home>/datasets/fashion-mnist``.

Example:
    >>> from graphc.datasets import fashion_mnist
    >>> (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()  # doctest: +SKIP
"""
from __future__ import annotations

import gzip
import os

import numpy as np

from graphc.datasets import _files

FILES = ['train-labels-idx1-ubyte.gz', 'train-images-idx3-ubyte.gz',
         't10k-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz']


def read_idx(path):
    """Read a gzipped IDX file of unsigned bytes (the MNIST format) into a uint8 array.

    Args:
        path: the ``.gz`` file.

    Returns:
        The array, shaped as the file's header says.
    """
    with gzip.open(path, 'rb') as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (header {raw[:4]!r})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype='>u4'))
    count = int(np.prod(shape))
    if len(raw) - header != count:
        raise ValueError(
            f"{path}: the header says shape {shape} ({count} bytes) but {len(raw) - header} "
            "bytes follow")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_data():
    """Load Fashion-MNIST, downloading it on first use.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 arrays of shapes (60000, 28, 28),
        (60000,), (10000, 28, 28), (10000,).
    """
    dirname = os.path.join('datasets', 'fashion-mnist')
    paths = [_files.fetch(name, cache_subdir=dirname) for name in FILES]
    y_train, x_train, y_test, x_test = (read_idx(p) for p in paths)
    for x, y, split in ((x_train, y_train, 'train'), (x_test, y_test, 'test')):
        if len(x) != len(y):
            raise ValueError(f"Fashion-MNIST {split} files disagree: {len(x)} images but "
                             f"{len(y)} labels")
    return (x_train, y_train), (x_test, y_test)
