"""Lowerings of the shape ops: transpose, reshape (also to a run-time shape vector),
reshape_like, flatten, expand_dims, squeeze, broadcast_like, shape, size, slice / slice_grad,
reverse, concatenate / split_like, stack, pad (constant mode), tile and repeat.

Views (transpose, reshape of a contiguous array, slice, reverse, split_like) are defined with
``alias_of`` their input and the layout they have ('C', 'F' or 'A'); copies are 'C'.
"""
from __future__ import annotations

from .common import NP_DTYPE, check_dims, copy_into, no_f16, shape_dims, tuple_text
from .elementwise import index_patterns
from .registry import lowers


@lowers("transpose")
def _emit_transpose(ctx, node):
    x, out = node.inputs[0], node.outputs[0]
    perm = tuple(node.attrs["perm"])
    xn = ctx.name(x)
    lay = ctx.layout.get(id(x), "A")
    t = ctx.fresh("t")
    if perm == tuple(range(x.ndim)):
        ctx.line(f"{t} = {xn}")
        ctx.define(out, t, lay, alias_of=x)
    elif x.ndim == 2:
        ctx.line(f"{t} = {xn}.T")
        ctx.define(out, t, {"C": "F", "F": "C"}.get(lay, "A"), alias_of=x)
    else:
        ctx.line(f"{t} = np.transpose({xn}, {tuple_text(str(p) for p in perm)})")
        ctx.define(out, t, "A", alias_of=x)


def _reshape_to(ctx, node, dims):
    x, out = node.inputs[0], node.outputs[0]
    xn = ctx.contig(x)
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c({xn}, {tuple_text(dims)})")
    ctx.define(out, t, "C", alias_of=x)


def _supports_reshape(node) -> bool:
    if len(node.inputs) == 1:
        return True
    s = node.inputs[1]          # a run-time shape vector (the gradients of tile / repeat)
    return len(node.inputs) == 2 and s.ndim == 1 and isinstance(s.shape[0], int) and \
        s.dtype.startswith("int") and node.inputs[0].dtype != "float16"


@lowers("reshape", supports=_supports_reshape)
def _emit_reshape(ctx, node):
    if len(node.inputs) == 1:
        _reshape_to(ctx, node, [str(int(d)) for d in node.attrs["shape"]])
        return
    x, s = node.inputs
    sn = ctx.name(s)
    _reshape_to(ctx, node, [f"{sn}[{k}]" for k in range(s.shape[0])])


@lowers("flatten")
def _emit_flatten(ctx, node):
    x = node.inputs[0]
    xn = ctx.name(x)
    rest = " * ".join(f"{xn}.shape[{k}]" for k in range(1, x.ndim)) or "1"
    _reshape_to(ctx, node, [f"{xn}.shape[0]", rest])


@lowers("expand_dims")
def _emit_expand_dims(ctx, node):
    x = node.inputs[0]
    xn = ctx.name(x)
    dims = [f"{xn}.shape[{k}]" for k in range(x.ndim)]
    dims.insert(int(node.attrs["axis"]), "1")
    _reshape_to(ctx, node, dims)


def _squeeze_ok(node):
    axis = node.attrs.get("axis")
    return axis is not None or all(isinstance(d, int) for d in node.inputs[0].shape)


@lowers("squeeze", supports=_squeeze_ok)
def _emit_squeeze(ctx, node):
    x = node.inputs[0]
    xn = ctx.name(x)
    axis = node.attrs["axis"]
    if axis is None:
        axes = {k for k, d in enumerate(x.shape) if d == 1}
    else:
        axes = {int(a) % max(x.ndim, 1) for a in (axis if isinstance(axis, tuple) else (axis,))}
    dims = [f"{xn}.shape[{k}]" for k in range(x.ndim) if k not in axes]
    _reshape_to(ctx, node, dims)


@lowers("reshape_like")
def _emit_reshape_like(ctx, node):
    ref = node.inputs[1]
    rn = ctx.name(ref)
    _reshape_to(ctx, node, [f"{rn}.shape[{k}]" for k in range(ref.ndim)])


