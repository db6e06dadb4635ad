"""Advanced activation layers (Keras 2): LeakyReLU, PReLU, ELU, ThresholdedReLU, Softmax, ReLU.
"""
from __future__ import annotations

from .. import constraints, initializers, regularizers
from .. import backend as K
from ..engine.base_layer import InputSpec, Layer

__all__ = ['LeakyReLU', 'PReLU', 'ELU', 'ThresholdedReLU', 'Softmax', 'ReLU']


class LeakyReLU(Layer):
    """``x`` for ``x >= 0``, ``alpha * x`` otherwise.

    Args:
        alpha: the slope for negative inputs (default 0.3).

    Example:
        >>> y = LeakyReLU(alpha=0.1)(x)
    """

    def __init__(self, alpha=0.3, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha = K.cast_to_floatx(alpha)

    def call(self, inputs):
        return K.relu(inputs, alpha=float(self.alpha))

    def get_config(self):
        config = super().get_config()
        config['alpha'] = float(self.alpha)
        return config


class PReLU(Layer):
    """Parametric ReLU: ``x`` for ``x >= 0``, ``alpha * x`` otherwise, with a learned
    ``alpha`` per input element.

    Args:
        alpha_initializer, alpha_regularizer, alpha_constraint: for the weight ``alpha``.
        shared_axes: input axes (1 = the first axis after the batch axis) along which
            ``alpha`` is shared, e.g. ``[1, 2]`` for one alpha per channel of
            (batch, rows, cols, channels) images.

    Example:
        >>> y = PReLU(shared_axes=[1, 2])(Input(shape=(8, 8, 3)))
    """

    def __init__(self, alpha_initializer='zeros', alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (list, tuple)):
            self.shared_axes = [int(a) for a in shared_axes]
        else:
            self.shared_axes = [int(shared_axes)]

    def build(self, input_shape):
        param_shape = list(input_shape[1:])
        if self.shared_axes is not None:
            for ax in self.shared_axes:
                if not 1 <= ax < len(input_shape):
                    raise ValueError(f"PReLU layer '{self.name}': shared_axes {self.shared_axes} "
                                     f"must be input axes 1..{len(input_shape) - 1}")
                param_shape[ax - 1] = 1
        if any(d is None for d in param_shape):
            raise ValueError(f"PReLU layer '{self.name}': every non-shared input axis needs a "
                             f"static size, got input shape {tuple(input_shape)}")
        self.param_shape = tuple(param_shape)
        self.alpha = self.add_weight('alpha', self.param_shape,
                                     initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        axes = {}
        if self.shared_axes:
            for i in range(1, len(input_shape)):
                if i not in self.shared_axes:
                    axes[i] = input_shape[i]
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)
        self.built = True

    def call(self, inputs, mask=None):
        pos = K.relu(inputs)
        neg = -self.alpha * K.relu(-inputs)
        return pos + neg

    def get_config(self):
        config = super().get_config()
        config.update(alpha_initializer=initializers.serialize(self.alpha_initializer),
                      alpha_regularizer=regularizers.serialize(self.alpha_regularizer),
                      alpha_constraint=constraints.serialize(self.alpha_constraint),
                      shared_axes=self.shared_axes)
        return config


class ELU(Layer):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise.

    Example:
        >>> y = ELU(alpha=1.0)(x)
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha = K.cast_to_floatx(alpha)

    def call(self, inputs):
        return K.elu(inputs, float(self.alpha))

    def get_config(self):
        config = super().get_config()
        config['alpha'] = float(self.alpha)
        return config


class ThresholdedReLU(Layer):
    """``x`` for ``x > theta``, 0 otherwise.

    Example:
        >>> y = ThresholdedReLU(theta=1.0)(x)
    """

    def __init__(self, theta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.theta = K.cast_to_floatx(theta)

    def call(self, inputs, mask=None):
        return inputs * K.cast(K.greater(inputs, float(self.theta)), K.dtype(inputs))

    def get_config(self):
        config = super().get_config()
        config['theta'] = float(self.theta)
        return config


class Softmax(Layer):
    """Softmax along ``axis`` (default -1).

    Example:
        >>> y = Softmax(axis=1)(x)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.axis = int(axis)

    def call(self, inputs):
        return K.softmax(inputs, axis=self.axis)

    def get_config(self):
        config = super().get_config()
        config['axis'] = self.axis
        return config


class ReLU(Layer):
    """Rectified linear unit with an optional cap, slope and threshold (Keras 2.2):
    ``min(x, max_value)`` for ``x >= threshold``, ``negative_slope * (x - threshold)``
    otherwise.

    Example:
        >>> y = ReLU(max_value=6.0)(x)
    """

    def __init__(self, max_value=None, negative_slope=0., threshold=0., **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0.:
            raise ValueError(f"ReLU layer '{self.name}': max_value must be >= 0, got "
                             f"{max_value}")
        if negative_slope < 0.:
            raise ValueError(f"ReLU layer '{self.name}': negative_slope must be >= 0, got "
                             f"{negative_slope}")
        self.supports_masking = True
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope = float(negative_slope)
        self.threshold = float(threshold)

    def call(self, inputs):
        return K.relu(inputs, alpha=self.negative_slope, max_value=self.max_value,
                      threshold=self.threshold)

    def get_config(self):
        config = super().get_config()
        config.update(max_value=self.max_value, negative_slope=self.negative_slope,
                      threshold=self.threshold)
        return config
