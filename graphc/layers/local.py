"""Keras 2's ``keras.layers.local``: LocallyConnected1D and LocallyConnected2D, convolutions
whose weights are not shared between output positions.

Weights have Keras 2's shapes, so Keras 2 HDF5 weight files load unchanged: LocallyConnected1D
kernel ``(output_length, kernel_size * input_dim, filters)`` and bias ``(output_length,
filters)``; LocallyConnected2D kernel ``(output_rows * output_cols, kh * kw * channels,
filters)`` and bias ``(output_rows, output_cols, filters)``. They run on ``K.local_conv1d`` /
``K.local_conv2d`` (strided slices and one batched matrix product, compiled natively).
"""
from __future__ import annotations

import numpy as np

from .. import backend as K
from ..engine.base_layer import InputSpec, Layer, shape_text
from .convolutional import (_init_weight_args, _normalize_data_format, _normalize_padding,
                            _normalize_tuple, _owner, _weight_args_config, conv_output_length)

__all__ = ['LocallyConnected1D', 'LocallyConnected2D']


class _LocallyConnected(Layer):
    """Shared implementation of LocallyConnected1D / 2D (``rank`` spatial axes)."""

    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding='valid', data_format=None,
                 activation=None, use_bias=True, kernel_initializer='glorot_uniform',
                 bias_initializer='zeros', kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        owner = _owner(self)
        if not isinstance(filters, (int, np.integer)) or isinstance(filters, bool) \
                or filters < 1:
            raise ValueError(f"{owner}: `filters` must be a positive int, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = _normalize_tuple(kernel_size, self.rank, 'kernel_size', owner)
        self.strides = _normalize_tuple(strides, self.rank, 'strides', owner)
        self.padding = _normalize_padding(padding, owner, ('valid', 'same'))
        if self.padding != 'valid':
            raise ValueError(f"{owner}: only padding='valid' is supported (as in Keras 2), got "
                             f"{padding!r}")
        self.data_format = _normalize_data_format(data_format, owner)
        _init_weight_args(self, activation, use_bias, kernel_initializer, bias_initializer,
                          kernel_regularizer, bias_regularizer, activity_regularizer,
                          kernel_constraint, bias_constraint)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _split(self, input_shape):
        """(spatial sizes, channels) of ``input_shape``, checked."""
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{_owner(self)} expects inputs of rank {self.rank + 2}, got "
                             f"shape {shape_text(input_shape)}")
        if self.data_format == 'channels_last':
            spatial, channels = input_shape[1:-1], input_shape[-1]
        else:
            spatial, channels = input_shape[2:], input_shape[1]
        if any(n is None for n in spatial) or channels is None:
            raise ValueError(f"{_owner(self)}: the spatial and channel sizes of the inputs "
                             f"must be static (data_format={self.data_format!r}), got input "
                             f"shape {shape_text(input_shape)}")
        out = tuple(conv_output_length(n, k, self.padding, s)
                    for n, k, s in zip(spatial, self.kernel_size, self.strides))
        if any(o < 1 for o in out):
            raise ValueError(f"{_owner(self)}: the kernel_size {self.kernel_size} is larger "
                             f"than the input {shape_text(input_shape)} (spatial sizes "
                             f"{tuple(spatial)})")
        return out, int(channels)

    def build(self, input_shape):
        out, channels = self._split(input_shape)
        positions = int(np.prod(out))
        self.kernel = self.add_weight(
            'kernel', (positions, int(np.prod(self.kernel_size)) * channels, self.filters),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight('bias', out + (self.filters,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        axis = -1 if self.data_format == 'channels_last' else 1
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={axis: channels})
        self.built = True

    def compute_output_shape(self, input_shape):
        out, _ = self._split(input_shape)
        if self.data_format == 'channels_last':
            return (input_shape[0],) + out + (self.filters,)
        return (input_shape[0], self.filters) + out

    def _local_conv(self, inputs, out):
        raise NotImplementedError

    def call(self, inputs):
        out, _ = self._split(K.int_shape(inputs))
        outputs = self._local_conv(inputs, out)
        if self.use_bias:
            bias = self.bias
            if self.data_format == 'channels_first':
                # as Keras 2's TensorFlow bias_add: the bias is reshaped (not transposed)
                # to (filters,) + spatial
                bias = K.reshape(bias, (self.filters,) + out)
            outputs = outputs + bias
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def get_config(self):
        config = {
            'filters': self.filters,
            'kernel_size': self.kernel_size,
            'strides': self.strides,
            'padding': self.padding,
            'data_format': self.data_format,
        }
        config.update(_weight_args_config(self))
        base = super().get_config()
        return dict(list(base.items()) + list(config.items()))


class LocallyConnected1D(_LocallyConnected):
    """Like Conv1D, but every output step has its own weights (unshared).

    Args:
        filters: the number of output channels.
        kernel_size: an int (or a 1-tuple), the window length.
        strides: an int (or a 1-tuple).
        padding: only 'valid' (as Keras 2).
        data_format: 'channels_last' ((batch, steps, channels)), 'channels_first'
            ((batch, channels, steps)) or None (``K.image_data_format()``).
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint: as Dense.
    Weights: kernel (output_length, kernel_size * channels, filters), bias (output_length,
        filters). The number of steps must be static.

    Example:
        >>> LocallyConnected1D(64, 3)(Input(shape=(10, 32)))._keras_shape
        (None, 8, 64)
    """

    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding='valid', data_format=None,
                 activation=None, use_bias=True, kernel_initializer='glorot_uniform',
                 bias_initializer='zeros', kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)

    def _local_conv(self, inputs, out):
        return K.local_conv1d(inputs, self.kernel, self.kernel_size, self.strides,
                              data_format=self.data_format)


class LocallyConnected2D(_LocallyConnected):
    """Like Conv2D, but every output position has its own weights (unshared).

    Args:
        filters: the number of output channels.
        kernel_size: an int or a pair (height, width) of the window.
        strides: an int or a pair (default (1, 1)).
        padding: only 'valid' (as Keras 2).
        data_format: 'channels_last' / 'channels_first' / None (``K.image_data_format()``).
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint: as Dense.
    Weights: kernel (output_rows * output_cols, kh * kw * channels, filters), bias
        (output_rows, output_cols, filters). The rows and columns must be static.

    Example:
        >>> LocallyConnected2D(8, (3, 3))(Input(shape=(6, 6, 3)))._keras_shape
        (None, 4, 4, 8)
    """

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding='valid', data_format=None,
                 activation=None, use_bias=True, kernel_initializer='glorot_uniform',
                 bias_initializer='zeros', kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)

    def _local_conv(self, inputs, out):
        return K.local_conv2d(inputs, self.kernel, self.kernel_size, self.strides, out,
                              data_format=self.data_format)
