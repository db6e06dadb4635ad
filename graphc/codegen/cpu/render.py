"""Kernel IR -> numba source: the module the executor imports and one module per kernel.

The renderer knows the kernel IR and numba's syntax, nothing about ops. A kernel becomes its
own file (``graphc_k_<key>.py`` in the compile cache), so numba's ``cache=True`` keeps its
compiled code per kernel: a model built later, in this process or another, that lowers to
the same kernel calls the cached code instead of compiling the body again. The step's module
holds the drivers (which call kernels by module name through ``cpu/runtime/linker.kcall``), the units
kept inline, and the module constants those read.

Example:
    >>> src = render_kernel(kernel, module.prelude)
    >>> print(render_module(module, {k: "graphc_k_" + k for k in module.kernels}))
"""
from __future__ import annotations

from ..kir import Driver, Inline, Kernel, KernelCall, Module

__all__ = ["HEADER", "PARALLEL_FLAGS", "render_kernel", "render_module", "njit_flags"]

# numba's parallel options: only explicit prange loops become parfors (no implicit
# conversion of array expressions or numpy calls, which compile slower and would also run
# the small kernels threaded).
PARALLEL_FLAGS = ('{"prange": True, "comprehension": False, "reduction": False, '
                  '"inplace_binop": False, "setitem": False, "numpy": False, '
                  '"stencil": False, "fusion": False}')

HEADER = [
    "import math",
    "import numpy as np",
    "from numba import njit, prange",
    "from graphc.codegen.cpu.runtime.blas import gemm, par_gemm",
    "from graphc.codegen.cpu.runtime.fpenv import ftz_enter, ftz_exit",
    # intrinsics: numba compiles an overload or helper per signature for np.empty, .fill,
    # .reshape/.ravel and the builtins max/min (a nested compile each, ~30 ms on a cold
    # start); these lower inline. max/min are shadowed because the scalar templates spell
    # them as the builtins (same results, NaN rule included)
    "from graphc.codegen.cpu.runtime.arrays import empty_c, fill_c, scale_c, reshape_c, "
    "max2 as max, min2 as min",
]


def _mathlib_import() -> str:
    # every float32 math function the scalar templates may name (derived, not a hand list)
    from .runtime.mathlib import FUNCTION_NAMES
    names = sorted(set(FUNCTION_NAMES.values()))
    return "from graphc.codegen.cpu.runtime.mathlib import FASTMATH, " + ", ".join(names)


def njit_flags(parallel: bool, kernel: bool = False) -> str:
    """The ``@njit`` options of a driver or (``kernel=True``) a kernel.

    Kernels are called only from drivers, by symbol: numba need not build the wrappers that
    let Python (and C) call them, which are as much code as a small kernel's body.
    """
    flags = 'cache=True, nogil=True, error_model="numpy", fastmath=_FM, no_cfunc_wrapper=True'
    if kernel:
        flags += ", no_cpython_wrapper=True"
    if parallel:
        flags += f", parallel={PARALLEL_FLAGS}"
    return flags


def _preamble(doc: str, prelude: str, constant_lines: list[str]) -> list[str]:
    return ([f'"""{doc}"""'] + HEADER + [_mathlib_import(), "", "_FM = set(FASTMATH)", ""]
            + constant_lines + ["", "", prelude])


def render_kernel(kernel: Kernel, prelude: str) -> str:
    """The source of ``kernel``'s own module; its function is named ``kernel``.

    The source depends on the kernel's content alone (not on which ops it was lowered from:
    ``kernel.label`` stays out), so equal kernels of different models share one cache entry.
    """
    consts = [line if line.startswith(("from ", "import ")) else f"{name} = {line}"
              for name, line in kernel.constants]
    out = _preamble("graphc kernel; generated, do not edit.", prelude, consts)
    out += ["", f"@njit({njit_flags(kernel.parallel, kernel=True)})",
            f"def kernel({', '.join(kernel.params)}):"]
    out += list(kernel.body.lines) or ["    pass"]
    if len(kernel.results) == 1:
        out.append(f"    return {kernel.results[0]}")
    elif kernel.results:
        out.append(f"    return ({', '.join(kernel.results)})")
    return "\n".join(out) + "\n"


def _call_line(call: KernelCall, module_name: str) -> str:
    expr = f"kcall({', '.join([repr(module_name)] + list(call.args))})"
    if not call.results:
        return "    " + expr
    if len(call.results) == 1:
        return f"    {call.results[0]} = {expr}"
    return f"    {', '.join(call.results)} = {expr}"


def render_driver(driver: Driver, kernel_modules: dict[str, str]) -> list[str]:
    lines = [f"def {driver.name}({', '.join(driver.params)}):"] + list(driver.prologue)
    for stmt in driver.body:
        if isinstance(stmt, Inline):
            lines += list(stmt.unit.lines)
        else:
            lines.append(_call_line(stmt, kernel_modules[stmt.kernel.key]))
    return lines + list(driver.epilogue)


def render_module(module: Module, kernel_modules: dict[str, str]) -> str:
    """The step's module: kernel imports, constants, prelude and the drivers.

    Args:
        module: the outlined kernel-IR module.
        kernel_modules: kernel key -> the name its module is imported under.
    """
    imports = ["from graphc.codegen.cpu.runtime.linker import kcall"] if module.kernels else []
    out = _preamble("Generated by graphc.codegen.cpu (do not edit).", module.prelude,
                    imports + list(module.constants.values()))
    for d in module.drivers:
        parallel = any(isinstance(s, Inline) and s.unit.parallel for s in d.body)
        out += ["", f"@njit({njit_flags(parallel)})"] + render_driver(d, kernel_modules) + [""]
    return "\n".join(out) + "\n"
