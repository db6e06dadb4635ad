"""BLAS for generated code: ``gemm(a, b, out)`` (one sgemm / dgemm call), ``par_gemm`` (the
product split into one block per numba thread) and the BLAS library's thread count.

``gemm(a, b, out)`` writes ``a @ b`` into ``out`` with one BLAS call (sgemm / dgemm from
scipy's ``cython_blas``, the library numba's own ``np.dot`` uses). It is a numba intrinsic, not
an overloaded function: typing it costs one signature check and no nested compilation (each
``np.dot`` with a new combination of layouts compiled its own implementation, ~0.2 s apiece).
``a`` and ``b`` may be C- or F-contiguous (a transposed C array is passed as-is, with the
transpose flag of the BLAS call), ``out`` is C-contiguous. The BLAS routines are reached by
symbol name (``graphc_sgemm`` / ``graphc_dgemm``, registered with
``llvmlite.binding.add_symbol`` when this module is imported), so numba can cache the code.

``blas_set_threads(n)`` sets the thread count of that BLAS library (OpenBLAS); the executor
uses it to decide per call who owns the cores.

Example:
    >>> from numba import njit
    >>> @njit
    ... def mm(a, b):
    ...     out = np.empty((a.shape[0], b.shape[1]), np.float32)
    ...     gemm(a, b, out)
    ...     return out
"""
from __future__ import annotations

import ctypes
import os

import llvmlite.binding as llvm
from llvmlite import ir
from numba import config as numba_config
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic
from .fpenv import fpenv_adopt, fpenv_get, ftz_exit

__all__ = ["gemm", "par_gemm", "PAR_GEMM_MIN_WORK", "blas_library", "blas_set_threads", "blas_get_threads"]


# ---------------------------------------------------------------------------------------------
# BLAS
# ---------------------------------------------------------------------------------------------

def _capsule_address(capsule) -> int:
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype = ctypes.c_char_p
    get_name.argtypes = [ctypes.py_object]
    get_ptr = ctypes.pythonapi.PyCapsule_GetPointer
    get_ptr.restype = ctypes.c_void_p
    get_ptr.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return get_ptr(capsule, get_name(capsule))


def _cython_blas():
    """scipy.linalg.cython_blas, loaded from its extension file without running
    ``scipy/linalg/__init__.py`` (which imports half of scipy: ~0.5 s of every compile)."""
    import importlib.machinery
    import importlib.util
    import sys
    mod = sys.modules.get("scipy.linalg.cython_blas")
    if mod is not None:
        return mod
    try:
        spec = importlib.util.find_spec("scipy")
        folder = os.path.join(os.path.dirname(spec.origin), "linalg")
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(folder, "cython_blas" + suffix)
            if os.path.exists(path):
                loader = importlib.machinery.ExtensionFileLoader("scipy.linalg.cython_blas",
                                                                 path)
                spec = importlib.util.spec_from_file_location("scipy.linalg.cython_blas",
                                                              path, loader=loader)
                mod = importlib.util.module_from_spec(spec)
                loader.exec_module(mod)
                return mod
    except Exception:          # noqa: BLE001 - any trouble: the ordinary import below
        pass
    from scipy.linalg import cython_blas
    return cython_blas


def _register_blas() -> dict:
    capi = _cython_blas().__pyx_capi__
    addrs = {}
    for name in ("sgemm", "dgemm"):
        addr = _capsule_address(capi[name])
        llvm.add_symbol(f"graphc_{name}", addr)
        addrs[name] = addr
    return addrs


_BLAS_ADDRS = _register_blas()


def _fortran_gemm_type(fty):
    p = ir.PointerType
    i8p, i32p, fp = p(ir.IntType(8)), p(ir.IntType(32)), p(fty)
    return ir.FunctionType(ir.VoidType(), [i8p, i8p, i32p, i32p, i32p, fp, fp, i32p, fp, i32p,
                                           fp, fp, i32p])


