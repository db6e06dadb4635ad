"""Helpers over layers and models (Keras 2's ``keras.utils.layer_utils``): the summary table,
parameter counts, kernel conversion between convolution conventions, and the source inputs
of a tensor.

Example:
    >>> from graphc.utils.layer_utils import count_params
    >>> count_params(model.trainable_weights)
    50
"""
from __future__ import annotations

import numpy as np

from .conv_utils import convert_kernel

__all__ = ['count_params', 'print_summary', 'convert_all_kernels_in_model',
           'convert_dense_weights_data_format', 'get_source_inputs']

# layer classes whose `kernel` is a convolution kernel (spatial axes first)
_CONV_LAYERS = ('Conv1D', 'Conv2D', 'Conv3D', 'Conv2DTranspose', 'Conv3DTranspose')


def count_params(weights):
    """The number of scalars in a list of weights, each distinct variable counted once.

    Args:
        weights: a list of variables (e.g. ``model.trainable_weights``).

    Returns:
        An int.

    Example:
        >>> count_params([K.variable(np.zeros((2, 3)))])
        6
    """
    seen, total = set(), 0
    for w in weights:
        if id(w) in seen:
            continue
        seen.add(id(w))
        total += int(np.prod([int(d) for d in w.shape], dtype=np.int64))
    return total


def print_summary(model, line_length=None, positions=None, print_fn=None):
    """Print a table of ``model``'s layers, output shapes and parameter counts.

    Args:
        model: a built Model or Sequential.
        line_length: the table's width (65 for sequential models, 98 otherwise).
        positions: where each column ends (fractions <= 1 of line_length, or absolute).
        print_fn: a function called with each line (default ``print``).

    Example:
        >>> print_summary(model, print_fn=lines.append)
    """
    from ..engine.summary import print_summary as impl
    return impl(model, line_length=line_length, positions=positions, print_fn=print_fn)


def _layers_of(model):
    for layer in getattr(model, 'layers', []):
        yield layer
        if hasattr(layer, 'layers'):   # a nested model
            yield from _layers_of(layer)


def convert_all_kernels_in_model(model):
    """Flip the spatial axes of every convolution kernel of ``model`` in place (to use
    weights trained with a backend that convolves where this one cross-correlates, or the
    other way round, e.g. Theano's kernels).

    Args:
        model: a built model.

    Returns:
        The number of kernels converted.

    Example:
        >>> convert_all_kernels_in_model(model)
        2
    """
    from .. import backend as K
    converted = []
    for layer in _layers_of(model):
        kernel = getattr(layer, 'kernel', None)
        if type(layer).__name__ in _CONV_LAYERS and kernel is not None:
            converted.append((kernel, convert_kernel(K.get_value(kernel))))
    K.batch_set_value(converted)
    return len(converted)


def convert_dense_weights_data_format(dense, previous_feature_map_shape,
                                      target_data_format='channels_first'):
    """Reorder the rows of a Dense kernel that follows a Flatten, after the feature maps
    before the Flatten changed data format.

    Args:
        dense: the Dense layer (built).
        previous_feature_map_shape: the shape of the feature maps before the Flatten, in the
            ORIGINAL format, without the batch axis, e.g. ``(8, 8, 16)``.
        target_data_format: the NEW format of those feature maps: 'channels_first' (the
            model was trained channels_last) or 'channels_last'.

    Example:
        >>> convert_dense_weights_data_format(model.layers[-1], (4, 4, 3))
    """
    if target_data_format not in ('channels_first', 'channels_last'):
        raise ValueError(f"target_data_format must be 'channels_first' or 'channels_last', "
                         f"got {target_data_format!r}")
    shape = tuple(int(d) for d in previous_feature_map_shape)
    kernel, *rest = dense.get_weights()
    if kernel.shape[0] != int(np.prod(shape)):
        raise ValueError(f"{dense.name}: its kernel has {kernel.shape[0]} input rows, but "
                         f"previous_feature_map_shape {shape} flattens to {int(np.prod(shape))}")
    rows = np.arange(kernel.shape[0]).reshape(shape)
    if target_data_format == 'channels_first':   # old rows: (..., c); new order: (c, ...)
        order = np.moveaxis(rows, -1, 0)
    else:                                          # old rows: (c, ...); new order: (..., c)
        order = np.moveaxis(rows, 0, -1)
    dense.set_weights([kernel[order.reshape(-1)]] + rest)


def get_source_inputs(tensor, layer=None, node_index=None):
    """The input tensors (of ``Input`` layers) that ``tensor`` is computed from.

    Args:
        tensor: a tensor made by layers (a Keras tensor), or any other tensor.
        layer: start from this layer instead of the tensor's own.
        node_index: start from this node of ``layer``.

    Returns:
        A list of tensors, each once, in the order they are reached; ``[tensor]`` for a
        tensor that no layer made.

    Example:
        >>> a, b = Input((2,)), Input((2,))
        >>> get_source_inputs(Add()([a, b])) == [a, b]
        True
    """
    if not hasattr(tensor, '_keras_history'):
        return [tensor]
    if layer is None or node_index is None:
        layer, node_index, _ = tensor._keras_history
    if not layer._inbound_nodes:
        return [tensor]
    node = layer._inbound_nodes[node_index]
    if not node.inbound_layers:   # an input layer: its node holds the input tensor
        return list(node.input_tensors)
    sources = []
    for i, inbound in enumerate(node.inbound_layers):
        for x in get_source_inputs(node.input_tensors[i], inbound, node.node_indices[i]):
            if not any(x is s for s in sources):
                sources.append(x)
    return sources
