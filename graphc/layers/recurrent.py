"""Recurrent layers (Keras 2.2): the ``RNN`` base layer, the cells ``SimpleRNNCell``,
``GRUCell``, ``LSTMCell``, ``StackedRNNCells``, and the layers ``SimpleRNN``, ``GRU``, ``LSTM``.

A sequence runs as one loop node (``K.rnn`` -> the ``scan`` op), never one Python call per
step. For the built-in cells the input projection ``x_t @ W + b`` of every step is computed
before the loop as one matrix product over the whole sequence; only the recurrent part
(``h_{t-1} @ U`` and the gates) runs inside the loop. The arithmetic is that of Keras 2.2
(same formulas, same weight layout: e.g. the LSTM kernel is (input_dim, 4 * units) with the
gates in the order i, f, c, o), so weights saved by Keras load unchanged.

Dropout masks (``dropout`` on the inputs, ``recurrent_dropout`` on the state) are drawn once per
sequence, outside the loop, as Keras does.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import activations, constraints, initializers, regularizers
from .. import backend as K
from ..engine.base_layer import InputSpec, Layer, is_keras_tensor, shape_text
from ..utils.generic_utils import has_arg, to_list

__all__ = ['RNN', 'SimpleRNN', 'GRU', 'LSTM', 'SimpleRNNCell', 'GRUCell', 'LSTMCell',
           'StackedRNNCells']


def _owner(layer):
    return f"{type(layer).__name__} layer '{layer.name}'"


def _deserialize_layer(config, custom_objects=None):
    from . import deserialize
    return deserialize(config, custom_objects=custom_objects)


def _state_sizes(cell):
    size = cell.state_size
    return list(size) if hasattr(size, '__len__') else [size]


def _generate_dropout_mask(ones, rate, training=None, count=1):
    """``count`` dropout masks (values 0 or 1 / (1 - rate)) in training, ones otherwise."""
    def dropped():
        return K.dropout(ones, rate)
    masks = [K.in_train_phase(dropped, ones, training=training) for _ in range(count)]
    return masks


_WEIGHT_ARG_KINDS = {'initializer': initializers, 'regularizer': regularizers,
                     'constraint': constraints}


def _init_weight_args(layer, **args):
    """Resolve a cell's ``{kernel,recurrent,bias}_{initializer,regularizer,constraint}``
    arguments onto ``layer`` (the gated cells and ConvLSTM2DCell)."""
    for name, value in args.items():
        setattr(layer, name, _WEIGHT_ARG_KINDS[name.split('_', 1)[1]].get(value))


def _weight_args_config(layer, kind):
    """The config entries ``kernel_<kind>``, ``recurrent_<kind>`` and ``bias_<kind>`` of a cell
    (``kind``: 'initializer', 'regularizer' or 'constraint')."""
    module = _WEIGHT_ARG_KINDS[kind]
    return {f'{part}_{kind}': module.serialize(getattr(layer, f'{part}_{kind}'))
            for part in ('kernel', 'recurrent', 'bias')}


def _forget_bias_initializer(base, units):
    """LSTM's ``unit_forget_bias``: the bias of the gates i, f, c, o (``units`` each) from the
    initializer ``base``, except ones for the forget gate f."""

    def bias_initializer(shape, dtype=None):
        dtype = dtype or K.floatx()
        return np.concatenate([np.asarray(base((units,), dtype=dtype), dtype=dtype),
                               np.ones((units,), dtype=dtype),
                               np.asarray(base((units * 2,), dtype=dtype), dtype=dtype)])
    return bias_initializer


def _check_rate(owner, name, value):
    value = float(value)
    if not 0. <= value <= 1.:
        raise ValueError(f"{owner}: `{name}` must be in [0, 1], got {value}")
    return min(1., max(0., value))


class _GatedCell(Layer):
    """Shared machinery of the built-in cells.

    A cell with ``n_gates`` blocks of ``units`` columns splits its step into
    ``_project(x)`` (the input part, valid for a step (B, D) or a whole sequence (B, T, D)) and
    ``_step(x_proj, states, training)`` (the recurrent part). ``call`` composes them, so a cell
    used on its own behaves as Keras's.
    """

    n_gates = 1

    def __init__(self, units, activation='tanh', use_bias=True,
                 kernel_initializer='glorot_uniform', recurrent_initializer='orthogonal',
                 bias_initializer='zeros', kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0., recurrent_dropout=0., **kwargs):
        super().__init__(**kwargs)
        owner = _owner(self)
        if not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"{owner}: `units` must be a positive int, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        _init_weight_args(self, kernel_initializer=kernel_initializer,
                          recurrent_initializer=recurrent_initializer,
                          bias_initializer=bias_initializer,
                          kernel_regularizer=kernel_regularizer,
                          recurrent_regularizer=recurrent_regularizer,
                          bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                          recurrent_constraint=recurrent_constraint,
                          bias_constraint=bias_constraint)
        self.dropout = _check_rate(owner, 'dropout', dropout)
        self.recurrent_dropout = _check_rate(owner, 'recurrent_dropout', recurrent_dropout)
        self._dropout_mask = None
        self._recurrent_dropout_mask = None

    # -- weights ------------------------------------------------------------------------------
    def _bias_shape(self):
        return (self.n_gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"{_owner(self)}: the last (feature) axis of the input must be "
                             f"static, got input shape {shape_text(tuple(input_shape))}")
        width = self.n_gates * self.units
        self.kernel = self.add_weight('kernel', (int(input_dim), width),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight('recurrent_kernel', (self.units, width),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight('bias', self._bias_shape(),
                                        initializer=self._bias_initializer(),
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True

    def _input_bias(self):
        return self.bias

    # -- dropout masks ------------------------------------------------------------------------
    def _uses_dropout(self):
        return 0. < self.dropout < 1. or 0. < self.recurrent_dropout < 1.

    def _prepare_masks(self, step_input, state, training=None):
        """Draw this sequence's dropout masks: ``step_input`` is (B, D), ``state`` (B, units)."""
        count = self.n_gates
        if 0. < self.dropout < 1. and self._dropout_mask is None:
            self._dropout_mask = _generate_dropout_mask(K.ones_like(step_input), self.dropout,
                                                        training, count)
        if 0. < self.recurrent_dropout < 1. and self._recurrent_dropout_mask is None:
            self._recurrent_dropout_mask = _generate_dropout_mask(
                K.ones_like(state), self.recurrent_dropout, training, count)

    def _reset_masks(self):
        self._dropout_mask = None
        self._recurrent_dropout_mask = None

    # -- the computation ----------------------------------------------------------------------
    def _columns(self, w, k):
        u = self.units
        return w[..., k * u:(k + 1) * u]

    def _project(self, inputs):
        """``inputs @ kernel + bias`` (with the input dropout masks), for (B, D) or
        (B, T, D) inputs; the result has ``n_gates * units`` features."""
        masks = self._dropout_mask
        if masks is None:
            y = K.dot(inputs, self.kernel)
        else:
            parts = []
            for k, m in enumerate(masks):
                if K.ndim(inputs) == 3:
                    m = K.expand_dims(m, 1)
                parts.append(K.dot(inputs * m, self._columns(self.kernel, k)))
            y = K.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0]
        bias = self._input_bias()
        if bias is not None:
            y = y + bias
        return y

    def _recurrent(self, h, k_range=None):
        """The recurrent projections of ``h`` per gate (with the recurrent dropout masks):
        a list of (B, units) tensors, one per gate in ``k_range``."""
        ks = list(range(self.n_gates)) if k_range is None else list(k_range)
        masks = self._recurrent_dropout_mask
        if masks is None:
            if len(ks) == self.n_gates:
                full = K.dot(h, self.recurrent_kernel)
                return [self._columns(full, k) for k in ks]
            lo, hi = ks[0] * self.units, (ks[-1] + 1) * self.units
            part = K.dot(h, self.recurrent_kernel[:, lo:hi])
            return [self._columns(part, k - ks[0]) for k in ks]
        return [K.dot(h * masks[k], self._columns(self.recurrent_kernel, k)) for k in ks]

    def call(self, inputs, states, training=None):
        """One step: ``inputs`` (B, D), ``states`` a list of (B, units) -> (output,
        new_states)."""
        self._prepare_masks(inputs, states[0], training)
        return self._step(self._project(inputs), states, training)

    def _mark(self, output, training):
        if self._uses_dropout() and training is None:
            output._uses_learning_phase = True
        return output

    def get_config(self):
        config = {
            'units': self.units,
            'activation': activations.serialize(self.activation),
            'use_bias': self.use_bias,
            **_weight_args_config(self, 'initializer'),
            **_weight_args_config(self, 'regularizer'),
            **_weight_args_config(self, 'constraint'),
            'dropout': self.dropout,
            'recurrent_dropout': self.recurrent_dropout,
        }
        base = super().get_config()
        return dict(list(base.items()) + list(config.items()))


