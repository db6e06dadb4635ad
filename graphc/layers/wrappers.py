"""Layer wrappers (Keras 2): ``TimeDistributed`` (apply a layer to every time step) and
``Bidirectional`` (run a recurrent layer forwards and backwards and merge the results)."""
from __future__ import annotations

from .. import backend as K
from ..engine.base_layer import InputSpec, Layer, _object_key, is_keras_tensor, shape_text
from ..ir.ops import apply
from ..utils.generic_utils import has_arg

__all__ = ['Wrapper', 'TimeDistributed', 'Bidirectional']


def _owner(layer):
    return f"{type(layer).__name__} layer '{layer.name}'"


class Wrapper(Layer):
    """Base of the layers that wrap another layer: weights, losses and updates are the
    wrapped layer's.

    Args:
        layer: the layer to wrap.
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"{type(self).__name__}: `layer` must be a Layer instance, got "
                             f"{type(layer).__name__}")
        self.layer = layer
        super().__init__(**kwargs)

    def build(self, input_shape=None):
        self.built = True

    @property
    def activity_regularizer(self):
        return getattr(self.layer, 'activity_regularizer', None)

    def _inner(self):
        return [self.layer]

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [w for la in self._inner() for w in la.trainable_weights]

    @trainable_weights.setter
    def trainable_weights(self, weights):
        self._trainable_weights = list(weights)

    @property
    def non_trainable_weights(self):
        out = [w for la in self._inner() for w in la.non_trainable_weights]
        if not self.trainable:
            out = [w for la in self._inner() for w in la.trainable_weights] + out
        return out

    @non_trainable_weights.setter
    def non_trainable_weights(self, weights):
        self._non_trainable_weights = list(weights)

    @property
    def updates(self):
        if not self.trainable and not self.stateful:
            return []
        return [u for la in self._inner() for u in la.updates] + super().updates

    def _inner_inputs(self, inputs):
        """The tensors the wrapped layer was called on for the wrapper's ``inputs`` (a wrapper
        that reshapes its input, as TimeDistributed, records them in ``_input_map``)."""
        if inputs is None:
            return None
        return getattr(self, '_input_map', {}).get(_object_key(inputs), inputs)

    def get_updates_for(self, inputs):
        inner = []
        if self.trainable or self.stateful:
            for la in self._inner():
                inner += la.get_updates_for(self._inner_inputs(inputs))
        return inner + super().get_updates_for(inputs)

    @property
    def losses(self):
        return [x for la in self._inner() for x in la.losses] + list(self._losses)

    def get_losses_for(self, inputs):
        inner = [x for la in self._inner()
                 for x in la.get_losses_for(self._inner_inputs(inputs))]
        return inner + super().get_losses_for(inputs)

    def get_config(self):
        from . import serialize
        config = super().get_config()
        config['layer'] = serialize(self.layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from . import deserialize
        config = dict(config)
        layer = deserialize(config.pop('layer'), custom_objects=custom_objects)
        return cls(layer, **config)


class TimeDistributed(Wrapper):
    """Apply ``layer`` to every time step (axis 1) of its input, with the same weights.

    Args:
        layer: the layer to apply to each (batch, ...) slice.

    Example:
        >>> y = TimeDistributed(Dense(8))(Input(shape=(10, 16)))
        >>> y._keras_shape
        (None, 10, 8)
    """

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.supports_masking = True

    def _child_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[2:])

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) < 3:
            raise ValueError(f"{_owner(self)}: the input should be at least 3-D (batch, time, "
                             f"...), got shape {shape_text(input_shape)}")
        self.input_spec = InputSpec(shape=input_shape)
        if not self.layer.built:
            self.layer.build(self._child_shape(input_shape))
            self.layer.built = True
        self.built = True

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        child = self.layer.compute_output_shape(self._child_shape(input_shape))
        return (child[0], input_shape[1]) + tuple(child[1:])

    def _folds(self, shape):
        """Whether the time axis can be folded into the batch (sizes of each step known)."""
        out_inner = tuple(self.compute_output_shape(shape)[2:])
        return all(d is not None for d in tuple(shape[2:]) + out_inner)

    def _unfold(self, y, inputs, shape):
        """``y`` of shape (batch * time, ...) back to (batch, time, ...)."""
        rest = tuple(K.int_shape(y)[1:])
        if shape[1] is not None:
            return K.reshape(y, (-1, shape[1]) + rest)
        if shape[0] is not None:
            return K.reshape(y, (shape[0], -1) + rest)
        # Batch and time both unknown: the run-time (batch, time) is the input's.
        if rest == tuple(shape[2:]):
            like = inputs
        else:
            like = inputs[(slice(None), slice(None)) + (0,) * (len(shape) - 2)]   # (B, T)
            like = K.cast(like, K.floatx()) * 0.
            for _ in rest:
                like = K.expand_dims(like, -1)
            if rest:
                like = like + K.constant(0., shape=rest)   # broadcast: (batch, time) + rest
        return apply('reshape_like', y, like)

    def call(self, inputs, training=None, mask=None):
        kwargs = {}
        if has_arg(self.layer.call, 'training'):
            kwargs['training'] = training
        shape = K.int_shape(inputs)
        timesteps = shape[1]
        if self._folds(shape):
            # Fold time into the batch: one call of the layer on (batch * time, ...).
            x = K.reshape(inputs, (-1,) + tuple(shape[2:]))
            # The layer's updates and losses are keyed by x: found again through the map.
            self._input_map = getattr(self, '_input_map', {})
            self._input_map[_object_key(inputs)] = x
            if mask is not None and has_arg(self.layer.call, 'mask'):
                kwargs['mask'] = _fold_mask(mask)
            y = self.layer.call(x, **kwargs)
            uses_lp = getattr(y, '_uses_learning_phase', False)
            out = self._unfold(y, inputs, shape)
        else:
            # Unknown sizes inside a step: a loop over the time steps (the layer must not
            # draw random numbers per step, e.g. no Dropout inside).
            def step(x_t, _states):
                return self.layer.call(x_t, **kwargs), []
            _, out, _ = K.rnn(step, inputs, [], input_length=timesteps)
            uses_lp = getattr(out, '_uses_learning_phase', False)
        if uses_lp:
            out._uses_learning_phase = True
        return out

    def compute_mask(self, inputs, mask=None):
        """The wrapped layer's mask of each step (e.g. Masking's, shape (batch, time, ...));
        else the input mask reduced to (batch, time); else None (as tf.keras)."""
        shape = K.int_shape(inputs)
        inner_mask = None
        if self._folds(shape):
            inner_in = None
            if mask is not None and self.layer.supports_masking:
                inner_in = _fold_mask(mask)
            if inner_in is not None or type(self.layer).compute_mask is not Layer.compute_mask:
                x = getattr(self, '_input_map', {}).get(_object_key(inputs))
                if x is None:
                    x = K.reshape(inputs, (-1,) + tuple(shape[2:]))
                inner_mask = self.layer.compute_mask(x, inner_in)
        if isinstance(inner_mask, list):       # e.g. an RNN returning its states
            inner_mask = inner_mask[0]
        if inner_mask is None or any(d is None for d in K.int_shape(inner_mask)[1:]):
            if mask is None:
                return None
            while K.ndim(mask) > 2:
                mask = K.any(mask, axis=-1)
            return mask
        return self._unfold(inner_mask, inputs, shape)


def _fold_mask(mask):
    """A (batch, time, ...) mask as (batch * time, ...) for the wrapped layer."""
    rest = tuple(K.int_shape(mask)[2:])
    if any(d is None for d in rest):
        return None
    return K.reshape(mask, (-1,) + rest)


class Bidirectional(Wrapper):
    """Run a recurrent layer forwards and a copy of it backwards over the sequence, and merge
    the two outputs.

    Args:
        layer: an RNN layer (e.g. ``LSTM(16)``); the backward copy is built from its config
            with ``go_backwards`` flipped (the two have separate weights).
        merge_mode: 'concat' (default), 'sum', 'mul', 'ave', or None (return both outputs as a
            list).
        weights: initial weights: the forward layer's, then the backward layer's.
    With return_sequences the backward outputs are reversed to align with time. Weights (in
    order): the forward layer's, then the backward layer's.

    Example:
        >>> y = Bidirectional(LSTM(8, return_sequences=True))(Input(shape=(5, 3)))
        >>> y._keras_shape
        (None, 5, 16)
    """

    _MODES = ('sum', 'mul', 'ave', 'concat', None)

    def __init__(self, layer, merge_mode='concat', weights=None, **kwargs):
        if merge_mode not in self._MODES:
            raise ValueError(f"Bidirectional: invalid merge_mode {merge_mode!r}; valid: 'sum', "
                             f"'mul', 'ave', 'concat' or None")
        if not hasattr(layer, 'go_backwards'):
            raise ValueError(f"Bidirectional: the wrapped layer must be a recurrent layer (with "
                             f"`go_backwards`), got {type(layer).__name__}")
        super().__init__(layer, **kwargs)
        config = layer.get_config()
        fwd_config = dict(config, name='forward_' + layer.name)
        bwd_config = dict(config, name='backward_' + layer.name,
                          go_backwards=not config['go_backwards'])
        self.forward_layer = type(layer).from_config(fwd_config)
        self.backward_layer = type(layer).from_config(bwd_config)
        self.merge_mode = merge_mode
        if weights:
            n = len(weights)
            self.forward_layer._initial_weights = list(weights[:n // 2])
            self.backward_layer._initial_weights = list(weights[n // 2:])
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.input_spec = layer.input_spec

    def _inner(self):
        return [self.forward_layer, self.backward_layer]

    def reset_states(self):
        """Reset the states of both directions (stateful layers)."""
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    def compute_output_shape(self, input_shape):
        output_shape = self.forward_layer.compute_output_shape(input_shape)
        state_shape = []
        if self.return_state:
            state_shape = list(output_shape[1:])
            output_shape = output_shape[0]
        output_shape = tuple(output_shape)
        if self.merge_mode == 'concat':
            last = output_shape[-1]
            output_shape = output_shape[:-1] + (None if last is None else last * 2,)
        elif self.merge_mode is None:
            output_shape = [output_shape, output_shape]
        if self.return_state:
            if self.merge_mode is None:
                return output_shape + state_shape + list(state_shape)
            return [output_shape] + state_shape + list(state_shape)
        return output_shape

    def __call__(self, inputs, initial_state=None, **kwargs):
        if isinstance(inputs, list):
            if len(inputs) > 1:
                initial_state = inputs[1:]
            inputs = inputs[0]
        if initial_state is None:
            return super().__call__(inputs, **kwargs)
        initial_state = list(initial_state) if isinstance(initial_state, (list, tuple)) \
            else [initial_state]
        if len(initial_state) % 2:
            raise ValueError(f"{_owner(self)}: initial_state should hold the forward states "
                             f"followed by the backward states (an even number), got "
                             f"{len(initial_state)} tensors")
        keras = all(is_keras_tensor(s) for s in initial_state)
        if keras and is_keras_tensor(inputs):
            own = self.input_spec
            self.input_spec = None
            try:
                return super().__call__([inputs] + initial_state, **kwargs)
            finally:
                self.input_spec = own
        return super().__call__(inputs, initial_state=initial_state, **kwargs)

    def build(self, input_shape):
        if isinstance(input_shape, list) and input_shape and \
                isinstance(input_shape[0], (tuple, list)):
            input_shape = input_shape[0]
        for la in (self.forward_layer, self.backward_layer):
            if not la.built:
                la.build(tuple(input_shape))
                la.built = True
                if la._initial_weights is not None:
                    la.set_weights(la._initial_weights)
                    la._initial_weights = None
        self.built = True

    def call(self, inputs, mask=None, training=None, initial_state=None):
        if isinstance(inputs, list):
            initial_state = inputs[1:] or None
            inputs = inputs[0]
            if isinstance(mask, list):
                mask = mask[0]
        kwargs = {}
        if has_arg(self.layer.call, 'training'):
            kwargs['training'] = training
        if has_arg(self.layer.call, 'mask'):
            kwargs['mask'] = mask
        if initial_state is not None and has_arg(self.layer.call, 'initial_state'):
            half = len(initial_state) // 2
            y = self.forward_layer.call(inputs, initial_state=initial_state[:half], **kwargs)
            y_rev = self.backward_layer.call(inputs, initial_state=initial_state[half:],
                                             **kwargs)
        else:
            y = self.forward_layer.call(inputs, **kwargs)
            y_rev = self.backward_layer.call(inputs, **kwargs)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = K.reverse(y_rev, 1)
        if self.merge_mode == 'concat':
            output = K.concatenate([y, y_rev])
        elif self.merge_mode == 'sum':
            output = y + y_rev
        elif self.merge_mode == 'ave':
            output = (y + y_rev) / 2.
        elif self.merge_mode == 'mul':
            output = y * y_rev
        else:
            output = [y, y_rev]
        if getattr(y, '_uses_learning_phase', False) or \
                getattr(y_rev, '_uses_learning_phase', False):
            for out in (output if isinstance(output, list) else [output]):
                out._uses_learning_phase = True
        if self.return_state:
            if self.merge_mode is None:
                return output + states
            return [output] + states
        return output

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, list):
            mask = mask[0]
        if self.return_sequences:
            output_mask = [mask, mask] if self.merge_mode is None else mask
        else:
            output_mask = [None, None] if self.merge_mode is None else None
        if self.return_state:
            n = len(self.forward_layer.states)
            state_mask = [None] * (2 * n)
            if isinstance(output_mask, list):
                return output_mask + state_mask
            return [output_mask] + state_mask
        return output_mask

    def get_config(self):
        config = super().get_config()
        config['merge_mode'] = self.merge_mode
        return config
