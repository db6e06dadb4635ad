"""Cases for the NN ops, checked against naive loop implementations written here.

The naive functions loop over output positions and window taps with explicit bounds checks
(no padding arrays, no stride tricks), so they share no code path with the references in
graphc/ir/ops/nn.py. They work channels-last on 2-D images; 1-D ops go through a height-1
image and channels-first cases through a transpose.
"""
import itertools

import numpy as np

from . import Case, rand


# -- naive implementations -------------------------------------------------------------------

def tf_pads(n, k, stride, dilation, padding):
    """(before, after) padding and output length of one axis, written from TF's docs."""
    eff = (k - 1) * dilation + 1
    if padding == "valid":
        return (0, 0), (n - eff) // stride + 1
    if padding == "causal":
        return (eff - 1, 0), (n - 1) // stride + 1
    out = (n + stride - 1) // stride
    total = max(0, (out - 1) * stride + eff - n)
    return (total // 2, total - total // 2), out


def _geom(shape_hw, window, strides, dilation, padding):
    (ph, oh), (pw, ow) = [tf_pads(n, k, s, d, padding) for n, k, s, d in
                          zip(shape_hw, window, strides, dilation)]
    return ph[0], pw[0], oh, ow


def _inputs_of_window(i, j, window, strides, dilation, top, left, H, W):
    """(tap a, tap b, row, col) of the input elements window (i, j) reads (valid ones only)."""
    for a, b in itertools.product(range(window[0]), range(window[1])):
        r = i * strides[0] + a * dilation[0] - top
        c = j * strides[1] + b * dilation[1] - left
        if 0 <= r < H and 0 <= c < W:
            yield a, b, r, c


def naive_conv2d(x, k, strides=(1, 1), padding="valid", dilation=(1, 1)):
    N, H, W, _ = x.shape
    KH, KW, _, O = k.shape
    top, left, oh, ow = _geom((H, W), (KH, KW), strides, dilation, padding)
    y = np.zeros((N, oh, ow, O))
    for n, i, j in itertools.product(range(N), range(oh), range(ow)):
        for a, b, r, c in _inputs_of_window(i, j, (KH, KW), strides, dilation, top, left, H, W):
            y[n, i, j] += x[n, r, c].astype(np.float64) @ k[a, b]
    return y


def naive_depthwise(x, k, strides=(1, 1), padding="valid", dilation=(1, 1)):
    N, H, W, C = x.shape
    KH, KW, _, M = k.shape
    top, left, oh, ow = _geom((H, W), (KH, KW), strides, dilation, padding)
    y = np.zeros((N, oh, ow, C * M))
    for n, i, j in itertools.product(range(N), range(oh), range(ow)):
        for a, b, r, c in _inputs_of_window(i, j, (KH, KW), strides, dilation, top, left, H, W):
            for ch, m in itertools.product(range(C), range(M)):
                y[n, i, j, ch * M + m] += float(x[n, r, c, ch]) * k[a, b, ch, m]
    return y


def naive_conv2d_input_grad(xshape, k, g, strides=(1, 1), padding="valid", dilation=(1, 1)):
    """d<conv2d(x, k), g>/dx (also conv2d_transpose of g with output spatial xshape)."""
    N, H, W, C = xshape
    KH, KW = k.shape[:2]
    top, left, oh, ow = _geom((H, W), (KH, KW), strides, dilation, padding)
    dx = np.zeros((N, H, W, C))
    for n, i, j in itertools.product(range(N), range(oh), range(ow)):
        for a, b, r, c in _inputs_of_window(i, j, (KH, KW), strides, dilation, top, left, H, W):
            dx[n, r, c] += k[a, b].astype(np.float64) @ g[n, i, j]
    return dx


def naive_conv2d_filter_grad(x, kshape, g, strides=(1, 1), padding="valid", dilation=(1, 1)):
    N, H, W, _ = x.shape
    KH, KW = kshape[:2]
    top, left, oh, ow = _geom((H, W), (KH, KW), strides, dilation, padding)
    dk = np.zeros(kshape)
    for n, i, j in itertools.product(range(N), range(oh), range(ow)):
        for a, b, r, c in _inputs_of_window(i, j, (KH, KW), strides, dilation, top, left, H, W):
            dk[a, b] += np.outer(x[n, r, c], g[n, i, j])
    return dk


def naive_depthwise_input_grad(xshape, k, g, strides=(1, 1), padding="valid",
                               dilation=(1, 1)):
    N, H, W, C = xshape
    KH, KW, _, M = k.shape
    top, left, oh, ow = _geom((H, W), (KH, KW), strides, dilation, padding)
    dx = np.zeros(xshape)
    for n, i, j in itertools.product(range(N), range(oh), range(ow)):
        for a, b, r, c in _inputs_of_window(i, j, (KH, KW), strides, dilation, top, left, H, W):
            for ch, m in itertools.product(range(C), range(M)):
                dx[n, r, c, ch] += float(k[a, b, ch, m]) * g[n, i, j, ch * M + m]
    return dx


def naive_depthwise_filter_grad(x, kshape, g, strides=(1, 1), padding="valid",
                                dilation=(1, 1)):
    N, H, W, C = x.shape
    KH, KW, _, M = kshape
    top, left, oh, ow = _geom((H, W), (KH, KW), strides, dilation, padding)
    dk = np.zeros(kshape)
    for n, i, j in itertools.product(range(N), range(oh), range(ow)):
        for a, b, r, c in _inputs_of_window(i, j, (KH, KW), strides, dilation, top, left, H, W):
            for ch, m in itertools.product(range(C), range(M)):
                dk[a, b, ch, m] += float(x[n, r, c, ch]) * g[n, i, j, ch * M + m]
    return dk


def _window_elements(x, n, i, j, ch, pool, strides, top, left):
    H, W = x.shape[1:3]
    return [(r, c) for _, _, r, c in
            _inputs_of_window(i, j, pool, strides, (1, 1), top, left, H, W)]


def naive_pool2d(x, pool, strides, padding, mode):
    """mode 'max' | 'avg' | 'argmax' (list of the first max position of every window)."""
    N, H, W, C = x.shape
    top, left, oh, ow = _geom((H, W), pool, strides, (1, 1), padding)
    y = np.zeros((N, oh, ow, C))
    where = {}
    for n, i, j, ch in itertools.product(range(N), range(oh), range(ow), range(C)):
        elems = _window_elements(x, n, i, j, ch, pool, strides, top, left)
        vals = [float(x[n, r, c, ch]) for r, c in elems]
        if mode == "avg":
            y[n, i, j, ch] = sum(vals) / len(vals)
        else:
            best = max(range(len(vals)), key=lambda t: (vals[t], -t))  # first maximum
            y[n, i, j, ch] = vals[best]
            where[n, i, j, ch] = elems[best]
    return (y, where) if mode == "argmax" else y


def naive_max_pool2d_grad(x, g, pool, strides, padding):
    _, where = naive_pool2d(x, pool, strides, padding, "argmax")
    dx = np.zeros(x.shape)
    for (n, i, j, ch), (r, c) in where.items():
        dx[n, r, c, ch] += g[n, i, j, ch]
    return dx


def naive_max_pool2d_grad_grad(x, h, pool, strides, padding):
    y, where = naive_pool2d(x, pool, strides, padding, "argmax")
    out = np.zeros(y.shape)
    for (n, i, j, ch), (r, c) in where.items():
        out[n, i, j, ch] = h[n, r, c, ch]
    return out


def naive_avg_pool2d_grad(xshape, g, pool, strides, padding):
    N, H, W, C = xshape
    top, left, oh, ow = _geom((H, W), pool, strides, (1, 1), padding)
    dx = np.zeros(xshape)
    dummy = np.zeros(xshape)
    for n, i, j, ch in itertools.product(range(N), range(oh), range(ow), range(C)):
        elems = _window_elements(dummy, n, i, j, ch, pool, strides, top, left)
        for r, c in elems:
            dx[n, r, c, ch] += g[n, i, j, ch] / len(elems)
    return dx


# -- layout helpers -----------------------------------------------------------------------------

def to_first(a):
    # contiguous: the gradient check perturbs inputs through reshape(-1), which must be a view
    return np.ascontiguousarray(np.moveaxis(np.asarray(a), -1, 1))


def to_last(a):
    return np.moveaxis(np.asarray(a), 1, -1)


def as1d(x):
    """(N, W, C) -> (N, 1, W, C)."""
    return np.asarray(x)[:, None]


def from1d(y):
    return y[:, 0]


# -- cases --------------------------------------------------------------------------------------

def _conv2d_case(xs, ks, strides=1, padding="valid", dilation=1, fmt="channels_last",
                 grad=True, batch=False, name=""):
    st, dl = (strides,) * 2 if isinstance(strides, int) else strides, (dilation,) * 2
    x, k = rand(*xs), rand(*ks, seed=1)
    attrs = dict(strides=strides, padding=padding, dilation=dilation, data_format=fmt)
    if fmt == "channels_first":
        x = to_first(x)
        exp = lambda x, k: to_first(naive_conv2d(to_last(x), k, st, padding, dl))  # noqa: E731
    else:
        exp = lambda x, k: naive_conv2d(x, k, st, padding, dl)  # noqa: E731
    return Case("conv2d", [x, k], exp, attrs=attrs, grad=grad, batch=batch, atol=1e-5,
                name=name)


def _conv1d_exp(x, k, s, d, padding):
    if padding == "causal":
        eff = (k.shape[0] - 1) * d + 1
        x = np.pad(x, ((0, 0), (eff - 1, 0), (0, 0)))
        padding = "valid"
    return from1d(naive_conv2d(as1d(x), k[None], (1, s), padding, (1, d)))


def _conv1d_case(xs, ks, s=1, padding="valid", d=1, fmt="channels_last", batch=False,
                 grad=True, name=""):
    x, k = rand(*xs), rand(*ks, seed=1)
    attrs = dict(strides=s, padding=padding, dilation=d, data_format=fmt)
    if fmt == "channels_first":
        x = to_first(x)
        exp = lambda x, k: to_first(_conv1d_exp(to_last(x), k, s, d, padding))  # noqa: E731
    else:
        exp = lambda x, k: _conv1d_exp(x, k, s, d, padding)  # noqa: E731
    return Case("conv1d", [x, k], exp, attrs=attrs, batch=batch, grad=grad, atol=1e-5,
                name=name)


def _conv_grad_cases(op):
    """Cases for <op>_backprop_input / <op>_backprop_filter (channels-last and -first)."""
    cases = []
    if op == "conv2d":
        shapes = [((2, 5, 5, 2), (3, 3, 2, 3), (2, 3, 3, 3), 2, "same", 1),
                  ((2, 6, 5, 2), (2, 2, 2, 3), (2, 3, 2, 3), 2, "valid", 1),
                  ((2, 5, 5, 2), (2, 2, 2, 2), (2, 5, 5, 2), 1, "same", 2)]
        in_grad, k_grad = naive_conv2d_input_grad, naive_conv2d_filter_grad
    else:
        shapes = [((2, 5, 5, 2), (3, 3, 2, 2), (2, 3, 3, 4), 2, "same", 1),
                  ((2, 5, 5, 2), (2, 2, 2, 1), (2, 3, 3, 2), 1, "valid", 2)]
        in_grad, k_grad = naive_depthwise_input_grad, naive_depthwise_filter_grad
    for xs, ks, gs, s, pad, d in shapes:
        for fmt in ("channels_last", "channels_first"):
            x, k, g = rand(*xs), rand(*ks, seed=1), rand(*gs, seed=2)
            attrs = dict(strides=s, padding=pad, dilation=d, data_format=fmt)
            st, dl = (s, s), (d, d)
            tag = f"s{s}-{pad}-d{d}-{fmt}"
            if fmt == "channels_first":
                x, g = to_first(x), to_first(g)

                def ei(x, k, g, st=st, pad=pad, dl=dl):
                    return to_first(in_grad(to_last(x).shape, k, to_last(g), st, pad, dl))

                def ek(x, k, g, st=st, pad=pad, dl=dl):
                    return k_grad(to_last(x), k.shape, to_last(g), st, pad, dl)
            else:
                def ei(x, k, g, st=st, pad=pad, dl=dl):
                    return in_grad(x.shape, k, g, st, pad, dl)

                def ek(x, k, g, st=st, pad=pad, dl=dl):
                    return k_grad(x, k.shape, g, st, pad, dl)
            cases.append(Case(f"{op}_backprop_input", [x, k, g], ei, attrs=attrs, grad=(1, 2),
                              atol=1e-5, name=tag))
            cases.append(Case(f"{op}_backprop_filter", [x, k, g], ek, attrs=attrs,
                              grad=(0, 2), atol=1e-5, name=tag))
    return cases


def _conv1d_grad_cases():
    cases = []
    for s, pad, d in ((2, "same", 1), (1, "causal", 2)):
        x, k = rand(2, 7, 2), rand(3, 2, 3, seed=1)
        (lo, hi), out = tf_pads(7, 3, s, d, pad)
        g = rand(2, out, 3, seed=2)
        attrs = dict(strides=s, padding=pad, dilation=d)

        def ei(x, k, g, s=s, d=d, lo=lo, hi=hi):
            xs = (x.shape[0], 1, x.shape[1] + lo + hi, x.shape[2])
            dx = naive_conv2d_input_grad(xs, k[None], as1d(g), (1, s), "valid", (1, d))
            return from1d(dx)[:, lo:lo + x.shape[1]]

        def ek(x, k, g, s=s, d=d, lo=lo, hi=hi):
            xp = np.pad(x, ((0, 0), (lo, hi), (0, 0)))
            return naive_conv2d_filter_grad(as1d(xp), (1,) + k.shape, as1d(g), (1, s),
                                            "valid", (1, d))[0]
        tag = f"s{s}-{pad}-d{d}"
        cases.append(Case("conv1d_backprop_input", [x, k, g], ei, attrs=attrs, grad=(1, 2),
                          atol=1e-5, name=tag))
        cases.append(Case("conv1d_backprop_filter", [x, k, g], ek, attrs=attrs, grad=(0, 2),
                          atol=1e-5, name=tag))
    return cases


def _transpose_case(xs, ks, out_hw, s, pad, d=1, fmt="channels_last", output_shape=None,
                    name=""):
    """conv2d_transpose(x, k) == the input gradient of conv2d(y, k) at g = x."""
    x, k = rand(*xs), rand(*ks, seed=1)
    attrs = dict(strides=s, padding=pad, dilation=d, data_format=fmt,
                 output_shape=output_shape)

    def exp(x, k):
        xl = to_last(x) if fmt == "channels_first" else x
        yshape = (xl.shape[0],) + tuple(out_hw) + (k.shape[2],)
        y = naive_conv2d_input_grad(yshape, k, xl, (s, s), pad, (d, d))
        return to_first(y) if fmt == "channels_first" else y
    if fmt == "channels_first":
        x = to_first(x)
    return Case("conv2d_transpose", [x, k], exp, attrs=attrs, atol=1e-5, name=name)


def _depthwise_case(xs, ks, s=1, pad="valid", d=1, fmt="channels_last", batch=False, name=""):
    x, k = rand(*xs), rand(*ks, seed=1)
    attrs = dict(strides=s, padding=pad, dilation=d, data_format=fmt)
    if fmt == "channels_first":
        x = to_first(x)
        exp = lambda x, k: to_first(naive_depthwise(to_last(x), k, (s, s), pad, (d, d)))  # noqa
    else:
        exp = lambda x, k: naive_depthwise(x, k, (s, s), pad, (d, d))  # noqa: E731
    return Case("depthwise_conv2d", [x, k], exp, attrs=attrs, batch=batch, atol=1e-5,
                name=name)


def _pool_cases(rank):
    """Cases for max/avg pooling of one rank and their gradient helper ops."""
    cases = []
    configs = [((2, 5, 5, 2), 2, None, "valid", "channels_last"),
               ((2, 5, 5, 2), 3, 2, "same", "channels_last"),
               ((2, 4, 5, 2), 2, 1, "same", "channels_first"),
               ((2, 6, 5, 2), (3, 2), (2, 1), "valid", "channels_first")]
    if rank == 1:
        configs = [((2, 7, 2), 2, None, "valid", "channels_last"),
                   ((2, 7, 2), 3, 2, "same", "channels_last"),
                   ((2, 6, 2), 2, 1, "same", "channels_first"),
                   ((2, 8, 2), 3, 2, "valid", "channels_first")]
    for xs, pool, strides, pad, fmt in configs:
        p2 = (1, pool) if rank == 1 else ((pool,) * 2 if isinstance(pool, int) else pool)
        st = p2 if strides is None else ((1, strides) if rank == 1 else
                                         ((strides,) * 2 if isinstance(strides, int)
                                          else strides))
        attrs = dict(pool_size=pool, strides=strides, padding=pad, data_format=fmt)
        tag = f"p{pool}-s{strides}-{pad}-{fmt}"

        def last(a, fmt=fmt):      # test layout -> naive (N, H, W, C)
            a = to_last(a) if fmt == "channels_first" else np.asarray(a)
            return as1d(a) if rank == 1 else a

        def back(a, fmt=fmt):      # naive (N, H, W, C) -> test layout
            a = from1d(a) if rank == 1 else a
            return to_first(a) if fmt == "channels_first" else a

        x = rand(*xs)
        if fmt == "channels_first":
            x = to_first(x)
        y = back(naive_pool2d(last(x), p2, st, pad, "max"))
        g = rand(*y.shape, seed=3)
        h = rand(*x.shape, seed=4)
        mp, ap = f"max_pool{rank}d", f"avg_pool{rank}d"
        cases += [
            Case(mp, [x], lambda x, p2=p2, st=st, pad=pad, last=last, back=back:
                 back(naive_pool2d(last(x), p2, st, pad, "max")), attrs=attrs, name=tag),
            Case(ap, [x], lambda x, p2=p2, st=st, pad=pad, last=last, back=back:
                 back(naive_pool2d(last(x), p2, st, pad, "avg")), attrs=attrs, name=tag),
            Case(f"{mp}_grad", [x, g], lambda x, g, p2=p2, st=st, pad=pad, last=last, back=back:
                 back(naive_max_pool2d_grad(last(x), last(g), p2, st, pad)), attrs=attrs,
                 grad=(1,), name=tag),
            Case(f"{mp}_grad_grad", [x, h],
                 lambda x, h, p2=p2, st=st, pad=pad, last=last, back=back:
                 back(naive_max_pool2d_grad_grad(last(x), last(h), p2, st, pad)),
                 attrs=attrs, grad=(1,), name=tag),
            Case(f"{ap}_grad", [x, g], lambda x, g, p2=p2, st=st, pad=pad, last=last, back=back:
                 back(naive_avg_pool2d_grad(last(x).shape, last(g), p2, st, pad)),
                 attrs=attrs, grad=(1,), name=tag),
        ]
    # a symbolic batch
    x = rand(3, 4, 4, 2) if rank == 2 else rand(3, 6, 2)
    p2 = (2, 2) if rank == 2 else (1, 2)
    norm = (lambda a: a) if rank == 2 else as1d
    den = (lambda a: a) if rank == 2 else from1d
    cases.append(Case(f"max_pool{rank}d", [x], lambda x: den(naive_pool2d(
        norm(x), p2, p2, "valid", "max")), attrs=dict(pool_size=2), batch=True, name="batch"))
    cases.append(Case(f"avg_pool{rank}d", [x], lambda x: den(naive_pool2d(
        norm(x), p2, p2, "valid", "avg")), attrs=dict(pool_size=2), batch=True, name="batch"))
    return cases


def _bias_cases():
    x4 = rand(2, 3, 4, 5)
    return [
        Case("bias_add", [x4, rand(5, seed=1)], lambda x, b: x + b, name="channels_last"),
        Case("bias_add", [x4, rand(3, seed=1)], lambda x, b: x + b[:, None, None],
             attrs=dict(data_format="channels_first"), name="channels_first"),
        Case("bias_add", [x4, rand(3, 4, 5, seed=1)], lambda x, b: x + b, name="full-bias"),
        Case("bias_add", [rand(4, 3), rand(3, seed=1)], lambda x, b: x + b, batch=True,
             name="batch-2d"),
        Case("bias_add_grad", [x4], lambda g: g.sum(axis=(0, 1, 2)), name="channels_last"),
        Case("bias_add_grad", [x4], lambda g: g.sum(axis=(0, 2, 3)),
             attrs=dict(data_format="channels_first"), name="channels_first"),
        Case("bias_add_grad", [x4], lambda g: g.sum(axis=0), attrs=dict(bias_ndim=3),
             name="full-bias"),
        Case("bias_add_grad", [rand(4, 3)], lambda g: g.sum(axis=0), batch=True, name="batch"),
    ]


def _fused_epilogue_cases():
    """conv2d_bias_act and max_pool2d_relu_grad (made by the fuse pass) against the naive
    loops composed by hand: conv + bias (+ relu), and the pool gradient masked by x > 0."""
    cases = []
    for xs, ks, st, pad, dil, fmt, act in [
            ((2, 5, 5, 2), (3, 3, 2, 3), 1, "valid", 1, "channels_last", "relu"),
            ((2, 5, 6, 2), (3, 2, 2, 3), (2, 1), "same", 1, "channels_last", "linear"),
            ((2, 6, 6, 2), (2, 2, 2, 2), 1, "same", 2, "channels_first", "relu"),
            ((2, 5, 5, 2), (3, 3, 2, 3), 2, "valid", 1, "channels_first", "linear")]:
        x, k, b = rand(*xs), rand(*ks, seed=1), rand(ks[3], seed=2)
        s2 = (st, st) if isinstance(st, int) else st
        attrs = dict(strides=st, padding=pad, dilation=dil, data_format=fmt, activation=act)

        def exp(x, k, b, s2=s2, pad=pad, dil=dil, fmt=fmt, act=act):
            xl = to_last(x) if fmt == "channels_first" else x
            y = naive_conv2d(xl, k, s2, pad, (dil, dil)) + b
            if act == "relu":
                y = np.where(y > 0, y, 0.0)
            return to_first(y) if fmt == "channels_first" else y
        if fmt == "channels_first":
            x = to_first(x)
        cases.append(Case("conv2d_bias_act", [x, k, b], exp, attrs=attrs, atol=1e-5,
                          name=f"s{st}-{pad}-d{dil}-{fmt}-{act}"))
    x = rand(4, 5, 5, 2)
    cases.append(Case("conv2d_bias_act", [x, rand(3, 3, 2, 3, seed=1), rand(3, seed=2)],
                      lambda x, k, b: np.maximum(naive_conv2d(x, k) + b, 0.0),
                      attrs=dict(activation="relu"), batch=True, grad=False, atol=1e-5,
                      name="batch"))
    for xs, pool, st, pad, fmt in [((2, 5, 5, 2), 2, None, "valid", "channels_last"),
                                   ((2, 5, 5, 2), 3, 2, "same", "channels_last"),
                                   ((2, 6, 5, 2), (3, 2), (2, 1), "valid", "channels_first")]:
        p2 = (pool, pool) if isinstance(pool, int) else pool
        s2 = p2 if st is None else ((st, st) if isinstance(st, int) else st)
        attrs = dict(pool_size=pool, strides=st, padding=pad, data_format=fmt)
        x = rand(*xs)                                   # half of it <= 0: the relu mask
        y = naive_pool2d(x, p2, s2, pad, "max")
        g = rand(*y.shape, seed=3)

        def exp(x, g, p2=p2, s2=s2, pad=pad, fmt=fmt):
            xl, gl = (to_last(x), to_last(g)) if fmt == "channels_first" else (x, g)
            dx = np.where(xl > 0, naive_max_pool2d_grad(xl, gl, p2, s2, pad), 0.0)
            return to_first(dx) if fmt == "channels_first" else dx
        if fmt == "channels_first":
            x, g = to_first(x), to_first(g)
        cases.append(Case("max_pool2d_relu_grad", [x, g], exp, attrs=attrs, grad=(1,),
                          name=f"p{pool}-s{st}-{pad}-{fmt}"))
    # conv2d_backprop_filter_pool: the filter gradient of relu(conv) -> max pool, from the
    # pooled gradient; one channel (the native fast path) and several, both formats
    for xs, ks, st, pad, pool, fmt in [
            ((2, 8, 8, 1), (3, 3, 1, 4), 1, "valid", 2, "channels_last"),
            ((2, 7, 9, 1), (3, 3, 1, 3), 1, "same", 2, "channels_last"),
            ((2, 7, 7, 2), (3, 2, 2, 3), (2, 1), "same", (2, 2), "channels_first"),
            ((2, 8, 7, 1), (3, 3, 1, 2), 1, "valid", 3, "channels_last")]:
        s2 = (st, st) if isinstance(st, int) else st
        p2 = (pool, pool) if isinstance(pool, int) else pool
        x, k = rand(*xs), rand(*ks, seed=1)
        y = naive_conv2d(x, k, s2, pad)                 # about half <= 0: the relu mask
        g = rand(*naive_pool2d(y, p2, p2, "valid", "max").shape, seed=3)
        attrs = dict(strides=st, padding=pad, data_format=fmt, pool_size=pool)

        def exp(x, k, y, g, s2=s2, pad=pad, p2=p2, fmt=fmt):
            if fmt == "channels_first":
                x, y, g = to_last(x), to_last(y), to_last(g)
            gy = np.where(y > 0, naive_max_pool2d_grad(y, g, p2, p2, "valid"), 0.0)
            return naive_conv2d_filter_grad(x, k.shape, gy, s2, pad)
        if fmt == "channels_first":
            x, y, g = to_first(x), to_first(y), to_first(g)
        cases.append(Case("conv2d_backprop_filter_pool", [x, k, y, g], exp, attrs=attrs,
                          grad=(0, 3), atol=1e-5, name=f"s{st}-{pad}-p{pool}-{fmt}"))
    return cases


CASES = [
    # conv2d: strides 1/2, valid/same (odd and even kernels), dilation 2, both formats
    _conv2d_case((2, 5, 5, 2), (3, 3, 2, 3), name="valid-s1"),
    _conv2d_case((2, 5, 5, 2), (3, 3, 2, 3), strides=2, padding="same", name="same-s2"),
    _conv2d_case((2, 5, 4, 2), (2, 2, 2, 3), padding="same", name="same-even-kernel"),
    _conv2d_case((2, 6, 6, 2), (2, 2, 2, 2), padding="same", dilation=2, name="same-d2"),
    _conv2d_case((2, 6, 5, 2), (2, 2, 2, 3), padding="valid", dilation=2, name="valid-d2"),
    _conv2d_case((2, 5, 6, 2), (3, 2, 2, 3), strides=(1, 2), padding="valid",
                 fmt="channels_first", name="valid-s12-first"),
    _conv2d_case((2, 5, 5, 2), (3, 3, 2, 2), strides=2, padding="same",
                 fmt="channels_first", grad=False, name="same-s2-first"),
    _conv2d_case((4, 5, 5, 2), (3, 3, 2, 2), padding="same", batch=True, grad=False,
                 name="batch"),
    # conv1d
    _conv1d_case((2, 7, 2), (3, 2, 3), name="valid-s1"),
    _conv1d_case((2, 7, 2), (3, 2, 3), s=2, padding="same", name="same-s2"),
    _conv1d_case((2, 8, 2), (2, 2, 2), padding="causal", d=2, name="causal-d2"),
    _conv1d_case((2, 8, 2), (2, 2, 2), padding="valid", d=2, fmt="channels_first",
                 name="valid-d2-first"),
    _conv1d_case((4, 6, 2), (3, 2, 2), padding="same", batch=True, grad=False, name="batch"),
    # depthwise
    _depthwise_case((2, 5, 5, 2), (3, 3, 2, 2), pad="same", name="same-m2"),
    _depthwise_case((2, 5, 5, 3), (2, 2, 3, 1), s=2, pad="valid", fmt="channels_first",
                    name="valid-s2-first"),
    _depthwise_case((2, 6, 6, 2), (2, 2, 2, 2), pad="same", d=2, name="same-d2"),
    _depthwise_case((4, 4, 4, 2), (3, 3, 2, 1), pad="same", batch=True, name="batch"),
    # conv2d_transpose (output_shape from Keras 2's deconv_length, or given)
    _transpose_case((2, 3, 3, 3), (3, 3, 2, 3), (7, 7), 2, "valid", name="valid-s2"),
    _transpose_case((2, 3, 3, 3), (2, 2, 2, 3), (6, 6), 2, "same", name="same-s2"),
    _transpose_case((2, 3, 3, 3), (3, 3, 2, 3), (5, 5), 2, "same", output_shape=(5, 5),
                    name="same-s2-given-5x5"),
    _transpose_case((2, 3, 4, 3), (3, 3, 2, 3), (3, 4), 1, "same", d=2,
                    fmt="channels_first", output_shape=(None, 2, 3, 4), name="same-d2-first"),
    _transpose_case((2, 3, 3, 2), (3, 3, 2, 2), (8, 8), 2, "valid", output_shape=(8, 8),
                    name="valid-s2-given-8x8"),
    *_conv_grad_cases("conv2d"),
    *_conv_grad_cases("depthwise_conv2d"),
    *_conv1d_grad_cases(),
    *_pool_cases(1),
    *_pool_cases(2),
    *_bias_cases(),
    *_fused_epilogue_cases(),
]