@intrinsic
def gemm(typingctx, a, b, out):
    """``out[...] = a @ b`` for 2-D float32/float64 arrays.

    ``a`` and ``b`` may be C or F layout (flags decided at compile time) or 'A' (a slice such
    as ``w[:, c0:c1]``, ``x.T[r0:r1]``: the transpose flag and leading dimension are read from
    the run-time strides, which must be unit along one axis); ``out`` is C or an 'A' slice
    whose rows are contiguous (``h[:, c0:c1]``): column blocks of one product can be written
    by separate calls, e.g. one per thread under ``prange``. Operands that are strided along
    both axes raise ValueError.
    """
    ok = all(isinstance(t, types.Array) and t.ndim == 2 for t in (a, b, out)) and \
        a.dtype == b.dtype == out.dtype and a.dtype in (types.float32, types.float64) and \
        a.layout in ("C", "F", "A") and b.layout in ("C", "F", "A") and \
        out.layout in ("C", "A") and out.mutable
    if not ok:
        return None
    is32 = a.dtype == types.float32

    def codegen(context, builder, sig, args):
        fty = ir.FloatType() if is32 else ir.DoubleType()
        i32, i64, i8 = ir.IntType(32), ir.IntType(64), ir.IntType(8)
        isz = ir.Constant(i64, 4 if is32 else 8)
        one = ir.Constant(i64, 1)
        arrs = [context.make_array(t)(context, builder, v) for t, v in zip(sig.args, args)]
        shapes = [cgutils.unpack_tuple(builder, x.shape, 2) for x in arrs]
        strides = [cgutils.unpack_tuple(builder, x.strides, 2) for x in arrs]

        def imax(x, y):
            return builder.select(builder.icmp_signed(">", x, y), x, y)

        def operand(k, layout):
            """(row-major flag as i1, leading dim as i64) of operand ``k``; for a row-major
            operand the leading dim is its row stride, else its column stride."""
            (d0, d1), (s0, s1) = shapes[k], strides[k]
            if layout == "C":
                return ir.Constant(ir.IntType(1), 1), imax(d1, one)
            if layout == "F":
                return ir.Constant(ir.IntType(1), 0), imax(d0, one)
            le1 = builder.icmp_signed("<=", d1, one)
            row = builder.or_(builder.icmp_signed("==", s1, isz), le1)
            col = builder.or_(builder.icmp_signed("==", s0, isz),
                              builder.icmp_signed("<=", d0, one))
            bad = builder.not_(builder.or_(row, col))
            with builder.if_then(bad, likely=False):
                context.call_conv.return_user_exc(
                    builder, ValueError,
                    ("gemm: an operand is strided along both axes (copy it first)",))
            ld_row = imax(imax(builder.sdiv(s0, isz), d1), one)
            ld_col = imax(imax(builder.sdiv(s1, isz), d0), one)
            return row, builder.select(row, ld_row, ld_col)

        def i32v(v):
            return builder.trunc(v, i32)

        def slot(v):
            return cgutils.alloca_once_value(builder, v)

        def char(row):
            return slot(builder.select(row, ir.Constant(i8, ord("N")), ir.Constant(i8, ord("T"))))

        a_row, a_ld = operand(0, a.layout)
        b_row, b_ld = operand(1, b.layout)
        o_row, o_ld = operand(2, out.layout)
        if out.layout != "C":
            with builder.if_then(builder.not_(o_row), likely=False):
                context.call_conv.return_user_exc(
                    builder, ValueError, ("gemm: the output's rows must be contiguous",))
        (_, sa1), _, (so0, so1) = shapes
        # row-major out (m x n) is column-major out^T = b^T a^T (see the module docstring)
        ta, tb = char(b_row), char(a_row)
        m, n, k = i32v(so1), i32v(so0), i32v(sa1)
        alpha, beta = ir.Constant(fty, 1.0), ir.Constant(fty, 0.0)
        fnty = _fortran_gemm_type(fty)
        fn = cgutils.get_or_insert_function(builder.module, fnty,
                                            "graphc_sgemm" if is32 else "graphc_dgemm")
        i8p = ir.PointerType(i8)
        builder.call(fn, [builder.bitcast(ta, i8p), builder.bitcast(tb, i8p), slot(m), slot(n),
                          slot(k), slot(alpha), arrs[1].data, slot(i32v(b_ld)), arrs[0].data,
                          slot(i32v(a_ld)), slot(beta), arrs[2].data, slot(i32v(o_ld))])
        return context.get_dummy_value()
    return types.none(a, b, out), codegen



