"""Graphs: the inputs, outputs and variable updates of one computation.

A ``Graph`` does not own its nodes; they are found by walking back from the outputs and the
update values. Passes build new graphs from old ones (nodes are immutable).
"""
from __future__ import annotations

from .node import Node, Value


def toposort(roots) -> list[Node]:
    """Nodes reachable from ``roots`` (Values), inputs before users; deterministic, iterative.

    Inputs are visited in order, so the same graph built the same way always sorts the same.
    """
    order: list[Node] = []
    done: set[int] = set()
    for root in roots:
        if root.node.id in done:
            continue
        stack = [(root.node, 0)]
        on_stack = {root.node.id}
        while stack:
            node, i = stack[-1]
            if i < len(node.inputs):
                stack[-1] = (node, i + 1)
                child = node.inputs[i].node
                if child.id not in done and child.id not in on_stack:
                    stack.append((child, 0))
                    on_stack.add(child.id)
            else:
                stack.pop()
                on_stack.discard(node.id)
                done.add(node.id)
                order.append(node)
    return order


class Graph:
    """A computation: ``inputs`` (placeholder Values), ``outputs`` and ``updates``.

    Args:
        inputs: Values of op ``input`` fed at call time, in call order.
        outputs: Values computed and returned.
        updates: ``(variable_value, new_value)`` pairs applied after the outputs are computed.
        name: a name for dumps.
    """

    def __init__(self, inputs, outputs, updates=(), name: str = "graph"):
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.updates = [(v, n) for v, n in updates]
        self.name = name

    def roots(self) -> list[Value]:
        return self.outputs + [n for _, n in self.updates] + [v for v, _ in self.updates]

    def nodes(self) -> list[Node]:
        """Nodes in topological order (inputs first, then in order of first use).

        Nodes are immutable, so the order depends only on the seed Values (the inputs, the
        outputs and both sides of the updates): it is remembered for the seeds it was computed
        from and computed again when any of them changes (passes and the code generators ask
        hundreds of times per compile). Each call returns a new list.
        """
        seeds = list(self.inputs) + self.roots()
        memo = self.__dict__.get("_order")
        if memo is not None and len(memo[0]) == len(seeds) and \
                all(a is b for a, b in zip(memo[0], seeds)):
            return list(memo[1])
        order = toposort(seeds)
        self.__dict__["_order"] = (seeds, order)
        return list(order)

    def variables(self) -> list[Value]:
        """Variable Values read or updated, in topological order."""
        return [n.outputs[0] for n in self.nodes() if n.op == "variable"]

    def constants(self) -> list[Value]:
        return [n.outputs[0] for n in self.nodes() if n.op == "constant"]

    def free_inputs(self) -> list[Value]:
        """Placeholders the outputs depend on that are not among ``inputs``."""
        given = {id(v) for v in self.inputs}
        return [n.outputs[0] for n in self.nodes() if n.op == "input" and id(n.outputs[0]) not in given]

    def require_inputs(self) -> None:
        """Raise ValueError naming the first placeholder the outputs need that is not among
        ``inputs`` (what every code generator checks before it plans a call)."""
        for v in self.free_inputs():
            raise ValueError(f"placeholder {v.name!r} ({v.type}) is needed to compute the "
                             f"outputs but is not among the function's inputs")

    def users(self) -> dict[int, list[Node]]:
        """Node id -> the nodes that use one of its outputs."""
        out: dict[int, list[Node]] = {}
        for node in self.nodes():
            for v in node.inputs:
                out.setdefault(v.node.id, []).append(node)
        return out

    def __len__(self):
        return sum(1 for n in self.nodes() if n.op not in ("input", "variable", "constant"))

    def __str__(self):
        from .printer import format_graph
        return format_graph(self)

    def __repr__(self):
        return f"<Graph {self.name}: {len(self.inputs)} inputs, {len(self)} nodes>"

    def _repr_html_(self):
        import html
        return "<pre>" + html.escape(str(self)) + "</pre>"

    def to_networkx(self):
        """A ``networkx.MultiDiGraph``: one vertex per node (attributes op, type, scope, src),
        one edge per use (attributes index, type)."""
        import networkx as nx
        g = nx.MultiDiGraph(name=self.name)
        for node in self.nodes():
            g.add_node(node.id, op=node.op, types=[str(v.type) for v in node.outputs],
                       scope=node.scope, src=node.src,
                       attrs={k: v for k, v in node.attrs.items() if k not in ("var", "value")})
            for i, v in enumerate(node.inputs):
                g.add_edge(v.node.id, node.id, index=i, type=str(v.type))
        return g
