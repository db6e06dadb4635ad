"""Network: a directed acyclic graph of layers, built from input and output tensors.

``Network(inputs, outputs)`` walks the layer histories back from ``outputs`` to ``inputs``,
orders the layers by depth (inputs deepest), and can then run the same graph on new tensors
(a model is callable like a layer, with its own weights), compute output shapes, serialise
itself (Keras 2's functional config) and report its weights, losses and updates.
"""
from __future__ import annotations

import json
import warnings

from .. import backend as K
from ..ir.node import name_scope
from ..utils.generic_utils import has_arg, to_list, unpack_singleton
from .base_layer import InputSpec, Layer, Node, is_keras_tensor, static_shape
from .input_layer import InputLayer


def _unique(tensors):
    """The tensors in order, each once (by identity)."""
    seen, out = set(), []
    for x in tensors:
        if id(x) not in seen:
            seen.add(id(x))
            out.append(x)
    return out


def _node_key(layer, node_index):
    return f'{layer.name}_ib-{node_index}'


class Network(Layer):
    """A graph of layers with inputs and outputs; the base of ``Model``.

    Args:
        inputs: an input tensor (from ``Input``) or a list of them.
        outputs: an output tensor or a list of them, computed from ``inputs`` by layers.
        name: the model's name.

    Example:
        >>> x = Input(shape=(4,))
        >>> net = Network(x, Dense(2)(x))
    """

    def __init__(self, *args, **kwargs):
        names = ('inputs', 'outputs', 'name')
        for name, value in zip(names, args):
            if name in kwargs:
                raise TypeError(f"{type(self).__name__} got several values for {name!r}")
            kwargs[name] = value
        if 'input' in kwargs and 'inputs' not in kwargs:   # Keras 1 spelling
            kwargs['inputs'] = kwargs.pop('input')
        if 'output' in kwargs and 'outputs' not in kwargs:
            kwargs['outputs'] = kwargs.pop('output')
        if kwargs.get('inputs') is not None and kwargs.get('outputs') is not None:
            self._init_graph_network(kwargs.pop('inputs'), kwargs.pop('outputs'),
                                     kwargs.pop('name', None))
            if kwargs:
                raise TypeError(f"{type(self).__name__}: unknown keyword argument(s) "
                                f"{sorted(kwargs)}")
        elif kwargs.get('inputs') is not None or kwargs.get('outputs') is not None:
            raise ValueError("A functional model needs both `inputs` and `outputs`, e.g. "
                             "Model(inputs=x, outputs=y)")
        else:
            kwargs.pop('inputs', None)
            kwargs.pop('outputs', None)
            self._init_empty_network(**kwargs)

    def _base_init(self, name):
        if not name:
            prefix = 'sequential' if type(self).__name__ == 'Sequential' else 'model'
            name = f'{prefix}_{K.get_uid(prefix)}'
        Layer.__init__(self, name=name)
        self.supports_masking = False
        self.optimizer = None
        self.stop_training = False
        self._compiled = False

    def _init_empty_network(self, name=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unknown keyword argument(s) "
                            f"{sorted(kwargs)}")
        self._base_init(name)
        self._is_graph_network = False
        self._layers = []
        self.inputs, self.outputs = [], []
        self._input_layers, self._output_layers = [], []
        self._input_coordinates, self._output_coordinates = [], []
        self.input_names, self.output_names = [], []
        self._feed_inputs, self._feed_input_names, self._feed_input_shapes = [], [], []
        self._nodes_by_depth = {}
        self._network_nodes = set()
        self.built = False

    def _init_graph_network(self, inputs, outputs, name=None):
        self._base_init(name)
        self._set_graph(inputs, outputs)

    def _set_graph(self, inputs, outputs):
        """Make this network the graph from ``inputs`` to ``outputs`` (also used by
        Sequential each time a layer is added)."""
        self._is_graph_network = True
        self.inputs = list(to_list(inputs, allow_tuple=True))
        self.outputs = list(to_list(outputs, allow_tuple=True))
        if len({id(x) for x in self.inputs}) != len(self.inputs):
            raise ValueError("The list of inputs passed to the model is redundant: all inputs "
                             "should only appear once")
        if len({id(x) for x in self.outputs}) != len(self.outputs):
            # Keras 2 accepts a repeated output (each copy gets its own loss) with a warning.
            warnings.warn("The list of outputs passed to the model is redundant: all outputs "
                          "should only appear once. Found: "
                          f"{[getattr(x, 'name', x) for x in self.outputs]}", stacklevel=3)
        for kind, tensors in (('inputs', self.inputs), ('outputs', self.outputs)):
            for x in tensors:
                if not is_keras_tensor(x):
                    raise ValueError(
                        f"{type(self).__name__} {kind} must be tensors produced by graphc "
                        f"layers (e.g. from graphc.layers.Input); found {x!r}")
        for x in self.inputs:
            layer, node_index, _ = x._keras_history
            if not isinstance(layer, InputLayer) or node_index != 0:
                raise ValueError(
                    f"Model inputs must come from `graphc.layers.Input` (thus holding past "
                    f"layer metadata); the tensor {x.name!r} was produced by layer "
                    f"{layer.name!r}. Use Input() for every model input.")

        self._input_layers, self._input_coordinates = [], []
        for x in self.inputs:
            layer, node_index, tensor_index = x._keras_history
            self._input_layers.append(layer)
            self._input_coordinates.append((layer, node_index, tensor_index))
        self._output_layers, self._output_coordinates = [], []
        for x in self.outputs:
            layer, node_index, tensor_index = x._keras_history
            self._output_layers.append(layer)
            self._output_coordinates.append((layer, node_index, tensor_index))

        self._build_topology()

        self.input_names = [layer.name for layer in self._input_layers]
        self.output_names = [layer.name for layer in self._output_layers]
        self._feed_inputs, self._feed_input_names, self._feed_input_shapes = [], [], []
        for layer in self._input_layers:
            if layer.is_placeholder:
                self._feed_inputs.append(layer.output)
                self._feed_input_names.append(layer.name)
                self._feed_input_shapes.append(layer.batch_input_shape)

        masks = [getattr(x, '_keras_mask', None) for x in self.outputs]
        # The network's own first node links its inputs to its outputs.
        Node(self, inbound_layers=[], node_indices=[], tensor_indices=[],
             input_tensors=self.inputs, output_tensors=self.outputs,
             input_masks=[None] * len(self.inputs), output_masks=masks,
             input_shapes=[static_shape(x) for x in self.inputs],
             output_shapes=[static_shape(x) for x in self.outputs])
        self.built = True

    def _build_topology(self):
        """Find the layers and nodes between inputs and outputs and order them by depth."""
        network_nodes = set()
        layer_indices = {}
        ordered = []          # nodes, inputs before the nodes that use them
        finished, in_progress = set(), set()

        def visit(layer, node_index):
            node = layer._inbound_nodes[node_index]
            if node in in_progress:
                raise ValueError(f"The layer {layer.name!r} is part of a cycle")
            if node in finished:
                return
            network_nodes.add(_node_key(layer, node_index))
            layer_indices.setdefault(layer, len(layer_indices))
            in_progress.add(node)
            for inbound, n_index in zip(node.inbound_layers, node.node_indices):
                visit(inbound, n_index)
            in_progress.discard(node)
            finished.add(node)
            ordered.append(node)

        for x in self.outputs:
            layer, node_index, _ = x._keras_history
            visit(layer, node_index)

        nodes_depths, layers_depths = {}, {}
        for node in reversed(ordered):
            depth = max(nodes_depths.setdefault(node, 0),
                        layers_depths.get(node.outbound_layer, 0))
            layers_depths[node.outbound_layer] = depth
            nodes_depths[node] = depth
            for inbound, n_index in zip(node.inbound_layers, node.node_indices):
                previous = inbound._inbound_nodes[n_index]
                nodes_depths[previous] = max(depth + 1, nodes_depths.get(previous, 0))

        nodes_by_depth = {}
        for node, depth in nodes_depths.items():
            nodes_by_depth.setdefault(depth, []).append(node)
        layers_by_depth = {}
        for layer, depth in layers_depths.items():
            layers_by_depth.setdefault(depth, []).append(layer)
        layers = []
        for depth in sorted(layers_by_depth, reverse=True):
            layers.extend(sorted(layers_by_depth[depth], key=lambda la: layer_indices[la]))

        # Every tensor a node needs must be computable from the inputs.
        computable = {id(x) for x in self.inputs}
        done = []
        for depth in sorted(nodes_by_depth, reverse=True):
            for node in nodes_by_depth[depth]:
                for x in node.input_tensors:
                    if id(x) not in computable:
                        raise ValueError(
                            f"Graph disconnected: cannot obtain value for tensor {x.name!r} at "
                            f"layer {node.outbound_layer.name!r}. The following previous "
                            f"layers were accessed without issue: {done}")
                computable.update(id(x) for x in node.output_tensors)
                done.append(node.outbound_layer.name)

        names = [layer.name for layer in layers]
        for name in names:
            if names.count(name) != 1:
                raise ValueError(f"The name {name!r} is used {names.count(name)} times in the "
                                 f"model. All layer names should be unique.")
        self._network_nodes = network_nodes
        self._nodes_by_depth = nodes_by_depth
        self._layers = layers

    # -- what the model is made of ----------------------------------------------------------
    @property
    def layers(self):
        """The layers, inputs first, in the order the graph computes them."""
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        """A layer by ``name`` or by ``index`` (bottom-up: index 0 is the first layer).

        Raises:
            ValueError naming the valid names or the number of layers.
        """
        if index is not None:
            if len(self.layers) <= index:
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only "
                                 f"has {len(self.layers)} layers.")
            return self.layers[index]
        if not name:
            raise ValueError("Provide either a layer name or layer index.")
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. The model's layers are: "
                         f"{[la.name for la in self.layers]}")

    @property
    def input(self):
        """The model's input tensor (a list if it has several)."""
        self._require_graph('input')
        return unpack_singleton(self.inputs)

    @property
    def output(self):
        """The model's output tensor (a list if it has several)."""
        self._require_graph('output')
        return unpack_singleton(self.outputs)

    @property
    def input_shape(self):
        self._require_graph('input_shape')
        return unpack_singleton([static_shape(x) for x in self.inputs])

    @property
    def output_shape(self):
        self._require_graph('output_shape')
        return unpack_singleton([static_shape(x) for x in self.outputs])

    def _require_graph(self, what):
        if not self.built or not self._is_graph_network:
            raise AttributeError(f"The model {self.name} has not been built yet, so it has no "
                                 f"{what}: give its first layer an input_shape, or call it on "
                                 f"data (fit / predict) first")

    @property
    def input_spec(self):
        if not getattr(self, '_is_graph_network', False) or not self.built:
            return None
        specs = [InputSpec(shape=layer.batch_input_shape, dtype=None)
                 for layer in self._input_layers]
        return unpack_singleton(specs)

    @input_spec.setter
    def input_spec(self, value):
        pass  # derived from the input layers

    def _unique(self, items):
        seen, out = set(), []
        for w in items:
            if id(w) not in seen:
                seen.add(id(w))
                out.append(w)
        return out

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return self._unique([w for layer in self.layers for w in layer.trainable_weights])

    @trainable_weights.setter
    def trainable_weights(self, value):
        pass

    @property
    def non_trainable_weights(self):
        weights = [w for layer in self.layers for w in layer.non_trainable_weights]
        if not self.trainable:
            weights = [w for layer in self.layers for w in layer.trainable_weights] + weights
        return self._unique(weights)

    @non_trainable_weights.setter
    def non_trainable_weights(self, value):
        pass

    def _layer_order_weights(self):
        return self._unique([w for layer in self.layers for w in layer.weights])

    def get_weights(self):
        """All weights' values, layer by layer (the order of Keras's HDF5 files)."""
        return K.batch_get_value(self._layer_order_weights())

    def set_weights(self, weights):
        """Set all weights from a list in the order of ``get_weights()``."""
        params = self._layer_order_weights()
        if len(params) != len(weights):
            raise ValueError(f"Model {self.name} has {len(params)} weights, but set_weights "
                             f"was given a list of {len(weights)}")
        pairs = []
        for p, w in zip(params, weights):
            if tuple(p.shape) != tuple(getattr(w, 'shape', ())):
                raise ValueError(f"Weight {p.name} of model {self.name} has shape "
                                 f"{tuple(p.shape)}, but the value given has shape "
                                 f"{tuple(getattr(w, 'shape', ()))}")
            pairs.append((p, w))
        K.batch_set_value(pairs)

    def count_params(self):
        return int(sum(layer.count_params() for layer in self.layers))

    @property
    def uses_learning_phase(self):
        return any(getattr(x, '_uses_learning_phase', False) for x in self.outputs)

    @property
    def stateful(self):
        return any(getattr(layer, 'stateful', False) for layer in self.layers)

    @stateful.setter
    def stateful(self, value):
        pass

    def reset_states(self):
        for layer in self.layers:
            if hasattr(layer, 'reset_states') and getattr(layer, 'stateful', False):
                layer.reset_states()

    def _owned_node_inputs(self, layer):
        for node_index, node in enumerate(layer._inbound_nodes):
            if _node_key(layer, node_index) in self._network_nodes:
                yield node.input_tensors

    @property
    def updates(self):
        """The layers' update pairs that belong to this model's graph (e.g. BN statistics)."""
        if not self.trainable and not self.stateful:
            return []
        updates = []
        for layer in self.layers:
            for inputs in self._owned_node_inputs(layer):
                updates += layer.get_updates_for(inputs)
            updates += layer.get_updates_for(None)
        return self._unique_updates(updates + list(self._per_input_updates.get(None, [])))

    @staticmethod
    def _unique_updates(updates):
        seen, out = set(), []
        for u in updates:
            key = id(u) if not isinstance(u, tuple) else (id(u[0]), id(u[1]))
            if key not in seen:
                seen.add(key)
                out.append(u)
        return out

    @property
    def state_updates(self):
        """Updates of stateful layers (RNN states), applied by predict as well."""
        out = []
        for layer in self.layers:
            if getattr(layer, 'stateful', False) and hasattr(layer, 'updates'):
                out += layer.updates
        return out

    def get_updates_for(self, inputs):
        """As a layer's; the unconditional ones (``inputs=None``) include those of the layers
        inside, so a nested model's own updates reach the model that calls it."""
        updates = super().get_updates_for(inputs)
        if inputs is None and (self.trainable or self.stateful):
            for layer in self.layers:
                updates += layer.get_updates_for(None)
        return self._unique_updates(updates)

    def get_losses_for(self, inputs):
        """As a layer's; the unconditional ones (``inputs=None``) include those of the layers
        inside: the weight regularizers of a nested model count in the outer model's loss."""
        losses = super().get_losses_for(inputs)
        if inputs is None:
            for layer in self.layers:
                losses += layer.get_losses_for(None)
        return _unique(losses)

    @property
    def losses(self):
        """Losses of the layers (regularization) that belong to this model's graph."""
        losses = []
        for layer in self.layers:
            for inputs in self._owned_node_inputs(layer):
                losses += layer.get_losses_for(inputs)
            losses += layer.get_losses_for(None)
        losses += self._per_input_losses.get(None, [])
        return _unique(losses)

    # -- running the graph on new tensors ----------------------------------------------------
    def call(self, inputs, mask=None):
        outputs, _ = self.run_internal_graph(to_list(inputs, allow_tuple=True),
                                             to_list(mask, allow_tuple=True) if mask is not None
                                             else None)
        return unpack_singleton(outputs)

    def compute_mask(self, inputs, mask=None):
        inputs = to_list(inputs, allow_tuple=True)
        if mask is None or all(m is None for m in to_list(mask, allow_tuple=True)):
            if all(getattr(x, '_keras_mask', None) is None for x in self.outputs):
                return None
        _, masks = self.run_internal_graph(inputs, to_list(mask, allow_tuple=True)
                                           if mask is not None else None)
        return unpack_singleton(masks)

    def run_internal_graph(self, inputs, masks=None):
        """Compute the model's outputs (and masks) from new input tensors.

        Returns:
            ``(output_tensors, output_masks)``, lists.
        """
        if len(inputs) != len(self.inputs):
            raise ValueError(f"Model {self.name} expects {len(self.inputs)} input(s) but was "
                             f"called on {len(inputs)}")
        masks = masks or [None] * len(inputs)
        tensor_map = {}
        for ref, x, m in zip(self.inputs, inputs, masks):
            tensor_map[id(ref)] = (x, m)

        for depth in sorted(self._nodes_by_depth, reverse=True):
            for node in self._nodes_by_depth[depth]:
                layer = node.outbound_layer
                if all(id(x) in tensor_map for x in node.output_tensors):
                    continue  # input layers
                if not all(id(x) in tensor_map for x in node.input_tensors):
                    continue
                computed = [tensor_map[id(x)] for x in node.input_tensors]
                xs = [c[0] for c in computed]
                ms = [c[1] for c in computed]
                kwargs = dict(node.arguments)
                x_arg = unpack_singleton(xs)
                m_arg = None if all(m is None for m in ms) else unpack_singleton(ms)
                if has_arg(layer.call, 'mask') and 'mask' not in kwargs:
                    kwargs['mask'] = m_arg
                with name_scope(layer.name):
                    outs = to_list(layer.call(x_arg, **kwargs), allow_tuple=True)
                    out_masks = layer.compute_mask(x_arg, m_arg)
                    out_masks = to_list(out_masks, allow_tuple=True) if out_masks is not None \
                        else [None] * len(outs)
                    regularizer = getattr(layer, 'activity_regularizer', None)
                    if regularizer is not None:
                        with name_scope('activity_regularizer'):
                            layer.add_loss([regularizer(y) for y in outs], xs)
                # Losses and updates that depend on these inputs now belong to this call.
                self.add_update(layer.get_updates_for(xs), inputs)
                self.add_loss(layer.get_losses_for(xs), inputs)
                if all(hasattr(x, '_keras_shape') for x in xs):
                    shapes = layer.compute_output_shape(
                        unpack_singleton([x._keras_shape for x in xs]))
                    if len(outs) == 1 and not (isinstance(shapes, list) and shapes and
                                               isinstance(shapes[0], (tuple, list))):
                        shapes = [shapes]
                    for y, s in zip(outs, shapes):
                        if s is not None:
                            y._keras_shape = tuple(s)
                uses_lp = any(getattr(x, '_uses_learning_phase', False) for x in xs)
                for ref, y, m in zip(node.output_tensors, outs, out_masks):
                    if uses_lp or getattr(ref, '_uses_learning_phase', False):
                        y._uses_learning_phase = True
                    tensor_map[id(ref)] = (y, m)

        outputs, out_masks = [], []
        for ref in self.outputs:
            if id(ref) not in tensor_map:
                raise ValueError(f"Could not compute output {ref.name!r} of model {self.name}")
            y, m = tensor_map[id(ref)]
            outputs.append(y)
            out_masks.append(m)
        return outputs, out_masks

    def compute_output_shape(self, input_shape):
        """The output shape(s) for input shape(s), following the graph."""
        self._require_graph('output shape')
        shapes = to_list(input_shape)
        if len(self.inputs) == 1 and shapes and not isinstance(shapes[0], (tuple, list)):
            shapes = [tuple(input_shape)]
        if len(shapes) != len(self.inputs):
            raise ValueError(f"Model {self.name} expects {len(self.inputs)} input shape(s), "
                             f"got {len(shapes)}")
        shape_map = {id(ref): tuple(s) for ref, s in zip(self.inputs, shapes)}
        for depth in sorted(self._nodes_by_depth, reverse=True):
            for node in self._nodes_by_depth[depth]:
                if all(id(x) in shape_map for x in node.output_tensors):
                    continue
                if not all(id(x) in shape_map for x in node.input_tensors):
                    continue
                ins = unpack_singleton([shape_map[id(x)] for x in node.input_tensors])
                outs = node.outbound_layer.compute_output_shape(ins)
                if len(node.output_tensors) == 1 and not (
                        isinstance(outs, list) and outs and isinstance(outs[0], (tuple, list))):
                    outs = [outs]
                for ref, s in zip(node.output_tensors, outs):
                    shape_map[id(ref)] = tuple(s)
        return unpack_singleton([shape_map[id(x)] for x in self.outputs])

    def build(self, input_shape=None):
        if self._is_graph_network:
            self.built = True
            return
        raise NotImplementedError(f"{type(self).__name__} {self.name} cannot be built without "
                                  f"inputs")

    # -- serialisation -----------------------------------------------------------------------
    def _node_conversion_map(self):
        conversion = {}
        for layer in self.layers:
            kept = 1 if isinstance(layer, Network) and layer._is_graph_network else 0
            for node_index in range(len(layer._inbound_nodes)):
                key = _node_key(layer, node_index)
                if key in self._network_nodes:
                    conversion[key] = kept
                    kept += 1
        return conversion

    def get_config(self):
        """The functional model config of Keras 2: name, layers (with inbound nodes), input
        and output layers."""
        self._require_graph('config')
        conversion = self._node_conversion_map()
        layer_configs = []
        for layer in self.layers:
            inbound = []
            for node_index, node in enumerate(layer._inbound_nodes):
                if _node_key(layer, node_index) not in self._network_nodes:
                    continue
                kwargs = {}
                if node.arguments:
                    try:
                        json.dumps(node.arguments)
                        kwargs = node.arguments
                    except TypeError:
                        kwargs = {}
                if node.inbound_layers:
                    node_data = []
                    for inbound_layer, n_index, t_index in zip(
                            node.inbound_layers, node.node_indices, node.tensor_indices):
                        new_index = conversion.get(_node_key(inbound_layer, n_index), 0)
                        node_data.append([inbound_layer.name, new_index, t_index, kwargs])
                    inbound.append(node_data)
            layer_configs.append({'name': layer.name, 'class_name': type(layer).__name__,
                                  'config': layer.get_config(), 'inbound_nodes': inbound})

        def coordinates(coords):
            out = []
            for layer, node_index, tensor_index in coords:
                key = _node_key(layer, node_index)
                out.append([layer.name, conversion.get(key, 0), tensor_index])
            return out

        return {'name': self.name, 'layers': layer_configs,
                'input_layers': coordinates(self._input_coordinates),
                'output_layers': coordinates(self._output_coordinates)}

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        """Rebuild a functional model from ``get_config()``'s dict (fresh weights).

        ``safe_mode`` (default: the enclosing setting, safe unless
        ``graphc.config.enable_unsafe_deserialization()`` was called) refuses a Lambda's
        saved bytecode; ``safe_mode=False`` loads it (only for configs you trust).

        Example:
            >>> clone = Model.from_config(model.get_config())
        """
        from ..utils.safe_mode import SafeModeScope
        with SafeModeScope(safe_mode):
            return cls._from_config(config, custom_objects)

    @classmethod
    def _from_config(cls, config, custom_objects):
        from ..layers import deserialize as deserialize_layer
        created = {}
        pending = {}

        def queue(layer, node_data):
            pending.setdefault(layer, []).append(node_data)

        def process_node(layer, node_data):
            tensors, kwargs = [], {}
            for entry in node_data:
                inbound_name, node_index, tensor_index = entry[0], entry[1], entry[2]
                kwargs = entry[3] if len(entry) > 3 else {}
                inbound = created[inbound_name]
                if len(inbound._inbound_nodes) <= node_index:
                    queue(layer, node_data)
                    return
                tensors.append(inbound._inbound_nodes[node_index].output_tensors[tensor_index])
            if tensors:
                layer(unpack_singleton(tensors), **(kwargs or {}))

        for layer_data in config['layers']:
            layer = deserialize_layer(layer_data, custom_objects=custom_objects)
            created[layer_data['name']] = layer
            for node_data in layer_data.get('inbound_nodes', []):
                queue(layer, node_data)
        guard = 0
        while pending:
            guard += 1
            if guard > len(config['layers']) + 100:
                raise ValueError("Could not rebuild the model from its config: some layers' "
                                 "inputs never became available (a cycle or a missing layer)")
            for layer_data in config['layers']:
                layer = created[layer_data['name']]
                if layer in pending:
                    for node_data in pending.pop(layer):
                        process_node(layer, node_data)

        def tensors(coords):
            return [created[name]._inbound_nodes[node_index].output_tensors[tensor_index]
                    for name, node_index, tensor_index in coords]

        return cls(inputs=tensors(config['input_layers']),
                   outputs=tensors(config['output_layers']), name=config.get('name'))

    def _updated_config(self):
        from .. import __version__
        return {'class_name': type(self).__name__, 'config': self.get_config(),
                'keras_version': '2.2.4', 'graphc_version': __version__, 'backend': 'graphc'}

    def to_json(self, **kwargs):
        """The model's architecture as a JSON string (``model_from_json`` rebuilds it).

        Args:
            **kwargs: passed to ``json.dumps`` (e.g. ``indent=2``).
        """
        def default(obj):
            if hasattr(obj, 'tolist'):
                return obj.tolist()
            if hasattr(obj, 'item'):
                return obj.item()
            raise TypeError(f"Not JSON serializable: {obj!r}")
        return json.dumps(self._updated_config(), default=default, **kwargs)

    def to_yaml(self, **kwargs):
        """The model's architecture as a YAML string (needs PyYAML)."""
        import yaml
        return yaml.dump(json.loads(self.to_json()), **kwargs)

    def __reduce__(self):
        # pickle.dumps(model): the model's saved HDF5 bytes (see graphc.engine.pickling)
        from .pickling import model_from_bytes, model_to_bytes
        return model_from_bytes, model_to_bytes(self)

    def save(self, filepath, overwrite=True, include_optimizer=True):
        """Save architecture, weights and optimizer state to one HDF5 file (graphc.saving)."""
        from .. import saving
        saving.save_model(self, filepath, overwrite=overwrite,
                          include_optimizer=include_optimizer)

    def save_weights(self, filepath, overwrite=True):
        """Save the weights to an HDF5 file in Keras 2's layout (graphc.saving)."""
        from .. import saving
        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, by_name=False, skip_mismatch=False, reshape=False):
        """Load weights saved by ``save_weights`` (or Keras 2) from an HDF5 file."""
        from .. import saving
        saving.load_weights(self, filepath, by_name=by_name, skip_mismatch=skip_mismatch,
                            reshape=reshape)

    def summary(self, line_length=None, positions=None, print_fn=None):
        """Print the model's layers as Keras's table (name (type), output shape, params,
        and for non-sequential graphs the inbound layers), then the totals.

        Args:
            line_length: total width of the table.
            positions: column ends (fractions of line_length or absolute).
            print_fn: called with each line (default ``print``).
        """
        from .summary import print_summary
        if not self.built:
            raise ValueError("This model has not yet been built. Build the model first by "
                             "calling it on data (fit / predict), or give its first layer an "
                             "input_shape argument.")
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn)
