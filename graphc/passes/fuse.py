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

Before the elementwise regions, convolution epilogues are folded into NN ops
(:func:`fuse_conv_epilogues`): ``relu(bias_add(conv2d(x, k), b))`` becomes one
``conv2d_bias_act`` and the relu's gradient after a max pooling one ``max_pool2d_relu_grad``,
so the code generator adds the bias and applies the relu while each output block is in cache;
then a pooled layer's filter gradient reads the pooled gradient directly
(:func:`fuse_pool_filter_grads`) where nothing else needs the full-size one. First of all,
products with the same right operand become one product when one of them is narrow
(:func:`merge_shared_products`: a recurrent layer's dW and dU from the stacked gate
cotangent), and a bias added to a whole loop sequence moves into the loop's body
(:func:`sink_sequence_biases`).

Example:
    >>> g2 = fuse(graph)        # six chained elementwise ops -> one fused node
"""
from __future__ import annotations

import weakref

import numpy as np

from ..ir.graph import Graph
from ..ir.node import Node, Value
from ..ir.ops import REGISTRY, source
from ..ir.types import ShapeError


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
    graph = fuse_pool_filter_grads(fuse_conv_epilogues(
        merge_shared_products(sink_sequence_biases(graph))))
    regions = find_regions(graph)
    while True:
        if not regions:
            return graph
        region_of: dict[int, int] = {}
        for k, ms in enumerate(regions):
            for m in ms:
                region_of[m.id] = k
        units, cycle = _unit_order(graph, region_of, regions)
        if cycle is None:
            break
        if not cycle:     # the graph itself has a cycle: not a graph the verifier accepts
            raise AssertionError(f"internal error: graph {graph.name!r} has a cycle")
        # a region that reads, through nodes outside it, a value it computes cannot become
        # one node (the contracted graph has a cycle): leave the regions on the cycle unfused
        # (each pass removes at least one region; without regions the graph is acyclic)
        regions = [ms for k, ms in enumerate(regions) if k not in cycle]
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

    for unit in units:
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


def _unit_order(graph: Graph, region_of: dict, regions: list) -> tuple[list, set | None]:
    """Nodes outside regions and region indices (ints), each after everything it reads:
    a topological order of the graph with every region contracted to one vertex.

    Returns:
        (the order, None), or (partial order, the region indices on a cycle) when some
        region depends on itself through nodes outside it.
    """
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
        on_stack = {start}
        while stack:
            key, i = stack[-1]
            if i < len(deps[key]):
                stack[-1] = (key, i + 1)
                d = deps[key][i]
                if d in on_stack:              # a cycle: d ... key ... d
                    at = [k for k, _ in stack].index(d)
                    return out, {k for k, _ in stack[at:] if isinstance(k, int)}
                if d not in done:
                    stack.append((d, 0))
                    on_stack.add(d)
            else:
                stack.pop()
                on_stack.discard(key)
                if key not in done:
                    done.add(key)
                    out.append(key if isinstance(key, int) else first[key])
    return out, None


# -- convolution epilogues ---------------------------------------------------------------------

def _is_zero_constant(v: Value) -> bool:
    if v.node.op != "constant":
        return False
    a = np.asarray(v.node.attrs["value"])
    return a.size == 1 and float(a.reshape(())) == 0.0


def _plain_relu(node: Node) -> bool:
    a = node.attrs
    return node.op == "relu" and a.get("alpha", 0.0) == 0.0 and a.get("max_value") is None \
        and a.get("threshold", 0.0) == 0.0


def _relu_mask_of(node: Node, z: Value) -> bool:
    """``node`` is ``greater(z, 0)``: the mask of relu's gradient at pre-activation ``z``."""
    return node.op == "greater" and node.inputs[0] is z and _is_zero_constant(node.inputs[1]) \
        and node.outputs[0].shape == z.shape


