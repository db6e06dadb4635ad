"""Native emitters: IR nodes -> lines of numba source inside a generated segment function.

``EMITTERS[op] = (supports(node) -> bool, emit(ctx, node))``. ``supports`` decides, before any
code is written, whether the node runs natively; a node without an emitter (or whose pattern
the emitter does not handle, e.g. an int matmul) runs its numpy reference between native
segments (see lower.py). Elementwise ops need no entry: every op of kind ``elementwise`` and
every ``fused`` region is emitted as one loop nest by :func:`emit_region`.

Invariants of the generated code:
* every value has one Python name and one numba type; its layout ('C', 'F' or 'A') is tracked
  in ``ctx.layout`` so that consumers needing contiguity ask ``ctx.contig``;
* a value that is a view of a graph input, variable or constant records that root in
  ``ctx.alias`` (outputs and updates copy such values before variables are written);
* shapes are read at run time (``x.shape[k]``), so a new batch size never recompiles; static
  int dims are emitted as literals.
"""
from __future__ import annotations

from ...ir.ops import REGISTRY
from ...ir.types import dims_equal, is_float
from .scalar import CAST_OF_DTYPE, scalar_expr

NP_DTYPE = {"float16": "np.float16", "float32": "np.float32", "float64": "np.float64",
            "int8": "np.int8", "int16": "np.int16", "int32": "np.int32", "int64": "np.int64",
            "uint8": "np.uint8", "bool": "np.bool_"}


def cast_fn(dtype: str) -> str:
    from .scalar import CASTS
    return CASTS[CAST_OF_DTYPE[dtype]]


def _tuple(items) -> str:
    items = list(items)
    if not items:
        return "()"
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


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


def _compute_dtype(node) -> str | None:
    """The float dtype an elementwise node computes in (None: an int/bool node)."""
    out = node.outputs[0].dtype
    if is_float(out):
        return out
    floats = [v.dtype for v in node.inputs if is_float(v.dtype)]
    return floats[0] if floats else None


# -- elementwise regions -----------------------------------------------------------------------

def region_dims(ctx, shape, operands) -> list[str]:
    """Run-time expressions of the region's dims (``operands``: (name, static shape))."""
    r = len(shape)
    dims = []
    for k, d in enumerate(shape):
        if isinstance(d, int):
            dims.append(str(d))
            continue
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
    return dims


def flat_view(ctx, name: str, size: str | None = None) -> str:
    """The name of a flat (1-D) view of the C-contiguous array ``name`` (``size``: a name
    already holding its size), emitted once per name in the current scope (``ctx.defined``)."""
    flat = f"{name}_f"
    if flat not in ctx.defined:
        ctx.line(f"{flat} = reshape_c({name}, {size or name + '.size'})")
        ctx.defined.add(flat)
    return flat


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
    dims = out_dims or region_dims(ctx, shape, [(n, s) for n, s, _ in operands])
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
            ctx.line(f"{x} = {name}[{_tuple(idx) if idx else '()'}]")
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
        ctx.line(f"{x} = {name}[{_tuple(idx) if idx else '()'}]")
        env[id(b)] = x
    _emit_body(ctx, nodes, env)
    for (o, idx), b in zip(stores, body_outs):
        ctx.line(f"{o}[{_tuple(idx) if idx else '()'}] = {env[id(b)]}")
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


def _emit_elementwise(ctx, node):
    emit_region(ctx, list(node.inputs), list(node.inputs), [node], [node.outputs[0]],
                [node.outputs[0]])


def _emit_fused(ctx, node):
    body = node.attrs["body"]
    emit_region(ctx, list(node.inputs), list(body.inputs), body.nodes(), list(body.outputs),
                list(node.outputs))


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


# -- reductions --------------------------------------------------------------------------------

def _red_combine(op, s, v):
    if op in ("sum", "mean"):
        return f"{s} + {v}"
    if op == "prod":
        return f"{s} * {v}"
    if op == "max":
        return f"({v} if ({v} > {s} or {v} != {v}) else {s})"
    if op == "min":
        return f"({v} if ({v} < {s} or {v} != {v}) else {s})"
    if op == "any":
        return f"({s} or {v})"
    return f"({s} and {v})"


