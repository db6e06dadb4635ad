"""Lowerings of reductions along axes: sum / mean / max / min / prod / any / all, argmax /
argmin, var / std, cumsum / cumprod and logsumexp.

A reduction over the trailing or leading axes of a C-contiguous input is one loop nest with
an accumulator per output element; axis-wise ops view the input as ``(A, n, B)`` -- the axes
before, the reduced run of axes, the axes after -- so no transposed copy is needed.
"""
from __future__ import annotations

from ....ir.ops import REGISTRY
from ....ir.types import is_float
from .common import NP_DTYPE, cast_fn, exp_name, flat_view, log_name, no_f16, shape_dims, split3, tuple_text
from .registry import lowers


def _red_combine(op, s, v):
    """``op``'s fold of element ``v`` into accumulator ``s`` (its definition's template)."""
    return REGISTRY[op].reduction.combine(s, v)


def _supports_reduce(node):
    x, out = node.inputs[0], node.outputs[0]
    if node.op in ("any", "all"):
        return out.dtype == "bool"
    if node.op == "mean":
        return is_float(out.dtype)
    return out.dtype != "bool" and x.dtype != "float16"


def _red_init(ctx, op, dtype):
    """``op``'s identity for an accumulator of ``dtype`` (from its definition)."""
    value = REGISTRY[op].reduction.identity_value(dtype)
    return str(value) if isinstance(value, bool) else ctx.literal(value, dtype)


def _emit_full_reduce(ctx, node, xn, cast, init):
    """A reduction over every axis of a C-contiguous array: one flat loop into a scalar
    accumulator, stored once (5 generated lines instead of the general nest's 9)."""
    op, x, out = node.op, node.inputs[0], node.outputs[0]
    n = ctx.hoist(f"{xn}.size")
    flat = flat_view(ctx, xn, n) if x.ndim > 1 else xn
    s, i = ctx.fresh("s"), ctx.fresh("i")
    ctx.line(f"{s} = {init}")
    ctx.loop(i, n)
    ctx.line(f"{s} = {_red_combine(op, s, f'{cast}({flat}[{i}])')}")
    ctx.dedent()
    if REGISTRY[op].reduction.finalize == "mean":
        ctx.line(f"{s} = {s} * ({cast}(1.0 / {n}) if {n} > 0 else {cast}(np.nan))")
    shape = (1,) * x.ndim if node.attrs["keepdims"] else ()
    t = ctx.alloc(["1"] * len(shape), out.dtype, shape)
    ctx.line(f"{t}[{tuple_text(['0'] * len(shape)) if shape else '()'}] = {s}")
    ctx.define(out, t, "C")


@lowers("sum", "mean", "max", "min", "prod", "any", "all", supports=_supports_reduce,
        fresh=True)
def _emit_reduce(ctx, node):
    op = node.op
    x, out = node.inputs[0], node.outputs[0]
    axes = tuple(node.attrs["axes"])
    keepdims = node.attrs["keepdims"]
    r = x.ndim
    dt = out.dtype
    xn = ctx.name(x)
    cast = cast_fn(dt)
    init = _red_init(ctx, op, dt)
    if r and len(axes) == r and ctx.layout.get(id(x)) == "C":
        _emit_full_reduce(ctx, node, xn, cast, init)
        return
    xdims = [str(d) if isinstance(d, int) else ctx.hoist(f"{xn}.shape[{k}]")
             for k, d in enumerate(x.shape)]
    kdims = ["1" if k in axes else xdims[k] for k in range(r)]
    kshape = tuple(1 if k in axes else d for k, d in enumerate(x.shape))
    acc = ctx.alloc(kdims, dt, kshape)
    # trailing run of reduced axes -> scalar accumulator
    t = r
    while t > 0 and (t - 1) in axes:
        t -= 1
    iv = [ctx.fresh("i") for _ in range(r)]
    acc_idx = ["0" if k in axes else iv[k] for k in range(r)]
    acc_ref = f"{acc}[{tuple_text(acc_idx) if r else '()'}]"
    x_ref = f"{xn}[{tuple_text(iv) if r else '()'}]"
    # initialise
    if r:
        ctx.line(f"fill_c({acc}, {init})")
    else:
        ctx.line(f"{acc}[()] = {init}")
    work = " * ".join(xdims) if r > 1 else None
    for k in range(t):
        ctx.loop(iv[k], xdims[k], outer=(k == 0 and 0 not in axes),
                 work=work if k == 0 else None, shape=tuple(x.shape))
    if t == r:
        ctx.line(f"{acc_ref} = {_red_combine(op, acc_ref, f'{cast}({x_ref})')}")
    else:
        s = ctx.fresh("s")
        ctx.line(f"{s} = {init}")
        for k in range(t, r):
            ctx.loop(iv[k], xdims[k])
        ctx.line(f"{s} = {_red_combine(op, s, f'{cast}({x_ref})')}")
        for _ in range(t, r):
            ctx.dedent()
        ctx.line(f"{acc_ref} = {_red_combine(op, acc_ref, s)}")
    for _ in range(t):
        ctx.dedent()
    if REGISTRY[op].reduction.finalize == "mean":
        count = " * ".join(xdims[k] for k in axes) or "1"
        inv = ctx.fresh("s")
        ctx.line(f"{inv} = {cast}(1.0 / max({count}, 1)) if {count} > 0 else {cast}(np.nan)")
        ctx.line(f"scale_c({acc}, {inv})")
    if keepdims or r == 0:
        ctx.define(out, acc, "C")
    else:
        odims = [xdims[k] for k in range(r) if k not in axes]
        res = ctx.fresh("t")
        ctx.line(f"{res} = reshape_c({acc}, {tuple_text(odims)})")
        ctx.define(out, res, "C")


