"""Keras 2's ``keras.layers.convolutional_recurrent``: ``ConvRNN2D``, ``ConvLSTM2DCell`` and
``ConvLSTM2D`` (Shi et al. 2015), Keras 2.2.4's arguments, defaults, formulas and weights.

An LSTM whose input and recurrent transformations are 2-D convolutions: the input is a
sequence of images ``(samples, time, rows, cols, channels)`` (``channels_last``) or
``(samples, time, channels, rows, cols)`` (``channels_first``), the states ``h`` and ``c`` are
images with ``filters`` channels. The sequence runs as one ``scan`` loop (``K.rnn``), whose
step holds the two convolutions (``K.conv2d``): compiled to native code and differentiated as
the reversed loop, like the other recurrent layers.
"""
from __future__ import annotations

import numpy as np

from .. import activations, regularizers
from .. import backend as K
from ..engine.base_layer import InputSpec, Layer, shape_text
from ..utils import conv_utils
from ..utils.generic_utils import to_list
from .recurrent import (RNN, _check_rate, _forget_bias_initializer, _generate_dropout_mask,
                        _init_weight_args, _owner, _weight_args_config)

__all__ = ['ConvRNN2D', 'ConvLSTM2DCell', 'ConvLSTM2D']


def _spatial(shape, data_format):
    """(rows, cols) of a per-step image shape (samples, ...) in ``data_format``."""
    return tuple(shape[2:4]) if data_format == 'channels_first' else tuple(shape[1:3])


