"""Native emitter for the loop op ``scan``: ONE native loop over the time steps.

The body sub-graph (fused first, so its elementwise chains are single loop nests) is emitted
inline, inside a ``for`` loop of the generated segment function, with the same emitters as
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

Supported: every body node runs natively (``native_supported``; nested scans included),
the body has no variables or random ops, and every dim of a step output is static or a
symbol that one of the body's inputs carries (so its run-time size is known before the
first step, also for T = 0).
"""
from __future__ import annotations

import weakref

from ...ir.ops import REGISTRY
from . import emit as E
from .emit import EMITTERS, NP_DTYPE, _tuple

_PREPARED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def prepared_body(body):
    """The body as the loop emits it: common subexpressions merged (autodiff of a step
    repeats work, e.g. the same cotangent built twice), then elementwise regions fused. The
    placeholders stay the same objects in the same order (else the body is used as is)."""
    got = _PREPARED.get(body)
    if got is None:
        from ...passes.cse import cse
        from ...passes.fuse import fuse
        got = body
        for rewrite in (cse, fuse):
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
        if not E.native_supported(n):
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


def _emit_scan(ctx, node):
    a = node.attrs
    n_seq, n_st, n_c, n_out = a["n_seq"], a["n_states"], a["n_consts"], a["n_outputs"]
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

    ys = []
    for v in body.outputs[:n_out]:
        y = ctx.fresh("Y")
        ctx.line(f"{y} = np.empty({_tuple([T] + run_dims(v.shape))}, {NP_DTYPE[v.dtype]})")
        ys.append(y)
    entering = []
    for k in saved:
        e = ctx.fresh("E")
        dims = [f"{states[k]}.shape[{ax}]" for ax in range(inits[k].ndim)]
        ctx.line(f"{e} = np.empty({_tuple([T] + dims)}, {NP_DTYPE[inits[k].dtype]})")
        entering.append(e)

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
        ctx.line(f"{e}[{t}] = {states[k]}" if inits[k].ndim else
                 f"{e}[{t}] = {states[k]}[()]")
    for n in body.nodes():
        if n.op in ("input", "constant"):
            continue
        E.emit(ctx, n)
    for y, v in zip(ys, body.outputs[:n_out]):
        src = ctx.name(v)
        ctx.line(f"{y}[{t}] = {src}" if v.ndim else f"{y}[{t}] = {src}[()]")
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

    outs = node.outputs
    for v, y in zip(outs[:n_out], ys):
        ctx.define(v, y, "C")
    for v, h in zip(outs[n_out:n_out + n_st], states):
        ctx.define(v, h, "C")
    for v, e in zip(outs[n_out + n_st:], entering):
        ctx.define(v, e, "C")


def register() -> None:
    """Add the loop emitter to ``emit.EMITTERS``."""
    EMITTERS["scan"] = (_supports_scan, _emit_scan)


register()
