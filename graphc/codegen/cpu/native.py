"""Native helpers that generated CPU code calls: BLAS gemm and the floating-point environment.

``gemm(a, b, out)`` writes ``a @ b`` into ``out`` with one BLAS call (sgemm / dgemm from
scipy's ``cython_blas``, the library numba's own ``np.dot`` uses). It is a numba intrinsic, not
an overloaded function: typing it costs one signature check and no nested compilation (each
``np.dot`` with a new combination of layouts compiled its own implementation, ~0.2 s apiece).
``a`` and ``b`` may be C- or F-contiguous (a transposed C array is passed as-is, with the
transpose flag of the BLAS call), ``out`` is C-contiguous. The BLAS routines are reached by
symbol name (``graphc_sgemm`` / ``graphc_dgemm``, registered with
``llvmlite.binding.add_symbol`` when this module is imported), so numba can cache the code.

``ftz_enter()`` / ``ftz_exit(saved)`` set flush-to-zero and denormals-are-zero in the x86
MXCSR register for the duration of a generated function and restore it afterwards (numba
intrinsics around ``llvm.x86.sse.stmxcsr`` / ``ldmxcsr``: a few cycles). Adam's ``g*g`` on tiny
gradients produces float32 denormals, which some CPUs process ~100x slower; XLA runs with the
same setting. On other architectures both are no-ops. The setting applies to the calling
thread only (numba's parallel worker threads keep their own MXCSR).

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
import platform

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["gemm", "ftz_enter", "ftz_exit", "FTZ_SUPPORTED", "restore_fpenv", "blas_library",
           "blas_set_threads", "blas_get_threads", "mxcsr"]

X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
FTZ_SUPPORTED = X86
_FTZ_DAZ = 0x8040          # MXCSR bit 15 flush-to-zero, bit 6 denormals-are-zero


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
    """``out[...] = a @ b`` for 2-D float32/float64 arrays (a, b: C or F layout; out: C)."""
    ok = all(isinstance(t, types.Array) and t.ndim == 2 for t in (a, b, out)) and \
        a.dtype == b.dtype == out.dtype and a.dtype in (types.float32, types.float64) and \
        a.layout in ("C", "F") and b.layout in ("C", "F") and out.layout == "C" and \
        out.mutable
    if not ok:
        return None
    is32 = a.dtype == types.float32

    def codegen(context, builder, sig, args):
        fty = ir.FloatType() if is32 else ir.DoubleType()
        i32 = ir.IntType(32)
        arrs = [context.make_array(t)(context, builder, v) for t, v in zip(sig.args, args)]
        (sa0, sa1), (sb0, sb1), (so0, so1) = [cgutils.unpack_tuple(builder, x.shape, 2)
                                              for x in arrs]

        def i32v(v):
            return builder.trunc(v, i32)

        def ld(v):   # BLAS wants a leading dimension >= 1 even for empty matrices
            one = ir.Constant(v.type, 1)
            return i32v(builder.select(builder.icmp_signed("<", v, one), one, v))

        def slot(v):
            return cgutils.alloca_once_value(builder, v)

        def char(c):
            return slot(ir.Constant(ir.IntType(8), ord(c)))

        # row-major out (m x n) is column-major out^T = b^T a^T (see the module docstring)
        ta = char("N" if b.layout == "C" else "T")
        tb = char("N" if a.layout == "C" else "T")
        lda = ld(sb1 if b.layout == "C" else sb0)
        ldb = ld(sa1 if a.layout == "C" else sa0)
        m, n, k = i32v(so1), i32v(so0), i32v(sa1)
        alpha, beta = ir.Constant(fty, 1.0), ir.Constant(fty, 0.0)
        fnty = _fortran_gemm_type(fty)
        fn = cgutils.get_or_insert_function(builder.module, fnty,
                                            "graphc_sgemm" if is32 else "graphc_dgemm")
        i8p = ir.PointerType(ir.IntType(8))
        builder.call(fn, [builder.bitcast(ta, i8p), builder.bitcast(tb, i8p), slot(m), slot(n),
                          slot(k), slot(alpha), arrs[1].data, slot(lda), arrs[0].data,
                          slot(ldb), slot(beta), arrs[2].data, slot(ld(so1))])
        return context.get_dummy_value()
    return types.none(a, b, out), codegen


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


# ---------------------------------------------------------------------------------------------
# floating-point environment
# ---------------------------------------------------------------------------------------------

@intrinsic
def _mxcsr_get(typingctx):
    def codegen(context, builder, sig, args):
        i32 = ir.IntType(32)
        slot = cgutils.alloca_once(builder, i32)
        fnty = ir.FunctionType(ir.VoidType(), [ir.PointerType(ir.IntType(8))])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.sse.stmxcsr")
        builder.call(fn, [builder.bitcast(slot, ir.PointerType(ir.IntType(8)))])
        return builder.load(slot)
    return types.int32(), codegen


@intrinsic
def _mxcsr_set(typingctx, value):
    if not isinstance(value, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        v = args[0]
        if v.type.width != 32:
            v = builder.trunc(v, ir.IntType(32))
        slot = cgutils.alloca_once_value(builder, v)
        fnty = ir.FunctionType(ir.VoidType(), [ir.PointerType(ir.IntType(8))])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.sse.ldmxcsr")
        builder.call(fn, [builder.bitcast(slot, ir.PointerType(ir.IntType(8)))])
        return context.get_dummy_value()
    return types.none(value), codegen


if X86:
    @njit(inline="always")
    def ftz_enter():
        """Set FTZ and DAZ; returns the previous MXCSR for :func:`ftz_exit`."""
        old = _mxcsr_get()
        _mxcsr_set(old | _FTZ_DAZ)
        return old

    @njit(inline="always")
    def ftz_exit(saved):
        """Restore the MXCSR saved by :func:`ftz_enter`."""
        _mxcsr_set(saved)

    @njit(cache=True)
    def mxcsr(value=-1):
        """The calling thread's MXCSR; with ``value`` >= 0 it is set first (tests use it)."""
        if value >= 0:
            _mxcsr_set(value)
        return _mxcsr_get()
