"""Hand-written CUDA kernels: reductions, the tiled matrix product, strided copies, softmax.

Each ``*_kernel(...)`` factory returns a ``cuda.jit`` kernel specialised on its compile-time
parameters (op, dtype, tile sizes) and memoised, so a process compiles each variant once per
argument signature. Kernels use only the subset shared by numba-cuda and numba-cuda-mlir:
``cuda.jit``, ``cuda.grid``, thread/block indices, shared and local arrays, ``syncthreads``.

Reductions read the input through two offset tables computed on the host for the run-time
shape (``offsets``): ``x[out_off[o] + red_off[r]]`` is element ``r`` of output ``o``'s
reduced set, for any set of reduced axes. Two strategies:

* ``block``: one block per output (grid-stride over outputs), threads stride over the
  reduced elements, then a shared-memory tree -- for reductions over the last axis / all axes;
* ``thread``: one thread per output, a serial loop -- for reductions over leading axes
  (the bias gradient ``sum(g, axes=(0,))``), where neighbouring threads read neighbouring
  addresses.

Both sum in a fixed order, so results are bit-reproducible run to run.
"""
from __future__ import annotations

import math

import numpy as np

from ...ir.ops import REGISTRY
from . import runtime

_memo: dict = {}

# The cuda module, set on first use. Kernels must reach it as a module GLOBAL: the simulator
# runs a kernel by swapping the cuda module in the function's globals for its fake one.
cuda = None


def _load_cuda():
    global cuda
    if cuda is None:
        cuda = runtime.cuda_module()

REDUCE_OPS = ("sum", "mean", "max", "min", "prod")


def _numba_type(dtype: str):
    import numba
    return getattr(numba, {"bool": "boolean"}.get(dtype, dtype))


def reduce_init(op: str, dtype: str):
    """The identity of ``op`` (from its definition) as a numpy scalar of ``dtype``."""
    return np.dtype(dtype).type(REGISTRY[op].reduction.identity_value(dtype))


_OP_CODE = {"sum": 0, "mean": 0, "prod": 1, "max": 2, "min": 3}


def reduce_block_kernel(op: str, dtype: str, threads: int):
    """One block per output; ``threads`` (a power of two) threads per block."""
    key = ("rblock", op, dtype, threads)
    if key in _memo:
        return _memo[key]
    _load_cuda()
    nbt = _numba_type(dtype)
    mean = op == "mean"
    code = _OP_CODE[op]

    def kern(x, out, out_off, red_off, n_out, n_red, init, inv_n):
        buf = cuda.shared.array(threads, nbt)
        tid = cuda.threadIdx.x
        for o in range(cuda.blockIdx.x, n_out, cuda.gridDim.x):
            base = out_off[o]
            acc = init
            for r in range(tid, n_red, threads):
                v = x[base + red_off[r]]
                if code == 0:
                    acc = acc + v
                elif code == 1:
                    acc = acc * v
                elif code == 2:
                    acc = acc if (acc != acc or acc > v) else v
                else:
                    acc = acc if (acc != acc or acc < v) else v
            buf[tid] = acc
            cuda.syncthreads()
            s = threads // 2
            while s > 0:
                if tid < s:
                    a = buf[tid]
                    b = buf[tid + s]
                    if code == 0:
                        buf[tid] = a + b
                    elif code == 1:
                        buf[tid] = a * b
                    elif code == 2:
                        buf[tid] = a if (a != a or a > b) else b
                    else:
                        buf[tid] = a if (a != a or a < b) else b
                cuda.syncthreads()
                s //= 2
            if tid == 0:
                if mean:
                    out[o] = buf[0] * inv_n
                else:
                    out[o] = buf[0]
            cuda.syncthreads()

    _memo[key] = k = cuda.jit(kern)
    return k


def reduce_thread_kernel(op: str, dtype: str):
    """One thread per output, a serial loop over its reduced elements."""
    key = ("rthread", op, dtype)
    if key in _memo:
        return _memo[key]
    _load_cuda()
    mean = op == "mean"
    code = _OP_CODE[op]

    def kern(x, out, out_off, red_off, n_out, n_red, init, inv_n):
        start = cuda.grid(1)
        step = cuda.gridsize(1)
        for o in range(start, n_out, step):
            base = out_off[o]
            acc = init
            for r in range(n_red):
                v = x[base + red_off[r]]
                if code == 0:
                    acc = acc + v
                elif code == 1:
                    acc = acc * v
                elif code == 2:
                    acc = acc if (acc != acc or acc > v) else v
                else:
                    acc = acc if (acc != acc or acc < v) else v
            if mean:
                out[o] = acc * inv_n
            else:
                out[o] = acc

    _memo[key] = k = cuda.jit(kern)
    return k


