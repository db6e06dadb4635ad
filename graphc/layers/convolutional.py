"""Convolutional layers (Keras 2): Conv1D, Conv2D, Conv3D, SeparableConv1D, SeparableConv2D,
DepthwiseConv2D, Conv2DTranspose, Conv3DTranspose, and the reshaping layers UpSampling1D/2D/3D,
ZeroPadding1D/2D/3D, Cropping1D/2D/3D.

Kernels use Keras 2's layouts, so weights saved by Keras load unchanged: Conv2D
``(kh, kw, in, filters)``, Conv3D ``(kd, kh, kw, in, filters)``, Conv2DTranspose
``(kh, kw, filters, in)``, Conv3DTranspose ``(kd, kh, kw, filters, in)``, depthwise kernels
``(kh, kw, in, depth_multiplier)`` (``(k, in, depth_multiplier)`` for SeparableConv1D). The 3-D
layers run on ``K.conv3d`` / ``K.conv3d_transpose``, compositions of natively compiled ops. ``data_format`` is ``'channels_last'`` (batch, ..., channels)
or ``'channels_first'`` (batch, channels, ...); ``None`` means ``K.image_data_format()``.
"""
from __future__ import annotations

import numpy as np

from .. import activations, constraints, initializers, regularizers
from .. import backend as K
from ..engine.base_layer import InputSpec, Layer, shape_text
from ..legacy.layers import AtrousConvolution1D, AtrousConvolution2D
from ..utils.conv_utils import conv_output_length, deconv_length  # noqa: F401 (pooling)

__all__ = ['Conv1D', 'Conv2D', 'Conv3D', 'SeparableConv1D', 'SeparableConv2D',
           'DepthwiseConv2D', 'Conv2DTranspose', 'Conv3DTranspose', 'UpSampling1D',
           'UpSampling2D', 'UpSampling3D', 'ZeroPadding1D', 'ZeroPadding2D', 'ZeroPadding3D',
           'Cropping1D', 'Cropping2D', 'Cropping3D', 'Convolution1D', 'Convolution2D',
           'Convolution3D', 'SeparableConvolution1D', 'SeparableConvolution2D',
           'Convolution2DTranspose', 'Convolution3DTranspose', 'Deconvolution2D', 'Deconv2D',
           'Deconvolution3D', 'Deconv3D', 'AtrousConv1D', 'AtrousConv2D']

# -- argument helpers (shared with pooling.py) ------------------------------------------------


def _normalize_tuple(value, n, name, owner):
    """An int or an iterable of ``n`` ints -> a tuple of ``n`` positive ints."""
    if isinstance(value, (int, np.integer)):
        out = (int(value),) * n
    else:
        try:
            out = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(f"{owner}: the `{name}` argument must be an int or a tuple of {n} "
                             f"ints, got {value!r}") from None
        if len(out) != n:
            raise ValueError(f"{owner}: the `{name}` argument must be an int or a tuple of {n} "
                             f"ints, got {value!r}")
    if any(v < 1 for v in out):
        raise ValueError(f"{owner}: every entry of `{name}` must be >= 1, got {value!r}")
    return out


def _normalize_padding(value, owner, allowed=('valid', 'same')):
    """'valid' / 'same' (/ 'causal' where allowed), case-insensitive."""
    v = str(value).lower()
    if v not in allowed:
        raise ValueError(f"{owner}: the `padding` argument must be one of "
                         f"{', '.join(repr(a) for a in allowed)}, got {value!r}")
    return v


def _normalize_data_format(value, owner):
    """None -> K.image_data_format(); otherwise 'channels_last' or 'channels_first'."""
    if value is None:
        return K.image_data_format()
    v = str(value).lower()
    if v not in ('channels_last', 'channels_first'):
        raise ValueError(f"{owner}: the `data_format` argument must be 'channels_last' or "
                         f"'channels_first', got {value!r}")
    return v


def _owner(layer):
    return f"{type(layer).__name__} layer '{layer.name}'"


def _check_window_fits(layer, input_shape, spatial_axes, window, dilation, padding, what):
    """A clear error when a 'valid' window is larger than the input (names the layer)."""
    if padding != 'valid':
        return
    for ax, k, d in zip(spatial_axes, window, dilation):
        n = input_shape[ax]
        eff = k + (k - 1) * (d - 1)
        if n is not None and eff > n:
            dil = f" (dilated to {eff})" if d > 1 else ""
            raise ValueError(
                f"{_owner(layer)}: the {what} {tuple(window)}{dil} is larger than the input "
                f"{shape_text(tuple(input_shape))} along axis {ax} (size {n}) with "
                f"padding='valid'; use padding='same', a smaller {what}, or a larger input")


def _spatial_axes(rank, data_format):
    return tuple(range(1, rank + 1)) if data_format == 'channels_last' \
        else tuple(range(2, rank + 2))


def _channel_axis(data_format):
    return -1 if data_format == 'channels_last' else 1


