"""Lowerings of the NN ops: convolutions (+ their backprop helpers), pooling, bias.

Each lowering writes ONE call of a precompiled kernel (graphc.codegen.cpu.runtime.conv or
.pool) into the generated segment; the geometry (output size, leading padding) is computed here
at lowering time with the op's own rules (graphc.ir.ops.nn.conv_output_length / conv_pads), so
the supported patterns are those with static spatial dims (the batch may be symbolic). Kernels
work channels-last on C-contiguous arrays: channels-first data is transposed on the way in and
out, 1-D ops run as 2-D ops of height 1.

Conv strategy (measured on the issue-5 convnet, batch 128, 2 cores; see the report in
tests/codegen/test_lower_nn.py's docstring): im2col blocks + BLAS sgemm beat direct loops by
~10x on the 64-channel layer and ~3x on the 1-channel first layer, so conv / backprop_input /
backprop_filter use im2col + native ``gemm`` (the 1-channel layer's filter gradient: direct
loops, see conv._DIRECT_MAX_K); depthwise convolution (no channel reduction) uses direct loops.
The 2-D convolution and max-pooling kernels split the batch over ``threads()`` chunks run in
parallel (PARALLEL_KERNELS; see conv.py's docstring), and the fused epilogue ops made by
graphc.passes.fuse (``conv2d_bias_act``, ``max_pool2d_relu_grad``) map onto the same kernels
with their bias / relu flags; ``conv2d_backprop_filter_pool`` has a kernel of its own.
"""
from __future__ import annotations

from ....ir.ops.nn import conv_output_length, conv_pads
from ..runtime.threads import start_threads
from .common import tuple_text
from .registry import lowers

CONV_OPS = tuple(op for base in ("conv1d", "conv2d", "depthwise_conv2d")
                 for op in (base, f"{base}_backprop_input", f"{base}_backprop_filter"))
POOL_OPS = tuple(f"{kind}_pool{r}d{suffix}" for r in (1, 2)
                 for kind, suffix in (("max", ""), ("max", "_grad"), ("max", "_grad_grad"),
                                      ("avg", ""), ("avg", "_grad")))


# precompiled kernels (graphc.codegen.cpu.runtime.conv / .pool) that split the batch over
# threads (prange); the executor's BLAS policy keeps OpenBLAS at one thread in programs that
# call them
PARALLEL_KERNELS = ("conv2d_fwd", "conv2d_bwd_input", "conv2d_bwd_filter", "max_pool_fwd",
                    "max_pool_grad", "conv2d_bwd_filter_pool")


def threads() -> int:
    """Batch chunks the parallel kernels split into: numba's thread count (the cores)."""
    import numba
    return max(1, int(numba.config.NUMBA_NUM_THREADS))


_FLOATS = ("float32", "float64")


# the pooling kernels' module; every other kernel is in runtime/conv.py
_POOL_KERNELS = frozenset(("max_pool_fwd", "max_pool_grad", "max_pool_grad_grad",
                           "avg_pool_fwd", "avg_pool_grad", "conv2d_bwd_filter_pool"))


def need(ctx, *names: str) -> None:
    """Import kernels ``names`` from graphc.codegen.cpu.runtime.conv / .pool into the
    generated module."""
    if any(n in PARALLEL_KERNELS for n in names):
        start_threads()
    mod = ctx.module
    have = mod.__dict__.setdefault("_kernel_imports", set())
    for n in names:
        if n not in have:
            have.add(n)
            module = "pool" if n in _POOL_KERNELS else "conv"
            mod.const_lines.append(f"from graphc.codegen.cpu.runtime.{module} import {n}")


def _spatial(shape, data_format):
    return tuple(shape[1:-1]) if data_format == "channels_last" else tuple(shape[2:])


def _static(dims) -> bool:
    return all(isinstance(d, int) for d in dims)


def _same_float(node) -> bool:
    dts = {v.dtype for v in list(node.inputs) + list(node.outputs)}
    return len(dts) == 1 and dts.pop() in _FLOATS


def _to_last4(ctx, v, data_format, rank) -> str:
    """Name of ``v`` as a C-contiguous channels-last 4-D array (1-D ops: height 1)."""
    name = ctx.contig(v)
    if data_format == "channels_first":
        perm = (0, 2, 3, 1) if rank == 2 else (0, 2, 1)
        t = ctx.fresh("t")
        ctx.line(f"{t} = np.ascontiguousarray(np.transpose({name}, {tuple_text(map(str, perm))}))")
        name = t
    if rank == 1:
        t = ctx.fresh("t")
        ctx.line(f"{t} = {name}.reshape(({name}.shape[0], 1, {name}.shape[1], "
                 f"{name}.shape[2]))")
        name = t
    return name


