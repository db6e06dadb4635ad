"""Lowerings of elementwise ops and fused regions: one loop nest per region.

Every op of kind ``elementwise`` (without a lowering of its own) and every ``fused`` region
(made by graphc.passes.fuse) is written by :func:`emit_region` as ONE loop nest over the
output's elements: operands are indexed through broadcast patterns, scalar bodies come from
each op's ``scalar`` template (graphc.codegen.cpu.scalar), float32 stays float32 unless an
op needs float64, and a basic slice of a C-contiguous parent is read through that parent.
"""
from __future__ import annotations

from ....ir.ops import REGISTRY
from ....ir.types import dims_equal, is_float
from ..scalar import scalar_expr
from .common import cast_fn, check_dims, flat_view, tuple_text
from .registry import lowers, lowers_kind


def _compute_dtype(node) -> str | None:
    """The float dtype an elementwise node computes in (None: an int/bool node)."""
    out = node.outputs[0].dtype
    if is_float(out):
        return out
    floats = [v.dtype for v in node.inputs if is_float(v.dtype)]
    return floats[0] if floats else None


def region_dims(ctx, shape, operands) -> list[str]:
    """Run-time expressions of the region's dims (``operands``: (name, static shape)), and a
    run-time check of every operand dim that is not known to fit (:func:`check_broadcast`):
    it must equal the region's dim or be 1 (numpy's broadcasting rule). Generated code has
    no bounds checks, so without it a ``(B, None) - (B, 3)`` fed a width of 2 would read past
    the end of the operand."""
    r = len(shape)
    dims = []
    for k, d in enumerate(shape):
        if isinstance(d, int):
            dims.append(str(d))
        else:
            expr = None
            aligned = []
            for name, s in operands:
                j = k - (r - len(s))
                if j < 0:
                    continue
                if dims_equal(s[j], d):
                    expr = f"{name}.shape[{j}]"
                    break
                if s[j] != 1:
                    aligned.append(f"{name}.shape[{j}]")
            if expr is None:
                if not aligned:
                    expr = "1"
                else:
                    expr = aligned[0]
                    for a in aligned[1:]:
                        expr = f"({expr} if {a} == 1 else {a})"
            dims.append(ctx.hoist(expr))
    check_broadcast(ctx, shape, operands, dims)
    return dims


def check_broadcast(ctx, shape, operands, dims) -> None:
    """Emit the run-time check that each operand dim not known to fit the region's run-time
    ``dims`` equals it or is 1 (see :func:`region_dims`)."""
    r = len(shape)
    for k, d in enumerate(shape):
        for name, s in operands:
            j = k - (r - len(s))
            if j < 0 or s[j] == 1 or dims_equal(s[j], d) or \
                    (isinstance(s[j], int) and isinstance(d, int) and s[j] == d):
                continue
            got = f"{name}.shape[{j}]"
            if got == dims[k]:
                continue
            ctx.line(f"if {got} != {dims[k]} and {got} != 1:")
            ctx.line(f"    raise ValueError({_BROADCAST_ERROR!r})")


_BROADCAST_ERROR = ("the operands of an elementwise operation do not broadcast: a dimension "
                    "fed at run time is neither the result's size nor 1")


def _offset(parent, begins, idx):
    return parent, [f"{b} + {i}" if b else i for b, i in zip(begins, idx)]


def _through_parent(ctx, v, name, idx):
    """(array, index) to load element ``idx`` of operand ``v`` (named ``name``): through
    its C-contiguous parent when ``v`` is a basic slice of one (``ctx.offset_view``)."""
    via = ctx.offset_view.get(id(v))
    if via is None or len(via[1]) != len(idx):
        return name, idx
    return _offset(*via, idx)


def index_patterns(ctx, shape, name, s, loop_vars) -> list[str]:
    """Index expressions of operand ``name`` (static shape ``s``) inside the region loops."""
    r = len(shape)
    idx = []
    for j, d in enumerate(s):
        k = j + r - len(s)
        if d == 1 and shape[k] != 1:
            idx.append("0")
        elif dims_equal(d, shape[k]) or (isinstance(d, int) and d == shape[k]):
            idx.append(loop_vars[k])
        else:
            st = ctx.hoist(f"(0 if {name}.shape[{j}] == 1 else 1)")
            idx.append(f"{loop_vars[k]} * {st}")
    return idx


