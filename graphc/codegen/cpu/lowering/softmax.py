"""Lowerings of softmax, log_softmax and the fused cross-entropy ops (softmax_cross_entropy,
sparse_softmax_cross_entropy): row-wise over the last axis, max-subtracted, one pass for the
maximum and one for the sum per row.
"""
from __future__ import annotations

from .common import NP_DTYPE, exp_name, log_name, shape_dims, split3, tuple_text
from .registry import lowers


def _rows(ctx, x):
    """(name of x as a C (rows, n) matrix, rows, n)."""
    xn = ctx.contig(x)
    n = x.shape[-1]
    rows = ctx.hoist(f"{xn}.size // {n}")
    x2 = ctx.fresh("t")
    ctx.line(f"{x2} = reshape_c({xn}, ({rows}, {n}))")
    return x2, rows, n


def _row_max(ctx, x2, r, n, dt):
    m, j = ctx.fresh("m"), ctx.fresh("j")
    ctx.line(f"{m} = {ctx.literal(float('-inf'), dt)}")
    ctx.loop(j, str(n))
    ctx.line(f"{m} = max({m}, {x2}[{r}, {j}])")
    ctx.dedent()
    # a row of -inf (or a nan) gives m not finite: use 0 like the reference
    ctx.line(f"{m} = {m} if {m} - {m} == 0 else {ctx.literal(0.0, dt)}")
    return m


def _last_axis_ok(node, axis_attr="axis"):
    x = node.inputs[0]
    if x.dtype not in ("float32", "float64") or x.ndim < 1:
        return False
    n = x.shape[-1]
    return node.attrs[axis_attr] == x.ndim - 1 and isinstance(n, int) and n > 0


@lowers("softmax", "log_softmax", supports=_last_axis_ok, fresh=True)
def _emit_softmax_like(ctx, node):
    x, out = node.inputs[0], node.outputs[0]
    dt = out.dtype
    x2, rows, n = _rows(ctx, x)
    o2 = ctx.alloc([rows, n], dt, out.shape)
    r = ctx.fresh("r")
    ctx.loop(r, rows, outer=True, work=f"{x2}.size", shape=tuple(x.shape))
    m = _row_max(ctx, x2, r, n, dt)
    s, j = ctx.fresh("s"), ctx.fresh("j")
    ctx.line(f"{s} = {ctx.literal(0.0, dt)}")
    ctx.loop(j, str(n))
    if node.op == "softmax":
        e = ctx.fresh("e")
        ctx.line(f"{e} = {exp_name(dt)}({x2}[{r}, {j}] - {m})")
        ctx.line(f"{o2}[{r}, {j}] = {e}")
        ctx.line(f"{s} = {s} + {e}")
        ctx.dedent()
        inv = ctx.fresh("s")
        ctx.line(f"{inv} = {ctx.literal(1.0, dt)} / {s}")
        ctx.loop(j, str(n))
        ctx.line(f"{o2}[{r}, {j}] = {o2}[{r}, {j}] * {inv}")
    else:
        ctx.line(f"{s} = {s} + {exp_name(dt)}({x2}[{r}, {j}] - {m})")
        ctx.dedent()
        lse = ctx.fresh("s")
        ctx.line(f"{lse} = {m} + {log_name(dt)}({s})")
        ctx.loop(j, str(n))
        ctx.line(f"{o2}[{r}, {j}] = {x2}[{r}, {j}] - {lse}")
    ctx.dedent()
    ctx.dedent()
    xn = ctx.name(x)
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c({o2}, {tuple_text(f'{xn}.shape[{k}]' for k in range(x.ndim))})")
    ctx.define(out, t, "C")


def _supports_xent(node):
    x, t = node.inputs
    return _last_axis_ok(node) and x.dtype == t.dtype == node.outputs[0].dtype and \
        x.shape == t.shape and all(d is not None for d in x.shape)


@lowers("softmax_cross_entropy", supports=_supports_xent, fresh=True)
def _emit_xent(ctx, node):
    x, tg = node.inputs
    out = node.outputs[0]
    dt = out.dtype
    x2, rows, n = _rows(ctx, x)
    tn = ctx.contig(tg)
    t2 = ctx.fresh("t")
    ctx.line(f"{t2} = reshape_c({tn}, ({rows}, {n}))")
    o = ctx.fresh("t")
    ctx.line(f"{o} = empty_c({rows}, {NP_DTYPE[dt]})")
    r = ctx.fresh("r")
    ctx.loop(r, rows, outer=True, work=f"{x2}.size", shape=tuple(x.shape))
    m = _row_max(ctx, x2, r, n, dt)
    s, st, sx, j = ctx.fresh("s"), ctx.fresh("s"), ctx.fresh("s"), ctx.fresh("j")
    zero = ctx.literal(0.0, dt)
    ctx.line(f"{s} = {zero}")
    ctx.line(f"{st} = {zero}")
    ctx.line(f"{sx} = {zero}")
    ctx.loop(j, str(n))
    ctx.line(f"{s} = {s} + {exp_name(dt)}({x2}[{r}, {j}] - {m})")
    ctx.line(f"{st} = {st} + {t2}[{r}, {j}]")
    ctx.line(f"{sx} = {sx} + {t2}[{r}, {j}] * ({x2}[{r}, {j}] - {m})")
    ctx.dedent()
    # -sum(t * (x - m - log s)) = log(s) * sum(t) - sum(t * (x - m))
    ctx.line(f"{o}[{r}] = {log_name(dt)}({s}) * {st} - {sx}")
    ctx.dedent()
    xn = ctx.name(x)
    res = ctx.fresh("t")
    ctx.line(f"{res} = reshape_c({o}, {tuple_text(f'{xn}.shape[{k}]' for k in range(x.ndim - 1))})")
    ctx.define(out, res, "C")


def _supports_sparse_xent(node) -> bool:
    x = node.inputs[0]
    return x.dtype in ("float32", "float64") and node.outputs[0].dtype == x.dtype


@lowers("sparse_softmax_cross_entropy", supports=_supports_sparse_xent)
def _emit_sparse_xent(ctx, node):
    x, lab = node.inputs
    out = node.outputs[0]
    axis = node.attrs["axis"]
    dt = out.dtype
    xn, ln = ctx.contig(x), ctx.contig(lab)
    a_, n, b_ = split3(ctx, xn, x, axis, axis + 1)
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
    ctx.line(f"{t} = reshape_c({r}, {tuple_text(shape_dims(ctx, ln, lab))})")
    ctx.define(out, t, "C")