def _from_last4(ctx, out, name, data_format, rank) -> None:
    """Define ``out`` from the channels-last 4-D result ``name``."""
    if rank == 1:
        t = ctx.fresh("t")
        ctx.line(f"{t} = {name}.reshape(({name}.shape[0], {name}.shape[2], {name}.shape[3]))")
        name = t
    if data_format == "channels_first":
        perm = (0, 3, 1, 2) if rank == 2 else (0, 2, 1)
        t = ctx.fresh("t")
        ctx.line(f"{t} = np.ascontiguousarray(np.transpose({name}, {tuple_text(map(str, perm))}))")
        name = t
    ctx.define(out, name, "C")


def _kernel4(ctx, k, rank) -> str:
    """The kernel as a 4-D (KH, KW, ...) C array (1-D kernels get KH = 1)."""
    name = ctx.contig(k)
    if rank == 1:
        t = ctx.fresh("t")
        ctx.line(f"{t} = {name}.reshape((1, {name}.shape[0], {name}.shape[1], "
                 f"{name}.shape[2]))")
        name = t
    return name


def _geometry(spatial, window, strides, dilation, padding, rank):
    """(strides, dilation, leading pads, output sizes) as 2-tuples (1-D: a unit row)."""
    outs = tuple(conv_output_length(n, k, s, padding, d)
                 for n, k, s, d in zip(spatial, window, strides, dilation))
    pads = tuple(conv_pads(n, k, s, padding, d)[0]
                 for n, k, s, d in zip(spatial, window, strides, dilation))
    if rank == 1:
        return (1,) + tuple(strides), (1,) + tuple(dilation), (0,) + pads, (1,) + outs
    return tuple(strides), tuple(dilation), pads, outs


def _nt() -> str:
    return f"np.int64({threads()})"


def _args(*groups) -> str:
    """Int arguments of a kernel call. Wrapped in ``np.int64``: a bare literal would be typed
    ``Literal[int]`` and make numba compile the kernel once per distinct geometry."""
    return ", ".join(f"np.int64({int(x)})" for g in groups for x in g)


_CONV_RANK = {"conv1d": 1, "conv2d": 2, "depthwise_conv2d": 2, "conv2d_bias_act": 2}


def _conv_base(op: str) -> str:
    for base in ("depthwise_conv2d", "conv1d", "conv2d_bias_act", "conv2d"):
        if op.startswith(base):
            return base
    raise KeyError(op)


def _supports_conv(node) -> bool:
    if not _same_float(node):
        return False
    a = node.attrs
    x = node.inputs[0]
    if node.op == "conv2d_transpose":
        ins = _spatial(x.shape, a["data_format"])
        outs = _spatial(node.outputs[0].shape, a["data_format"])
        return _static(ins) and _static(outs)
    return _static(_spatial(x.shape, a["data_format"]))


