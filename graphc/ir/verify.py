"""The IR verifier: checks the invariants every pass must keep.

``verify(graph)`` raises ``VerifyError`` naming the first broken node. Checked:
  * every node's op is registered and its attribute names are exactly the op's defaults' names;
  * every input of a node is an output of the node it claims to come from, and that node is
    part of the graph (acyclic: inputs come before users in topological order);
  * every placeholder the graph reads is one of ``graph.inputs``;
  * each node's output types equal what the op's ``infer`` computes from its input types;
  * source nodes are well formed (a variable holds ``Variable`` storage of its type, a
    constant holds an array of its type);
  * update targets are variables, the new value has the variable's dtype and a compatible
    shape, and no variable is updated twice;
  * sub-graphs held in attributes (loop bodies) verify too.
"""
from __future__ import annotations

import numpy as np

from .graph import Graph
from .node import Node, Value, Variable
from .types import ShapeError, TensorType, dims_compatible


class VerifyError(ValueError):
    """A graph that breaks an IR invariant; the message names the node and the rule."""


def _where(node: Node) -> str:
    return f"node {node.op} #{node.id} (built in {node.provenance})"


def verify(graph: Graph) -> Graph:
    """Check ``graph``'s invariants; returns the graph unchanged, or raises VerifyError.

    Args:
        graph: a ``graphc.ir.Graph``.
    Returns:
        ``graph`` (so passes can write ``return verify(rewrite(g, rule))``).

    Example:
        >>> verify(K.function([x], [y]).graph)
    """
    from .ops import REGISTRY

    if not isinstance(graph, Graph):
        raise VerifyError(f"verify() expects a graphc.ir.Graph, got {type(graph).__name__}")
    for k, v in enumerate(graph.inputs):
        if not isinstance(v, Value) or v.node.op != "input":
            what = v.op if isinstance(v, Value) else type(v).__name__
            raise VerifyError(f"graph {graph.name!r}: inputs[{k}] must be a placeholder (op "
                              f"'input'), got {what}")
    for k, v in enumerate(graph.outputs):
        if not isinstance(v, Value):
            raise VerifyError(f"graph {graph.name!r}: outputs[{k}] is a {type(v).__name__}, "
                              f"not a Value")

    nodes = graph.nodes()
    position = {n.id: i for i, n in enumerate(nodes)}
    given = {id(v) for v in graph.inputs}
    for node in nodes:
        opdef = REGISTRY.get(node.op)
        if opdef is None:
            raise VerifyError(f"{_where(node)}: op {node.op!r} is not registered")
        if set(node.attrs) != set(opdef.defaults):
            missing = sorted(set(opdef.defaults) - set(node.attrs))
            extra = sorted(set(node.attrs) - set(opdef.defaults))
            raise VerifyError(f"{_where(node)}: attributes {sorted(node.attrs)} do not match "
                              f"the op's {sorted(opdef.defaults)} (missing {missing}, "
                              f"unknown {extra})")
        for k, v in enumerate(node.inputs):
            if not isinstance(v, Value):
                raise VerifyError(f"{_where(node)}: input {k} is a {type(v).__name__}, "
                                  f"not a Value")
            src = v.node
            if v.index >= len(src.outputs) or src.outputs[v.index] is not v:
                raise VerifyError(f"{_where(node)}: input {k} ({v.name}) is not an output of "
                                  f"the node it names as its producer")
            if position.get(src.id, len(nodes)) >= position[node.id]:
                raise VerifyError(f"{_where(node)}: input {k} ({v.name}) is not computed "
                                  f"before its user: the graph has a cycle")
        if opdef.kind == "source":
            _check_source(node, given)
            continue
        try:
            inferred = opdef.infer([v.type for v in node.inputs], **node.attrs)
        except ShapeError as e:
            raise VerifyError(f"{_where(node)}: its op rejects its input types: {e}") from None
        inferred = list(inferred) if isinstance(inferred, (list, tuple)) else [inferred]
        actual = [v.type for v in node.outputs]
        if inferred != actual:
            raise VerifyError(
                f"{_where(node)}: output types {', '.join(map(str, actual))} differ from "
                f"{', '.join(map(str, inferred))} inferred from the inputs "
                f"({', '.join(str(v.type) for v in node.inputs)})")
        for key, val in node.attrs.items():
            if isinstance(val, Graph):
                try:
                    verify(val)
                except VerifyError as e:
                    raise VerifyError(f"{_where(node)}: sub-graph {key!r}: {e}") from None

    updated: dict[int, Value] = {}
    for k, pair in enumerate(graph.updates):
        var, new = pair
        if not isinstance(var, Value) or var.node.op != "variable":
            what = var.op if isinstance(var, Value) else type(var).__name__
            raise VerifyError(f"graph {graph.name!r}: update {k} targets a {what}, not a "
                              f"variable")
        name = var.node.attrs.get("name")
        if not isinstance(new, Value):
            raise VerifyError(f"graph {graph.name!r}: the update of variable {name!r} is a "
                              f"{type(new).__name__}, not a Value")
        if new.dtype != var.dtype or new.ndim != var.ndim or not all(
                dims_compatible(a, b) for a, b in zip(new.shape, var.shape)):
            raise VerifyError(f"graph {graph.name!r}: the update of variable {name!r} "
                              f"({var.type}) has type {new.type}")
        key = id(var.node.attrs["var"])
        if key in updated:
            raise VerifyError(f"graph {graph.name!r}: variable {name!r} is updated twice (by "
                              f"{updated[key].name} and {new.name}); combine the updates")
        updated[key] = new
    return graph


def _check_source(node: Node, given: set):
    t: TensorType = node.outputs[0].type
    if node.inputs:
        raise VerifyError(f"{_where(node)}: a source node has inputs")
    if node.op == "input":
        if id(node.outputs[0]) not in given:
            raise VerifyError(f"{_where(node)}: placeholder {node.attrs.get('name')!r} ({t}) "
                              f"is read but is not one of the graph's inputs")
    elif node.op == "variable":
        store = node.attrs.get("var")
        if not isinstance(store, Variable):
            raise VerifyError(f"{_where(node)}: variable {node.attrs.get('name')!r} holds no "
                              f"Variable storage (got {type(store).__name__})")
        arr = store.value
        if not isinstance(arr, np.ndarray) or arr.dtype.name != t.dtype \
                or tuple(arr.shape) != t.shape:
            got = f"{arr.dtype}{list(arr.shape)}" if isinstance(arr, np.ndarray) \
                else type(arr).__name__
            raise VerifyError(f"{_where(node)}: variable {node.attrs.get('name')!r} is typed "
                              f"{t} but holds {got}")
    elif node.op == "constant":
        arr = node.attrs.get("value")
        if not isinstance(arr, np.ndarray) or arr.dtype.name != t.dtype \
                or tuple(arr.shape) != t.shape:
            got = f"{arr.dtype}{list(arr.shape)}" if isinstance(arr, np.ndarray) \
                else type(arr).__name__
            raise VerifyError(f"{_where(node)}: constant typed {t} holds {got}")
