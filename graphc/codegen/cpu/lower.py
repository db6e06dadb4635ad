"""Lowering a Graph to a Program: the schedule, the kernel IR, and the Python steps around it.

Every node is classified: *native* (a lowering of cpu/lowering/ writes its code), *random* (its
values are drawn in Python before the native call, from one numpy Generator per node, and
passed in as an argument), or *python* (no lowering: its numpy reference runs between native
segments, with one warning per op name).

Native nodes are grouped into as few segments as the python nodes allow: ``seg(n)`` = the
latest segment or python node it depends on; without python nodes the whole graph --
forward, backward and variable updates -- is ONE native call. Values cross segment
boundaries through slots of an environment list; every value in a slot is a C-contiguous
array of its static dtype and rank, which makes the numba signatures exact.

Each segment becomes a kernel-IR driver (``graphc.codegen.kir``): the code of each node is
one unit, written by its lowering into a :class:`~graphc.codegen.cpu.writer.SegmentWriter`
(intermediate buffers reused by liveness through its memory plan); ``kir_passes.outline``
then decides which units form which kernels -- identical code is one kernel, compiled once
-- and ``render.py`` prints the driver module and one module per kernel. A unit with a
``prange`` loop is a kernel of its own, compiled with numba's parallel flags (its parfor
passes then run over that kernel only); large products call ``native.par_gemm``.

Variable updates follow Theano semantics: every new value is computed from the OLD values,
then all are written in place into the variables' arrays (at the end of the last segment, or
in Python when a python node runs last).
"""
from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass, field

import numpy as np

from ...ir.graph import Graph
from ...ir.node import Node, Value
from ...ir.ops import REGISTRY
from .writer import NEVER, MemoryPlan, ModuleWriter, SegmentWriter
from ..kir import Driver, Module, Unit
from ..kir_passes import outline
from . import lowering
from .scalar import tuple_text
from .render import render_kernel, render_module
from .scalar import PRELUDE

SMALL_CONST = 64            # constants up to this many elements are baked into the source
_warned_ops: set[str] = set()


def warn_fallback(op: str) -> None:
    """One warning per op name and process: the op runs its numpy reference."""
    if op in _warned_ops:
        return
    _warned_ops.add(op)
    warnings.warn(f"graphc: op {op!r} has no native CPU emitter; it runs its numpy reference "
                  f"implementation between compiled segments (slower, still correct)",
                  RuntimeWarning, stacklevel=3)


@dataclass
class Segment:
    """One generated numba function."""
    name: str
    params: list[int] = field(default_factory=list)     # slots read
    rets: list[int] = field(default_factory=list)       # slots written
    nodes: list[Node] = field(default_factory=list)
    commits: list[tuple[int, int]] = field(default_factory=list)  # (var slot, value slot)


@dataclass
class PyStep:
    """A node run through its numpy reference (also random nodes with computed inputs)."""
    node: Node
    ins: list[int]
    outs: list[int]
    # random ops whose ``like`` input is computed in the graph: its run-time shape from the
    # call's input arrays (("dim", d) or ("in", slot, axis) per axis) and its dtype
    like: tuple | None = None


@dataclass
class Program:
    """What the executor runs; see the module docstring."""
    source: str
    n_slots: int
    input_slots: list[int]
    var_slots: list[tuple[int, Value]]          # slot, variable Value (read .value per call)
    const_slots: list[tuple[int, np.ndarray]]
    random_pre: list[PyStep]                    # drawn before the first segment
    steps: list                                 # Segment | PyStep in run order
    output_slots: list[int]
    output_copy: list[bool]                     # copy before returning (source storage)
    py_commits: list[tuple[int, int]]           # (var slot, value slot) done in Python
    slot_types: list[tuple[str, int]]           # (dtype, ndim) per slot
    readonly_slots: set[int]
    fallback_ops: list[str]
    # memory plan: buffers allocated (np.empty sites that ran through the plan) and how many
    # of them reuse a dead intermediate instead of allocating (see MemoryPlan)
    memory: dict = field(default_factory=dict)
    # the kernels the drivers call: cache key of the kernel's module -> its source
    kernels: dict = field(default_factory=dict)
    kir: object = None                          # the kernel-IR Module (graphc.codegen.kir)
    kernel_modules: dict = field(default_factory=dict)   # kernel key -> its module's name

    @property
    def full_source(self) -> str:
        """The step's module, then the module of each kernel it calls (what runs natively)."""
        parts = [self.source] + [f"# ---- kernel module {KERNEL_PREFIX}_{k}\n{src}"
                                 for k, src in self.kernels.items()]
        return "\n".join(parts)


