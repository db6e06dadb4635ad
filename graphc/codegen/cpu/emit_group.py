"""Horizontal fusion: fused kernels with the same body share one loop body.

An optimiser's update is one fused kernel per variable, all with the same body (Adam: 13 ops
on the variable, its gradient and two moments, with the same scalar step sizes). Emitted one
after the other, numba types, lowers and LLVM optimises the same loop once per variable, and
that repetition is most of the cold compile of a small model's training step (measured on the
seed MLP: its four Adam kernels were ~90 of the ~350 generated lines). Here such kernels run
as ONE loop over their instances, each a flat loop over its own arrays::

    ga1 = (reshape_c(m1, m1.size), reshape_c(m2, m2.size))     # a tuple per operand
    for g in range(2):
        a1 = ga1[g] ...
        for i in range(a1.size):
            ... the body once ...

which does exactly what the kernels did one after the other, at the same speed (each inner
loop vectorises as before), for the cost of compiling one of them.

A group is planned on the static graph (:func:`plan_groups`): kernels with the same
:func:`group_key` (the body's structure, every operand read element by element or as one
scalar) whose outputs nobody reads before the last of them move next to it, so the memory plan
and the in-place analysis see the order they run in. :func:`emit_group` then checks what only
the writer knows (C layouts, no destination buffers, a serial loop) and otherwise emits the
kernels one by one.
"""
from __future__ import annotations

import numpy as np

from ...ir.node import Node
from .emit import _emit_body, _reads_elementwise, _supports_fused, _tuple, \
    emit, region_dims

# a group needs at least this many body ops per kernel to be worth its tuple set-up
MIN_GROUP_OPS = 2


def _attrs_key(attrs) -> tuple:
    out = []
    for k, a in sorted(attrs.items()):
        if isinstance(a, np.ndarray):
            a = (a.dtype.name, a.shape, a.tobytes())
        out.append((k, repr(a)))
    return tuple(out)


def _elementwise(v, node) -> bool:
    """``node`` reads operand ``v`` element by element (v has its output's static shape);
    otherwise v has one element and is read once."""
    return tuple(v.shape) == tuple(node.outputs[0].shape)


def group_key(node: Node):
    """What must be equal for fused kernels to share a loop body, or None when ``node``
    cannot join a group: a ``fused`` node whose every operand either has the output's static
    shape (read at each element) or one element (read once)."""
    if node.op != "fused" or not _supports_fused(node):
        return None
    shape = tuple(node.outputs[0].shape)
    if not shape or any(d is None for d in shape):
        return None
    kinds = []
    for v in node.inputs:
        if _elementwise(v, node):
            kinds.append(("full", v.dtype))
        elif all(d == 1 for d in v.shape):
            kinds.append(("one", v.dtype))
        else:
            return None
    body = node.attrs["body"]
    where = {id(b): ("in", i) for i, b in enumerate(body.inputs)}
    items = []
    n_ops = 0
    for k, n in enumerate(body.nodes()):
        if n.op == "input":
            continue
        if n.op == "constant":
            items.append(("constant", n.outputs[0].dtype, _attrs_key(n.attrs)))
        else:
            n_ops += 1
            items.append((n.op, _attrs_key(n.attrs), tuple(where[id(v)] for v in n.inputs),
                          tuple(o.dtype for o in n.outputs)))
        for j, o in enumerate(n.outputs):
            where[id(o)] = ("node", k, j)
    if n_ops < MIN_GROUP_OPS:
        return None
    return (tuple(kinds), tuple(items), tuple(where[id(v)] for v in body.outputs),
            tuple(o.dtype for o in node.outputs))


def plan_groups(nodes: list[Node]) -> tuple[list[Node], list[list[Node]]]:
    """(new order, groups): kernels of one :func:`group_key` whose outputs are read by no node
    up to the last of them move next to that last one (in their order), so they can run as
    one loop. Moving a kernel later never breaks the order: its inputs exist already, and no
    node before its new place reads what it writes."""
    by_key: dict = {}
    for p, n in enumerate(nodes):
        key = group_key(n)
        if key is not None:
            by_key.setdefault(key, []).append(p)
    first_read: dict[int, int] = {}
    for p, n in enumerate(nodes):
        for v in n.inputs:
            first_read.setdefault(id(v), p)
    groups = []
    for ps in by_key.values():
        last = ps[-1]
        ps = [p for p in ps[:-1] if all(first_read.get(id(o), len(nodes)) > last
                                        for o in nodes[p].outputs)] + [last]
        if len(ps) >= 2:
            groups.append(ps)
    if not groups:
        return nodes, []
    moved = {p for ps in groups for p in ps[:-1]}
    at_last = {ps[-1]: ps for ps in groups}
    order = []
    for p, n in enumerate(nodes):
        if p in moved:
            continue
        if p in at_last:
            order.extend(nodes[q] for q in at_last[p])
        else:
            order.append(n)
    return order, [[nodes[p] for p in ps] for ps in groups]


