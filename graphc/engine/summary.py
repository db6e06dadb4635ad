"""``model.summary()``: Keras's table of layers, output shapes and parameter counts."""
from __future__ import annotations

import numpy as np

from .base_layer import shape_text


def _is_sequential_like(model):
    """True when every layer has one node in the model with one input and one output."""
    if type(model).__name__ == 'Sequential':
        return True
    for depth_nodes in model._nodes_by_depth.values():
        if len(depth_nodes) > 1:
            return False
        for node in depth_nodes:
            if len(node.inbound_layers) > 1 or len(node.output_tensors) > 1:
                return False
    for layer in model.layers:
        owned = [i for i in range(len(layer._inbound_nodes))
                 if f'{layer.name}_ib-{i}' in model._network_nodes]
        if len(owned) > 1:
            return False
    return True


def _output_shape_text(layer):
    try:
        return shape_text(layer.output_shape)
    except AttributeError:
        return 'multiple'


def _weight_count(weights):
    return int(sum(int(np.prod(w.shape)) for w in weights))


def print_summary(model, line_length=None, positions=None, print_fn=None):
    """Print ``model``'s summary table.

    Args:
        model: a built Model or Sequential.
        line_length: the table's width (65 for sequential models, 98 otherwise).
        positions: where each column ends (fractions <= 1 of line_length, or absolute).
        print_fn: a function called with each line (default ``print``).

    Example:
        >>> print_summary(model, print_fn=lines.append)
    """
    print_fn = print_fn or print
    sequential_like = _is_sequential_like(model)
    if sequential_like:
        line_length = line_length or 65
        positions = positions or [.45, .85, 1.]
        header = ['Layer (type)', 'Output Shape', 'Param #']
    else:
        line_length = line_length or 98
        positions = positions or [.33, .55, .67, 1.]
        header = ['Layer (type)', 'Output Shape', 'Param #', 'Connected to']
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]

    def row(fields):
        line = ''
        for i, field in enumerate(fields):
            if i > 0:
                line = line[:-1] + ' '
            line += str(field)
            line = line[:positions[i]]
            line += ' ' * (positions[i] - len(line))
        print_fn(line)

    print_fn('_' * line_length)
    row(header)
    print_fn('=' * line_length)
    layers = model.layers
    for i, layer in enumerate(layers):
        name = f'{layer.name} ({type(layer).__name__})'
        params = layer.count_params() if layer.built else 0
        if sequential_like:
            row([name, _output_shape_text(layer), params])
        else:
            connections = []
            for node_index, node in enumerate(layer._inbound_nodes):
                if f'{layer.name}_ib-{node_index}' not in model._network_nodes:
                    continue
                for inbound, n_index, t_index in zip(node.inbound_layers, node.node_indices,
                                                     node.tensor_indices):
                    connections.append(f'{inbound.name}[{n_index}][{t_index}]')
            first = connections[0] if connections else ''
            row([name, _output_shape_text(layer), params, first])
            for extra in connections[1:]:
                row(['', '', '', extra])
        print_fn('=' * line_length if i == len(layers) - 1 else '_' * line_length)

    trainable = _weight_count(model.trainable_weights)
    non_trainable = _weight_count(model.non_trainable_weights)
    print_fn(f'Total params: {trainable + non_trainable:,}')
    print_fn(f'Trainable params: {trainable:,}')
    print_fn(f'Non-trainable params: {non_trainable:,}')
    print_fn('_' * line_length)