def offsets(shape, axes) -> tuple[np.ndarray, np.ndarray]:
    """Element offsets (C order) of the kept and the reduced index sets of ``shape``.

    Example:
        >>> offsets((2, 3), (1,))
        (array([0, 3]), array([0, 1, 2]))
    """
    strides = [int(np.prod(shape[k + 1:])) for k in range(len(shape))]
    kept = np.zeros(1, np.int64)
    red = np.zeros(1, np.int64)
    for ax, (n, st) in enumerate(zip(shape, strides)):
        step = np.arange(n, dtype=np.int64) * st
        if ax in axes:
            red = (red[:, None] + step[None, :]).reshape(-1)
        else:
            kept = (kept[:, None] + step[None, :]).reshape(-1)
    return kept, red


def matmul_kernel(dtype: str, bm: int, bn: int, bk: int, tm: int, tn: int):
    """C[M, N] = A[M, K] @ B[K, N] (any strides; C contiguous): shared-memory tiles of
    ``bm x bk`` and ``bk x bn``, each of the ``(bm/tm) x (bn/tn)`` threads accumulating a
    ``tm x tn`` register tile. Launch with blocks ``(ceil(N/bn), ceil(M/bm))`` and threads
    ``(bn/tn, bm/tm)``."""
    key = ("mm", dtype, bm, bn, bk, tm, tn)
    if key in _memo:
        return _memo[key]
    _load_cuda()
    nbt = _numba_type(dtype)
    tx_n, ty_n = bn // tn, bm // tm
    nthreads = tx_n * ty_n

    def kern(A, B, C, M, N, K):
        sa = cuda.shared.array((bk, bm), nbt)     # A tile, transposed: sa[k, row]
        sb = cuda.shared.array((bk, bn), nbt)
        acc = cuda.local.array((tm, tn), nbt)
        ra = cuda.local.array(tm, nbt)
        rb = cuda.local.array(tn, nbt)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        tid = ty * tx_n + tx
        row0 = cuda.blockIdx.y * bm
        col0 = cuda.blockIdx.x * bn
        for i in range(tm):
            for j in range(tn):
                acc[i, j] = 0
        for k0 in range(0, K, bk):
            for e in range(tid, bm * bk, nthreads):
                r = e // bk
                c = e % bk
                gr = row0 + r
                gc = k0 + c
                if gr < M and gc < K:
                    sa[c, r] = A[gr, gc]
                else:
                    sa[c, r] = 0
            for e in range(tid, bk * bn, nthreads):
                r = e // bn
                c = e % bn
                gr = k0 + r
                gc = col0 + c
                if gr < K and gc < N:
                    sb[r, c] = B[gr, gc]
                else:
                    sb[r, c] = 0
            cuda.syncthreads()
            for kk in range(bk):
                for i in range(tm):
                    ra[i] = sa[kk, ty + i * ty_n]
                for j in range(tn):
                    rb[j] = sb[kk, tx + j * tx_n]
                for i in range(tm):
                    for j in range(tn):
                        acc[i, j] += ra[i] * rb[j]
            cuda.syncthreads()
        for i in range(tm):
            gr = row0 + ty + i * ty_n
            if gr < M:
                for j in range(tn):
                    gc = col0 + tx + j * tx_n
                    if gc < N:
                        C[gr, gc] = acc[i, j]

    _memo[key] = k = cuda.jit(kern)
    return k


def matmul_config() -> tuple[int, int, int, int, int]:
    """(bm, bn, bk, tm, tn): 64x64 tiles of 16x16 threads with 4x4 register tiles on a GPU;
    16x16 tiles of 8x8 threads (2x2) in the simulator, where every thread costs ~1 ms."""
    if runtime.simulated():
        return 16, 16, 8, 2, 2
    return 64, 64, 16, 4, 4