def _supports_reduce(node):
    x, out = node.inputs[0], node.outputs[0]
    if node.op in ("any", "all"):
        return out.dtype == "bool"
    if node.op == "mean":
        return is_float(out.dtype)
    return out.dtype != "bool" and x.dtype != "float16"


def _red_init(ctx, op, dtype):
    if op in ("any", "all"):
        return "False" if op == "any" else "True"
    if op in ("max", "min"):
        if is_float(dtype):
            return ctx.literal(float("-inf") if op == "max" else float("inf"), dtype)
        import numpy as np
        info = np.iinfo(dtype)
        return ctx.literal(int(info.min if op == "max" else info.max), dtype)
    return ctx.literal(1 if op == "prod" else 0, dtype)


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
    acc_ref = f"{acc}[{_tuple(acc_idx) if r else '()'}]"
    x_ref = f"{xn}[{_tuple(iv) if r else '()'}]"
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
    if op == "mean":
        count = " * ".join(xdims[k] for k in axes) or "1"
        inv = ctx.fresh("s")
        ctx.line(f"{inv} = {cast}(1.0 / max({count}, 1)) if {count} > 0 else {cast}(np.nan)")
        ctx.line(f"scale_c({acc}, {inv})")
    if keepdims or r == 0:
        ctx.define(out, acc, "C")
    else:
        odims = [xdims[k] for k in range(r) if k not in axes]
        res = ctx.fresh("t")
        ctx.line(f"{res} = reshape_c({acc}, {_tuple(odims)})")
        ctx.define(out, res, "C")


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
    if op == "mean":
        ctx.line(f"{s} = {s} * ({cast}(1.0 / {n}) if {n} > 0 else {cast}(np.nan))")
    shape = (1,) * x.ndim if node.attrs["keepdims"] else ()
    t = ctx.alloc(["1"] * len(shape), out.dtype, shape)
    ctx.line(f"{t}[{_tuple(['0'] * len(shape)) if shape else '()'}] = {s}")
    ctx.define(out, t, "C")


# -- contractions ------------------------------------------------------------------------------

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
    from .writer import PARALLEL_MAX_BATCH
    from .native import PAR_GEMM_MIN_WORK
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
    ctx.line(f"{t} = reshape_c({t2}, {_tuple(lead + tail)})")
    ctx.define(out, t, "C")


# -- shape ops ---------------------------------------------------------------------------------

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
        ctx.line(f"{t} = np.transpose({xn}, {_tuple(str(p) for p in perm)})")
        ctx.define(out, t, "A", alias_of=x)


def _reshape_to(ctx, node, dims):
    x, out = node.inputs[0], node.outputs[0]
    xn = ctx.contig(x)
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c({xn}, {_tuple(dims)})")
    ctx.define(out, t, "C", alias_of=x)


def _emit_reshape(ctx, node):
    _reshape_to(ctx, node, [str(int(d)) for d in node.attrs["shape"]])


def _emit_flatten(ctx, node):
    x = node.inputs[0]
    xn = ctx.name(x)
    rest = " * ".join(f"{xn}.shape[{k}]" for k in range(1, x.ndim)) or "1"
    _reshape_to(ctx, node, [f"{xn}.shape[0]", rest])


def _emit_expand_dims(ctx, node):
    x = node.inputs[0]
    xn = ctx.name(x)
    dims = [f"{xn}.shape[{k}]" for k in range(x.ndim)]
    dims.insert(int(node.attrs["axis"]), "1")
    _reshape_to(ctx, node, dims)


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


def _supports_squeeze(node):
    return node.outputs[0].ndim == node.inputs[0].ndim - len(
        {k for k, d in enumerate(node.inputs[0].shape) if d == 1}) or \
        node.attrs.get("axis") is not None


