"""Argument and shape helpers of the convolution layers (Keras 2's ``keras.utils.conv_utils``).

Example:
    >>> from graphc.utils import conv_utils
    >>> conv_utils.normalize_tuple(3, 2, 'kernel_size')
    (3, 3)
    >>> conv_utils.conv_output_length(5, 3, 'valid', 2)
    2
"""
from __future__ import annotations

import numpy as np

__all__ = ['normalize_tuple', 'normalize_data_format', 'normalize_padding', 'convert_kernel',
           'conv_output_length', 'conv_input_length', 'deconv_length']

_PADDINGS = ('valid', 'same', 'causal', 'full')


def normalize_tuple(value, n, name):
    """An int or an iterable of ``n`` ints -> a tuple of ``n`` ints.

    Args:
        value: an int (repeated ``n`` times) or an iterable of ``n`` ints.
        n: the length of the tuple.
        name: the argument's name, for the error message (e.g. 'strides').

    Returns:
        A tuple of ``n`` ints.

    Raises:
        ValueError: ``value`` is neither an int nor ``n`` ints.

    Example:
        >>> normalize_tuple((1, 2), 2, 'strides')
        (1, 2)
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * n
    wanted = f"The `{name}` argument must be a tuple of {n} integers. Received: {value!r}"
    try:
        items = tuple(value)
    except TypeError:
        raise ValueError(wanted) from None
    if len(items) != n or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                  for v in items):
        raise ValueError(wanted)
    return tuple(int(v) for v in items)


def normalize_data_format(value):
    """None -> the configured image data format; otherwise 'channels_last' or
    'channels_first' (case-insensitive).

    Example:
        >>> normalize_data_format('Channels_First')
        'channels_first'
    """
    from ..backend import normalize_data_format as impl
    return impl(value)


def normalize_padding(value):
    """'valid', 'same' or 'causal' (case-insensitive), lower-cased.

    Raises:
        ValueError: any other value.

    Example:
        >>> normalize_padding('SAME')
        'same'
    """
    padding = str(value).lower()
    if padding not in ('valid', 'same', 'causal'):
        raise ValueError(f"The `padding` argument must be one of 'valid', 'same' (or "
                         f"'causal', only for `Conv1D`). Received: {value!r}")
    return padding


def convert_kernel(kernel):
    """A convolution kernel with its spatial axes flipped (between convolution and
    cross-correlation, e.g. Theano and TensorFlow kernels).

    Args:
        kernel: an array of rank 3, 4 or 5: spatial axes first, then input and output channels.

    Returns:
        A new array of the same shape.

    Raises:
        ValueError: ``kernel`` is not of rank 3 to 5.

    Example:
        >>> convert_kernel(np.arange(3.).reshape(3, 1, 1))[:, 0, 0].tolist()
        [2.0, 1.0, 0.0]
    """
    kernel = np.asarray(kernel)
    if not 3 <= kernel.ndim <= 5:
        raise ValueError(f"Invalid kernel shape: {kernel.shape}; a convolution kernel has rank "
                         "3 to 5 (spatial axes, input channels, output channels)")
    flip = (slice(None, None, -1),) * (kernel.ndim - 2) + (slice(None), slice(None))
    return np.copy(kernel[flip])


def _check_padding(padding):
    if padding not in _PADDINGS:
        raise ValueError(f"padding must be one of {', '.join(map(repr, _PADDINGS))}, got "
                         f"{padding!r}")


def conv_output_length(input_length, filter_size, padding, stride, dilation=1):
    """The output length of a convolution or pooling along one axis.

    Args:
        input_length: the input length, or None (unknown).
        filter_size: the window size.
        padding: 'valid', 'same', 'causal' or 'full'.
        stride: the stride.
        dilation: the dilation rate.

    Returns:
        The output length, or None when ``input_length`` is None.

    Example:
        >>> conv_output_length(5, 3, 'same', 2)
        3
    """
    if input_length is None:
        return None
    _check_padding(padding)
    eff = filter_size + (filter_size - 1) * (dilation - 1)
    if padding in ('same', 'causal'):
        out = input_length
    elif padding == 'valid':
        out = input_length - eff + 1
    else:  # full
        out = input_length + eff - 1
    return (out + stride - 1) // stride


def conv_input_length(output_length, filter_size, padding, stride):
    """The input length a convolution needs to give ``output_length`` (the inverse of
    ``conv_output_length`` without dilation).

    Args:
        output_length: the output length, or None.
        filter_size: the window size.
        padding: 'valid', 'same' or 'full'.
        stride: the stride.

    Returns:
        The input length, or None when ``output_length`` is None.

    Example:
        >>> conv_input_length(2, 3, 'valid', 2)
        5
    """
    if output_length is None:
        return None
    if padding not in ('same', 'valid', 'full'):
        raise ValueError(f"padding must be one of 'same', 'valid', 'full', got {padding!r}")
    pad = {'same': filter_size // 2, 'valid': 0, 'full': filter_size - 1}[padding]
    return (output_length - 1) * stride - 2 * pad + filter_size


def deconv_length(dim_size, stride_size, kernel_size, padding, output_padding=None,
                  dilation=1):
    """The output length of a transposed convolution along one axis.

    Args:
        dim_size: the input length, or None.
        stride_size: the stride.
        kernel_size: the kernel size.
        padding: 'valid', 'same' or 'full'.
        output_padding: the extra length on one side, or None (the smallest output that
            the forward convolution maps back to ``dim_size``).
        dilation: the dilation rate.

    Returns:
        The output length, or None when ``dim_size`` is None.

    Example:
        >>> deconv_length(4, 2, 3, 'valid', None)
        9
    """
    if dim_size is None:
        return None
    if padding not in ('same', 'valid', 'full'):
        raise ValueError(f"padding must be one of 'same', 'valid', 'full', got {padding!r}")
    k = kernel_size + (kernel_size - 1) * (dilation - 1)
    if output_padding is None:
        if padding == 'valid':
            return dim_size * stride_size + max(k - stride_size, 0)
        if padding == 'full':
            return dim_size * stride_size - (stride_size + k - 2)
        return dim_size * stride_size
    pad = {'same': k // 2, 'valid': 0, 'full': k - 1}[padding]
    return (dim_size - 1) * stride_size + k - 2 * pad + output_padding
