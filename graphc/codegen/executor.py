"""CompiledFunction: runs a lowered Program -- native segments, Python steps, updates.

The hot path of a graph without python-fallback nodes is one call of one numba function:
the wrapper puts the caller's arrays, the variables' current ``.value`` arrays and the large
constants into the argument list and returns the outputs. Each segment is compiled eagerly
for its exact signature (C-contiguous arrays of the graph's dtypes and ranks), and numba may
not compile more on its own, so a call never silently recompiles: arguments that do not
match (a non-contiguous view, a read-only or re-typed variable) are normalised on a slow path
and the call retried.
"""
from __future__ import annotations

import logging
import math
import os
import time

import numpy as np

from ..ir.interpreter import RngStates, run_node
from .cpu.lower import KERNEL_PREFIX, Program, PyStep, Segment, warn_fallback
from .cpu.runtime.fpenv import restore_fpenv

logger = logging.getLogger("graphc.compile")


def _log_compiles() -> bool:
    return os.environ.get("GRAPHC_LOG_COMPILES", "") not in ("", "0")


def _log(msg: str) -> None:
    if _log_compiles():
        if not logger.hasHandlers():
            h = logging.StreamHandler()
            h.setFormatter(logging.Formatter("%(name)s: %(message)s"))
            logger.addHandler(h)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
        logger.info(msg)
    else:
        logger.debug(msg)


def _numba_type(dtype: str, ndim: int, readonly: bool):
    from numba import types
    from numba.np.numpy_support import from_dtype
    return types.Array(from_dtype(np.dtype(dtype)), ndim, "C", readonly=readonly)