def _emit_reshape_like(ctx, node):
    ref = node.inputs[1]
    rn = ctx.name(ref)
    _reshape_to(ctx, node, [f"{rn}.shape[{k}]" for k in range(ref.ndim)])


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
        ctx.line(f"{ge} = reshape_c({gn}, {_tuple(gdims)})")
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
    src = f"{ge}[{_tuple(idx) if idx else '()'}]"
    ctx.line(f"{t}[{_tuple(iv) if r else '()'}] = {src}")
    for _ in range(r):
        ctx.dedent()
    ctx.define(out, t, "C")


def _emit_shape(ctx, node):
    x = node.inputs[0]
    xn = ctx.name(x)
    t = ctx.fresh("t")
    ctx.line(f"{t} = empty_c({x.ndim}, np.int64)")
    for k in range(x.ndim):
        ctx.line(f"{t}[{k}] = {xn}.shape[{k}]")
    ctx.define(node.outputs[0], t, "C")


def _emit_size(ctx, node):
    x = node.inputs[0]
    xn = ctx.name(x)
    dt = NP_DTYPE[node.outputs[0].dtype]
    n = " * ".join(f"{xn}.shape[{a}]" for a in node.attrs["axes"]) or "1"
    t = ctx.fresh("t")
    ctx.line(f"{t} = empty_c((), {dt})")
    ctx.line(f"{t}[()] = {dt}({n})")
    ctx.define(node.outputs[0], t, "C")


# -- softmax family (class axis = last axis, static size) ---------------------------------------

def _last_axis_ok(node, axis_attr="axis"):
    x = node.inputs[0]
    if x.dtype not in ("float32", "float64") or x.ndim < 1:
        return False
    n = x.shape[-1]
    return node.attrs[axis_attr] == x.ndim - 1 and isinstance(n, int) and n > 0


def _supports_xent(node):
    x, t = node.inputs
    return _last_axis_ok(node) and x.dtype == t.dtype == node.outputs[0].dtype and \
        x.shape == t.shape and all(d is not None for d in x.shape)


def _exp_name(dtype):
    return "exp_f32" if dtype == "float32" else "np.exp"


def _log_name(dtype):
    return "log_f32" if dtype == "float32" else "np.log"


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
        ctx.line(f"{e} = {_exp_name(dt)}({x2}[{r}, {j}] - {m})")
        ctx.line(f"{o2}[{r}, {j}] = {e}")
        ctx.line(f"{s} = {s} + {e}")
        ctx.dedent()
        inv = ctx.fresh("s")
        ctx.line(f"{inv} = {ctx.literal(1.0, dt)} / {s}")
        ctx.loop(j, str(n))
        ctx.line(f"{o2}[{r}, {j}] = {o2}[{r}, {j}] * {inv}")
    else:
        ctx.line(f"{s} = {s} + {_exp_name(dt)}({x2}[{r}, {j}] - {m})")
        ctx.dedent()
        lse = ctx.fresh("s")
        ctx.line(f"{lse} = {m} + {_log_name(dt)}({s})")
        ctx.loop(j, str(n))
        ctx.line(f"{o2}[{r}, {j}] = {x2}[{r}, {j}] - {lse}")
    ctx.dedent()
    ctx.dedent()
    xn = ctx.name(x)
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c({o2}, {_tuple(f'{xn}.shape[{k}]' for k in range(x.ndim))})")
    ctx.define(out, t, "C")


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
    ctx.line(f"{s} = {s} + {_exp_name(dt)}({x2}[{r}, {j}] - {m})")
    ctx.line(f"{st} = {st} + {t2}[{r}, {j}]")
    ctx.line(f"{sx} = {sx} + {t2}[{r}, {j}] * ({x2}[{r}, {j}] - {m})")
    ctx.dedent()
    # -sum(t * (x - m - log s)) = log(s) * sum(t) - sum(t * (x - m))
    ctx.line(f"{o}[{r}] = {_log_name(dt)}({s}) * {st} - {sx}")
    ctx.dedent()
    xn = ctx.name(x)
    res = ctx.fresh("t")
    ctx.line(f"{res} = reshape_c({o}, {_tuple(f'{xn}.shape[{k}]' for k in range(x.ndim - 1))})")
    ctx.define(out, res, "C")


