"""Lowerings of the indexing ops: one_hot, gather (any axis) and its gradient gather_grad
(a serial scatter-add, so repeated indices add up in a fixed order).

Indices are checked at run time (negative ones wrap once, as numpy's ``take``; anything still
out of range raises IndexError naming the op).
"""
from __future__ import annotations

from .common import NP_DTYPE, no_f16, shape_dims, split3, tuple_text
from .registry import lowers


@lowers("one_hot", supports=no_f16)
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
    ctx.line(f"{t} = reshape_c({o2}, {tuple_text(shape_dims(ctx, iname, idx) + [str(n)])})")
    ctx.define(out, t, "C")


def _supports_gather_any(node) -> bool:
    return no_f16(node) and node.inputs[1].dtype.startswith(("int", "uint"))


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


@lowers("gather", supports=_supports_gather_any)
def _emit_gather_any(ctx, node):
    """``params.take(indices, axis)``: params seen as (A, N, B), the result as (A, K, B)."""
    p, idx = node.inputs
    out = node.outputs[0]
    axis = node.attrs["axis"]
    pn, iname = ctx.contig(p), ctx.contig(idx)
    a_, n_, b_ = split3(ctx, pn, p, axis, axis + 1)
    p3, i1, o3 = ctx.fresh("t"), ctx.fresh("t"), ctx.fresh("t")
    ctx.line(f"{p3} = reshape_c({pn}, ({a_}, {n_}, {b_}))")
    ctx.line(f"{i1} = reshape_c({iname}, {iname}.size)")
    ctx.line(f"{o3} = empty_c(({a_}, {i1}.size, {b_}), {NP_DTYPE[out.dtype]})")
    _gather_loops(ctx, i1, a_, n_, b_, "gather", o3 + "[{a}, {k}, {j}] = " + p3 + "[{a}, {c}, {j}]")
    pd = shape_dims(ctx, pn, p)
    dims = pd[:axis] + shape_dims(ctx, iname, idx) + pd[axis + 1:]
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c({o3}, {tuple_text(dims)})")
    ctx.define(out, t, "C")


@lowers("gather_grad", supports=_supports_gather_any)
def _emit_gather_grad(ctx, node):
    """Scatter-add of the cotangent (A, K, B) into zeros (A, N, B) at the indices (serial:
    repeated indices add into the same row, so the loop is not race-free)."""
    g, idx, p = node.inputs
    out = node.outputs[0]
    axis = node.attrs["axis"]
    gn, iname, pn = ctx.contig(g), ctx.contig(idx), ctx.name(p)
    a_, n_, b_ = split3(ctx, pn, p, axis, axis + 1)
    g3, i1, o3 = ctx.fresh("t"), ctx.fresh("t"), ctx.fresh("t")
    ctx.line(f"{i1} = reshape_c({iname}, {iname}.size)")
    ctx.line(f"{g3} = reshape_c({gn}, ({a_}, {i1}.size, {b_}))")
    ctx.line(f"{o3} = empty_c(({a_}, {n_}, {b_}), {NP_DTYPE[out.dtype]})")
    ctx.line(f"fill_c({o3}, {ctx.literal(0, out.dtype)})")
    _gather_loops(ctx, i1, a_, n_, b_, "gather_grad",
                  o3 + "[{a}, {c}, {j}] += " + g3 + "[{a}, {k}, {j}]")
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c({o3}, {tuple_text(shape_dims(ctx, pn, p))})")
    ctx.define(out, t, "C")