def flush_denormals() -> bool:
    """Whether generated functions run with flush-to-zero / denormals-are-zero set (x86 MXCSR,
    restored on exit). ``GRAPHC_FTZ=0`` turns it off; the default is on, as in XLA: float32
    denormals (e.g. Adam's ``g*g`` on tiny gradients) are ~100x slower on some CPUs."""
    import os
    return os.environ.get("GRAPHC_FTZ", "1") not in ("0", "")


def _is_small_const(v: Value) -> bool:
    return v.node.op == "constant" and int(np.prod(v.shape)) <= SMALL_CONST and \
        v.dtype != "float16"


def _is_random(node: Node) -> bool:
    return REGISTRY[node.op].kind == "random"


def lower(graph: Graph, parallel: bool | str = False, memory_plan: bool | None = None) -> Program:
    """Classify, schedule and generate code for ``graph``.

    Args:
        graph: the (optimised) graph; its ``inputs`` are the call's arrays in order.
        parallel: False = serial loops; True = ``prange`` for the outer loop of every
            race-free top-level loop nest (elementwise regions, reductions keeping axis 0,
            softmax / crossentropy rows); "auto" = both versions of each such nest, chosen at
            run time by its element count (:data:`PARALLEL_MIN_WORK`).
        memory_plan: reuse dead intermediate buffers (:class:`MemoryPlan`); False = one
            ``np.empty`` per intermediate (tests compare both); None = on unless the
            environment sets ``GRAPHC_MEMORY_PLAN=0``.
    Returns:
        A Program (source text plus the run plan).

    Example:
        >>> print(lower(graph, parallel="auto").source)
    """
    if parallel not in (True, False, "auto"):
        raise ValueError(f"parallel must be True, False or 'auto', got {parallel!r}")
    if memory_plan is None:
        import os
        memory_plan = os.environ.get("GRAPHC_MEMORY_PLAN", "1").strip() not in ("0", "")
    graph.require_inputs()
    order = graph.nodes()
    kind: dict[int, str] = {}
    for n in order:
        if not n.inputs and n.op in ("input", "variable", "constant"):
            kind[n.id] = "source"
        elif _is_random(n):
            ok = all(v.node.op in ("input", "variable", "constant") for v in n.inputs)
            ok = ok or (len(n.inputs) == 1 and _like_shape(n.inputs[0], graph) is not None)
            kind[n.id] = "random" if ok else "python"
        elif lowering.native_supported(n):
            kind[n.id] = "native"
        else:
            kind[n.id] = "python"

    # -- schedule: segment index of native nodes, gap index of python nodes -----------------
    seg_of: dict[int, int] = {}
    gap_of: dict[int, int] = {}
    for n in order:
        k = kind[n.id]
        if k in ("source", "random"):
            continue
        level = 0
        for v in n.inputs:
            p = v.node
            pk = kind[p.id]
            if pk == "native":
                level = max(level, seg_of[p.id] + (1 if k == "python" else 0))
            elif pk == "python":
                level = max(level, gap_of[p.id])
        if k == "native":
            seg_of[n.id] = level
        else:
            gap_of[n.id] = level
    n_segs = (max(seg_of.values()) + 1) if seg_of else 0

    def stage(n: Node) -> int:
        k = kind[n.id]
        if k in ("source", "random"):
            return -1
        return 2 * seg_of[n.id] + 1 if k == "native" else 2 * gap_of[n.id]

    last_stage = max([stage(n) for n in order] + [-1])
    native_commit = n_segs > 0 and last_stage == 2 * (n_segs - 1) + 1 and bool(graph.updates)
    FINAL = 10 ** 9

    # -- slots -------------------------------------------------------------------------------
    slot_of: dict[int, int] = {}
    slot_types: list[tuple[str, int]] = []
    readonly: set[int] = set()

    def slot(v: Value) -> int:
        s = slot_of.get(id(v))
        if s is None:
            s = slot_of[id(v)] = len(slot_types)
            slot_types.append((v.dtype, v.ndim))
        return s

    input_slots = [slot(v) for v in graph.inputs]
    var_slots, const_slots = [], []
    for n in order:
        v = n.outputs[0] if n.outputs else None
        if n.op == "variable":
            var_slots.append((slot(v), v))
        elif n.op == "constant" and not (_is_small_const(v) and _only_native_users(v, order,
                                                                                  kind)
                                         and all(o is not v for o in graph.outputs)):
            s = slot(v)
            const_slots.append((s, np.ascontiguousarray(n.attrs["value"])))
            readonly.add(s)

    uses: dict[int, list[int]] = {}          # id(value) -> stages that read it
    for n in order:
        if kind[n.id] == "source":
            continue
        st = stage(n)
        for v in n.inputs:
            uses.setdefault(id(v), []).append(st)
    commit_stage = 2 * (n_segs - 1) + 1 if native_commit else FINAL
    for v in graph.outputs:
        uses.setdefault(id(v), []).append(FINAL)
    for var, new in graph.updates:
        uses.setdefault(id(new), []).append(commit_stage)
        uses.setdefault(id(var), []).append(commit_stage)

    values_by_id = {id(o): o for n in order for o in n.outputs}

    # -- segments and python steps -----------------------------------------------------------
    segments = [Segment(f"seg{k}") for k in range(n_segs)]
    gaps: dict[int, list[PyStep]] = {}
    random_pre: list[PyStep] = []
    fallback_ops: list[str] = []
    for n in order:
        k = kind[n.id]
        if k == "native":
            segments[seg_of[n.id]].nodes.append(n)
        elif k == "random":
            if all(v.node.op in ("input", "variable", "constant") for v in n.inputs):
                random_pre.append(PyStep(n, [slot(v) for v in n.inputs],
                                         [slot(o) for o in n.outputs]))
            else:
                like = _like_shape(n.inputs[0], graph)
                like = tuple(("dim", d) if isinstance(d, int) else ("in", slot(x), ax)
                             for d, (x, ax) in zip(n.inputs[0].shape, like))
                random_pre.append(PyStep(n, [], [slot(o) for o in n.outputs],
                                         like=(like, n.inputs[0].dtype)))
        elif k == "python":
            gaps.setdefault(gap_of[n.id], []).append(
                PyStep(n, [slot(v) for v in n.inputs], [slot(o) for o in n.outputs]))
            if not _is_random(n) and n.op not in fallback_ops:
                fallback_ops.append(n.op)

    module = ModuleWriter(parallel)
    drivers: list[Driver] = []
    mem = {"allocations": 0, "reused": 0}
    ftz = flush_denormals()
    for k, seg in enumerate(segments):
        st = 2 * k + 1
        produced = {id(o) for n in seg.nodes for o in n.outputs}
        params: list[Value] = []
        seen = set()
        reads = [v for n in seg.nodes for v in n.inputs]
        # variables / constants returned as outputs leave the last segment as copies, taken
        # before the updates are written
        source_outs = [v for v in graph.outputs if v.node.op in ("variable", "constant")] \
            if k == n_segs - 1 else []
        reads += source_outs
        if native_commit and k == n_segs - 1:
            reads += [x for pair in graph.updates for x in pair]
        for v in reads:
            if id(v) in produced or id(v) in seen:
                continue
            if _is_small_const(v) and id(v) not in slot_of:
                continue                      # baked into the source
            seen.add(id(v))
            params.append(v)
        seg.params = [slot(v) for v in params]
        rets = [values_by_id[i] for i in produced
                if any(u > st for u in uses.get(i, []))]
        rets.sort(key=lambda v: (v.node.id, v.index))
        for v in source_outs:
            if v not in rets:
                rets.append(v)
        if native_commit and k == n_segs - 1:
            # updates that cannot be written in place come back to Python
            for var, new in graph.updates:
                if not _same_static_shape(var, new) and id(new) in produced and new not in rets:
                    rets.append(new)
        seg.rets = [slot(v) for v in rets]
        w = SegmentWriter(module, seg, slot_of)
        for v in params:
            w.define(v, f"v{slot_of[id(v)]}", "C")
            w.alias[id(v)] = v if v.node.op in ("input", "variable", "constant") else None
        if native_commit and k == n_segs - 1:
            w.inplace = _inplace_candidates(graph, seg.nodes)
        keep = {id(v) for v in rets} | {id(v) for v in graph.outputs} | \
            {id(x) for pair in graph.updates for x in pair}
        w.plan = MemoryPlan(_lifetimes(seg.nodes, keep)) if memory_plan else None
        # one unit per node; kir_passes.outline decides the kernels (identical units, e.g.
        # an optimiser's update of each variable, become calls of one kernel)
        units: list[Unit] = []
        for pos, n in enumerate(seg.nodes):
            w.pos = pos
            start = len(w.lines)
            lowering.emit(w, n)
            if len(w.lines) > start:
                units.append(Unit(tuple(w.lines[start:]), _label(n)))
        units_end = len(w.lines)
        if w.plan is not None:
            mem["allocations"] += w.plan.allocs
            mem["reused"] += w.plan.reused
        out_ids = {id(v) for v in graph.outputs}
        ret_names = []
        for v in rets:
            name = w.name(v)
            if w.alias.get(id(v)) is not None and (id(v) in out_ids or _updates_touch(graph, v)):
                c = module.fresh("r")
                w.line(f"{c} = {name}.copy()")
                name = c
            elif w.layout.get(id(v)) != "C":
                name = w.contig(v)
            ret_names.append(name)
        if native_commit and k == n_segs - 1:
            seg.commits = _emit_commits(w, graph)
        if ftz:
            w.line("ftz_exit(_mx)")
        w.line(f"return {tuple_text(ret_names)}")
        drivers.append(Driver(seg.name, [f"v{s}" for s in seg.params], units,
                              prologue=["    _mx = ftz_enter()"] if ftz else [],
                              epilogue=w.lines[units_end:]))

    steps: list = []
    for k in range(n_segs + 1):
        steps.extend(gaps.get(k, []))
        if k < n_segs:
            steps.append(segments[k])

    py_commits = []
    if not native_commit:
        py_commits = [(slot(var), slot(new)) for var, new in graph.updates]
    else:
        for var, new in graph.updates:
            if not _same_static_shape(var, new):
                py_commits.append((slot(var), slot(new)))
    output_slots = [slot(v) for v in graph.outputs]
    output_copy = [v.node.op in ("variable", "constant") for v in graph.outputs]
    kmodule = Module(drivers, _constant_definitions(module.const_lines), PRELUDE)
    kernel_sources = render_program(kmodule)
    module_of = {k: f"{KERNEL_PREFIX}_{n}" for k, (n, _) in kernel_sources.items()}
    source = render_module(kmodule, module_of)
    program = Program(source, len(slot_types), input_slots, var_slots, const_slots, random_pre,
                      steps, output_slots, output_copy, py_commits, slot_types, readonly,
                      fallback_ops, mem)
    program.kernels = dict(kernel_sources.values())
    program.kir = kmodule
    program.kernel_modules = module_of
    return program