def matmul(a, b, out):
    """Launch the tiled product ``out = a @ b`` (2-D device arrays)."""
    bm, bn, bk, tm, tn = matmul_config()
    M, K = a.shape
    N = b.shape[1]
    k = matmul_kernel(out.dtype.name, bm, bn, bk, tm, tn)
    grid = (max(1, math.ceil(N / bn)), max(1, math.ceil(M / bm)))
    k[grid, (bn // tn, bm // tm)](a, b, out, M, N, K)


def copy_kernel():
    """out[i] = x[sum_k coord_k(i) * xstride_k]: a strided gather over the flat output index
    (transpose, broadcast; stride 0 on broadcast axes). ``dims`` and ``xstrides`` are small
    int64 device arrays (one entry per output axis, element strides)."""
    key = ("copy",)
    if key in _memo:
        return _memo[key]
    _load_cuda()

    def kern(x, out, dims, xstrides, n, ndim):
        start = cuda.grid(1)
        step = cuda.gridsize(1)
        for i in range(start, n, step):
            r = i
            off = 0
            for k in range(ndim - 1, -1, -1):
                c = r % dims[k]
                r = r // dims[k]
                off += c * xstrides[k]
            out[i] = x[off]

    _memo[key] = k = cuda.jit(kern)
    return k


def softmax_rows_kernel(dtype: str, threads: int, log: bool):
    """softmax / log_softmax over the last axis of a ``[rows, n]`` array: one block per row
    (max, then sum of exp, then the normalised values)."""
    key = ("softmax", dtype, threads, log)
    if key in _memo:
        return _memo[key]
    _load_cuda()
    nbt = _numba_type(dtype)
    cast = _numba_type(dtype)           # a numba type: see scalar.CASTS
    neg_inf = np.dtype(dtype).type(-np.inf)
    pos_inf = np.dtype(dtype).type(np.inf)
    zero = np.dtype(dtype).type(0)
    one = np.dtype(dtype).type(1)

    def kern(x, out, rows, n):
        buf = cuda.shared.array(threads, nbt)
        tid = cuda.threadIdx.x
        for row in range(cuda.blockIdx.x, rows, cuda.gridDim.x):
            base = row * n
            m = neg_inf
            for j in range(tid, n, threads):
                v = x[base + j]
                if v > m:
                    m = v
            buf[tid] = m
            cuda.syncthreads()
            s = threads // 2
            while s > 0:
                if tid < s and buf[tid + s] > buf[tid]:
                    buf[tid] = buf[tid + s]
                cuda.syncthreads()
                s //= 2
            m = buf[0]
            if not (m > neg_inf and m < pos_inf):
                m = zero                  # as the reference: a non-finite row max counts as 0
            cuda.syncthreads()
            acc = zero
            for j in range(tid, n, threads):
                acc += cast(math.exp(x[base + j] - m))
            buf[tid] = acc
            cuda.syncthreads()
            s = threads // 2
            while s > 0:
                if tid < s:
                    buf[tid] += buf[tid + s]
                cuda.syncthreads()
                s //= 2
            total = buf[0]
            cuda.syncthreads()
            if log:
                lt = cast(math.log(total))
                for j in range(tid, n, threads):
                    out[base + j] = x[base + j] - m - lt
            else:
                inv = one / total
                for j in range(tid, n, threads):
                    out[base + j] = cast(math.exp(x[base + j] - m)) * inv

    _memo[key] = k = cuda.jit(kern)
    return k


def softmax_xent_rows_kernel(dtype: str, threads: int):
    """Per-row softmax cross-entropy ``sum_j -t_j * log_softmax(z)_j`` over the last axis of
    ``[rows, n]`` logits and targets (stable: log-sum-exp with the row max)."""
    key = ("xent", dtype, threads)
    if key in _memo:
        return _memo[key]
    _load_cuda()
    nbt = _numba_type(dtype)
    cast = _numba_type(dtype)           # a numba type: see scalar.CASTS
    neg_inf = np.dtype(dtype).type(-np.inf)
    pos_inf = np.dtype(dtype).type(np.inf)
    zero = np.dtype(dtype).type(0)

    def kern(z, t, out, rows, n):
        buf = cuda.shared.array(threads, nbt)
        tid = cuda.threadIdx.x
        for row in range(cuda.blockIdx.x, rows, cuda.gridDim.x):
            base = row * n
            m = neg_inf
            for j in range(tid, n, threads):
                v = z[base + j]
                if v > m:
                    m = v
            buf[tid] = m
            cuda.syncthreads()
            s = threads // 2
            while s > 0:
                if tid < s and buf[tid + s] > buf[tid]:
                    buf[tid] = buf[tid + s]
                cuda.syncthreads()
                s //= 2
            m = buf[0]
            if not (m > neg_inf and m < pos_inf):
                m = zero                  # as the reference: a non-finite row max counts as 0
            cuda.syncthreads()
            acc = zero
            for j in range(tid, n, threads):
                acc += cast(math.exp(z[base + j] - m))
            buf[tid] = acc
            cuda.syncthreads()
            s = threads // 2
            while s > 0:
                if tid < s:
                    buf[tid] += buf[tid + s]
                cuda.syncthreads()
                s //= 2
            lse = m + cast(math.log(buf[0]))
            cuda.syncthreads()
            acc = zero
            for j in range(tid, n, threads):
                acc += t[base + j] * (lse - z[base + j])
            buf[tid] = acc
            cuda.syncthreads()
            s = threads // 2
            while s > 0:
                if tid < s:
                    buf[tid] += buf[tid + s]
                cuda.syncthreads()
                s //= 2
            if tid == 0:
                out[row] = buf[0]
            cuda.syncthreads()

    _memo[key] = k = cuda.jit(kern)
    return k


def row_threads(n: int) -> int:
    """Threads per block for a row kernel over rows of ``n`` elements (a power of two)."""
    if runtime.simulated():
        return 8 if n <= 8 else 16
    t = 32
    while t < n and t < 256:
        t *= 2
    return t
