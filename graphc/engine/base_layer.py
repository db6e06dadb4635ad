"""The base Layer, InputSpec and the Node that records one call of a layer (Keras 2 engine).

A *Keras tensor* is a ``graphc.ir.Value`` that a layer produced: it carries
``_keras_history = (layer, node_index, tensor_index)`` (where it came from), ``_keras_shape``
(its shape with ``None`` for the batch axis, as Keras shows shapes) and
``_uses_learning_phase``. Networks walk these histories back from their outputs to find their
layers. Every layer's ``call`` runs inside ``graphc.ir.name_scope(layer.name)`` so the IR nodes
it builds carry the layer's name (error messages and IR dumps show it).
"""
from __future__ import annotations

import contextlib
import re

import numpy as np

from .. import backend as K
from ..ir import node as _ir_node
from ..ir.node import Value, name_scope
from ..utils.generic_utils import has_arg, to_list, unpack_singleton

_ALLOWED_KWARGS = {'input_shape', 'batch_input_shape', 'batch_size', 'dtype', 'name',
                   'trainable', 'weights', 'input_dtype'}


def to_snake_case(name):
    """'Conv2D' -> 'conv2d', 'MaxPooling2D' -> 'max_pooling2d' (Keras's layer name prefix)."""
    s = re.sub('(.)([A-Z][a-z0-9]+)', r'\1_\2', name)
    s = re.sub('([a-z])([A-Z])', r'\1_\2', s).lower()
    return 'private' + s if s.startswith('_') else s


@contextlib.contextmanager
def _root_scope(name):
    """Open scope ``name`` at the root, whatever scopes are open: a layer's weights are named
    ``<layer>/<weight>`` (as in Keras's files) even when the layer is built inside a model."""
    saved = getattr(_ir_node._scope, 'stack', None)
    _ir_node._scope.stack = [name]
    try:
        yield
    finally:
        _ir_node._scope.stack = saved if saved is not None else []


def is_keras_tensor(x):
    """Whether ``x`` is a symbolic tensor produced by a layer (has a layer history).

    Example:
        >>> is_keras_tensor(Input(shape=(3,)))
        True
    """
    return isinstance(x, Value) and hasattr(x, '_keras_history')


def static_shape(x):
    """The Keras-style shape of a tensor: ``_keras_shape`` if set, else its static IR shape
    with symbolic / unknown dims as ``None``."""
    if hasattr(x, '_keras_shape'):
        return x._keras_shape
    return tuple(d if isinstance(d, int) else None for d in x.shape)


def shape_text(shape):
    """A shape as Keras prints it: ``(None, 784)``."""
    if isinstance(shape, list):
        return '[' + ', '.join(shape_text(s) for s in shape) + ']'
    return '(' + ', '.join('None' if d is None else str(d) for d in shape) + \
        (',)' if len(shape) == 1 else ')')


def _object_key(xs):
    """A hashable key for a list of tensors (by identity); None stays None."""
    if xs is None:
        return None
    return tuple(id(x) for x in to_list(xs, allow_tuple=True))