def fuse_conv_epilogues(graph: Graph) -> Graph:
    """Fold bias and relu into 2-D convolutions and relu gradients into max-pool gradients.

    Rewrites (valid for any input; ``y = relu(z)`` so ``y > 0`` exactly where ``z > 0``, nan
    included):

    - ``relu(bias_add(conv2d(x, k), b))`` -> ``conv2d_bias_act(x, k, b, activation='relu')``
      when the conv and the bias_add outputs have no other users than the chain itself and
      relu-gradient masks ``greater(z, 0)``, which then read the fused output instead;
      ``bias_add(conv2d(x, k), b)`` alone -> ``conv2d_bias_act(..., activation='linear')``.
    - ``where(greater(y, 0), max_pool2d_grad(y, g), 0)`` -> ``max_pool2d_relu_grad(y, g)``
      when the max_pool2d_grad has no other user.

    Args:
        graph: the graph (usually after autodiff and the cleanup passes; not modified).
    Returns:
        A new Graph, or ``graph`` itself when nothing matched.

    Example:
        >>> g2 = fuse_conv_epilogues(train_graph)
        >>> sorted({n.op for n in g2.nodes()} & {"conv2d_bias_act", "max_pool2d_relu_grad"})
        ['conv2d_bias_act', 'max_pool2d_relu_grad']
    """
    order, users, roots = _users_and_roots(graph)

    def only_users(v: Value, ok) -> bool:
        return id(v) not in roots and all(ok(u) for u in users.get(id(v), []))

    # plan: bias_add node id -> (relu node or None, [relu-mask nodes])
    plan: dict[int, tuple] = {}
    for n in order:
        if n.op != "bias_add" or n.inputs[1].ndim != 1:
            continue
        c, z = n.inputs[0], n.outputs[0]
        if c.node.op != "conv2d" or not only_users(c, lambda u: u is n) or \
                c.node.attrs["data_format"] != n.attrs["data_format"]:
            continue
        zu = users.get(id(z), [])
        relus = [u for u in zu if _plain_relu(u)]
        if len(relus) == 1 and only_users(z, lambda u: u is relus[0] or _relu_mask_of(u, z)):
            plan[n.id] = (relus[0], [u for u in zu if u is not relus[0]])
        elif not relus:
            plan[n.id] = (None, [])
    if not plan and not any(_pool_relu_grad_match(n, lambda v: v, users, roots)
                            for n in order):
        return graph

    mapped: dict[int, Value] = {}

    def get(v: Value) -> Value:
        return mapped.get(id(v), v)

    skip: set[int] = set()
    for n in order:
        if not n.inputs or n.id in skip:
            continue
        if n.id in plan:            # the bias_add; its conv2d is left behind, unused
            relu, masks = plan[n.id]
            conv = n.inputs[0].node
            x, k = (get(v) for v in conv.inputs)
            y = _fused_node("conv2d_bias_act", [x, k, get(n.inputs[1])],
                            dict(conv.attrs, activation="relu" if relu else "linear"), n)
            if relu is None:
                mapped[id(n.outputs[0])] = y
                continue
            mapped[id(relu.outputs[0])] = y
            skip.add(relu.id)
            for m in masks:         # relu'(z) masks: z > 0  <=>  relu(z) > 0
                mapped[id(m.outputs[0])] = _fused_node("greater", [y, get(m.inputs[1])],
                                                       m.attrs, m)
                skip.add(m.id)
            continue
        if _pool_relu_grad_match(n, get, users, roots):
            mpg = n.inputs[1].node
            mapped[id(n.outputs[0])] = _fused_node(
                "max_pool2d_relu_grad", [get(v) for v in mpg.inputs], mpg.attrs, n)
            continue
        _rebuild(n, get, mapped)
    return _remapped_graph(graph, get)


