"""Lowering of the loop op ``scan``: ONE native loop over the time steps.

The body sub-graph (fused first, so its elementwise chains are single loop nests) is emitted
inline, inside a ``for`` loop of the generated segment function, with the same lowerings as
the outer graph -- no Python dispatch per step. The gradient of a scan is itself a scan (over
reversed time, see graphc/ir/ops/control.py), so forward and backward loops both compile
this way, and a whole recurrent training step stays one native call.

Generated shape of the code (``go_backwards`` iterates ``t = T - 1 - s``)::

    T = seq0.shape[0]
    h0 = init0.copy()                       # carried states: private, mutable, C-contiguous
    Y0 = np.empty((T, <step output dims>))  # stacked outputs
    E0 = np.empty((T, <state dims>))        # stacked entering states (saved_states)
    for s in range(T):
        t = s
        x0 = seq0[t]                        # one time step: a C-contiguous view
        E0[t] = h0
        ... the body's nodes ...
        Y0[t] = y
        n0 = <new state>                    # every new value first, then the swap
        h0 = n0

Body values never alias the carried state buffers in a way that is written later: emitters
always produce fresh arrays or views of their inputs and nothing writes into an input, so a
state can be rebound to the body's result without a copy (a result that IS a view of a body
input -- a pass-through state -- is copied to keep the loop-carried type exact).

Two savings between loops of one generated function: a forward loop writes each step's
product of a state (or sequence) with a weight straight into a stacked buffer when a later
gradient loop recomputes the same product, and that loop reads it back instead of calling
BLAS again (see ``_plan_shared_products``); stacked outputs nobody reads (a gradient loop's
own saved cotangents) are not stored, and a value returned as two step outputs is stored once.

Supported: every body node runs natively (``native_supported``; nested scans included),
the body has no variables or random ops, and every dim of a step output is static or a
symbol that one of the body's inputs carries (so its run-time size is known before the
first step, also for T = 0).
"""
from __future__ import annotations

import weakref

from ....ir.ops import REGISTRY
from . import registry
from .common import NP_DTYPE, copy_into, tuple_text
from .registry import lowers


_PREPARED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def prepared_body(body):
    """The body as the loop emits it: the algebraic rules applied (the top-level pipeline
    does not enter bodies; e.g. a step's gate cotangent, a sum of zero-padded slices, becomes
    one concatenate), common subexpressions merged (autodiff of a step repeats work, e.g. the
    same cotangent built twice), then elementwise regions fused. The placeholders stay the
    same objects in the same order (else that rewrite is skipped)."""
    got = _PREPARED.get(body)
    if got is None:
        from ....passes.algebraic import simplify
        from ....passes.cse import cse
        from ....passes.fuse import fuse
        got = body
        for rewrite in (simplify, cse, fuse):
            new = rewrite(got)
            if len(new.inputs) == len(body.inputs) and all(
                    a is b for a, b in zip(new.inputs, body.inputs)) and \
                    len(new.outputs) == len(body.outputs):
                got = new
        _PREPARED[body] = got
    return got


def _dim_sources(node, body):
    """symbol -> (outer input index, axis of the outer array) for the body's symbolic dims."""
    n_seq = node.attrs["n_seq"]
    out = {}
    for i, ph in enumerate(body.inputs):
        for ax, d in enumerate(ph.type.shape):
            if isinstance(d, str) and d not in out:
                out[d] = (i, ax + 1 if i < n_seq else ax)
    return out


def _supports_scan(node) -> bool:
    body = node.attrs.get("body")
    if body is None:
        return False
    body = prepared_body(body)
    ph = {id(v) for v in body.inputs}
    for n in body.nodes():
        if n.op == "input":
            if id(n.outputs[0]) not in ph:
                return False
            continue
        if n.op == "constant":
            continue
        opdef = REGISTRY.get(n.op)
        if opdef is None or opdef.kind in ("random", "source"):
            return False
        if not registry.native_supported(n):
            return False
    if any(v.dtype == "float16" for v in node.inputs):
        return False
    sources = _dim_sources(node, body)
    n_out = node.attrs["n_outputs"]
    for v in body.outputs[:n_out]:
        for d in v.shape:
            if not isinstance(d, int) and not (isinstance(d, str) and d in sources):
                return False
    return True


