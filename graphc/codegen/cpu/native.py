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
import operator
import os
import platform

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import config as numba_config
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["gemm", "par_gemm", "ftz_enter", "ftz_exit", "fpenv_get", "fpenv_adopt",
           "FTZ_SUPPORTED", "restore_fpenv",
           "blas_library", "blas_set_threads", "blas_get_threads", "mxcsr", "empty_c",
           "fill_c", "scale_c", "reshape_c", "max2", "min2"]

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


# ---------------------------------------------------------------------------------------------
# allocation and scalar helpers for generated code: intrinsics, so numba types them without
# compiling a library overload per signature (``np.empty`` per (ndim, dtype), ``.fill``,
# builtin ``max``/``min``: each a nested compile of ~30 ms on a cold start)
# ---------------------------------------------------------------------------------------------

def _dtype_arg(t):
    """The numba scalar type named by a dtype argument (``np.float32``, ``np.bool_`` ...)."""
    if isinstance(t, types.NumberClass):
        return t.instance_type
    if isinstance(t, types.DType):
        return t.dtype
    return None


def _shape_arg(shape):
    """The rank of a shape argument (an integer or a tuple of integers), else None."""
    if isinstance(shape, types.Integer):
        return 1
    if isinstance(shape, types.BaseTuple) and all(isinstance(t, types.Integer)
                                                  for t in shape.types):
        return len(shape.types)
    return None


def _shape_values(context, builder, shape_ty, shape):
    if isinstance(shape_ty, types.Integer):
        return [context.cast(builder, shape, shape_ty, types.intp)]
    items = cgutils.unpack_tuple(builder, shape, len(shape_ty.types))
    return [context.cast(builder, v, t, types.intp) for v, t in zip(items, shape_ty.types)]


def _check_dims(context, builder, dims):
    """Raise ValueError (like ``np.empty``) when a dimension is negative."""
    if not dims:
        return
    zero = ir.Constant(dims[0].type, 0)
    neg = ir.Constant(ir.IntType(1), 0)
    for d in dims:
        neg = builder.or_(neg, builder.icmp_signed("<", d, zero))
    with builder.if_then(neg, likely=False):
        context.call_conv.return_user_exc(builder, ValueError, ("negative dimensions not allowed",))


@intrinsic
def empty_c(typingctx, shape, dtype):
    """``np.empty(shape, dtype)`` for generated code: a new, uninitialised C-contiguous array
    (NRT memory). ``shape``: an integer or a tuple of integers (``()`` = 0-d); ``dtype``: a
    numpy scalar class such as ``np.float32``.

    Example (inside ``@njit``): ``t = empty_c((n, 1024), np.float32)``
    """
    nd, dt = _shape_arg(shape), _dtype_arg(dtype)
    if nd is None or dt is None:
        return None
    arrty = types.Array(dt, nd, "C")

    def codegen(context, builder, sig, args):
        from numba.core.imputils import impl_ret_new_ref
        from numba.np.arrayobj import populate_array
        dims = _shape_values(context, builder, sig.args[0], args[0])
        _check_dims(context, builder, dims)
        intp = context.get_value_type(types.intp)
        itemsize = ir.Constant(intp, context.get_abi_sizeof(context.get_data_type(dt)))
        # size in bytes with overflow checks (numpy's "array is too big"); NRT allocates
        # directly (numba's np.empty goes through an allocator overload compiled per process)
        n, over = ir.Constant(intp, 1), ir.Constant(ir.IntType(1), 0)
        for d in dims + [itemsize]:
            r = builder.smul_with_overflow(n, d)
            n, over = builder.extract_value(r, 0), builder.or_(over, builder.extract_value(r, 1))
        with builder.if_then(over, likely=False):
            context.call_conv.return_user_exc(
                builder, ValueError, ("array is too big; `arr.size * arr.dtype.itemsize` is "
                                      "larger than the maximum possible size.",))
        meminfo = context.nrt.meminfo_alloc_aligned(
            builder, n, context.get_preferred_array_alignment(dt))
        strides, st = [], itemsize
        for d in reversed(dims):
            strides.append(st)
            st = builder.mul(st, d)
        strides.reverse()
        ary = context.make_array(arrty)(context, builder)
        data = builder.bitcast(context.nrt.meminfo_data(builder, meminfo),
                               context.get_data_type(dt).as_pointer())
        populate_array(ary, data=data, shape=cgutils.pack_array(builder, dims, ty=intp),
                       strides=cgutils.pack_array(builder, strides, ty=intp),
                       itemsize=itemsize, meminfo=meminfo)
        return impl_ret_new_ref(context, builder, arrty, ary._getvalue())
    return arrty(shape, dtype), codegen


