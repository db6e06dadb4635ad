"""Control flow: the loop op ``scan`` (recurrent layers) and its gradient, a reversed scan.

``scan`` applies a sub-graph, the *body*, once per time step. Its inputs, in this order:

* ``n_seq`` sequences, time-major ``[T, ...]`` (at least one; they all have length ``T``);
* ``n_states`` initial states (carried from step to step);
* ``n_consts`` constants (loop-invariant inputs: weights, dropout masks, ...).

The body (attribute ``body``, a ``graphc.ir.Graph``) has one placeholder per input, in the same
order -- ``[seq_t..., state_{t-1}..., const...]``, where a sequence placeholder has the type of
one time step (``[...]``) -- and returns ``[step_output..., new_state...]``
(``n_outputs + n_states`` values). Its nodes are ordinary IR: the printer shows the body nested
under the scan node, the verifier checks it, and its gradient is ordinary autodiff.

Outputs of the scan node, in this order:

1. ``n_outputs`` stacked step outputs ``[T, ...]``;
2. ``n_states`` final states (after the last step);
3. stacked *entering* states ``[T, ...]``, one per state listed in ``saved_states`` (None,
   the default, = every state): element ``t`` is the state as it entered the step at time
   ``t``. The gradient reads them to recompute each step. The gradient's own scan saves only
   its carried cotangents, not the running sums of the weights' cotangents (saving those
   would cost ``T`` copies of every weight, and differentiating ``a + g`` needs no ``a``).

``go_backwards=True`` runs the steps from time ``T-1`` down to ``0``. The stacked outputs stay
*time-aligned* either way: element ``t`` is computed from the sequences' element ``t`` (as
``jax.lax.scan(reverse=True)``). ``K.rnn`` reverses its outputs to Keras's processing order.
Time alignment is what makes the gradient a plain scan in the other direction, with no
reversals of the stored sequences.

Masking (Keras 2) is done by the body, not the op: ``scan(..., mask=m)`` below adds the mask
as one more sequence and the previous outputs as more states, and selects with ``where`` --
where the mask is 0 the states are carried over unchanged and the step output repeats the
previous step's output (zeros before the first step), as Keras 2's Theano backend and its
unrolled TensorFlow loop do. The op itself stays mask-free, so its gradient and the native
loop have one case only.

Gradient: a scan over reversed time whose body is the vector-Jacobian product of the forward
body (``graphc.ir.autodiff.vjp``). Its sequences are the forward sequences, the stacked
entering states (to recompute the step) and the cotangents of the stacked outputs; its states
are the cotangents of the carried states and the running sums of the constants' cotangents
(the weights' gradients accumulate over the steps); it stacks the sequences' cotangents. A
constant that enters the step only as the right operand of products ``p_t @ W`` (an RNN's
``h_{t-1} @ U``, ``x_t @ W``) is not accumulated: the reversed scan stacks each product's
cotangent ``g_t`` (and ``p_t`` when it is not already stacked outside: a sequence, or a saved
entering state), and ``dW = sum_t p_t^T g_t`` is ONE large product after the loop instead of
``T`` small ones inside it. The result is ordinary IR, so it can be differentiated again
(second order).

Restrictions: a body must be built before the scan node and not changed afterwards (programs
are cached per body); random ops inside a body are refused (draw random tensors outside the
step and pass them as constants -- Keras's recurrent dropout does exactly that).
"""
from __future__ import annotations

import weakref
from typing import NamedTuple

import numpy as np

from ..graph import Graph, toposort
from ..node import Node, Value
from ..types import SHORT, ShapeError, TensorType, dim_str, is_float, known, shape_str
from . import REGISTRY, apply, constant, defop, source
from .core import zeros_like


# -- the body: validation and a precompiled step program ---------------------------------------