@lowers(*CONV_OPS, "conv2d_bias_act", supports=_supports_conv)
def _emit_conv(ctx, node):
    base = _conv_base(node.op)
    rank = _CONV_RANK[base]
    a = node.attrs
    fmt = a["data_format"]
    out = node.outputs[0]
    depthwise = base == "depthwise_conv2d"
    x = node.inputs[0]
    spatial = _spatial(x.shape, fmt)
    kshape = node.inputs[1].shape
    window = tuple(kshape[:rank])
    st, dl, pads, outs = _geometry(spatial, window, a["strides"], a["dilation"], a["padding"],
                                   rank)
    sp4 = ((1,) + spatial) if rank == 1 else spatial
    t = ctx.fresh("t")
    nt = "" if depthwise else f"{_nt()}, "
    if node.op == base and depthwise:                       # forward
        need(ctx, "depthwise_fwd")
        xn = _to_last4(ctx, x, fmt, rank)
        kn = _kernel4(ctx, node.inputs[1], rank)
        ctx.line(f"{t} = depthwise_fwd({xn}, {kn}, {_args(st, dl, pads, outs)})")
    elif node.op == base:                                   # forward, + bias and relu?
        need(ctx, "conv2d_fwd")
        xn = _to_last4(ctx, x, fmt, rank)
        kn = _kernel4(ctx, node.inputs[1], rank)
        if base == "conv2d_bias_act":
            bn = ctx.contig(node.inputs[2])
            relu = a["activation"] == "relu"
        else:
            bn, relu = f"np.empty(0, np.{out.dtype})", False
        ctx.line(f"{t} = conv2d_fwd({xn}, {kn}, {bn}, np.bool_({relu}), {nt}"
                 f"{_args(st, dl, pads, outs)})")
    elif node.op.endswith("_backprop_input"):               # (x_like, k, g)
        fn = "depthwise_bwd_input" if depthwise else "conv2d_bwd_input"
        need(ctx, fn)
        kn = _kernel4(ctx, node.inputs[1], rank)
        gn = _to_last4(ctx, node.inputs[2], fmt, rank)
        ctx.line(f"{t} = {fn}({_args(sp4[:1])}, {_args(sp4[1:])}, {kn}, {gn}, {nt}"
                 f"{_args(st, dl, pads)})")
    else:                                                   # (x, k_like, g)
        fn = "depthwise_bwd_filter" if depthwise else "conv2d_bwd_filter"
        need(ctx, fn)
        xn = _to_last4(ctx, x, fmt, rank)
        gn = _to_last4(ctx, node.inputs[2], fmt, rank)
        kw4 = ((1,) + window) if rank == 1 else window
        extra = (kshape[3],) if depthwise else ()
        ctx.line(f"{t} = {fn}({xn}, {gn}, {_args(kw4, extra)}, {nt}{_args(st, dl, pads)})")
        if rank == 1:
            r = ctx.fresh("t")
            ctx.line(f"{r} = {t}.reshape(({t}.shape[1], {t}.shape[2], {t}.shape[3]))")
            t = r
        ctx.define(out, t, "C")
        return
    _from_last4(ctx, out, t, fmt, rank)


@lowers("conv2d_transpose", supports=_supports_conv)
def _emit_conv_transpose(ctx, node):
    """conv2d_transpose(x, k) = conv2d_backprop_input(y_like, k, x) for the output size."""
    a = node.attrs
    fmt = a["data_format"]
    x, k = node.inputs
    out = node.outputs[0]
    ysp = _spatial(out.shape, fmt)
    window = tuple(k.shape[:2])
    st, dl, pads, _ = _geometry(ysp, window, a["strides"], a["dilation"], a["padding"], 2)
    need(ctx, "conv2d_bwd_input")
    kn = ctx.contig(k)
    gn = _to_last4(ctx, x, fmt, 2)
    t = ctx.fresh("t")
    ctx.line(f"{t} = conv2d_bwd_input({_args(ysp)}, {kn}, {gn}, {_nt()}, "
             f"{_args(st, dl, pads)})")
    _from_last4(ctx, out, t, fmt, 2)


def _supports_filter_pool(node) -> bool:
    fmt = node.attrs["data_format"]
    return _same_float(node) and _static(_spatial(node.inputs[0].shape, fmt)) and \
        _static(_spatial(node.inputs[2].shape, fmt))


@lowers("conv2d_backprop_filter_pool", supports=_supports_filter_pool)
def _emit_filter_pool(ctx, node):
    """conv2d_backprop_filter_pool(x, k_like, y, g): one kernel call (fused for a one-channel
    3x3 first layer pooled 2x2, see kernels.conv2d_bwd_filter_pool)."""
    a = node.attrs
    fmt = a["data_format"]
    x, k, y, g = node.inputs
    window = tuple(k.shape[:2])
    st, dl, pads, _ = _geometry(_spatial(x.shape, fmt), window, a["strides"], a["dilation"],
                                a["padding"], 2)
    pool = tuple(a["pool_size"])
    pst, _, ppads, _ = _geometry(_spatial(y.shape, fmt), pool, a["pool_strides"], (1, 1),
                                 a["pool_padding"], 2)
    need(ctx, "conv2d_bwd_filter_pool")
    xn, yn, gn = (_to_last4(ctx, v, fmt, 2) for v in (x, y, g))
    t = ctx.fresh("t")
    ctx.line(f"{t} = conv2d_bwd_filter_pool({xn}, {yn}, {gn}, {_args(window)}, {_nt()}, "
             f"{_args(st, dl, pads, pool, pst, ppads)})")
    ctx.define(node.outputs[0], t, "C")


def _supports_pool(node) -> bool:
    if not _same_float(node):
        return False
    return _static(_spatial(node.inputs[0].shape, node.attrs["data_format"]))


