"""Constant folding: a node whose inputs are all constants is evaluated once, at compile time,
with its numpy reference, and replaced by a constant.

Shape arithmetic folds too: ``shape(x)`` of a value whose static shape is fully known becomes
a constant, so the reshapes and counts built from it fold in turn; so does ``size(x, axes)``
(a mean's count) when those dims are known. Random ops never fold, and
results larger than ``MAX_FOLD_ELEMENTS`` stay computed (a huge constant would cost memory
and compile time for little gain).
"""
from __future__ import annotations

import numpy as np

from ..ir.graph import Graph
from ..ir.interpreter import run_node
from ..ir.ops import REGISTRY, constant
from .rewrite import rewrite

MAX_FOLD_ELEMENTS = 1 << 16


def _foldable(node) -> bool:
    kind = REGISTRY[node.op].kind
    if kind in ("random", "source") or node.op in ("fused",):
        return False
    if not all(v.node.op == "constant" for v in node.inputs):
        return False
    return all(v.type.static and (v.type.size() or 0) <= MAX_FOLD_ELEMENTS for v in node.outputs)


def const_fold(graph: Graph) -> Graph:
    def rule(node):
        # shape(x) -> constant when x's shape is static        # shape arithmetic
        if node.op == "shape" and node.inputs[0].type.static:
            return [constant(np.asarray(node.inputs[0].shape, dtype=np.int64))]
        # size(x, axes) -> constant when x's dims over axes are static
        if node.op == "size" and all(isinstance(node.inputs[0].shape[a], int)
                                     for a in node.attrs["axes"]):
            n = int(np.prod([node.inputs[0].shape[a] for a in node.attrs["axes"]]))
            return [constant(np.asarray(n, dtype=node.attrs["dtype"]))]
        # fill_like(x) -> constant when x's shape is static (e.g. the ones seeding a
        # gradient of a scalar loss)
        if node.op == "fill_like" and node.inputs[0].type.static and \
                (node.inputs[0].type.size() or 0) <= MAX_FOLD_ELEMENTS:
            out = node.outputs[0]
            return [constant(np.full(out.shape, node.attrs["value"], dtype=out.dtype))]
        if not _foldable(node):
            return None
        arrays = [v.node.attrs["value"] for v in node.inputs]
        outs = run_node(node, arrays)
        return [constant(a, dtype=v.dtype) for a, v in zip(outs, node.outputs)]

    return rewrite(graph, rule)