class ConvLSTM2DCell(Layer):
    """The cell of ConvLSTM2D: one step on images (Keras 2.2.4's formulas)::

        i = recurrent_activation(conv(x, W_i) + b_i + conv(h, U_i))
        f = recurrent_activation(conv(x, W_f) + b_f + conv(h, U_f))
        c' = f * c + i * activation(conv(x, W_c) + b_c + conv(h, U_c))
        o = recurrent_activation(conv(x, W_o) + b_o + conv(h, U_o))
        h' = o * activation(c')

    The input convolutions use ``strides``, ``padding`` and ``dilation_rate``; the recurrent
    ones stride 1 and 'same' padding.

    Args:
        filters: the number of output channels.
        kernel_size: an int or a pair.
        strides (1), padding ('valid' or 'same'), data_format (the image_data_format
            setting), dilation_rate (1): of the input convolution, as Conv2D.
        activation ('tanh'), recurrent_activation ('hard_sigmoid'), use_bias (True),
        kernel_initializer ('glorot_uniform'), recurrent_initializer ('orthogonal'),
        bias_initializer ('zeros'), unit_forget_bias (True: the forget bias starts at 1),
        kernel_/recurrent_/bias_regularizer, kernel_/recurrent_/bias_constraint: as Keras 2.
        dropout: the fraction of the input to drop; recurrent_dropout: of the state ``h``
            (masks drawn once per sequence, one per gate).
    Weights: kernel (kh, kw, channels, 4 * filters), recurrent_kernel (kh, kw, filters,
        4 * filters), bias (4 * filters,), gates in the order i, f, c, o.

    Example:
        >>> y = ConvRNN2D(ConvLSTM2DCell(4, 3, padding='same'))(Input(shape=(5, 8, 8, 1)))
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding='valid', data_format=None,
                 dilation_rate=(1, 1), activation='tanh', recurrent_activation='hard_sigmoid',
                 use_bias=True, kernel_initializer='glorot_uniform',
                 recurrent_initializer='orthogonal', bias_initializer='zeros',
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0., recurrent_dropout=0., **kwargs):
        super().__init__(**kwargs)
        owner = _owner(self)
        if not isinstance(filters, (int, np.integer)) or filters < 1:
            raise ValueError(f"{owner}: `filters` must be a positive int, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = conv_utils.normalize_tuple(kernel_size, 2, 'kernel_size')
        self.strides = conv_utils.normalize_tuple(strides, 2, 'strides')
        self.padding = conv_utils.normalize_padding(padding)
        if self.padding not in ('valid', 'same'):
            raise ValueError(f"{owner}: `padding` must be 'valid' or 'same', got {padding!r}")
        self.data_format = K.normalize_data_format(data_format)
        self.dilation_rate = conv_utils.normalize_tuple(dilation_rate, 2, 'dilation_rate')
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{owner}: strides > 1 cannot be combined with dilation_rate > 1 "
                             f"(got strides={self.strides}, dilation_rate="
                             f"{self.dilation_rate})")
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        _init_weight_args(self, kernel_initializer=kernel_initializer,
                          recurrent_initializer=recurrent_initializer,
                          bias_initializer=bias_initializer,
                          kernel_regularizer=kernel_regularizer,
                          recurrent_regularizer=recurrent_regularizer,
                          bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                          recurrent_constraint=recurrent_constraint,
                          bias_constraint=bias_constraint)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.dropout = _check_rate(owner, 'dropout', dropout)
        self.recurrent_dropout = _check_rate(owner, 'recurrent_dropout', recurrent_dropout)
        self.state_size = (self.filters, self.filters)
        self._dropout_mask = None
        self._recurrent_dropout_mask = None

    @property
    def _channel_axis(self):
        return 1 if self.data_format == 'channels_first' else -1

    def build(self, input_shape):
        input_dim = input_shape[1 if self.data_format == 'channels_first' else -1]
        if input_dim is None:
            raise ValueError(f"{_owner(self)}: the channel axis of the input must be static, "
                             f"got input shape {shape_text(tuple(input_shape))}")
        width = 4 * self.filters
        self.kernel = self.add_weight('kernel', self.kernel_size + (int(input_dim), width),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            'recurrent_kernel', self.kernel_size + (self.filters, width),
            initializer=self.recurrent_initializer, regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            initializer = self.bias_initializer
            if self.unit_forget_bias:
                initializer = _forget_bias_initializer(self.bias_initializer, self.filters)
            self.bias = self.add_weight('bias', (width,), initializer=initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True

    def _uses_dropout(self):
        return 0. < self.dropout < 1. or 0. < self.recurrent_dropout < 1.

    def _reset_masks(self):
        self._dropout_mask = None
        self._recurrent_dropout_mask = None

    def _gate(self, w, g):
        f = self.filters
        return w[..., g * f:(g + 1) * f]

    def _channels(self, x, g):
        f = self.filters
        if self.data_format == 'channels_first':
            return x[:, g * f:(g + 1) * f]
        return x[..., g * f:(g + 1) * f]

    def input_conv(self, x, w, b=None):
        y = K.conv2d(x, w, strides=self.strides, padding=self.padding,
                     data_format=self.data_format, dilation_rate=self.dilation_rate)
        return y if b is None else K.bias_add(y, b, data_format=self.data_format)

    def recurrent_conv(self, h, w):
        return K.conv2d(h, w, strides=(1, 1), padding='same', data_format=self.data_format)

    def _per_gate(self, x, masks, conv, kernel, bias=None):
        """The four gates' convolutions of ``x``: one convolution with all 4 * filters output
        channels when no dropout mask applies, else one per gate on its masked input."""
        if masks is None:
            y = conv(x, kernel, bias) if bias is not None else conv(x, kernel)
            return [self._channels(y, g) for g in range(4)]
        out = []
        for g in range(4):
            args = (x * masks[g], self._gate(kernel, g))
            if bias is not None:
                args += (bias[g * self.filters:(g + 1) * self.filters],)
            out.append(conv(*args))
        return out

    def call(self, inputs, states, training=None):
        h_tm1, c_tm1 = states[0], states[1]
        if 0. < self.dropout < 1. and self._dropout_mask is None:
            self._dropout_mask = _generate_dropout_mask(K.ones_like(inputs), self.dropout,
                                                        training, 4)
        if 0. < self.recurrent_dropout < 1. and self._recurrent_dropout_mask is None:
            self._recurrent_dropout_mask = _generate_dropout_mask(
                K.ones_like(h_tm1), self.recurrent_dropout, training, 4)
        x_i, x_f, x_c, x_o = self._per_gate(inputs, self._dropout_mask, self.input_conv,
                                            self.kernel, self.bias)
        h_i, h_f, h_c, h_o = self._per_gate(h_tm1, self._recurrent_dropout_mask,
                                            self.recurrent_conv, self.recurrent_kernel)
        act, rec_act = self.activation, self.recurrent_activation
        i = rec_act(x_i + h_i)
        f = rec_act(x_f + h_f)
        c = f * c_tm1 + i * act(x_c + h_c)
        o = rec_act(x_o + h_o)
        h = o * act(c)
        if self._uses_dropout() and training is None:
            h._uses_learning_phase = True
        return h, [h, c]

    def get_config(self):
        config = {
            'filters': self.filters,
            'kernel_size': self.kernel_size,
            'strides': self.strides,
            'padding': self.padding,
            'data_format': self.data_format,
            'dilation_rate': self.dilation_rate,
            'activation': activations.serialize(self.activation),
            'recurrent_activation': activations.serialize(self.recurrent_activation),
            'use_bias': self.use_bias,
            **_weight_args_config(self, 'initializer'),
            'unit_forget_bias': self.unit_forget_bias,
            **_weight_args_config(self, 'regularizer'),
            **_weight_args_config(self, 'constraint'),
            'dropout': self.dropout,
            'recurrent_dropout': self.recurrent_dropout,
        }
        base = super().get_config()
        return dict(list(base.items()) + list(config.items()))


class ConvRNN2D(RNN):
    """A recurrent layer over sequences of images, with a convolutional cell (Keras 2.2.4).

    Args:
        cell: a cell with ``filters``, ``kernel_size``, ``strides``, ``padding``,
            ``data_format``, ``dilation_rate`` and ``state_size`` (e.g. ConvLSTM2DCell).
            A list of cells is refused (Keras cannot stack convolutional cells either).
        return_sequences, return_state, go_backwards, stateful: as RNN.
        unroll: must be False (as in Keras).
    Input: (samples, time, rows, cols, channels) or, channels_first, (samples, time,
        channels, rows, cols). Output: (samples, [time,] new_rows, new_cols, filters) or its
        channels_first order. Call arguments ``mask``, ``training`` and ``initial_state`` as
        RNN (``constants`` are not supported); a mask with more axes than (samples, time),
        as Masking gives for images, masks the steps whose every entry is masked.

    Example:
        >>> y = ConvRNN2D(ConvLSTM2DCell(4, 3))(Input(shape=(None, 8, 8, 1)))
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, **kwargs):
        if unroll:
            raise TypeError('Unrolling is not possible with convolutional RNNs (as in Keras); '
                            'use unroll=False')
        if isinstance(cell, (list, tuple)):
            raise TypeError('It is not possible at the moment to stack convolutional cells '
                            '(as in Keras); use one ConvRNN2D layer per cell')
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=False, **kwargs)
        self.input_spec = [InputSpec(ndim=5)]

    # -- shapes -------------------------------------------------------------------------------
    def _state_shape(self, input_shape):
        cell = self.cell
        rows, cols = _spatial((input_shape[0],) + tuple(input_shape[2:]), cell.data_format)
        rows = conv_utils.conv_output_length(rows, cell.kernel_size[0], cell.padding,
                                             cell.strides[0], cell.dilation_rate[0])
        cols = conv_utils.conv_output_length(cols, cell.kernel_size[1], cell.padding,
                                             cell.strides[1], cell.dilation_rate[1])
        if cell.data_format == 'channels_first':
            return (input_shape[0], cell.filters, rows, cols)
        return (input_shape[0], rows, cols, cell.filters)

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list) and input_shape and \
                isinstance(input_shape[0], (tuple, list)):
            input_shape = input_shape[0]
        state = self._state_shape(tuple(input_shape))
        output = (state[0], input_shape[1]) + state[1:] if self.return_sequences else state
        if self.return_state:
            return [output] + [state] * len(self.states)
        return output

    def build(self, input_shape):
        if isinstance(input_shape, list) and input_shape and \
                isinstance(input_shape[0], (tuple, list)):
            input_shape = input_shape[0]
        input_shape = tuple(input_shape)
        if len(input_shape) != 5:
            raise ValueError(f"{_owner(self)} expects 5-D inputs (batch, timesteps, rows, cols, "
                             f"channels) or channels_first, got shape {shape_text(input_shape)}")
        batch_size = input_shape[0] if self.stateful else None
        self.input_spec[0] = InputSpec(shape=(batch_size, None) + input_shape[2:])
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build((input_shape[0],) + input_shape[2:])
            self.cell.built = True
        state = self._state_shape(input_shape)
        if None in state[1:]:
            raise ValueError(f"{_owner(self)}: the rows and cols of the input must be static, "
                             f"got input shape {shape_text(input_shape)}")
        self.state_spec = [InputSpec(shape=(None,) + state[1:]) for _ in range(2)]
        if self.stateful:
            self.reset_states()
        self.built = True

    def get_initial_state(self, inputs):
        state = self._state_shape(K.int_shape(inputs))
        z = K.zeros_like(inputs[:, 0, :1, :1, :1])                   # (samples, 1, 1, 1)
        zeros = z + K.constant(np.zeros(state[1:], dtype=K.floatx()))
        return [zeros for _ in _state_sizes_of(self.cell)]

    def reset_states(self, states=None):
        """Set the states of a stateful layer to zeros, or to ``states`` (numpy arrays)."""
        if not self.stateful:
            raise AttributeError(f"{_owner(self)}: reset_states() needs a stateful layer "
                                 f"(stateful=True)")
        input_shape = self.input_spec[0].shape
        batch_size = input_shape[0] if input_shape else None
        if not batch_size:
            raise ValueError(
                f"{_owner(self)}: a stateful RNN needs to know its batch size. Specify the "
                f"batch size of your input tensors: for a Sequential model, pass "
                f"`batch_input_shape=(...)` (or batch_size=...) to the first layer; for the "
                f"functional API, `Input(batch_shape=(...))`.")
        shape = (batch_size,) + self._state_shape(input_shape)[1:]
        n = len(_state_sizes_of(self.cell))
        if self._states is None:
            self._states = [K.zeros(shape, name=f'{self.name}/state_{k}') for k in range(n)]
            return
        if states is None:
            for state in self._states:
                K.set_value(state, np.zeros(shape))
            return
        states = to_list(states, allow_tuple=True)
        if len(states) != n:
            raise ValueError(f"{_owner(self)} expects {n} states, but it received "
                             f"{len(states)} state values")
        for k, (value, state) in enumerate(zip(states, self._states)):
            value = np.asarray(value)
            if value.shape != shape:
                raise ValueError(f"{_owner(self)}: state {k} is incompatible with the layer: "
                                 f"expected shape {shape}, found shape {value.shape}")
            K.set_value(state, value)

    # -- the loop -----------------------------------------------------------------------------
    def call(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        inputs, initial_state, constants = self._split_inputs(inputs, initial_state, constants)
        if constants:
            raise ValueError(f"{_owner(self)}: graphc's ConvRNN2D does not take constants")
        if K.ndim(inputs) != 5:
            raise ValueError(f"{_owner(self)} expects 5-D inputs, got shape "
                             f"{shape_text(K.int_shape(inputs))}")
        if initial_state is not None:
            initial_state = list(initial_state)
        elif self.stateful:
            initial_state = list(self.states)
        else:
            initial_state = self.get_initial_state(inputs)
        if isinstance(mask, list):
            mask = mask[0]
        while mask is not None and K.ndim(mask) > 2:
            # Masking on images masks pixels: a step is masked when all of its pixels are
            mask = K.any(mask, axis=-1)
        n = len(_state_sizes_of(self.cell))
        if len(initial_state) != n:
            raise ValueError(f"{_owner(self)} expects {n} initial states, but it received "
                             f"{len(initial_state)}")
        cell = self.cell
        reset = getattr(cell, '_reset_masks', None)
        if reset:
            reset()

        def step(x_t, states):
            return cell.call(x_t, list(states), training=training)
        last_output, outputs, states = K.rnn(step, inputs, initial_state,
                                             go_backwards=self.go_backwards, mask=mask)
        uses_lp = getattr(cell, '_uses_dropout', lambda: False)() and training is None
        if reset:
            reset()
        states = list(states)
        if self.stateful:
            self.add_update([(self.states[i], states[i]) for i in range(len(states))], inputs)
        output = outputs if self.return_sequences else last_output
        if uses_lp or getattr(last_output, '_uses_learning_phase', False):
            output._uses_learning_phase = True
            for s in states:
                s._uses_learning_phase = True
        if self.return_state:
            return [output] + states
        return output


def _state_sizes_of(cell):
    size = cell.state_size
    return list(size) if hasattr(size, '__len__') else [size]


_CELL_ARGS = ('filters', 'kernel_size', 'strides', 'padding', 'data_format', 'dilation_rate',
              'activation', 'recurrent_activation', 'use_bias', 'kernel_initializer',
              'recurrent_initializer', 'bias_initializer', 'unit_forget_bias',
              'kernel_regularizer', 'recurrent_regularizer', 'bias_regularizer',
              'kernel_constraint', 'recurrent_constraint', 'bias_constraint', 'dropout',
              'recurrent_dropout')


class ConvLSTM2D(ConvRNN2D):
    """Convolutional LSTM (Keras 2.2.4): an LSTM whose products are 2-D convolutions.

    Args:
        filters, kernel_size, strides, padding, data_format, dilation_rate, activation
        ('tanh'), recurrent_activation ('hard_sigmoid'), use_bias, kernel_initializer,
        recurrent_initializer, bias_initializer, unit_forget_bias (True),
        kernel_/recurrent_/bias_regularizer, kernel_/recurrent_/bias_constraint, dropout,
        recurrent_dropout: see ConvLSTM2DCell.
        activity_regularizer: applied to the output.
        return_sequences, go_backwards, stateful, return_state: see RNN.
        unroll: must be False (accepted because Keras 2's configs hold it).
    Weights: kernel (kh, kw, channels, 4 * filters), recurrent_kernel (kh, kw, filters,
        4 * filters), bias (4 * filters,), gates i, f, c, o.

    Example:
        >>> model = Sequential([ConvLSTM2D(8, (3, 3), padding='same', return_sequences=True,
        ...                                input_shape=(None, 16, 16, 1))])
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding='valid', data_format=None,
                 dilation_rate=(1, 1), activation='tanh', recurrent_activation='hard_sigmoid',
                 use_bias=True, kernel_initializer='glorot_uniform',
                 recurrent_initializer='orthogonal', bias_initializer='zeros',
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, return_sequences=False,
                 go_backwards=False, stateful=False, dropout=0., recurrent_dropout=0.,
                 return_state=False, unroll=False, **kwargs):
        cell = ConvLSTM2DCell(filters=filters, kernel_size=kernel_size, strides=strides,
                              padding=padding, data_format=data_format,
                              dilation_rate=dilation_rate, activation=activation,
                              recurrent_activation=recurrent_activation, use_bias=use_bias,
                              kernel_initializer=kernel_initializer,
                              recurrent_initializer=recurrent_initializer,
                              bias_initializer=bias_initializer,
                              unit_forget_bias=unit_forget_bias,
                              kernel_regularizer=kernel_regularizer,
                              recurrent_regularizer=recurrent_regularizer,
                              bias_regularizer=bias_regularizer,
                              kernel_constraint=kernel_constraint,
                              recurrent_constraint=recurrent_constraint,
                              bias_constraint=bias_constraint, dropout=dropout,
                              recurrent_dropout=recurrent_dropout)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        # the cell's weights are named after the layer: 'conv_lst_m2d_1/kernel', as in Keras
        self.cell.name = self.name

    def get_config(self):
        config = {k: v for k, v in self.cell.get_config().items() if k in _CELL_ARGS}
        config['activity_regularizer'] = regularizers.serialize(self.activity_regularizer)
        base = super().get_config()
        base.pop('cell')
        return dict(list(base.items()) + list(config.items()))

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


def _cell_property(name):
    def get(self):
        return getattr(self.cell, name)
    get.__name__ = name
    return property(get, doc=f"The cell's `{name}`.")


for _name in _CELL_ARGS:
    setattr(ConvLSTM2D, _name, _cell_property(_name))
del _name
