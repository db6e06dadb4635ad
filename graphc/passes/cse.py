"""Common-subexpression elimination: two nodes with the same op, the same inputs and the same
attributes compute the same values; the later one is replaced by the earlier.

Small constants with equal dtype, shape and bytes merge too. Random ops never merge (each
draws its own numbers).
"""
from __future__ import annotations

import numpy as np

from ..ir.graph import Graph
from ..ir.ops import REGISTRY
from .rewrite import rewrite

_MAX_CONST_BYTES = 1 << 16


def _freeze(x):
    if isinstance(x, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in x.items()))
    if isinstance(x, (list, tuple)):
        return tuple(_freeze(v) for v in x)
    if isinstance(x, np.ndarray):
        return (x.dtype.str, x.shape, x.tobytes())
    try:
        hash(x)
        return x
    except TypeError:
        return ("id", id(x))


def node_key(node):
    """Hashable identity of what a node computes (None for nodes that must never merge)."""
    if REGISTRY[node.op].kind == "random" or node.op in ("input", "variable"):
        return None
    if node.op == "constant":
        arr = node.attrs["value"]
        if arr.nbytes > _MAX_CONST_BYTES:
            return None
        return ("constant", arr.dtype.str, arr.shape, arr.tobytes())
    attrs = {k: v for k, v in node.attrs.items()}
    return (node.op, tuple(id(v) for v in node.inputs), _freeze(attrs))


def cse(graph: Graph) -> Graph:
    seen: dict = {}
    consts: dict = {}

    # Merge constants first: they are sources, which rewrite() does not visit.
    replace = {}
    for v in graph.constants():
        k = node_key(v.node)
        if k is None:
            continue
        if k in consts:
            replace[v] = consts[k]
        else:
            consts[k] = v

    def rule(node):
        if replace:
            ins = tuple(replace.get(v, v) for v in node.inputs)
            if any(a is not b for a, b in zip(ins, node.inputs)):
                from .rewrite import clone
                node = clone(node, ins)
                changed = node.outputs
            else:
                changed = None
        else:
            changed = None
        k = node_key(node)
        if k is None:
            return changed
        prev = seen.get(k)
        if prev is not None:
            return prev.outputs
        seen[k] = node
        return changed

    return rewrite(graph, rule)
