"""The floating-point environment of generated code: flush-to-zero and denormals-are-zero.

``ftz_enter()`` / ``ftz_exit(saved)`` set flush-to-zero and denormals-are-zero in the x86
MXCSR register for the duration of a generated function and restore it afterwards (numba
intrinsics around ``llvm.x86.sse.stmxcsr`` / ``ldmxcsr``: a few cycles). Adam's ``g*g`` on tiny
gradients produces float32 denormals, which some CPUs process ~100x slower; XLA runs with the
same setting. On other architectures both are no-ops. The setting applies to the calling
thread only (numba's parallel worker threads keep their own MXCSR: ``fpenv_get`` /
``fpenv_adopt`` carry the caller's into a parallel block).
"""
from __future__ import annotations

import platform

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["ftz_enter", "ftz_exit", "fpenv_get", "fpenv_adopt", "FTZ_SUPPORTED", "restore_fpenv", "mxcsr"]


X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
FTZ_SUPPORTED = X86
_FTZ_DAZ = 0x8040          # MXCSR bit 15 flush-to-zero, bit 6 denormals-are-zero


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



