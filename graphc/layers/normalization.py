"""BatchNormalization (Keras 2)."""
from __future__ import annotations

from .. import constraints, initializers, regularizers
from .. import backend as K
from ..engine.base_layer import InputSpec, Layer, shape_text

__all__ = ['BatchNormalization']


class BatchNormalization(Layer):
    """Normalise the activations of the previous layer per feature, over each batch.

    During training the output is ``gamma * (x - mean_B) / sqrt(var_B + epsilon) + beta``
    with the batch's statistics, and each training step updates the moving statistics:
    ``moving = moving * momentum + batch_stat * (1 - momentum)`` (the variance unbiased by
    ``n / (n - 1 - epsilon)`` as Keras 2). At inference the moving statistics are used.

    Args:
        axis: the feature axis (e.g. 1 for channels_first images; default -1).
        momentum: of the moving averages (default 0.99).
        epsilon: added to the variance (default 1e-3).
        center: learn an offset ``beta``; scale: learn a factor ``gamma``.
        beta_initializer, gamma_initializer, moving_mean_initializer,
        moving_variance_initializer, beta_regularizer, gamma_regularizer, beta_constraint,
        gamma_constraint: for the weights.
    Weights (in order): gamma, beta (trainable), moving_mean, moving_variance.

    Example:
        >>> y = BatchNormalization()(Conv2D(16, 3)(x))
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer='zeros', gamma_initializer='ones',
                 moving_mean_initializer='zeros', moving_variance_initializer='ones',
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        if not isinstance(axis, int):
            raise ValueError(f"BatchNormalization layer '{self.name}': axis must be an int, "
                             f"got {axis!r}")
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        if self.epsilon <= 0:
            raise ValueError(f"BatchNormalization layer '{self.name}': epsilon must be > 0, "
                             f"got {epsilon}")
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def build(self, input_shape):
        ndim = len(input_shape)
        if not -ndim <= self.axis < ndim or self.axis % ndim == 0:
            raise ValueError(f"BatchNormalization layer '{self.name}': axis {self.axis} is not "
                             f"a feature axis of the input {shape_text(tuple(input_shape))}")
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(f"BatchNormalization layer '{self.name}': axis {self.axis} of the "
                             f"input should have a defined dimension, but the layer received "
                             f"an input with shape {shape_text(tuple(input_shape))}")
        self.input_spec = InputSpec(ndim=ndim, axes={self.axis: dim})
        shape = (dim,)
        self.gamma = self.add_weight('gamma', shape, initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight('beta', shape, initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint) if self.center else None
        self.moving_mean = self.add_weight('moving_mean', shape,
                                           initializer=self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight('moving_variance', shape,
                                               initializer=self.moving_variance_initializer,
                                               trainable=False)
        self.built = True

    def call(self, inputs, training=None):
        input_shape = K.int_shape(inputs)
        ndim = len(input_shape)
        axis = self.axis % ndim
        reduction_axes = [i for i in range(ndim) if i != axis]
        broadcast_shape = [1] * ndim
        broadcast_shape[axis] = input_shape[axis]
        needs_broadcasting = axis != ndim - 1

        def bcast(p):
            if p is None or not needs_broadcasting:
                return p
            return K.reshape(p, broadcast_shape)

        def normalize_inference():
            return K.batch_normalization(inputs, bcast(self.moving_mean),
                                         bcast(self.moving_variance), bcast(self.beta),
                                         bcast(self.gamma), axis=axis, epsilon=self.epsilon)

        if training in (0, False):
            return normalize_inference()

        normed, mean, variance = K.normalize_batch_in_training(
            inputs, self.gamma, self.beta, reduction_axes, epsilon=self.epsilon)
        # The moving variance estimates the population variance: unbias the batch variance.
        shape = K.shape(inputs)
        sample_size = None
        for a in reduction_axes:
            n = input_shape[a] if input_shape[a] is not None else shape[a]
            sample_size = n if sample_size is None else sample_size * n
        if isinstance(sample_size, int):
            factor = sample_size / (sample_size - (1.0 + self.epsilon)) if sample_size > 1 \
                else 1.0
            variance = variance * factor
        else:
            sample_size = K.cast(sample_size, K.dtype(inputs))
            variance = variance * (sample_size / (sample_size - (1.0 + self.epsilon)))
        self.add_update([K.moving_average_update(self.moving_mean, mean, self.momentum),
                         K.moving_average_update(self.moving_variance, variance,
                                                 self.momentum)],
                        inputs)
        return K.in_train_phase(normed, normalize_inference, training=training)

    def get_config(self):
        config = super().get_config()
        config.update(
            axis=self.axis, momentum=self.momentum, epsilon=self.epsilon, center=self.center,
            scale=self.scale,
            beta_initializer=initializers.serialize(self.beta_initializer),
            gamma_initializer=initializers.serialize(self.gamma_initializer),
            moving_mean_initializer=initializers.serialize(self.moving_mean_initializer),
            moving_variance_initializer=initializers.serialize(
                self.moving_variance_initializer),
            beta_regularizer=regularizers.serialize(self.beta_regularizer),
            gamma_regularizer=regularizers.serialize(self.gamma_regularizer),
            beta_constraint=constraints.serialize(self.beta_constraint),
            gamma_constraint=constraints.serialize(self.gamma_constraint))
        return config