@lowers("broadcast_like", fresh=True)
def _emit_broadcast_like(ctx, node):
    g, x = node.inputs
    out = node.outputs[0]
    axes = tuple(sorted(node.attrs["axes"]))
    gn = ctx.contig(g) if axes else ctx.name(g)
    gshape = list(g.shape)
    gdims = [f"{gn}.shape[{k}]" for k in range(g.ndim)]
    for a in axes:
        gshape.insert(a, 1)
        gdims.insert(a, "1")
    if axes:
        ge = ctx.fresh("t")
        ctx.line(f"{ge} = reshape_c({gn}, {tuple_text(gdims)})")
    else:
        ge = gn
    xn = ctx.name(x)
    dims = [str(d) if isinstance(d, int) else ctx.hoist(f"{xn}.shape[{k}]")
            for k, d in enumerate(x.shape)]
    shape = tuple(x.shape)
    r = len(shape)
    t = ctx.alloc(dims, out.dtype, shape)
    iv = [ctx.fresh("i") for _ in range(r)]
    idx = index_patterns(ctx, shape, ge, tuple(gshape), iv)
    work = " * ".join(dims) if r > 1 else None
    for k in range(r):
        ctx.loop(iv[k], dims[k], outer=(k == 0), work=work if k == 0 else None, shape=shape)
    src = f"{ge}[{tuple_text(idx) if idx else '()'}]"
    ctx.line(f"{t}[{tuple_text(iv) if r else '()'}] = {src}")
    for _ in range(r):
        ctx.dedent()
    ctx.define(out, t, "C")


@lowers("shape", fresh=True)
def _emit_shape(ctx, node):
    x = node.inputs[0]
    xn = ctx.name(x)
    t = ctx.fresh("t")
    ctx.line(f"{t} = empty_c({x.ndim}, np.int64)")
    for k in range(x.ndim):
        ctx.line(f"{t}[{k}] = {xn}.shape[{k}]")
    ctx.define(node.outputs[0], t, "C")


@lowers("size", fresh=True)
def _emit_size(ctx, node):
    x = node.inputs[0]
    xn = ctx.name(x)
    dt = NP_DTYPE[node.outputs[0].dtype]
    n = " * ".join(f"{xn}.shape[{a}]" for a in node.attrs["axes"]) or "1"
    t = ctx.fresh("t")
    ctx.line(f"{t} = empty_c((), {dt})")
    ctx.line(f"{t}[()] = {dt}({n})")
    ctx.define(node.outputs[0], t, "C")


def _slice_text(b, e, s) -> str:
    b = "" if b is None else str(b)
    e = "" if e is None else str(e)
    return f"{b}:{e}" if s == 1 else f"{b}:{e}:{s}"


def _index(parts) -> str:
    return ", ".join(parts) if len(parts) != 1 else parts[0] + ","


@lowers("slice", supports=no_f16)
def _emit_slice(ctx, node):
    x, out = node.inputs[0], node.outputs[0]
    a = node.attrs
    xn = ctx.name(x)
    parts = [_slice_text(b, e, s) for b, e, s in zip(a["begin"], a["end"], a["step"])]
    t = ctx.fresh("t")
    if x.ndim == 0:
        ctx.line(f"{t} = {xn}")
    else:
        ctx.line(f"{t} = {xn}[{_index(parts)}]")
    ctx.define(out, t, "A" if x.ndim else ctx.layout.get(id(x), "C"), alias_of=x)
    if x.ndim and ctx.layout.get(id(x)) == "C" and all(
            s in (None, 1) and (b is None or (isinstance(b, int) and b >= 0))
            for b, s in zip(a["begin"], a["step"])):
        ctx.offset_view[id(out)] = (xn, tuple(b or 0 for b in a["begin"]))