def emit_region(ctx, ext, body_inputs, nodes, body_outs, outs, shape=None, out_dims=None):
    """One loop nest computing ``body_outs`` (of the same static shape) for every element.

    Args:
        ctx: the segment being written.
        ext: outer Values read by the region; ``body_inputs[i]`` stands for ``ext[i]``.
        nodes: the body's nodes in topological order (inputs and constants are skipped).
        body_outs: body Values stored; ``outs[i]`` is the outer Value that receives
            ``body_outs[i]``.
        shape: the static loop shape (default: ``outs[0].shape``).
        out_dims: run-time dims of the loop (default: broadcast of the operands).
    """
    shape = tuple(outs[0].shape if shape is None else shape)
    r = len(shape)
    operands = []                                  # (name, static shape)
    env: dict[int, str] = {}                       # id(body value) -> scalar expr name
    for v_out, v_in in zip(ext, body_inputs):
        operands.append((ctx.name(v_out), v_out.shape, v_out))
        env[id(v_in)] = None                       # loaded inside the loop
    named = [(n, s) for n, s, _ in operands]
    if out_dims:
        dims = out_dims
        check_broadcast(ctx, shape, named, dims)
    else:
        dims = region_dims(ctx, shape, named)
    out_names = []
    out_layouts = []
    store_via: dict[int, tuple] = {}           # output position -> (parent, begins)
    direct = []
    for v in outs:
        var = getattr(ctx, "inplace", {}).get(id(v))
        dest = getattr(ctx, "dest", {}).get(id(v))
        layout = "C"
        if var is not None and _reads_elementwise(var, operands, shape):
            o = ctx.name(var)                  # write the update into the variable's storage
            direct.append((v, var))
        elif dest is not None and len(dims) == v.ndim:
            o, layout = dest[:2]               # write into the buffer the consumer reads
            check_dims(ctx, o, dims, "a fused kernel's output does not fit its destination")
            ctx.dest_done.add(id(v))
            if len(dest) > 3:                  # a span of a C array: store through it
                store_via[len(out_names)] = dest[3:]
                ctx.offset_view[id(v)] = dest[3:]
        else:
            o = ctx.alloc(dims, v.dtype, shape)
        out_names.append(o)
        out_layouts.append(layout)
    flat = r >= 1 and all(lay == "C" for lay in out_layouts) and \
        all(len(s) == r and ctx.layout.get(id(v)) == "C" and
            all(dims_equal(a, b) or (isinstance(a, int) and a == b)
                for a, b in zip(s, shape)) for _, s, v in operands)
    loop_vars = [ctx.fresh("i") for _ in range(max(r, 1))]
    if flat and r > 1:
        n = ctx.hoist(f"{out_names[0]}.size")
        for name, _, v in operands:
            flat_view(ctx, name)
        for o in out_names:
            ctx.line(f"{o}_f = reshape_c({o}, {o}.size)")
        i = loop_vars[0]
        loads = {id(b): (f"{name}_f", [i]) for (name, _, _), b in zip(operands, body_inputs)}
        stores = [(f"{o}_f", [i]) for o in out_names]
        depth = 1
    else:
        loads = {}
        for (name, s, v), b in zip(operands, body_inputs):
            loads[id(b)] = _through_parent(ctx, v, name,
                                           index_patterns(ctx, shape, name, s, loop_vars))
        stores = [(o, loop_vars[:r]) if k not in store_via else
                  _offset(*store_via[k], loop_vars[:r]) for k, o in enumerate(out_names)]
        depth = r
    # operands read at one element for the whole region (0-d, or size 1 on every looped
    # axis) are loaded once before the loops: cheaper, and numba's prange lowering cannot
    # type a 0-d array indexed with () inside a parfor body
    for b in body_inputs:
        name, idx = loads[id(b)]
        if all(ix.rsplit(" + ", 1)[-1] == "0" for ix in idx):
            x = ctx.fresh("x")
            ctx.line(f"{x} = {name}[{tuple_text(idx) if idx else '()'}]")
            env[id(b)] = x
    if flat and r > 1:
        ctx.loop(loop_vars[0], n, outer=True, shape=shape)
    else:
        work = " * ".join(dims[:r]) if r > 1 else None
        for k in range(r):
            ctx.loop(loop_vars[k], dims[k], outer=(k == 0), work=work if k == 0 else None,
                     shape=shape)
    # loads
    for b in body_inputs:
        if env[id(b)] is not None:
            continue
        name, idx = loads[id(b)]
        x = ctx.fresh("x")
        ctx.line(f"{x} = {name}[{tuple_text(idx) if idx else '()'}]")
        env[id(b)] = x
    _emit_body(ctx, nodes, env)
    for (o, idx), b in zip(stores, body_outs):
        ctx.line(f"{o}[{tuple_text(idx) if idx else '()'}] = {env[id(b)]}")
    for _ in range(depth):
        ctx.dedent()
    for v, o, lay in zip(outs, out_names, out_layouts):
        ctx.define(v, o, lay)
    for v, var in direct:
        ctx.alias[id(v)] = var                 # it IS the variable's storage now
        ctx.inplace_done.add(id(v))