_SHARED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()   # ctx -> plan


def _products(body, n_seq, n_states):
    """(op, placeholder index, const index) -> node, for 2-D products of a body placeholder
    with a constant placeholder (a dot/matmul of two matrices)."""
    index = {id(v): i for i, v in enumerate(body.inputs)}
    first_const = n_seq + n_states
    out = {}
    for n in body.nodes():
        if n.op not in ("dot", "matmul"):
            continue
        a, b = n.inputs
        i, j = index.get(id(a)), index.get(id(b))
        if i is None or j is None or j < first_const or a.ndim != 2 or b.ndim != 2:
            continue
        out.setdefault((n.op, i, j - first_const), n)
    return out


def _plan_shared_products(ctx, node, body) -> dict:
    """For the forward scan ``node``: id(body product node) -> name of its stacked buffer,
    for the products a later scan of this generated function recomputes; records the reading
    side in ``_SHARED[ctx]``."""
    seg_nodes = getattr(getattr(ctx, "seg", None), "nodes", None)
    if not seg_nodes or node not in seg_nodes:
        return {}
    a = node.attrs
    n_seq, n_st, n_out = a["n_seq"], a["n_states"], a["n_outputs"]
    saved = tuple(range(n_st)) if a["saved_states"] is None else tuple(a["saved_states"])
    # what this loop's placeholder i holds at step t, as an outer stacked value: element t
    # of sequence i, or of the stacked entering values of state i - n_seq
    stacked = {id(v): n_seq + k for v, k in zip(node.outputs[n_out + n_st:], saved)}
    stacked.update({id(v): i for i, v in enumerate(node.inputs[:n_seq])})
    mine = {(op, i, id(node.inputs[n_seq + n_st + c])): n
            for (op, i, c), n in _products(body, n_seq, n_st).items() if i < n_seq + n_st}
    if not mine:
        return {}
    plan = _SHARED.setdefault(ctx, {})
    buffers: dict[int, str] = {}
    for other in seg_nodes[seg_nodes.index(node) + 1:]:
        if other.op != "scan" or not _supports_scan(other):
            continue
        b = other.attrs
        o_seq, o_st = b["n_seq"], b["n_states"]
        o_body = prepared_body(b["body"])
        for (op, i, c), m in _products(o_body, o_seq, o_st).items():
            k = stacked.get(id(other.inputs[i])) if i < o_seq else None
            if k is None:
                continue
            f = mine.get((op, k, id(other.inputs[o_seq + o_st + c])))
            if f is None or f.outputs[0].type != m.outputs[0].type:
                continue
            if id(f) not in buffers:
                buffers[id(f)] = ctx.fresh("Z")
            plan[(id(other), id(m))] = buffers[id(f)]
    return buffers


def _used(ctx, v) -> bool:
    """False only if no node of this generated function reads ``v`` and it is not passed on
    (to a later step, or as an output of the call)."""
    seg = getattr(ctx, "seg", None)
    slot_of = getattr(ctx, "slot_of", None)
    if seg is None or slot_of is None:
        return True
    if id(v) in slot_of and slot_of[id(v)] in seg.rets:
        return True
    return any(w is v for n in seg.nodes for w in n.inputs)


def _position(values, v) -> int:
    return next(i for i, w in enumerate(values) if w is v)


def _emit_product_into(ctx, n, buf, t):
    """Emit the 2-D product node ``n`` of a loop body as one BLAS call writing ``buf[t]``."""
    a, b = n.inputs
    an, bn = ctx.blas(a), ctx.blas(b)
    z = ctx.fresh("t")
    ctx.line(f"if {an}.shape[1] != {bn}.shape[0]:")
    ctx.line("    raise ValueError('matmul: the inner dimensions of the operands differ')")
    ctx.line(f"{z} = {buf}[{t}]")
    ctx.line(f"gemm({an}, {bn}, {z})")
    ctx.define(n.outputs[0], z, "C", alias_of=a)


