"""A profiler for compiled functions, in the spirit of Theano's profile mode.

``profile(f, inputs, n=10)`` optimises the function's graph with its pipeline and runs the
result N times *kernel by kernel*: every node of the optimised graph (a fused elementwise
kernel, a matmul, a reduction, ...) is compiled on its own by the same code generator
(``graphc.codegen.compile_graph`` of a one-node graph, cached on disk like any kernel) -- or
run through its numpy reference when it has no native emitter, or with
``mode='reference'`` -- and timed. The report gives, per kernel and per op group and per
layer: time, share of the total, FLOPs and bytes moved per call, and GFLOP/s and GB/s
against the machine's ceilings (BLAS sgemm and a stream copy, measured once by
:func:`calibrate` and cached in the graphc home).

Accounting: ``total`` is the wall time of the N kernel-by-kernel runs, measured around each
run; it equals the sum of the kernel times plus the ``(dispatch)`` line (Python between
kernels), so the table's lines add up to the total. The time of the function as it really
runs -- one fused native call -- is measured in the same session and shown beside it; the
difference is what whole-graph compilation saves (or costs).

Profiling does not change the model: variables are read, and the one-call measurement of
the real function restores the variables it updated.

Example:
    >>> from graphc.profiler import profile
    >>> p = profile(model, step="train", n=20)        # random inputs of batch size 32
    >>> print(p)                                        # the table, slowest kernels first
    >>> p.by_layer()[0]                                 # the layer whose kernels cost most
"""
from __future__ import annotations

import json
import os
import platform
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import config
from .ir.graph import Graph
from .ir.interpreter import RngStates, run_node

MODES = ("compiled", "reference")
_SOURCES = ("input", "variable", "constant")
_CALIBRATION_FILE = "calibration.json"


# ============================================================================================
# ceilings
# ============================================================================================

def cpu_name() -> str:
    """The CPU model (from /proc/cpuinfo on Linux, else ``platform.processor()``)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _calibration_key() -> str:
    return f"{cpu_name()}|{os.cpu_count()}|numpy {np.__version__}"


def calibrate(force: bool = False, quick: bool = False) -> dict:
    """The machine's ceilings: BLAS sgemm GFLOP/s and stream-copy GB/s.

    Measured once (about half a second) and cached in ``<graphc home>/calibration.json``,
    keyed by CPU model, core count and numpy version.

    Args:
        force: measure again even when cached.
        quick: smaller sizes (for tests); the result is not cached.
    Returns:
        ``{"gflops": float, "gbps": float, "cpu": str, "sgemm_n": int, "copy_mb": float,
        "measured": ISO time}``.

    Example:
        >>> calibrate()["gflops"]
        72.4
    """
    path = os.path.join(config.home(), _CALIBRATION_FILE)
    key = _calibration_key()
    cached = {}
    if os.path.exists(path):
        try:
            with open(path) as f:
                cached = json.load(f)
        except (OSError, json.JSONDecodeError):
            cached = {}                        # a damaged file is re-measured and rewritten
    if not force and not quick and isinstance(cached.get(key), dict):
        return cached[key]
    n = 256 if quick else 1024
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = a.T.copy()
    a @ b
    best = min(_time_once(lambda: a @ b) for _ in range(3 if quick else 7))
    gflops = 2.0 * n ** 3 / best / 1e9
    mb = 8 if quick else 64
    src = np.ones(mb * 2 ** 20 // 4, np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    best = min(_time_once(lambda: np.copyto(dst, src)) for _ in range(3 if quick else 7))
    gbps = 2.0 * src.nbytes / best / 1e9          # read + write
    result = {"gflops": round(gflops, 2), "gbps": round(gbps, 2), "cpu": cpu_name(),
              "sgemm_n": n, "copy_mb": mb,
              "measured": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if not quick:
        cached = cached if isinstance(cached, dict) else {}
        cached[key] = result
        try:
            config.atomic_write_text(path, json.dumps(cached, indent=1) + "\n")
        except OSError:
            pass                                   # a read-only home: measured each time
    return result


def blas_threads() -> int | None:
    """Threads of the BLAS numpy uses (threadpoolctl when installed, else None)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [d.get("num_threads") for d in threadpool_info() if d.get("user_api") == "blas"]
    return max(counts) if counts else None