@lowers(*POOL_OPS, "max_pool2d_relu_grad", supports=_supports_pool)
def _emit_pool(ctx, node):
    op = node.op
    rank = 1 if op.startswith(("max_pool1d", "avg_pool1d")) else 2
    a = node.attrs
    fmt = a["data_format"]
    x = node.inputs[0]
    out = node.outputs[0]
    spatial = _spatial(x.shape, fmt)
    window = tuple(a["pool_size"])
    st, _, pads, outs = _geometry(spatial, window, a["strides"], (1,) * rank, a["padding"],
                                  rank)
    win = ((1,) + window) if rank == 1 else window
    sp4 = ((1,) + spatial) if rank == 1 else spatial
    kind = op[:3] + op[len("max_poolXd"):]     # max, max_grad, max_relu_grad, avg_grad, ...
    t = ctx.fresh("t")
    if kind == "max":
        need(ctx, "max_pool_fwd")
        xn = _to_last4(ctx, x, fmt, rank)
        ctx.line(f"{t} = max_pool_fwd({xn}, {_nt()}, {_args(win, st, pads, outs)})")
    elif kind == "avg":
        need(ctx, "avg_pool_fwd")
        xn = _to_last4(ctx, x, fmt, rank)
        ctx.line(f"{t} = avg_pool_fwd({xn}, {_args(win, st, pads, outs)})")
    elif kind in ("max_grad", "max_relu_grad"):
        need(ctx, "max_pool_grad")
        xn = _to_last4(ctx, x, fmt, rank)
        gn = _to_last4(ctx, node.inputs[1], fmt, rank)
        relu = kind == "max_relu_grad"
        ctx.line(f"{t} = max_pool_grad({xn}, {gn}, np.bool_({relu}), {_nt()}, "
                 f"{_args(win, st, pads)})")
    elif kind == "max_grad_grad":
        need(ctx, "max_pool_grad_grad")
        xn = _to_last4(ctx, x, fmt, rank)
        hn = _to_last4(ctx, node.inputs[1], fmt, rank)
        ctx.line(f"{t} = max_pool_grad_grad({xn}, {hn}, {_args(win, st, pads, outs)})")
    else:                                                   # avg_grad (x_like, g)
        need(ctx, "avg_pool_grad")
        gn = _to_last4(ctx, node.inputs[1], fmt, rank)
        ctx.line(f"{t} = avg_pool_grad({_args(sp4)}, {gn}, {_args(win, st, pads)})")
    _from_last4(ctx, out, t, fmt, rank)


def _bias_split(ctx, name, ndim, data_format, bias_ndim) -> str:
    """(A, C, B) view expressions of an array with the bias axis (or axes) as C."""
    dims = [f"{name}.shape[{k}]" for k in range(ndim)]
    if bias_ndim != 1:                                      # bias over everything but batch
        return f"({dims[0]}, {' * '.join(dims[1:])}, 1)"
    c = ndim - 1 if data_format == "channels_last" else 1
    a_ = " * ".join(dims[:c]) or "1"
    b_ = " * ".join(dims[c + 1:]) or "1"
    return f"({a_}, {dims[c]}, {b_})"


def _supports_bias(node) -> bool:
    return _same_float(node)


@lowers("bias_add", supports=_supports_bias)
def _emit_bias_add(ctx, node):
    x, b = node.inputs
    out = node.outputs[0]
    need(ctx, "bias_add3")
    xn, bn = ctx.contig(x), ctx.contig(b)
    x3 = ctx.fresh("t")
    split = _bias_split(ctx, xn, x.ndim, node.attrs["data_format"], b.ndim)
    ctx.line(f"{x3} = reshape_c({xn}, {split})")
    t = ctx.fresh("t")
    ctx.line(f"{t} = reshape_c(bias_add3({x3}, reshape_c({bn}, {bn}.size)), "
             f"{tuple_text(f'{xn}.shape[{k}]' for k in range(x.ndim))})")
    ctx.define(out, t, "C")


@lowers("bias_add_grad", supports=_supports_bias)
def _emit_bias_add_grad(ctx, node):
    g = node.inputs[0]
    out = node.outputs[0]
    need(ctx, "bias_grad3")
    gn = ctx.contig(g)
    a = node.attrs
    g3 = ctx.fresh("t")
    split = _bias_split(ctx, gn, g.ndim, a["data_format"], a["bias_ndim"])
    ctx.line(f"{g3} = reshape_c({gn}, {split})")
    t = ctx.fresh("t")
    odims = [f"{gn}.shape[{k}]" for k in range(1, g.ndim)] if a["bias_ndim"] != 1 else \
        [f"{g3}.shape[1]"]
    ctx.line(f"{t} = reshape_c(bias_grad3({g3}), {tuple_text(odims)})")
    ctx.define(out, t, "C")
