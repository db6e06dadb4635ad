"""Keras 2's ``keras.engine.topology``: the names Keras 2.2 kept there when it split the
engine into base_layer / input_layer / network (Keras 2.0 / 2.1 programs import them from
here).

Example:
    >>> from graphc.engine.topology import Input, Layer, Network
"""
from ..utils.layer_utils import get_source_inputs  # noqa: F401
from .base_layer import InputSpec, Layer, Node  # noqa: F401
from .input_layer import Input, InputLayer  # noqa: F401
from .network import Network  # noqa: F401

# Keras 2.0's name of the functional container.
Container = Network

__all__ = ['Layer', 'Node', 'InputSpec', 'Input', 'InputLayer', 'Network', 'Container',
           'get_source_inputs']
