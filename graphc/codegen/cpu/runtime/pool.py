"""Precompiled numba pooling kernels that generated code calls: max pooling (forward, its
gradient with the fused relu mask of ``max_pool2d_relu_grad``, the gradient's gradient) and
average pooling, on C-contiguous channels-last arrays. Window taps outside the input are
skipped (not zero padding); the forward and gradient of max pooling split the batch into ``nt``
chunks under ``prange``, as the convolutions do (see conv.py). Also here: the filter gradient
of a convolution whose relu output was max-pooled (``conv2d_bwd_filter_pool``), which routes
the pooled gradient through the pooling while it accumulates.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .conv import NJIT_OPTS as _OPTS
from .conv import _c1_window_input, _chunk, conv2d_bwd_filter
from .fpenv import fpenv_adopt, fpenv_get, ftz_exit


# -- pooling (window taps outside the input are skipped) -----------------------------------------

@njit(**_OPTS)
def _max_pool_fwd_chunk(x, out, n0, n1, kh, kw, sh, sw, ph, pw):
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    oh, ow = out.shape[1], out.shape[2]
    for b in range(n0, n1):
        for i in range(oh):
            for j in range(ow):
                first = True
                for a in range(kh):
                    ih = i * sh - ph + a
                    if ih < 0 or ih >= h:
                        continue
                    for e in range(kw):
                        iw = j * sw - pw + e
                        if iw < 0 or iw >= w:
                            continue
                        if first:
                            for q in range(c):
                                out[b, i, j, q] = x[b, ih, iw, q]
                            first = False
                        else:
                            for q in range(c):
                                v = x[b, ih, iw, q]
                                m = out[b, i, j, q]
                                if v > m or (v != v and m == m):
                                    out[b, i, j, q] = v


@njit(parallel=True, **_OPTS)
def max_pool_fwd(x, nt, kh, kw, sh, sw, ph, pw, oh, ow):
    """x (N, H, W, C) -> (N, oh, ow, C): the maximum of each window (nan propagates);
    ``nt`` batch chunks in parallel."""
    n, c = x.shape[0], x.shape[3]
    out = np.empty((n, oh, ow, c), x.dtype)
    nch = max(1, min(n, nt))
    fp = fpenv_get()
    for ci in prange(nch):
        saved = fpenv_adopt(fp)    # the caller's FTZ/DAZ (native.fpenv_adopt)
        lo, hi = _chunk(n, nch, ci)
        _max_pool_fwd_chunk(x, out, lo, hi, kh, kw, sh, sw, ph, pw)
        ftz_exit(saved)
    return out


@njit(**_OPTS)
def _max_pool_argmax(x, kh, kw, sh, sw, ph, pw, oh, ow):
    """Flat input position (ih * W + iw) of the first maximum of every window/channel."""
    n, h, w, c = x.shape
    arg = np.empty((n, oh, ow, c), np.int64)
    best = np.empty(c, x.dtype)
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                first = True
                for a in range(kh):
                    ih = i * sh - ph + a
                    if ih < 0 or ih >= h:
                        continue
                    for e in range(kw):
                        iw = j * sw - pw + e
                        if iw < 0 or iw >= w:
                            continue
                        pos = ih * w + iw
                        if first:
                            for q in range(c):
                                best[q] = x[b, ih, iw, q]
                                arg[b, i, j, q] = pos
                            first = False
                        else:
                            for q in range(c):
                                v = x[b, ih, iw, q]
                                m = best[q]
                                # numpy's argmax: the first nan, else the first maximum
                                if (v > m and m == m) or (v != v and m == m):
                                    best[q] = v
                                    arg[b, i, j, q] = pos
    return arg


@njit(**_OPTS)
def _max_pool_grad_chunk(x, g, dx, n0, n1, relu, kh, kw, sh, sw, ph, pw):
    """max_pool_grad over images n0..n1-1 (see there)."""
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    oh, ow = g.shape[1], g.shape[2]
    tiled = sh >= kh and sw >= kw and ph == 0 and pw == 0
    if tiled:
        for b in range(n0, n1):
            for ih in range(oh * sh, h):
                dx[b, ih, :, :] = 0
            for ih in range(min(oh * sh, h)):
                dx[b, ih, ow * sw:, :] = 0
                if sh > kh and ih % sh >= kh:
                    dx[b, ih, :, :] = 0
                elif sw > kw:
                    for j in range(ow):
                        dx[b, ih, j * sw + kw:j * sw + sw, :] = 0
    else:
        dx[n0:n1] = 0
    best = np.empty(c, x.dtype)
    tap = np.empty(c, np.int64)
    for b in range(n0, n1):
        for i in range(oh):
            for j in range(ow):
                first = True
                t = -1
                for a in range(kh):
                    ih = i * sh - ph + a
                    for e in range(kw):
                        iw = j * sw - pw + e
                        t += 1
                        if ih < 0 or ih >= h or iw < 0 or iw >= w:
                            continue
                        if first:
                            for q in range(c):
                                best[q] = x[b, ih, iw, q]
                                tap[q] = t
                            first = False
                        else:
                            for q in range(c):
                                v = x[b, ih, iw, q]
                                m = best[q]
                                # numpy's argmax: the first nan, else the first maximum
                                if (v > m and m == m) or (v != v and m == m):
                                    best[q] = v
                                    tap[q] = t
                if first:                   # a window wholly in the padding: no input
                    continue
                if relu:                    # the relu mask at the winner: x > 0
                    for q in range(c):
                        if not best[q] > 0:
                            tap[q] = -1
                t = -1
                for a in range(kh):
                    ih = i * sh - ph + a
                    for e in range(kw):
                        iw = j * sw - pw + e
                        t += 1
                        if ih < 0 or ih >= h or iw < 0 or iw >= w:
                            continue
                        if tiled:
                            for q in range(c):
                                dx[b, ih, iw, q] = g[b, i, j, q] if tap[q] == t else 0
                        else:
                            for q in range(c):
                                if tap[q] == t:
                                    dx[b, ih, iw, q] += g[b, i, j, q]


@njit(parallel=True, **_OPTS)
def max_pool_grad(x, g, relu, nt, kh, kw, sh, sw, ph, pw):
    """Routes g (N, oh, ow, C) to the first maximum of each window: -> x-shaped.

    One pass over x: each window's winning tap per channel is kept in two C-long buffers
    (no (N, oh, ow, C) index array). Non-overlapping unpadded windows (the common 2x2 / 2
    pooling) write every covered input element exactly once -- g at the winner, 0 elsewhere
    -- so only the rows and columns no window covers need zeroing; otherwise dx starts at
    zero and the winners accumulate. ``relu``: also apply the gradient of a relu that
    produced x (keep g only where x > 0): ``where(x > 0, max_pool_grad(x, g), 0)`` in one
    pass (the winner is the only nonzero, so only its value needs testing). ``nt`` batch
    chunks run in parallel.
    """
    n, h, w, c = x.shape
    dx = np.empty((n, h, w, c), g.dtype)
    nch = max(1, min(n, nt))
    fp = fpenv_get()
    for ci in prange(nch):
        saved = fpenv_adopt(fp)    # the caller's FTZ/DAZ (native.fpenv_adopt)
        lo, hi = _chunk(n, nch, ci)
        _max_pool_grad_chunk(x, g, dx, lo, hi, relu, kh, kw, sh, sw, ph, pw)
        ftz_exit(saved)
    return dx


@njit(**_OPTS)
def max_pool_grad_grad(x, hh, kh, kw, sh, sw, ph, pw, oh, ow):
    """hh (x-shaped) picked at the first maximum of each window: -> (N, oh, ow, C)."""
    n, h, w, c = x.shape
    arg = _max_pool_argmax(x, kh, kw, sh, sw, ph, pw, oh, ow)
    out = np.empty((n, oh, ow, c), hh.dtype)
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for q in range(c):
                    pos = arg[b, i, j, q]
                    out[b, i, j, q] = hh[b, pos // w, pos % w, q]
    return out


@njit(**_OPTS)
def _window_count(i, s, p, k, n):
    lo = i * s - p
    hi = lo + k
    return min(hi, n) - max(lo, 0)


@njit(**_OPTS)
def avg_pool_fwd(x, kh, kw, sh, sw, ph, pw, oh, ow):
    """The mean over the valid (unpadded) elements of each window: -> (N, oh, ow, C)."""
    n, h, w, c = x.shape
    out = np.zeros((n, oh, ow, c), x.dtype)
    for b in range(n):
        for i in range(oh):
            ch = _window_count(i, sh, ph, kh, h)
            for j in range(ow):
                cnt = ch * _window_count(j, sw, pw, kw, w)
                for a in range(kh):
                    ih = i * sh - ph + a
                    if ih < 0 or ih >= h:
                        continue
                    for e in range(kw):
                        iw = j * sw - pw + e
                        if iw < 0 or iw >= w:
                            continue
                        for q in range(c):
                            out[b, i, j, q] += x[b, ih, iw, q]
                for q in range(c):
                    out[b, i, j, q] = out[b, i, j, q] / cnt
    return out


@njit(**_OPTS)
def avg_pool_grad(xh, xw, g, kh, kw, sh, sw, ph, pw):
    """Spreads g (N, oh, ow, C) / count over each window: -> (N, xh, xw, C)."""
    n, oh, ow, c = g.shape
    dx = np.zeros((n, xh, xw, c), g.dtype)
    for b in range(n):
        for i in range(oh):
            ch = _window_count(i, sh, ph, kh, xh)
            for j in range(ow):
                cnt = ch * _window_count(j, sw, pw, kw, xw)
                for a in range(kh):
                    ih = i * sh - ph + a
                    if ih < 0 or ih >= xh:
                        continue
                    for e in range(kw):
                        iw = j * sw - pw + e
                        if iw < 0 or iw >= xw:
                            continue
                        for q in range(c):
                            dx[b, ih, iw, q] += g[b, i, j, q] / cnt
    return dx


@njit(**_OPTS)
def _c1_3x3_pool2_filter_rows(x, y, g, n0, n1):
    """The (9, O) filter gradient of images n0..n1-1 through 2x2 / 2 max pooling: g (N, ph,
    pw, O) is the POOLED gradient, y (N, H', W', O) the pooled relu output of a stride-1
    3x3 convolution of the one-channel x (padded). Each pooled position's gradient goes to
    its window's first maximum (max_pool_grad's rule, nan included) when that is > 0; the 4
    positions of a window read a 4x4 patch of x. Branch-free, so the loop over the O
    channels vectorises."""
    oh, ow, o = g.shape[1], g.shape[2], g.shape[3]
    acc = np.zeros((9, o), g.dtype)
    zero = g.dtype.type(0)
    for b in range(n0, n1):
        for i in range(oh):
            r = 2 * i
            for j in range(ow):
                c = 2 * j
                p00, p01, p02, p03 = x[b, r, c, 0], x[b, r, c + 1, 0], x[b, r, c + 2, 0], \
                    x[b, r, c + 3, 0]
                p10, p11, p12, p13 = x[b, r + 1, c, 0], x[b, r + 1, c + 1, 0], \
                    x[b, r + 1, c + 2, 0], x[b, r + 1, c + 3, 0]
                p20, p21, p22, p23 = x[b, r + 2, c, 0], x[b, r + 2, c + 1, 0], \
                    x[b, r + 2, c + 2, 0], x[b, r + 2, c + 3, 0]
                p30, p31, p32, p33 = x[b, r + 3, c, 0], x[b, r + 3, c + 1, 0], \
                    x[b, r + 3, c + 2, 0], x[b, r + 3, c + 3, 0]
                for p in range(o):
                    y1, y2, y3 = y[b, r, c + 1, p], y[b, r + 1, c, p], y[b, r + 1, c + 1, p]
                    m = y[b, r, c, p]
                    # numpy's argmax: the first nan, else the first maximum (as bit ops and
                    # selects, no branches)
                    w1 = (y1 > m) | ((y1 != y1) & (m == m))
                    m = y1 if w1 else m
                    w2 = (y2 > m) | ((y2 != y2) & (m == m))
                    m = y2 if w2 else m
                    w3 = (y3 > m) | ((y3 != y3) & (m == m))
                    m = y3 if w3 else m
                    gv = g[b, i, j, p] if m > 0 else zero         # the relu mask at the winner
                    g3 = gv if w3 else zero
                    g2 = gv if w2 & ~w3 else zero
                    g1 = gv if w1 & ~w2 & ~w3 else zero
                    g0 = gv if ~(w1 | w2 | w3) else zero
                    acc[0, p] += p00 * g0 + p01 * g1 + p10 * g2 + p11 * g3
                    acc[1, p] += p01 * g0 + p02 * g1 + p11 * g2 + p12 * g3
                    acc[2, p] += p02 * g0 + p03 * g1 + p12 * g2 + p13 * g3
                    acc[3, p] += p10 * g0 + p11 * g1 + p20 * g2 + p21 * g3
                    acc[4, p] += p11 * g0 + p12 * g1 + p21 * g2 + p22 * g3
                    acc[5, p] += p12 * g0 + p13 * g1 + p22 * g2 + p23 * g3
                    acc[6, p] += p20 * g0 + p21 * g1 + p30 * g2 + p31 * g3
                    acc[7, p] += p21 * g0 + p22 * g1 + p31 * g2 + p32 * g3
                    acc[8, p] += p22 * g0 + p23 * g1 + p32 * g2 + p33 * g3
    return acc


@njit(parallel=True, **_OPTS)
def conv2d_bwd_filter_pool(x, y, g, kh, kw, nt, sh, sw, dh, dw, ph, pw,
                           pkh, pkw, psh, psw, pph, ppw):
    """conv2d_bwd_filter(x, max_pool_grad(y, g, relu=True), ...): the filter gradient of a
    convolution whose relu output y (N, H', W', O) was max-pooled, from the pooled gradient g.

    A single-channel 3x3 stride-1 convolution pooled 2x2 / 2 without padding (a grayscale
    network's first layer) runs fused: each chunk routes g through the pooling while it
    accumulates, and the (N, H', W', O) gradient is never written (measured for the
    benchmark convnet's first layer: 0.54-0.65 ms against 1.8 ms for the pool gradient,
    filter gradient and bias gradient passes). Other geometries: the two kernels in turn.
    ``nt`` batch chunks in parallel; conv geometry (sh..pw) as in conv2d_bwd_filter, pooling
    (pkh, pkw window, psh, psw strides, pph, ppw leading padding) as in max_pool_grad.
    """
    n, c = x.shape[0], x.shape[3]
    o = g.shape[3]
    if not (kh == 3 and kw == 3 and c == 1 and sh == 1 and sw == 1 and dh == 1 and dw == 1
            and pkh == 2 and pkw == 2 and psh == 2 and psw == 2 and pph == 0 and ppw == 0):
        gy = max_pool_grad(y, g, True, nt, pkh, pkw, psh, psw, pph, ppw)
        return conv2d_bwd_filter(x, gy, kh, kw, nt, sh, sw, dh, dw, ph, pw)
    xp = _c1_window_input(x, ph, pw, 1, 1, 1, 1, y.shape[1], y.shape[2])
    nch = max(1, min(n, nt))
    parts = np.empty((nch, 9, o), g.dtype)
    fp = fpenv_get()
    for ci in prange(nch):
        saved = fpenv_adopt(fp)    # the caller's FTZ/DAZ (native.fpenv_adopt)
        lo, hi = _chunk(n, nch, ci)
        parts[ci] = _c1_3x3_pool2_filter_rows(xp, y, g, lo, hi)
        ftz_exit(saved)
    dk = parts[0].copy()
    for ci in range(1, nch):
        dk += parts[ci]
    return dk.reshape((3, 3, 1, o))