class InputSpec:
    """What a layer accepts: ``ndim`` / ``min_ndim`` / ``max_ndim``, ``shape`` (None = any),
    ``dtype``, and ``axes`` ({axis: size}). Checked on every call with a clear error.

    Example:
        >>> spec = InputSpec(min_ndim=2, axes={-1: 784})
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None):
        self.dtype = dtype
        self.shape = shape
        self.ndim = len(shape) if shape is not None else ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.axes = dict(axes or {})

    def __repr__(self):
        fields = ('dtype', 'shape', 'ndim', 'max_ndim', 'min_ndim', 'axes')
        return 'InputSpec(' + ', '.join(f'{k}={getattr(self, k)!r}' for k in fields
                                        if getattr(self, k)) + ')'


class Node:
    """One call of ``outbound_layer`` on tensors produced by ``inbound_layers``.

    ``node_indices[i]`` / ``tensor_indices[i]`` say which node of ``inbound_layers[i]`` and
    which of its outputs gave input ``i``. Creating a Node registers it with the layers.
    """

    def __init__(self, outbound_layer, inbound_layers, node_indices, tensor_indices,
                 input_tensors, output_tensors, input_masks, output_masks, input_shapes,
                 output_shapes, arguments=None):
        self.outbound_layer = outbound_layer
        self.inbound_layers = inbound_layers
        self.node_indices = node_indices
        self.tensor_indices = tensor_indices
        self.input_tensors = input_tensors
        self.output_tensors = output_tensors
        self.input_masks = input_masks
        self.output_masks = output_masks
        self.input_shapes = input_shapes
        self.output_shapes = output_shapes
        self.arguments = arguments or {}
        for layer in inbound_layers:
            if layer is not None:
                layer._outbound_nodes.append(self)
        outbound_layer._inbound_nodes.append(self)

    def get_config(self):
        return {'outbound_layer': self.outbound_layer.name,
                'inbound_layers': [la.name if la else None for la in self.inbound_layers],
                'node_indices': self.node_indices, 'tensor_indices': self.tensor_indices}


class Layer:
    """Base class of all layers: a callable that maps tensors to tensors and owns weights.

    Subclasses implement ``build(input_shape)`` (create weights with ``add_weight``),
    ``call(inputs, **kwargs)`` (the computation, with the backend ``K``),
    ``compute_output_shape(input_shape)`` and ``get_config()``.

    Args (keyword): ``name``, ``trainable``, ``dtype``, ``input_shape`` / ``batch_input_shape``
        / ``batch_size`` (for a first layer), ``weights`` (initial values, set after build).

    Example:
        >>> class Double(Layer):
        ...     def call(self, x):
        ...         return x * 2
        >>> y = Double()(Input(shape=(3,)))
    """

    def __init__(self, **kwargs):
        self.input_spec = None
        self.supports_masking = False
        self.stateful = False
        self._trainable_weights = []
        self._non_trainable_weights = []
        self._losses = []
        self._updates = []
        self._per_input_losses = {}
        self._per_input_updates = {}
        self._built = False
        self._inbound_nodes = []
        self._outbound_nodes = []
        unknown = set(kwargs) - _ALLOWED_KWARGS
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown keyword argument(s) "
                            f"{sorted(unknown)}; valid: {sorted(_ALLOWED_KWARGS)} plus the "
                            f"layer's own arguments")
        name = kwargs.get('name')
        if not name:
            prefix = to_snake_case(type(self).__name__)
            name = f'{prefix}_{K.get_uid(prefix)}'
        self.name = name
        self.trainable = kwargs.get('trainable', True)
        if 'input_shape' in kwargs or 'batch_input_shape' in kwargs:
            if 'batch_input_shape' in kwargs:
                batch_input_shape = tuple(kwargs['batch_input_shape'])
            else:
                shape = kwargs['input_shape']
                if isinstance(shape, int):
                    shape = (shape,)
                batch_input_shape = (kwargs.get('batch_size'),) + tuple(shape)
            self.batch_input_shape = batch_input_shape
        dtype = kwargs.get('dtype') or kwargs.get('input_dtype')
        self.dtype = dtype or K.floatx()
        self._initial_weights = kwargs.get('weights')

    # -- state --------------------------------------------------------------------------------
    @property
    def built(self):
        return self._built

    @built.setter
    def built(self, value):
        self._built = value

    @property
    def trainable_weights(self):
        return list(self._trainable_weights) if self.trainable else []

    @trainable_weights.setter
    def trainable_weights(self, weights):
        self._trainable_weights = list(weights)

    @property
    def non_trainable_weights(self):
        if self.trainable:
            return list(self._non_trainable_weights)
        return list(self._trainable_weights) + list(self._non_trainable_weights)

    @non_trainable_weights.setter
    def non_trainable_weights(self, weights):
        self._non_trainable_weights = list(weights)

    @property
    def weights(self):
        """All weights: trainable first, then non-trainable."""
        return self.trainable_weights + self.non_trainable_weights

    @property
    def losses(self):
        """Losses added with ``add_loss`` (weight regularizers, activity regularizers)."""
        return list(self._losses)

    @property
    def updates(self):
        """``(variable, new_value)`` pairs added with ``add_update`` (e.g. BN moving means);
        empty for a layer that is not trainable and not stateful."""
        if not self.trainable and not self.stateful:
            return []
        return list(self._updates)

    def add_weight(self, name, shape, dtype=None, initializer=None, regularizer=None,
                   trainable=True, constraint=None):
        """Create a weight variable of this layer and track it.

        Args:
            name: the weight's name within the layer (e.g. 'kernel').
            shape: a tuple of ints.
            dtype: default: the layer's dtype (floatx).
            initializer: an initializer or its identifier (e.g. 'glorot_uniform').
            regularizer: a regularizer (its penalty is added to the layer's losses).
            trainable: whether the optimizer updates it.
            constraint: a projection applied after each optimizer update.
        Returns:
            The variable (a symbolic tensor).

        Example:
            >>> self.kernel = self.add_weight('kernel', (784, 10), initializer='zeros')
        """
        from .. import constraints, initializers, regularizers
        shape = tuple(int(d) for d in shape)
        dtype = dtype or self.dtype
        init = initializers.get(initializer if initializer is not None else 'glorot_uniform')
        value = np.asarray(init(shape, dtype=dtype), dtype=dtype)
        constraint = constraints.get(constraint) if constraint is not None else None
        with _root_scope(self.name):
            weight = K.variable(value, dtype=dtype, name=name, constraint=constraint)
        if regularizer is not None:
            regularizer = regularizers.get(regularizer)
            with name_scope(f'{self.name}/{name}_regularizer'):
                self.add_loss(regularizer(weight))
        (self._trainable_weights if trainable else self._non_trainable_weights).append(weight)
        return weight

    def add_loss(self, losses, inputs=None):
        """Add loss tensors (conditional on ``inputs`` when given, like activity
        regularization; ``None`` = unconditional, like weight regularization)."""
        if losses is None or (isinstance(losses, list) and not losses):
            return
        losses = to_list(losses, allow_tuple=True)
        self._losses = self._losses + [x for x in losses if x is not None]
        key = _object_key(inputs)
        self._per_input_losses.setdefault(key, [])
        self._per_input_losses[key] = self._per_input_losses[key] + losses

    def add_update(self, updates, inputs=None):
        """Add ``(variable, new_value)`` update pairs, conditional on ``inputs`` if given."""
        if updates is None or (isinstance(updates, list) and not updates):
            return
        updates = to_list(updates, allow_tuple=False)
        self._updates = self._updates + updates
        key = _object_key(inputs)
        self._per_input_updates.setdefault(key, [])
        self._per_input_updates[key] = self._per_input_updates[key] + updates

    def get_updates_for(self, inputs):
        """The updates added for ``inputs`` (``None``: the unconditional ones)."""
        if not self.trainable and not self.stateful:
            return []
        return list(self._per_input_updates.get(_object_key(inputs), []))

    def get_losses_for(self, inputs):
        """The losses added for ``inputs`` (``None``: the unconditional ones)."""
        return list(self._per_input_losses.get(_object_key(inputs), []))

    # -- the API subclasses implement ---------------------------------------------------------
    def build(self, input_shape):
        """Create the weights, given the input shape(s) (batch axis ``None``)."""
        self.built = True

    def call(self, inputs, **kwargs):
        """The layer's computation; the base layer returns its input."""
        return inputs

    def compute_output_shape(self, input_shape):
        """The output shape(s) for the input shape(s); the base layer keeps the shape."""
        return input_shape

    def compute_mask(self, inputs, mask=None):
        """The output mask. Layers that do not support masking reject a mask."""
        if not self.supports_masking:
            if mask is not None:
                for m in to_list(mask, allow_tuple=True):
                    if m is not None:
                        raise TypeError(f"Layer {self.name} does not support masking, but was "
                                        f"passed an input mask")
            return None
        return mask

    def get_config(self):
        """The arguments that rebuild this layer (a JSON-serialisable dict)."""
        config = {'name': self.name, 'trainable': self.trainable}
        if hasattr(self, 'batch_input_shape'):
            config['batch_input_shape'] = self.batch_input_shape
        if hasattr(self, 'dtype'):
            config['dtype'] = self.dtype
        return config

    @classmethod
    def from_config(cls, config):
        """A layer from the dict ``get_config`` returned."""
        return cls(**config)

    # -- calling ------------------------------------------------------------------------------
    def assert_input_compatibility(self, inputs):
        """Check inputs against ``self.input_spec``; a ValueError names the layer and the
        expected vs. actual shape."""
        if not self.input_spec:
            return
        inputs = to_list(inputs, allow_tuple=True)
        specs = to_list(self.input_spec, allow_tuple=True)
        if len(inputs) != len(specs):
            raise ValueError(f"Layer {self.name} expects {len(specs)} input(s), but it "
                             f"received {len(inputs)} input tensors")
        for i, (x, spec) in enumerate(zip(inputs, specs)):
            if spec is None:
                continue
            if not isinstance(x, Value):
                raise ValueError(f"Layer {self.name} was called with an input that is not a "
                                 f"symbolic tensor ({type(x).__name__}); all inputs to a layer "
                                 f"must be tensors")
            shape = static_shape(x)
            where = f"Input {i} is incompatible with layer {self.name}"
            if spec.ndim is not None and len(shape) != spec.ndim:
                raise ValueError(f"{where}: expected ndim={spec.ndim}, found ndim="
                                 f"{len(shape)} (input shape {shape_text(shape)})")
            if spec.max_ndim is not None and len(shape) > spec.max_ndim:
                raise ValueError(f"{where}: expected max_ndim={spec.max_ndim}, found ndim="
                                 f"{len(shape)} (input shape {shape_text(shape)})")
            if spec.min_ndim is not None and len(shape) < spec.min_ndim:
                raise ValueError(f"{where}: expected min_ndim={spec.min_ndim}, found ndim="
                                 f"{len(shape)} (input shape {shape_text(shape)})")
            if spec.dtype is not None and x.dtype != spec.dtype:
                raise ValueError(f"{where}: expected dtype={spec.dtype}, found dtype="
                                 f"{x.dtype}")
            for axis, value in spec.axes.items():
                if value is None:
                    continue
                if not -len(shape) <= axis < len(shape):
                    raise ValueError(f"{where}: expected an axis {axis} of size {value}, but "
                                     f"the input has shape {shape_text(shape)}")
                if shape[axis] not in (value, None):
                    raise ValueError(f"{where}: expected axis {axis} of input shape to have "
                                     f"value {value} but got shape {shape_text(shape)}")
            if spec.shape is not None:
                for want, got in zip(spec.shape, shape):
                    if want is not None and got is not None and want != got:
                        raise ValueError(f"{where}: expected shape={shape_text(spec.shape)}, "
                                         f"found shape={shape_text(shape)}")

    def __call__(self, inputs, **kwargs):
        """Apply the layer to tensor(s): builds it on first use, runs ``call`` inside the
        layer's name scope and records a Node when the inputs are Keras tensors.

        Args:
            inputs: a tensor or a list of tensors.
            **kwargs: passed to ``call`` (e.g. ``training``, ``mask``).
        Returns:
            The output tensor(s).
        """
        if isinstance(inputs, list):
            # Keras 2 passes a one-element list on as its element (e.g. the output of
            # K.gradients, a list, wrapped in a Lambda and fed to the next layer).
            inputs = inputs[0] if len(inputs) == 1 else inputs[:]
        with name_scope(self.name):
            if not self.built:
                self.assert_input_compatibility(inputs)
                input_shapes = [static_shape(x) for x in to_list(inputs, allow_tuple=True)]
                self.build(unpack_singleton(input_shapes))
                self.built = True
                if self._initial_weights is not None:
                    self.set_weights(self._initial_weights)
                    self._initial_weights = None
            self.assert_input_compatibility(inputs)

            input_list = to_list(inputs, allow_tuple=True)
            masks = [getattr(x, '_keras_mask', None) for x in input_list]
            previous_mask = None if all(m is None for m in masks) else unpack_singleton(masks)
            user_kwargs = dict(kwargs)
            if has_arg(self.call, 'mask') and 'mask' not in kwargs:
                kwargs['mask'] = previous_mask

            output = self.call(inputs, **kwargs)
            output_mask = self.compute_mask(inputs, previous_mask)

            output_list = to_list(output, allow_tuple=True)
            # A layer that returns its input unchanged still needs a tensor of its own, to
            # carry its own history.
            input_ids = {id(x) for x in input_list}
            output_list = [K.identity(x) if id(x) in input_ids else x for x in output_list]
            # one output comes back as a tensor, even from a call that returned [tensor]
            output = output_list if len(output_list) != 1 else output_list[0]

            if all(is_keras_tensor(x) for x in input_list):
                input_shapes = [static_shape(x) for x in input_list]
                output_shapes = self.compute_output_shape(unpack_singleton(input_shapes))
                if len(output_list) == 1 and not (
                        isinstance(output_shapes, list) and output_shapes
                        and isinstance(output_shapes[0], (tuple, list))):
                    output_shapes = [output_shapes]
                uses_lp = any(getattr(x, '_uses_learning_phase', False) for x in input_list)
                out_masks = to_list(output_mask, allow_tuple=True) if output_mask is not None \
                    else [None] * len(output_list)
                for i, x in enumerate(output_list):
                    x._keras_shape = tuple(output_shapes[i]) if output_shapes[i] is not None \
                        else static_shape(x)
                    x._uses_learning_phase = getattr(x, '_uses_learning_phase', False) or uses_lp
                    x._keras_mask = out_masks[i] if i < len(out_masks) else None
                self._add_inbound_node(input_list, output_list, masks, out_masks, input_shapes,
                                       [x._keras_shape for x in output_list], user_kwargs)
            else:
                for i, x in enumerate(output_list):
                    m = to_list(output_mask)[i] if output_mask is not None else None
                    x._keras_mask = m

            regularizer = getattr(self, 'activity_regularizer', None)
            if regularizer is not None:
                with name_scope('activity_regularizer'):
                    penalties = [regularizer(x) for x in output_list]
                self.add_loss(penalties, input_list)
        return output

    def _add_inbound_node(self, input_tensors, output_tensors, input_masks, output_masks,
                          input_shapes, output_shapes, arguments=None):
        inbound_layers, node_indices, tensor_indices = [], [], []
        for x in input_tensors:
            layer, node_index, tensor_index = x._keras_history
            inbound_layers.append(layer)
            node_indices.append(node_index)
            tensor_indices.append(tensor_index)
        Node(self, inbound_layers, node_indices, tensor_indices, input_tensors, output_tensors,
             input_masks, output_masks, input_shapes, output_shapes, arguments)
        node_index = len(self._inbound_nodes) - 1
        for i, x in enumerate(output_tensors):
            x._keras_history = (self, node_index, i)

    # -- node bookkeeping ---------------------------------------------------------------------
    def _node_attribute(self, node_index, attr, attr_name):
        if not self._inbound_nodes:
            raise AttributeError(f"The layer {self.name} has never been called and thus has "
                                 f"no defined {attr_name}")
        if not -len(self._inbound_nodes) <= node_index < len(self._inbound_nodes):
            raise ValueError(f"Asked to get {attr_name} at node {node_index}, but the layer "
                             f"{self.name} has only {len(self._inbound_nodes)} inbound nodes")
        values = getattr(self._inbound_nodes[node_index], attr)
        return unpack_singleton(values)

    def get_input_at(self, node_index):
        """The input tensor(s) of the layer's call number ``node_index``."""
        return self._node_attribute(node_index, 'input_tensors', 'input')

    def get_output_at(self, node_index):
        """The output tensor(s) of the layer's call number ``node_index``."""
        return self._node_attribute(node_index, 'output_tensors', 'output')

    def get_input_shape_at(self, node_index):
        """The input shape(s) of the layer's call number ``node_index``."""
        return self._node_attribute(node_index, 'input_shapes', 'input shape')

    def get_output_shape_at(self, node_index):
        """The output shape(s) of the layer's call number ``node_index``."""
        return self._node_attribute(node_index, 'output_shapes', 'output shape')

    def get_input_mask_at(self, node_index):
        return self._node_attribute(node_index, 'input_masks', 'input mask')

    def get_output_mask_at(self, node_index):
        return self._node_attribute(node_index, 'output_masks', 'output mask')

    def _single_node(self, what, method):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name} is not connected, no {what} to return "
                                 f"(call it on a tensor first)")
        if len(self._inbound_nodes) > 1:
            raise AttributeError(
                f"Layer {self.name} has multiple inbound nodes, hence the notion of \"layer "
                f"{what}\" is ill-defined. Use `{method}(node_index)` instead.")
        return 0

    @property
    def input(self):
        """The input tensor(s) of a layer called exactly once."""
        return self._node_attribute(self._single_node('input', 'get_input_at'), 'input_tensors',
                                    'input')

    @property
    def output(self):
        """The output tensor(s) of a layer called exactly once."""
        return self._node_attribute(self._single_node('output', 'get_output_at'),
                                    'output_tensors', 'output')

    @property
    def input_mask(self):
        return self._node_attribute(self._single_node('input mask', 'get_input_mask_at'),
                                    'input_masks', 'input mask')

    @property
    def output_mask(self):
        return self._node_attribute(self._single_node('output mask', 'get_output_mask_at'),
                                    'output_masks', 'output mask')

    def _unique_shape(self, attr, what, method):
        if not self._inbound_nodes:
            raise AttributeError(f"The layer {self.name} has never been called and thus has "
                                 f"no defined {what}")
        shapes = {repr(getattr(n, attr)) for n in self._inbound_nodes}
        if len(shapes) > 1:
            raise AttributeError(
                f"The layer {self.name} has multiple inbound nodes, with different {what}s. "
                f"Hence the notion of \"{what}\" is ill-defined for the layer. Use "
                f"`{method}(node_index)` instead.")
        return unpack_singleton(getattr(self._inbound_nodes[0], attr))

    @property
    def input_shape(self):
        """The input shape (batch axis None); defined when every call had the same shape."""
        return self._unique_shape('input_shapes', 'input shape', 'get_input_shape_at')

    @property
    def output_shape(self):
        """The output shape (batch axis None); defined when every call had the same shape."""
        return self._unique_shape('output_shapes', 'output shape', 'get_output_shape_at')

    # -- weights ------------------------------------------------------------------------------
    def count_params(self):
        """The number of scalars in the layer's weights (the layer must be built)."""
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on {self.name}, but the layer "
                             f"isn't built. You can build it manually via "
                             f"`{self.name}.build(batch_input_shape)`.")
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    def get_weights(self):
        """The weights' current values, as a list of numpy arrays (copies)."""
        return K.batch_get_value(self.weights)

    def set_weights(self, weights):
        """Set the weights from a list of numpy arrays (same order and shapes as
        ``get_weights()``); a ValueError names the layer and the mismatching shapes."""
        params = self.weights
        if len(params) != len(weights):
            raise ValueError(f"You called `set_weights(weights)` on layer \"{self.name}\" with "
                             f"a weight list of length {len(weights)}, but the layer was "
                             f"expecting {len(params)} weights")
        pairs = []
        for p, w in zip(params, weights):
            w = np.asarray(w)
            if tuple(p.shape) != tuple(w.shape):
                raise ValueError(f"Layer weight shape {tuple(p.shape)} of {p.name} not "
                                 f"compatible with provided weight shape {tuple(w.shape)}")
            pairs.append((p, w))
        K.batch_set_value(pairs)

    def __repr__(self):
        return f"<{type(self).__name__} {self.name}>"
