"""Pooling layers (Keras 2): MaxPooling1D/2D/3D, AveragePooling1D/2D/3D and the global
poolings GlobalMaxPooling1D/2D/3D, GlobalAveragePooling1D/2D/3D."""
from __future__ import annotations

from .. import backend as K
from ..engine.base_layer import InputSpec, Layer
from .convolutional import (_check_static_spatial, _check_window_fits, _normalize_data_format,
                            _normalize_padding, _normalize_tuple, _owner, _spatial_axes,
                            conv_output_length)

__all__ = ['MaxPooling1D', 'MaxPooling2D', 'MaxPooling3D', 'AveragePooling1D',
           'AveragePooling2D', 'AveragePooling3D', 'GlobalMaxPooling1D', 'GlobalMaxPooling2D',
           'GlobalMaxPooling3D', 'GlobalAveragePooling1D', 'GlobalAveragePooling2D',
           'GlobalAveragePooling3D', 'MaxPool1D', 'MaxPool2D', 'MaxPool3D', 'AvgPool1D',
           'AvgPool2D', 'AvgPool3D', 'GlobalMaxPool1D', 'GlobalMaxPool2D', 'GlobalMaxPool3D',
           'GlobalAvgPool1D', 'GlobalAvgPool2D', 'GlobalAvgPool3D']


