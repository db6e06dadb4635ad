"""Noise and structured-dropout layers (Keras 2): GaussianNoise, GaussianDropout,
AlphaDropout, SpatialDropout1D, SpatialDropout2D, SpatialDropout3D. All are the identity at test
time."""
from __future__ import annotations

import numpy as np

from .. import backend as K
from ..engine.base_layer import InputSpec, Layer
from .convolutional import _normalize_data_format, _owner
from .core import Dropout

__all__ = ['GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'SpatialDropout1D',
           'SpatialDropout2D', 'SpatialDropout3D']


def _rate(layer, rate):
    try:
        rate = float(rate)
    except (TypeError, ValueError):
        raise ValueError(f"{_owner(layer)}: rate must be a number in [0, 1), got "
                         f"{rate!r}") from None
    if not 0. <= rate < 1.:
        raise ValueError(f"{_owner(layer)}: rate must be in [0, 1), got {rate}")
    return rate


def _like(inputs, noise_shape):
    """A tensor whose run-time shape is ``noise_shape`` (None entries: the input's size),
    for the random ops' ``K.shape(x)`` form."""
    if noise_shape is None:
        return inputs
    if len(noise_shape) != K.ndim(inputs):
        raise ValueError(f"noise_shape {tuple(noise_shape)} must have one entry per axis of "
                         f"the input ({K.ndim(inputs)} axes)")
    key = []
    for d, n in zip(noise_shape, K.int_shape(inputs)):
        if d is None or (n is not None and int(d) == n):
            key.append(slice(None))
        elif int(d) == 1:
            key.append(slice(0, 1))
        else:
            raise ValueError(f"noise_shape {tuple(noise_shape)} does not broadcast against the "
                             f"input shape {K.int_shape(inputs)}")
    return K.stop_gradient(inputs[tuple(key)])


class GaussianNoise(Layer):
    """Add zero-mean Gaussian noise of standard deviation ``stddev`` during training
    (a regulariser); the identity at test time.

    Example:
        >>> y = GaussianNoise(0.1)(x)
    """

    def __init__(self, stddev, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        stddev = float(stddev)
        if stddev < 0:
            raise ValueError(f"{_owner(self)}: stddev must be >= 0, got {stddev}")
        self.stddev = stddev

    def call(self, inputs, training=None):
        def noised():
            return inputs + K.random_normal(K.shape(inputs), mean=0., stddev=self.stddev,
                                            dtype=K.dtype(inputs))
        return K.in_train_phase(noised, inputs, training=training)

    def get_config(self):
        config = super().get_config()
        config['stddev'] = self.stddev
        return config


class GaussianDropout(Layer):
    """Multiply by 1-centred Gaussian noise of standard deviation ``sqrt(rate / (1 - rate))``
    during training; the identity at test time.

    Example:
        >>> y = GaussianDropout(0.2)(x)
    """

    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.rate = _rate(self, rate)

    def call(self, inputs, training=None):
        if 0 < self.rate < 1:
            def noised():
                stddev = float(np.sqrt(self.rate / (1.0 - self.rate)))
                return inputs * K.random_normal(K.shape(inputs), mean=1.0, stddev=stddev,
                                                dtype=K.dtype(inputs))
            return K.in_train_phase(noised, inputs, training=training)
        return inputs

    def get_config(self):
        config = super().get_config()
        config['rate'] = self.rate
        return config


class AlphaDropout(Layer):
    """Dropout that keeps the mean and variance of its inputs (for SELU networks): dropped
    entries are set to SELU's negative saturation value, then an affine correction applied.

    Args:
        rate: the fraction to drop, in [0, 1).
        noise_shape: the shape of the keep mask (None entries follow the input).
        seed: a random seed.

    Example:
        >>> y = AlphaDropout(0.1)(Dense(64, activation='selu')(x))
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate(self, rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self.supports_masking = True

    def call(self, inputs, training=None):
        if 0. < self.rate < 1.:
            def dropped():
                alpha = 1.6732632423543772848170429916717
                scale = 1.0507009873554804934193349852946
                alpha_p = -alpha * scale
                like = _like(inputs, self.noise_shape)
                kept = K.greater_equal(K.random_uniform(K.shape(like), seed=self.seed,
                                                        dtype=K.dtype(inputs)), self.rate)
                kept = K.cast(kept, K.dtype(inputs))
                a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
                b = -a * alpha_p * self.rate
                x = inputs * kept + (1 - kept) * alpha_p
                return a * x + b
            return K.in_train_phase(dropped, inputs, training=training)
        return inputs

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed,
                      noise_shape=None if self.noise_shape is None else list(self.noise_shape))
        return config


class SpatialDropout1D(Dropout):
    """Dropout of whole feature channels of (batch, steps, channels): one keep/drop decision
    per sample and channel, shared by every step.

    Example:
        >>> y = SpatialDropout1D(0.2)(Input(shape=(10, 16)))
    """

    def __init__(self, rate, **kwargs):
        super().__init__(rate, **kwargs)
        self.input_spec = InputSpec(ndim=3)

    def _get_noise_shape(self, inputs):
        return (None, 1, None)

    def call(self, inputs, training=None):
        if 0. < self.rate < 1.:
            def dropped():
                return K.dropout(inputs, self.rate, self._get_noise_shape(inputs),
                                 seed=self.seed)
            return K.in_train_phase(dropped, inputs, training=training)
        return inputs

    def get_config(self):
        config = super().get_config()
        config.pop('noise_shape', None)
        return config


class SpatialDropout2D(SpatialDropout1D):
    """Dropout of whole feature maps of an image batch: one decision per sample and channel.

    Args:
        rate: the fraction of channels to drop.
        data_format: 'channels_last' / 'channels_first' / None.

    Example:
        >>> y = SpatialDropout2D(0.25)(Input(shape=(8, 8, 16)))
    """

    def __init__(self, rate, data_format=None, **kwargs):
        super().__init__(rate, **kwargs)
        self.data_format = _normalize_data_format(data_format, _owner(self))
        self.input_spec = InputSpec(ndim=4)

    def _get_noise_shape(self, inputs):
        if self.data_format == 'channels_first':
            return (None, None, 1, 1)
        return (None, 1, 1, None)

    def get_config(self):
        config = super().get_config()
        config['data_format'] = self.data_format
        return config


class SpatialDropout3D(SpatialDropout1D):
    """Dropout of whole feature volumes of a 3-D batch (batch, dim1, dim2, dim3, channels):
    one decision per sample and channel.

    Args:
        rate: the fraction of channels to drop.
        data_format: 'channels_last' / 'channels_first' / None.

    Example:
        >>> y = SpatialDropout3D(0.25)(Input(shape=(4, 4, 4, 8)))
    """

    def __init__(self, rate, data_format=None, **kwargs):
        super().__init__(rate, **kwargs)
        self.data_format = _normalize_data_format(data_format, _owner(self))
        self.input_spec = InputSpec(ndim=5)

    def _get_noise_shape(self, inputs):
        if self.data_format == 'channels_first':
            return (None, None, 1, 1, 1)
        return (None, 1, 1, 1, None)

    def get_config(self):
        config = super().get_config()
        config['data_format'] = self.data_format
        return config