@intrinsic
def reshape_c(typingctx, arr, shape):
    """``arr.reshape(shape)`` for a contiguous array: a C-contiguous view of ``arr``'s data
    with the new ``shape`` (an integer or a tuple of integers; one ``-1`` takes the rest).
    Raises ValueError when the sizes differ, or when ``arr`` (typed 'A' or 'F') is not
    C-contiguous at run time. Lowered inline: numba's ``reshape`` and ``ravel`` compile a
    helper per signature.

    Example (inside ``@njit``): ``t2 = reshape_c(t, (t.size // 10, 10))``
    """
    nd = _shape_arg(shape)
    if nd is None or not isinstance(arr, types.Array):
        return None
    rty = types.Array(arr.dtype, nd, "C", readonly=not arr.mutable)

    def codegen(context, builder, sig, args):
        from numba.core.imputils import impl_ret_borrowed
        from numba.np.arrayobj import populate_array
        aty = sig.args[0]
        ary = context.make_array(aty)(context, builder, args[0])
        dims = _shape_values(context, builder, sig.args[1], args[1])
        intp = context.get_value_type(types.intp)
        zero, one = ir.Constant(intp, 0), ir.Constant(intp, 1)
        # one -1 takes the size left over (numpy's rule); anything else negative is an error
        known, nneg = one, zero
        bad = ir.Constant(ir.IntType(1), 0)
        for d in dims:
            neg = builder.icmp_signed("<", d, zero)
            bad = builder.or_(bad, builder.icmp_signed("<", d, ir.Constant(intp, -1)))
            nneg = builder.add(nneg, builder.zext(neg, intp))
            known = builder.mul(known, builder.select(neg, one, d))
        safe = builder.select(builder.icmp_signed("==", known, zero), one, known)
        rest = builder.sdiv(ary.nitems, safe)
        dims = [builder.select(builder.icmp_signed("<", d, zero), rest, d) for d in dims]
        n = one
        for d in dims:
            n = builder.mul(n, d)
        bad = builder.or_(bad, builder.icmp_signed(">", nneg, one))
        bad = builder.or_(bad, builder.icmp_signed("!=", n, ary.nitems))
        with builder.if_then(bad, likely=False):
            context.call_conv.return_user_exc(
                builder, ValueError, ("total size of new array must be unchanged",))
        if aty.layout != "C" and aty.ndim > 1:
            # C-contiguous: each stride is the next one times the next dim (dims of 1 and
            # empty arrays are exempt, as in numpy's flags)
            shp = cgutils.unpack_tuple(builder, ary.shape, aty.ndim)
            std = cgutils.unpack_tuple(builder, ary.strides, aty.ndim)
            one = ir.Constant(intp, 1)
            want = ary.itemsize
            nc = ir.Constant(ir.IntType(1), 0)
            for k in reversed(range(aty.ndim)):
                off = builder.and_(builder.icmp_signed("!=", std[k], want),
                                   builder.icmp_signed("!=", shp[k], one))
                nc = builder.or_(nc, off)
                want = builder.mul(want, shp[k])
            nc = builder.and_(nc, builder.icmp_signed("!=", ary.nitems, ir.Constant(intp, 0)))
            with builder.if_then(nc, likely=False):
                context.call_conv.return_user_exc(
                    builder, ValueError, ("reshape: the array is not contiguous",))
        elif aty.layout != "C" and aty.ndim == 1:
            std = cgutils.unpack_tuple(builder, ary.strides, 1)[0]
            nc = builder.and_(builder.icmp_signed("!=", std, ary.itemsize),
                              builder.icmp_signed(">", ary.nitems, ir.Constant(intp, 1)))
            with builder.if_then(nc, likely=False):
                context.call_conv.return_user_exc(
                    builder, ValueError, ("reshape: the array is not contiguous",))
        strides = []
        st = ary.itemsize
        for d in reversed(dims):
            strides.append(st)
            st = builder.mul(st, d)
        strides.reverse()
        out = context.make_array(rty)(context, builder)
        populate_array(out, data=ary.data,
                       shape=cgutils.pack_array(builder, dims, ty=intp),
                       strides=cgutils.pack_array(builder, strides, ty=intp),
                       itemsize=ary.itemsize, meminfo=ary.meminfo, parent=ary.parent)
        return impl_ret_borrowed(context, builder, rty, out._getvalue())
    return rty(arr, shape), codegen


