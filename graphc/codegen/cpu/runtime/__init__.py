"""What generated CPU code links against, in one place: BLAS (``blas``), the floating-point
environment (``fpenv``), allocation and scalar intrinsics (``arrays``), the float32 math library
(``mathlib``), the hand-written convolution / pooling kernels (``kernels``), calls of kernels by
symbol (``linker``) and numba's threading set-up (``threads``).

The names generated code and the executor use most are importable from the package itself
(``from graphc.codegen.cpu.runtime import gemm, ftz_enter``); generated modules import them
from the submodules.
"""
from __future__ import annotations

from .arrays import empty_c, fill_c, max2, min2, reshape_c, scale_c, tune_malloc  # noqa: F401
from .blas import (PAR_GEMM_MIN_WORK, blas_get_threads, blas_library,  # noqa: F401
                   blas_set_threads, gemm, par_gemm)
from .fpenv import (FTZ_SUPPORTED, fpenv_adopt, fpenv_get, ftz_enter, ftz_exit,  # noqa: F401
                    mxcsr, restore_fpenv)
