"""Operator fusion: regions of elementwise ops become single ``fused`` nodes.

A region is a set of elementwise nodes (ops of kind ``elementwise``, one output each) that all
have the SAME static output shape (no unknown dims), connected producer -> consumer. Its
inputs may broadcast (a bias row, a scalar); small constants (one element) move into the body
so that a kernel sees them as literals. Values of the region used outside it become the
outputs of the fused node; the code generator turns the whole region into one loop nest, so
the region costs one pass over memory instead of one per op.

Regions are grown greedily in topological order; a node joins (and may merge) the regions of
its producers only while the merged region stays convex: no value that a member reads from
outside the region may itself depend on a member (otherwise the fused node would be its own
ancestor).

Example:
    >>> g2 = fuse(graph)        # six chained elementwise ops -> one fused node
"""
from __future__ import annotations

from ..ir.graph import Graph
from ..ir.node import Node, Value
from ..ir.ops import REGISTRY, source


def fusible(node: Node) -> bool:
    """An elementwise node with one output of a fully known-or-symbolic static shape."""
    opdef = REGISTRY.get(node.op)
    if opdef is None or opdef.kind != "elementwise" or opdef.scalar is None:
        return False
    if len(node.outputs) != 1:
        return False
    return all(d is not None for d in node.outputs[0].shape)


def _small_constant(v: Value) -> bool:
    return v.node.op == "constant" and all(d == 1 for d in v.shape)


def find_regions(graph: Graph) -> list[list[Node]]:
    """The fusion regions of ``graph`` (lists of nodes in topological order, >= 2 nodes)."""
    order = graph.nodes()
    index = {n.id: i for i, n in enumerate(order)}
    # ancestors as bitsets over topological positions
    anc: dict[int, int] = {}
    for n in order:
        bits = 0
        for v in n.inputs:
            p = v.node.id
            bits |= anc[p] | (1 << index[p])
        anc[n.id] = bits

    region_of: dict[int, int] = {}          # node id -> region key
    members: dict[int, list[Node]] = {}     # region key -> member nodes
    masks: dict[int, int] = {}              # region key -> bitset of members

    def convex(nodes: list[Node], mask: int) -> bool:
        for m in nodes:
            for v in m.inputs:
                p = v.node
                if not (mask >> index[p.id]) & 1 and anc[p.id] & mask:
                    return False
        return True

    for node in order:
        if not fusible(node):
            continue
        shape = node.outputs[0].shape
        cands = []
        for v in node.inputs:
            r = region_of.get(v.node.id)
            if r is not None and r not in cands and members[r][0].outputs[0].shape == shape:
                cands.append(r)
        me = 1 << index[node.id]
        chosen: list[int] = []
        mask = me
        if cands:
            full = me
            for r in cands:
                full |= masks[r]
            nodes = [node] + [m for r in cands for m in members[r]]
            if convex(nodes, full):
                chosen, mask = cands, full
            else:
                for r in cands:
                    trial = me | masks[r]
                    if convex([node] + members[r], trial):
                        chosen, mask = [r], trial
                        break
        key = node.id
        group = [node]
        for r in chosen:
            group += members.pop(r)
            del masks[r]
        for m in group:
            region_of[m.id] = key
        members[key] = sorted(group, key=lambda n: index[n.id])
        masks[key] = mask
    return [ms for ms in sorted(members.values(), key=lambda ms: index[ms[-1].id])
            if len(ms) > 1]


def fuse(graph: Graph) -> Graph:
    """Replace each elementwise region of ``graph`` by one ``fused`` node.

    Args:
        graph: the graph to transform (not modified).
    Returns:
        A new Graph computing the same outputs and updates.

    Example:
        >>> fused = fuse(graph)
        >>> [n.op for n in fused.nodes() if n.inputs]
        ['fused']
    """
    regions = find_regions(graph)
    if not regions:
        return graph
    region_of: dict[int, int] = {}
    for k, ms in enumerate(regions):
        for m in ms:
            region_of[m.id] = k
    external_users: dict[int, bool] = {}
    root_ids = {id(v) for v in graph.roots()}
    for n in graph.nodes():
        for v in n.inputs:
            if region_of.get(v.node.id) is not None and region_of.get(n.id) != \
                    region_of[v.node.id]:
                external_users[id(v)] = True
    mapped: dict[int, Value] = {}     # id(old value) -> value in the new graph

    def get(v: Value) -> Value:
        return mapped.get(id(v), v)

    def build_region(k: int) -> dict[int, Value]:
        ms = regions[k]
        mids = {m.id for m in ms}
        ext: list[Value] = []           # outer values read by the region, first use first
        body_of: dict[int, Value] = {}  # id(old value) -> value inside the body
        placeholders = []
        for m in ms:
            for v in m.inputs:
                if v.node.id in mids or id(v) in body_of:
                    continue
                if _small_constant(v):
                    body_of[id(v)] = v
                    continue
                ph = source("input", v.type, name=f"in{len(ext)}")
                ext.append(v)
                placeholders.append(ph)
                body_of[id(v)] = ph
        outs: list[Value] = []
        for m in ms:
            ins = [body_of[id(v)] for v in m.inputs]
            copy = Node(m.op, ins, m.attrs, [o.type for o in m.outputs], scope=m.scope,
                        src=m.src)
            body_of[id(m.outputs[0])] = copy.outputs[0]
            v = m.outputs[0]
            if id(v) in root_ids or external_users.get(id(v)):
                outs.append(v)
        body = Graph(placeholders, [body_of[id(v)] for v in outs], name=f"fused_{ms[-1].id}")
        last = ms[-1]
        node = Node("fused", [get(v) for v in ext], {"body": body}, [v.type for v in outs],
                    scope=last.scope, src=last.src)
        for old, rep in zip(outs, node.outputs):
            mapped[id(old)] = rep

    for unit in _unit_order(graph, region_of, regions):
        if isinstance(unit, int):
            build_region(unit)
            continue
        node = unit
        if not node.inputs:
            continue
        ins = tuple(get(u) for u in node.inputs)
        if all(a is b for a, b in zip(ins, node.inputs)):
            continue
        cur = Node(node.op, ins, node.attrs, [o.type for o in node.outputs],
                   scope=node.scope, src=node.src)
        for old, rep in zip(node.outputs, cur.outputs):
            mapped[id(old)] = rep
    inputs = list(graph.inputs)
    outputs = [get(v) for v in graph.outputs]
    updates = [(v, get(n)) for v, n in graph.updates]
    return Graph(inputs, outputs, updates, name=graph.name)


def _unit_order(graph: Graph, region_of: dict, regions: list) -> list:
    """Nodes outside regions and region indices (ints), each after everything it reads:
    a topological order of the graph with every region contracted to one vertex."""
    order = graph.nodes()
    unit_key = lambda n: region_of.get(n.id, ("n", n.id))   # noqa: E731
    deps: dict = {}
    first: dict = {}
    for n in order:
        key = unit_key(n)
        first.setdefault(key, regions[key] if isinstance(key, int) else n)
        ds = deps.setdefault(key, [])
        for v in n.inputs:
            pk = unit_key(v.node)
            if pk != key and pk not in ds:
                ds.append(pk)
    out, done = [], set()
    for start in deps:
        if start in done:
            continue
        stack = [(start, 0)]
        while stack:
            key, i = stack[-1]
            if i < len(deps[key]):
                stack[-1] = (key, i + 1)
                d = deps[key][i]
                if d not in done:
                    stack.append((d, 0))
            else:
                stack.pop()
                if key not in done:
                    done.add(key)
                    out.append(key if isinstance(key, int) else first[key])
    return out