class _Program:
    """The body's nodes in topological order with array slots, built once per body.

    Running it per step avoids a toposort and dict traffic per step (the reference loop's
    cost is then the ops' own numpy time).
    """

    def __init__(self, body: Graph):
        slot: dict[int, int] = {id(v): i for i, v in enumerate(body.inputs)}
        if len(slot) != len(body.inputs):
            raise ShapeError("scan: the body lists one placeholder twice among its inputs")
        self.n_in = len(body.inputs)
        self.sources = []   # (slot, node): constants and variables, read at each run
        self.steps = []     # (node, reference, attrs, input slots, output slots, out dtypes)
        nslots = self.n_in
        for node in toposort(list(body.inputs) + list(body.outputs)):
            op = REGISTRY.get(node.op)
            if op is None:
                raise ShapeError(f"scan: the body uses the unregistered op {node.op!r}")
            if node.op == "input":
                if id(node.outputs[0]) not in slot:
                    v = node.outputs[0]
                    raise ShapeError(f"scan: the body reads the placeholder {v.name!r} "
                                     f"({v.type}), which is not one of its inputs")
                continue
            if op.kind == "random":
                raise ShapeError(
                    f"scan: the body contains the random op {node.op!r} (built in "
                    f"{node.provenance}); random ops inside a loop body are not supported -- "
                    f"draw the random tensor outside the step function and pass it as a "
                    f"constant")
            outs = []
            for v in node.outputs:
                slot[id(v)] = nslots
                outs.append(nslots)
                nslots += 1
            if op.kind == "source":
                self.sources.append((outs[0], node))
                continue
            ins = tuple(slot[id(v)] for v in node.inputs)
            dtypes = tuple(np.dtype(v.dtype) for v in node.outputs)
            self.steps.append((node, op.reference, dict(node.attrs), ins, tuple(outs), dtypes))
        self.nslots = nslots
        self.out_slots = [slot[id(v)] for v in body.outputs]

    def run(self, args: list) -> list:
        env = [None] * self.nslots
        env[:self.n_in] = args
        for s, node in self.sources:
            env[s] = node.attrs["var"].value if node.op == "variable" else node.attrs["value"]
        for node, ref, attrs, ins, outs, dtypes in self.steps:
            try:
                res = ref(*[env[i] for i in ins], **attrs)
            except Exception as e:
                shapes = ", ".join(str(np.shape(env[i])) for i in ins)
                raise type(e)(f"{e} [in a scan body, while running {node.op} on shapes "
                              f"{shapes}, built in {node.provenance}]") from e
            res = res if isinstance(res, (list, tuple)) else (res,)
            for s, arr, dt in zip(outs, res, dtypes):
                arr = np.asarray(arr)
                env[s] = arr if arr.dtype == dt else arr.astype(dt)
        return [env[s] for s in self.out_slots]


_PROGRAMS: "weakref.WeakKeyDictionary[Graph, _Program]" = weakref.WeakKeyDictionary()


def body_program(body: Graph) -> _Program:
    """The cached step program of ``body`` (validates the body on first use)."""
    prog = _PROGRAMS.get(body)
    if prog is None:
        prog = _PROGRAMS[body] = _Program(body)
    return prog


# -- infer ---------------------------------------------------------------------------------------

def _counts(attrs) -> tuple:
    return attrs["n_seq"], attrs["n_states"], attrs["n_consts"], attrs["n_outputs"]


def _normalize(types, attrs):
    for key in ("n_seq", "n_states", "n_consts", "n_outputs"):
        v = attrs[key]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ShapeError(f"scan: attribute {key!r} must be an int >= 0, got {v!r}")
        attrs[key] = int(v)
    attrs["go_backwards"] = bool(attrs["go_backwards"])
    saved = attrs["saved_states"]
    if saved is not None:
        n = attrs["n_states"]
        try:
            saved = tuple(sorted({int(k) for k in saved}))
        except (TypeError, ValueError):
            raise ShapeError(f"scan: saved_states must be None or a tuple of state indices, "
                             f"got {saved!r}") from None
        if any(not 0 <= k < n for k in saved):
            raise ShapeError(f"scan: saved_states {saved} names a state outside 0..{n - 1}")
        attrs["saved_states"] = None if saved == tuple(range(n)) else saved
    return attrs


def saved_indices(attrs) -> tuple:
    """The states whose stacked entering values are outputs of a scan node."""
    saved = attrs["saved_states"]
    return tuple(range(attrs["n_states"])) if saved is None else tuple(saved)