def _label(n: Node) -> str:
    """What a unit computes, for dumps: the op, or a fused node's body ops."""
    if n.op != "fused":
        return n.op
    return "fused(" + ",".join(m.op for m in n.attrs["body"].nodes()
                               if REGISTRY[m.op].kind != "source") + ")"


def _constant_definitions(lines: list[str]) -> dict[str, str]:
    """Module-level name -> its defining line (``_k0 = np.float32(0.0)``, an import)."""
    out: dict[str, str] = {}
    for line in lines:
        stmt = ast.parse(line).body[0]
        if isinstance(stmt, ast.Assign):
            out[stmt.targets[0].id] = line
        elif isinstance(stmt, ast.ImportFrom):
            for alias in stmt.names:
                out[alias.asname or alias.name] = line
        else:
            raise AssertionError(f"internal error: unexpected module constant line {line!r}")
    return out


def _lifetimes(nodes: list[Node], keep: set[int]) -> list[int]:
    """Per node position p: the last position at which an output of p, or a value that may
    alias one, is read (NEVER for values in ``keep``; p itself when nothing reads them).

    A value may alias an output of p when a node whose emitter can return views of its
    inputs (``lowering.fresh_outputs`` False) consumes it; computed backwards in one pass."""
    last: dict[int, int] = {}
    for p, n in enumerate(nodes):
        for v in n.inputs:
            last[id(v)] = p
    ext: dict[int, int] = {}                       # id(value) -> extended last use

    def ext_of(v: Value, p: int) -> int:
        return NEVER if id(v) in keep else max(last.get(id(v), p), ext.get(id(v), -1))

    consumers: dict[int, list[int]] = {}
    for p, n in enumerate(nodes):
        for v in n.inputs:
            consumers.setdefault(id(v), []).append(p)
    dead = [0] * len(nodes)
    for p in range(len(nodes) - 1, -1, -1):
        n = nodes[p]
        d = p
        for o in n.outputs:
            e = ext_of(o, p)
            for q in consumers.get(id(o), ()):
                m = nodes[q]
                if not lowering.fresh_outputs(m):
                    e = max(e, max((ext_of(x, q) for x in m.outputs), default=q))
            ext[id(o)] = e
            d = max(d, e)
        dead[p] = d
    return dead