def _plan_destinations(ctx, outs, ys, t) -> list[int]:
    """Let the body's producers write the step outputs straight into the stacked buffers.

    A step output ``v`` (stacked in ``ys[i]``) made by a fused / elementwise kernel or a
    concatenation is written into its slot ``Y[t]`` instead of a new array that is then
    copied there; a concatenation's inputs made by such kernels are written into their spans
    of that slot, so the concatenation copies nothing either (an LSTM gradient step's four
    gate cotangents: 2 copies of a (batch, 4 * units) block per step saved). Sets
    ``ctx.dest`` (see lower.SegmentWriter) and emits the slot and span views; returns the
    value ids planned, for the caller to drop after the loop."""
    planned: list[int] = []
    step_outs = {id(v) for v in outs}
    for v, y in zip(outs, ys):
        n = v.node
        if v.ndim == 0 or id(v) in ctx.dest or n is None or \
                n.op in ("input", "constant") or not registry.writes_destination(n):
            continue
        d = ctx.fresh("y")
        ctx.line(f"{d} = {y}[{t}]")
        ctx.dest[id(v)] = (d, "C", None)
        planned.append(id(v))
        if n.op != "concatenate":
            continue
        axis = n.attrs["axis"] % v.ndim
        off = 0
        for u in n.inputs:
            size = u.shape[axis]
            if not isinstance(size, int):
                break                   # the spans after a symbolic size are not static
            p = u.node
            if p is not None and p.op not in ("input", "constant", "concatenate") and \
                    registry.writes_destination(p) and id(u) not in step_outs and \
                    id(u) not in ctx.dest and sum(w is u for w in n.inputs) == 1:
                parts = [":"] * v.ndim
                parts[axis] = f"{off}:{off + size}"
                span = ctx.fresh("y")
                ctx.line(f"{span} = {d}[{', '.join(parts)}]")
                begins = tuple(off if k == axis else 0 for k in range(v.ndim))
                ctx.dest[id(u)] = (span, "A", v, d, begins)
                planned.append(id(u))
            off += size
    return planned