@intrinsic
def fill_c(typingctx, arr, value):
    """``arr.fill(value)`` for a C-contiguous array (``value`` cast to its dtype).

    Example (inside ``@njit``): ``fill_c(acc, np.float32(0.0))``
    """
    if not (isinstance(arr, types.Array) and arr.layout == "C" and arr.mutable and
            isinstance(value, (types.Number, types.Boolean))):
        return None

    def codegen(context, builder, sig, args):
        aty, vty = sig.args
        ary = context.make_array(aty)(context, builder, args[0])
        v = context.cast(builder, args[1], vty, aty.dtype)
        with cgutils.for_range(builder, ary.nitems) as loop:
            ptr = builder.gep(ary.data, [loop.index], inbounds=True)
            context.pack_value(builder, aty.dtype, v, ptr)
        return context.get_dummy_value()
    return types.none(arr, value), codegen


@intrinsic
def scale_c(typingctx, arr, value):
    """``arr *= value`` elementwise for a C-contiguous float array (``value`` cast to its
    dtype first): the mean's final scaling without a ``ravel`` view.

    Example (inside ``@njit``): ``scale_c(acc, np.float32(0.5))``
    """
    if not (isinstance(arr, types.Array) and arr.layout == "C" and arr.mutable and
            isinstance(arr.dtype, types.Number) and isinstance(value, types.Number)):
        return None

    def codegen(context, builder, sig, args):
        from numba.core import typing
        aty, vty = sig.args
        dt = aty.dtype
        ary = context.make_array(aty)(context, builder, args[0])
        v = context.cast(builder, args[1], vty, dt)
        mul = context.get_function(operator.mul, typing.signature(dt, dt, dt))
        with cgutils.for_range(builder, ary.nitems) as loop:
            ptr = builder.gep(ary.data, [loop.index], inbounds=True)
            x = context.unpack_value(builder, dt, ptr)
            context.pack_value(builder, dt, mul(builder, (x, v)), ptr)
        return context.get_dummy_value()
    return types.none(arr, value), codegen


def _minmax(pred_op):
    def typer(typingctx, a, b):
        ok = (types.Number, types.Boolean)
        if not (isinstance(a, ok) and isinstance(b, ok)):
            return None
        ty = typingctx.unify_types(types.unliteral(a), types.unliteral(b))
        if ty is None:
            return None

        def codegen(context, builder, sig, args):
            from numba.core import typing
            x = context.cast(builder, args[0], sig.args[0], ty)
            y = context.cast(builder, args[1], sig.args[1], ty)
            cmp = context.get_function(pred_op, typing.signature(types.boolean, ty, ty))
            # Python's rule: the second wins only when strictly greater (smaller), so
            # max(nan, 1.0) is nan and max(1.0, nan) is 1.0
            return builder.select(cmp(builder, (y, x)), y, x)
        return ty(a, b), codegen
    return typer


