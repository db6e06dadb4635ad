"""Models (``keras.models``): ``Sequential`` and the functional ``Model``, plus
``load_model`` / ``save_model`` / ``model_from_json`` / ``model_from_yaml`` /
``model_from_config`` from ``graphc.saving``.

Example:
    >>> from graphc.models import Sequential
    >>> from graphc.layers import Dense
    >>> model = Sequential([Dense(10, input_shape=(4,))])
"""
from __future__ import annotations

import importlib

from .engine.network import Network  # noqa: F401
from .engine.sequential import Sequential
from .engine.training import Model

_FROM_SAVING = ('load_model', 'save_model', 'model_from_json', 'model_from_yaml',
                'model_from_config')

__all__ = ['Model', 'Sequential', 'clone_model'] + list(_FROM_SAVING)


def __getattr__(name):
    """``load_model`` & co. live in graphc.saving; imported on first use."""
    if name in _FROM_SAVING:
        saving = importlib.import_module('graphc.saving')
        try:
            return getattr(saving, name)
        except AttributeError:
            raise AttributeError(f"graphc.saving has no {name!r}") from None
    raise AttributeError(f"module 'graphc.models' has no attribute {name!r}")


def _layer_classes(model):
    """name -> class of every layer of ``model``, nested models included, so that the
    clone's configs find the user's own layer classes."""
    classes, stack = {}, list(model.layers)
    while stack:
        layer = stack.pop()
        classes.setdefault(type(layer).__name__, type(layer))
        stack.extend(getattr(layer, 'layers', []))
    return classes


def _clone_layer(layer, classes):
    from .utils.generic_utils import CustomObjectScope
    from .utils.safe_mode import SafeModeScope
    # The configs come from the model in memory, not from a file: a Lambda's lambda is the
    # user's own code, so safe mode does not apply.
    with SafeModeScope(False), CustomObjectScope(classes):
        return type(layer).from_config(layer.get_config())


def _input_wrapper(x, name):
    from .engine.input_layer import Input
    return Input(tensor=x, name=f'input_wrapper_for_{name}')


def _clone_sequential(model, input_tensors, classes):
    from .engine.base_layer import is_keras_tensor
    from .engine.input_layer import InputLayer
    from .utils.generic_utils import to_list
    layers = [_clone_layer(la, classes) for la in model.layers]
    if input_tensors is None:
        clone = Sequential(layers=layers, name=model.name)
        if not clone.inputs and model.inputs:
            clone.build(model.inputs[0]._keras_shape)
        return clone
    given = to_list(input_tensors, allow_tuple=True)
    if len(given) != 1:
        raise ValueError(f"To clone a Sequential model, pass a single input tensor as "
                         f"input_tensors, got {len(given)}")
    x = given[0]
    if is_keras_tensor(x):
        origin = x._keras_history[0]
        if not isinstance(origin, InputLayer):
            raise ValueError(f"Cannot clone a Sequential model on top of a tensor that comes "
                             f"from layer {origin.name!r}, not from an InputLayer; use the "
                             f"functional API (graphc.models.Model) instead")
    else:
        x = _input_wrapper(x, getattr(x, 'name', model.name))
    return Sequential(layers=[x._keras_history[0]] + layers, name=model.name)


def _clone_functional(model, input_tensors, classes):
    from .engine.base_layer import is_keras_tensor
    from .engine.input_layer import Input, InputLayer
    from .utils.generic_utils import to_list, unpack_singleton
    if input_tensors is None:
        new_inputs = [Input(batch_shape=la.batch_input_shape, dtype=la.dtype, name=la.name)
                      for la in model._input_layers]
    else:
        given = to_list(input_tensors, allow_tuple=True)
        if len(given) != len(model.inputs):
            raise ValueError(f"Model {model.name!r} has {len(model.inputs)} input(s) but "
                             f"input_tensors holds {len(given)}")
        new_inputs = [x if is_keras_tensor(x) else _input_wrapper(x, la.name)
                      for x, la in zip(given, model._input_layers)]
    tensor_map = {id(ref): new for ref, new in zip(model.inputs, new_inputs)}
    layer_map = {}
    # Call a fresh copy of each layer, in the order of the original graph (shared layers
    # stay shared: one copy per layer).
    for depth in sorted(model._nodes_by_depth, reverse=True):
        for node in model._nodes_by_depth[depth]:
            layer = node.outbound_layer
            if isinstance(layer, InputLayer):
                continue
            if not all(id(x) in tensor_map for x in node.input_tensors):
                continue
            if id(layer) not in layer_map:
                layer_map[id(layer)] = _clone_layer(layer, classes)
            xs = unpack_singleton([tensor_map[id(x)] for x in node.input_tensors])
            outs = to_list(layer_map[id(layer)](xs, **node.arguments), allow_tuple=True)
            for ref, y in zip(node.output_tensors, outs):
                tensor_map[id(ref)] = y
    return Model(new_inputs, [tensor_map[id(x)] for x in model.outputs], name=model.name)


def clone_model(model, input_tensors=None):
    """A new model with the same architecture as ``model`` and freshly initialised weights
    (``keras.models.clone_model``): each layer is rebuilt from its config (user layer
    classes included) and called as in the original graph.

    Args:
        model: a Sequential or functional Model.
        input_tensors: optional tensor(s) to build the clone on: Input tensors, or other
            tensors (e.g. ``K.placeholder``), which are wrapped in new Input layers.
    Returns:
        The clone (a Sequential for a Sequential, a Model otherwise), with the same name.
    Raises:
        ValueError: input_tensors do not match the model's inputs, or a Sequential clone on a
            tensor made by a layer other than an InputLayer.

    Example:
        >>> clone = clone_model(model)
        >>> clone.set_weights(model.get_weights())
    """
    classes = _layer_classes(model)
    if isinstance(model, Sequential):
        return _clone_sequential(model, input_tensors, classes)
    if not getattr(model, '_is_graph_network', False):
        raise ValueError(f"clone_model needs a Sequential or functional model; "
                         f"{model.name!r} is a subclassed model")
    return _clone_functional(model, input_tensors, classes)
