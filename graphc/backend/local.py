"""Convolutions with unshared weights (Keras 2's ``K.local_conv1d`` / ``K.local_conv2d``),
composed of strided slices, stack, reshape, transpose and one batched matrix product, all of
which the code generator compiles natively.

Every output position ``p`` has its own weight matrix ``kernel[p]`` of shape
(window * channels, filters). The rows of that matrix follow Keras 2's order: (taps,
channels) for channels_last inputs, (channels, taps) for channels_first, so kernels saved by
Keras load unchanged. The patches are gathered tap by tap (one strided slice per kernel tap,
not one slice per output position) and multiplied with ``batch_dot`` over the positions.
"""
from __future__ import annotations

import numpy as np

from ..ir.ops import apply, as_value
from .common import normalize_data_format

__all__ = ['local_conv1d', 'local_conv2d']


def _ints(value, n, fn, name):
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    out = tuple(int(v) for v in value)
    if len(out) != n:
        raise ValueError(f"K.{fn}: `{name}` must be an int or {n} ints, got {value!r}")
    return out


def _positions_product(patches, kernel, fn):
    """(N, P, K) patches times the per-position (P, K, F) kernel -> (N, P, F)."""
    p, k = patches.shape[1], patches.shape[2]
    if kernel.ndim != 3 or tuple(kernel.shape[:2]) != (p, k):
        raise ValueError(f"K.{fn}: the kernel {kernel.type} must have shape (output "
                         f"positions, window * channels, filters) = ({p}, {k}, filters)")
    by_pos = apply("transpose", patches, perm=(1, 0, 2))                # (P, N, K)
    out = apply("batch_dot", by_pos, kernel, axes=(2, 1))               # (P, N, F)
    return apply("transpose", out, perm=(1, 0, 2))


def _tap_slices(x, spatial_axes, kernel_size, strides, out_sizes):
    """One strided slice per kernel tap: entry ``o`` of each reads input ``o * s + tap``."""
    taps = []
    for tap in np.ndindex(*kernel_size):
        key = [slice(None)] * x.ndim
        for axis, t, s, n in zip(spatial_axes, tap, strides, out_sizes):
            key[axis] = slice(t, t + (n - 1) * s + 1, s)
        taps.append(x[tuple(key)])
    return taps


def _static_dims(x, axes, fn):
    dims = [x.shape[a] for a in axes]
    if not all(isinstance(d, int) for d in dims):
        raise ValueError(f"K.{fn} needs static spatial and channel sizes, got {x.type}")
    return dims


def local_conv1d(inputs, kernel, kernel_size, strides, data_format=None):
    """1-D convolution with unshared weights.

    Args:
        inputs: (batch, steps, channels) for channels_last, (batch, channels, steps) for
            channels_first.
        kernel: (output_length, kernel_size * channels, filters).
        kernel_size: an int or a 1-tuple.
        strides: an int or a 1-tuple.
        data_format: 'channels_last', 'channels_first' or None (``K.image_data_format()``).

    Returns:
        (batch, output_length, filters) for channels_last, (batch, filters, output_length)
        for channels_first.

    Example:
        >>> y = K.local_conv1d(x, k, (3,), (1,))
    """
    fn = 'local_conv1d'
    x, kernel = as_value(inputs), as_value(kernel)
    fmt = normalize_data_format(data_format)
    if x.ndim != 3:
        raise ValueError(f"K.{fn} expects a 3-D input, got {x.type}")
    (k,), (s,) = _ints(kernel_size, 1, fn, 'kernel_size'), _ints(strides, 1, fn, 'strides')
    length = kernel.shape[0]
    if fmt == 'channels_last':
        _, c = _static_dims(x, (1, 2), fn)
        taps = _tap_slices(x, (1,), (k,), (s,), (length,))              # (N, L, C) each
        patches = apply("stack", *taps, axis=2) if k > 1 else taps[0]
        patches = apply("reshape", patches, shape=(-1, length, k * c))
    else:
        c, _ = _static_dims(x, (1, 2), fn)
        taps = _tap_slices(x, (2,), (k,), (s,), (length,))              # (N, C, L) each
        patches = apply("stack", *taps, axis=3)                         # (N, C, L, k)
        patches = apply("reshape", apply("transpose", patches, perm=(0, 2, 1, 3)),
                        shape=(-1, length, c * k))
    out = _positions_product(patches, kernel, fn)                       # (N, L, F)
    return out if fmt == 'channels_last' else apply("transpose", out, perm=(0, 2, 1))


def local_conv2d(inputs, kernel, kernel_size, strides, output_shape, data_format=None):
    """2-D convolution with unshared weights.

    Args:
        inputs: a 4-D tensor in ``data_format``.
        kernel: (output_rows * output_cols, kh * kw * channels, filters).
        kernel_size, strides: an int or a pair.
        output_shape: (output_rows, output_cols).
        data_format: 'channels_last', 'channels_first' or None.

    Returns:
        (batch, output_rows, output_cols, filters) for channels_last, (batch, filters,
        output_rows, output_cols) for channels_first.

    Example:
        >>> y = K.local_conv2d(x, k, (3, 3), (1, 1), (6, 6))
    """
    fn = 'local_conv2d'
    x, kernel = as_value(inputs), as_value(kernel)
    fmt = normalize_data_format(data_format)
    if x.ndim != 4:
        raise ValueError(f"K.{fn} expects a 4-D input, got {x.type}")
    ks = _ints(kernel_size, 2, fn, 'kernel_size')
    st = _ints(strides, 2, fn, 'strides')
    rows, cols = _ints(output_shape, 2, fn, 'output_shape')
    n_taps = ks[0] * ks[1]
    if fmt == 'channels_last':
        _, _, c = _static_dims(x, (1, 2, 3), fn)
        taps = _tap_slices(x, (1, 2), ks, st, (rows, cols))             # (N, R, C', c)
        patches = apply("stack", *taps, axis=3) if n_taps > 1 else taps[0]
        patches = apply("reshape", patches, shape=(-1, rows * cols, n_taps * c))
    else:
        c, _, _ = _static_dims(x, (1, 2, 3), fn)
        taps = _tap_slices(x, (2, 3), ks, st, (rows, cols))             # (N, c, R, C')
        patches = apply("stack", *taps, axis=4)                         # (N, c, R, C', T)
        patches = apply("reshape", apply("transpose", patches, perm=(0, 2, 3, 1, 4)),
                        shape=(-1, rows * cols, c * n_taps))
    out = _positions_product(patches, kernel, fn)                       # (N, R*C', F)
    filters = kernel.shape[2]
    if fmt == 'channels_last':
        return apply("reshape", out, shape=(-1, rows, cols, filters))
    return apply("reshape", apply("transpose", out, perm=(0, 2, 1)),
                 shape=(-1, filters, rows, cols))
