"""Helpers every lowering family shares: dtype names in generated source, tuple text, copy
loops with run-time shape checks, flat views, the float math names by dtype, and the common
``supports`` predicates.

Conventions of the generated code (every family keeps them):

* every value has one Python name and one numba type; its layout ('C', 'F' or 'A') is tracked
  in ``ctx.layout`` so that consumers needing contiguity ask ``ctx.contig``;
* a value that is a view of a graph input, variable or constant records that root in
  ``ctx.alias`` (outputs and updates copy such values before variables are written);
* shapes are read at run time (``x.shape[k]``), so a new batch size never recompiles; static
  int dims are emitted as literals.
"""
from __future__ import annotations

from ..scalar import NP_DTYPE, cast_fn, tuple_text  # noqa: F401  (for the families)


def copy_into(ctx, dst: str, src: str, ndim: int, offset: tuple | None = None,
              error: str = "copy: the shapes of the arrays differ") -> None:
    """Emit ``dst[i0, ..., ik + off, ...] = src[i0, ..., ik, ...]`` over src's shape as an
    explicit loop nest: numba's array ``__setitem__`` (``dst[a:b] = src``) goes through its
    generic broadcasting path, about twice as slow for the small blocks of a loop body
    (measured: an LSTM gradient step's four gate blocks into their concatenation and that
    into the stacked output, 18 vs 10 us). ``offset``: (axis, expression) added to dst's
    index on that axis (a concatenation's slot), which the caller sizes. Every other dim
    is checked at run time (generated code has no bounds checks): a mismatch raises
    ValueError(``error``)."""
    if ndim == 0:
        ctx.line(f"{dst}[()] = {src}[()]")
        return
    skip = offset[0] if offset is not None else -1
    check_dims(ctx, dst, [f"{dst if k == skip else src}.shape[{k}]" for k in range(ndim)],
               error)
    idx = [ctx.fresh("i") for _ in range(ndim)]
    for k, i in enumerate(idx):
        ctx.loop(i, f"{src}.shape[{k}]")
    di = list(idx)
    if offset is not None:
        di[offset[0]] = f"{offset[1]} + {idx[offset[0]]}"
    ctx.line(f"{dst}[{', '.join(di)}] = {src}[{', '.join(idx)}]")
    for _ in idx:
        ctx.dedent()


def check_dims(ctx, name: str, dims, error: str) -> None:
    """Emit a run-time check that array ``name`` has the run-time ``dims`` (generated code
    has no bounds checks): a mismatch raises ValueError(``error``)."""
    cond = " or ".join(f"{name}.shape[{k}] != {d}" for k, d in enumerate(dims)
                       if str(d) != f"{name}.shape[{k}]")
    if cond:
        ctx.line(f"if {cond}:")
        ctx.line(f"    raise ValueError({error!r})")


def flat_view(ctx, name: str, size: str | None = None) -> str:
    """The name of a flat (1-D) view of the C-contiguous array ``name`` (``size``: a name
    already holding its size), emitted once per name in the current scope (``ctx.defined``)."""
    flat = f"{name}_f"
    if flat not in ctx.defined:
        ctx.line(f"{flat} = reshape_c({name}, {size or name + '.size'})")
        ctx.defined.add(flat)
    return flat


def exp_name(dtype):
    return "exp_f32" if dtype == "float32" else "np.exp"


def log_name(dtype):
    return "log_f32" if dtype == "float32" else "np.log"


def no_f16(node) -> bool:
    return all(v.dtype != "float16" for v in list(node.inputs) + list(node.outputs))


def shape_dims(ctx, name, v) -> list[str]:
    return [str(d) if isinstance(d, int) else f"{name}.shape[{k}]"
            for k, d in enumerate(v.shape)]


def product_text(items) -> str:
    items = list(items)
    return " * ".join(items) if items else "1"


def split3(ctx, name, v, lo, hi) -> tuple[str, str, str]:
    """Hoisted (A, n, B) sizes of ``v`` around its axes ``lo..hi-1``."""
    d = shape_dims(ctx, name, v)
    return (ctx.hoist(product_text(d[:lo])), ctx.hoist(product_text(d[lo:hi])), ctx.hoist(product_text(d[hi:])))



def always(node) -> bool:
    """``supports`` of a lowering that handles every instance of its ops."""
    return True