class _Binding:
    """Sizes the body's symbolic dims stand for in this node (``"B"`` -> 2, say)."""

    def __init__(self):
        self.dims: dict[str, object] = {}

    def bind(self, sym: str, dim, where: str):
        if sym not in self.dims:
            self.dims[sym] = dim
            return
        cur = self.dims[sym]
        if known(cur) and known(dim) and cur != dim:
            raise ShapeError(f"scan: the body's dim {sym!r} stands for {cur} in one input "
                             f"but for {dim} in {where}")
        if not known(cur) and (known(dim) or cur is None):
            self.dims[sym] = dim

    def apply(self, shape) -> tuple:
        return tuple(self.dims.get(d, d) if isinstance(d, str) else d for d in shape)


def _match(inner: TensorType, outer_shape, outer_dtype, what: str, binding: _Binding):
    """Check that a body placeholder ``inner`` accepts an outer value; bind its symbols."""
    outer = f"{SHORT[outer_dtype]}{shape_str(outer_shape)}"
    if inner.dtype != outer_dtype or inner.ndim != len(outer_shape):
        raise ShapeError(f"scan: {what} is {outer} but the body's placeholder for it is "
                         f"{inner}")
    for a, (i, o) in enumerate(zip(inner.shape, outer_shape)):
        if isinstance(i, str):
            binding.bind(i, o, what)
        elif known(i) and known(o) and i != o:
            raise ShapeError(f"scan: {what} is {outer} but the body's placeholder for it is "
                             f"{inner} (axis {a}: {dim_str(o)} vs {dim_str(i)})")


def _check_structure(ntypes: int, body, n_seq, n_states, n_consts, n_outputs):
    if not isinstance(body, Graph):
        raise ShapeError(f"scan: attribute 'body' must be a graphc.ir.Graph (the step), got "
                         f"{type(body).__name__}")
    if n_seq < 1:
        raise ShapeError("scan: needs at least one sequence (n_seq >= 1) to know the number "
                         "of steps")
    if ntypes != n_seq + n_states + n_consts:
        raise ShapeError(f"scan: got {ntypes} inputs but n_seq + n_states + n_consts = "
                         f"{n_seq} + {n_states} + {n_consts} = {n_seq + n_states + n_consts}")
    if len(body.inputs) != ntypes:
        raise ShapeError(f"scan: the body takes {len(body.inputs)} placeholders but the node "
                         f"has {ntypes} inputs (sequences, states, constants)")
    if len(body.outputs) != n_outputs + n_states:
        raise ShapeError(f"scan: the body returns {len(body.outputs)} values but n_outputs + "
                         f"n_states = {n_outputs} + {n_states}; it must return the step "
                         f"outputs, then one new value per state")


def _scan_infer(types, body=None, n_seq=1, n_states=0, n_consts=0, n_outputs=1,
                go_backwards=False, saved_states=None):
    _check_structure(len(types), body, n_seq, n_states, n_consts, n_outputs)
    body_program(body)      # validates placeholders, refuses random ops
    seqs, states = types[:n_seq], types[n_seq:n_seq + n_states]
    length = seqs[0].shape[0] if seqs[0].ndim else None
    for k, t in enumerate(seqs):
        if t.ndim < 1:
            raise ShapeError(f"scan: sequence {k} is a scalar ({t}); sequences are time-major "
                             f"[T, ...]")
        d = t.shape[0]
        if known(length) and known(d) and d != length:
            raise ShapeError(f"scan: the sequences have different lengths: "
                             f"{', '.join(str(s) for s in seqs)} (axis 0 is time)")
        if not known(length) and (known(d) or length is None):
            length = d
    binding = _Binding()
    for k, (t, ph) in enumerate(zip(types, body.inputs)):
        role, idx = _role(k, n_seq, n_states)
        shape = t.shape[1:] if role == "sequence" else t.shape
        what = (f"one step of sequence {idx} ({t})" if role == "sequence"
                else f"{role} {idx}")
        _match(ph.type, shape, t.dtype, what, binding)
    outs = []
    for k in range(n_outputs):
        bt = body.outputs[k].type
        outs.append(TensorType(bt.dtype, (length,) + binding.apply(bt.shape)))
    for k, t in enumerate(states):
        new = body.outputs[n_outputs + k].type
        shape = binding.apply(new.shape)
        if new.dtype != t.dtype or new.ndim != t.ndim or any(
                known(a) and known(b) and a != b for a, b in zip(shape, t.shape)):
            raise ShapeError(f"scan: the body returns {new} as the new value of state {k}, "
                             f"but the state is {t}; a state must keep its dtype and shape "
                             f"from step to step")
    saved = range(n_states) if saved_states is None else saved_states
    return outs + list(states) + [TensorType(states[k].dtype, (length,) + states[k].shape)
                                  for k in saved]


