"""The deprecated Keras 1 layers that Keras 2.2 still ships (Keras 2's
``keras.legacy.layers``; also importable from ``graphc.layers``): ``Highway``,
``MaxoutDense`` and the ``AtrousConvolution1D`` / ``AtrousConvolution2D`` shortcuts for a
dilated ``Conv1D`` / ``Conv2D``. Their arguments keep Keras 1's names (``init``,
``W_regularizer``, ``bias`` ...). Each warns that it is deprecated.

Example:
    >>> y = Highway(activation='relu')(Input(shape=(8,)))
"""
from __future__ import annotations

import warnings

from .. import activations, constraints, initializers, regularizers
from .. import backend as K
from ..engine.base_layer import InputSpec, Layer, shape_text

__all__ = ['MaxoutDense', 'Highway', 'AtrousConvolution1D', 'AtrousConvolution2D']


def _first_layer(kwargs, input_dim):
    if input_dim is not None and 'input_shape' not in kwargs:
        kwargs['input_shape'] = (int(input_dim),)
    return kwargs


def _ser(module, obj):
    return module.serialize(obj) if obj is not None else None


def _input_dim(layer, input_shape):
    if input_shape[-1] is None:
        raise ValueError(f"{type(layer).__name__} layer '{layer.name}': the last axis of the "
                         f"input must be known, got input shape {shape_text(input_shape)}")
    return int(input_shape[-1])


