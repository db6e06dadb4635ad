"""Code generation: fused kernels to native code (numba / llvmlite on CPU, CUDA), and the
on-disk compile cache.

``compile_graph(graph)`` lowers an (optimised) IR graph to ONE generated numba function where
possible -- forward pass, backward pass and variable updates in one native call -- and
returns a :class:`CompiledFunction`. Ops without a native emitter run their numpy reference
between native segments (one warning per op name); random ops draw their values in Python
(one numpy Generator per node, seeded from its ``seed`` attribute) and pass them in.

Example:
    >>> from graphc.codegen import compile_graph
    >>> f = compile_graph(graph)
    >>> outs = f([x_batch, y_batch])
    >>> print(f.source)          # the generated code
"""
from __future__ import annotations

import contextlib
import os
import time

from .cpu.runtime.threads import choose_threading_layer
from .executor import CompiledFunction

__all__ = ["compile_graph", "CompiledFunction", "default_parallel"]


def default_parallel() -> bool | str:
    """How generated loops use ``prange`` when the caller does not say.

    ``GRAPHC_PARALLEL`` decides: ``0`` or unset -> False (serial loops everywhere, the
    default), ``1`` -> True (``prange`` on every race-free top-level loop nest), ``auto`` ->
    "auto": nests with at least ``graphc.codegen.cpu.writer.PARALLEL_MIN_WORK`` static
    elements use ``prange``, nests with a symbolic (batch) dim are generated twice and the
    ``prange`` version runs only when the run-time element count reaches that threshold.
    Serial is the default because on the 2-core machine the MLP training step measured
    slower with "auto" at every batch size (OpenBLAS's threads and numba's compete for the
    cores, and a descheduled worker thread stalls a whole prange loop), and each prange nest
    adds ~0.5 s to a cold compile (bench/RESULTS.md).

    Returns:
        False, True or "auto".

    Example:
        >>> default_parallel()
        False
    """
    v = os.environ.get("GRAPHC_PARALLEL", "0").strip().lower()
    if v == "auto":
        return "auto"
    if v in ("", "0", "false", "no", "off"):
        return False
    if v in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"GRAPHC_PARALLEL must be 0, 1 or auto, got {v!r}")


@contextlib.contextmanager
def _single_optimisation_pipeline():
    """While numba compiles generated code: skip its per-function LLVM pipeline.

    numba optimises every new function twice: its function-level pipeline at ``NUMBA_OPT``
    (3) when the function is added to its library, then the whole module (a cheap pass, then
    the full ``-O3`` pipeline with loop vectorisation) when the library is finalised. For one
    large generated step function the first run is redundant work: measured on the seed MLP
    step, ~0.3 s of the ~3.6 s cold compile, with the same run time (the module pipeline does
    the vectorising). Inside this block the function-level pipeline runs at level 0 for the
    functions of generated modules (not for the runtime kernels they call, which numba caches
    as compiled); every module pipeline is unchanged. numba's compiler lock is held, so no
    other thread compiles with the setting. ``GRAPHC_NUMBA_FUNCTION_OPT=<0-3>`` chooses the
    level (3 restores numba's behaviour).
    """
    level = os.environ.get("GRAPHC_NUMBA_FUNCTION_OPT", "0").strip()
    if level not in ("0", "1", "2", "3"):
        raise ValueError(f"GRAPHC_NUMBA_FUNCTION_OPT must be 0, 1, 2 or 3, got {level!r}")
    try:
        from numba.core.codegen import CPUCodegen, CPUCodeLibrary
        from numba.core.compiler_lock import global_compiler_lock
        original = CPUCodegen.__dict__["_function_pass_manager"]
        original_optimize = CPUCodeLibrary.__dict__["_optimize_functions"]
    except (ImportError, KeyError):          # another numba: leave it as it is
        yield
        return
    if level == "3":
        yield
        return
    generated_now = [False]

    def function_pass_manager(self, **kwargs):
        if generated_now[0]:
            kwargs.setdefault("opt", int(level))
        return original(self, **kwargs)

    def optimize_functions(self, ll_module):
        # only the generated modules' own functions: a runtime kernel that is first compiled
        # while a step compiles (a convolution called by the step) is cached by numba as
        # compiled, and at level 0 it ran 1.5-2x slower for good
        was = generated_now[0]
        generated_now[0] = any(prefix in f.name for f in ll_module.functions
                               if not f.is_declaration for prefix in _GENERATED_MODULES)
        try:
            return original_optimize(self, ll_module)
        finally:
            generated_now[0] = was

    with global_compiler_lock:
        CPUCodegen._function_pass_manager = function_pass_manager
        CPUCodeLibrary._optimize_functions = optimize_functions
        try:
            yield
        finally:
            CPUCodegen._function_pass_manager = original
            CPUCodeLibrary._optimize_functions = original_optimize


# names of the modules the CPU generator writes (graphc_gen_<key>, graphc_k_<key>): they appear
# in the mangled names of the functions numba compiles from them
_GENERATED_MODULES = ("graphc_gen_", "graphc_k_")


def compile_graph(graph, *, parallel: bool | None = None, device: str | None = None):
    """Compile ``graph`` to native CPU code.

    Args:
        graph: a ``graphc.ir.Graph`` (usually optimised and fused by the pass manager).
        device: 'cpu' or 'cuda'; None = the ``device`` setting. With 'cuda' and no usable
            GPU, one warning and the CPU path.
        parallel: ``prange`` on the outer loops of elementwise regions, reductions keeping
            axis 0 and softmax / crossentropy rows (race-free: each iteration writes its own
            output elements): True = always, False = never, "auto" = chosen at run time by
            each loop nest's element count. None = :func:`default_parallel`.
    Returns:
        A :class:`CompiledFunction`: call it with the input arrays in ``graph.inputs``
        order; it returns the outputs and applies ``graph.updates`` in place.

    Example:
        >>> f = compile_graph(Graph([x], [apply("tanh", x)]))
        >>> f([np.zeros(4, np.float32)])[0]
        array([0., 0., 0., 0.], dtype=float32)
    """
    from .. import config
    if (device or config.get("device")) == "cuda":
        from .cuda import available, compile_graph_cuda
        if available():
            return compile_graph_cuda(graph, pipeline="none")   # callers optimise first
        from .cuda.runtime import warn_cpu_fallback
        warn_cpu_fallback()
    from .cpu.lower import lower
    from .executor import build
    if parallel is None:
        parallel = default_parallel()
    t0 = time.perf_counter()
    if parallel not in (True, False, "auto"):
        raise ValueError(f"compile_graph: parallel must be True, False, 'auto' or None, "
                         f"got {parallel!r}")
    if parallel:
        choose_threading_layer()
    program = lower(graph, parallel=parallel)
    t1 = time.perf_counter()
    with _single_optimisation_pipeline():
        fn = build(graph, program, bool(parallel))
    fn.stats["lower"] = t1 - t0
    fn.stats["total"] = time.perf_counter() - t0
    return fn
