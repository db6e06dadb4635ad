"""Numpy helpers of the Keras 2 API: one-hot encoding and normalisation.

Example:
    >>> from graphc.utils.np_utils import to_categorical
    >>> to_categorical([0, 2], 3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
"""
from __future__ import annotations

import numpy as np


def to_categorical(y, num_classes=None, dtype='float32'):
    """Convert a class vector (integers) to a one-hot matrix.

    The result has the shape of ``y`` plus a last axis of size ``num_classes``; a trailing axis
    of size 1 in ``y`` (labels shaped ``(n, 1)``) is dropped first, as in Keras 2.

    Args:
        y: integer class labels from 0 to ``num_classes - 1`` (array-like; floats holding
            whole numbers are accepted).
        num_classes: the number of classes; default ``max(y) + 1``.
        dtype: the dtype of the result.

    Returns:
        The one-hot array.

    Raises:
        ValueError: a label is negative, not a whole number, or ``>= num_classes``.

    Example:
        >>> to_categorical([[1], [0]], num_classes=2).tolist()
        [[0.0, 1.0], [1.0, 0.0]]
    """
    y_in = np.asarray(y)
    if y_in.dtype.kind == 'f' and y_in.size and not np.all(np.isfinite(y_in)
                                                         & (y_in == np.floor(y_in))):
        bad = y_in[~(np.isfinite(y_in) & (y_in == np.floor(y_in)))].ravel()[0]
        raise ValueError(f"to_categorical: labels must be whole numbers, got {bad!r}")
    if y_in.dtype.kind not in 'biuf':
        raise ValueError(f"to_categorical: labels must be integers, got dtype {y_in.dtype}")
    y_int = np.array(y_in, dtype='int64')
    input_shape = y_int.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    y_int = y_int.ravel()
    if y_int.size and y_int.min() < 0:
        raise ValueError(f"to_categorical: labels must be >= 0, got {int(y_int.min())}")
    if not num_classes:
        if not y_int.size:
            raise ValueError("to_categorical: y is empty; pass num_classes")
        num_classes = int(y_int.max()) + 1
    elif y_int.size and y_int.max() >= num_classes:
        raise ValueError(
            f"to_categorical: label {int(y_int.max())} is out of range for "
            f"num_classes={num_classes} (labels must be in 0..{num_classes - 1})")
    n = y_int.shape[0]
    categorical = np.zeros((n, num_classes), dtype=dtype)
    categorical[np.arange(n), y_int] = 1
    return np.reshape(categorical, input_shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """Divide ``x`` by its ``order``-norm along ``axis`` (zero vectors are left as they are).

    Args:
        x: a numpy array.
        axis: the axis along which to normalise.
        order: the norm order (2 for L2; see ``np.linalg.norm``).

    Returns:
        The normalised array. As in Keras 2, a 1-D ``x`` comes back shaped ``(1, n)``.

    Example:
        >>> normalize(np.array([[3.0, 4.0]])).tolist()
        [[0.6, 0.8]]
    """
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)