class MaxoutDense(Layer):
    """The element-wise maximum of ``nb_feature`` affine maps of a 2-D input (a maxout
    layer): ``max_k (x . W[k] + b[k])``, a linear layer with a learned convex piecewise-linear
    activation.

    Args:
        output_dim: the output size.
        nb_feature: the number of affine maps.
        init: the initializer of ``W`` (shape ``(nb_feature, input_dim, output_dim)``).
        weights: initial weights ``[W, b]``.
        W_regularizer, b_regularizer, activity_regularizer: penalties.
        W_constraint, b_constraint: constraints.
        bias: whether to add ``b`` (shape ``(nb_feature, output_dim)``).
        input_dim: the input size, for the first layer of a model.

    Example:
        >>> y = MaxoutDense(4, nb_feature=3)(Input(shape=(8,)))
    """

    def __init__(self, output_dim, nb_feature=4, init='glorot_uniform', weights=None,
                 W_regularizer=None, b_regularizer=None, activity_regularizer=None,
                 W_constraint=None, b_constraint=None, bias=True, input_dim=None, **kwargs):
        warnings.warn('The `MaxoutDense` layer is deprecated (Keras 1); use Dense layers and '
                      'a maximum.', UserWarning, stacklevel=2)
        if weights is not None:
            kwargs['weights'] = weights
        super().__init__(**_first_layer(kwargs, input_dim))
        self.output_dim = int(output_dim)
        self.nb_feature = int(nb_feature)
        if self.output_dim <= 0 or self.nb_feature <= 0:
            raise ValueError(f"MaxoutDense '{self.name}': output_dim and nb_feature must be "
                             f"positive, got {output_dim!r}, {nb_feature!r}")
        self.init = initializers.get(init)
        self.W_regularizer = regularizers.get(W_regularizer)
        self.b_regularizer = regularizers.get(b_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.W_constraint = constraints.get(W_constraint)
        self.b_constraint = constraints.get(b_constraint)
        self.bias = bool(bias)
        self.input_dim = input_dim
        self.input_spec = InputSpec(ndim=2)

    def build(self, input_shape):
        input_dim = _input_dim(self, input_shape)
        self.input_spec = InputSpec(ndim=2, axes={-1: input_dim})
        self.W = self.add_weight(name='W', shape=(self.nb_feature, input_dim, self.output_dim),
                                 initializer=self.init, regularizer=self.W_regularizer,
                                 constraint=self.W_constraint)
        self.b = self.add_weight(name='b', shape=(self.nb_feature, self.output_dim),
                                 initializer='zeros', regularizer=self.b_regularizer,
                                 constraint=self.b_constraint) if self.bias else None
        self.built = True

    def call(self, x):
        n_in = int(self.W.shape[1])
        # (nb_feature, in, out) -> (in, nb_feature * out): one product for every feature
        kernel = K.reshape(K.permute_dimensions(self.W, (1, 0, 2)),
                           (n_in, self.nb_feature * self.output_dim))
        out = K.reshape(K.dot(x, kernel), (-1, self.nb_feature, self.output_dim))
        if self.bias:
            out = out + K.expand_dims(self.b, 0)
        return K.max(out, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_dim)

    def get_config(self):
        return {**super().get_config(), 'output_dim': self.output_dim,
                'nb_feature': self.nb_feature, 'init': initializers.serialize(self.init),
                'W_regularizer': _ser(regularizers, self.W_regularizer),
                'b_regularizer': _ser(regularizers, self.b_regularizer),
                'activity_regularizer': _ser(regularizers, self.activity_regularizer),
                'W_constraint': _ser(constraints, self.W_constraint),
                'b_constraint': _ser(constraints, self.b_constraint),
                'bias': self.bias, 'input_dim': self.input_dim}


class Highway(Layer):
    """A highway layer: ``t * activation(x . W + b) + (1 - t) * x`` with the transform gate
    ``t = sigmoid(x . W_carry + b_carry)``; input and output have the same size.

    Args:
        init: the initializer of ``W`` and ``W_carry`` (shape ``(input_dim, input_dim)``).
        activation: the activation of the transform (None: linear).
        weights: initial weights ``[W, W_carry, b, b_carry]``.
        W_regularizer, b_regularizer, activity_regularizer: penalties.
        W_constraint, b_constraint: constraints.
        bias: whether to add ``b`` and ``b_carry``.
        input_dim: the input size, for the first layer of a model.

    Example:
        >>> y = Highway(activation='relu')(Input(shape=(8,)))
    """

    def __init__(self, init='glorot_uniform', activation=None, weights=None,
                 W_regularizer=None, b_regularizer=None, activity_regularizer=None,
                 W_constraint=None, b_constraint=None, bias=True, input_dim=None, **kwargs):
        warnings.warn('The `Highway` layer is deprecated (Keras 1).', UserWarning, stacklevel=2)
        if kwargs.pop('transform_bias', None) is not None:
            warnings.warn('The `transform_bias` argument of Highway was removed and is ignored.',
                          UserWarning, stacklevel=2)
        if weights is not None:
            kwargs['weights'] = weights
        super().__init__(**_first_layer(kwargs, input_dim))
        self.init = initializers.get(init)
        self.activation = activations.get(activation)
        self.W_regularizer = regularizers.get(W_regularizer)
        self.b_regularizer = regularizers.get(b_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.W_constraint = constraints.get(W_constraint)
        self.b_constraint = constraints.get(b_constraint)
        self.bias = bool(bias)
        self.input_dim = input_dim
        self.input_spec = InputSpec(ndim=2)

    def build(self, input_shape):
        n = _input_dim(self, input_shape)
        self.input_spec = InputSpec(ndim=2, axes={-1: n})

        def weight(name, shape, init, reg, con):
            return self.add_weight(name=name, shape=shape, initializer=init, regularizer=reg,
                                   constraint=con)
        self.W = weight('W', (n, n), self.init, self.W_regularizer, self.W_constraint)
        self.W_carry = weight('W_carry', (n, n), self.init, None, None)
        if self.bias:
            self.b = weight('b', (n,), 'zeros', self.b_regularizer, self.b_constraint)
            self.b_carry = weight('b_carry', (n,), 'ones', None, None)
        else:
            self.b = self.b_carry = None
        self.built = True

    def call(self, x):
        gate = K.dot(x, self.W_carry)
        hidden = K.dot(x, self.W)
        if self.bias:
            gate = gate + self.b_carry
            hidden = hidden + self.b
        gate = K.sigmoid(gate)
        if self.activation is not None:
            hidden = self.activation(hidden)
        return hidden * gate + x * (1. - gate)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), 'init': initializers.serialize(self.init),
                'activation': activations.serialize(self.activation),
                'W_regularizer': _ser(regularizers, self.W_regularizer),
                'b_regularizer': _ser(regularizers, self.b_regularizer),
                'activity_regularizer': _ser(regularizers, self.activity_regularizer),
                'W_constraint': _ser(constraints, self.W_constraint),
                'b_constraint': _ser(constraints, self.b_constraint),
                'bias': self.bias, 'input_dim': self.input_dim}


def AtrousConvolution1D(*args, **kwargs):   # noqa: N802 - Keras's name
    """Keras 1's dilated 1-D convolution: ``Conv1D(..., dilation_rate=atrous_rate)``."""
    from ..layers.convolutional import Conv1D
    kwargs['dilation_rate'] = kwargs.pop('atrous_rate', kwargs.get('dilation_rate', 1))
    warnings.warn('The `AtrousConvolution1D` layer is deprecated; use `Conv1D` with the '
                  '`dilation_rate` argument.', UserWarning, stacklevel=2)
    return Conv1D(*args, **kwargs)


def AtrousConvolution2D(*args, **kwargs):   # noqa: N802 - Keras's name
    """Keras 1's dilated 2-D convolution: ``Conv2D(..., dilation_rate=atrous_rate)``."""
    from ..layers.convolutional import Conv2D
    kwargs['dilation_rate'] = kwargs.pop('atrous_rate', kwargs.get('dilation_rate', (1, 1)))
    warnings.warn('The `AtrousConvolution2D` layer is deprecated; use `Conv2D` with the '
                  '`dilation_rate` argument.', UserWarning, stacklevel=2)
    return Conv2D(*args, **kwargs)
