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

import os
import time

from .executor import CompiledFunction

__all__ = ["compile_graph", "CompiledFunction", "default_parallel"]


def default_parallel() -> bool:
    """Whether generated loops use ``prange`` when the caller does not say.

    ``GRAPHC_PARALLEL=1`` / ``0`` decides; the default is serial loops (numba's threads
    would compete with OpenBLAS's for the cores, and a parallel kernel compiles slower).
    """
    return os.environ.get("GRAPHC_PARALLEL", "0") not in ("", "0")


def compile_graph(graph, *, parallel: bool | None = None, device: str | None = None):
    """Compile ``graph`` to native CPU code.

    Args:
        graph: a ``graphc.ir.Graph`` (usually optimised and fused by the pass manager).
        device: 'cpu' or 'cuda'; None = the ``device`` setting. With 'cuda' and no usable
            GPU, one warning and the CPU path.
        parallel: use ``prange`` on the outer loops of elementwise regions and reductions
            (race-free: each iteration writes its own output elements). None =
            :func:`default_parallel`.
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
    program = lower(graph, parallel=bool(parallel))
    t1 = time.perf_counter()
    fn = build(graph, program, bool(parallel))
    fn.stats["lower"] = t1 - t0
    fn.stats["total"] = time.perf_counter() - t0
    return fn
