"""Rebuilding a graph node by node: the one traversal every pass uses.

``rewrite(graph, rule)`` visits nodes in topological order. For each node whose inputs were
replaced, a copy is made with the new inputs (same op, attrs and provenance). ``rule(node)`` is
then called on that (possibly copied) node and may return a list of replacement Values, one
per output, or None to keep the node. Replacements are themselves already rewritten (a rule
builds them from the node's current inputs), so one sweep in topological order reaches a
fixed point for rules that only look at a node and its producers.
"""
from __future__ import annotations

from ..ir.graph import Graph, toposort
from ..ir.node import Node, Value, provenance_of
from ..ir.ops import REGISTRY


def clone(node: Node, inputs) -> Node:
    """A copy of ``node`` on new inputs, types re-inferred, provenance kept."""
    types = REGISTRY[node.op].infer([v.type for v in inputs], **node.attrs)
    types = list(types) if isinstance(types, (list, tuple)) else [types]
    return Node(node.op, inputs, node.attrs, types, scope=node.scope, src=node.src)


def rewrite(graph: Graph, rule=None) -> Graph:
    """Apply ``rule`` to every node of ``graph``; returns a new Graph (the old one is intact)."""
    new: dict[Value, Value] = {}   # old value -> value in the new graph

    def get(v: Value) -> Value:
        return new.get(v, v)

    for node in toposort(list(graph.inputs) + graph.roots()):
        if not node.inputs:        # sources are shared between graphs
            continue
        ins = tuple(get(v) for v in node.inputs)
        cur = node if all(a is b for a, b in zip(ins, node.inputs)) else clone(node, ins)
        out = None
        if rule is not None:
            with provenance_of(cur):
                out = rule(cur)
        if out is None:
            out = cur.outputs
        for old, rep in zip(node.outputs, out):
            if rep is not old:
                new[old] = rep
    return Graph(graph.inputs, [get(v) for v in graph.outputs],
                 [(v, get(n)) for v, n in graph.updates], name=graph.name)


def count_nodes(graph: Graph) -> int:
    """Computation nodes (sources excluded)."""
    return len(graph)