def _role(k: int, n_seq: int, n_states: int) -> tuple:
    if k < n_seq:
        return "sequence", k
    if k < n_seq + n_states:
        return "state", k - n_seq
    return "constant", k - n_seq - n_states


# -- reference -------------------------------------------------------------------------------------

def _scan_ref(*arrays, body=None, n_seq=1, n_states=0, n_consts=0, n_outputs=1,
              go_backwards=False, saved_states=None):
    prog = body_program(body)
    seqs = [np.asarray(a) for a in arrays[:n_seq]]
    states = [np.asarray(a) for a in arrays[n_seq:n_seq + n_states]]
    consts = list(arrays[n_seq + n_states:])
    steps = seqs[0].shape[0]
    for k, s in enumerate(seqs):
        if s.shape[0] != steps:
            raise ValueError(f"scan: sequence {k} has {s.shape[0]} steps but sequence 0 has "
                             f"{steps}")
    saved = tuple(range(n_states)) if saved_states is None else saved_states
    entering = [np.empty((steps,) + states[k].shape, states[k].dtype) for k in saved]
    ys = [None] * n_outputs
    if steps == 0:
        ys = _empty_outputs(body, n_outputs, seqs, states, consts)
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    for t in order:
        for j, k in enumerate(saved):
            entering[j][t] = states[k]
        outs = prog.run([s[t] for s in seqs] + states + consts)
        for k in range(n_outputs):
            y = outs[k]
            if ys[k] is None:
                ys[k] = np.empty((steps,) + y.shape, y.dtype)
            elif ys[k].shape[1:] != y.shape:
                raise ValueError(f"scan: step output {k} has shape {y.shape} at time {t} but "
                                 f"{ys[k].shape[1:]} at an earlier step")
            ys[k][t] = y
        new = outs[n_outputs:]
        for k, (old, h) in enumerate(zip(states, new)):
            if h.shape != old.shape:
                raise ValueError(f"scan: state {k} has shape {old.shape} entering the step at "
                                 f"time {t} but the body returns shape {h.shape}")
        states = new
    return ys + [np.array(s, copy=True) for s in states] + entering


def _empty_outputs(body, n_outputs, seqs, states, consts) -> list:
    """Stacked outputs of a zero-step scan: their per-step shapes come from the body's types."""
    sizes: dict[str, int] = {}
    for ph, arr in zip(body.inputs, [s.shape[1:] for s in seqs]
                       + [s.shape for s in states] + [np.shape(c) for c in consts]):
        for d, n in zip(ph.type.shape, arr):
            if isinstance(d, str):
                sizes[d] = n
    out = []
    for k in range(n_outputs):
        t = body.outputs[k].type
        shape = [sizes.get(d, d) if isinstance(d, str) else d for d in t.shape]
        if not all(isinstance(d, int) for d in shape):
            raise ValueError(f"scan: zero steps, and the shape {t} of step output {k} is not "
                             f"known without running a step")
        out.append(np.empty((0,) + tuple(shape), t.dtype))
    return out


# -- gradient: a scan over reversed time whose body is the VJP of the forward body -------------

def _placeholder(type_: TensorType, name: str) -> Value:
    return source("input", type_, name=name)