class SimpleRNNCell(_GatedCell):
    """The cell of a fully-connected RNN: ``h_t = activation(x_t W + h_{t-1} U + b)``.

    Args:
        units: the size of the output / state.
        activation: default 'tanh'.
        use_bias, kernel_initializer ('glorot_uniform'), recurrent_initializer
        ('orthogonal'), bias_initializer ('zeros'), kernel_/recurrent_/bias_regularizer,
        kernel_/recurrent_/bias_constraint: as Keras 2.
        dropout: the fraction of the inputs to drop; recurrent_dropout: of the state.
    Weights: kernel (input_dim, units), recurrent_kernel (units, units), bias (units,).

    Example:
        >>> y = RNN(SimpleRNNCell(8))(Input(shape=(5, 3)))
    """

    n_gates = 1

    def __init__(self, units, activation='tanh', use_bias=True,
                 kernel_initializer='glorot_uniform', recurrent_initializer='orthogonal',
                 bias_initializer='zeros', kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0., recurrent_dropout=0., **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, **kwargs)
        self.state_size = self.units

    def _step(self, x_proj, states, training=None):
        h_tm1 = states[0]
        output = x_proj + self._recurrent(h_tm1)[0]
        if self.activation is not None:
            output = self.activation(output)
        return self._mark(output, training), [output]