@lowers("slice_grad", supports=no_f16)
def _emit_slice_grad(ctx, node):
    g, x = node.inputs
    out = node.outputs[0]
    a = node.attrs
    xn = ctx.name(x)
    t = ctx.fresh("t")
    ctx.line(f"{t} = np.zeros({tuple_text(shape_dims(ctx, xn, x))}, {NP_DTYPE[out.dtype]})")
    parts = [_slice_text(b, e, s) for b, e, s in zip(a["begin"], a["end"], a["step"])]
    if x.ndim:
        ctx.line(f"{t}[{_index(parts)}] = {ctx.name(g)}")
    else:
        ctx.line(f"{t}[()] = {ctx.name(g)}[()]")
    ctx.define(out, t, "C")


@lowers("reverse", supports=no_f16)
def _emit_reverse(ctx, node):
    x, out = node.inputs[0], node.outputs[0]
    axes = set(node.attrs["axes"])
    xn = ctx.name(x)
    t = ctx.fresh("t")
    if x.ndim == 0 or not axes:
        ctx.line(f"{t} = {xn}")
        ctx.define(out, t, ctx.layout.get(id(x), "C"), alias_of=x)
        return
    parts = ["::-1" if k in axes else ":" for k in range(x.ndim)]
    ctx.line(f"{t} = {xn}[{_index(parts)}]")
    ctx.define(out, t, "A", alias_of=x)


@lowers("concatenate", supports=no_f16, writes_destination=True)
def _emit_concatenate(ctx, node):
    xs, out = node.inputs, node.outputs[0]
    axis = node.attrs["axis"]
    names = [ctx.name(v) for v in xs]
    dims = shape_dims(ctx, names[0], xs[0])
    dims[axis] = ctx.hoist(" + ".join(f"{n}.shape[{axis}]" for n in names))
    dest = ctx.dest.get(id(out))
    if dest is not None:        # a loop step's stacked output slot (lowering/loop.py)
        t, layout = dest[:2]
        check_dims(ctx, t, dims, "concatenate: the result does not fit its destination")
        ctx.dest_done.add(id(out))
    else:
        t, layout = ctx.fresh("t"), "C"
        ctx.line(f"{t} = empty_c({tuple_text(dims)}, {NP_DTYPE[out.dtype]})")
    # an input its producer already wrote into its span of the destination needs no copy
    # (the producer checked the span's shape against its own)
    copy = [id(v) not in ctx.dest_done or ctx.dest[id(v)][2] is not out for v in xs]
    if any(copy):
        off = ctx.fresh("o")
        ctx.line(f"{off} = 0")
        for k, n in enumerate(names):
            if copy[k]:
                copy_into(ctx, t, n, xs[0].ndim, (axis, off),
                          "concatenate: the inputs' shapes differ off the concatenation axis")
            if k + 1 < len(names):
                ctx.line(f"{off} = {off} + {n}.shape[{axis}]")
    ctx.define(out, t, layout)


@lowers("split_like", supports=no_f16)
def _emit_split_like(ctx, node):
    g = node.inputs[0]
    axis = node.attrs["axis"]
    gn = ctx.name(g)
    off = ctx.fresh("o")
    ctx.line(f"{off} = 0")
    for like, out in zip(node.inputs[1:], node.outputs):
        ln = ctx.name(like)
        parts = [":"] * g.ndim
        parts[axis] = f"{off}:{off} + {ln}.shape[{axis}]"
        t = ctx.fresh("t")
        ctx.line(f"{t} = {gn}[{_index(parts)}]")
        ctx.line(f"{off} = {off} + {ln}.shape[{axis}]")
        ctx.define(out, t, "A", alias_of=g)
    ctx.line(f"if {off} != {gn}.shape[{axis}]:")
    ctx.line("    raise ValueError('split_like: the pieces do not add up to the input size')")


@lowers("stack", supports=no_f16)
def _emit_stack(ctx, node):
    xs, out = node.inputs, node.outputs[0]
    axis = node.attrs["axis"]
    names = [ctx.name(v) for v in xs]
    dims = shape_dims(ctx, names[0], xs[0])
    dims.insert(axis, str(len(xs)))
    t = ctx.fresh("t")
    ctx.line(f"{t} = empty_c({tuple_text(dims)}, {NP_DTYPE[out.dtype]})")
    for i, n in enumerate(names):
        parts = [":"] * out.ndim
        parts[axis] = str(i)
        src = n if xs[i].ndim else f"{n}[()]"
        ctx.line(f"{t}[{_index(parts)}] = {src}")
    ctx.define(out, t, "C")