def _is_view(op: str) -> bool:
    """The op's output may be a view of its first input (its OpDef's ``aliases``)."""
    return REGISTRY[op].aliases in ("view", "strided_view")


def _inplace_candidates(graph: Graph, nodes: list[Node]) -> dict[int, Value]:
    """Updates whose new value an elementwise kernel of the last segment may write straight
    into the variable's storage: no node after that kernel reads the variable (or a view of
    it), and neither the variable nor a view of it is an output. The kernel reads its own inputs element by
    element before writing that element, so reading the old value inside it is safe."""
    roots: dict[int, int] = {}                     # id(value) -> node id of the root variable
    for n in graph.nodes():
        if n.op == "variable":
            roots[id(n.outputs[0])] = n.id
        elif _is_view(n.op) and n.inputs and id(n.inputs[0]) in roots:
            roots[id(n.outputs[0])] = roots[id(n.inputs[0])]
    pos = {n.id: i for i, n in enumerate(nodes)}
    last_read: dict[int, int] = {}                 # variable node id -> last reading position
    for i, n in enumerate(nodes):
        for v in n.inputs:
            r = roots.get(id(v))
            if r is not None:
                last_read[r] = i
    # commits read update values at the end, and outputs are read after the step: an output
    # that is a view of a variable must see the value from before the update
    for v in [new for _, new in graph.updates] + list(graph.outputs):
        r = roots.get(id(v))
        if r is not None:
            last_read[r] = len(nodes)
    outputs = {id(v) for v in graph.outputs}
    out: dict[int, Value] = {}
    taken: set[int] = set()
    for var, new in graph.updates:
        prod = new.node
        if prod.id not in pos or not _same_static_shape(var, new) or id(var) in outputs:
            continue
        opdef = REGISTRY[prod.op]
        if not (prod.op == "fused" or opdef.kind == "elementwise"):
            continue
        if last_read.get(var.node.id, -1) > pos[prod.id] or var.node.id in taken:
            continue
        if sum(1 for _, nw in graph.updates if nw is new) > 1:
            continue
        taken.add(var.node.id)
        out[id(new)] = var
    return out


