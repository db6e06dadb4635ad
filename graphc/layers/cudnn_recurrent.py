"""Keras 2's ``keras.layers.cudnn_recurrent``: ``CuDNNLSTM`` and ``CuDNNGRU``, on the CPU.

They compute what NVIDIA's CuDNN computes, with Keras 2.2.4's weights and weight layout, so
models written for a GPU train and predict here and their HDF5 files load unchanged:

* ``CuDNNLSTM`` is an LSTM with ``sigmoid`` gates and ``tanh`` (no choice), and two biases
  per gate (input and recurrent; only their sum matters);
* ``CuDNNGRU`` is a GRU with the reset gate applied after the recurrent product (Keras's
  ``GRU(reset_after=True, recurrent_activation='sigmoid')``).

The weights are kept as Keras 2 stores them for CuDNN: kernel (input_dim, n * units),
recurrent_kernel (units, n * units), bias (2 * n * units,) [input biases, recurrent biases],
n = 4 (gates i, f, c, o) or 3 (z, r, h); each gate's block of the kernel holds CuDNN's
(units, input_dim) matrix in row-major order, each gate's block of the recurrent kernel is
CuDNN's matrix transposed. The step converts them to the generic layout symbolically (a
reshape and a transpose, before the loop) and runs graphc's compiled LSTM / GRU loop.
Loading the weights of a generic LSTM / GRU(reset_after=True) into these layers, and the
reverse, converts the layout (``graphc.saving.preprocess_weights_for_loading``).

No option needs CUDA: nothing is refused for lack of a GPU. As in Keras, there is no
dropout, no masking and no unrolling.
"""
from __future__ import annotations

import numpy as np

from .. import backend as K
from .. import constraints, initializers, regularizers
from ..engine.base_layer import shape_text
from .recurrent import GRUCell, LSTMCell, _CellLayer, _owner

__all__ = ['CuDNNLSTM', 'CuDNNGRU']


def _generic_kernel(kernel, n_gates, units, input_dim):
    """Keras's CuDNN kernel (input_dim, n * units) -> the generic (input_dim, n * units)."""
    blocks = [K.transpose(K.reshape(kernel[:, g * units:(g + 1) * units], (units, input_dim)))
              for g in range(n_gates)]
    return K.concatenate(blocks, axis=1)


def _generic_recurrent(recurrent, n_gates, units):
    blocks = [K.transpose(recurrent[:, g * units:(g + 1) * units]) for g in range(n_gates)]
    return K.concatenate(blocks, axis=1)


class _CuDNNCellMixin:
    """Builds CuDNN-layout weights; ``use_generic_weights()`` points ``kernel``,
    ``recurrent_kernel`` and ``bias`` (what the generic cell computes with) at their
    generic-layout views."""

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"{_owner(self)}: the last (feature) axis of the input must be "
                             f"static, got input shape {shape_text(tuple(input_shape))}")
        self.input_dim = int(input_dim)
        width = self.n_gates * self.units
        self.cudnn_kernel = self.add_weight('kernel', (self.input_dim, width),
                                            initializer=self.kernel_initializer,
                                            regularizer=self.kernel_regularizer,
                                            constraint=self.kernel_constraint)
        self.cudnn_recurrent_kernel = self.add_weight(
            'recurrent_kernel', (self.units, width), initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint)
        self.cudnn_bias = self.add_weight('bias', (2 * width,),
                                          initializer=self._cudnn_bias_initializer(),
                                          regularizer=self.bias_regularizer,
                                          constraint=self.bias_constraint)
        self.use_generic_weights()
        self.built = True

    def _cudnn_bias_initializer(self):
        return self.bias_initializer

    def use_generic_weights(self):
        n, u = self.n_gates, self.units
        self.kernel = _generic_kernel(self.cudnn_kernel, n, u, self.input_dim)
        self.recurrent_kernel = _generic_recurrent(self.cudnn_recurrent_kernel, n, u)
        self.bias = self._generic_bias(self.cudnn_bias)


class _CuDNNLSTMCell(_CuDNNCellMixin, LSTMCell):

    def _cudnn_bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, units = self.bias_initializer, self.units

        # Keras 2.2.4: zeros, except the recurrent forget bias (ones) and the recurrent
        # c and o biases (the bias initializer)
        def bias_initializer(shape, dtype=None):
            dtype = dtype or K.floatx()
            return np.concatenate([np.zeros((units * 5,), dtype=dtype),
                                   np.ones((units,), dtype=dtype),
                                   np.asarray(base((units * 2,), dtype=dtype), dtype=dtype)])
        return bias_initializer

    def _generic_bias(self, bias):
        width = self.n_gates * self.units
        return bias[:width] + bias[width:]


class _CuDNNGRUCell(_CuDNNCellMixin, GRUCell):

    def _generic_bias(self, bias):
        return K.reshape(bias, (2, self.n_gates * self.units))