def _time_once(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# ============================================================================================
# cost model: FLOPs and bytes of one kernel at run-time shapes
# ============================================================================================

def _size(shape) -> int:
    return int(np.prod(shape)) if len(shape) else 1


def kernel_cost(node, in_arrays, out_arrays) -> tuple[int, int]:
    """(FLOPs, bytes moved) of one run of ``node`` on these arrays.

    An op whose definition states its cost (``OpDef.cost``: contractions 2*M*N*K,
    convolutions and both their gradients 2 * output (gradient) elements * window * input
    channels, softmax-like ops 5 per element) counts that; otherwise its kind decides:
    elementwise ops 1 per output element (a fused kernel: its body's op count per element;
    a transcendental counts as 1), reductions and nn ops 1 per input element, shape/view
    ops 0. Bytes = inputs read + outputs written, once each (a lower bound for anything
    that re-reads memory).
    """
    from .ir.ops import REGISTRY
    ins = [np.asarray(a) for a in in_arrays]
    outs = [np.asarray(a) for a in out_arrays]
    nbytes = sum(a.nbytes for a in ins) + sum(a.nbytes for a in outs)
    out_n = max((a.size for a in outs), default=0)
    op = node.op
    kind = REGISTRY[op].kind if op in REGISTRY else "other"
    opdef = REGISTRY.get(op)
    if opdef is not None and opdef.cost is not None:
        flops = opdef.cost(node, ins, outs)
    elif op == "fused":
        body = node.attrs["body"]
        nops = sum(1 for m in body.nodes() if m.op not in _SOURCES)
        flops = nops * out_n
    elif kind == "elementwise":
        flops = out_n
    elif kind in ("reduction", "nn"):
        flops = max((a.size for a in ins), default=0)
    else:
        flops = 0
    return int(flops), int(nbytes)


# ============================================================================================
# kernel-by-kernel execution
# ============================================================================================

@dataclass
class Kernel:
    """One timed unit: a node of the optimised graph and how it runs."""
    node: object
    name: str
    how: str                       # "native", "reference" or "random"
    run: object = None             # callable(list of arrays) -> list of arrays
    seconds: float = 0.0
    calls: int = 0
    flops: int = 0
    bytes: int = 0
    compile_seconds: float = 0.0

    @property
    def op(self) -> str:
        return self.node.op

    @property
    def layers(self) -> list[str]:
        """The scopes of the nodes this kernel came from (a fused kernel: its body's)."""
        n = self.node
        if n.op == "fused":
            scopes = [m.scope for m in n.attrs["body"].nodes() if m.op not in _SOURCES]
        else:
            scopes = [n.scope]
        out = []
        for s in scopes:
            if s and s not in out:
                out.append(s)
        return out

    @property
    def src(self) -> str:
        return self.node.src or ""


def _single_node_graph(node) -> tuple[Graph, list]:
    """A graph computing only ``node`` from placeholders (constants stay constants).

    Returns the graph and the outer Values its placeholders stand for, in order."""
    from .ir.node import Node
    from .ir.ops import source
    args, ext = [], []
    for v in node.inputs:
        if v.node.op == "constant":
            args.append(v)
            continue
        ph = source("input", v.type, name=f"in{len(ext)}")
        args.append(ph)
        ext.append(v)
    copy = Node(node.op, args, node.attrs, [o.type for o in node.outputs], scope=node.scope,
                src=node.src)
    return Graph([a for a in args if a.node.op == "input"], list(copy.outputs),
                 name=f"{node.op}_{node.id}"), ext


class KernelRunner:
    """Runs a graph node by node, timing each node.

    Args:
        graph: the (optimised) graph.
        mode: ``'compiled'`` (each native node compiled on its own) or ``'reference'``.
    """

    def __init__(self, graph: Graph, mode: str = "compiled"):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        from .ir.ops import REGISTRY
        self.graph = graph
        self.mode = mode
        self.rng = RngStates()
        self.kernels: list[Kernel] = []
        self.compile_seconds = 0.0
        compiled: dict[str, object] = {}
        numbering = 0
        for n in graph.nodes():
            if n.op in _SOURCES:
                continue
            name = f"%{numbering}"
            numbering += len(n.outputs)
            if REGISTRY[n.op].kind == "random":
                k = Kernel(n, name, "random")
                k.run = self._reference_runner(n)
            elif mode == "compiled" and _native(n):
                k = Kernel(n, name, "native")
                t0 = time.perf_counter()
                k.run = self._compiled_runner(n, compiled)
                k.compile_seconds = time.perf_counter() - t0
                self.compile_seconds += k.compile_seconds
            else:
                k = Kernel(n, name, "reference")
                k.run = self._reference_runner(n)
            self.kernels.append(k)

    def _reference_runner(self, node):
        def run(arrays):
            # np.ascontiguousarray would turn 0-d results into 1-d arrays
            return [a if isinstance(a, np.ndarray) and a.flags.c_contiguous
                    else np.array(a, order="C") for a in run_node(node, arrays, self.rng)]
        return run

    @staticmethod
    def _compiled_runner(node, cache: dict):
        from .codegen import compile_graph
        from .ir.printer import format_graph
        g, ext = _single_node_graph(node)
        key = format_graph(g)             # identical kernels share one compiled function
        fn = cache.get(key)
        if fn is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                fn = cache[key] = compile_graph(g)
        const_pos = [i for i, v in enumerate(node.inputs) if v.node.op == "constant"]

        def run(arrays):
            args = [a for i, a in enumerate(arrays) if i not in const_pos] \
                if const_pos else arrays
            return fn(args)
        return run

    def feeds(self, arrays) -> dict:
        """The environment of a run: id(Value) -> array for inputs, variables, constants."""
        env = {}
        for v, a in zip(self.graph.inputs, arrays):
            env[id(v)] = a
        for n in self.graph.nodes():
            if n.op == "variable":
                env[id(n.outputs[0])] = n.attrs["var"].value
            elif n.op == "constant":
                env[id(n.outputs[0])] = np.asarray(n.attrs["value"])
        return env

    def run(self, arrays, measure_cost: bool = False) -> tuple[float, list]:
        """One kernel-by-kernel run; returns (wall seconds, outputs). Updates are computed,
        not applied."""
        clock = time.perf_counter
        t_start = clock()
        env = self.feeds(arrays)
        for k in self.kernels:
            args = [env[id(v)] for v in k.node.inputs]
            t0 = clock()
            outs = k.run(args)
            dt = clock() - t0
            k.seconds += dt
            k.calls += 1
            for o, a in zip(k.node.outputs, outs):
                env[id(o)] = a
            if measure_cost:
                k.flops, k.bytes = kernel_cost(k.node, args, outs)
        total = clock() - t_start
        return total, [env[id(v)] for v in self.graph.outputs]

    def reset(self) -> None:
        for k in self.kernels:
            k.seconds, k.calls = 0.0, 0


def _native(node) -> bool:
    from .codegen.cpu.lowering import native_supported
    return native_supported(node)


# ============================================================================================
# inputs
# ============================================================================================

def example_inputs(fn, batch_size: int = 32, seed: int = 0) -> list:
    """Random arrays matching a Function's placeholders: symbolic and unknown dims become
    ``batch_size``; floats uniform in [0, 1), ints 0 or 1, bools True.

    Example:
        >>> arrays = example_inputs(model.train_function, batch_size=64)
    """
    rng = np.random.default_rng(seed)
    out = []
    for v in fn.inputs:
        shape = tuple(d if isinstance(d, int) else batch_size for d in v.shape)
        dt = np.dtype(v.dtype)
        if dt.kind == "f":
            out.append(rng.random(shape).astype(dt))
        elif dt.kind in "iu":
            out.append(rng.integers(0, 2, size=shape).astype(dt))
        else:
            out.append(np.ones(shape, dtype=dt))
    return out


def _full_inputs(fn, arrays) -> list:
    """The user's arrays, checked and converted by the Function, plus auto-fed placeholders
    (the learning phase): the arrays in ``fn.graph.inputs`` order."""
    arrays = list(arrays)
    for _, getter in getattr(fn, "_auto", []):
        arrays.append(getter())
    return fn._check(arrays)


class _Snapshot:
    """Copies of the variables a graph updates, put back on exit."""

    def __init__(self, graph: Graph):
        self.stores = [var.node.attrs["var"] for var, _ in graph.updates]

    def __enter__(self):
        self.saved = [np.array(s.value, copy=True) for s in self.stores]
        return self

    def __exit__(self, *exc):
        for s, a in zip(self.stores, self.saved):
            if isinstance(s.value, np.ndarray) and s.value.shape == a.shape and \
                    s.value.flags.writeable:
                s.value[...] = a
            else:
                s.value = a
        return False


# ============================================================================================
# the profile
# ============================================================================================

@dataclass
class Profile:
    """The result of :func:`profile`. ``str(p)`` is the report; ``p.to_json()`` its data."""
    name: str
    mode: str
    pipeline: str
    calls: int
    batch_size: int | None
    kernels: list[Kernel]
    total_seconds: float                 # all kernel-by-kernel runs, wall time
    function_seconds: float | None       # one real call of the function (per call, median)
    compile_seconds: float
    ceilings: dict = field(default_factory=dict)

    # -- accounting -------------------------------------------------------------------------
    @property
    def kernel_seconds(self) -> float:
        return sum(k.seconds for k in self.kernels)

    @property
    def dispatch_seconds(self) -> float:
        """Wall time outside the kernels (Python between them): total - sum of kernels."""
        return self.total_seconds - self.kernel_seconds

    def per_call(self, seconds: float) -> float:
        return seconds / max(self.calls, 1)

    def _rate(self, k: Kernel) -> tuple[float, float]:
        if k.seconds <= 0:
            return 0.0, 0.0
        per = k.seconds / k.calls
        return k.flops / per / 1e9, k.bytes / per / 1e9

    def rows(self) -> list[dict]:
        """One dict per kernel, slowest first."""
        total = self.total_seconds or 1.0
        out = []
        for k in sorted(self.kernels, key=lambda k: -k.seconds):
            gf, gb = self._rate(k)
            out.append({"kernel": k.name, "op": k.op, "how": k.how,
                        "seconds": k.seconds, "ms_per_call": self.per_call(k.seconds) * 1e3,
                        "percent": 100.0 * k.seconds / total, "calls": k.calls,
                        "flops": k.flops, "bytes": k.bytes, "gflops": gf, "gbps": gb,
                        "layers": k.layers, "src": k.src,
                        "compile_seconds": k.compile_seconds})
        return out

    def _group(self, key) -> list[dict]:
        groups: dict[str, dict] = {}
        for k in self.kernels:
            for name, share in key(k):
                g = groups.setdefault(name, {"name": name, "seconds": 0.0, "kernels": 0,
                                             "flops": 0, "bytes": 0})
                g["seconds"] += k.seconds * share
                g["kernels"] += 1
                g["flops"] += int(k.flops * share)
                g["bytes"] += int(k.bytes * share)
        total = self.total_seconds or 1.0
        out = sorted(groups.values(), key=lambda g: -g["seconds"])
        for g in out:
            g["percent"] = 100.0 * g["seconds"] / total
            g["ms_per_call"] = self.per_call(g["seconds"]) * 1e3
        return out

    def by_op(self) -> list[dict]:
        """Time per op group (``fused``, ``matmul``, ``sum`` ...), largest first."""
        return self._group(lambda k: [(k.op, 1.0)])

    def by_layer(self) -> list[dict]:
        """Time per layer, largest first. A kernel holding nodes of several layers (a fused
        kernel) splits its time between them by their node counts. Gradient scopes
        (``grad/dense_1``) count for their layer (``dense_1``)."""
        def split(k: Kernel):
            n = k.node
            scopes = [m.scope for m in n.attrs["body"].nodes() if m.op not in _SOURCES] \
                if n.op == "fused" else [n.scope]
            names = [layer_of(s) for s in scopes]
            counts: dict[str, int] = {}
            for s in names:
                counts[s] = counts.get(s, 0) + 1
            return [(s, c / len(names)) for s, c in counts.items()]
        return self._group(split)

    # -- output -----------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {"name": self.name, "mode": self.mode, "pipeline": self.pipeline,
                "calls": self.calls, "batch_size": self.batch_size,
                "total_seconds": self.total_seconds, "kernel_seconds": self.kernel_seconds,
                "dispatch_seconds": self.dispatch_seconds,
                "function_seconds_per_call": self.function_seconds,
                "compile_seconds": self.compile_seconds, "ceilings": self.ceilings,
                "kernels": self.rows(), "ops": self.by_op(), "layers": self.by_layer()}

    def table(self, top: int | None = 25) -> str:
        per = self.per_call
        peak_f = self.ceilings.get("gflops") or 0.0
        peak_b = self.ceilings.get("gbps") or 0.0
        lines = [f"Profile of {self.name!r}: {self.calls} calls"
                 + (f", batch {self.batch_size}" if self.batch_size else "")
                 + f", kernel by kernel ({self.mode}), pipeline {self.pipeline}",
                 f"  total             {per(self.total_seconds) * 1e3:10.3f} ms/call  = "
                 f"{len(self.kernels)} kernels {per(self.kernel_seconds) * 1e3:.3f} ms"
                 f" + dispatch {per(self.dispatch_seconds) * 1e3:.3f} ms"]
        if self.function_seconds is not None:
            how = "one compiled call" if self.mode == "compiled" else \
                "the reference interpreter, unoptimised graph"
            lines.append(f"  whole function    {self.function_seconds * 1e3:10.3f} ms/call  "
                         f"(as it really runs: {how})")
        lines.append(f"  kernel compile    {self.compile_seconds:10.3f} s")
        if self.ceilings:
            lines.append(f"  ceilings          sgemm {peak_f:.1f} GFLOP/s, stream copy "
                         f"{peak_b:.1f} GB/s  ({self.ceilings.get('cpu', '?')})")
        threads = blas_threads()
        if threads:
            lines.append(f"  BLAS threads      {threads} (on {os.cpu_count()} cores; BLAS threads "
                         f"competing with other busy processes slow products down a lot)")
        lines += ["", "Kernels (slowest first):",
                  f"  {'%time':>6} {'cum%':>6} {'ms/call':>9} {'GFLOP/s':>8} {'%pk':>4} "
                  f"{'GB/s':>7} {'%bw':>4}  {'kernel':<6} {'op':<16} layer(s) @ src"]
        cum = 0.0
        rows = self.rows()
        shown = rows if top is None else rows[:top]
        for r in shown:
            cum += r["percent"]
            pf = f"{100 * r['gflops'] / peak_f:4.0f}" if peak_f and r["flops"] else "   -"
            pb = f"{100 * r['gbps'] / peak_b:4.0f}" if peak_b and r["bytes"] else "   -"
            gf = f"{r['gflops']:8.2f}" if r["flops"] else "       -"
            where = ", ".join(r["layers"]) or "-"
            if r["src"]:
                where += f" @ {r['src']}"
            op = r["op"] + ("*" if r["how"] != "native" else "")
            lines.append(f"  {r['percent']:6.1f} {cum:6.1f} {r['ms_per_call']:9.4f} {gf} {pf} "
                         f"{r['gbps']:7.2f} {pb}  {r['kernel']:<6} {op:<16} {where}")
        if len(rows) > len(shown):
            rest = sum(r["percent"] for r in rows[len(shown):])
            lines.append(f"  {rest:6.1f}        ... {len(rows) - len(shown)} more kernels")
        d = 100.0 * self.dispatch_seconds / (self.total_seconds or 1.0)
        lines.append(f"  {d:6.1f} {100.0:6.1f} {per(self.dispatch_seconds) * 1e3:9.4f}"
                     f"  (dispatch: Python between kernels)")
        lines.append("  (* = runs its numpy reference, not native code)")
        for title, groups in (("Op groups", self.by_op()), ("Layers", self.by_layer())):
            lines += ["", f"{title}:", f"  {'%time':>6} {'ms/call':>9} {'kernels':>7}  name"]
            for g in groups:
                lines.append(f"  {g['percent']:6.1f} {g['ms_per_call']:9.4f} "
                             f"{g['kernels']:7d}  {g['name'] or '<top level>'}")
        return "\n".join(lines)

    def __str__(self):
        return self.table()