class _Pooling(Layer):
    """Shared implementation of the 1-D, 2-D and 3-D max / average pooling layers."""

    rank = 2
    mode = 'max'

    def __init__(self, pool_size, strides=None, padding='valid', data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = _owner(self)
        self.pool_size = _normalize_tuple(pool_size, self.rank, 'pool_size', owner)
        self.strides = self.pool_size if strides is None else \
            _normalize_tuple(strides, self.rank, 'strides', owner)
        self.padding = _normalize_padding(padding, owner)
        self.data_format = _normalize_data_format(data_format, owner)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _check(self, input_shape):
        if self.rank == 3:
            _check_static_spatial(self, input_shape, _spatial_axes(3, self.data_format))
        _check_window_fits(self, tuple(input_shape), _spatial_axes(self.rank, self.data_format),
                           self.pool_size, (1,) * self.rank, self.padding, 'pool_size')

    def build(self, input_shape):
        self._check(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self._check(input_shape)
        out = list(input_shape)
        for ax, k, s in zip(_spatial_axes(self.rank, self.data_format), self.pool_size,
                            self.strides):
            out[ax] = conv_output_length(input_shape[ax], k, self.padding, s)
        return tuple(out)

    def call(self, inputs):
        pool = {1: K.pool1d, 2: K.pool2d, 3: K.pool3d}[self.rank]
        size = self.pool_size[0] if self.rank == 1 else self.pool_size
        strides = self.strides[0] if self.rank == 1 else self.strides
        return pool(inputs, size, strides=strides, padding=self.padding,
                    data_format=self.data_format, pool_mode=self.mode)

    def get_config(self):
        config = super().get_config()
        if self.rank == 1:
            config.update(pool_size=self.pool_size[0], strides=self.strides[0])
        else:
            config.update(pool_size=self.pool_size, strides=self.strides)
        config.update(padding=self.padding, data_format=self.data_format)
        return config


class MaxPooling1D(_Pooling):
    """Max pooling over the steps of (batch, steps, features).

    Args:
        pool_size: the window length (default 2).
        strides: the step (None: pool_size).
        padding: 'valid' or 'same'.
        data_format: 'channels_last' (default) or 'channels_first' ((batch, features, steps)).

    Example:
        >>> MaxPooling1D(2)(Input(shape=(10, 3)))._keras_shape
        (None, 5, 3)
    """

    rank, mode = 1, 'max'

    def __init__(self, pool_size=2, strides=None, padding='valid',
                 data_format='channels_last', **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(_Pooling):
    """Average pooling over the steps of (batch, steps, features); arguments as MaxPooling1D.
    With padding='same' the average counts only the input entries inside the window.

    Example:
        >>> AveragePooling1D(3, strides=1)(Input(shape=(10, 3)))._keras_shape
        (None, 8, 3)
    """

    rank, mode = 1, 'avg'

    def __init__(self, pool_size=2, strides=None, padding='valid',
                 data_format='channels_last', **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling2D(_Pooling):
    """Max pooling over the rows and columns of an image batch.

    Args:
        pool_size: an int or a pair (default (2, 2)).
        strides: an int, a pair or None (pool_size).
        padding: 'valid' or 'same'.
        data_format: 'channels_last' / 'channels_first' / None (``K.image_data_format()``).

    Example:
        >>> MaxPooling2D()(Input(shape=(28, 28, 8)))._keras_shape
        (None, 14, 14, 8)
    """

    rank, mode = 2, 'max'

    def __init__(self, pool_size=(2, 2), strides=None, padding='valid', data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling2D(_Pooling):
    """Average pooling over rows and columns; arguments as MaxPooling2D.

    Example:
        >>> AveragePooling2D(2, padding='same')(Input(shape=(5, 5, 1)))._keras_shape
        (None, 3, 3, 1)
    """

    rank, mode = 2, 'avg'

    def __init__(self, pool_size=(2, 2), strides=None, padding='valid', data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling3D(_Pooling):
    """Max pooling over the depth, rows and columns of a volume batch.

    Args:
        pool_size: an int or 3 ints (default (2, 2, 2)).
        strides: an int, 3 ints or None (pool_size).
        padding: 'valid' or 'same'.
        data_format: 'channels_last' / 'channels_first' / None (``K.image_data_format()``).
    The depth, height and width of the input must be static.

    Example:
        >>> MaxPooling3D()(Input(shape=(4, 8, 8, 3)))._keras_shape
        (None, 2, 4, 4, 3)
    """

    rank, mode = 3, 'max'

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding='valid', data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling3D(_Pooling):
    """Average pooling over depth, rows and columns; arguments as MaxPooling3D. With
    padding='same' the average counts only the input entries inside the window.

    Example:
        >>> AveragePooling3D(2, padding='same')(Input(shape=(3, 5, 5, 1)))._keras_shape
        (None, 2, 3, 3, 1)
    """

    rank, mode = 3, 'avg'

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding='valid', data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class _GlobalPooling(Layer):
    """Shared implementation of the global poolings: reduce every spatial axis."""

    rank = 2
    mode = 'max'

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _normalize_data_format(data_format, _owner(self))
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _axes(self):
        return list(_spatial_axes(self.rank, self.data_format))

    def compute_output_shape(self, input_shape):
        chan = input_shape[-1] if self.data_format == 'channels_last' else input_shape[1]
        return (input_shape[0], chan)

    def call(self, inputs):
        if self.mode == 'max':
            return K.max(inputs, axis=self._axes())
        return K.mean(inputs, axis=self._axes())

    def get_config(self):
        config = super().get_config()
        config['data_format'] = self.data_format
        return config


class GlobalMaxPooling1D(_GlobalPooling):
    """The maximum over the steps: (batch, steps, features) -> (batch, features).

    Example:
        >>> GlobalMaxPooling1D()(Input(shape=(10, 3)))._keras_shape
        (None, 3)
    """

    rank, mode = 1, 'max'

    def __init__(self, data_format='channels_last', **kwargs):
        super().__init__(data_format, **kwargs)


class GlobalAveragePooling1D(_GlobalPooling):
    """The mean over the steps: (batch, steps, features) -> (batch, features). With an input
    mask (e.g. from ``Embedding(mask_zero=True)``) only the unmasked steps are averaged.

    Example:
        >>> GlobalAveragePooling1D()(Input(shape=(10, 3)))._keras_shape
        (None, 3)
    """

    rank, mode = 1, 'avg'

    def __init__(self, data_format='channels_last', **kwargs):
        super().__init__(data_format, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        steps_axis = 1 if self.data_format == 'channels_last' else 2
        if mask is None:
            return K.mean(inputs, axis=steps_axis)
        mask = K.cast(mask, K.dtype(inputs))
        mask = K.expand_dims(mask, 2 if self.data_format == 'channels_last' else 1)
        return K.sum(inputs * mask, axis=steps_axis) / K.sum(mask, axis=steps_axis)

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalMaxPooling2D(_GlobalPooling):
    """The maximum over rows and columns: -> (batch, channels).

    Example:
        >>> GlobalMaxPooling2D()(Input(shape=(4, 4, 3)))._keras_shape
        (None, 3)
    """

    rank, mode = 2, 'max'


class GlobalAveragePooling2D(_GlobalPooling):
    """The mean over rows and columns: -> (batch, channels).

    Example:
        >>> GlobalAveragePooling2D(data_format='channels_first')(Input(shape=(3, 4, 4)))
    """

    rank, mode = 2, 'avg'


class GlobalMaxPooling3D(_GlobalPooling):
    """The maximum over depth, rows and columns: -> (batch, channels).

    Example:
        >>> GlobalMaxPooling3D()(Input(shape=(2, 4, 4, 3)))._keras_shape
        (None, 3)
    """

    rank, mode = 3, 'max'


class GlobalAveragePooling3D(_GlobalPooling):
    """The mean over depth, rows and columns: -> (batch, channels).

    Example:
        >>> GlobalAveragePooling3D(data_format='channels_first')(Input(shape=(3, 2, 4, 4)))
    """

    rank, mode = 3, 'avg'


# Keras 2 aliases.
MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
MaxPool3D = MaxPooling3D
AvgPool3D = AveragePooling3D
GlobalMaxPool3D = GlobalMaxPooling3D
GlobalAvgPool3D = GlobalAveragePooling3D
