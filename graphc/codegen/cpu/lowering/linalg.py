"""Lowerings of products: matmul, dot, tensordot and batch_dot.

Float32 / float64 products of 2-D operands are one ``gemm`` call (graphc.codegen.cpu.runtime.blas:
sgemm / dgemm with transpose flags, no copies for C- or F-ordered operands), ``par_gemm``
(one block per thread) when the product is large and the program runs parallel; other
patterns go through ``np.dot``. tensordot and batch_dot move their contracted axes next to
each other (views where the layout allows) and reuse the same calls.
"""
from __future__ import annotations

from ....ir.types import dims_equal
from ..writer import PARALLEL_MAX_BATCH
from .common import NP_DTYPE, product_text, shape_dims, tuple_text
from .registry import lowers


def _blas_ok(node):
    a, b = node.inputs
    return a.dtype == b.dtype == node.outputs[0].dtype and a.dtype in ("float32", "float64")


def _emit_np_dot(ctx, a, b, out):
    t = ctx.fresh("t")
    if a.ndim == b.ndim == 1:                 # numba returns a scalar: keep a 0-d array
        ctx.line(f"{t} = empty_c((), {NP_DTYPE[out.dtype]})")
        ctx.line(f"{t}[()] = np.dot({ctx.blas(a)}, {ctx.blas(b)})")
    elif a.ndim == b.ndim == 2:
        t = _emit_gemm(ctx, ctx.blas(a), ctx.blas(b), out.dtype, out.shape, a.shape[-1],
                       b.shape[0])
    else:
        ctx.line(f"{t} = np.dot({ctx.blas(a)}, {ctx.blas(b)})")
    ctx.define(out, t, "C")


def _emit_gemm(ctx, an, bn, dtype, shape, k_dim=None, b_k=None) -> str:
    """``an @ bn`` (2-D, C or F layouts) with one BLAS call (native.gemm: an intrinsic, so
    no nested compilation per layout combination, and transposed operands are not copied)
    into a buffer of the memory plan (static ``shape``: the product's); returns its name.
    The inner dims are compared at run time unless both are the same static int or symbol
    (``k_dim``, ``b_k``: a's last and b's first static dim), which the types already
    guarantee (the elementwise loops trust a symbol the same way)."""
    if not (isinstance(k_dim, (int, str)) and k_dim == b_k):
        ctx.line(f"if {an}.shape[1] != {bn}.shape[0]:")
        ctx.line("    raise ValueError('matmul: the inner dimensions of the operands differ')")
    t = ctx.alloc([f"{an}.shape[0]", f"{bn}.shape[1]"], dtype, shape)
    fn = "par_gemm" if ctx.parallel and _gemm_may_be_large(shape, k_dim) else "gemm"
    ctx.line(f"{fn}({an}, {bn}, {t})")
    return t


def _gemm_may_be_large(shape, k) -> bool:
    """Whether a product of static output ``shape`` and inner dim ``k`` can reach
    native.PAR_GEMM_MIN_WORK multiply-adds (symbolic dims counted at the largest batch that
    size-switched loops consider); par_gemm itself checks the run-time size."""
    from ..runtime.blas import PAR_GEMM_MIN_WORK     # (imports numba)
    work = 1
    for d in tuple(shape) + (k,):
        work *= d if isinstance(d, int) else PARALLEL_MAX_BATCH
    return work >= PAR_GEMM_MIN_WORK


def _supports_matmul(node):
    a, b = node.inputs
    if not _blas_ok(node):
        return False
    if a.ndim <= 2 and b.ndim <= 2:
        return True
    return a.ndim == b.ndim == 3 and dims_equal(a.shape[0], b.shape[0]) or \
        (a.ndim == b.ndim == 3 and isinstance(a.shape[0], int) and a.shape[0] == b.shape[0])