def fuse_pool_filter_grads(graph: Graph) -> Graph:
    """Give a pooled convolution's filter and bias gradients the POOLED gradient.

    ``M = max_pool2d_relu_grad(y, g)`` is an (N, H, W, C) array; in a first layer (no input
    gradient) its only users are the filter gradient and the bias gradient. Rewrites, when
    every user of M is one of these:

    - ``conv2d_backprop_filter(x, k, M)`` -> ``conv2d_backprop_filter_pool(x, k, y, g)``;
    - ``bias_add_grad(M)`` -> ``bias_add_grad(where(greater(P, 0), g, 0))`` with ``P =
      max_pool2d(y)`` (same pooling) already in the graph: M holds each g at its window's
      winner when that is > 0, i.e. when the window's maximum P is > 0, and nothing else,
      so both sum to the same bias gradient (nan: P is nan and greater is false, as M's
      mask is).

    Then M is computed by no one. Valid for any geometry and layout; the code generator runs
    the common single-channel 3x3 / 2x2 case as one fused loop.

    Args:
        graph: the graph (after fuse_conv_epilogues; not modified).
    Returns:
        A new Graph, or ``graph`` itself when nothing matched.
    """
    from ..ir.ops.nn import _relu_mask
    order, users, roots = _users_and_roots(graph)

    def pool_of(m: Node):
        """The max_pool2d of m's y with m's pooling, or None."""
        y = m.inputs[0]
        for u in users.get(id(y), []):
            if u.op == "max_pool2d" and u.inputs[0] is y and all(
                    u.attrs[k] == m.attrs[k]
                    for k in ("pool_size", "strides", "padding", "data_format")):
                return u.outputs[0]
        return None

    plan: dict[int, Value | None] = {}   # M node id -> its pooled output P (None: no bias)
    for m in order:
        if m.op != "max_pool2d_relu_grad" or id(m.outputs[0]) in roots:
            continue
        v = m.outputs[0]
        fmt = m.attrs["data_format"]
        us = users.get(id(v), [])
        filters = [u for u in us if u.op == "conv2d_backprop_filter" and u.inputs[2] is v
                   and u.inputs[0] is not v and u.attrs["data_format"] == fmt]
        biases = [u for u in us if u.op == "bias_add_grad" and u.attrs.get("bias_ndim") == 1
                  and u.attrs["data_format"] == fmt]
        if not filters or len(filters) + len(biases) != len(us):
            continue
        p = pool_of(m) if biases else None
        if biases and p is None:
            continue
        plan[m.id] = p
    if not plan:
        return graph

    mapped: dict[int, Value] = {}

    def get(v: Value) -> Value:
        return mapped.get(id(v), v)

    for n in order:
        if not n.inputs:
            continue
        src = n.inputs[-1].node if n.op == "conv2d_backprop_filter" else n.inputs[0].node
        if n.op in ("conv2d_backprop_filter", "bias_add_grad") and src.id in plan:
            y, g = (get(v) for v in src.inputs)
            if n.op == "conv2d_backprop_filter":
                attrs = dict(n.attrs, pool_size=src.attrs["pool_size"],
                             pool_strides=src.attrs["strides"],
                             pool_padding=src.attrs["padding"])
                mapped[id(n.outputs[0])] = _fused_node(
                    "conv2d_backprop_filter_pool",
                    [get(n.inputs[0]), get(n.inputs[1]), y, g], attrs, n)
            else:
                masked = _relu_mask(get(plan[src.id]), g)
                mapped[id(n.outputs[0])] = _fused_node("bias_add_grad", [masked], n.attrs, n)
            continue
        _rebuild(n, get, mapped)
    return _remapped_graph(graph, get)


# -- a bias added to a whole loop sequence -----------------------------------------------------
#
# A recurrent layer adds its bias to the input projection of every step before the loop:
# seq = x W + b, a (T, B, 4*units) tensor written and read once more (6.5 MB for the
# benchmark's LSTM) only to add a 2 KB row. When every reader of seq is a loop taking it as a
# sequence, the loop takes x W instead and b as one more constant, and its body adds b to
# the step's slice (the body's gate kernels then read b from cache; see
# algebraic.slice_of_bias_add, which moves the add past the gate slices).


