"""3-D (volumetric) convolution, transposed convolution, pooling and upsampling under their
Keras 2 backend names: ``conv3d``, ``conv3d_transpose``, ``pool3d``, ``resize_volumes``.

None of these is an op of its own: each is composed of graph ops that the code generator
already compiles natively (strided slices, pad, concatenate, reshape, transpose, the 2-D
convolution and pooling ops, elementwise maximum / add), so a 3-D model runs and trains in
native code and its gradient is the ordinary gradient of that composition.

* ``conv3d``: the depth taps become channels. For kernel depth ``kd``, tap ``i`` reads the
  depth-strided slice ``x[:, i*dd :: sd]`` (``dd`` the depth dilation, ``sd`` the stride);
  the ``kd`` slices are concatenated on the channel axis, depth is folded into the batch axis
  ``(N * D_out, H, W, kd * C)``, and ONE ``conv2d`` with the kernel reshaped to
  ``(kh, kw, kd * C, filters)`` does the rest.
* ``conv3d_transpose``: one ``conv2d_transpose`` with the depth taps stacked on the output
  channels, then each tap is scattered to output depth ``j * sd + i`` (zero-interleave, pad)
  and the taps are summed.
* ``pool3d``: ``pool2d`` over (height, width) of every depth slice, then a max (or mean)
  over depth windows built from strided slices.

Padding follows TensorFlow's rule as in Keras 2: 'same' gives ``ceil(n / stride)`` outputs,
the total padding split with the extra element at the end. These functions need static
spatial and channel sizes (the batch may vary); layouts are Keras 2's.
"""
from __future__ import annotations

import numpy as np

from ..ir.node import Value
from ..ir.ops import apply, as_value
from .common import normalize_data_format
from .variables import constant

__all__ = ['conv3d', 'conv3d_transpose', 'pool3d', 'resize_volumes']

_TO_LAST = (0, 2, 3, 4, 1)       # (N, C, D, H, W) -> (N, D, H, W, C)
_TO_FIRST = (0, 4, 1, 2, 3)


def _triple(value, fn, name):
    if isinstance(value, (int, np.integer)):
        out = (int(value),) * 3
    else:
        try:
            out = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            out = ()
    if len(out) != 3 or any(v < 1 for v in out):
        raise ValueError(f"K.{fn}: `{name}` must be a positive int or 3 positive ints, got "
                         f"{value!r}")
    return out


def _padding(padding, fn):
    p = str(padding).lower()
    if p not in ('valid', 'same'):
        raise ValueError(f"K.{fn}: padding must be 'valid' or 'same', got {padding!r}")
    return p


def _check_5d(x, fn, what='x'):
    if x.ndim != 5:
        raise ValueError(f"K.{fn} expects a 5-D {what} (batch, depth, height, width, channels) "
                         f"or (batch, channels, depth, height, width), got {x.type}")


def _static(x: Value, axes, fn):
    dims = [x.shape[a] for a in axes]
    if not all(isinstance(d, int) for d in dims):
        raise ValueError(f"K.{fn} needs static spatial and channel sizes (only the batch size "
                         f"may vary), got {x.type}")
    return dims