class CompiledFunction:
    """A graph compiled to native code.

    Call it with the graph's input arrays (in ``graph.inputs`` order, already validated and
    cast); it returns the list of output arrays and applies ``graph.updates`` to the
    variables' storage.

    Attributes:
        graph: the graph that was compiled.
        source: the generated Python/numba source.
        stats: compile seconds by phase (``lower``, ``load``, ``numba``, ``total``) and counts
            (``segments``, ``python_nodes``, ``cache_hits``; ``buffers``: intermediate buffers
            the memory plan placed, ``buffers_reused``: how many of them reuse a dead one).
    """

    def __init__(self, graph, program: Program, module, stats: dict):
        self.graph = graph
        self.program = program
        self.source = program.full_source
        self.stats = stats
        self._module = module
        self._rng = RngStates()
        p = program
        self._steps = []
        for step in p.steps:
            if isinstance(step, Segment):
                self._steps.append((True, getattr(module, step.name), step.params, step.rets))
            else:
                self._steps.append((False, step, step.ins, step.outs))
        self._vars = [(s, v.node.attrs["var"]) for s, v in p.var_slots]
        self._var_by_slot = {s: var for s, var in self._vars}
        template = [None] * p.n_slots
        for s, arr in p.const_slots:
            template[s] = arr
        self._template = template
        self._fast = None
        segs = [s for s in p.steps if isinstance(s, Segment)]
        if len(p.steps) == 1 and segs and not p.random_pre and not p.py_commits:
            self._fast = self._make_fast(segs[0])
        self.blas_threads = _BlasThreadPolicy.for_program(program, graph)
        if self.blas_threads is not None:
            self._fast = self.blas_threads.wrap(self._fast or self._general)
        # the cheapest callable with ``__call__``'s contract (Function calls it directly)
        self.fast_call = self._fast or self.__call__

    def kernel_dispatchers(self) -> dict:
        """The numba dispatcher of each kernel the drivers call, by kernel module name (for
        inspection: ``inspect_llvm()``, ``inspect_asm()``, ``signatures``)."""
        import sys
        return {f"{KERNEL_PREFIX}_{k}": sys.modules[f"{KERNEL_PREFIX}_{k}"].kernel
                for k in self.program.kernels}

    # -- the common case: one native call ---------------------------------------------------
    def _make_fast(self, seg: Segment):
        p = self.program
        fn = self._steps[0][1]
        kinds = []
        pos = {s: i for i, s in enumerate(p.input_slots)}
        for s in seg.params:
            if s in pos:
                kinds.append(("in", pos[s]))
            elif s in self._var_by_slot:
                kinds.append(("var", self._var_by_slot[s]))
            else:
                kinds.append(("const", self._template[s]))
        n_in = len(p.input_slots)
        # outputs: index into the returned tuple, or an input/variable/constant slot
        rpos = {s: i for i, s in enumerate(seg.rets)}
        outs = []
        for s, copy in zip(p.output_slots, p.output_copy):
            if s in rpos:
                outs.append(("ret", rpos[s], False))
            elif s in pos:
                outs.append(("in", pos[s], False))
            elif s in self._var_by_slot:
                outs.append(("var", self._var_by_slot[s], True))
            else:
                outs.append(("const", self._template[s], True))
        simple_args = all(k == "in" for k, _ in kinds) and \
            [i for _, i in kinds] == list(range(n_in))
        simple_outs = all(k == "ret" for k, _, _ in outs) and \
            [i for _, i, _ in outs] == list(range(len(seg.rets)))

        if simple_args and simple_outs and len(seg.rets) == len(outs):
            def call(arrays):
                try:
                    return list(fn(*arrays))
                except TypeError:
                    return list(self._retry(fn, seg, list(arrays), kinds))
                except BaseException:
                    restore_fpenv()
                    raise
            return call

        def call(arrays):
            args = []
            for k, x in kinds:
                if k == "in":
                    args.append(arrays[x])
                elif k == "var":
                    args.append(x.value)
                else:
                    args.append(x)
            try:
                res = fn(*args)
            except TypeError:
                res = self._retry(fn, seg, args, kinds)
            except BaseException:
                restore_fpenv()
                raise
            result = []
            for k, x, copy in outs:
                if k == "ret":
                    result.append(res[x])
                elif k == "in":
                    result.append(arrays[x])
                elif k == "var":
                    result.append(x.value.copy())
                else:
                    result.append(np.array(x))
            return result
        return call

    def _retry(self, fn, seg: Segment, args: list, kinds):
        """Normalise arguments to the compiled signature and call again."""
        p = self.program
        fixed = []
        for i, (s, a) in enumerate(zip(seg.params, args)):
            dtype, ndim = p.slot_types[s]
            arr = np.asarray(a)
            if arr.ndim != ndim:
                raise TypeError(f"graphc: argument {i} of the compiled function has rank "
                                f"{arr.ndim}, expected {ndim} (dtype {dtype})")
            var = self._var_by_slot.get(s)
            need_write = var is not None
            if arr.dtype.name != dtype or not arr.flags.c_contiguous or \
                    (need_write and not arr.flags.writeable):
                arr = np.array(arr, dtype=dtype, order="C", copy=True)
                if var is not None:
                    var.value = arr      # the variable now owns a well-formed buffer
            fixed.append(arr)
        _log(f"compiled function {seg.name}: arguments normalised (dtype/layout/writeable)")
        return fn(*fixed)

    # -- general path ------------------------------------------------------------------------
    def __call__(self, arrays):
        """Run the compiled graph.

        Args:
            arrays: one numpy array per graph input, in ``graph.inputs`` order.
        Returns:
            A list of output arrays (``graph.outputs`` order).

        Example:
            >>> f = compile_graph(Graph([x], [x * 2.0]))
            >>> f([np.ones(3, np.float32)])
            [array([2., 2., 2.], dtype=float32)]
        """
        if self._fast is not None:
            return self._fast(arrays)
        return self._general(arrays)

    def _general(self, arrays):
        p = self.program
        env = list(self._template)
        for s, a in zip(p.input_slots, arrays):
            env[s] = a
        for s, var in self._vars:
            env[s] = var.value
        for step in p.random_pre:
            self._run_python(step, env)
        for native, obj, ins, outs in self._steps:
            if native:
                args = [env[s] for s in ins]
                try:
                    res = obj(*args)
                except BaseException as e:
                    if not isinstance(e, TypeError):
                        restore_fpenv()
                        raise
                    res = self._retry(obj, _SegView(ins), args, None)
                    for s in ins:                # the retry may have replaced variables
                        var = self._var_by_slot.get(s)
                        if var is not None:
                            env[s] = var.value
                for s, r in zip(outs, res):
                    env[s] = r
            else:
                self._run_python(obj, env)
        result = []
        for s, copy in zip(p.output_slots, p.output_copy):
            a = env[s]
            result.append(np.array(a) if copy else a)
        if p.py_commits:
            self._commit(env)
        return result

    def _run_python(self, step: PyStep, env: list) -> None:
        node = step.node
        if step.like is not None:
            # a random op copies only the SHAPE of its input: a zero-stride stand-in
            dims, dtype = step.like
            shape = tuple(d[1] if d[0] == "dim" else env[d[1]].shape[d[2]] for d in dims)
            args = [np.broadcast_to(np.zeros((), dtype), shape)]
        else:
            args = [env[s] for s in step.ins]
        try:
            outs = run_node(node, args, self._rng)
        except Exception as e:
            shapes = ", ".join(str(getattr(a, "shape", "?")) for a in args)
            raise type(e)(f"{e} [while running {node.op} on shapes {shapes}, built in "
                          f"{node.provenance}]") from e
        for s, a in zip(step.outs, outs):
            # (np.ascontiguousarray would turn a 0-d array into a 1-d one)
            env[s] = a if a.flags.c_contiguous else np.array(a, order="C")

    def _commit(self, env: list) -> None:
        """Python-side updates: all new values first (copied if they are some variable's
        storage), then the writes."""
        storages = {id(var.value) for _, var in self._vars}
        news = []
        for vs, ns in self.program.py_commits:
            new = env[ns]
            if id(new) in storages or not isinstance(new, np.ndarray):
                new = np.array(new)
            news.append((self._var_by_slot[vs], new))
        for var, new in news:
            cur = var.value
            if isinstance(cur, np.ndarray) and cur.shape == new.shape and \
                    cur.dtype == new.dtype and cur.flags.writeable:
                cur[...] = new
            else:
                var.value = np.array(new)