class GRUCell(_GatedCell):
    """The cell of a gated recurrent unit (Keras 2.2's formulas).

    With ``reset_after=False`` (the Keras 2 default)::

        z = recurrent_activation(x W_z + h U_z + b_z)
        r = recurrent_activation(x W_r + h U_r + b_r)
        hh = activation(x W_h + (r * h) U_h + b_h)
        h' = z * h + (1 - z) * hh

    With ``reset_after=True`` (CuDNN-compatible) the reset gate applies after the product,
    ``hh = activation(x W_h + b_h + r * (h U_h + rb_h))``, and each gate has a recurrent bias.

    Args:
        units, activation ('tanh'), recurrent_activation ('hard_sigmoid'), use_bias,
        initializers / regularizers / constraints, dropout, recurrent_dropout: as Keras 2.
        implementation: 1 or 2 (accepted for compatibility; the arithmetic is the same).
        reset_after: see above.
    Weights: kernel (input_dim, 3 * units) [z, r, h], recurrent_kernel (units, 3 * units),
        bias (3 * units,), or (2, 3 * units) [input bias, recurrent bias] with reset_after.
    """

    n_gates = 3

    def __init__(self, units, activation='tanh', recurrent_activation='hard_sigmoid',
                 use_bias=True, kernel_initializer='glorot_uniform',
                 recurrent_initializer='orthogonal', bias_initializer='zeros',
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0., recurrent_dropout=0., implementation=1, reset_after=False,
                 **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        if implementation not in (0, 1, 2):
            raise ValueError(f"{_owner(self)}: `implementation` must be 1 or 2, got "
                             f"{implementation!r}")
        self.implementation = 1 if implementation == 0 else int(implementation)
        self.reset_after = bool(reset_after)
        self.state_size = self.units

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self):
        if self.bias is None:
            return None
        return self.bias[0] if self.reset_after else self.bias

    def _step(self, x_proj, states, training=None):
        h_tm1 = states[0]
        act, rec_act = self.activation, self.recurrent_activation
        x_z, x_r, x_h = (self._columns(x_proj, k) for k in range(3))
        if self.reset_after:
            rec_z, rec_r, rec_h = self._recurrent(h_tm1)
            if self.use_bias:
                rb = self.bias[1]
                rec_z = rec_z + self._columns(rb, 0)
                rec_r = rec_r + self._columns(rb, 1)
                rec_h = rec_h + self._columns(rb, 2)
            z = rec_act(x_z + rec_z)
            r = rec_act(x_r + rec_r)
            hh = act(x_h + r * rec_h)
        else:
            rec_z, rec_r = self._recurrent(h_tm1, range(2))
            z = rec_act(x_z + rec_z)
            r = rec_act(x_r + rec_r)
            h_h = h_tm1
            if self._recurrent_dropout_mask is not None:
                h_h = h_tm1 * self._recurrent_dropout_mask[2]
            hh = act(x_h + K.dot(r * h_h, self._columns(self.recurrent_kernel, 2)))
        h = z * h_tm1 + (1. - z) * hh
        return self._mark(h, training), [h]

    def get_config(self):
        config = super().get_config()
        config.update(recurrent_activation=activations.serialize(self.recurrent_activation),
                      implementation=self.implementation, reset_after=self.reset_after)
        return config