def _sinkable_bias(v: Value, users):
    """(P, c) when ``v`` = add(P, c) with P of v's type and c a bias of fewer axes than a
    time step (so it is the same at every step), read only as a loop sequence; else None."""
    add = v.node
    if add is None or add.op != "add" or len(add.inputs) != 2:
        return None
    readers = users.get(id(v), [])
    if not readers or any(n.op != "scan" or not any(
            w is v for w in n.inputs[:n.attrs["n_seq"]]) or any(
            w is v for w in n.inputs[n.attrs["n_seq"]:]) for n in readers):
        return None
    for p, c in (add.inputs, add.inputs[::-1]):
        if p.type == v.type and c.ndim < v.ndim and c.dtype == v.dtype:
            return p, c
    return None


def _sink_into(body: Graph, k: int, c: Value):
    """``body`` with its placeholder ``k`` (a sequence's step) replaced by ``x_t + c_t`` for a
    new placeholder x_t and a new last placeholder c_t of ``c``'s type; None when the sum
    would not keep the step's type."""
    from ..ir.ops import apply
    from .rewrite import clone, rewrite
    old = body.inputs[k]
    x_t = source("input", old.type, name=old.name)
    c_t = source("input", c.type, name=c.name or "bias")
    with_bias = apply("add", x_t, c_t)
    if with_bias.type != old.type:
        return None

    def rule(m):
        if not any(v is old for v in m.inputs):
            return None
        return clone(m, [with_bias if v is old else v for v in m.inputs]).outputs
    got = rewrite(body, rule)
    inputs = list(body.inputs)
    inputs[k] = x_t
    return Graph(inputs + [c_t], [with_bias if v is old else v for v in got.outputs],
                 name=body.name)


def sink_sequence_biases(graph: Graph) -> Graph:
    """Loops take a sequence ``x W + b`` as ``x W`` and the bias as a constant added in the
    body, when only loops read the sum (see the comment above)."""
    order, users, _ = _users_and_roots(graph)
    sums = {}
    for n in order:
        if n.op == "scan":
            for v in n.inputs[:n.attrs["n_seq"]]:
                if id(v) not in sums:
                    sums[id(v)] = _sinkable_bias(v, users)
    if not any(sums.values()):
        return graph
    mapped: dict[int, Value] = {}

    def get(v):
        return mapped.get(id(v), v)
    for n in order:
        sunk = []
        if n.op == "scan":
            body, ins, consts = n.attrs["body"], [get(v) for v in n.inputs], []
            for k in range(n.attrs["n_seq"]):
                got = sums.get(id(n.inputs[k]))
                new_body = None if got is None else _sink_into(body, k, got[1])
                if new_body is not None:
                    body, ins[k] = new_body, got[0]
                    consts.append(got[1])
                    sunk.append(k)
        if not sunk:
            _rebuild(n, get, mapped)
            continue
        attrs = dict(n.attrs, body=body, n_consts=n.attrs["n_consts"] + len(consts))
        cur = Node("scan", ins + consts, attrs, [o.type for o in n.outputs], scope=n.scope,
                   src=n.src)
        for o, r in zip(n.outputs, cur.outputs):
            mapped[id(o)] = r
    return _remapped_graph(graph, get)


# -- products that share their right operand ----------------------------------------------------
#
# A recurrent layer's weight gradients are products with the SAME stacked gate cotangent G
# (T*B rows): dW = X^T G (X: the inputs, 32 wide in the benchmark) and dU = H^T G (H: the
# entering states, 128 wide). BLAS runs a product with few output rows far below its peak
# (measured here: 32 x 3200 @ 3200 x 512 0.49 ms, 128 x ... 1.14 ms, both together as one
# 160-row product 1.29 ms), so the products become one: [X H]^T G, whose row blocks are dW
# and dU. The price is one copy of X and H side by side (2 MB for the benchmark's LSTM).

MERGE_MAX_ROWS = 64     # merge only groups with a product of fewer output rows than this


