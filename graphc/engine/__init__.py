"""The Keras 2 engine: Layer, Input / InputLayer, the functional Network / Model and
Sequential, with compile / fit / evaluate / predict."""
from .base_layer import InputSpec, Layer, Node, is_keras_tensor  # noqa: F401
from .input_layer import Input, InputLayer  # noqa: F401
from .network import Network  # noqa: F401
from .training import Model  # noqa: F401
from .sequential import Sequential  # noqa: F401
from ..utils.layer_utils import get_source_inputs  # noqa: F401

__all__ = ['InputSpec', 'Layer', 'Node', 'is_keras_tensor', 'Input', 'InputLayer', 'Network',
           'Model', 'Sequential', 'get_source_inputs']