def _init_weight_args(layer, activation, use_bias, kernel_initializer, bias_initializer,
                      kernel_regularizer, bias_regularizer, activity_regularizer,
                      kernel_constraint, bias_constraint):
    """The activation, bias switch and kernel / bias initializers, regularizers and constraints
    of a convolution-like layer (the _Conv and _LocallyConnected layers), resolved."""
    layer.activation = activations.get(activation)
    layer.use_bias = bool(use_bias)
    layer.kernel_initializer = initializers.get(kernel_initializer)
    layer.bias_initializer = initializers.get(bias_initializer)
    layer.kernel_regularizer = regularizers.get(kernel_regularizer)
    layer.bias_regularizer = regularizers.get(bias_regularizer)
    layer.activity_regularizer = regularizers.get(activity_regularizer)
    layer.kernel_constraint = constraints.get(kernel_constraint)
    layer.bias_constraint = constraints.get(bias_constraint)


def _weight_args_config(layer):
    """The config entries of ``_init_weight_args``'s arguments, in Keras 2's order."""
    return {
        'activation': activations.serialize(layer.activation),
        'use_bias': layer.use_bias,
        'kernel_initializer': initializers.serialize(layer.kernel_initializer),
        'bias_initializer': initializers.serialize(layer.bias_initializer),
        'kernel_regularizer': regularizers.serialize(layer.kernel_regularizer),
        'bias_regularizer': regularizers.serialize(layer.bias_regularizer),
        'activity_regularizer': regularizers.serialize(layer.activity_regularizer),
        'kernel_constraint': constraints.serialize(layer.kernel_constraint),
        'bias_constraint': constraints.serialize(layer.bias_constraint),
    }


# -- convolutions -----------------------------------------------------------------------------


