"""Allocation and scalar helpers for generated code, as numba intrinsics (``empty_c``,
``reshape_c``, ``fill_c``, ``scale_c``, ``max2`` / ``min2``), and the process's allocator setting
(``tune_malloc``): numba types an intrinsic without compiling a library overload per signature
(``np.empty`` per (ndim, dtype), ``.fill``, builtin ``max`` / ``min``: each a nested compile of
~30 ms on a cold start).
"""
from __future__ import annotations

import ctypes
import operator
import os

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["empty_c", "reshape_c", "fill_c", "scale_c", "max2", "min2", "tune_malloc"]


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