class _CuDNNRNN(_CellLayer):
    """What CuDNNLSTM and CuDNNGRU share: no masking, CuDNN-layout weights."""

    def __init__(self, cell_kwargs, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, activity_regularizer=None, **kwargs):
        for name in ('unroll', 'dropout', 'recurrent_dropout', 'implementation'):
            if name in kwargs:
                raise TypeError(f"{type(self).__name__}: Keras's CuDNN layers have no "
                                f"`{name}` argument (use LSTM / GRU for it)")
        rnn_kwargs = dict(return_sequences=return_sequences, return_state=return_state,
                          go_backwards=go_backwards, stateful=stateful,
                          activity_regularizer=activity_regularizer)
        super().__init__(cell_kwargs, rnn_kwargs, **kwargs)
        self.supports_masking = False

    def call(self, inputs, mask=None, training=None, initial_state=None):
        if mask is not None:
            raise ValueError(f"{_owner(self)}: CuDNN layers do not support masking (as in "
                             f"Keras); use LSTM / GRU for masked sequences")
        self.cell.use_generic_weights()
        return super().call(inputs, mask=None, training=training,
                            initial_state=initial_state)

    def compute_mask(self, inputs, mask=None):
        return [None] * (1 + len(self.states)) if self.return_state else None

    def get_config(self):
        cell = self.cell
        config = {
            'units': cell.units,
            'kernel_initializer': initializers.serialize(cell.kernel_initializer),
            'recurrent_initializer': initializers.serialize(cell.recurrent_initializer),
            'bias_initializer': initializers.serialize(cell.bias_initializer),
            'kernel_regularizer': regularizers.serialize(cell.kernel_regularizer),
            'recurrent_regularizer': regularizers.serialize(cell.recurrent_regularizer),
            'bias_regularizer': regularizers.serialize(cell.bias_regularizer),
            'activity_regularizer': regularizers.serialize(self.activity_regularizer),
            'kernel_constraint': constraints.serialize(cell.kernel_constraint),
            'recurrent_constraint': constraints.serialize(cell.recurrent_constraint),
            'bias_constraint': constraints.serialize(cell.bias_constraint),
        }
        base = super(_CellLayer, self).get_config()
        base.pop('cell')
        base.pop('unroll', None)
        return dict(list(base.items()) + list(config.items()))

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


class CuDNNLSTM(_CuDNNRNN):
    """An LSTM with CuDNN's arithmetic (Keras 2), running on the CPU.

    ``i, f, o = sigmoid(...)``, ``c' = f * c + i * tanh(...)``, ``h' = o * tanh(c')``, with an
    input and a recurrent bias per gate.

    Args:
        units: the output size.
        kernel_initializer ('glorot_uniform'), recurrent_initializer ('orthogonal'),
        bias_initializer ('zeros'), unit_forget_bias (True: the recurrent forget bias starts
        at 1), kernel_/recurrent_/bias_/activity_regularizer,
        kernel_/recurrent_/bias_constraint: as Keras 2.
        return_sequences, return_state, go_backwards, stateful: see RNN.
    Weights: kernel (input_dim, 4 * units), recurrent_kernel (units, 4 * units),
        bias (8 * units,), in Keras 2's CuDNN layout (see the module docstring).

    Example:
        >>> model = Sequential([CuDNNLSTM(32, input_shape=(10, 8)), Dense(1)])
    """

    _cell_class = _CuDNNLSTMCell

    def __init__(self, units, kernel_initializer='glorot_uniform',
                 recurrent_initializer='orthogonal', bias_initializer='zeros',
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, **kwargs):
        cell_kwargs = dict(units=units, activation='tanh', recurrent_activation='sigmoid',
                           kernel_initializer=kernel_initializer,
                           recurrent_initializer=recurrent_initializer,
                           bias_initializer=bias_initializer,
                           unit_forget_bias=unit_forget_bias,
                           kernel_regularizer=kernel_regularizer,
                           recurrent_regularizer=recurrent_regularizer,
                           bias_regularizer=bias_regularizer,
                           kernel_constraint=kernel_constraint,
                           recurrent_constraint=recurrent_constraint,
                           bias_constraint=bias_constraint)
        super().__init__(cell_kwargs, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, activity_regularizer=activity_regularizer, **kwargs)

    def get_config(self):
        config = super().get_config()
        config['unit_forget_bias'] = self.cell.unit_forget_bias
        return config


class CuDNNGRU(_CuDNNRNN):
    """A GRU with CuDNN's arithmetic (Keras 2), running on the CPU.

    ``z, r = sigmoid(x W + b_W + h U + b_U)``, ``hh = tanh(x W_h + b_Wh + r * (h U_h + b_Uh))``,
    ``h' = z * h + (1 - z) * hh``: Keras's ``GRU(reset_after=True,
    recurrent_activation='sigmoid')``.

    Args:
        units: the output size.
        kernel_initializer ('glorot_uniform'), recurrent_initializer ('orthogonal'),
        bias_initializer ('zeros'), kernel_/recurrent_/bias_/activity_regularizer,
        kernel_/recurrent_/bias_constraint: as Keras 2.
        return_sequences, return_state, go_backwards, stateful: see RNN.
    Weights: kernel (input_dim, 3 * units), recurrent_kernel (units, 3 * units),
        bias (6 * units,), in Keras 2's CuDNN layout (see the module docstring).

    Example:
        >>> model = Sequential([CuDNNGRU(32, input_shape=(10, 8)), Dense(1)])
    """

    _cell_class = _CuDNNGRUCell

    def __init__(self, units, kernel_initializer='glorot_uniform',
                 recurrent_initializer='orthogonal', bias_initializer='zeros',
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, **kwargs):
        cell_kwargs = dict(units=units, activation='tanh', recurrent_activation='sigmoid',
                           reset_after=True, kernel_initializer=kernel_initializer,
                           recurrent_initializer=recurrent_initializer,
                           bias_initializer=bias_initializer,
                           kernel_regularizer=kernel_regularizer,
                           recurrent_regularizer=recurrent_regularizer,
                           bias_regularizer=bias_regularizer,
                           kernel_constraint=kernel_constraint,
                           recurrent_constraint=recurrent_constraint,
                           bias_constraint=bias_constraint)
        super().__init__(cell_kwargs, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, activity_regularizer=activity_regularizer, **kwargs)