@lowers("scan", supports=_supports_scan)
def _emit_scan(ctx, node):
    a = node.attrs
    n_seq, n_st, n_out = a["n_seq"], a["n_states"], a["n_outputs"]
    saved = tuple(range(n_st)) if a["saved_states"] is None else tuple(a["saved_states"])
    body = prepared_body(a["body"])
    ins = list(node.inputs)
    seqs, inits, consts = ins[:n_seq], ins[n_seq:n_seq + n_st], ins[n_seq + n_st:]
    b_seq = body.inputs[:n_seq]
    b_st = body.inputs[n_seq:n_seq + n_st]
    b_c = body.inputs[n_seq + n_st:]

    seq_names = [ctx.contig(v) for v in seqs]
    T = ctx.fresh("T")
    ctx.line(f"{T} = {seq_names[0]}.shape[0]")
    states = []
    for v in inits:
        h = ctx.fresh("h")
        ctx.line(f"{h} = {ctx.contig(v)}.copy()")
        states.append(h)
    outer_names = seq_names + states + [ctx.name(v) for v in consts]

    sources = _dim_sources(node, body)

    def run_dims(shape):
        dims = []
        for d in shape:
            if isinstance(d, int):
                dims.append(str(d))
            else:
                i, ax = sources[d]
                dims.append(f"{outer_names[i]}.shape[{ax}]")
        return dims

    ys, stacked = [], {}    # a value returned as two step outputs is stacked once (both
    for v in body.outputs[:n_out]:      # outputs name one array: nothing writes into it later)
        if id(v) not in stacked:
            stacked[id(v)] = ctx.fresh("Y")
            ctx.line(f"{stacked[id(v)]} = np.empty({tuple_text([T] + run_dims(v.shape))}, "
                     f"{NP_DTYPE[v.dtype]})")
        ys.append(stacked[id(v)])
    entering = []
    for v, k in zip(node.outputs[n_out + n_st:], saved):
        if not _used(ctx, v):       # e.g. a gradient loop's own saved cotangents
            entering.append(None)
            continue
        e = ctx.fresh("E")
        dims = [f"{states[k]}.shape[{ax}]" for ax in range(inits[k].ndim)]
        ctx.line(f"{e} = np.empty({tuple_text([T] + dims)}, {NP_DTYPE[inits[k].dtype]})")
        entering.append(e)

    shared = _plan_shared_products(ctx, node, body)      # products this loop stacks
    products = {id(n): n for n in body.nodes() if id(n) in shared}
    for key, buf in shared.items():
        n = products[key]
        i = _position(body.inputs, n.inputs[0])
        c = _position(body.inputs, n.inputs[1]) - n_seq - n_st
        rows = f"{seq_names[i]}.shape[1]" if i < n_seq else f"{states[i - n_seq]}.shape[0]"
        ctx.line(f"{buf} = np.empty(({T}, {rows}, {ctx.name(consts[c])}.shape[1]), "
                 f"{NP_DTYPE[n.outputs[0].dtype]})")
    reused = _SHARED.get(ctx, {})                        # products an earlier loop stacked

    # -- the loop ------------------------------------------------------------------------------
    defined_before = set(ctx.defined)
    step, t = ctx.fresh("s"), ctx.fresh("t")
    ctx.line(f"for {step} in range({T}):")
    ctx.indent += 1
    ctx.line(f"{t} = {T} - 1 - {step}" if a["go_backwards"] else f"{t} = {step}")
    for ph, outer, name in zip(b_seq, seqs, seq_names):
        x = ctx.fresh("x")
        if outer.ndim == 1:
            ctx.line(f"{x} = {name}[{t}:{t} + 1].reshape(())")
        else:
            ctx.line(f"{x} = {name}[{t}]")
        ctx.define(ph, x, "C")
        ctx.alias[id(ph)] = outer
    for ph, outer, h in zip(b_st, inits, states):
        ctx.define(ph, h, "C")
        ctx.alias[id(ph)] = outer
    for ph, outer in zip(b_c, consts):
        ctx.define(ph, ctx.name(outer), ctx.layout.get(id(outer), "A"))
        ctx.alias[id(ph)] = outer
    for e, k in zip(entering, saved):
        if e is None:
            continue
        if inits[k].ndim:
            et = ctx.fresh("y")
            ctx.line(f"{et} = {e}[{t}]")
            copy_into(ctx, et, states[k], inits[k].ndim,
                        error="scan: a state changed shape between steps")
        else:
            ctx.line(f"{e}[{t}] = {states[k]}[()]")
    planned = _plan_destinations(ctx, body.outputs[:n_out], ys, t)
    for n in body.nodes():
        if n.op in ("input", "constant"):
            continue
        if id(n) in shared:
            _emit_product_into(ctx, n, shared[id(n)], t)
        elif (id(node), id(n)) in reused:
            z = ctx.fresh("t")
            ctx.line(f"{z} = {reused[id(node), id(n)]}[{t}]")
            ctx.define(n.outputs[0], z, "C", alias_of=n.inputs[0])
        else:
            registry.emit(ctx, n)
    for y, v in {id(v): (y, v) for y, v in zip(ys, body.outputs[:n_out])}.values():
        if id(v) in ctx.dest_done and ctx.dest[id(v)][2] is None:
            continue                # its producer wrote it into its slot of the stack
        src = ctx.name(v)
        if v.ndim:                  # an explicit loop: numba's setitem is twice as slow
            yt = ctx.fresh("y")
            ctx.line(f"{yt} = {y}[{t}]")
            copy_into(ctx, yt, src, v.ndim,
                        error="scan: a step output changed shape between steps")
        else:
            ctx.line(f"{y}[{t}] = {src}[()]")
    news = []
    for v in body.outputs[n_out:]:
        src = ctx.name(v)
        if ctx.alias.get(id(v)) is not None or ctx.layout.get(id(v)) != "C" or \
                v.node.op == "constant":
            c = ctx.fresh("n")
            ctx.line(f"{c} = np.ascontiguousarray({src}).copy()" if v.ndim else
                     f"{c} = {src}.copy()")
            src = c
        news.append(src)
    for h, src in zip(states, news):
        ctx.line(f"{h} = {src}")
    ctx.indent -= 1
    ctx.defined = defined_before
    for key in planned:             # body values: nothing outside the loop refers to them
        ctx.dest.pop(key, None)
        ctx.dest_done.discard(key)

    outs = node.outputs
    for v, y in zip(outs[:n_out], ys):
        ctx.define(v, y, "C")
    for v, h in zip(outs[n_out:n_out + n_st], states):
        ctx.define(v, h, "C")
    for v, e in zip(outs[n_out + n_st:], entering):
        if e is not None:
            ctx.define(v, e, "C")
