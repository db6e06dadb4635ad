"""Native emitters for shape, indexing, scan-friendly reductions and contractions.

Ops: slice / slice_grad, concatenate / split_like, stack, reverse, pad (constant mode),
tile, repeat, one_hot, argmax / argmin, var / std, cumsum / cumprod,
sparse_softmax_cross_entropy, tensordot, batch_dot, gather (any axis) and its gradient
gather_grad (a serial scatter-add), logsumexp.

Conventions (see emit.py): every emitter writes numba source through ``ctx``; views
(slice, reverse, split_like) are defined with layout ``'A'`` and ``alias_of`` their input,
copies with layout ``'C'``. Axis-wise ops view a C-contiguous input as ``(A, n, B)`` -- the
axes before, the axis (or a run of axes) itself, the axes after -- so no transposed copy is
needed.
"""
from __future__ import annotations

from .emit import EMITTERS, NP_DTYPE, _tuple, cast_fn, check_dims, copy_into

# -- helpers ------------------------------------------------------------------------------------


def _dims(ctx, name, v) -> list[str]:
    return [str(d) if isinstance(d, int) else f"{name}.shape[{k}]"
            for k, d in enumerate(v.shape)]


def _prod(items) -> str:
    items = list(items)
    return " * ".join(items) if items else "1"


def _split3(ctx, name, v, lo, hi) -> tuple[str, str, str]:
    """Hoisted (A, n, B) sizes of ``v`` around its axes ``lo..hi-1``."""
    d = _dims(ctx, name, v)
    return (ctx.hoist(_prod(d[:lo])), ctx.hoist(_prod(d[lo:hi])), ctx.hoist(_prod(d[hi:])))


def _slice_text(b, e, s) -> str:
    b = "" if b is None else str(b)
    e = "" if e is None else str(e)
    return f"{b}:{e}" if s == 1 else f"{b}:{e}:{s}"


def _index(parts) -> str:
    return ", ".join(parts) if len(parts) != 1 else parts[0] + ","


def _always(node) -> bool:
    return True


def _no_f16(node) -> bool:
    return all(v.dtype != "float16" for v in list(node.inputs) + list(node.outputs))


# -- slice / slice_grad / reverse ---------------------------------------------------------------

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


def _emit_slice_grad(ctx, node):
    g, x = node.inputs
    out = node.outputs[0]
    a = node.attrs
    xn = ctx.name(x)
    t = ctx.fresh("t")
    ctx.line(f"{t} = np.zeros({_tuple(_dims(ctx, xn, x))}, {NP_DTYPE[out.dtype]})")
    parts = [_slice_text(b, e, s) for b, e, s in zip(a["begin"], a["end"], a["step"])]
    if x.ndim:
        ctx.line(f"{t}[{_index(parts)}] = {ctx.name(g)}")
    else:
        ctx.line(f"{t}[()] = {ctx.name(g)}[()]")
    ctx.define(out, t, "C")


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


# -- concatenate / split_like / stack -------------------------------------------------------------

def _emit_concatenate(ctx, node):
    xs, out = node.inputs, node.outputs[0]
    axis = node.attrs["axis"]
    names = [ctx.name(v) for v in xs]
    dims = _dims(ctx, names[0], xs[0])
    dims[axis] = ctx.hoist(" + ".join(f"{n}.shape[{axis}]" for n in names))
    dest = ctx.dest.get(id(out))
    if dest is not None:        # a loop step's stacked output slot (emit_loop)
        t, layout = dest[:2]
        check_dims(ctx, t, dims, "concatenate: the result does not fit its destination")
        ctx.dest_done.add(id(out))
    else:
        t, layout = ctx.fresh("t"), "C"
        ctx.line(f"{t} = empty_c({_tuple(dims)}, {NP_DTYPE[out.dtype]})")
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


def _emit_stack(ctx, node):
    xs, out = node.inputs, node.outputs[0]
    axis = node.attrs["axis"]
    names = [ctx.name(v) for v in xs]
    dims = _dims(ctx, names[0], xs[0])
    dims.insert(axis, str(len(xs)))
    t = ctx.fresh("t")
    ctx.line(f"{t} = empty_c({_tuple(dims)}, {NP_DTYPE[out.dtype]})")
    for i, n in enumerate(names):
        parts = [":"] * out.ndim
        parts[axis] = str(i)
        src = n if xs[i].ndim else f"{n}[()]"
        ctx.line(f"{t}[{_index(parts)}] = {src}")
    ctx.define(out, t, "C")


