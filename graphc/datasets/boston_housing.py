"""The Boston housing prices (13 attributes of 506 suburbs in the late 1970s; targets in k$).

Note: the data set includes an attribute built on an assumption about racial segregation; it
is kept here for compatibility with the Keras examples.

Example:
    >>> from graphc.datasets import boston_housing
    >>> (x_train, y_train), (x_test, y_test) = boston_housing.load_data()  # doctest: +SKIP
    >>> x_train.shape  # doctest: +SKIP
    (404, 13)
"""
from __future__ import annotations

import numpy as np

from graphc.datasets import _files


def load_data(path='boston_housing.npz', test_split=0.2, seed=113):
    """Load the Boston housing data, shuffled with ``seed`` and split.

    Args:
        path: where to cache the file (relative to ``<graphc home>/datasets``).
        test_split: the fraction of the data kept for the test set, in [0, 1).
        seed: the seed of the shuffle before the split.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float64 arrays (n, 13) and (n,).
    """
    if not 0 <= test_split < 1:
        raise ValueError(f"test_split must be in [0, 1); got {test_split!r}")
    path = _files.fetch('boston_housing.npz', fname=path)
    with np.load(path, allow_pickle=False) as f:
        x, y = f['x'], f['y']
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    idx = int(len(x) * (1 - test_split))
    return (np.array(x[:idx]), np.array(y[:idx])), (np.array(x[idx:]), np.array(y[idx:]))