def layer_of(scope: str) -> str:
    """The layer a scope belongs to: ``grad/dense_1/activation`` -> ``dense_1``; the gradient
    of a layer built in an optimizer's scope (``training/SGD/grad/dense_1``) -> ``dense_1``;
    optimizer, loss and metric scopes keep two parts (``training/SGD``, ``loss/dense_2_loss``).
    """
    parts = [p for p in (scope or "").split("/") if p and p != "grad"]
    if len(parts) > 2 and parts[0] == "training":
        parts = parts[2:]
    if not parts:
        return ""
    if parts[0] in ("training", "loss", "metrics"):
        return "/".join(parts[:2])
    return parts[0]


def profile(obj, inputs=None, n: int = 10, *, step: str | None = None,
            batch_size: int = 32, pipeline=None, mode: str = "compiled", warmup: int = 1,
            whole: bool = True, calibration: dict | bool | None = None) -> Profile:
    """Profile a function kernel by kernel over ``n`` calls.

    Args:
        obj: a ``K.function`` / Function, a Model (with ``step``), or a Graph.
        inputs: the input arrays (a list, in the function's input order); default: random
            arrays of ``batch_size`` (:func:`example_inputs`).
        n: number of timed calls.
        step: for a model: ``'train'``, ``'test'`` or ``'predict'``.
        batch_size: the batch size of generated inputs.
        pipeline: optimisation pipeline (default: the ``pipeline`` setting).
        mode: ``'compiled'`` (each kernel native, as the code generator builds it) or
            ``'reference'`` (numpy reference of every node; no compilation).
        warmup: untimed calls first.
        whole: also time the real function (one compiled call) for comparison.
        calibration: ceilings dict, True to measure / read the cache (the default in
            compiled mode), False for none.
    Returns:
        A :class:`Profile`.

    Example:
        >>> p = profile(f, [x_batch, y_batch], n=50)
        >>> print(p.table(top=10))
    """
    from .inspect import function_of, graph_of, is_function, is_model
    from .passes.manager import optimize
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n (number of calls) must be a positive int, got {n!r}")
    fn = function_of(obj, step) if (is_function(obj) or is_model(obj)) else None
    graph = graph_of(obj, step) if fn is None else fn.graph
    if pipeline is None:
        pipeline = config.get("pipeline")
    used_batch = None
    if inputs is None:
        if fn is None:
            raise ValueError("profiling a bare Graph needs its input arrays (inputs=...)")
        inputs = example_inputs(fn, batch_size)
        used_batch = batch_size
    arrays = _full_inputs(fn, inputs) if fn is not None else list(inputs)
    if len(arrays) != len(graph.inputs):
        raise ValueError(f"profile: the graph takes {len(graph.inputs)} input arrays, got "
                         f"{len(arrays)}")
    opt, _ = optimize(graph, pipeline)
    runner = KernelRunner(opt, mode)
    for k in range(max(warmup, 1)):
        runner.run(arrays, measure_cost=(k == 0))
    runner.reset()
    total = 0.0
    for _ in range(n):
        dt, _ = runner.run(arrays)
        total += dt
    func_time = None
    if whole and fn is not None:
        func_time = _time_function(fn, inputs, n, mode)
    if calibration is None:
        calibration = mode == "compiled"
    ceilings = calibration if isinstance(calibration, dict) else (
        calibrate() if calibration else {})
    label = pipeline if isinstance(pipeline, str) else ",".join(pipeline)
    return Profile(name=graph.name, mode=mode, pipeline=label, calls=n, batch_size=used_batch,
                   kernels=runner.kernels, total_seconds=total, function_seconds=func_time,
                   compile_seconds=runner.compile_seconds, ceilings=ceilings)


def _time_function(fn, inputs, n: int, mode: str) -> float:
    """Median seconds of one call of the real function (variables restored afterwards);
    in reference mode, of one call of the reference interpreter on the unoptimised graph."""
    call = lambda: fn(list(inputs))                                    # noqa: E731
    if mode == "reference":
        from .function import ReferenceExecutor
        ref = ReferenceExecutor(fn.graph)
        arrays = _full_inputs(fn, inputs)
        call = lambda: ref(arrays)                                     # noqa: E731
    with _Snapshot(fn.graph), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        call()                                             # builds the executor
        times = []
        for _ in range(max(n, 3)):
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
    return float(np.median(times))


__all__ = ["profile", "Profile", "Kernel", "KernelRunner", "calibrate", "kernel_cost",
           "example_inputs", "layer_of", "cpu_name"]