class _Conv(Layer):
    """The shared implementation of Conv1D / Conv2D / Conv3D (``rank`` spatial axes)."""

    _paddings = ('valid', 'same')

    def __init__(self, rank, filters, kernel_size, strides=1, padding='valid',
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer='glorot_uniform', bias_initializer='zeros',
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        owner = _owner(self)
        self.rank = rank
        if filters is not None and (not isinstance(filters, (int, np.integer)) or filters < 1):
            raise ValueError(f"{owner}: `filters` must be a positive int, got {filters!r}")
        self.filters = None if filters is None else int(filters)
        self.kernel_size = _normalize_tuple(kernel_size, rank, 'kernel_size', owner)
        self.strides = _normalize_tuple(strides, rank, 'strides', owner)
        self.padding = _normalize_padding(padding, owner, self._paddings)
        self.data_format = _normalize_data_format(data_format, owner)
        self.dilation_rate = _normalize_tuple(dilation_rate, rank, 'dilation_rate', owner)
        _init_weight_args(self, activation, use_bias, kernel_initializer, bias_initializer,
                          kernel_regularizer, bias_regularizer, activity_regularizer,
                          kernel_constraint, bias_constraint)
        self.input_spec = InputSpec(ndim=rank + 2)

    def _input_channels(self, input_shape):
        dim = input_shape[_channel_axis(self.data_format)]
        if dim is None:
            raise ValueError(f"{_owner(self)}: the channel dimension of the inputs should be "
                             f"defined (data_format={self.data_format!r}), found None in "
                             f"input shape {shape_text(tuple(input_shape))}")
        return int(dim)

    def _check_input(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{_owner(self)} expects inputs of rank {self.rank + 2}, got "
                             f"shape {shape_text(input_shape)}")
        _check_window_fits(self, input_shape, _spatial_axes(self.rank, self.data_format),
                           self.kernel_size, self.dilation_rate, self.padding, 'kernel_size')

    def _kernel_shape(self, input_dim):
        return self.kernel_size + (input_dim, self.filters)

    def build(self, input_shape):
        self._check_input(input_shape)
        input_dim = self._input_channels(input_shape)
        self.kernel = self.add_weight('kernel', self._kernel_shape(input_dim),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight('bias', (self.filters,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.input_spec = InputSpec(ndim=self.rank + 2,
                                    axes={_channel_axis(self.data_format): input_dim})
        self.built = True

    def _convolve(self, inputs):
        if self.rank == 1:
            return K.conv1d(inputs, self.kernel, strides=self.strides[0], padding=self.padding,
                            data_format=self.data_format, dilation_rate=self.dilation_rate[0])
        if self.rank == 3:
            return K.conv3d(inputs, self.kernel, strides=self.strides, padding=self.padding,
                            data_format=self.data_format, dilation_rate=self.dilation_rate)
        return K.conv2d(inputs, self.kernel, strides=self.strides, padding=self.padding,
                        data_format=self.data_format, dilation_rate=self.dilation_rate)

    def call(self, inputs):
        outputs = self._convolve(inputs)
        if self.use_bias:
            outputs = K.bias_add(outputs, self.bias, data_format=self.data_format)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def _spatial_output(self, spatial):
        return tuple(conv_output_length(n, k, self.padding, s, d)
                     for n, k, s, d in zip(spatial, self.kernel_size, self.strides,
                                           self.dilation_rate))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self._check_input(input_shape)
        if self.data_format == 'channels_last':
            out = self._spatial_output(input_shape[1:-1])
            return (input_shape[0],) + out + (self.filters,)
        out = self._spatial_output(input_shape[2:])
        return (input_shape[0], self.filters) + out

    def get_config(self):
        config = {
            'filters': self.filters,
            'kernel_size': self.kernel_size,
            'strides': self.strides,
            'padding': self.padding,
            'data_format': self.data_format,
            'dilation_rate': self.dilation_rate,
        }
        config.update(_weight_args_config(self))
        base = super().get_config()
        return dict(list(base.items()) + list(config.items()))


class Conv1D(_Conv):
    """1-D convolution over the steps of (batch, steps, channels) inputs.

    Args:
        filters: the number of output channels.
        kernel_size: an int (or a 1-tuple), the window length.
        strides: the step of the window (default 1).
        padding: 'valid' (no padding), 'same' (output length ceil(steps / strides)) or
            'causal' (left padding: output t sees inputs <= t only).
        data_format: 'channels_last' (default, (batch, steps, channels)) or 'channels_first'.
        dilation_rate: the spacing of the kernel's taps.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint: as Dense.
    Input: (batch, steps, channels). Output: (batch, new_steps, filters). Kernel:
        (kernel_size, channels, filters).

    Example:
        >>> y = Conv1D(16, 3, padding='causal', activation='relu')(Input(shape=(100, 8)))
    """

    _paddings = ('valid', 'same', 'causal')

    def __init__(self, filters, kernel_size, strides=1, padding='valid',
                 data_format='channels_last', dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer='glorot_uniform', bias_initializer='zeros',
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(1, filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)


class Conv2D(_Conv):
    """2-D convolution over images.

    Args:
        filters: the number of output channels.
        kernel_size: an int or a pair (height, width) of the window.
        strides: an int or a pair (default (1, 1)).
        padding: 'valid' or 'same' (output size ceil(input / strides)).
        data_format: 'channels_last' ((batch, rows, cols, channels)), 'channels_first'
            ((batch, channels, rows, cols)) or None (``K.image_data_format()``).
        dilation_rate: an int or a pair; > 1 for atrous convolution (then strides must be 1).
        activation: an activation name or function (None: linear).
        use_bias: whether to add a bias per filter.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        activity_regularizer, kernel_constraint, bias_constraint: as Dense.
    Output: (batch, new_rows, new_cols, filters) (channels_last). Kernel: (kh, kw, in, filters).

    Example:
        >>> y = Conv2D(32, (3, 3), activation='relu')(Input(shape=(28, 28, 1)))
        >>> y._keras_shape
        (None, 26, 26, 32)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding='valid', data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer='glorot_uniform', bias_initializer='zeros',
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(2, filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)


class _Transpose:
    """What Conv2DTranspose / Conv3DTranspose change in Conv2D / Conv3D: the kernel is
    ``kernel_size + (filters, in)``, the output sizes are ``deconv_length``'s and the inputs
    are checked for their rank only (any window fits)."""

    def _check_output_padding(self):
        for p, s in zip(self.output_padding, self.strides):
            if p >= s:
                raise ValueError(f"{_owner(self)}: each output_padding {self.output_padding} "
                                 f"must be smaller than its stride {self.strides}")

    def _check_input(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{_owner(self)} expects inputs of rank {self.rank + 2}, got "
                             f"shape {shape_text(input_shape)}")

    def _kernel_shape(self, input_dim):
        return self.kernel_size + (self.filters, input_dim)

    def _spatial_output(self, spatial):
        ops = self.output_padding or (None,) * self.rank
        return tuple(deconv_length(n, s, k, self.padding, p, d)
                     for n, k, s, p, d in zip(spatial, self.kernel_size, self.strides, ops,
                                              self.dilation_rate))


class Conv2DTranspose(_Transpose, Conv2D):
    """Transposed 2-D convolution ("deconvolution"): the gradient of Conv2D with respect to
    its input, used to upsample.

    Args:
        filters, kernel_size, strides, padding, data_format, dilation_rate, activation,
        use_bias, initializers / regularizers / constraints: as Conv2D.
        output_padding: None (Keras 2's default output size) or an int / pair: the extra
            rows / columns on one side of the output; each must be smaller than its stride.
    Output rows (output_padding None): rows * stride + max(kernel - stride, 0) ('valid') or
        rows * stride ('same'). Kernel: (kh, kw, filters, in).

    Example:
        >>> y = Conv2DTranspose(8, 3, strides=2, padding='same')(Input(shape=(7, 7, 16)))
        >>> y._keras_shape
        (None, 14, 14, 8)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding='valid',
                 output_padding=None, data_format=None, dilation_rate=(1, 1), activation=None,
                 use_bias=True, kernel_initializer='glorot_uniform', bias_initializer='zeros',
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)
        self.output_padding = None
        if output_padding is not None:
            op = output_padding
            if isinstance(op, (int, np.integer)):
                op = (int(op),) * 2
            op = tuple(int(v) for v in op)
            if len(op) != 2 or any(v < 0 for v in op):
                raise ValueError(f"{_owner(self)}: `output_padding` must be a non-negative int "
                                 f"or pair, got {output_padding!r}")
            self.output_padding = op
            self._check_output_padding()

    def _convolve(self, inputs):
        output_shape = None
        if self.output_padding is not None:
            shape = K.int_shape(inputs)
            spatial = shape[1:3] if self.data_format == 'channels_last' else shape[2:]
            if any(n is None for n in spatial):
                raise ValueError(f"{_owner(self)}: output_padding needs static spatial input "
                                 f"dims, got input shape {shape_text(shape)}")
            output_shape = self._spatial_output(spatial)
        return K.conv2d_transpose(inputs, self.kernel, output_shape, strides=self.strides,
                                  padding=self.padding, data_format=self.data_format,
                                  dilation_rate=self.dilation_rate)

    def get_config(self):
        config = super().get_config()
        config['output_padding'] = self.output_padding
        return config


def _check_static_spatial(layer, input_shape, spatial_axes):
    """The 3-D layers need static spatial sizes (the batch may vary): say so by name."""
    input_shape = tuple(input_shape)
    if len(input_shape) == 5 and any(input_shape[a] is None for a in spatial_axes):
        raise ValueError(f"{_owner(layer)} needs static depth, height and width, got input "
                         f"shape {shape_text(input_shape)}; give them in `input_shape` (which "
                         f"excludes the batch axis)")


class Conv3D(_Conv):
    """3-D convolution over volumes (e.g. video frames or scans).

    Args:
        filters: the number of output channels.
        kernel_size: an int or 3 ints (depth, height, width) of the window.
        strides: an int or 3 ints (default (1, 1, 1)).
        padding: 'valid' or 'same' (output size ceil(input / strides)).
        data_format: 'channels_last' ((batch, depth, rows, cols, channels)), 'channels_first'
            ((batch, channels, depth, rows, cols)) or None (``K.image_data_format()``).
        dilation_rate: an int or 3 ints.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint: as Conv2D.
    Output: (batch, new_depth, new_rows, new_cols, filters) (channels_last). Kernel:
        (kd, kh, kw, in, filters). The depth, height and width of the input must be static.

    Example:
        >>> Conv3D(8, 3, padding='same')(Input(shape=(4, 16, 16, 1)))._keras_shape
        (None, 4, 16, 16, 8)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding='valid',
                 data_format=None, dilation_rate=(1, 1, 1), activation=None, use_bias=True,
                 kernel_initializer='glorot_uniform', bias_initializer='zeros',
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(3, filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)

    def build(self, input_shape):
        self._check_input(input_shape)
        _check_static_spatial(self, input_shape, _spatial_axes(3, self.data_format))
        super().build(input_shape)


class Conv3DTranspose(_Transpose, Conv3D):
    """Transposed 3-D convolution ("deconvolution"): the gradient of Conv3D with respect to
    its input, used to upsample volumes.

    Args:
        filters, kernel_size, strides, padding, data_format, activation, use_bias,
        initializers / regularizers / constraints: as Conv3D (Keras 2 has no dilation here).
        output_padding: None (Keras 2's default output size) or an int / 3 ints: the extra
            entries on one side of each output axis; each must be smaller than its stride.
    Output depth (output_padding None): depth * stride + max(kernel - stride, 0) ('valid') or
        depth * stride ('same'); likewise rows and columns. Kernel: (kd, kh, kw, filters, in).

    Example:
        >>> y = Conv3DTranspose(4, 3, strides=2, padding='same')(Input(shape=(2, 4, 4, 8)))
        >>> y._keras_shape
        (None, 4, 8, 8, 4)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding='valid',
                 output_padding=None, data_format=None, activation=None, use_bias=True,
                 kernel_initializer='glorot_uniform', bias_initializer='zeros',
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = _normalize_tuple_min(output_padding, 3, 'output_padding',
                                                       _owner(self), minimum=0)
            self._check_output_padding()

    def _convolve(self, inputs):
        shape = K.int_shape(inputs)
        spatial = shape[1:4] if self.data_format == 'channels_last' else shape[2:]
        return K.conv3d_transpose(inputs, self.kernel, self._spatial_output(spatial),
                                  strides=self.strides, padding=self.padding,
                                  data_format=self.data_format)

    def get_config(self):
        config = super().get_config()
        config.pop('dilation_rate')
        config['output_padding'] = self.output_padding
        return config


def _normalize_tuple_min(value, n, name, owner, minimum):
    """An int or ``n`` ints, each >= ``minimum`` -> a tuple of ``n`` ints."""
    try:
        out = (int(value),) * n if isinstance(value, (int, np.integer)) else \
            tuple(int(v) for v in value)
    except (TypeError, ValueError):
        out = ()
    if len(out) != n or any(v < minimum for v in out):
        raise ValueError(f"{owner}: `{name}` must be an int or a tuple of {n} ints, each >= "
                         f"{minimum}, got {value!r}")
    return out


class DepthwiseConv2D(Conv2D):
    """Depthwise 2-D convolution: each input channel is convolved with its own
    ``depth_multiplier`` filters (no mixing across channels).

    Args:
        kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias:
            as Conv2D.
        depth_multiplier: output channels per input channel.
        depthwise_initializer, depthwise_regularizer, depthwise_constraint: for the kernel
            (kh, kw, in, depth_multiplier).
        bias_initializer, bias_regularizer, bias_constraint, activity_regularizer: as Conv2D.
    Output channels: in * depth_multiplier.

    Example:
        >>> y = DepthwiseConv2D(3, depth_multiplier=2)(Input(shape=(8, 8, 4)))
        >>> y._keras_shape
        (None, 6, 6, 8)
    """

    def __init__(self, kernel_size, strides=(1, 1), padding='valid', depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer='glorot_uniform', bias_initializer='zeros',
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters=None, kernel_size=kernel_size, strides=strides,
                         padding=padding, data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         bias_constraint=bias_constraint, bias_initializer=bias_initializer,
                         **kwargs)
        if not isinstance(depth_multiplier, (int, np.integer)) or depth_multiplier < 1:
            raise ValueError(f"{_owner(self)}: `depth_multiplier` must be a positive int, got "
                             f"{depth_multiplier!r}")
        self.depth_multiplier = int(depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)

    def build(self, input_shape):
        self._check_input(input_shape)
        input_dim = self._input_channels(input_shape)
        self.depthwise_kernel = self.add_weight(
            'depthwise_kernel', self.kernel_size + (input_dim, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight('bias', (input_dim * self.depth_multiplier,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.input_spec = InputSpec(ndim=4, axes={_channel_axis(self.data_format): input_dim})
        self.built = True

    def _convolve(self, inputs):
        return K.depthwise_conv2d(inputs, self.depthwise_kernel, strides=self.strides,
                                  padding=self.padding, data_format=self.data_format,
                                  dilation_rate=self.dilation_rate)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self._check_input(input_shape)
        chans = input_shape[_channel_axis(self.data_format)]
        out_chans = None if chans is None else chans * self.depth_multiplier
        if self.data_format == 'channels_last':
            return (input_shape[0],) + self._spatial_output(input_shape[1:3]) + (out_chans,)
        return (input_shape[0], out_chans) + self._spatial_output(input_shape[2:])

    def get_config(self):
        config = super().get_config()
        for key in ('filters', 'kernel_initializer', 'kernel_regularizer', 'kernel_constraint'):
            config.pop(key)
        config['depth_multiplier'] = self.depth_multiplier
        config['depthwise_initializer'] = initializers.serialize(self.depthwise_initializer)
        config['depthwise_regularizer'] = regularizers.serialize(self.depthwise_regularizer)
        config['depthwise_constraint'] = constraints.serialize(self.depthwise_constraint)
        return config


class _Separable:
    """What SeparableConv1D and SeparableConv2D add to Conv1D / Conv2D: a depthwise kernel
    ``kernel_size + (in, depth_multiplier)`` and a pointwise kernel ``(1,) * rank +
    (in * depth_multiplier, filters)`` in place of the kernel."""

    def _init_separable(self, depth_multiplier, depthwise_initializer, pointwise_initializer,
                        depthwise_regularizer, pointwise_regularizer, depthwise_constraint,
                        pointwise_constraint):
        if not isinstance(depth_multiplier, (int, np.integer)) or depth_multiplier < 1:
            raise ValueError(f"{_owner(self)}: `depth_multiplier` must be a positive int, got "
                             f"{depth_multiplier!r}")
        self.depth_multiplier = int(depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def build(self, input_shape):
        self._check_input(input_shape)
        input_dim = self._input_channels(input_shape)
        self.depthwise_kernel = self.add_weight(
            'depthwise_kernel', self.kernel_size + (input_dim, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            'pointwise_kernel', (1,) * self.rank + (input_dim * self.depth_multiplier,
                                                    self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight('bias', (self.filters,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.input_spec = InputSpec(ndim=self.rank + 2,
                                    axes={_channel_axis(self.data_format): input_dim})
        self.built = True

    def _convolve(self, inputs):
        if self.rank == 1:
            return K.separable_conv1d(inputs, self.depthwise_kernel, self.pointwise_kernel,
                                      strides=self.strides[0], padding=self.padding,
                                      data_format=self.data_format,
                                      dilation_rate=self.dilation_rate[0])
        return K.separable_conv2d(inputs, self.depthwise_kernel, self.pointwise_kernel,
                                  strides=self.strides, padding=self.padding,
                                  data_format=self.data_format,
                                  dilation_rate=self.dilation_rate)

    def get_config(self):
        config = super().get_config()
        for key in ('kernel_initializer', 'kernel_regularizer', 'kernel_constraint'):
            config.pop(key)
        config['depth_multiplier'] = self.depth_multiplier
        for part in ('depthwise', 'pointwise'):
            config[f'{part}_initializer'] = initializers.serialize(
                getattr(self, f'{part}_initializer'))
            config[f'{part}_regularizer'] = regularizers.serialize(
                getattr(self, f'{part}_regularizer'))
            config[f'{part}_constraint'] = constraints.serialize(
                getattr(self, f'{part}_constraint'))
        return config


class SeparableConv1D(_Separable, Conv1D):
    """Depthwise separable 1-D convolution: a depthwise convolution of the steps (each channel
    on its own, ``depth_multiplier`` filters per channel) followed by a pointwise (size-1)
    convolution that mixes the channels.

    Args:
        filters, kernel_size, strides, dilation_rate, activation, use_bias, bias_initializer,
        bias_regularizer, activity_regularizer, bias_constraint: as Conv1D.
        padding: 'valid' or 'same'.
        data_format: 'channels_last' (default, (batch, steps, channels)) or 'channels_first'.
        depth_multiplier: depthwise output channels per input channel.
        depthwise_initializer / _regularizer / _constraint: for the depthwise kernel
            (kernel_size, in, depth_multiplier).
        pointwise_initializer / _regularizer / _constraint: for the pointwise kernel
            (1, in * depth_multiplier, filters).
    Weights (in order): depthwise_kernel, pointwise_kernel, bias.

    Example:
        >>> SeparableConv1D(8, 3, padding='same')(Input(shape=(10, 4)))._keras_shape
        (None, 10, 8)
    """

    _paddings = ('valid', 'same')

    def __init__(self, filters, kernel_size, strides=1, padding='valid',
                 data_format='channels_last', dilation_rate=1, depth_multiplier=1,
                 activation=None, use_bias=True, depthwise_initializer='glorot_uniform',
                 pointwise_initializer='glorot_uniform', bias_initializer='zeros',
                 depthwise_regularizer=None, pointwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        self._init_separable(depth_multiplier, depthwise_initializer, pointwise_initializer,
                             depthwise_regularizer, pointwise_regularizer,
                             depthwise_constraint, pointwise_constraint)


class SeparableConv2D(_Separable, Conv2D):
    """Depthwise separable 2-D convolution: a depthwise convolution (each channel on its own,
    ``depth_multiplier`` filters per channel) followed by a 1x1 pointwise convolution.

    Args:
        filters, kernel_size, strides, padding, data_format, dilation_rate, activation,
        use_bias, bias_initializer, bias_regularizer, activity_regularizer, bias_constraint:
            as Conv2D.
        depth_multiplier: depthwise output channels per input channel.
        depthwise_initializer / _regularizer / _constraint: for the depthwise kernel
            (kh, kw, in, depth_multiplier).
        pointwise_initializer / _regularizer / _constraint: for the pointwise kernel
            (1, 1, in * depth_multiplier, filters).
    Weights (in order): depthwise_kernel, pointwise_kernel, bias.

    Example:
        >>> y = SeparableConv2D(16, 3, padding='same')(Input(shape=(8, 8, 4)))
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding='valid', data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer='glorot_uniform', pointwise_initializer='glorot_uniform',
                 bias_initializer='zeros', depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        self._init_separable(depth_multiplier, depthwise_initializer, pointwise_initializer,
                             depthwise_regularizer, pointwise_regularizer,
                             depthwise_constraint, pointwise_constraint)


# Keras 2 aliases.
Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution3D = Conv3D
SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D
Convolution2DTranspose = Conv2DTranspose
Convolution3DTranspose = Conv3DTranspose
Deconvolution2D = Deconv2D = Conv2DTranspose
Deconvolution3D = Deconv3D = Conv3DTranspose


# -- upsampling, padding, cropping ------------------------------------------------------------


def _bilinear_matrix(n_in, n_out):
    """(n_out, n_in) interpolation weights of TF1's resize_bilinear (align_corners=False):
    output i samples input coordinate i * n_in / n_out."""
    m = np.zeros((n_out, n_in), dtype=np.float64)
    scale = n_in / n_out
    for i in range(n_out):
        src = i * scale
        lo = min(int(np.floor(src)), n_in - 1)
        hi = min(lo + 1, n_in - 1)
        frac = src - lo
        m[i, lo] += 1.0 - frac
        m[i, hi] += frac
    return m


class UpSampling1D(Layer):
    """Repeat each step ``size`` times: (batch, steps, features) -> (batch, steps * size,
    features).

    Example:
        >>> UpSampling1D(2)(Input(shape=(3, 4)))._keras_shape
        (None, 6, 4)
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = _normalize_tuple(size, 1, 'size', _owner(self))[0]
        self.input_spec = InputSpec(ndim=3)

    def compute_output_shape(self, input_shape):
        n = input_shape[1]
        return (input_shape[0], None if n is None else n * self.size, input_shape[2])

    def call(self, inputs):
        return K.repeat_elements(inputs, self.size, axis=1)

    def get_config(self):
        config = super().get_config()
        config['size'] = self.size
        return config


class _Spatial(Layer):
    """Shared by the 2-D / 3-D upsampling, padding and cropping layers: ``rank`` spatial axes
    placed by ``data_format``; each changes every static spatial size by its amount."""

    rank = 2

    def _axes(self):
        return _spatial_axes(self.rank, self.data_format)

    def _resized(self, input_shape, amounts, change):
        out = list(input_shape)
        for ax, amount in zip(self._axes(), amounts):
            out[ax] = None if out[ax] is None else change(out[ax], amount)
        return tuple(out)


class _UpSampling(_Spatial):

    def compute_output_shape(self, input_shape):
        return self._resized(input_shape, self.size, lambda n, f: n * f)

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size, data_format=self.data_format)
        return config


class _ZeroPadding(_Spatial):

    def compute_output_shape(self, input_shape):
        return self._resized(input_shape, self.padding, lambda n, ab: n + ab[0] + ab[1])

    def get_config(self):
        config = super().get_config()
        config.update(padding=self.padding, data_format=self.data_format)
        return config


class _Cropping(_Spatial):

    def build(self, input_shape):
        for ax, (a, b) in zip(self._axes(), self.cropping):
            n = input_shape[ax]
            if n is not None and a + b >= n:
                raise ValueError(f"{_owner(self)}: cropping {self.cropping} removes all {n} "
                                 f"entries of axis {ax} of the input "
                                 f"{shape_text(tuple(input_shape))}")
        self.built = True

    def compute_output_shape(self, input_shape):
        return self._resized(input_shape, self.cropping, lambda n, ab: n - ab[0] - ab[1])

    def call(self, inputs):
        key = [slice(None)] * (self.rank + 2)
        for ax, (a, b) in zip(self._axes(), self.cropping):
            key[ax] = _crop_slice(a, b)
        return inputs[tuple(key)]

    def get_config(self):
        config = super().get_config()
        config.update(cropping=self.cropping, data_format=self.data_format)
        return config


class UpSampling2D(_UpSampling):
    """Upsample rows and columns by integer factors.

    Args:
        size: an int or a pair (rows, cols) of factors.
        data_format: 'channels_last' / 'channels_first' / None.
        interpolation: 'nearest' (repeat) or 'bilinear' (TensorFlow 1's resize_bilinear,
            align_corners=False; needs static spatial dims).

    Example:
        >>> UpSampling2D((2, 3))(Input(shape=(4, 4, 1)))._keras_shape
        (None, 8, 12, 1)
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation='nearest', **kwargs):
        super().__init__(**kwargs)
        owner = _owner(self)
        self.size = _normalize_tuple(size, 2, 'size', owner)
        self.data_format = _normalize_data_format(data_format, owner)
        if interpolation not in ('nearest', 'bilinear'):
            raise ValueError(f"{owner}: `interpolation` must be 'nearest' or 'bilinear', got "
                             f"{interpolation!r}")
        self.interpolation = interpolation
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        if self.interpolation == 'nearest':
            return K.resize_images(inputs, self.size[0], self.size[1], self.data_format)
        shape = K.int_shape(inputs)
        h_ax, w_ax = self._axes()
        if shape[h_ax] is None or shape[w_ax] is None:
            raise ValueError(f"{_owner(self)}: bilinear interpolation needs static spatial "
                             f"dims, got input shape {shape_text(shape)}")
        dtype = K.dtype(inputs)
        mh = K.constant(_bilinear_matrix(shape[h_ax], shape[h_ax] * self.size[0]).T, dtype)
        mw = K.constant(_bilinear_matrix(shape[w_ax], shape[w_ax] * self.size[1]).T, dtype)
        # Move the axis to interpolate last, multiply by the (in, out) matrix, move it back.
        x = inputs
        for ax, m in ((h_ax, mh), (w_ax, mw)):
            perm = [i for i in range(4) if i != ax] + [ax]
            inv = list(np.argsort(perm))
            x = K.permute_dimensions(K.dot(K.permute_dimensions(x, perm), m), inv)
        return x

    def get_config(self):
        config = super().get_config()
        config['interpolation'] = self.interpolation
        return config


def _pair_of_pairs(value, owner, name):
    """An int, a pair of ints or a pair of pairs -> ((a, b), (c, d)) of non-negative ints."""
    try:
        if isinstance(value, (int, np.integer)):
            out = ((int(value),) * 2,) * 2
        elif all(isinstance(v, (int, np.integer)) for v in value):
            a, b = (int(v) for v in value)
            out = ((a, a), (b, b))
        else:
            (a, b), (c, d) = value
            out = ((int(a), int(b)), (int(c), int(d)))
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: `{name}` must be an int, a pair of ints or a pair of pairs "
                         f"((top, bottom), (left, right)), got {value!r}") from None
    if any(v < 0 for p in out for v in p):
        raise ValueError(f"{owner}: `{name}` entries must be >= 0, got {value!r}")
    return out


def _pair(value, owner, name):
    """An int or a pair of ints -> (a, b) of non-negative ints."""
    try:
        if isinstance(value, (int, np.integer)):
            out = (int(value), int(value))
        else:
            a, b = value
            out = (int(a), int(b))
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: `{name}` must be an int or a pair of ints, got "
                         f"{value!r}") from None
    if any(v < 0 for v in out):
        raise ValueError(f"{owner}: `{name}` entries must be >= 0, got {value!r}")
    return out


class ZeroPadding1D(Layer):
    """Zero-pad the steps axis of (batch, steps, features).

    Args:
        padding: an int (both sides) or a pair (left, right).

    Example:
        >>> ZeroPadding1D((1, 2))(Input(shape=(3, 4)))._keras_shape
        (None, 6, 4)
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pair(padding, _owner(self), 'padding')
        self.input_spec = InputSpec(ndim=3)

    def compute_output_shape(self, input_shape):
        n = input_shape[1]
        return (input_shape[0], None if n is None else n + sum(self.padding), input_shape[2])

    def call(self, inputs):
        return K.temporal_padding(inputs, padding=self.padding)

    def get_config(self):
        config = super().get_config()
        config['padding'] = self.padding
        return config


class ZeroPadding2D(_ZeroPadding):
    """Zero-pad the rows and columns of an image batch.

    Args:
        padding: an int, a pair (rows, cols) symmetric, or ((top, bottom), (left, right)).
        data_format: 'channels_last' / 'channels_first' / None.

    Example:
        >>> ZeroPadding2D(1)(Input(shape=(4, 4, 3)))._keras_shape
        (None, 6, 6, 3)
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = _owner(self)
        self.padding = _pair_of_pairs(padding, owner, 'padding')
        self.data_format = _normalize_data_format(data_format, owner)
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        return K.spatial_2d_padding(inputs, padding=self.padding, data_format=self.data_format)


def _crop_slice(a, b):
    return slice(a, None if b == 0 else -b)


class Cropping1D(Layer):
    """Remove steps from the start and end of (batch, steps, features).

    Args:
        cropping: an int (both ends) or a pair (start, end).

    Example:
        >>> Cropping1D((1, 2))(Input(shape=(6, 4)))._keras_shape
        (None, 3, 4)
    """

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pair(cropping, _owner(self), 'cropping')
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape):
        n = input_shape[1]
        if n is not None and sum(self.cropping) >= n:
            raise ValueError(f"{_owner(self)}: cropping {self.cropping} removes all {n} steps "
                             f"of the input {shape_text(tuple(input_shape))}")
        self.built = True

    def compute_output_shape(self, input_shape):
        n = input_shape[1]
        return (input_shape[0], None if n is None else n - sum(self.cropping), input_shape[2])

    def call(self, inputs):
        a, b = self.cropping
        return inputs[:, _crop_slice(a, b), :]

    def get_config(self):
        config = super().get_config()
        config['cropping'] = self.cropping
        return config


class Cropping2D(_Cropping):
    """Remove rows and columns from the borders of an image batch.

    Args:
        cropping: an int, a pair (rows, cols) symmetric, or ((top, bottom), (left, right)).
        data_format: 'channels_last' / 'channels_first' / None.

    Example:
        >>> Cropping2D(((1, 0), (2, 2)))(Input(shape=(5, 6, 3)))._keras_shape
        (None, 4, 2, 3)
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = _owner(self)
        self.cropping = _pair_of_pairs(cropping, owner, 'cropping')
        self.data_format = _normalize_data_format(data_format, owner)
        self.input_spec = InputSpec(ndim=4)


def _triple_of_pairs(value, owner, name):
    """An int, 3 ints or 3 pairs -> ((a, b), (c, d), (e, f)) of non-negative ints."""
    try:
        if isinstance(value, (int, np.integer)):
            out = ((int(value),) * 2,) * 3
        elif all(isinstance(v, (int, np.integer)) for v in value):
            a, b, c = (int(v) for v in value)
            out = ((a, a), (b, b), (c, c))
        else:
            (a, b), (c, d), (e, f) = value
            out = ((int(a), int(b)), (int(c), int(d)), (int(e), int(f)))
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: `{name}` must be an int, 3 ints or 3 pairs "
                         f"((left_dim1, right_dim1), (left_dim2, right_dim2), (left_dim3, "
                         f"right_dim3)), got {value!r}") from None
    if any(v < 0 for p in out for v in p):
        raise ValueError(f"{owner}: `{name}` entries must be >= 0, got {value!r}")
    return out


class UpSampling3D(_UpSampling):
    """Repeat the entries of the three spatial axes (nearest-neighbour upsampling).

    Args:
        size: an int or 3 ints (depth, rows, cols) of factors (default (2, 2, 2)).
        data_format: 'channels_last' / 'channels_first' / None.

    Example:
        >>> UpSampling3D((1, 2, 2))(Input(shape=(2, 3, 3, 4)))._keras_shape
        (None, 2, 6, 6, 4)
    """

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = _owner(self)
        self.size = _normalize_tuple(size, 3, 'size', owner)
        self.data_format = _normalize_data_format(data_format, owner)
        self.input_spec = InputSpec(ndim=5)

    def call(self, inputs):
        return K.resize_volumes(inputs, self.size[0], self.size[1], self.size[2],
                                self.data_format)


class ZeroPadding3D(_ZeroPadding):
    """Zero-pad the three spatial axes of a volume batch.

    Args:
        padding: an int, 3 ints (symmetric per axis) or 3 pairs
            ((left_dim1, right_dim1), (left_dim2, right_dim2), (left_dim3, right_dim3)).
        data_format: 'channels_last' / 'channels_first' / None.

    Example:
        >>> ZeroPadding3D(1)(Input(shape=(2, 3, 3, 4)))._keras_shape
        (None, 4, 5, 5, 4)
    """

    rank = 3

    def __init__(self, padding=(1, 1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = _owner(self)
        self.padding = _triple_of_pairs(padding, owner, 'padding')
        self.data_format = _normalize_data_format(data_format, owner)
        self.input_spec = InputSpec(ndim=5)

    def call(self, inputs):
        return K.spatial_3d_padding(inputs, padding=self.padding, data_format=self.data_format)


class Cropping3D(_Cropping):
    """Remove entries from the borders of the three spatial axes of a volume batch.

    Args:
        cropping: an int, 3 ints (symmetric per axis) or 3 pairs
            ((left_dim1, right_dim1), (left_dim2, right_dim2), (left_dim3, right_dim3));
            default ((1, 1), (1, 1), (1, 1)).
        data_format: 'channels_last' / 'channels_first' / None.

    Example:
        >>> Cropping3D(((1, 0), (1, 1), (0, 2)))(Input(shape=(3, 4, 5, 2)))._keras_shape
        (None, 2, 2, 3, 2)
    """

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = _owner(self)
        self.cropping = _triple_of_pairs(cropping, owner, 'cropping')
        self.data_format = _normalize_data_format(data_format, owner)
        self.input_spec = InputSpec(ndim=5)


# Keras 1's dilated convolutions (deprecated factories of Conv1D / Conv2D)
AtrousConv1D = AtrousConvolution1D
AtrousConv2D = AtrousConvolution2D