def _out_length(n, k, stride, padding, dilation=1):
    eff = (k - 1) * dilation + 1
    if padding == 'same':
        return -(-n // stride)
    return (n - eff) // stride + 1 if n >= eff else 0


def _same_pads(n, k, stride, dilation=1):
    """TensorFlow's 'same' padding (before, after) of one axis."""
    eff = (k - 1) * dilation + 1
    out = -(-n // stride)
    total = max((out - 1) * stride + eff - n, 0)
    return total // 2, total - total // 2


def _pad_axis(x: Value, axis, before, after):
    if before == 0 and after == 0:
        return x
    pads = [(0, 0)] * x.ndim
    pads[axis] = (int(before), int(after))
    return apply("pad", x, pads=tuple(pads), mode="constant", constant_value=0.0)


def _strided(x: Value, axis, start, count, stride):
    """``count`` entries of ``x`` along ``axis`` from ``start`` every ``stride``."""
    key = [slice(None)] * x.ndim
    key[axis] = slice(start, start + (count - 1) * stride + 1, stride)
    return x[tuple(key)]


# -- convolution ------------------------------------------------------------------------------

def conv3d(x, kernel, strides=(1, 1, 1), padding='valid', data_format=None,
           dilation_rate=(1, 1, 1)):
    """3-D convolution (cross-correlation, as TensorFlow); ``kernel`` is
    (kd, kh, kw, in, out).

    Args:
        x: a 5-D tensor in ``data_format``.
        kernel: the kernel, Keras 2's layout (kd, kh, kw, in_channels, filters).
        strides, dilation_rate: an int or 3 ints (depth, height, width).
        padding: 'valid' or 'same'.
        data_format: 'channels_last', 'channels_first' or None (``K.image_data_format()``).

    Returns:
        The 5-D output in ``data_format``.

    Example:
        >>> y = K.conv3d(x, k, strides=(1, 2, 2), padding='same')
    """
    fn = 'conv3d'
    x, kernel = as_value(x), as_value(kernel)
    fmt = normalize_data_format(data_format)
    strides = _triple(strides, fn, 'strides')
    dilation = _triple(dilation_rate, fn, 'dilation_rate')
    padding = _padding(padding, fn)
    _check_5d(x, fn)
    if kernel.ndim != 5:
        raise ValueError(f"K.{fn}: the kernel must be 5-D (kd, kh, kw, in, out), got "
                         f"{kernel.type}")
    xl = x if fmt == 'channels_last' else apply("transpose", x, perm=_TO_LAST)
    d, h, w, c = _static(xl, (1, 2, 3, 4), fn)
    kd, kh, kw, cin, cout = _static(kernel, range(5), fn)
    if cin != c:
        raise ValueError(f"K.{fn}: the input {x.type} has {c} channels "
                         f"(data_format={fmt!r}) but the kernel {kernel.type} expects {cin}")
    sd, dd = strides[0], dilation[0]
    d_out = _out_length(d, kd, sd, padding, dd)
    if d_out < 1:
        raise ValueError(f"K.{fn}: the kernel depth {kd} (dilation {dd}) is larger than the "
                         f"input depth {d} with padding='valid'")
    if padding == 'same':
        xl = _pad_axis(xl, 1, *_same_pads(d, kd, sd, dd))
    # tap i of the depth window -> channels [i*c, (i+1)*c) of a (N, d_out, H, W, kd*c) tensor
    taps = [_strided(xl, 1, i * dd, d_out, sd) for i in range(kd)]
    cols = taps[0] if kd == 1 else apply("concatenate", *taps, axis=4)
    k2 = apply("reshape", apply("transpose", kernel, perm=(1, 2, 0, 3, 4)),
               shape=(kh, kw, kd * cin, cout))
    y = apply("conv2d", apply("reshape", cols, shape=(-1, h, w, kd * c)), k2,
              strides=strides[1:], padding=padding, dilation=dilation[1:],
              data_format='channels_last')
    ho, wo = y.shape[1], y.shape[2]
    y = apply("reshape", y, shape=(-1, d_out, ho, wo, cout))
    return y if fmt == 'channels_last' else apply("transpose", y, perm=_TO_FIRST)


def _deconv_length(n, k, stride, padding):
    """Keras 2's transposed-convolution output length (no output padding)."""
    if padding == 'valid':
        return n * stride + max(k - stride, 0)
    return n * stride


def conv3d_transpose(x, kernel, output_shape, strides=(1, 1, 1), padding='valid',
                     data_format=None):
    """Transposed 3-D convolution (the gradient of ``conv3d`` w.r.t. its input); ``kernel``
    is (kd, kh, kw, out, in) as in Keras 2.

    Args:
        x: a 5-D tensor in ``data_format``.
        kernel: (kd, kh, kw, output_channels, input_channels).
        output_shape: None (Keras 2's output size: ``n * stride + max(k - stride, 0)`` for
            'valid', ``n * stride`` for 'same'), the spatial output size (d, h, w), or the
            full output shape in ``data_format`` order (its batch entry may be None or a
            tensor); None entries take the default size.
        strides: an int or 3 ints.
        padding: 'valid' or 'same'.
        data_format: 'channels_last', 'channels_first' or None.

    Returns:
        The 5-D output in ``data_format``.

    Raises:
        ValueError: an output size that a ``conv3d`` with these strides and padding does not
            map back to the input size.

    Example:
        >>> y = K.conv3d_transpose(x, k, None, strides=(2, 2, 2), padding='same')
    """
    fn = 'conv3d_transpose'
    x, kernel = as_value(x), as_value(kernel)
    fmt = normalize_data_format(data_format)
    strides = _triple(strides, fn, 'strides')
    padding = _padding(padding, fn)
    _check_5d(x, fn)
    if kernel.ndim != 5:
        raise ValueError(f"K.{fn}: the kernel must be 5-D (kd, kh, kw, out, in), got "
                         f"{kernel.type}")
    xl = x if fmt == 'channels_last' else apply("transpose", x, perm=_TO_LAST)
    d, h, w, c = _static(xl, (1, 2, 3, 4), fn)
    kd, kh, kw, cout, cin = _static(kernel, range(5), fn)
    if cin != c:
        raise ValueError(f"K.{fn}: the input {x.type} has {c} channels "
                         f"(data_format={fmt!r}) but the kernel {kernel.type} (layout "
                         f"(kd, kh, kw, out, in)) expects {cin}")
    spatial = _output_spatial(output_shape, fmt, fn)
    size = tuple(_deconv_length(n, k, s, padding) if o is None else o
                 for o, n, k, s in zip(spatial, (d, h, w), (kd, kh, kw), strides))
    for o, n, k, s, axis in zip(size, (d, h, w), (kd, kh, kw), strides,
                                ('depth', 'height', 'width')):
        if _out_length(o, k, s, padding) != n:
            raise ValueError(f"K.{fn}: output size {size} is inconsistent with the input "
                             f"{x.type}: a conv3d with kernel {(kd, kh, kw)}, strides "
                             f"{strides}, padding={padding!r} maps the {axis} {o} to "
                             f"{_out_length(o, k, s, padding)}, not {n}")
    sd, lo = strides[0], size[0]
    # (height, width) of every (sample, depth) pair, the kd taps stacked on the channels
    k2 = apply("reshape", apply("transpose", kernel, perm=(1, 2, 0, 3, 4)),
               shape=(kh, kw, kd * cout, cin))
    z = apply("conv2d_transpose", apply("reshape", xl, shape=(-1, h, w, c)), k2,
              output_shape=size[1:], strides=strides[1:], padding=padding,
              data_format='channels_last')
    ho, wo = size[1], size[2]
    z = apply("reshape", z, shape=(-1, d, ho, wo, kd, cout))
    # input depth j, tap i -> output depth j*sd + i: interleave sd-1 zeros after each j
    if sd > 1:
        z = _pad_axis(apply("expand_dims", z, axis=2), 2, 0, sd - 1)
        z = apply("reshape", z, shape=(-1, d * sd, ho, wo, kd, cout))
    span = (d - 1) * sd + 1
    full_len = span + kd - 1
    total = None
    for i in range(kd):
        t = z[:, :span, :, :, i, :]
        t = _pad_axis(t, 1, i, kd - 1 - i)
        total = t if total is None else total + t
    # crop the forward convolution's 'same' padding; zeros where its window reached no input
    start = _same_pads(lo, kd, sd)[0] if padding == 'same' else 0
    stop = start + lo
    y = total[:, start:min(stop, full_len)]
    y = _pad_axis(y, 1, 0, max(stop - full_len, 0))
    return y if fmt == 'channels_last' else apply("transpose", y, perm=_TO_FIRST)


def _output_spatial(output_shape, fmt, fn):
    if output_shape is None:
        return (None, None, None)
    dims = tuple(None if isinstance(d, Value) or d is None else int(d) for d in output_shape)
    if len(dims) == 5:
        dims = dims[1:4] if fmt == 'channels_last' else dims[2:]
    if len(dims) != 3 or any(d is not None and d < 1 for d in dims):
        raise ValueError(f"K.{fn}: output_shape must be (depth, height, width) or the full "
                         f"5-D output shape in data_format order, got {output_shape!r}")
    return dims


# -- pooling ----------------------------------------------------------------------------------

def pool3d(x, pool_size, strides=(1, 1, 1), padding='valid', data_format=None,
           pool_mode='max'):
    """3-D max or average pooling (``pool_mode`` 'max' or 'avg').

    With padding='same' the average counts only the input entries inside each window, and
    the maximum ignores the padding (as TensorFlow).

    Args:
        x: a 5-D tensor in ``data_format``.
        pool_size, strides: an int or 3 ints (depth, height, width).
        padding: 'valid' or 'same'.
        data_format: 'channels_last', 'channels_first' or None.
        pool_mode: 'max' or 'avg'.

    Example:
        >>> y = K.pool3d(x, (2, 2, 2), strides=(2, 2, 2), pool_mode='avg')
    """
    fn = 'pool3d'
    if pool_mode not in ('max', 'avg'):
        raise ValueError(f"K.{fn}: pool_mode must be 'max' or 'avg', got {pool_mode!r}")
    x = as_value(x)
    fmt = normalize_data_format(data_format)
    pool = _triple(pool_size, fn, 'pool_size')
    strides = _triple(strides, fn, 'strides')
    padding = _padding(padding, fn)
    _check_5d(x, fn)
    if fmt == 'channels_last':
        d, h, w, c = _static(x, (1, 2, 3, 4), fn)
        planes = apply("reshape", x, shape=(-1, h, w, c))            # (N*D, H, W, C)
    else:
        c, d, h, w = _static(x, (1, 2, 3, 4), fn)
        planes = apply("reshape", x, shape=(-1, c * d, h, w))        # (N, C*D, H, W)
    y = apply(f"{pool_mode}_pool2d", planes, pool_size=pool[1:], strides=strides[1:],
              padding=padding, data_format=fmt)
    if fmt == 'channels_last':
        ho, wo = y.shape[1], y.shape[2]
        y, axis = apply("reshape", y, shape=(-1, d, ho, wo, c)), 1
    else:
        ho, wo = y.shape[2], y.shape[3]
        y, axis = apply("reshape", y, shape=(-1, c, d, ho, wo)), 2
    return _pool_depth(y, axis, d, pool[0], strides[0], padding, pool_mode, fn)


def _pool_depth(y: Value, axis, d, k, s, padding, mode, fn):
    """Max / mean over depth windows (length ``k``, stride ``s``) of ``y`` along ``axis``."""
    d_out = _out_length(d, k, s, padding)
    if d_out < 1:
        raise ValueError(f"K.{fn}: the pool depth {k} is larger than the input depth {d} with "
                         f"padding='valid'")
    before, after = _same_pads(d, k, s) if padding == 'same' else (0, 0)
    if mode == 'max':
        # Repeating the edge slice does not change any maximum: every window that reaches
        # into the padding also holds that edge (the padding is shorter than a window).
        first = [slice(None)] * y.ndim
        last = [slice(None)] * y.ndim
        first[axis], last[axis] = slice(0, 1), slice(d - 1, d)
        parts = [y[tuple(first)]] * before + [y] + [y[tuple(last)]] * after
        if len(parts) > 1:
            y = apply("concatenate", *parts, axis=axis)
    else:
        y = _pad_axis(y, axis, before, after)
    out = None
    for i in range(k):          # on ties the maximum keeps the earlier tap, as TensorFlow
        t = _strided(y, axis, i, d_out, s)
        out = t if out is None else (apply("maximum", out, t) if mode == 'max' else out + t)
    if mode == 'avg':
        counts = np.array([min(o * s - before + k, d) - max(o * s - before, 0)
                           for o in range(d_out)], dtype=np.float64)
        if np.all(counts == k):
            out = out * (1.0 / k)
        else:
            shape = (d_out,) + (1,) * (y.ndim - axis - 1)
            out = out * constant((1.0 / counts).reshape(shape), dtype=out.dtype)
    return out


# -- upsampling -------------------------------------------------------------------------------

def resize_volumes(x, depth_factor, height_factor, width_factor, data_format):
    """Nearest-neighbour upsampling of the three spatial axes by integer factors.

    Example:
        >>> y = K.resize_volumes(x, 2, 2, 2, 'channels_last')   # (N, 4, 4, 4, C) -> (N, 8, 8, 8, C)
    """
    x = as_value(x)
    _check_5d(x, 'resize_volumes')
    fmt = normalize_data_format(data_format)
    axes = (1, 2, 3) if fmt == 'channels_last' else (2, 3, 4)
    for axis, factor in zip(axes, (depth_factor, height_factor, width_factor)):
        if int(factor) != 1:
            x = apply("repeat", x, repeats=int(factor), axis=axis)
    return x
