"""Microbenchmarks of compiled kernels and whole functions, against numpy in the same run.

``bench(f)`` times a ``K.function`` (or a model's step): its compile time apart (building
the executor: code generation + native compilation, or a cache load), then its run time
with warm-up and repetitions chosen from the timer's resolution (see :mod:`.harness`), and
the same computation in numpy -- a plain-numpy function you give, or by default the graphc
reference interpreter running the function's graph -- with the largest difference between
the two results. ``run_builtin()`` does this for the standard kernels (:mod:`.builtin`).
Results print as a table and serialise to JSON.

Example:
    >>> from graphc.bench import bench, run_builtin, format_table
    >>> print(format_table(run_builtin(["elementwise", "mlp_step"])))
    >>> r = bench(model, step="train", batch_size=64)
"""
from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass

import numpy as np

from .builtin import BUILTINS, SIZES
from .harness import Timing, measure, timer_resolution

__all__ = ["bench", "run_builtin", "BenchResult", "format_table", "to_json", "measure",
           "Timing", "timer_resolution", "BUILTINS", "SIZES"]


@dataclass
class BenchResult:
    """One benchmark: compile seconds, graphc and reference timings (per call)."""
    name: str
    compile_seconds: float | None
    graphc: Timing
    reference: Timing | None
    reference_name: str
    max_abs_diff: float | None
    executor: str
    shapes: list

    @property
    def speedup(self) -> float | None:
        """Reference median / graphc median (> 1: graphc is faster)."""
        if self.reference is None or self.graphc.median <= 0:
            return None
        return self.reference.median / self.graphc.median

    def to_json(self) -> dict:
        return {"name": self.name, "compile_seconds": self.compile_seconds,
                "executor": self.executor, "shapes": self.shapes,
                "graphc": self.graphc.to_json(),
                "reference": None if self.reference is None else self.reference.to_json(),
                "reference_name": self.reference_name, "speedup": self.speedup,
                "max_abs_diff": self.max_abs_diff}


def _max_diff(a_list, b_list) -> float | None:
    try:
        diffs = [float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
                 if np.size(a) else 0.0 for a, b in zip(a_list, b_list)]
    except ValueError:                 # shapes differ: report it as unknown, not a crash
        return None
    return max(diffs) if diffs else 0.0


def bench(obj, inputs=None, *, step: str | None = None, name: str | None = None,
          reference="interpreter", batch_size: int = 32, budget: float = 0.5,
          warmup: int = 2) -> BenchResult:
    """Benchmark a function against numpy.

    Args:
        obj: a ``K.function`` or a Model (``step`` picks train / test / predict).
        inputs: input arrays (default: random, batch ``batch_size``).
        step: a model's step.
        name: the row's name (default: the function's).
        reference: ``'interpreter'`` (the numpy reference interpreter on the same graph),
            a callable ``f(*inputs) -> list of arrays`` (plain numpy), or None.
        batch_size: batch of generated inputs.
        budget: seconds each timed side may take (about).
        warmup: untimed calls first.
    Returns:
        A :class:`BenchResult`.

    Example:
        >>> r = bench(f, [x], reference=lambda x: [np.tanh(x)])
        >>> r.speedup
    """
    from ..inspect import function_of
    from ..profiler import _Snapshot, _full_inputs, example_inputs
    fn = function_of(obj, step)
    if inputs is None:
        inputs = example_inputs(fn, batch_size)
    inputs = list(inputs)
    compile_s = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if fn._executor is None:
            t0 = time.perf_counter()
            fn.executor                                   # noqa: B018 - builds it
            compile_s = time.perf_counter() - t0
        with _Snapshot(fn.graph):
            first = fn(inputs)
            timing = measure(lambda: fn(inputs), warmup=warmup, budget=budget)
    ref_timing, ref_name, diff = None, "", None
    if reference == "interpreter":
        from ..function import ReferenceExecutor
        ex = ReferenceExecutor(fn.graph)
        arrays = _full_inputs(fn, inputs)
        with _Snapshot(fn.graph):
            ref_first = ex(arrays)
            ref_timing = measure(lambda: ex(arrays), warmup=warmup, budget=budget)
        ref_name = "numpy reference interpreter"
        diff = _max_diff(first, ref_first)
    elif callable(reference):
        ref_first = reference(*inputs)
        ref_timing = measure(lambda: reference(*inputs), warmup=warmup, budget=budget)
        ref_name = "numpy"
        diff = _max_diff(first, ref_first)
    elif reference is not None:
        raise ValueError(f"reference must be 'interpreter', a callable or None, got "
                         f"{reference!r}")
    return BenchResult(name or fn.name, compile_s, timing, ref_timing, ref_name, diff,
                       str(fn.executor_kind), [list(np.shape(a)) for a in inputs])


def run_builtin(names=None, size: str = "default", budget: float = 0.5) -> list[BenchResult]:
    """Benchmark built-in kernels against their plain-numpy versions.

    Args:
        names: names from ``BUILTINS`` (default: all: elementwise, mlp_step, conv,
            lstm_step).
        size: ``'default'`` or ``'small'`` (tiny shapes, for tests).
        budget: seconds per timed side (about).
    Returns:
        A list of :class:`BenchResult`.
    """
    names = list(BUILTINS) if not names else list(names)
    unknown = [n for n in names if n not in BUILTINS]
    if unknown:
        raise ValueError(f"unknown built-in benchmark(s) {', '.join(map(repr, unknown))}; "
                         f"valid: {', '.join(BUILTINS)}")
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    out = []
    for n in names:
        f, inputs, numpy_fn = BUILTINS[n](size)
        out.append(bench(f, inputs, name=n, reference=numpy_fn, budget=budget))
    return out


def _ms(t) -> str:
    return f"{t * 1e3:10.4f}" if t is not None else f"{'-':>10}"


def format_table(results) -> str:
    """The results as a text table (milliseconds per call)."""
    head = (f"{'benchmark':<20} {'compile s':>9} {'min ms':>10} {'median ms':>10} "
            f"{'p90 ms':>10} {'numpy ms':>10} {'speedup':>8} {'max|diff|':>10}  executor")
    lines = [head, "-" * len(head)]
    for r in results:
        comp = f"{r.compile_seconds:9.3f}" if r.compile_seconds is not None else f"{'-':>9}"
        ref = r.reference.median if r.reference is not None else None
        sp = f"{r.speedup:7.2f}x" if r.speedup is not None else f"{'-':>8}"
        diff = f"{r.max_abs_diff:10.2e}" if r.max_abs_diff is not None else f"{'-':>10}"
        lines.append(f"{r.name:<20} {comp} {_ms(r.graphc.min)} {_ms(r.graphc.median)} "
                     f"{_ms(r.graphc.p90)} {_ms(ref)} {sp} {diff}  {r.executor}")
    if results:
        r0 = results[0]
        lines.append(f"(per call; timer resolution {r0.graphc.resolution * 1e9:.0f} ns; numpy = "
                     f"{r0.reference_name or 'none'} in the same run)")
    return "\n".join(lines)


def to_json(results) -> str:
    """The results as JSON text (one object per benchmark)."""
    import platform
    return json.dumps({"python": platform.python_version(), "numpy": np.__version__,
                       "results": [r.to_json() for r in results]}, indent=1)