def _read_only(ctx, v) -> bool:
    """numba types ``v`` as a read-only array: a graph constant (a read-only argument or a
    module global) or a view of one."""
    root = v if v.node.op == "constant" else ctx.alias.get(id(v))
    return root is not None and root.node.op == "constant"


def _groupable_here(ctx, members) -> bool:
    """The writer's state allows one loop: top level, serial loops, no destination buffers or
    views through a parent, and per operand one numba array type across the members (C
    layout, all read-only or none: a tuple indexed at run time must be homogeneous)."""
    if ctx.indent != 1:
        return False
    first = members[0]
    for m in members:
        if not ctx.serial(m.outputs[0].shape):
            return False
        if any(id(o) in ctx.dest for o in m.outputs):
            return False
        for v, v0 in zip(m.inputs, first.inputs):
            if id(v) in ctx.offset_view:
                return False
            if not _elementwise(v, m):
                continue                          # one element, loaded as a scalar
            if ctx.layout.get(id(v)) != "C" and v.node.op != "constant":
                return False
            if _read_only(ctx, v) != _read_only(ctx, v0):
                return False
    return True


def emit_group(ctx, members: list[Node], positions: list[int]) -> None:
    """Emit the kernels ``members`` (adjacent, at ``positions`` of the segment) as one loop
    over them when the writer's state allows it, else one by one."""
    if not _groupable_here(ctx, members):
        for m, p in zip(members, positions):
            ctx.pos = p
            emit(ctx, m)
        return
    first = members[0]
    body = first.attrs["body"]
    full = [_elementwise(v, first) for v in first.inputs]
    # outputs: a variable's storage (in-place update) or a new buffer, per member
    outs: list[list[str]] = []
    direct = []
    for m, p in zip(members, positions):
        ctx.pos = p
        shape = tuple(m.outputs[0].shape)
        operands = [(ctx.name(v), v.shape, v) for v in m.inputs]
        dims = None
        names = []
        for o in m.outputs:
            var = ctx.inplace.get(id(o))
            if var is not None and _reads_elementwise(var, operands, shape):
                names.append(ctx.name(var))
                direct.append((o, var))
                continue
            if dims is None:
                dims = region_dims(ctx, shape, [(n, s) for n, s, _ in operands])
            names.append(ctx.alloc(dims, o.dtype, shape))
        outs.append(names)
    env: dict[int, str] = {}
    arrays: dict[int, str] = {}               # id(body input) -> its array inside the loop
    per_member = []                           # (name inside the loop, tuple it is taken from)
    flat_of: dict[tuple, str] = {}            # the arrays of a tuple -> its name in the loop

    def flat(names, prefix):
        key = tuple(names)
        if key not in flat_of:                # an in-place output reuses its input's tuple
            tup = ctx.fresh(f"g{prefix}")
            ctx.line(f"{tup} = ({', '.join(f'reshape_c({n}, {n}.size)' for n in names)})")
            flat_of[key] = ctx.fresh(prefix)
            per_member.append((flat_of[key], tup))
        return flat_of[key]

    for q, b in enumerate(body.inputs):
        names = [ctx.name(m.inputs[q]) for m in members]
        if full[q]:
            arrays[id(b)] = flat(names, "a")
            continue
        loaded = [f"{n}[{_tuple(['0'] * m.inputs[q].ndim) if m.inputs[q].ndim else '()'}]"
                  for m, n in zip(members, names)]
        x = ctx.fresh("x")
        env[id(b)] = x
        if len(set(loaded)) == 1:             # the same scalar for all: load it once
            ctx.line(f"{x} = {loaded[0]}")
        else:
            tup = ctx.fresh("gs")
            ctx.line(f"{tup} = ({', '.join(loaded)})")
            per_member.append((x, tup))
    out_vars = [flat([o[k] for o in outs], "o") for k in range(len(first.outputs))]
    g = ctx.fresh("g")
    ctx.line(f"for {g} in range({len(members)}):")
    ctx.indent += 1
    for name, tup in per_member:
        ctx.line(f"{name} = {tup}[{g}]")
    i = ctx.fresh("i")
    ctx.line(f"for {i} in range({out_vars[0]}.size):")
    ctx.indent += 1
    for b in body.inputs:
        if id(b) in arrays:
            env[id(b)] = ctx.fresh("x")
            ctx.line(f"{env[id(b)]} = {arrays[id(b)]}[{i}]")
    _emit_body(ctx, body.nodes(), env)
    for o, b in zip(out_vars, body.outputs):
        ctx.line(f"{o}[{i}] = {env[id(b)]}")
    ctx.indent -= 2
    for m, names in zip(members, outs):
        for o, name in zip(m.outputs, names):
            ctx.define(o, name, "C")
    for o, var in direct:
        ctx.alias[id(o)] = var
        ctx.inplace_done.add(id(o))