def _emit_body(ctx, nodes, env) -> None:
    """One line per body node: its scalar expression over the names in ``env`` (id(body
    value) -> scalar name; inputs already loaded), binding its output's name in ``env``."""
    for node in nodes:
        if node.op == "input":
            continue
        if node.op == "constant":
            env[id(node.outputs[0])] = ctx.literal(node.attrs["value"], node.outputs[0].dtype)
            continue
        opdef = REGISTRY[node.op]
        args = [env[id(v)] for v in node.inputs]
        kw = {k: a for k, a in node.attrs.items()}
        template = opdef.scalar(args, **kw)
        expr = scalar_expr(template, _compute_dtype(node), ctx.f32_literal)
        e = ctx.fresh("e")
        if _stays_f32(node, expr):
            ctx.line(f"{e} = {expr}")          # no cast call: less for numba to type
        else:
            ctx.line(f"{e} = {cast_fn(node.outputs[0].dtype)}({expr})")
        env[id(node.outputs[0])] = e


_F64_SOURCES = ("math.", "np.float64", "_any(", "_ipow(", "np.int", "np.uint", "np.bool_")


def _stays_f32(node, expr: str) -> bool:
    """True when ``expr`` already has numba type float32: a float32 node whose inputs are all
    float32, in float32 mode every literal is a float32 constant and every function maps to a
    float32 one; the few templates that may widen (math.erf, explicit casts) keep the cast."""
    return node.outputs[0].dtype == "float32" and \
        all(v.dtype == "float32" for v in node.inputs) and \
        not any(k in expr for k in _F64_SOURCES)


def _reads_elementwise(var, operands, shape) -> bool:
    """The region reads ``var`` (if at all) at the element it writes."""
    for _, s, v in operands:
        if v is var and tuple(s) != tuple(shape):
            return False
    return True


def _supports_elementwise(node) -> bool:
    return REGISTRY[node.op].scalar is not None and len(node.outputs) == 1


@lowers_kind("elementwise", supports=_supports_elementwise, fresh=True,
             writes_destination=True)
def _emit_elementwise(ctx, node):
    emit_region(ctx, list(node.inputs), list(node.inputs), [node], [node.outputs[0]],
                [node.outputs[0]])


def _supports_fused(node):
    body = node.attrs.get("body")
    if body is None:
        return False
    shapes = {v.shape for v in node.outputs}
    if len(shapes) != 1:
        return False
    return all(n.op in ("input", "constant") or
               (REGISTRY[n.op].kind == "elementwise" and REGISTRY[n.op].scalar is not None)
               for n in body.nodes())


@lowers("fused", supports=_supports_fused, fresh=True, writes_destination=True)
def _emit_fused(ctx, node):
    body = node.attrs["body"]
    emit_region(ctx, list(node.inputs), list(body.inputs), body.nodes(), list(body.outputs),
                list(node.outputs))