def _scan_grad(node, gouts):
    from ..autodiff import vjp

    a = node.attrs
    body = a["body"]
    n_seq, n_st, n_c, n_out = _counts(a)
    seqs = node.inputs[:n_seq]
    inits = node.inputs[n_seq:n_seq + n_st]
    consts = node.inputs[n_seq + n_st:]
    saved = saved_indices(a)
    entering = dict(zip(saved, node.outputs[n_out + n_st:]))
    g_ys, g_final = gouts[:n_out], gouts[n_out:n_out + n_st]
    g_enter = dict(zip(saved, gouts[n_out + n_st:]))
    bx = body.inputs[:n_seq]
    bh = body.inputs[n_seq:n_seq + n_st]
    bc = body.inputs[n_seq + n_st:]

    f_seq = [k for k in range(n_seq) if is_float(seqs[k].dtype)]
    f_st = [k for k in range(n_st) if is_float(inits[k].dtype)]
    f_c = [k for k in range(n_c) if is_float(consts[k].dtype)]
    # Per-step cotangent placeholders of the backward body.
    d_out = {k: _placeholder(body.outputs[k].type, f"d_out{k}")
             for k in range(n_out) if g_ys[k] is not None}
    d_enter = {k: _placeholder(bh[k].type, f"d_enter{k}") for k in f_st
               if g_enter.get(k) is not None}
    d_state = {k: _placeholder(bh[k].type, f"d_state{k}") for k in f_st}

    cots = [d_out.get(k) for k in range(n_out)] + [d_state.get(k) for k in range(n_st)]
    # Weights that enter the step only as the right operand of products (h @ U): their
    # cotangent sum_t p_t^T g_t is ONE product after the loop, of the stacked operands p_t and
    # the stacked cotangents g_t of the products -- not T small products accumulated inside.
    uses = _product_uses(body, bc, f_c)
    f_acc = [k for k in f_c if k not in uses]
    prods = [u for k in f_c if k in uses for u in uses[k]]
    wrt = [bx[k] for k in f_seq] + [bh[k] for k in f_st] + [bc[k] for k in f_acc] \
        + [u.outputs[0] for u in prods]
    grads = vjp(body.outputs, cots, wrt, unconnected="none")
    dx = grads[:len(f_seq)]
    dh = grads[len(f_seq):len(f_seq) + len(f_st)]
    dc = grads[len(f_seq) + len(f_st):len(f_seq) + len(f_st) + len(f_acc)]
    d_prod = dict(zip(map(id, prods), grads[len(f_seq) + len(f_st) + len(f_acc):]))
    # Sequences and constants the body's outputs do not depend on get no cotangent at all.
    seq_keep = [(k, g) for k, g in zip(f_seq, dx) if g is not None]
    c_keep = [(k, g) for k, g in zip(f_acc, dc) if g is not None]
    # (constant, operand p_t, cotangent g_t) per product that gets a cotangent.
    p_keep = [(k, u.inputs[0], d_prod[id(u)]) for k in f_c if k in uses for u in uses[k]
              if d_prod[id(u)] is not None]
    if not seq_keep and not f_st and not c_keep and not p_keep:
        return [None] * len(node.inputs)
    acc = {k: _placeholder(bc[k].type, f"acc_const{k}") for k, _ in c_keep}

    new_dh = []
    for k, g in zip(f_st, dh):
        if k in d_enter:    # the stacked entering state is state_{t-1} itself
            g = d_enter[k] if g is None else apply("add", g, d_enter[k])
        new_dh.append(zeros_like(d_state[k]) if g is None else g)
    new_acc = [apply("add", acc[k], g) for k, g in c_keep]

    # The stacked operands p_t: an outer array where p is a sequence or a saved state's
    # placeholder, else one more step output of the backward scan; and each g_t is one.
    outer_of = {id(bx[k]): seqs[k] for k in range(n_seq)}
    outer_of.update({id(bh[k]): entering[k] for k in range(n_st) if k in entering})
    extra = []                                  # step outputs after the sequences' cotangents
    for _, p, g in p_keep:
        extra.append(g)
        if id(p) not in outer_of:
            extra.append(p)
    b_outs = [g for _, g in seq_keep] + extra + new_dh + new_acc
    # Recomputing a step needs the entering value of each state the cotangents read.
    read = {id(n.outputs[0]) for n in toposort(b_outs) if n.op == "input"}
    needed = [k for k in range(n_st) if id(bh[k]) in read]
    for k in needed:
        if k not in entering:
            raise ShapeError(f"scan: cannot differentiate this scan (built in "
                             f"{node.provenance}): its gradient needs the entering values of "
                             f"state {k}, which the node does not save (saved_states="
                             f"{a['saved_states']})")
    grad_body = Graph(
        list(bx) + [bh[k] for k in needed] + list(d_out.values()) + list(d_enter.values())
        + [d_state[k] for k in f_st] + [acc[k] for k, _ in c_keep] + list(bc),
        b_outs, name=f"{body.name}_grad")
    b_seqs = list(seqs) + [entering[k] for k in needed] + [g_ys[k] for k in d_out] \
        + [g_enter[k] for k in d_enter]
    b_inits = [zeros_like(inits[k]) if g_final[k] is None else g_final[k] for k in f_st] \
        + [zeros_like(consts[k]) for k, _ in c_keep]
    n_bo = len(seq_keep) + len(extra)
    res = apply("scan", *b_seqs, *b_inits, *consts, body=grad_body, n_seq=len(b_seqs),
                n_states=len(b_inits), n_consts=n_c, n_outputs=n_bo,
                go_backwards=not a["go_backwards"], saved_states=tuple(range(len(f_st))))
    out = [None] * len(node.inputs)
    for (k, _), g in zip(seq_keep, res):
        out[k] = g
    for j, k in enumerate(f_st):
        out[n_seq + k] = res[n_bo + j]
    for j, (k, _) in enumerate(c_keep):
        out[n_seq + n_st + k] = res[n_bo + len(f_st) + j]
    j = len(seq_keep)
    for k, p, _ in p_keep:
        gs = res[j]
        if id(p) in outer_of:
            ps, j = outer_of[id(p)], j + 1
        else:
            ps, j = res[j + 1], j + 2
        d = _stacked_product_grad(ps, gs, consts[k])
        i = n_seq + n_st + k
        out[i] = d if out[i] is None else apply("add", out[i], d)
    return out


