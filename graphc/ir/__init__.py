"""The symbolic IR: typed values, nodes, graphs, the op registry and the reference interpreter."""
from .types import TensorType, ShapeError, as_dtype  # noqa: F401
from .node import Node, Value, Variable, name_scope  # noqa: F401
from .ops import REGISTRY, OpDef, apply, constant, source, as_value  # noqa: F401
from .graph import Graph, toposort  # noqa: F401
from .interpreter import evaluate  # noqa: F401