class LSTMCell(_GatedCell):
    """The cell of a long short-term memory layer (Hochreiter 1997; Keras 2.2's formulas)::

        i = recurrent_activation(x W_i + h U_i + b_i)
        f = recurrent_activation(x W_f + h U_f + b_f)
        c' = f * c + i * activation(x W_c + h U_c + b_c)
        o = recurrent_activation(x W_o + h U_o + b_o)
        h' = o * activation(c')

    Args:
        units, activation ('tanh'), recurrent_activation ('hard_sigmoid'), use_bias,
        initializers / regularizers / constraints, dropout, recurrent_dropout: as Keras 2.
        unit_forget_bias: initialise the forget gate's bias to 1 (default True).
        implementation: 1 or 2 (accepted for compatibility; the arithmetic is the same).
    Weights: kernel (input_dim, 4 * units), recurrent_kernel (units, 4 * units),
        bias (4 * units,), gates in the order i, f, c, o. States: [h, c].

    Example:
        >>> y = RNN(LSTMCell(16))(Input(shape=(10, 8)))
    """

    n_gates = 4

    def __init__(self, units, activation='tanh', recurrent_activation='hard_sigmoid',
                 use_bias=True, kernel_initializer='glorot_uniform',
                 recurrent_initializer='orthogonal', bias_initializer='zeros',
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0., recurrent_dropout=0., implementation=1,
                 **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        if implementation not in (0, 1, 2):
            raise ValueError(f"{_owner(self)}: `implementation` must be 1 or 2, got "
                             f"{implementation!r}")
        self.implementation = 1 if implementation == 0 else int(implementation)
        self.state_size = (self.units, self.units)

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        return _forget_bias_initializer(self.bias_initializer, self.units)

    def _step(self, x_proj, states, training=None):
        h_tm1, c_tm1 = states[0], states[1]
        act, rec_act = self.activation, self.recurrent_activation
        x_i, x_f, x_c, x_o = (self._columns(x_proj, k) for k in range(4))
        r_i, r_f, r_c, r_o = self._recurrent(h_tm1)
        i = rec_act(x_i + r_i)
        f = rec_act(x_f + r_f)
        c = f * c_tm1 + i * act(x_c + r_c)
        o = rec_act(x_o + r_o)
        h = o * act(c)
        return self._mark(h, training), [h, c]

    def get_config(self):
        config = super().get_config()
        config.update(recurrent_activation=activations.serialize(self.recurrent_activation),
                      unit_forget_bias=self.unit_forget_bias,
                      implementation=self.implementation)
        return config


class StackedRNNCells(Layer):
    """Several cells used as one: the output of each feeds the next (a deep RNN in one loop).

    Args:
        cells: a list of cells.

    Example:
        >>> y = RNN(StackedRNNCells([LSTMCell(8), LSTMCell(8)]))(x)
    """

    def __init__(self, cells, **kwargs):
        for cell in cells:
            if not hasattr(cell, 'call') or not hasattr(cell, 'state_size'):
                raise ValueError(f"StackedRNNCells: every cell needs a `call` method and a "
                                 f"`state_size` attribute; got {cell!r}")
        self.cells = list(cells)
        super().__init__(**kwargs)

    @property
    def state_size(self):
        # Keras 2 order: the states of the last cell first, so that state_size[0] is the
        # output size (e.g. [h2, c2, h1, c1] for two LSTM cells).
        sizes = []
        for cell in self.cells[::-1]:
            sizes += _state_sizes(cell)
        return tuple(sizes)

    def call(self, inputs, states, constants=None, training=None):
        nested, k = [], 0
        for cell in self.cells[::-1]:
            n = len(_state_sizes(cell))
            nested.append(list(states[k:k + n]))
            k += n
        nested = nested[::-1]
        new_nested = []
        for cell, cell_states in zip(self.cells, nested):
            kwargs = {}
            if has_arg(cell.call, 'training'):
                kwargs['training'] = training
            if constants is not None and has_arg(cell.call, 'constants'):
                kwargs['constants'] = constants
            inputs, cell_states = cell.call(inputs, cell_states, **kwargs)
            new_nested.append(list(cell_states))
        new_states = []
        for cell_states in new_nested[::-1]:
            new_states += cell_states
        return inputs, new_states

    def build(self, input_shape):
        shape = tuple(input_shape)
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(shape)
                cell.built = True
            out_dim = _state_sizes(cell)[0]
            shape = shape[:-1] + (out_dim,)
        self.built = True

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [w for c in self.cells if isinstance(c, Layer) for w in c.trainable_weights]

    @property
    def non_trainable_weights(self):
        weights = [w for c in self.cells if isinstance(c, Layer)
                   for w in c.non_trainable_weights]
        if not self.trainable:
            weights = [w for c in self.cells if isinstance(c, Layer)
                       for w in c.trainable_weights] + weights
        return weights

    @property
    def losses(self):
        return [x for c in self.cells if isinstance(c, Layer) for x in c.losses]

    def get_losses_for(self, inputs=None):
        return [x for c in self.cells if isinstance(c, Layer)
                for x in c.get_losses_for(inputs)]

    def get_config(self):
        from . import serialize
        config = super().get_config()
        config['cells'] = [serialize(c) for c in self.cells]
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cells = [_deserialize_layer(c, custom_objects) for c in config.pop('cells')]
        return cls(cells, **config)


class RNN(Layer):
    """A recurrent layer: runs a ``cell`` over the time axis of (batch, timesteps, features).

    Args:
        cell: an RNN cell (``call(inputs, states) -> (output, new_states)`` and
            ``state_size``), or a list of cells (stacked).
        return_sequences: return the output of every step (batch, timesteps, units) rather
            than the last one (batch, units).
        return_state: also return the final states (a list: [output] + states).
        go_backwards: process the sequence backwards (the returned sequence is in processing
            order, as Keras).
        stateful: the final states of batch i are the initial states of batch i of the next
            call; needs a fixed batch size (``batch_input_shape`` / ``batch_size``). Reset with
            ``reset_states()``.
        unroll: build one copy of the step per time step instead of a loop (needs a static
            number of timesteps).
        input_dim, input_length: shortcuts for ``input_shape=(input_length, input_dim)``.
    Call arguments: ``mask`` (from Embedding(mask_zero=True) or Masking: masked steps keep the
        state and repeat the previous output), ``training``, ``initial_state`` (a list of
        tensors), ``constants`` (tensors passed to every step of a cell that accepts them).

    Example:
        >>> y = RNN(LSTMCell(32), return_sequences=True)(Input(shape=(10, 8)))
        >>> y._keras_shape
        (None, 10, 32)
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not hasattr(cell, 'call'):
            raise ValueError(f"RNN: `cell` should have a `call` method; got {cell!r}")
        if not hasattr(cell, 'state_size'):
            raise ValueError("RNN: the RNN cell should have an attribute `state_size` (an int "
                             "or a tuple of ints, one per state)")
        if 'input_shape' not in kwargs and ('input_dim' in kwargs or 'input_length' in kwargs):
            kwargs['input_shape'] = (kwargs.pop('input_length', None),
                                     kwargs.pop('input_dim', None))
        kwargs.pop('input_dim', None)
        kwargs.pop('input_length', None)
        activity_regularizer = kwargs.pop('activity_regularizer', None)
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.supports_masking = True
        self.input_spec = [InputSpec(ndim=3)]
        self.state_spec = None
        self._states = None
        self.constants_spec = None
        self._num_constants = None

    # -- states -------------------------------------------------------------------------------
    @property
    def states(self):
        if self._states is None:
            return [None] * len(_state_sizes(self.cell))
        return self._states

    @states.setter
    def states(self, states):
        self._states = states

    def get_initial_state(self, inputs):
        """Zero states of shape (batch, size), one per entry of the cell's ``state_size``."""
        z = K.zeros_like(inputs[:, 0, :1])       # (batch, 1)
        return [K.tile(z, (1, dim)) for dim in _state_sizes(self.cell)]

    def reset_states(self, states=None):
        """Set the states of a stateful RNN to zeros, or to ``states`` (numpy arrays)."""
        if not self.stateful:
            raise AttributeError(f"{_owner(self)}: reset_states() needs a stateful layer "
                                 f"(stateful=True)")
        batch_size = self.input_spec[0].shape[0] if self.input_spec[0].shape else None
        if not batch_size:
            raise ValueError(
                f"{_owner(self)}: a stateful RNN needs to know its batch size. Specify the "
                f"batch size of your input tensors: for a Sequential model, pass "
                f"`batch_input_shape=(...)` (or batch_size=...) to the first layer; for the "
                f"functional API, `Input(batch_shape=(...))`.")
        sizes = _state_sizes(self.cell)
        if self._states is None:
            self._states = [K.zeros((batch_size, dim), name=f'{self.name}/state_{k}')
                            for k, dim in enumerate(sizes)]
            return
        if states is None:
            for state, dim in zip(self._states, sizes):
                K.set_value(state, np.zeros((batch_size, dim)))
            return
        states = to_list(states, allow_tuple=True)
        if len(states) != len(self._states):
            raise ValueError(f"{_owner(self)} expects {len(self._states)} states, but it "
                             f"received {len(states)} state values")
        for k, (value, state, dim) in enumerate(zip(states, self._states, sizes)):
            value = np.asarray(value)
            if value.shape != (batch_size, dim):
                raise ValueError(f"{_owner(self)}: state {k} is incompatible with the layer: "
                                 f"expected shape {(batch_size, dim)}, found shape "
                                 f"{value.shape}")
            K.set_value(state, value)

    # -- weights come from the cell -----------------------------------------------------------
    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return list(self.cell.trainable_weights) if isinstance(self.cell, Layer) else []

    @trainable_weights.setter
    def trainable_weights(self, weights):
        self._trainable_weights = list(weights)

    @property
    def non_trainable_weights(self):
        if isinstance(self.cell, Layer):
            return list(self.cell.weights) if not self.trainable \
                else list(self.cell.non_trainable_weights)
        return []

    @non_trainable_weights.setter
    def non_trainable_weights(self, weights):
        self._non_trainable_weights = list(weights)

    @property
    def losses(self):
        own = list(self._losses)
        return (list(self.cell.losses) if isinstance(self.cell, Layer) else []) + own

    def get_losses_for(self, inputs):
        own = super().get_losses_for(inputs)
        if isinstance(self.cell, Layer):
            return list(self.cell.get_losses_for(inputs)) + own
        return own

    # -- shapes -------------------------------------------------------------------------------
    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list) and input_shape and \
                isinstance(input_shape[0], (tuple, list)):
            input_shape = input_shape[0]
        sizes = _state_sizes(self.cell)
        out_dim = sizes[0]
        if self.return_sequences:
            output_shape = (input_shape[0], input_shape[1], out_dim)
        else:
            output_shape = (input_shape[0], out_dim)
        if self.return_state:
            return [output_shape] + [(input_shape[0], dim) for dim in sizes]
        return output_shape

    def compute_mask(self, inputs, mask):
        if isinstance(mask, list):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(_state_sizes(self.cell))
        return output_mask

    def build(self, input_shape):
        if isinstance(input_shape, list) and input_shape and \
                isinstance(input_shape[0], (tuple, list)):
            constants_shape = input_shape[-self._num_constants:] if self._num_constants \
                else None
            input_shape = input_shape[0]
        else:
            constants_shape = None
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(f"{_owner(self)} expects 3-D inputs (batch, timesteps, features), "
                             f"got shape {shape_text(input_shape)}")
        batch_size = input_shape[0] if self.stateful else None
        self.input_spec[0] = InputSpec(shape=(batch_size, None, input_shape[-1]))
        step_input_shape = (input_shape[0],) + input_shape[2:]
        if isinstance(self.cell, Layer) and not self.cell.built:
            if constants_shape:
                self.cell.build([step_input_shape] + list(constants_shape))
            else:
                self.cell.build(step_input_shape)
            self.cell.built = True
        sizes = _state_sizes(self.cell)
        if self.state_spec is not None:
            spec_sizes = [spec.shape[-1] for spec in self.state_spec]
            if spec_sizes != sizes:
                raise ValueError(f"{_owner(self)}: an initial_state was passed that is not "
                                 f"compatible with the cell's state_size: expected sizes "
                                 f"{sizes}, got {spec_sizes}")
        else:
            self.state_spec = [InputSpec(shape=(None, dim)) for dim in sizes]
        if self.stateful:
            self.reset_states()
        self.built = True

    # -- calling ------------------------------------------------------------------------------
    def __call__(self, inputs, initial_state=None, constants=None, **kwargs):
        inputs, initial_state, constants = self._standardize_args(inputs, initial_state,
                                                                  constants)
        if initial_state is None and constants is None:
            return super().__call__(inputs, **kwargs)
        additional_inputs, additional_specs = [], []
        if initial_state is not None:
            kwargs['initial_state'] = initial_state
            additional_inputs += initial_state
            self.state_spec = [InputSpec(shape=K.int_shape(s)) for s in initial_state]
            additional_specs += self.state_spec
        if constants is not None:
            kwargs['constants'] = constants
            additional_inputs += constants
            self.constants_spec = [InputSpec(shape=K.int_shape(c)) for c in constants]
            self._num_constants = len(constants)
            additional_specs += self.constants_spec
        keras = is_keras_tensor(additional_inputs[0])
        if any(is_keras_tensor(t) != keras for t in additional_inputs):
            raise ValueError(f"{_owner(self)}: the initial state or constants of an RNN layer "
                             f"cannot be specified with a mix of Keras tensors and other "
                             f"tensors")
        if keras:
            full_input = [inputs] + additional_inputs
            n_own = len(self.input_spec)
            full_spec = list(self.input_spec) + additional_specs
            self.input_spec = full_spec
            try:
                # The tensors now travel in the input list; call() takes them from there.
                kwargs.pop('initial_state', None)
                kwargs.pop('constants', None)
                return super().__call__(full_input, **kwargs)
            finally:
                self.input_spec = full_spec[:n_own]     # build() may have refined entry 0
        return super().__call__(inputs, **kwargs)

    def _standardize_args(self, inputs, initial_state, constants):
        """Split a list input [x, states..., constants...] into its parts."""
        if isinstance(inputs, list):
            if initial_state is not None or constants is not None:
                raise ValueError(f"{_owner(self)}: pass the initial state and constants either "
                                 f"in the input list or as keyword arguments, not both")
            if self._num_constants is not None:
                constants = inputs[-self._num_constants:]
                inputs = inputs[:-self._num_constants]
            if len(inputs) > 1:
                initial_state = inputs[1:]
            inputs = inputs[0]

        def as_list(x):
            if x is None or isinstance(x, list):
                return x
            if isinstance(x, tuple):
                return list(x)
            return [x]
        return inputs, as_list(initial_state), as_list(constants)

    def _split_inputs(self, inputs, initial_state, constants):
        if isinstance(inputs, list):
            n_const = self._num_constants or 0
            if n_const:
                constants = inputs[len(inputs) - n_const:]
                rest = inputs[1:len(inputs) - n_const]
            else:
                rest = inputs[1:]
            initial_state = rest if rest else None
            inputs = inputs[0]
        return inputs, initial_state, constants

    def call(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        inputs, initial_state, constants = self._split_inputs(inputs, initial_state, constants)
        if K.ndim(inputs) != 3:
            raise ValueError(f"{_owner(self)} expects 3-D inputs (batch, timesteps, features), "
                             f"got shape {shape_text(K.int_shape(inputs))}")
        if initial_state is not None:
            initial_state = list(initial_state)
        elif self.stateful:
            initial_state = list(self.states)
        else:
            initial_state = self.get_initial_state(inputs)
        if isinstance(mask, list):
            mask = mask[0]
        if len(initial_state) != len(self.states):
            raise ValueError(f"{_owner(self)} expects {len(self.states)} initial states, but "
                             f"it received {len(initial_state)}")
        timesteps = K.int_shape(inputs)[1]
        if self.unroll and timesteps is None:
            raise ValueError(
                f"{_owner(self)}: cannot unroll an RNN whose time dimension is undefined: give "
                f"the number of timesteps (input_shape=(timesteps, features) or "
                f"Input(shape=(timesteps, ...))), or use unroll=False")
        cell = self.cell
        kwargs = {}
        if has_arg(cell.call, 'training'):
            kwargs['training'] = training
        if constants and not has_arg(cell.call, 'constants'):
            raise ValueError(f"{_owner(self)}: the RNN cell does not support constants (its "
                             f"call() has no `constants` argument)")
        n_const = len(constants) if constants else 0

        sequence = inputs
        if isinstance(cell, _GatedCell):
            # Draw the dropout masks once per sequence and project all inputs in one product.
            cell._reset_masks()
            cell._prepare_masks(inputs[:, 0, :], initial_state[0], training)
            sequence = cell._project(inputs)

            def step(x_t, states):
                return cell._step(x_t, list(states), training)
        elif n_const:
            def step(x_t, states):
                consts = list(states[len(states) - n_const:])
                return cell.call(x_t, list(states[:len(states) - n_const]), constants=consts,
                                 **kwargs)
        else:
            def step(x_t, states):
                return cell.call(x_t, list(states), **kwargs)

        last_output, outputs, states = K.rnn(step, sequence, initial_state,
                                             constants=constants, go_backwards=self.go_backwards,
                                             mask=mask, unroll=self.unroll,
                                             input_length=timesteps)
        uses_lp = isinstance(cell, _GatedCell) and cell._uses_dropout() and training is None
        if isinstance(cell, _GatedCell):
            cell._reset_masks()
        states = list(states) if isinstance(states, (list, tuple)) else [states]
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

    def get_config(self):
        from . import serialize
        config = {'return_sequences': self.return_sequences,
                  'return_state': self.return_state,
                  'go_backwards': self.go_backwards,
                  'stateful': self.stateful,
                  'unroll': self.unroll}
        if self._num_constants is not None:
            config['num_constants'] = self._num_constants
        config['cell'] = serialize(self.cell)
        base = super().get_config()
        return dict(list(base.items()) + list(config.items()))

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cell = _deserialize_layer(config.pop('cell'), custom_objects)
        num_constants = config.pop('num_constants', None)
        layer = cls(cell, **config)
        layer._num_constants = num_constants
        return layer


class _CellLayer(RNN):
    """An RNN with a built-in cell whose arguments are the layer's (SimpleRNN, GRU, LSTM)."""

    _cell_class = None
    _rnn_args = ('return_sequences', 'return_state', 'go_backwards', 'stateful', 'unroll')

    def __init__(self, cell_kwargs, rnn_kwargs, **kwargs):
        # Layer-level keywords (name, input_shape ...) stay with the layer; the cell is named
        # after it.
        cell = self._cell_class(**cell_kwargs)
        super().__init__(cell, **rnn_kwargs, **kwargs)
        # The cell's weights are named after the layer: 'lstm_1/kernel', as in Keras.
        self.cell.name = self.name

    def call(self, inputs, mask=None, training=None, initial_state=None):
        return super().call(inputs, mask=mask, training=training, initial_state=initial_state)

    def get_config(self):
        config = {k: v for k, v in self.cell.get_config().items()
                  if k not in ('name', 'trainable', 'dtype', 'batch_input_shape')}
        base = super().get_config()
        base.pop('cell')
        config['activity_regularizer'] = regularizers.serialize(self.activity_regularizer)
        return dict(list(base.items()) + list(config.items()))

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if config.get('implementation') == 0:
            config['implementation'] = 1
        return cls(**config)


def _cell_property(name):
    def get(self):
        return getattr(self.cell, name)
    get.__name__ = name
    return property(get, doc=f"The cell's `{name}`.")


for _name in ('units', 'activation', 'recurrent_activation', 'use_bias', 'kernel_initializer',
              'recurrent_initializer', 'bias_initializer', 'unit_forget_bias',
              'kernel_regularizer', 'recurrent_regularizer', 'bias_regularizer',
              'kernel_constraint', 'recurrent_constraint', 'bias_constraint', 'dropout',
              'recurrent_dropout', 'implementation', 'reset_after'):
    setattr(_CellLayer, _name, _cell_property(_name))
del _name


class SimpleRNN(_CellLayer):
    """A fully-connected RNN whose output is fed back: ``h_t = tanh(x_t W + h_{t-1} U + b)``.

    Args:
        units: the output size.
        activation ('tanh'), use_bias, kernel_initializer ('glorot_uniform'),
        recurrent_initializer ('orthogonal'), bias_initializer ('zeros'),
        kernel_/recurrent_/bias_/activity_regularizer, kernel_/recurrent_/bias_constraint,
        dropout, recurrent_dropout: see SimpleRNNCell.
        return_sequences, return_state, go_backwards, stateful, unroll: see RNN.

    Example:
        >>> y = SimpleRNN(8)(Input(shape=(5, 3)))
    """

    _cell_class = SimpleRNNCell

    def __init__(self, units, activation='tanh', use_bias=True,
                 kernel_initializer='glorot_uniform', recurrent_initializer='orthogonal',
                 bias_initializer='zeros', kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.,
                 recurrent_dropout=0., return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, **kwargs):
        if 'implementation' in kwargs:   # Keras 2.2 accepts it, warns and ignores it
            kwargs.pop('implementation')
            warnings.warn('The `implementation` argument in `SimpleRNN` has been deprecated '
                          'and is ignored; remove it from your layer call.', stacklevel=2)
        cell_kwargs = dict(units=units, activation=activation, use_bias=use_bias,
                           kernel_initializer=kernel_initializer,
                           recurrent_initializer=recurrent_initializer,
                           bias_initializer=bias_initializer,
                           kernel_regularizer=kernel_regularizer,
                           recurrent_regularizer=recurrent_regularizer,
                           bias_regularizer=bias_regularizer,
                           kernel_constraint=kernel_constraint,
                           recurrent_constraint=recurrent_constraint,
                           bias_constraint=bias_constraint, dropout=dropout,
                           recurrent_dropout=recurrent_dropout)
        rnn_kwargs = dict(return_sequences=return_sequences, return_state=return_state,
                          go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                          activity_regularizer=activity_regularizer)
        super().__init__(cell_kwargs, rnn_kwargs, **kwargs)


class GRU(_CellLayer):
    """Gated recurrent unit (Cho et al. 2014), Keras 2.2's formulas (see GRUCell).

    Args:
        units, activation ('tanh'), recurrent_activation ('hard_sigmoid'), use_bias,
        initializers / regularizers / constraints, dropout, recurrent_dropout, implementation,
        reset_after (default False): see GRUCell.
        return_sequences, return_state, go_backwards, stateful, unroll: see RNN.

    Example:
        >>> y = GRU(16, return_sequences=True)(Input(shape=(10, 8)))
    """

    _cell_class = GRUCell

    def __init__(self, units, activation='tanh', recurrent_activation='hard_sigmoid',
                 use_bias=True, kernel_initializer='glorot_uniform',
                 recurrent_initializer='orthogonal', bias_initializer='zeros',
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0., recurrent_dropout=0., implementation=1,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, reset_after=False, **kwargs):
        cell_kwargs = dict(units=units, activation=activation,
                           recurrent_activation=recurrent_activation, use_bias=use_bias,
                           kernel_initializer=kernel_initializer,
                           recurrent_initializer=recurrent_initializer,
                           bias_initializer=bias_initializer,
                           kernel_regularizer=kernel_regularizer,
                           recurrent_regularizer=recurrent_regularizer,
                           bias_regularizer=bias_regularizer,
                           kernel_constraint=kernel_constraint,
                           recurrent_constraint=recurrent_constraint,
                           bias_constraint=bias_constraint, dropout=dropout,
                           recurrent_dropout=recurrent_dropout, implementation=implementation,
                           reset_after=reset_after)
        rnn_kwargs = dict(return_sequences=return_sequences, return_state=return_state,
                          go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                          activity_regularizer=activity_regularizer)
        super().__init__(cell_kwargs, rnn_kwargs, **kwargs)


class LSTM(_CellLayer):
    """Long short-term memory (Hochreiter 1997), Keras 2.2's formulas (see LSTMCell).

    Args:
        units, activation ('tanh'), recurrent_activation ('hard_sigmoid'), use_bias,
        kernel_initializer, recurrent_initializer, bias_initializer, unit_forget_bias (True),
        kernel_/recurrent_/bias_/activity_regularizer, kernel_/recurrent_/bias_constraint,
        dropout, recurrent_dropout, implementation: see LSTMCell.
        return_sequences, return_state, go_backwards, stateful, unroll: see RNN.
    With return_state the outputs are [output, h, c].

    Example:
        >>> model = Sequential([Embedding(1000, 32, mask_zero=True), LSTM(64),
        ...                     Dense(1, activation='sigmoid')])
    """

    _cell_class = LSTMCell

    def __init__(self, units, activation='tanh', recurrent_activation='hard_sigmoid',
                 use_bias=True, kernel_initializer='glorot_uniform',
                 recurrent_initializer='orthogonal', bias_initializer='zeros',
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.,
                 recurrent_dropout=0., implementation=1, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False,
                 **kwargs):
        cell_kwargs = dict(units=units, activation=activation,
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
                           recurrent_dropout=recurrent_dropout, implementation=implementation)
        rnn_kwargs = dict(return_sequences=return_sequences, return_state=return_state,
                          go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                          activity_regularizer=activity_regularizer)
        super().__init__(cell_kwargs, rnn_kwargs, **kwargs)