def _first_equal_output(v: Value) -> Value:
    """``v``, or the first output of the same loop that stacks the same step value (after
    the body's algebraic rules and common subexpressions, as the loop emitter sees it)."""
    node = v.node
    if node is None or node.op != "scan":
        return v
    j = next(k for k, o in enumerate(node.outputs) if o is v)
    if j >= node.attrs["n_outputs"]:
        return v
    body = node.attrs["body"]
    outs = _SIMPLIFIED_OUTPUTS.get(body)
    if outs is None:
        from .algebraic import simplify
        from .cse import cse
        outs = _SIMPLIFIED_OUTPUTS[body] = cse(simplify(body)).outputs
    i = next(k for k in range(j + 1) if outs[k] is outs[j])
    return node.outputs[i]


# body -> its outputs after simplify + cse (a body is not changed once its loop is built)
_SIMPLIFIED_OUTPUTS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _product_parts(n: Node):
    """For a node computing P^T Q with a 2-D P of static width w -- ``matmul(transpose(P),
    Q)``, or a tensordot over its right operand's leading axes -- (key of Q, w, make_p,
    make_q); else None. The key is the same for reshape(G, (-1, c)) and G's 2-D form, and
    for a loop's duplicate stacked outputs; make_p / make_q return P and Q, building the
    reshapes a tensordot's operands need (``transposes``: existing transposes to reuse)."""
    from ..ir.ops import apply
    if n.op == "matmul" and len(n.inputs) == 2 and all(v.ndim == 2 for v in n.inputs):
        a, q = n.inputs
        t = a.node
        if t is None or t.op != "transpose" or tuple(t.attrs["perm"]) != (1, 0) or \
                not isinstance(a.shape[0], int) or not isinstance(q.shape[1], int):
            return None
        base = q
        if q.node is not None and q.node.op == "reshape" and \
                tuple(q.node.attrs["shape"]) == (-1, q.shape[1]):
            base = q.node.inputs[0]
        key = (id(_first_equal_output(base)), q.shape[1])
        return key, a.shape[0], (lambda transposes: t.inputs[0]), (lambda: q)
    if n.op != "tensordot":
        return None
    x, g = n.inputs
    ax_x, ax_g = (tuple(ax) for ax in n.attrs["axes"])
    k = len(ax_g)
    free_x = tuple(i for i in range(x.ndim) if i not in ax_x)
    if ax_g != tuple(range(k)) or not free_x or k == g.ndim or not all(
            isinstance(d, int) for d in [x.shape[i] for i in free_x] + list(g.shape[k:])):
        return None
    width = int(np.prod([x.shape[i] for i in free_x]))
    cols = int(np.prod(g.shape[k:]))
    perm = ax_x + free_x

    def make_p(transposes):
        xt = x if perm == tuple(range(x.ndim)) else transposes.get((id(x), perm))
        if xt is None:
            xt = apply("transpose", x, perm=perm)
        return xt if xt.ndim == 2 and len(free_x) == 1 else \
            apply("reshape", xt, shape=(-1, width))

    def make_q():
        return g if g.ndim == 2 else apply("reshape", g, shape=(-1, cols))
    return (id(_first_equal_output(g)), cols), width, make_p, make_q


def _ancestors(values) -> set[int]:
    seen: set[int] = set()
    stack = [v.node for v in values if v.node is not None]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        stack.extend(v.node for v in n.inputs if v.node is not None)
    return seen