@lowers("matmul", supports=_supports_matmul, fresh=True)
def _emit_matmul(ctx, node):
    a, b = node.inputs
    out = node.outputs[0]
    if a.ndim <= 2 and b.ndim <= 2:
        _emit_np_dot(ctx, a, b, out)
        return
    an, bn = ctx.contig(a), ctx.contig(b)
    t = ctx.fresh("t")
    ctx.line(f"{t} = empty_c(({an}.shape[0], {an}.shape[1], {bn}.shape[2]), "
             f"{NP_DTYPE[out.dtype]})")
    i = ctx.fresh("i")
    ctx.loop(i, f"{an}.shape[0]")
    ctx.line(f"np.dot({an}[{i}], {bn}[{i}], {t}[{i}])")
    ctx.dedent()
    ctx.define(out, t, "C")


def _supports_dot(node):
    a, b = node.inputs
    return _blas_ok(node) and b.ndim in (1, 2) and a.ndim >= 1


@lowers("dot", supports=_supports_dot, fresh=True)
def _emit_dot(ctx, node):
    a, b = node.inputs
    out = node.outputs[0]
    if a.ndim <= 2:
        _emit_np_dot(ctx, a, b, out)
        return
    an = ctx.contig(a)
    a2 = ctx.fresh("t")
    ctx.line(f"{a2} = reshape_c({an}, (-1, {an}.shape[{a.ndim - 1}]))")
    if b.ndim == 2:
        t2 = _emit_gemm(ctx, a2, ctx.blas(b), out.dtype, out.shape, a.shape[-1], b.shape[0])
    else:
        t2 = ctx.fresh("t")
        ctx.line(f"{t2} = np.dot({a2}, {ctx.blas(b)})")
    lead = [f"{an}.shape[{k}]" for k in range(a.ndim - 1)]
    tail = [f"{t2}.shape[1]"] if b.ndim == 2 else []
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c({t2}, {tuple_text(lead + tail)})")
    ctx.define(out, t, "C")


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
             f"{tuple_text(str(o) for o in order)}))")
    return t


def _supports_tensordot(node) -> bool:
    a, b = node.inputs
    return _blas_pair(node) and a.ndim >= 1 and b.ndim >= 1


@lowers("tensordot", supports=_supports_tensordot)
def _emit_tensordot(ctx, node):
    a, b = node.inputs
    out = node.outputs[0]
    ax_a, ax_b = (list(x) for x in node.attrs["axes"])
    fa = [i for i in range(a.ndim) if i not in ax_a]
    fb = [j for j in range(b.ndim) if j not in ax_b]
    an, bn = ctx.name(a), ctx.name(b)
    da, db = shape_dims(ctx, an, a), shape_dims(ctx, bn, b)
    am = _moved(ctx, a, fa + ax_a)
    bm = _moved(ctx, b, ax_b + fb)
    m = ctx.hoist(product_text(da[i] for i in fa))
    k = ctx.hoist(product_text(da[i] for i in ax_a))
    n = ctx.hoist(product_text(db[j] for j in fb))
    t2 = ctx.fresh("t")
    ctx.line(f"{t2} = np.dot({am}.reshape(({m}, {k})), {bm}.reshape(({k}, {n})))")
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c({t2}, {tuple_text([da[i] for i in fa] + [db[j] for j in fb])})")
    ctx.define(out, t, "C")


def _supports_batch_dot(node) -> bool:
    return _blas_pair(node)


@lowers("batch_dot", supports=_supports_batch_dot)
def _emit_batch_dot(ctx, node):
    x, y = node.inputs
    out = node.outputs[0]
    ax, ay = node.attrs["axes"]
    xf = [i for i in range(1, x.ndim) if i != ax]
    yf = [j for j in range(1, y.ndim) if j != ay]
    xn, yn = ctx.name(x), ctx.name(y)
    dx, dy = shape_dims(ctx, xn, x), shape_dims(ctx, yn, y)
    xm = _moved(ctx, x, [0] + xf + [ax])
    ym = _moved(ctx, y, [0, ay] + yf)
    nb = ctx.hoist(dx[0])
    fx = ctx.hoist(product_text(dx[i] for i in xf))
    fy = ctx.hoist(product_text(dy[j] for j in yf))
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
    ctx.line(f"{t} = reshape_c({o3}, {tuple_text(shape)})")
    ctx.define(out, t, "C")