max2 = intrinsic(_minmax(operator.gt))
max2.__doc__ = """Builtin ``max(a, b)`` on two scalars (same result, NaN rule included) without
numba's overload compile. Generated modules bind it to the name ``max``."""
min2 = intrinsic(_minmax(operator.lt))
min2.__doc__ = """Builtin ``min(a, b)`` on two scalars; see :func:`max2`."""


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


# ---------------------------------------------------------------------------------------------
# floating-point environment
# ---------------------------------------------------------------------------------------------

def _mxcsr_call(builder, name, slot):
    fnty = ir.FunctionType(ir.VoidType(), [ir.PointerType(ir.IntType(8))])
    fn = cgutils.get_or_insert_function(builder.module, fnty, name)
    builder.call(fn, [builder.bitcast(slot, ir.PointerType(ir.IntType(8)))])


def _mxcsr_value(builder, v):
    """An integer argument as the 32-bit MXCSR value."""
    return builder.trunc(v, ir.IntType(32)) if v.type.width != 32 else v


def _mxcsr_exchange(builder, new):
    """Emit: read the MXCSR, set it to ``new(old)`` (an i32 value); returns the old one."""
    slot = cgutils.alloca_once(builder, ir.IntType(32))
    _mxcsr_call(builder, "llvm.x86.sse.stmxcsr", slot)
    old = builder.load(slot)
    builder.store(new(old), slot)
    _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", slot)
    return old


@intrinsic
def _mxcsr_get(typingctx):
    def codegen(context, builder, sig, args):
        i32 = ir.IntType(32)
        slot = cgutils.alloca_once(builder, i32)
        _mxcsr_call(builder, "llvm.x86.sse.stmxcsr", slot)
        return builder.load(slot)
    return types.int32(), codegen


@intrinsic
def _mxcsr_set(typingctx, value):
    if not isinstance(value, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        v = _mxcsr_value(builder, args[0])
        _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", cgutils.alloca_once_value(builder, v))
        return context.get_dummy_value()
    return types.none(value), codegen


if X86:
    # intrinsics rather than inline="always" functions: numba's inlining pass compiled the
    # callee's IR on every cold start (~0.15 s of the first compile of a process)
    @intrinsic
    def ftz_enter(typingctx):
        """Set FTZ and DAZ; returns the previous MXCSR for :func:`ftz_exit`."""
        def codegen(context, builder, sig, args):
            return _mxcsr_exchange(
                builder, lambda old: builder.or_(old, ir.Constant(ir.IntType(32), _FTZ_DAZ)))
        return types.int32(), codegen

    # restoring the MXCSR saved by ftz_enter is setting it
    ftz_exit = _mxcsr_set

    # the calling thread's floating-point environment, to hand to parallel workers
    fpenv_get = _mxcsr_get

    @intrinsic
    def fpenv_adopt(typingctx, value):
        """Give this thread the MXCSR ``value`` (a caller's, from :func:`fpenv_get`);
        returns the previous one for :func:`ftz_exit`. numba's worker threads keep their own
        MXCSR, so a ``prange`` chunk of a kernel that a generated function calls would run
        without its FTZ/DAZ: with denormal data (a model that has nearly fit its batch),
        every operation on one takes a microcode assist (measured: the convnet step 12.7 vs
        14.9 ms once its gradients had shrunk)."""
        if not isinstance(value, types.Integer):
            return None

        def codegen(context, builder, sig, args):
            v = _mxcsr_value(builder, args[0])
            return _mxcsr_exchange(builder, lambda old: v)
        return types.int32(value), codegen

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

    @njit(inline="always")
    def fpenv_get():
        return np.int32(0)

    @njit(inline="always")
    def fpenv_adopt(value):
        return np.int32(0)

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