def _supports_arg(node) -> bool:
    return node.inputs[0].dtype not in ("float16", "bool")


@lowers("argmax", "argmin", supports=_supports_arg)
def _emit_arg(ctx, node):
    x, out = node.inputs[0], node.outputs[0]
    axis, keep = node.attrs["axis"], node.attrs["keepdims"]
    xn = ctx.contig(x)
    if axis is None or x.ndim == 0:
        a_, n, b_ = "1", ctx.hoist(f"{xn}.size"), "1"
    else:
        a_, n, b_ = split3(ctx, xn, x, axis, axis + 1)
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
        d = shape_dims(ctx, xn, x)
        odims = [("1" if q == axis else d[q]) for q in range(x.ndim) if keep or q != axis]
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c({r}, {tuple_text(odims)})")
    ctx.define(out, t, "C")


def _contiguous_axes(axes) -> bool:
    axes = tuple(axes)
    return bool(axes) and axes == tuple(range(axes[0], axes[-1] + 1))


def _supports_var(node) -> bool:
    x, out = node.inputs[0], node.outputs[0]
    return x.dtype == out.dtype and x.dtype in ("float32", "float64") and \
        (_contiguous_axes(node.attrs["axes"]) or x.ndim == 0)


@lowers("var", "std", supports=_supports_var)
def _emit_var(ctx, node):
    x, out = node.inputs[0], node.outputs[0]
    axes, keep = tuple(node.attrs["axes"]), node.attrs["keepdims"]
    xn = ctx.contig(x)
    if x.ndim == 0:
        a_, n, b_ = "1", "1", "1"
    else:
        a_, n, b_ = split3(ctx, xn, x, axes[0], axes[-1] + 1)
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
    d = shape_dims(ctx, xn, x)
    odims = [("1" if q2 in axes else d[q2]) for q2 in range(x.ndim)
             if keep or q2 not in axes]
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c({r}, {tuple_text(odims)})")
    ctx.define(out, t, "C")


def _supports_cum(node) -> bool:
    return no_f16(node) and node.inputs[0].dtype != "bool"


@lowers("cumsum", "cumprod", supports=_supports_cum)
def _emit_cum(ctx, node):
    x, out = node.inputs[0], node.outputs[0]
    axis = node.attrs["axis"]
    xn = ctx.contig(x)
    a_, n, b_ = split3(ctx, xn, x, axis, axis + 1)
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
    ctx.line(f"{t} = reshape_c({o3}, {tuple_text(shape_dims(ctx, xn, x))})")
    ctx.define(out, t, "C")


def _supports_lse(node) -> bool:
    x, out = node.inputs[0], node.outputs[0]
    return x.dtype == out.dtype and x.dtype in ("float32", "float64") and \
        (_contiguous_axes(node.attrs["axes"]) or x.ndim == 0)


@lowers("logsumexp", supports=_supports_lse)
def _emit_lse(ctx, node):
    """log(sum(exp(x - m))) + m over a run of axes, m the finite maximum (0 when the maximum
    is +-inf or nan, as in the reference): x seen as (A, n, B), the result as (A, B)."""
    x, out = node.inputs[0], node.outputs[0]
    dt = out.dtype
    axes, keep = tuple(node.attrs["axes"]), node.attrs["keepdims"]
    xn = ctx.contig(x)
    if x.ndim == 0:
        a_, n, b_ = "1", "1", "1"
    else:
        a_, n, b_ = split3(ctx, xn, x, axes[0], axes[-1] + 1)
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
    ctx.line(f"{s} = {s} + {exp_name(dt)}({x3}[{i}, {j}, {k}] - {m})")
    ctx.dedent()
    ctx.line(f"{r}[{i}, {k}] = {log_name(dt)}({s}) + {m}")
    ctx.dedent()
    ctx.dedent()
    d = shape_dims(ctx, xn, x)
    odims = [("1" if q in axes else d[q]) for q in range(x.ndim) if keep or q not in axes]
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c({r}, {tuple_text(odims)})")
    ctx.define(out, t, "C")