def _product_uses(body: Graph, bc, f_c) -> dict:
    """constant index -> the body's product nodes ``dot/matmul(p, c)``, for each float 2-D
    constant c with a static shape whose every use is as such a right operand (with p, c and
    the product of one dtype); constants used in any other way are not listed."""
    cand = {id(bc[k]): k for k in f_c
            if bc[k].ndim == 2 and all(isinstance(d, int) for d in bc[k].shape)}
    for v in body.outputs:          # a constant returned as such is not only a product
        cand.pop(id(v), None)
    uses: dict[int, list] = {}
    for n in toposort(list(body.outputs)):
        for pos, v in enumerate(n.inputs):
            k = cand.get(id(v))
            if k is None:
                continue
            p = n.inputs[0]
            if n.op in ("dot", "matmul") and pos == 1 and p is not v and p.ndim >= 1 and \
                    p.dtype == v.dtype == n.outputs[0].dtype:
                if n not in uses.setdefault(k, []):
                    uses[k].append(n)
            else:
                cand.pop(id(v))
                uses.pop(k, None)
    return {k: u for k, u in uses.items() if id(bc[k]) in cand}


def _stacked_product_grad(ps: Value, gs: Value, c: Value) -> Value:
    """sum_t p_t^T g_t for stacked ``ps`` [T, ..., K] and ``gs`` [T, ..., N]: one product
    ``reshape(ps, (-1, K))^T @ reshape(gs, (-1, N))`` of the constant's shape [K, N]."""
    k, n = c.shape
    p2 = apply("reshape", ps, shape=(-1, k))
    g2 = apply("reshape", gs, shape=(-1, n))
    return apply("matmul", apply("transpose", p2, perm=(1, 0)), g2)


defop("scan", infer=_scan_infer, reference=_scan_ref, grad=_scan_grad, kind="loop",
      normalize=_normalize,
      defaults={"body": None, "n_seq": 1, "n_states": 0, "n_consts": 0, "n_outputs": 1,
                "go_backwards": False, "saved_states": None},
      doc="Apply the sub-graph `body` once per time step of the time-major sequences, "
          "carrying states; outputs: stacked step outputs, final states, stacked entering "
          "states (see graphc/ir/ops/control.py).")


# -- building a scan from a Python step function -------------------------------------------------

class ScanResult(NamedTuple):
    """What ``scan()`` returns: lists of Values."""
    outputs: list           # stacked step outputs [T, ...], time-aligned
    final_states: list      # the states after the last step
    entering_states: list   # stacked states [T, ...] as they entered each step