# kernels of graphc.codegen.cpu.runtime.conv / .pool that call BLAS (imported by name)
_BLAS_KERNELS = ("conv2d_fwd", "conv2d_bwd_input", "conv2d_bwd_filter")


# Multiply-adds of the largest product per BLAS thread: n threads from n * 2^25 (a second
# thread from ~2 ms of one core at BLAS speed, 35 G multiply-adds/s). Measured on the 2-core
# dev machine, seed MLP train step (bench/RESULTS.md, third session): batch 32 (25.7M) 1.9 ms
# on one thread, 3.7 ms on two; batch 128 (103M) 5.8 ms on one, 2.9 ms on two. With another
# busy process on the cores two threads lose (batch 128: 7.6 vs 5.2 ms); the rule cannot know
# the load and stays a pure function of the shapes (same seed, same weights).
WORK_PER_THREAD = 1 << 25


def blas_threads_for(work: float, ncores: int) -> int:
    """The thread count for a call whose largest product is ``work`` multiply-adds.

    A pure function (no timing, no machine load), so the same shapes on the same core count
    always run with the same threads and give bit-identical results: one thread per
    ``WORK_PER_THREAD`` multiply-adds, at least 1, at most ``ncores``.

    Example:
        >>> blas_threads_for(32 * 784 * 1024, 2), blas_threads_for(1024 * 784 * 1024, 2)
        (1, 2)
    """
    return max(1, min(int(ncores), int(work // WORK_PER_THREAD)))


def _products(graph) -> list:
    """The operand and result shapes of every contraction and convolution of ``graph``
    (fused bodies included), for :func:`product_work`."""
    from ..ir import Graph
    found, seen, todo = [], set(), [graph]
    while todo:
        g = todo.pop()
        for node in g.nodes():
            for attr in node.attrs.values():
                if isinstance(attr, Graph) and id(attr) not in seen:
                    seen.add(id(attr))
                    todo.append(attr)
            kind = getattr(node.opdef, "kind", "")
            if (kind == "contraction" or (kind == "nn" and "conv" in node.op)) and \
                    len(node.inputs) >= 2:
                found.append(tuple(v.type.shape for v in (*node.inputs[:2], node.outputs[0])))
    return found


def product_work(products, batch: int) -> float:
    """The multiply-adds of the largest product at batch size ``batch``.

    Each product counts sqrt(|a| |b| |out|) (exactly M*K*N for a matrix product), with every
    symbolic dimension taken as ``batch``.
    """
    def size(shape):
        n = 1
        for d in shape:
            n *= batch if isinstance(d, str) else (1 if d is None else d)
        return n
    return max((math.sqrt(size(a) * size(b) * size(c)) for a, b, c in products), default=0.0)


class _BlasThreadPolicy:
    """Who owns the cores during a call: BLAS with one thread or with several.

    The generated loops are serial, so the only threads are OpenBLAS's. The count is a pure
    function of the shapes and the core count (:func:`blas_threads_for` of the largest
    product at the call's batch size), never of timings: a thread count that followed the
    machine's load would change the order of floating-point sums (numba's parallel
    reductions, blocked products) and the same seed would not give the same weights.
    ``GRAPHC_BLAS_THREADS=<n>`` fixes the count instead (``auto`` is the default).

    In a parallel program (``prange`` loops, products split by ``native.par_gemm``) the
    count chosen is numba's, and BLAS runs on one thread: one owner of the cores at a time.
    A parallel program without products uses every core.
    """

    def __init__(self, ncores: int, fixed: int | None, parallel: bool = False,
                 products: list | None = None, batch_at: tuple | None = None):
        self.ncores = ncores
        self.fixed = fixed
        # parallel programs: the count set is numba's (prange loops, par_gemm blocks) and
        # BLAS stays at one thread, so only one kind of thread ever runs at a time
        self.parallel = parallel
        self.products = products or []
        self.batch_at = batch_at            # (input index, axis) of the batch size, or None
        self.choice: dict[int, int] = {}    # batch size -> thread count (memo of the rule)

    @classmethod
    def for_program(cls, program, graph=None):
        # numba's threads own the cores (prange loops, products split in blocks by
        # native.par_gemm): every sgemm runs on the thread that calls it
        text = program.full_source
        parallel = "par_gemm(" in text or "prange(" in text
        # gemm in the generated source, or a precompiled kernel that calls it (convolutions)
        if "gemm(" not in text and not parallel and \
                not any(f"import {k}" in text for k in _BLAS_KERNELS):
            return None
        from .cpu.runtime import blas as native
        if native.blas_library() is None and not parallel:
            return None
        want = os.environ.get("GRAPHC_BLAS_THREADS", "auto").strip().lower()
        ncores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else (os.cpu_count() or 1)
        if parallel:
            import numba
            ncores = min(ncores, numba.config.NUMBA_NUM_THREADS)
        if want not in ("", "auto"):
            try:
                return cls(ncores, min(ncores, max(1, int(want))) if parallel
                           else max(1, int(want)), parallel)
            except ValueError:
                raise ValueError(f"GRAPHC_BLAS_THREADS must be 'auto' or a positive integer, "
                                 f"got {want!r}") from None
        if ncores <= 1:
            return None
        products = _products(graph) if graph is not None else []
        batch_at = None
        for i, v in enumerate(graph.inputs if graph is not None else ()):
            axes = [a for a, d in enumerate(v.type.shape) if isinstance(d, str)]
            if axes:
                batch_at = (i, axes[0])
                break
        if parallel:
            return cls(ncores, None, True, products, batch_at)
        from .cpu.lowering.nn import PARALLEL_KERNELS
        if any(f"import {k}\n" in text for k in PARALLEL_KERNELS):
            # batch-parallel conv/pool kernels own the cores; each of their threads calls
            # sgemm, which must not start threads of its own (they would fight on the cores)
            return cls(ncores, 1)
        return cls(ncores, None, False, products, batch_at)

    def threads(self, batch: int) -> int:
        """The thread count for calls at batch size ``batch`` (the rule, memoised)."""
        n = self.choice.get(batch)
        if n is None:
            if self.fixed is not None:
                n = self.fixed
            elif self.parallel and not self.products:   # prange loops alone: every core
                n = self.ncores
            else:
                n = blas_threads_for(product_work(self.products, batch), self.ncores)
            self.choice[batch] = n
            _log(f"{'numba' if self.parallel else 'BLAS'} threads for batch size {batch}: "
                 f"{n} (largest product {product_work(self.products, batch):.3g} "
                 f"multiply-adds, {self.ncores} cores)")
        return n

    def wrap(self, call):
        from .cpu.runtime.blas import blas_set_threads
        set_threads = _numba_threads_setter() if self.parallel else blas_set_threads
        fixed = self.fixed
        if fixed is not None:
            def fixed_call(arrays):
                set_threads(fixed)
                return call(arrays)
            return fixed_call
        choice, threads, at = self.choice, self.threads, self.batch_at

        def ruled_call(arrays):
            batch = 1
            if at is not None and len(arrays) > at[0]:
                shape = getattr(arrays[at[0]], "shape", ())
                batch = shape[at[1]] if len(shape) > at[1] else 1
            n = choice.get(batch)
            set_threads(n if n is not None else threads(batch))
            return call(arrays)
        return ruled_call


def _numba_threads_setter():
    """``set(n)``: BLAS at one thread and numba's parallel loops on ``n`` threads (for the
    calling thread; numba keeps the count per thread), each changed only when it differs."""
    import threading

    import numba
    from .cpu.runtime.blas import blas_set_threads
    last = _NUMBA_THREADS
    ident = threading.get_ident

    def set_threads(n: int) -> None:
        blas_set_threads(1)
        t = ident()
        if last.get(t) != n:
            numba.set_num_threads(n)
            last[t] = n
    return set_threads


_NUMBA_THREADS: dict[int, int] = {}     # thread id -> numba thread count graphc last set


class _SegView:
    """The parameter list of a segment, for ``_retry`` on the general path."""

    def __init__(self, params):
        self.params = params
        self.name = "segment"


def _compile_driver(disp, sig, key: str, name: str, kernels: frozenset) -> None:
    """Compile (or load) one driver, with the kernel symbols its code calls registered.

    ``kernels``: the kernel modules the driver calls (from the kernel IR). A driver loaded
    from numba's cache was typed in another process: the kernels it calls (stored beside it
    as ``<key>.<name>.<signature digest>.kcalls``: module and argument types per line) are
    loaded and registered first. A record that is missing, unreadable, or does not name exactly the
    kernels the driver calls is not trusted: numba's cached copy is flushed, so the driver
    is typed again (its calls register their kernels), and the record is written from the
    kernel symbols the new code declares (see ``cpu/runtime/linker.py``). The record is written
    only from code compiled by this call -- never from a driver that this process loaded
    from the cache, whose code declares nothing -- so it cannot lose a kernel.
    """
    import hashlib

    from . import cache
    from .cpu.runtime import linker
    if sig in disp.overloads:         # compiled or loaded earlier in this process
        return
    # one record per signature: the kernels' argument types follow the driver's
    blob = f"{name}.{hashlib.sha256(str(sig).encode()).hexdigest()[:16]}.kcalls"
    disp.disable_compile(False)       # the same source may serve several signatures
    try:
        if not kernels:
            disp.compile(sig)
            return
        record = cache.load_blob(key, blob)
        ok = record is not None
        if ok:
            try:
                calls = [line.split("\t") for line in record.decode("utf-8").splitlines()]
                if {c[0] for c in calls} != kernels:
                    raise ValueError("it does not name the kernels the driver calls")
                for module_name, *argtys in calls:
                    linker.ensure(module_name, [linker.parse_type(t) for t in argtys])
            except (UnicodeDecodeError, ValueError, KeyError) as exc:
                _log(f"kernel record of {name} unusable ({exc}): recompiling the driver")
                ok = False
        if not ok and getattr(disp, "_cache", None) is not None:
            disp._cache.flush()
        hits = sum(disp.stats.cache_hits.values())
        disp.compile(sig)
        if not ok or sum(disp.stats.cache_hits.values()) == hits:
            # compiled here (not loaded): record the kernels its code calls
            calls = linker.calls_of(disp.overloads[sig].library)
            if {m for m, _ in calls} != kernels:
                raise RuntimeError(f"internal error: driver {name} declares kernels "
                                   f"{sorted(m for m, _ in calls)}, its kernel IR calls "
                                   f"{sorted(kernels)}")
            text = "\n".join("\t".join((m,) + tuple(t)) for m, t in calls)
            cache.store_blob(key, blob, text.encode("utf-8"))
    finally:
        disp.disable_compile()


def _kernels_called(program: Program, name: str) -> frozenset:
    """The kernel modules driver ``name`` calls, from the program's kernel IR."""
    from .kir import KernelCall
    kir = program.kir
    if kir is None:
        return frozenset()
    return frozenset(program.kernel_modules[item.kernel.key] for d in kir.drivers
                     if d.name == name for item in d.body if isinstance(item, KernelCall))


def build(graph, program: Program, parallel: bool) -> CompiledFunction:
    """Load the generated module through the cache and compile every segment eagerly."""
    from . import cache
    from .cpu.runtime.arrays import tune_malloc
    tune_malloc()
    t0 = time.perf_counter()
    for kkey, ksrc in program.kernels.items():     # kcall finds them in sys.modules
        cache.load_generated_module(ksrc, kkey, module_prefix=KERNEL_PREFIX)
    key = cache.key("graphc-cpu-1", program.source)
    module = cache.load_generated_module(program.source, key)
    t1 = time.perf_counter()
    hits = 0
    for step in program.steps:
        if not isinstance(step, Segment):
            continue
        disp = getattr(module, step.name)
        sig = tuple(_numba_type(*program.slot_types[s], s in program.readonly_slots)
                    for s in step.params)
        before = sum(disp.stats.cache_hits.values())
        _compile_driver(disp, sig, key, step.name, _kernels_called(program, step.name))
        got = sum(disp.stats.cache_hits.values()) - before
        hits += got
        _log(f"compiled {graph.name}.{step.name} ({len(step.nodes)} nodes): "
             f"{'numba cache hit' if got else 'new graph or cache miss: compiled'}")
    t2 = time.perf_counter()
    for op in program.fallback_ops:
        warn_fallback(op)
    stats = {"load": t1 - t0, "numba": t2 - t1, "cache_hits": hits,
             "segments": sum(isinstance(s, Segment) for s in program.steps),
             "python_nodes": sum(isinstance(s, PyStep) for s in program.steps),
             "buffers": program.memory.get("allocations", 0),
             "buffers_reused": program.memory.get("reused", 0)}
    return CompiledFunction(graph, program, module, stats)