def _supports_pad(node) -> bool:
    return node.attrs["mode"] == "constant" and no_f16(node)


@lowers("pad", supports=_supports_pad)
def _emit_pad(ctx, node):
    x, out = node.inputs[0], node.outputs[0]
    pads = node.attrs["pads"]
    xn = ctx.name(x)
    xd = shape_dims(ctx, xn, x)
    dims = [f"{d} + {b + a}" if b + a else d for d, (b, a) in zip(xd, pads)]
    t = ctx.fresh("t")
    val = ctx.literal(node.attrs["constant_value"], out.dtype)
    ctx.line(f"{t} = np.full({tuple_text(dims)}, {val}, {NP_DTYPE[out.dtype]})")
    if x.ndim:
        parts = [f"{b}:{b} + {d}" for d, (b, _) in zip(xd, pads)]
        ctx.line(f"{t}[{_index(parts)}] = {xn}")
    else:
        ctx.line(f"{t}[()] = {xn}[()]")
    ctx.define(out, t, "C")


@lowers("tile", supports=no_f16)
def _emit_tile(ctx, node):
    x, out = node.inputs[0], node.outputs[0]
    reps = node.attrs["reps"]
    r = len(reps)
    xn = ctx.contig(x)
    xd = ["1"] * (r - x.ndim) + shape_dims(ctx, xn, x)
    xd = [ctx.hoist(d) for d in xd]
    x2 = ctx.fresh("t")
    ctx.line(f"{x2} = reshape_c({xn}, {tuple_text(xd)})")
    t = ctx.fresh("t")
    ctx.line(f"{t} = empty_c({tuple_text(f'{d} * {k}' for d, k in zip(xd, reps))}, "
             f"{NP_DTYPE[out.dtype]})")
    if not r:
        ctx.line(f"{t}[()] = {x2}[()]")
        ctx.define(out, t, "C")
        return
    # element loops, repeat then element per axis, so the output is written in order
    # (one numba slice assignment per tile was slower: an LSTM's (B, 1) -> (B, 128) initial
    # state was 128 of them, 5.97 against 3.44 us for that K.function at batch 64)
    ks = [ctx.fresh("k") for _ in range(r)]
    js = [ctx.fresh("j") for _ in range(r)]
    for k, j, rep, d in zip(ks, js, reps, xd):
        ctx.loop(k, str(rep))
        ctx.loop(j, d)
    dst = [f"{k} * {d} + {j}" for k, j, d in zip(ks, js, xd)]
    ctx.line(f"{t}[{_index(dst)}] = {x2}[{_index(js)}]")
    for _ in range(2 * r):
        ctx.dedent()
    ctx.define(out, t, "C")


@lowers("repeat", supports=no_f16)
def _emit_repeat(ctx, node):
    x, out = node.inputs[0], node.outputs[0]
    rep, axis = node.attrs["repeats"], node.attrs["axis"]
    xn = ctx.contig(x)
    if axis is None:
        x1 = ctx.fresh("t")
        ctx.line(f"{x1} = reshape_c({xn}, {xn}.size)")
        xn, nd, axis = x1, 1, 0
        dims = [f"{x1}.size"]
    else:
        nd = x.ndim
        dims = shape_dims(ctx, xn, x)
    odims = list(dims)
    odims[axis] = f"{dims[axis]} * {rep}"
    t = ctx.fresh("t")
    ctx.line(f"{t} = empty_c({tuple_text(odims)}, {NP_DTYPE[out.dtype]})")
    k = ctx.fresh("k")
    ctx.loop(k, str(rep))
    parts = [":"] * nd
    parts[axis] = f"{k}::{rep}"
    ctx.line(f"{t}[{_index(parts)}] = {xn}")
    ctx.dedent()
    ctx.define(out, t, "C")