def scan(step, sequences, initial_states=(), constants=(), *, go_backwards=False, mask=None,
         symbolic_batch=False, name="step") -> ScanResult:
    """Build a ``scan`` node by tracing ``step`` once on placeholders of the per-step types.

    Whatever the traced step uses but does not compute from its placeholders (variables such
    as a layer's weights, values built outside the step, loop-invariant expressions) is hoisted
    out of the loop and becomes a constant input of the scan node, so gradients reach it.

    Args:
        step: ``step(*sequence_steps, *states, *constants) -> (outputs, new_states)``, each a
            Value or a list of Values; ``new_states`` has one Value per initial state, of the
            same dtype and shape.
        sequences: time-major Values ``[T, ...]`` (at least one).
        initial_states: Values of the states before the first step.
        constants: loop-invariant Values passed to every step (arrays become constants).
        go_backwards: run from time ``T-1`` to ``0`` (outputs stay time-aligned).
        mask: optional ``[T, B]`` Value (bool or numbers; non-zero = keep): at a masked step
            the states keep their previous values and each output repeats the previous
            step's output (zeros before the first step), as in Keras 2. The step outputs
            must then be batch-major ``[B, ...]`` with static non-batch dims.
        symbolic_batch: axis 0 of every sequence step and state is the batch: the body sees
            it as the symbol ``'B'`` (so the body does not depend on the batch size).
        name: the body graph's name (for dumps).
    Returns:
        ``ScanResult(outputs, final_states, entering_states)``.

    Example:
        >>> res = scan(lambda x, h, W: ([h + x @ W], [h + x @ W]), [xs], [h0], [W])
        >>> hs, = res.outputs; h_last, = res.final_states
    """
    seqs = [_value(s, "sequences", k) for k, s in enumerate(_as_list(sequences))]
    inits = [_value(s, "initial_states", k) for k, s in enumerate(_as_list(initial_states))]
    consts = [_const_value(c, k) for k, c in enumerate(_as_list(constants))]
    if not seqs:
        raise ValueError("scan: needs at least one sequence (it sets the number of steps)")
    for k, s in enumerate(seqs):
        if s.ndim < 1:
            raise ValueError(f"scan: sequences[{k}] is a scalar ({s.type}); sequences are "
                             f"time-major [T, ...]")

    def batchify(shape):
        if symbolic_batch and shape and not isinstance(shape[0], str):
            return ("B",) + tuple(shape[1:])
        return tuple(shape)

    xs = [_placeholder(TensorType(s.dtype, batchify(s.shape[1:])), f"x{k}_t")
          for k, s in enumerate(seqs)]
    hs = [_placeholder(TensorType(h.dtype, batchify(h.shape)), f"state{k}")
          for k, h in enumerate(inits)]
    cs = [_placeholder(c.type, f"const{k}") for k, c in enumerate(consts)]
    outs, new_states = _call_step(step, xs + hs + cs, len(inits))

    body_in, body_out = xs + hs, outs + new_states
    outer_seqs, outer_inits = list(seqs), list(inits)
    if mask is not None:
        m = _value(mask, "mask", 0)
        if m.ndim != 2:
            raise ValueError(f"scan: mask must be time-major [T, B], got {m.type}")
        if m.dtype != "bool":
            m = apply("not_equal", m, _zero(m))
        m_t = _placeholder(TensorType("bool", batchify(m.shape[1:])), "mask_t")
        prev = [_placeholder(y.type, f"prev_out{k}") for k, y in enumerate(outs)]
        masked = [mask_select(m_t, y, p) for y, p in zip(outs, prev)]
        kept = [mask_select(m_t, h_new, h) for h_new, h in zip(new_states, hs)]
        body_in = xs + [m_t] + hs + prev
        body_out = masked + kept + masked
        outer_seqs.append(m)
        outer_inits += [_zeros_for(y.type, m, k) for k, y in enumerate(outs)]

    body_out, free, free_ph = _hoist(body_in + cs, body_out)
    body = Graph(body_in + cs + free_ph, body_out, name=name)
    n_out, n_st = len(outs), len(body_in) - len(outer_seqs)
    res = apply("scan", *outer_seqs, *outer_inits, *consts, *free, body=body,
                n_seq=len(outer_seqs), n_states=n_st, n_consts=len(consts) + len(free),
                n_outputs=n_out, go_backwards=go_backwards)
    n_user = len(inits)
    return ScanResult(list(res[:n_out]), list(res[n_out:n_out + n_user]),
                      list(res[n_out + n_st:n_out + n_st + n_user]))


def _as_list(x) -> list:
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _value(x, what: str, k: int) -> Value:
    if not isinstance(x, Value):
        raise TypeError(f"scan: {what}[{k}] must be a symbolic tensor, got {type(x).__name__}")
    return x