def _like_shape(v: Value, graph: Graph):
    """Per axis of ``v``: (None, None) for a static int dim, or (input Value, axis) of a graph
    input with the same symbolic dim; None if some dim is not known before the call."""
    out = []
    for d in v.shape:
        if isinstance(d, int):
            out.append((None, None))
            continue
        if d is None:
            return None
        found = None
        for x in graph.inputs:
            for ax, xd in enumerate(x.shape):
                if xd == d:
                    found = (x, ax)
                    break
            if found:
                break
        if found is None:
            return None
        out.append(found)
    return out


def _only_native_users(v: Value, order, kind) -> bool:
    return all(kind[n.id] == "native" for n in order if any(u is v for u in n.inputs))


def _same_static_shape(var: Value, new: Value) -> bool:
    return var.shape == new.shape and all(d is not None for d in var.shape) and \
        var.dtype == new.dtype


def _updates_touch(graph: Graph, v: Value) -> bool:
    return any(new is v for _, new in graph.updates)


def _emit_commits(w: SegmentWriter, graph: Graph) -> list:
    """In-place writes of the update values into the variables (all values computed first)."""
    names = []
    for var, new in graph.updates:
        if not _same_static_shape(var, new) or id(new) in w.inplace_done:
            continue
        name = w.name(new)
        if w.alias.get(id(new)) is not None:       # a view of some storage: copy first
            c = w.fresh("u")
            w.line(f"{c} = {name}.copy()")
            name = c
        names.append((w.name(var), name, var.ndim))
    for target, name, nd in names:
        if nd == 0:
            w.line(f"{target}[()] = {name}[()]")
        else:
            w.line(f"{target}[...] = {name}")
    return [(w.slot_of[id(var)], w.slot_of.get(id(new), -1)) for var, new in graph.updates
            if _same_static_shape(var, new)]


KERNEL_PREFIX = "graphc_k"        # module (and file) name prefix of a kernel in the cache


def render_program(kmodule: Module) -> dict[str, tuple[str, str]]:
    """Outline ``kmodule``'s kernels (:func:`graphc.codegen.kir_passes.outline`) and render
    each to the source of its own module.

    Returns:
        kernel key -> (cache key of its module, module source).
    """
    import os
    import sys

    from .. import cache
    from ..kir import format_module
    outline(kmodule)
    if "kir" in [d.strip() for d in os.environ.get("GRAPHC_DUMP", "").split(",")]:
        print(format_module(kmodule), file=sys.stderr)
    out = {}
    for k, kernel in kmodule.kernels.items():
        src = render_kernel(kernel, kmodule.prelude)
        out[k] = (cache.key("graphc-cpu-kernel-1", src), src)
    return out