else:
    @njit(inline="always")
    def ftz_enter():
        return np.int32(0)

    @njit(inline="always")
    def ftz_exit(saved):
        return None

    @njit
    def mxcsr(value=-1):
        return np.int32(0)



# FTZ/DAZ bits outside graphc's calls: off, as a Python process starts (numpy never sets them)
_BASE_MXCSR = [0]


def restore_fpenv() -> None:
    """Put back the FTZ/DAZ bits this thread had before graphc ran: called when a generated
    function raised between ``ftz_enter`` and ``ftz_exit``."""
    if not X86:
        return
    base = _BASE_MXCSR[0]
    cur = int(mxcsr())
    want = (cur & ~_FTZ_DAZ) | base
    if want != cur:
        mxcsr(want)



_MALLOC_TUNED = [False]
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def tune_malloc(limit_bytes: int = 256 << 20) -> bool:
    """Keep freed intermediate buffers in the heap instead of returning them to the OS.

    Generated functions allocate their intermediates per call (``np.empty`` in numba ->
    ``malloc``). glibc serves blocks above its mmap threshold (dynamic, from 128 KiB) with
    fresh ``mmap`` pages or trims the heap top after ``free``, so a batch-1024 MLP step took
    ~4000 page faults (16 MB of first-touch pages) per call. Raising the mmap and trim
    thresholds to ``limit_bytes`` makes the next call reuse the same, already-mapped memory.
    Process-wide and done once; ``GRAPHC_MALLOC_TUNE=0`` turns it off; glibc only.

    Returns:
        True when the thresholds were set (now or before).
    """
    if _MALLOC_TUNED[0]:
        return True
    if os.environ.get("GRAPHC_MALLOC_TUNE", "1") in ("0", ""):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, int(limit_bytes)) == 1 and \
        mallopt(_M_TRIM_THRESHOLD, int(2 * limit_bytes)) == 1
    _MALLOC_TUNED[0] = ok
    return ok