# -- pad / tile / repeat ---------------------------------------------------------------------------

def _supports_pad(node) -> bool:
    return node.attrs["mode"] == "constant" and _no_f16(node)


def _emit_pad(ctx, node):
    x, out = node.inputs[0], node.outputs[0]
    pads = node.attrs["pads"]
    xn = ctx.name(x)
    xd = _dims(ctx, xn, x)
    dims = [f"{d} + {b + a}" if b + a else d for d, (b, a) in zip(xd, pads)]
    t = ctx.fresh("t")
    val = ctx.literal(node.attrs["constant_value"], out.dtype)
    ctx.line(f"{t} = np.full({_tuple(dims)}, {val}, {NP_DTYPE[out.dtype]})")
    if x.ndim:
        parts = [f"{b}:{b} + {d}" for d, (b, _) in zip(xd, pads)]
        ctx.line(f"{t}[{_index(parts)}] = {xn}")
    else:
        ctx.line(f"{t}[()] = {xn}[()]")
    ctx.define(out, t, "C")


def _emit_tile(ctx, node):
    x, out = node.inputs[0], node.outputs[0]
    reps = node.attrs["reps"]
    r = len(reps)
    xn = ctx.contig(x)
    xd = ["1"] * (r - x.ndim) + _dims(ctx, xn, x)
    xd = [ctx.hoist(d) for d in xd]
    x2 = ctx.fresh("t")
    ctx.line(f"{x2} = reshape_c({xn}, {_tuple(xd)})")
    t = ctx.fresh("t")
    ctx.line(f"{t} = empty_c({_tuple(f'{d} * {k}' for d, k in zip(xd, reps))}, "
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
        dims = _dims(ctx, xn, x)
    odims = list(dims)
    odims[axis] = f"{dims[axis]} * {rep}"
    t = ctx.fresh("t")
    ctx.line(f"{t} = empty_c({_tuple(odims)}, {NP_DTYPE[out.dtype]})")
    k = ctx.fresh("k")
    ctx.loop(k, str(rep))
    parts = [":"] * nd
    parts[axis] = f"{k}::{rep}"
    ctx.line(f"{t}[{_index(parts)}] = {xn}")
    ctx.dedent()
    ctx.define(out, t, "C")


# -- one_hot / argmax / argmin ---------------------------------------------------------------------

def _emit_one_hot(ctx, node):
    idx, out = node.inputs[0], node.outputs[0]
    n = int(node.attrs["num_classes"])
    iname = ctx.contig(idx)
    i1 = ctx.fresh("t")
    ctx.line(f"{i1} = reshape_c({iname}, {iname}.size)")
    o2 = ctx.fresh("t")
    ctx.line(f"{o2} = np.zeros(({i1}.size, {n}), {NP_DTYPE[out.dtype]})")
    i, c = ctx.fresh("i"), ctx.fresh("n")
    ctx.loop(i, f"{i1}.size")
    ctx.line(f"{c} = {i1}[{i}]")
    ctx.line(f"if {c} >= 0 and {c} < {n}:")
    ctx.line(f"    {o2}[{i}, {c}] = 1")
    ctx.dedent()
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c({o2}, {_tuple(_dims(ctx, iname, idx) + [str(n)])})")
    ctx.define(out, t, "C")


def _supports_arg(node) -> bool:
    return node.inputs[0].dtype not in ("float16", "bool")


def _emit_arg(ctx, node):
    x, out = node.inputs[0], node.outputs[0]
    axis, keep = node.attrs["axis"], node.attrs["keepdims"]
    xn = ctx.contig(x)
    if axis is None or x.ndim == 0:
        a_, n, b_ = "1", ctx.hoist(f"{xn}.size"), "1"
    else:
        a_, n, b_ = _split3(ctx, xn, x, axis, axis + 1)
    x3 = ctx.fresh("t")
    ctx.line(f"{x3} = reshape_c({xn}, ({a_}, {n}, {b_}))")
    r = ctx.fresh("t")
    ctx.line(f"{r} = np.zeros(({a_}, {b_}), np.int64)")
    cmp = ">" if node.op == "argmax" else "<"
    i, k, j, m, v = (ctx.fresh(p) for p in ("i", "k", "j", "m", "x"))
    ctx.line(f"if {n} == 0:")
    ctx.line(f"    raise ValueError('{node.op}: attempt to get {node.op} of an empty sequence')")
    ctx.loop(i, a_)
    ctx.loop(k, b_)
    ctx.line(f"{m} = {x3}[{i}, 0, {k}]")
    ctx.loop(j, n)
    ctx.line(f"{v} = {x3}[{i}, {j}, {k}]")
    # numpy: the first nan wins, else the first extreme
    ctx.line(f"if ({v} {cmp} {m} or {v} != {v}) and {m} == {m}:")
    ctx.line(f"    {m} = {v}")
    ctx.line(f"    {r}[{i}, {k}] = {j}")
    ctx.dedent()
    ctx.dedent()
    ctx.dedent()
    if axis is None or x.ndim == 0:
        odims = ["1"] * x.ndim if keep else []
    else:
        d = _dims(ctx, xn, x)
        odims = [("1" if q == axis else d[q]) for q in range(x.ndim) if keep or q != axis]
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c({r}, {_tuple(odims)})")
    ctx.define(out, t, "C")


# -- var / std / cumsum / cumprod ------------------------------------------------------------------

def _contiguous_axes(axes) -> bool:
    axes = tuple(axes)
    return bool(axes) and axes == tuple(range(axes[0], axes[-1] + 1))


def _supports_var(node) -> bool:
    x, out = node.inputs[0], node.outputs[0]
    return x.dtype == out.dtype and x.dtype in ("float32", "float64") and \
        (_contiguous_axes(node.attrs["axes"]) or x.ndim == 0)


def _emit_var(ctx, node):
    x, out = node.inputs[0], node.outputs[0]
    axes, keep = tuple(node.attrs["axes"]), node.attrs["keepdims"]
    xn = ctx.contig(x)
    if x.ndim == 0:
        a_, n, b_ = "1", "1", "1"
    else:
        a_, n, b_ = _split3(ctx, xn, x, axes[0], axes[-1] + 1)
    x3 = ctx.fresh("t")
    ctx.line(f"{x3} = reshape_c({xn}, ({a_}, {n}, {b_}))")
    r = ctx.fresh("t")
    ctx.line(f"{r} = empty_c(({a_}, {b_}), {NP_DTYPE[out.dtype]})")
    i, k, j, s, q, mu, dv = (ctx.fresh(p) for p in ("i", "k", "j", "s", "s", "m", "x"))
    ctx.loop(i, a_)
    ctx.loop(k, b_)
    ctx.line(f"{s} = 0.0")
    ctx.loop(j, n)
    ctx.line(f"{s} += {x3}[{i}, {j}, {k}]")
    ctx.dedent()
    ctx.line(f"{mu} = {s} / {n} if {n} > 0 else np.nan")
    ctx.line(f"{q} = 0.0")
    ctx.loop(j, n)
    ctx.line(f"{dv} = {x3}[{i}, {j}, {k}] - {mu}")
    ctx.line(f"{q} += {dv} * {dv}")
    ctx.dedent()
    res = f"{q} / {n} if {n} > 0 else np.nan"
    if node.op == "std":
        res = f"np.sqrt({q} / {n}) if {n} > 0 else np.nan"
    ctx.line(f"{r}[{i}, {k}] = {res}")
    ctx.dedent()
    ctx.dedent()
    d = _dims(ctx, xn, x)
    odims = [("1" if q2 in axes else d[q2]) for q2 in range(x.ndim)
             if keep or q2 not in axes]
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c({r}, {_tuple(odims)})")
    ctx.define(out, t, "C")


def _supports_cum(node) -> bool:
    return _no_f16(node) and node.inputs[0].dtype != "bool"


def _emit_cum(ctx, node):
    x, out = node.inputs[0], node.outputs[0]
    axis = node.attrs["axis"]
    xn = ctx.contig(x)
    a_, n, b_ = _split3(ctx, xn, x, axis, axis + 1)
    x3, o3 = ctx.fresh("t"), ctx.fresh("t")
    ctx.line(f"{x3} = reshape_c({xn}, ({a_}, {n}, {b_}))")
    ctx.line(f"{o3} = empty_c(({a_}, {n}, {b_}), {NP_DTYPE[out.dtype]})")
    cast = cast_fn(out.dtype)
    op = "+" if node.op == "cumsum" else "*"
    i, j, k = ctx.fresh("i"), ctx.fresh("j"), ctx.fresh("k")
    ctx.line(f"if {n} > 0:")
    ctx.indent += 1
    ctx.loop(i, a_)
    ctx.loop(k, b_)
    ctx.line(f"{o3}[{i}, 0, {k}] = {cast}({x3}[{i}, 0, {k}])")
    ctx.dedent()
    ctx.loop(j, f"1, {n}")
    ctx.loop(k, b_)
    ctx.line(f"{o3}[{i}, {j}, {k}] = {o3}[{i}, {j} - 1, {k}] {op} {cast}({x3}[{i}, {j}, {k}])")
    ctx.dedent()
    ctx.dedent()
    ctx.dedent()
    ctx.indent -= 1
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c({o3}, {_tuple(_dims(ctx, xn, x))})")
    ctx.define(out, t, "C")


# -- sparse softmax cross entropy ------------------------------------------------------------------

def _supports_sparse_xent(node) -> bool:
    x = node.inputs[0]
    return x.dtype in ("float32", "float64") and node.outputs[0].dtype == x.dtype


def _emit_sparse_xent(ctx, node):
    x, lab = node.inputs
    out = node.outputs[0]
    axis = node.attrs["axis"]
    dt = out.dtype
    xn, ln = ctx.contig(x), ctx.contig(lab)
    a_, n, b_ = _split3(ctx, xn, x, axis, axis + 1)
    x3, l2, r = ctx.fresh("t"), ctx.fresh("t"), ctx.fresh("t")
    ctx.line(f"{x3} = reshape_c({xn}, ({a_}, {n}, {b_}))")
    ctx.line(f"{l2} = reshape_c({ln}, ({a_}, {b_}))")
    ctx.line(f"{r} = empty_c(({a_}, {b_}), {NP_DTYPE[dt]})")
    exp = "exp_f32" if dt == "float32" else "np.exp"
    log = "log_f32" if dt == "float32" else "np.log"
    i, k, j, m, s, c = (ctx.fresh(p) for p in ("i", "k", "j", "m", "s", "n"))
    ctx.loop(i, a_)
    ctx.loop(k, b_)
    ctx.line(f"{c} = {l2}[{i}, {k}]")
    ctx.line(f"if {c} < 0 or {c} >= {n}:")
    ctx.line("    raise ValueError('sparse_softmax_cross_entropy: a label is out of range "
             "for the number of classes')")
    ctx.line(f"{m} = {ctx.literal(float('-inf'), dt)}")
    ctx.loop(j, n)
    ctx.line(f"{m} = max({m}, {x3}[{i}, {j}, {k}])")
    ctx.dedent()
    ctx.line(f"{m} = {m} if {m} - {m} == 0 else {ctx.literal(0.0, dt)}")
    ctx.line(f"{s} = {ctx.literal(0.0, dt)}")
    ctx.loop(j, n)
    ctx.line(f"{s} = {s} + {exp}({x3}[{i}, {j}, {k}] - {m})")
    ctx.dedent()
    ctx.line(f"{r}[{i}, {k}] = {log}({s}) - ({x3}[{i}, {c}, {k}] - {m})")
    ctx.dedent()
    ctx.dedent()
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c({r}, {_tuple(_dims(ctx, ln, lab))})")
    ctx.define(out, t, "C")


# -- contractions ----------------------------------------------------------------------------------

def _blas_pair(node) -> bool:
    a, b = node.inputs
    return a.dtype == b.dtype == node.outputs[0].dtype and a.dtype in ("float32", "float64")


def _moved(ctx, v, order) -> str:
    """``v`` with axes in ``order``, C-contiguous."""
    name = ctx.name(v)
    if list(order) == list(range(v.ndim)):
        return ctx.contig(v)
    t = ctx.fresh("t")
    ctx.line(f"{t} = np.ascontiguousarray(np.transpose({name}, "
             f"{_tuple(str(o) for o in order)}))")
    return t


def _supports_tensordot(node) -> bool:
    a, b = node.inputs
    return _blas_pair(node) and a.ndim >= 1 and b.ndim >= 1


def _emit_tensordot(ctx, node):
    a, b = node.inputs
    out = node.outputs[0]
    ax_a, ax_b = (list(x) for x in node.attrs["axes"])
    fa = [i for i in range(a.ndim) if i not in ax_a]
    fb = [j for j in range(b.ndim) if j not in ax_b]
    an, bn = ctx.name(a), ctx.name(b)
    da, db = _dims(ctx, an, a), _dims(ctx, bn, b)
    am = _moved(ctx, a, fa + ax_a)
    bm = _moved(ctx, b, ax_b + fb)
    m = ctx.hoist(_prod(da[i] for i in fa))
    k = ctx.hoist(_prod(da[i] for i in ax_a))
    n = ctx.hoist(_prod(db[j] for j in fb))
    t2 = ctx.fresh("t")
    ctx.line(f"{t2} = np.dot({am}.reshape(({m}, {k})), {bm}.reshape(({k}, {n})))")
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c({t2}, {_tuple([da[i] for i in fa] + [db[j] for j in fb])})")
    ctx.define(out, t, "C")


def _supports_batch_dot(node) -> bool:
    return _blas_pair(node)


def _emit_batch_dot(ctx, node):
    x, y = node.inputs
    out = node.outputs[0]
    ax, ay = node.attrs["axes"]
    xf = [i for i in range(1, x.ndim) if i != ax]
    yf = [j for j in range(1, y.ndim) if j != ay]
    xn, yn = ctx.name(x), ctx.name(y)
    dx, dy = _dims(ctx, xn, x), _dims(ctx, yn, y)
    xm = _moved(ctx, x, [0] + xf + [ax])
    ym = _moved(ctx, y, [0, ay] + yf)
    nb = ctx.hoist(dx[0])
    fx = ctx.hoist(_prod(dx[i] for i in xf))
    fy = ctx.hoist(_prod(dy[j] for j in yf))
    k = ctx.hoist(dx[ax])
    x3, y3, o3 = ctx.fresh("t"), ctx.fresh("t"), ctx.fresh("t")
    ctx.line(f"{x3} = reshape_c({xm}, ({nb}, {fx}, {k}))")
    ctx.line(f"{y3} = reshape_c({ym}, ({nb}, {k}, {fy}))")
    ctx.line(f"{o3} = empty_c(({nb}, {fx}, {fy}), {NP_DTYPE[out.dtype]})")
    i = ctx.fresh("i")
    ctx.loop(i, nb)
    ctx.line(f"np.dot({x3}[{i}], {y3}[{i}], {o3}[{i}])")
    ctx.dedent()
    shape = [dx[0]] + [dx[i] for i in xf] + [dy[j] for j in yf]
    if len(shape) == 1:
        shape.append("1")
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c({o3}, {_tuple(shape)})")
    ctx.define(out, t, "C")


# -- gather on any axis, its gradient (scatter-add), logsumexp ---------------------------------

def _supports_gather_any(node) -> bool:
    return _no_f16(node) and node.inputs[1].dtype.startswith(("int", "uint"))


def _index_fix(ctx, c, size, op):
    """Wrap a negative index ``c`` once and raise for one still out of ``[0, size)``."""
    ctx.line(f"if {c} < 0:")
    ctx.line(f"    {c} = {c} + {size}")
    ctx.line(f"if {c} < 0 or {c} >= {size}:")
    ctx.line(f"    raise IndexError('{op}: an index is out of range')")


def _gather_loops(ctx, i1, a_, n_, b_, op, stmt) -> None:
    """``for k`` over the flat indices ``i1`` (wrapped, checked against ``n_``), ``for a`` in
    ``a_``, ``for j`` in ``b_``: one line ``stmt.format(a=, c=, k=, j=)``, c the index."""
    k, c, a, j = ctx.fresh("i"), ctx.fresh("n"), ctx.fresh("i"), ctx.fresh("j")
    ctx.loop(k, f"{i1}.size")
    ctx.line(f"{c} = {i1}[{k}]")
    _index_fix(ctx, c, n_, op)
    ctx.loop(a, a_)
    ctx.loop(j, b_)
    ctx.line(stmt.format(a=a, c=c, k=k, j=j))
    ctx.dedent()
    ctx.dedent()
    ctx.dedent()


def _emit_gather_any(ctx, node):
    """``params.take(indices, axis)``: params seen as (A, N, B), the result as (A, K, B)."""
    p, idx = node.inputs
    out = node.outputs[0]
    axis = node.attrs["axis"]
    pn, iname = ctx.contig(p), ctx.contig(idx)
    a_, n_, b_ = _split3(ctx, pn, p, axis, axis + 1)
    p3, i1, o3 = ctx.fresh("t"), ctx.fresh("t"), ctx.fresh("t")
    ctx.line(f"{p3} = reshape_c({pn}, ({a_}, {n_}, {b_}))")
    ctx.line(f"{i1} = reshape_c({iname}, {iname}.size)")
    ctx.line(f"{o3} = empty_c(({a_}, {i1}.size, {b_}), {NP_DTYPE[out.dtype]})")
    _gather_loops(ctx, i1, a_, n_, b_, "gather", o3 + "[{a}, {k}, {j}] = " + p3 + "[{a}, {c}, {j}]")
    pd = _dims(ctx, pn, p)
    dims = pd[:axis] + _dims(ctx, iname, idx) + pd[axis + 1:]
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c({o3}, {_tuple(dims)})")
    ctx.define(out, t, "C")


def _emit_gather_grad(ctx, node):
    """Scatter-add of the cotangent (A, K, B) into zeros (A, N, B) at the indices (serial:
    repeated indices add into the same row, so the loop is not race-free)."""
    g, idx, p = node.inputs
    out = node.outputs[0]
    axis = node.attrs["axis"]
    gn, iname, pn = ctx.contig(g), ctx.contig(idx), ctx.name(p)
    a_, n_, b_ = _split3(ctx, pn, p, axis, axis + 1)
    g3, i1, o3 = ctx.fresh("t"), ctx.fresh("t"), ctx.fresh("t")
    ctx.line(f"{i1} = reshape_c({iname}, {iname}.size)")
    ctx.line(f"{g3} = reshape_c({gn}, ({a_}, {i1}.size, {b_}))")
    ctx.line(f"{o3} = empty_c(({a_}, {n_}, {b_}), {NP_DTYPE[out.dtype]})")
    ctx.line(f"fill_c({o3}, {ctx.literal(0, out.dtype)})")
    _gather_loops(ctx, i1, a_, n_, b_, "gather_grad",
                  o3 + "[{a}, {c}, {j}] += " + g3 + "[{a}, {k}, {j}]")
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c({o3}, {_tuple(_dims(ctx, pn, p))})")
    ctx.define(out, t, "C")


def _supports_lse(node) -> bool:
    x, out = node.inputs[0], node.outputs[0]
    return x.dtype == out.dtype and x.dtype in ("float32", "float64") and \
        (_contiguous_axes(node.attrs["axes"]) or x.ndim == 0)


def _emit_lse(ctx, node):
    """log(sum(exp(x - m))) + m over a run of axes, m the finite maximum (0 when the maximum
    is +-inf or nan, as in the reference): x seen as (A, n, B), the result as (A, B)."""
    from .emit import _exp_name, _log_name
    x, out = node.inputs[0], node.outputs[0]
    dt = out.dtype
    axes, keep = tuple(node.attrs["axes"]), node.attrs["keepdims"]
    xn = ctx.contig(x)
    if x.ndim == 0:
        a_, n, b_ = "1", "1", "1"
    else:
        a_, n, b_ = _split3(ctx, xn, x, axes[0], axes[-1] + 1)
    x3, r = ctx.fresh("t"), ctx.fresh("t")
    ctx.line(f"{x3} = reshape_c({xn}, ({a_}, {n}, {b_}))")
    ctx.line(f"{r} = empty_c(({a_}, {b_}), {NP_DTYPE[dt]})")
    i, k, j, m, s = (ctx.fresh(q) for q in ("i", "k", "j", "m", "s"))
    ctx.loop(i, a_, outer=True, work=f"{x3}.size", shape=tuple(x.shape))
    ctx.loop(k, b_)
    ctx.line(f"{m} = {ctx.literal(float('-inf'), dt)}")
    ctx.loop(j, n)
    ctx.line(f"{m} = max({m}, {x3}[{i}, {j}, {k}])")
    ctx.dedent()
    ctx.line(f"{m} = {m} if {m} - {m} == 0 else {ctx.literal(0.0, dt)}")
    ctx.line(f"{s} = {ctx.literal(0.0, dt)}")
    ctx.loop(j, n)
    ctx.line(f"{s} = {s} + {_exp_name(dt)}({x3}[{i}, {j}, {k}] - {m})")
    ctx.dedent()
    ctx.line(f"{r}[{i}, {k}] = {_log_name(dt)}({s}) + {m}")
    ctx.dedent()
    ctx.dedent()
    d = _dims(ctx, xn, x)
    odims = [("1" if q in axes else d[q]) for q in range(x.ndim) if keep or q not in axes]
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c({r}, {_tuple(odims)})")
    ctx.define(out, t, "C")


# -- reshape to a run-time shape vector (the gradients of tile / repeat build these) -----------

def _wrap_reshape(base):
    """``reshape(x, shape_vector)`` added to the existing one-input reshape emitter."""
    supports0, emit0 = base

    def supports(node):
        if len(node.inputs) == 1:
            return supports0(node)
        s = node.inputs[1]
        return len(node.inputs) == 2 and s.ndim == 1 and isinstance(s.shape[0], int) and \
            s.dtype.startswith("int") and node.inputs[0].dtype != "float16"

    def emit(ctx, node):
        if len(node.inputs) == 1:
            emit0(ctx, node)
            return
        x, s = node.inputs
        xn, sn = ctx.contig(x), ctx.name(s)
        t = ctx.fresh("t")
        ctx.line(f"{t} = reshape_c({xn}, {_tuple(f'{sn}[{k}]' for k in range(s.shape[0]))})")
        ctx.define(node.outputs[0], t, "C", alias_of=x)

    return supports, emit


def register() -> None:
    """Add the shape / indexing / misc emitters to ``emit.EMITTERS``."""
    if "reshape" in EMITTERS:
        EMITTERS["reshape"] = _wrap_reshape(EMITTERS["reshape"])
    EMITTERS.update({
        "slice": (_no_f16, _emit_slice),
        "slice_grad": (_no_f16, _emit_slice_grad),
        "reverse": (_no_f16, _emit_reverse),
        "concatenate": (_no_f16, _emit_concatenate),
        "split_like": (_no_f16, _emit_split_like),
        "stack": (_no_f16, _emit_stack),
        "pad": (_supports_pad, _emit_pad),
        "tile": (_no_f16, _emit_tile),
        "repeat": (_no_f16, _emit_repeat),
        "one_hot": (_no_f16, _emit_one_hot),
        "argmax": (_supports_arg, _emit_arg),
        "argmin": (_supports_arg, _emit_arg),
        "var": (_supports_var, _emit_var),
        "std": (_supports_var, _emit_var),
        "cumsum": (_supports_cum, _emit_cum),
        "cumprod": (_supports_cum, _emit_cum),
        "sparse_softmax_cross_entropy": (_supports_sparse_xent, _emit_sparse_xent),
        "tensordot": (_supports_tensordot, _emit_tensordot),
        "batch_dot": (_supports_batch_dot, _emit_batch_dot),
        "gather": (_supports_gather_any, _emit_gather_any),
        "gather_grad": (_supports_gather_any, _emit_gather_grad),
        "logsumexp": (_supports_lse, _emit_lse),
    })


register()