def _always(node):
    return True


def _squeeze_ok(node):
    axis = node.attrs.get("axis")
    return axis is not None or all(isinstance(d, int) for d in node.inputs[0].shape)


EMITTERS = {
    "fused": (_supports_fused, _emit_fused),
    "sum": (_supports_reduce, _emit_reduce),
    "mean": (_supports_reduce, _emit_reduce),
    "max": (_supports_reduce, _emit_reduce),
    "min": (_supports_reduce, _emit_reduce),
    "prod": (_supports_reduce, _emit_reduce),
    "any": (_supports_reduce, _emit_reduce),
    "all": (_supports_reduce, _emit_reduce),
    "matmul": (_supports_matmul, _emit_matmul),
    "dot": (_supports_dot, _emit_dot),
    "transpose": (_always, _emit_transpose),
    "reshape": (lambda n: len(n.inputs) == 1, _emit_reshape),
    "reshape_like": (_always, _emit_reshape_like),
    "flatten": (_always, _emit_flatten),
    "expand_dims": (_always, _emit_expand_dims),
    "squeeze": (_squeeze_ok, _emit_squeeze),
    "broadcast_like": (_always, _emit_broadcast_like),
    "shape": (_always, _emit_shape),
    "size": (_always, _emit_size),
    "softmax": (_last_axis_ok, _emit_softmax_like),
    "log_softmax": (_last_axis_ok, _emit_softmax_like),
    "softmax_cross_entropy": (_supports_xent, _emit_xent),
}


# emitters of emit.py for ops whose OpDef says their outputs are always new arrays
# (``aliases="fresh"``); every other emitter (reshape, transpose, slices, the loop op, kernels)
# may return a view, which the memory plan (writer.MemoryPlan) treats as an alias of that input
_FRESH_OPS = frozenset(op for op in EMITTERS if REGISTRY[op].aliases == "fresh")


def fresh_outputs(node) -> bool:
    """True when ``node``'s emitter writes its outputs into new buffers (or a variable's
    storage), so no output aliases an input."""
    opdef = REGISTRY.get(node.op)
    if opdef is not None and opdef.kind == "elementwise" and node.op not in EMITTERS:
        return True
    return node.op in _FRESH_OPS and EMITTERS.get(node.op, (None, None))[1] is \
        _FRESH_EMITTERS.get(node.op)


def writes_destination(node) -> bool:
    """True when ``node``'s emitter honours ``ctx.dest``: it writes its outputs into a given
    buffer (a fused or elementwise kernel's loop nest, a concatenation's copies)."""
    opdef = REGISTRY.get(node.op)
    if opdef is not None and opdef.kind == "elementwise" and node.op not in EMITTERS:
        return True
    return (node.op == "fused" and EMITTERS.get("fused", (None, None))[1] is _emit_fused) or \
        node.op == "concatenate"


def native_supported(node) -> bool:
    """True if ``node`` runs in generated code (else its reference runs between segments)."""
    opdef = REGISTRY.get(node.op)
    if opdef is None:
        return False
    if any(v.dtype == "float16" for v in list(node.inputs) + list(node.outputs)):
        return False       # numba has no float16 arithmetic
    if opdef.kind == "elementwise" and opdef.scalar is not None and len(node.outputs) == 1:
        return True
    entry = EMITTERS.get(node.op)
    return entry is not None and entry[0](node)


def emit(ctx, node) -> None:
    opdef = REGISTRY[node.op]
    if opdef.kind == "elementwise" and node.op not in EMITTERS:
        _emit_elementwise(ctx, node)
    else:
        EMITTERS[node.op][1](ctx, node)


# the emitters above, before other modules could re-register an op (fresh_outputs checks)
_FRESH_EMITTERS = {op: EMITTERS[op][1] for op in _FRESH_OPS}

from . import emit_loop, emit_nn, emit_shape  # noqa: E402,F401  (more EMITTERS; keep last)