def merge_shared_products(graph: Graph) -> Graph:
    """Products P_i^T Q with the same right operand Q become one product
    [P_1 ... P_k]^T Q whose row blocks are the results, where one of them has fewer than
    :data:`MERGE_MAX_ROWS` output rows (see the comment above). A group whose operands
    depend on one of the products is left alone (its merged product would be its own
    ancestor)."""
    from ..ir.node import provenance_of
    from ..ir.ops import apply
    order, _, _ = _users_and_roots(graph)
    groups: dict = {}
    for n in order:
        got = _product_parts(n)
        if got is not None:
            groups.setdefault(got[0], []).append((n, got))
    groups = {k: m for k, m in groups.items()
              if len(m) > 1 and min(w for _, (_, w, _, _) in m) < MERGE_MAX_ROWS}
    while groups:                   # operands must not depend on any product merged here
        members = {id(n) for m in groups.values() for n, _ in m}
        bad = [k for k, m in groups.items()
               if _ancestors([v for n, _ in m for v in n.inputs]) & members]
        if not bad:
            break
        for k in bad:
            del groups[k]
    if not groups:
        return graph
    transposes = {(id(n.inputs[0]), tuple(n.attrs["perm"])): n.outputs[0]
                  for n in order if n.op == "transpose"}
    mapped: dict[int, Value] = {}
    for members in groups.values():
        parts = {}
        try:
            with provenance_of(members[0][0]):
                ps = [make_p(transposes) for _, (_, _, make_p, _) in members]
                # operands whose rows or dtypes the IR cannot show to be alike (two
                # different symbols, say) stay apart: concatenate refuses them
                cat = apply("concatenate", *ps, axis=1)
                z = apply("matmul", apply("transpose", cat, perm=(1, 0)), members[0][1][3]())
                off = 0
                for (n, (_, w, _, _)) in members:
                    part = apply("slice", z, begin=(off, 0), end=(off + w, None),
                                 step=(1, 1))
                    out = n.outputs[0]
                    if part.shape != out.shape:
                        part = apply("reshape", part, shape=tuple(out.shape))
                    if part.type != out.type:
                        raise ShapeError("the merged product's block differs")
                    parts[id(out)] = part
                    off += w
        except ShapeError:
            continue
        mapped.update(parts)
    if not mapped:
        return graph

    def get(v):
        return mapped.get(id(v), v)
    for n in order:
        if id(n.outputs[0]) not in mapped:
            _rebuild(n, get, mapped)
    return _remapped_graph(graph, get)


def _users_and_roots(graph: Graph):
    """(the nodes in order, value id -> the nodes that read it, the ids of the values the
    graph returns or updates with)."""
    order = graph.nodes()
    users: dict[int, list[Node]] = {}
    for n in order:
        for v in n.inputs:
            users.setdefault(id(v), []).append(n)
    return order, users, {id(v) for v in graph.roots()}


def _rebuild(n: Node, get, mapped: dict) -> None:
    """Re-create ``n`` on its rewritten inputs (``get``) when any changed, recording its new
    outputs in ``mapped``."""
    ins = [get(v) for v in n.inputs]
    if all(a is b for a, b in zip(ins, n.inputs)):
        return
    cur = Node(n.op, ins, n.attrs, [o.type for o in n.outputs], scope=n.scope, src=n.src)
    for old, rep in zip(n.outputs, cur.outputs):
        mapped[id(old)] = rep


def _remapped_graph(graph: Graph, get) -> Graph:
    """``graph`` with its outputs and updates read through ``get``."""
    return Graph(list(graph.inputs), [get(v) for v in graph.outputs],
                 [(v, get(u)) for v, u in graph.updates], name=graph.name)


def _fused_node(op: str, inputs, attrs, like: Node) -> Value:
    """One new node of ``op`` (types inferred) with the provenance of ``like``."""
    types = REGISTRY[op].infer([v.type for v in inputs], **attrs)
    types = list(types) if isinstance(types, (list, tuple)) else [types]
    return Node(op, inputs, attrs, types, scope=like.scope, src=like.src).outputs[0]


def _pool_relu_grad_match(n: Node, get, users, roots) -> bool:
    """``n`` is ``where(greater(y, 0), max_pool2d_grad(y, g), 0)`` (its inputs as rewritten so
    far, ``get``) whose pool gradient has no other user (the ``y`` of the mask and of the
    pooling the same value)."""
    if n.op != "where" or len(n.inputs) != 3 or not _is_zero_constant(n.inputs[2]):
        return False
    cond, mpg = get(n.inputs[0]).node, n.inputs[1].node
    if mpg.op != "max_pool2d_grad" or cond.op != "greater":
        return False
    if not _relu_mask_of(cond, get(mpg.inputs[0])) or n.outputs[0].type != mpg.outputs[0].type:
        return False
    v = mpg.outputs[0]
    return id(v) not in roots and users.get(id(v), []) == [n]