def _const_value(x, k: int) -> Value:
    if isinstance(x, Value):
        return x
    try:
        return constant(np.asarray(x))
    except Exception:
        raise TypeError(f"scan: constants[{k}] must be a symbolic tensor or an array, got "
                        f"{type(x).__name__}") from None


def _zero(like: Value) -> Value:
    return constant(np.zeros((), like.dtype))


def _call_step(step, args, n_states: int) -> tuple:
    res = step(*args)
    if not (isinstance(res, (list, tuple)) and len(res) == 2):
        raise TypeError(f"scan: the step function must return (outputs, new_states), got "
                        f"{type(res).__name__}")
    outs, new = (_as_list(r) for r in res)
    for what, vals in (("output", outs), ("new state", new)):
        for k, v in enumerate(vals):
            if not isinstance(v, Value):
                raise TypeError(f"scan: the step function's {what} {k} is a "
                                f"{type(v).__name__}, not a symbolic tensor")
    if len(new) != n_states:
        raise ValueError(f"scan: the step function returned {len(new)} new states for "
                         f"{n_states} initial states")
    return outs, new


def mask_select(m_t: Value, a: Value, b: Value) -> Value:
    """``a`` where the per-example bool mask ``m_t`` ([B]) holds, else ``b``.

    Args:
        m_t: a bool Value of shape [B].
        a, b: Values of the same batch-major shape [B, ...].
    Returns:
        ``where(m_t broadcast over a's trailing axes, a, b)``.

    Example:
        >>> h = mask_select(m_t, h_new, h_old)    # masked examples keep their state
    """
    if a.ndim < 1:
        raise ValueError(f"scan: with a mask, step outputs and states must be batch-major "
                         f"[B, ...]; got {a.type}")
    cond = apply("broadcast_like", m_t, a, axes=tuple(range(1, a.ndim)))
    return apply("where", cond, a, b)


def _zeros_for(t: TensorType, mask: Value, k: int) -> Value:
    """Zeros of type ``t`` ([B, ...]) whose batch size is that of the time-major ``mask``."""
    rest = t.shape[1:]
    if not all(known(d) for d in rest):
        raise ValueError(f"scan: with a mask, step output {k} ({t}) needs static dims after "
                         f"the batch axis")
    from .shape import getitem
    z = apply("fill_like", getitem(mask, 0), value=0.0, dtype=t.dtype)     # [B]
    for _ in rest:
        z = apply("expand_dims", z, axis=-1)
    return apply("add", z, constant(np.zeros(rest, t.dtype))) if rest else z


def _hoist(placeholders, outputs) -> tuple:
    """Move what ``outputs`` compute without ``placeholders`` out of the body.

    Returns ``(body_outputs, free_values, free_placeholders)``: the body rebuilt so that every
    value it reads from outside (other than constant nodes) comes through a new placeholder.
    """
    ph_ids = {id(v) for v in placeholders}
    order = toposort(outputs)
    inner: set[int] = set()
    for node in order:
        if (node.op == "input" and id(node.outputs[0]) in ph_ids) or any(
                v.node.id in inner for v in node.inputs):
            inner.add(node.id)
    mapping: dict[int, Value] = {}
    free, free_ph = [], []

    def get(v: Value) -> Value:
        if v.node.id in inner or v.node.op == "constant":
            return mapping.get(id(v), v)
        if id(v) not in mapping:
            base = v.node.attrs.get("name") if v.node.op in ("variable", "input") else None
            ph = _placeholder(v.type, base or f"free{len(free)}")
            free.append(v)
            free_ph.append(ph)
            mapping[id(v)] = ph
        return mapping[id(v)]

    for node in order:
        if node.id not in inner or not node.inputs:
            continue
        if REGISTRY[node.op].kind == "random":
            raise ShapeError(
                f"scan: the step function builds the random op {node.op!r} (in "
                f"{node.provenance}) from its per-step inputs; random ops inside a loop body "
                f"are not supported -- draw the random tensor outside the step function "
                f"(e.g. a dropout mask from the whole input) and pass it as a constant")
        ins = tuple(get(v) for v in node.inputs)
        if all(a is b for a, b in zip(ins, node.inputs)):
            continue
        copy = Node(node.op, ins, node.attrs, [o.type for o in node.outputs],
                    scope=node.scope, src=node.src)
        for o, c in zip(node.outputs, copy.outputs):
            mapping[id(o)] = c
    return [get(v) for v in outputs], free, free_ph
