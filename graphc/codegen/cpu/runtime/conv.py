"""Precompiled numba kernels that generated code calls: convolutions (im2col + GEMM, direct
loops where they win, depthwise) and the bias add / gradient. Pooling is in pool.py.

Generated segment functions (see lower.py) import these by name (the emitters in
lowering/nn.py adds the import lines), so a convolution is one call in the generated source
instead of a loop nest re-emitted -- and re-compiled -- per graph. Every kernel works on
C-contiguous **channels-last** arrays of one float dtype; 1-D ops pass a height-1 view and
channels-first data is transposed at the edges by the emitter. The window geometry
(strides, dilation, the leading padding and the output size) comes in as ints computed at
lowering time with the op's own rules (graphc.ir.ops.nn), so the kernels hold no padding
policy of their own: an input position ``i * stride - pad + tap * dilation`` outside the
input is padding (zero for convolutions, skipped for pooling).

Convolutions are im2col + GEMM: blocks of output rows are gathered into a column matrix and
multiplied with ``gemm`` (graphc.codegen.cpu.runtime.blas: one sgemm call with transpose flags, no
copies of transposed operands); measured faster than direct loops for every layer of the
benchmark convnet, except the filter gradient of a layer with a very short reduction (taps *
channels <= ``_DIRECT_MAX_K``), which uses direct loops; a 3x3 convolution of a single-channel input (a grayscale
network's first layer) has direct loops of its own for the forward pass and the filter
gradient. The depthwise convolution has no reduction over channels to give BLAS and uses
direct loops.

Both cores: the 2-D convolution and max-pooling kernels take ``nt`` and split the batch into
that many chunks under ``prange``; each chunk has its own im2col / GEMM-output blocks (sized
to stay in L2, ``_BLOCK_FLOATS``) and calls sgemm itself, so BLAS must run one thread per
call (the executor's BLAS policy fixes 1 thread for programs that import them:
lowering.nn.PARALLEL_KERNELS). The filter gradient sums per-chunk partials at the end; every
other output element is written by exactly one chunk (race-free). ``conv2d_fwd`` also takes
the fused epilogue of ``conv2d_bias_act`` (bias, relu) and ``max_pool_grad`` the relu mask of
``max_pool2d_relu_grad``, applied while the data is in cache. Each chunk runs under the
caller's floating-point environment (``native.fpenv_adopt``: the generated function's
FTZ/DAZ), whichever of numba's threads takes it.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .blas import gemm
from .fpenv import fpenv_adopt, fpenv_get, ftz_exit

# elements of an im2col block plus its GEMM output (~512 KB of float32): both stay in L2
# while the epilogue (bias, relu) or col2im works on them
_BLOCK_FLOATS = 1 << 17

NJIT_OPTS = dict(cache=True, nogil=True, error_model="numpy")
_OPTS = NJIT_OPTS


@njit(**_OPTS)
def _im2col(x, col, n0, n1, sh, sw, dh, dw, ph, pw, oh, ow, kh, kw):
    """Rows of images n0..n1-1 (N, H, W, C) into col[(n - n0) * oh * ow + i * ow + j, tap*C+c]."""
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    r = 0
    for n in range(n0, n1):
        for i in range(oh):
            for j in range(ow):
                for a in range(kh):
                    ih = i * sh - ph + a * dh
                    for b in range(kw):
                        iw = j * sw - pw + b * dw
                        base = (a * kw + b) * c
                        if 0 <= ih < h and 0 <= iw < w:
                            for q in range(c):
                                col[r, base + q] = x[n, ih, iw, q]
                        else:
                            for q in range(c):
                                col[r, base + q] = 0
                r += 1


@njit(**_OPTS)
def _col2im(dcol, dx, n0, n1, sh, sw, dh, dw, ph, pw, oh, ow, kh, kw):
    """Adds the column-matrix cotangent rows back into dx (N, H, W, C)."""
    h, w, c = dx.shape[1], dx.shape[2], dx.shape[3]
    r = 0
    for n in range(n0, n1):
        for i in range(oh):
            for j in range(ow):
                for a in range(kh):
                    ih = i * sh - ph + a * dh
                    if ih < 0 or ih >= h:
                        continue
                    for b in range(kw):
                        iw = j * sw - pw + b * dw
                        if iw < 0 or iw >= w:
                            continue
                        base = (a * kw + b) * c
                        for q in range(c):
                            dx[n, ih, iw, q] += dcol[r, base + q]
                r += 1


# Below this many taps * input channels (the GEMM's reduction length) the filter gradient's
# product -- K x (N * oh * ow) times (N * oh * ow) x O, a long reduction into a tiny result --
# runs far below BLAS's peak and its im2col matrix costs more than the arithmetic: for the
# first layer of the benchmark convnet (3x3 taps, 1 channel: K = 9) the direct loop below,
# which keeps the whole K x O gradient in L1 and vectorises over O, measured 2.5 vs 3.0 ms.
# (The same direct form of the FORWARD pass lost to im2col + sgemm, 2.6 vs 2.0 ms: O is too
# short a vector loop to amortise its setup, so the forward keeps im2col. These loops enter
# one O-long vector loop per tap and position; the single-channel 3x3 kernels below enter one
# per position, which is what makes them fast, and take that layer before this path does.)
_DIRECT_MAX_K = 16


# -- single-channel 3x3 convolutions (the first layer of a grayscale image network) -------------
#
# With one input channel the im2col matrix is 9 wide: the forward GEMM has a reduction of 9
# and the filter gradient's a result of 9 x O, both far below BLAS's peak (measured on the dev
# machine for 128 x 28x28x1 -> 32 channels, 2 chunks: forward 1.22 ms through im2col + sgemm,
# filter gradient 1.4-2.4 ms through the loops above). The loops below load the 9 taps of an
# output position once as scalars and run ONE vector loop over the O output channels per
# position, with the 9 weights (forward) or 9 accumulator rows (filter gradient) indexed by
# constants: 0.40 ms and 0.38 ms for the same layer. Padding and windows that reach past the
# input read a zero-padded copy of the input (one channel: cheap), so the loops have no bounds
# tests.

@njit(**_OPTS)
def _c1_window_input(x, ph, pw, sh, sw, dh, dw, oh, ow):
    """x (N, H, W, 1) as an array that every 3x3 window of the output grid reads inside of:
    x itself, or a zero-padded copy with x at [ph:ph + H, pw:pw + W]."""
    n, h, w = x.shape[0], x.shape[1], x.shape[2]
    hn = max(ph + h, (oh - 1) * sh + 2 * dh + 1)
    wn = max(pw + w, (ow - 1) * sw + 2 * dw + 1)
    if ph == 0 and pw == 0 and hn == h and wn == w:
        return x
    xp = np.zeros((n, hn, wn, 1), x.dtype)
    xp[:, ph:ph + h, pw:pw + w, :] = x
    return xp


@njit(**_OPTS)
def _taps3x3(x, b, r, c, dh, dw):
    """The 9 values of the one-channel x under a 3x3 window at (r, c), row by row."""
    return (x[b, r, c, 0], x[b, r, c + dw, 0], x[b, r, c + 2 * dw, 0],
            x[b, r + dh, c, 0], x[b, r + dh, c + dw, 0], x[b, r + dh, c + 2 * dw, 0],
            x[b, r + 2 * dh, c, 0], x[b, r + 2 * dh, c + dw, 0], x[b, r + 2 * dh, c + 2 * dw, 0])


@njit(**_OPTS)
def _c1_3x3_fwd_rows(x, k2, bias, relu, out, n0, n1, sh, sw, dh, dw):
    """out[n0:n1] = relu?(3x3 conv of the one-channel x + bias); k2 (9, O), x padded."""
    oh, ow, o = out.shape[1], out.shape[2], out.shape[3]
    has_bias = bias.size == o
    for b in range(n0, n1):
        for i in range(oh):
            for j in range(ow):
                x0, x1, x2, x3, x4, x5, x6, x7, x8 = _taps3x3(x, b, i * sh, j * sw, dh, dw)
                for p in range(o):
                    v = (x0 * k2[0, p] + x1 * k2[1, p] + x2 * k2[2, p]
                         + x3 * k2[3, p] + x4 * k2[4, p] + x5 * k2[5, p]
                         + x6 * k2[6, p] + x7 * k2[7, p] + x8 * k2[8, p])
                    if has_bias:
                        v += bias[p]
                    if relu:
                        v = v if v > 0 else 0      # the reference's rule: nan -> 0
                    out[b, i, j, p] = v


@njit(**_OPTS)
def _c1_3x3_filter_rows(x, g, n0, n1, sh, sw, dh, dw):
    """The (9, O) filter gradient of images n0..n1-1 for the one-channel x (padded)."""
    oh, ow, o = g.shape[1], g.shape[2], g.shape[3]
    acc = np.zeros((9, o), g.dtype)
    for b in range(n0, n1):
        for i in range(oh):
            for j in range(ow):
                x0, x1, x2, x3, x4, x5, x6, x7, x8 = _taps3x3(x, b, i * sh, j * sw, dh, dw)
                for p in range(o):
                    gv = g[b, i, j, p]
                    acc[0, p] += x0 * gv
                    acc[1, p] += x1 * gv
                    acc[2, p] += x2 * gv
                    acc[3, p] += x3 * gv
                    acc[4, p] += x4 * gv
                    acc[5, p] += x5 * gv
                    acc[6, p] += x6 * gv
                    acc[7, p] += x7 * gv
                    acc[8, p] += x8 * gv
    return acc


@njit(**_OPTS)
def _chunk(n, nch, ci):
    """Images [lo, hi) of chunk ``ci`` when ``n`` images are split into ``nch`` chunks."""
    return n * ci // nch, n * (ci + 1) // nch


@njit(**_OPTS)
def _block_images(per, kk, o):
    """Images per GEMM block: its im2col rows (``kk`` wide) and its output rows (``o`` wide)
    together about ``_BLOCK_FLOATS`` elements, at least one image."""
    return max(1, _BLOCK_FLOATS // max(per * (kk + o), 1))


@njit(**_OPTS)
def _epilogue(blk, bias, relu):
    """blk (rows, O) += bias (when it has O elements), then relu (``v if v > 0 else 0``, the
    reference's rule: nan -> 0) when ``relu``; in place, on a block still in cache."""
    rows, o = blk.shape
    if bias.size == o:
        if relu:
            for r in range(rows):
                for p in range(o):
                    v = blk[r, p] + bias[p]
                    blk[r, p] = v if v > 0 else 0
        else:
            for r in range(rows):
                for p in range(o):
                    blk[r, p] = blk[r, p] + bias[p]
    elif relu:
        for r in range(rows):
            for p in range(o):
                v = blk[r, p]
                blk[r, p] = v if v > 0 else 0


@njit(parallel=True, **_OPTS)
def conv2d_fwd(x, k, bias, relu, nt, sh, sw, dh, dw, ph, pw, oh, ow):
    """x (N, H, W, C), k (KH, KW, C, O) -> relu?(conv + bias) (N, oh, ow, O).

    ``bias``: O values, or an empty array for none; ``relu``: apply max(., 0) after the bias
    (both on each GEMM block while it is in cache); ``nt``: batch chunks run in parallel
    (each chunk its own im2col buffer and 1-thread sgemm calls); ph/pw: leading padding.

    Example (generated code):
        t3 = conv2d_fwd(v0, v1, v2, True, np.int64(2), np.int64(1), ..., np.int64(26))
    """
    n, c = x.shape[0], x.shape[3]
    kh, kw, o = k.shape[0], k.shape[1], k.shape[3]
    kk = kh * kw * c
    k2 = k.reshape((kk, o))
    out = np.empty((n, oh, ow, o), x.dtype)
    out2 = out.reshape((n * oh * ow, o))
    per = oh * ow
    nb = _block_images(per, kk, o)
    nch = max(1, min(n, nt))
    if kh == 3 and kw == 3 and c == 1:      # single-channel 3x3: direct loops (above)
        xp = _c1_window_input(x, ph, pw, sh, sw, dh, dw, oh, ow)
        fp = fpenv_get()
        for ci in prange(nch):
            saved = fpenv_adopt(fp)    # the caller's FTZ/DAZ (native.fpenv_adopt)
            lo, hi = _chunk(n, nch, ci)
            _c1_3x3_fwd_rows(xp, k2, bias, relu, out, lo, hi, sh, sw, dh, dw)
            ftz_exit(saved)
        return out
    fp = fpenv_get()
    for ci in prange(nch):
        saved = fpenv_adopt(fp)    # the caller's FTZ/DAZ (native.fpenv_adopt)
        lo, hi = _chunk(n, nch, ci)
        col = np.empty((min(nb, hi - lo) * per, kk), x.dtype)
        for n0 in range(lo, hi, nb):
            n1 = min(hi, n0 + nb)
            rows = (n1 - n0) * per
            _im2col(x, col, n0, n1, sh, sw, dh, dw, ph, pw, oh, ow, kh, kw)
            blk = out2[n0 * per:n0 * per + rows]
            gemm(col[:rows], k2, blk)
            _epilogue(blk, bias, relu)
        ftz_exit(saved)
    return out


@njit(parallel=True, **_OPTS)
def conv2d_bwd_input(xshape_h, xshape_w, k, g, nt, sh, sw, dh, dw, ph, pw):
    """The cotangent of conv2d_fwd's x: g (N, oh, ow, O), k (KH, KW, C, O) -> (N, H, W, C);
    ``nt`` batch chunks in parallel (each scatters into its own images only)."""
    n, oh, ow, o = g.shape
    kh, kw, c = k.shape[0], k.shape[1], k.shape[2]
    kk = kh * kw * c
    k2t = k.reshape((kk, o)).T
    dx = np.empty((n, xshape_h, xshape_w, c), g.dtype)
    g2 = g.reshape((n * oh * ow, o))
    per = oh * ow
    nb = _block_images(per, kk, o)
    nch = max(1, min(n, nt))
    fp = fpenv_get()
    for ci in prange(nch):
        saved = fpenv_adopt(fp)    # the caller's FTZ/DAZ (native.fpenv_adopt)
        lo, hi = _chunk(n, nch, ci)
        dx[lo:hi] = 0
        dcol = np.empty((min(nb, hi - lo) * per, kk), g.dtype)
        for n0 in range(lo, hi, nb):
            n1 = min(hi, n0 + nb)
            rows = (n1 - n0) * per
            gemm(g2[n0 * per:n0 * per + rows], k2t, dcol[:rows])
            _col2im(dcol, dx, n0, n1, sh, sw, dh, dw, ph, pw, oh, ow, kh, kw)
        ftz_exit(saved)
    return dx


@njit(**_OPTS)
def _conv_bwd_filter_direct_k(x, g, dk, n0, n1, sh, sw, dh, dw, ph, pw, kh, kw):
    """dk[(tap * C + c), :] += x * g[n, i, j, :] over the output positions of images
    n0..n1-1 (dk: K x O)."""
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    oh, ow, o = g.shape[1], g.shape[2], g.shape[3]
    for b in range(n0, n1):
        for i in range(oh):
            for j in range(ow):
                for a in range(kh):
                    ih = i * sh - ph + a * dh
                    if ih < 0 or ih >= h:
                        continue
                    for e in range(kw):
                        iw = j * sw - pw + e * dw
                        if iw < 0 or iw >= w:
                            continue
                        base = (a * kw + e) * c
                        for q in range(c):
                            xv = x[b, ih, iw, q]
                            r = base + q
                            for p in range(o):
                                dk[r, p] += xv * g[b, i, j, p]


@njit(**_OPTS)
def _filter_chunk(x, g, g2, dk, lo, hi, nb, sh, sw, dh, dw, ph, pw, kh, kw):
    """conv2d_bwd_filter over images lo..hi-1 into dk (K x O, zeroed by the caller)."""
    oh, ow = g.shape[1], g.shape[2]
    kk, o = dk.shape
    if kk <= _DIRECT_MAX_K:
        _conv_bwd_filter_direct_k(x, g, dk, lo, hi, sh, sw, dh, dw, ph, pw, kh, kw)
        return
    per = oh * ow
    col = np.empty((min(nb, hi - lo) * per, kk), x.dtype)
    part = np.empty((kk, o), g.dtype)
    for n0 in range(lo, hi, nb):
        n1 = min(hi, n0 + nb)
        rows = (n1 - n0) * per
        _im2col(x, col, n0, n1, sh, sw, dh, dw, ph, pw, oh, ow, kh, kw)
        gemm(col[:rows].T, g2[n0 * per:n0 * per + rows], part)
        for r in range(kk):
            for p in range(o):
                dk[r, p] += part[r, p]


@njit(parallel=True, **_OPTS)
def conv2d_bwd_filter(x, g, kh, kw, nt, sh, sw, dh, dw, ph, pw):
    """The cotangent of conv2d_fwd's kernel: x (N, H, W, C), g (N, oh, ow, O) -> k-shaped;
    ``nt`` batch chunks in parallel, each into its own partial sum (added at the end)."""
    n, c = x.shape[0], x.shape[3]
    oh, ow, o = g.shape[1], g.shape[2], g.shape[3]
    kk = kh * kw * c
    nch = max(1, min(n, nt))
    parts = np.zeros((nch, kk, o), g.dtype)
    g2 = g.reshape((n * oh * ow, o))
    per = oh * ow
    nb = _block_images(per, kk, o)
    if kh == 3 and kw == 3 and c == 1:      # single-channel 3x3: direct loops (above)
        xp = _c1_window_input(x, ph, pw, sh, sw, dh, dw, oh, ow)
        fp = fpenv_get()
        for ci in prange(nch):
            saved = fpenv_adopt(fp)    # the caller's FTZ/DAZ (native.fpenv_adopt)
            lo, hi = _chunk(n, nch, ci)
            parts[ci] = _c1_3x3_filter_rows(xp, g, lo, hi, sh, sw, dh, dw)
            ftz_exit(saved)
    else:
        fp = fpenv_get()
        for ci in prange(nch):
            saved = fpenv_adopt(fp)    # the caller's FTZ/DAZ (native.fpenv_adopt)
            lo, hi = _chunk(n, nch, ci)
            _filter_chunk(x, g, g2, parts[ci], lo, hi, nb, sh, sw, dh, dw, ph, pw, kh, kw)
            ftz_exit(saved)
    dk = parts[0].copy()
    for ci in range(1, nch):
        dk += parts[ci]
    return dk.reshape((kh, kw, c, o))


@njit(**_OPTS)
def conv2d_fwd_direct(x, k, sh, sw, dh, dw, ph, pw, oh, ow):
    """Direct-loop conv2d (same contract as conv2d_fwd); kept for the im2col comparison."""
    n, h, w, c = x.shape
    kh, kw, o = k.shape[0], k.shape[1], k.shape[3]
    out = np.zeros((n, oh, ow, o), x.dtype)
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for a in range(kh):
                    ih = i * sh - ph + a * dh
                    if ih < 0 or ih >= h:
                        continue
                    for e in range(kw):
                        iw = j * sw - pw + e * dw
                        if iw < 0 or iw >= w:
                            continue
                        for q in range(c):
                            xv = x[b, ih, iw, q]
                            for p in range(o):
                                out[b, i, j, p] += xv * k[a, e, q, p]
    return out


# -- depthwise: out[..., c * M + m] = sum_taps x[..., c] * k[tap, c, m] ------------------------

@njit(**_OPTS)
def depthwise_fwd(x, k, sh, sw, dh, dw, ph, pw, oh, ow):
    """x (N, H, W, C), k (KH, KW, C, M) -> (N, oh, ow, C * M)."""
    n, h, w, c = x.shape
    kh, kw, m = k.shape[0], k.shape[1], k.shape[3]
    k3 = k.reshape((kh, kw, c * m))
    out = np.zeros((n, oh, ow, c * m), x.dtype)
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for a in range(kh):
                    ih = i * sh - ph + a * dh
                    if ih < 0 or ih >= h:
                        continue
                    for e in range(kw):
                        iw = j * sw - pw + e * dw
                        if iw < 0 or iw >= w:
                            continue
                        for q in range(c * m):
                            out[b, i, j, q] += x[b, ih, iw, q // m] * k3[a, e, q]
    return out


@njit(**_OPTS)
def depthwise_bwd_input(xh, xw, k, g, sh, sw, dh, dw, ph, pw):
    """The cotangent of depthwise_fwd's x: -> (N, xh, xw, C)."""
    n, oh, ow = g.shape[0], g.shape[1], g.shape[2]
    kh, kw, c, m = k.shape
    k3 = k.reshape((kh, kw, c * m))
    dx = np.zeros((n, xh, xw, c), g.dtype)
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for a in range(kh):
                    ih = i * sh - ph + a * dh
                    if ih < 0 or ih >= xh:
                        continue
                    for e in range(kw):
                        iw = j * sw - pw + e * dw
                        if iw < 0 or iw >= xw:
                            continue
                        for q in range(c * m):
                            dx[b, ih, iw, q // m] += g[b, i, j, q] * k3[a, e, q]
    return dx


@njit(**_OPTS)
def depthwise_bwd_filter(x, g, kh, kw, mult, sh, sw, dh, dw, ph, pw):
    """The cotangent of depthwise_fwd's kernel: -> (KH, KW, C, M)."""
    n, h, w, c = x.shape
    oh, ow = g.shape[1], g.shape[2]
    dk = np.zeros((kh, kw, c * mult), g.dtype)
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for a in range(kh):
                    ih = i * sh - ph + a * dh
                    if ih < 0 or ih >= h:
                        continue
                    for e in range(kw):
                        iw = j * sw - pw + e * dw
                        if iw < 0 or iw >= w:
                            continue
                        for q in range(c * mult):
                            dk[a, e, q] += x[b, ih, iw, q // mult] * g[b, i, j, q]
    return dk.reshape((kh, kw, c, mult))


# -- bias ------------------------------------------------------------------------------------------

@njit(**_OPTS)
def bias_add3(x, bias):
    """x (A, C, B) + bias (C,) broadcast over A and B -> a new (A, C, B) array."""
    a_, c, b_ = x.shape
    out = np.empty_like(x)
    if b_ == 1:                     # channels-last: the bias axis is the contiguous one
        x2 = x.reshape((a_, c))
        o2 = out.reshape((a_, c))
        for i in range(a_):
            for q in range(c):
                o2[i, q] = x2[i, q] + bias[q]
        return out
    for i in range(a_):
        for q in range(c):
            bq = bias[q]
            for j in range(b_):
                out[i, q, j] = x[i, q, j] + bq
    return out


@njit(**_OPTS)
def bias_grad3(g):
    """g (A, C, B) summed over A and B -> (C,)."""
    a_, c, b_ = g.shape
    out = np.zeros(c, g.dtype)
    if b_ == 1:                     # channels-last: accumulate whole rows (vectorises over C)
        g2 = g.reshape((a_, c))
        for i in range(a_):
            for q in range(c):
                out[q] += g2[i, q]
        return out
    for i in range(a_):
        for q in range(c):
            s = out[q]
            for j in range(b_):
                s += g[i, q, j]
            out[q] = s
    return out