# A product smaller than this many multiply-adds runs as one BLAS call on the calling thread:
# below it, waking the second thread costs more than it saves (measured on the 2-core dev
# machine: a 32x784 @ 784x1024 product, 25.7M, took 0.62 ms on one thread, 0.36 ms split).
PAR_GEMM_MIN_WORK = 1 << 22
# numba's thread count when this module was compiled (a plain int, so the kernel can be cached;
# the blocks are spread over whatever threads run at call time)
_NUM_THREADS = int(numba_config.NUMBA_NUM_THREADS)
_PAR_FLAGS = {"prange": True, "comprehension": False, "reduction": False,
              "inplace_binop": False, "setitem": False, "numpy": False, "stencil": False,
              "fusion": False}


@njit(cache=True, nogil=True, parallel=_PAR_FLAGS)
def par_gemm(a, b, out):
    """``out[...] = a @ b`` split into one block per thread (numba's threads, ``prange``):
    column blocks of ``b`` and ``out`` when the product is wider than tall, else row blocks
    of ``a`` and ``out``; each block is one single-threaded BLAS call, so the caller must
    keep BLAS at one thread (the executor does for programs that call this). Products under
    :data:`PAR_GEMM_MIN_WORK` multiply-adds are one call on the calling thread.

    Precompiled (``cache=True``): generated code calls it without compiling a parallel loop
    of its own. Example: ``par_gemm(x, w, h)`` inside a generated segment.
    """
    m, k, n = a.shape[0], a.shape[1], b.shape[1]
    if k != b.shape[0] or out.shape[0] != m or out.shape[1] != n:
        raise ValueError("par_gemm: operand shapes do not match")
    nt = _NUM_THREADS
    if nt < 2 or m * n * k < PAR_GEMM_MIN_WORK or (m < 2 * nt and n < 32 * nt):
        gemm(a, b, out)
        return
    if n >= m:
        step = ((n + nt - 1) // nt + 15) // 16 * 16      # 64-byte aligned column blocks
        nb = (n + step - 1) // step
        fp = fpenv_get()
        for blk in prange(nb):
            saved = fpenv_adopt(fp)
            c0 = blk * step
            c1 = min(n, c0 + step)
            gemm(a, b[:, c0:c1], out[:, c0:c1])
            ftz_exit(saved)
    else:
        step = (m + nt - 1) // nt
        nb = (m + step - 1) // step
        fp = fpenv_get()
        for blk in prange(nb):
            saved = fpenv_adopt(fp)
            r0 = blk * step
            r1 = min(m, r0 + step)
            gemm(a[r0:r1], b, out[r0:r1])
            ftz_exit(saved)


def _find_blas_library():
    """The shared library that holds the sgemm numba and gemm() call, via dladdr."""
    class DlInfo(ctypes.Structure):
        _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                    ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]
    try:
        libc = ctypes.CDLL(None)
        dladdr = libc.dladdr
    except (OSError, AttributeError):
        return None
    dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(DlInfo)]
    info = DlInfo()
    if not dladdr(ctypes.c_void_p(_BLAS_ADDRS["sgemm"]), ctypes.byref(info)) or \
            not info.dli_fname:
        return None
    path = info.dli_fname.decode()
    if not os.path.exists(path):
        return None
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    setter = getter = None
    for prefix in ("scipy_openblas_", "scipy_openblas64_", "openblas_", ""):
        try:
            setter = getattr(lib, prefix + "set_num_threads")
            getter = getattr(lib, prefix + "get_num_threads")
            break
        except AttributeError:
            continue
    if setter is None:
        return None
    setter.argtypes, setter.restype = [ctypes.c_int], None
    getter.argtypes, getter.restype = [], ctypes.c_int
    return path, setter, getter


_BLAS_LIB = None
_BLAS_THREADS = [None]      # the count last set through blas_set_threads


def blas_library():
    """(path, set_num_threads, get_num_threads) of the BLAS behind :func:`gemm`, or None when
    it is not an OpenBLAS whose thread count can be set."""
    global _BLAS_LIB
    if _BLAS_LIB is None:
        _BLAS_LIB = _find_blas_library() or False
    return _BLAS_LIB or None


def blas_get_threads() -> int | None:
    """The BLAS library's current thread count (None when unknown)."""
    lib = blas_library()
    return None if lib is None else int(lib[2]())


def blas_set_threads(n: int) -> None:
    """Set the BLAS thread count (no-op when unknown or already ``n``).

    Args:
        n: the number of threads for the following gemm calls.
    """
    if _BLAS_THREADS[0] == n:
        return
    lib = blas_library()
    if lib is not None:
        lib[1](int(n))
    _BLAS_THREADS[0] = n


