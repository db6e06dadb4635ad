"""Dead-code elimination.

At the top level a graph holds only what its outputs and updates reach (nodes are found by
walking back from them), so unreachable nodes vanish whenever a graph is rebuilt. This pass
rebuilds the graph and also drops updates that write a variable's own value back (``w <- w``),
which a rewrite such as ``w - 0*g -> w`` can leave behind.
"""
from __future__ import annotations

from ..ir.graph import Graph
from .rewrite import rewrite


def dce(graph: Graph) -> Graph:
    g = rewrite(graph)
    g.updates = [(v, n) for v, n in g.updates if n is not v]
    return g
