"""The GPU code generator: IR graphs -> CUDA kernels through numba-cuda.

``compile_graph_cuda(graph)`` optimises the graph (fusion makes elementwise regions), lowers
every fused region to one generated ``@cuda.jit`` kernel, reductions / matrix products /
softmax rows to hand-written kernels, and runs the rest on the host (one warning per op).
Variables stay on the GPU between calls. All CUDA imports live in :mod:`.runtime`, and
nothing is imported until a CUDA function is built.

Install: ``pip install "graphc[gpu]"`` (numba-cuda[cu12]; ``graphc[gpu-cu13]`` for CUDA 13).
Tests run the same kernels in numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``).

Example:
    >>> from graphc.codegen.cuda import compile_graph_cuda, available
    >>> if available():
    ...     f = compile_graph_cuda(graph)
    ...     outs = f([x_batch, y_batch])
"""
from __future__ import annotations

import time

from .runtime import CudaUnavailableError, available, unavailable_reason

__all__ = ["compile_graph_cuda", "available", "unavailable_reason", "CudaUnavailableError",
           "invalidate", "sync_variables"]


def compile_graph_cuda(graph, *, pipeline: str | None = None, sync_back: bool = True):
    """Compile ``graph`` to CUDA kernels.

    Args:
        graph: a ``graphc.ir.Graph``.
        pipeline: the optimisation pipeline run first (``"fast_run"`` fuses elementwise
            regions into single kernels); None = the ``pipeline`` setting; ``"none"`` when
            the graph is already optimised.
        sync_back: copy updated variables into ``var.value`` after every call (True), or keep
            them on the GPU until :func:`sync_variables` / :func:`invalidate`.
    Returns:
        A :class:`~graphc.codegen.cuda.executor.CudaFunction`: call it with the input arrays
        in ``graph.inputs`` order; it returns numpy outputs and applies the updates.
    Raises:
        CudaUnavailableError: no GPU with numba-cuda and the simulator is off (the message
            says which is missing and how to install it).

    Example:
        >>> f = compile_graph_cuda(Graph([x], [apply("tanh", x)]))
        >>> f([np.zeros(4, np.float32)])[0]
        array([0., 0., 0., 0.], dtype=float32)
    """
    from ... import config
    from ...passes.manager import optimize
    from . import runtime
    from .executor import build
    from .lower import lower
    runtime.cuda()                        # a clear error now, not at the first call
    t0 = time.perf_counter()
    name = config.get("pipeline") if pipeline is None else pipeline
    if name != "none":
        graph, _ = optimize(graph, name)
    t1 = time.perf_counter()
    plan = lower(graph)
    t2 = time.perf_counter()
    fn = build(graph, plan, sync_back=sync_back)
    fn.stats.update(optimize=t1 - t0, lower=t2 - t1, total=time.perf_counter() - t0)
    return fn


def invalidate(var=None) -> None:
    """Re-upload variables (all when None) on the next call: after writing ``var.value`` in
    place from other code. See :func:`graphc.codegen.cuda.executor.invalidate`."""
    from .executor import invalidate as _inv
    _inv(var)


def sync_variables() -> int:
    """Copy device-resident variable values that are newer than the host back into
    ``var.value``; returns how many (see ``sync_back=False``)."""
    from .executor import sync_variables as _sync
    return _sync()
