"""Lowering a Graph to a Program: generated numba source plus the Python steps around it.

Every node is classified: *native* (an emitter in emit.py writes it into generated code),
*random* (its values are drawn in Python before the native call, from one numpy Generator per
node, and passed in as an argument), or *python* (no emitter: its numpy reference runs
between native segments, with one warning per op name).

Native nodes are grouped into as few segments (numba functions) as the python nodes allow:
``seg(n)`` = the latest segment or python node it depends on; without python nodes the whole
graph -- forward, backward and variable updates -- is ONE generated function. Values cross
segment boundaries through slots of an environment list; every value in a slot is a
C-contiguous array of its static dtype and rank, which makes the numba signatures exact.

Variable updates follow Theano semantics: every new value is computed from the OLD values,
then all are written in place into the variables' arrays (at the end of the last segment, or
in Python when a python node runs last).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from ...ir.graph import Graph
from ...ir.node import Node, Value
from ...ir.ops import REGISTRY
from ..literals import py_literal
from . import emit as E
from .scalar import PRELUDE

SMALL_CONST = 64            # constants up to this many elements are baked into the source
# With parallel="auto", a race-free top-level loop nest runs as prange from this many elements
# (run-time count) and serially below it. Measured on the 2-core dev machine (AMD EPYC, see
# bench/RESULTS.md): the fused 7-op chain broke even between 2**15 and 2**16 elements; the
# threshold leaves margin for cheap kernels (one add per element) and a loaded machine.
PARALLEL_MIN_WORK = 1 << 17
# A nest with symbolic dims gets both versions only if its static part reaches the threshold
# at this batch (each prange nest costs numba ~0.5-1 s of compile: nests that would need an
# absurd batch to pay stay serial).
PARALLEL_MAX_BATCH = 1024


def _auto_mode(shape) -> str:
    """'prange', 'range' or 'dual' for a race-free nest over static ``shape`` (None: unknown)."""
    if shape is None:
        return "dual"
    known, symbolic = 1, False
    for d in shape:
        if isinstance(d, int):
            known *= d
        else:
            symbolic = True
    if not symbolic:
        return "prange" if known >= PARALLEL_MIN_WORK else "range"
    return "dual" if known * PARALLEL_MAX_BATCH >= PARALLEL_MIN_WORK else "range"

# numba's parallel options: only explicit prange loops become parfors (no implicit
# conversion of array expressions or numpy calls, which compile slower and would also run
# the small kernels threaded).
PARALLEL_FLAGS = ('{"prange": True, "comprehension": False, "reduction": False, '
                  '"inplace_binop": False, "setitem": False, "numpy": False, '
                  '"stencil": False, "fusion": False}')

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


class SegmentWriter:
    """The ``ctx`` emitters write into: lines, names, layouts and module-level constants."""

    def __init__(self, module: "ModuleWriter", seg: Segment, slot_of: dict):
        self.module = module
        self.seg = seg
        self.slot_of = slot_of
        self.lines: list[str] = []
        self.indent = 1
        self.names: dict[int, str] = {}
        self.layout: dict[int, str] = {}
        self.alias: dict[int, Value | None] = {}
        self.defined: set[str] = set()
        self.parallel = module.parallel
        self.has_prange = False
        self._dual: list[tuple] = []           # open size-switched loops (see loop())
        # id(update value) -> variable Value whose storage the producing kernel may write
        # directly (see _inplace_candidates); ids actually written in place
        self.inplace: dict[int, Value] = {}
        self.inplace_done: set[int] = set()

    # -- naming ------------------------------------------------------------------------------
    def fresh(self, prefix: str) -> str:
        return self.module.fresh(prefix)

    def line(self, text: str) -> None:
        self.lines.append("    " * self.indent + text)

    def loop(self, var: str, n: str, outer: bool = False, work: str | None = None,
             shape: tuple | None = None) -> None:
        """Open ``for var in range(n):``.

        ``outer=True`` promises that the iterations write disjoint output elements (race-free),
        so a top-level loop of that kind may run as ``prange``: always with ``parallel=True``.
        With ``parallel="auto"`` the static ``shape`` of the nest's iteration space decides:
        all dims known -> ``prange`` iff it has at least :data:`PARALLEL_MIN_WORK` elements;
        symbolic dims whose known part could reach that count at a batch of
        :data:`PARALLEL_MAX_BATCH` -> the nest is emitted twice, ``prange`` when the run-time
        element count ``work`` (default ``n``) reaches the threshold and ``range`` otherwise
        (assembled at the matching :meth:`dedent`); otherwise serial.
        """
        eligible = bool(self.parallel) and outer and self.indent == 1
        if eligible and self.parallel == "auto":
            mode = _auto_mode(shape)
            if mode == "dual":
                self._dual.append((len(self.lines), var, n, work or n, self.indent))
                self.line(f"for {var} in range({n}):")
                self.indent += 1
                return
            eligible = mode == "prange"
        if eligible:
            self.has_prange = True
        self.line(f"for {var} in {'prange' if eligible else 'range'}({n}):")
        self.indent += 1

    def dedent(self) -> None:
        self.indent -= 1
        if self._dual and self._dual[-1][4] == self.indent:
            start, var, n, work, ind = self._dual.pop()
            body = ["    " + ln for ln in self.lines[start + 1:]]
            pad = "    " * ind
            self.lines[start:] = [
                f"{pad}if {work} >= {PARALLEL_MIN_WORK}:",
                f"{pad}    for {var} in prange({n}):", *body,
                f"{pad}else:",
                f"{pad}    for {var} in range({n}):", *body]
            self.has_prange = True

    def hoist(self, expr: str) -> str:
        if expr.isidentifier() or expr.lstrip("-").isdigit():
            return expr
        name = self.fresh("n")
        self.line(f"{name} = {expr}")
        return name

    def literal(self, value, dtype: str) -> str:
        return self.module.literal(value, dtype)

    def f32_literal(self, value) -> str:
        return self.module.literal(value, "float32")

    # -- values ------------------------------------------------------------------------------
    def name(self, v: Value) -> str:
        got = self.names.get(id(v))
        if got is not None:
            return got
        if v.node.op == "constant":
            name = self.module.const_array(v)
            self.names[id(v)] = name
            self.layout[id(v)] = "C"
            self.alias[id(v)] = v
            return name
        raise KeyError(f"internal error: value {v.name} is not available in {self.seg.name}")

    def define(self, v: Value, name: str, layout: str = "C", alias_of: Value | None = None):
        self.names[id(v)] = name
        self.layout[id(v)] = layout
        self.alias[id(v)] = None if alias_of is None else self.alias.get(id(alias_of))

    def contig(self, v: Value) -> str:
        name = self.name(v)
        if self.layout.get(id(v)) == "C":
            return name
        c = self.fresh("c")
        self.line(f"{c} = np.ascontiguousarray({name})")
        self.names[id(v)] = c
        self.layout[id(v)] = "C"
        self.alias[id(v)] = None
        return c

    def blas(self, v: Value) -> str:
        """A name of ``v`` that BLAS takes without a copy (C or F layout)."""
        if self.layout.get(id(v)) in ("C", "F"):
            return self.name(v)
        return self.contig(v)


class ModuleWriter:
    """The generated module: constants, helper prelude and segment functions."""

    def __init__(self, parallel: bool):
        self.parallel = parallel
        self.counter = 0
        self.const_lines: list[str] = []
        self.literals: dict = {}
        self.arrays: dict[int, str] = {}

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def literal(self, value, dtype: str) -> str:
        value = np.asarray(value).reshape(()).item() if np.size(value) == 1 else value
        key = (dtype, repr(value))
        got = self.literals.get(key)
        if got is not None:
            return got
        name = f"_k{len(self.literals)}"
        self.literals[key] = name
        self.const_lines.append(f"{name} = {E.NP_DTYPE[dtype]}({py_literal(value, dtype)})")
        return name

    def const_array(self, v: Value) -> str:
        got = self.arrays.get(id(v))
        if got is not None:
            return got
        arr = np.asarray(v.node.attrs["value"])
        name = f"_a{len(self.arrays)}"
        items = ", ".join(py_literal(x, arr.dtype.name) for x in arr.reshape(-1).tolist())
        shape = "(" + "".join(f"{d}, " for d in arr.shape) + ")"
        self.const_lines.append(
            f"{name} = np.array([{items}], dtype={E.NP_DTYPE[arr.dtype.name]}).reshape({shape})")
        self.arrays[id(v)] = name
        return name


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


def lower(graph: Graph, parallel: bool | str = False) -> Program:
    """Classify, schedule and generate code for ``graph``.

    Args:
        graph: the (optimised) graph; its ``inputs`` are the call's arrays in order.
        parallel: False = serial loops; True = ``prange`` for the outer loop of every
            race-free top-level loop nest (elementwise regions, reductions keeping axis 0,
            softmax / crossentropy rows); "auto" = both versions of each such nest, chosen at
            run time by its element count (:data:`PARALLEL_MIN_WORK`).
    Returns:
        A Program (source text plus the run plan).

    Example:
        >>> print(lower(graph, parallel="auto").source)
    """
    if parallel not in (True, False, "auto"):
        raise ValueError(f"parallel must be True, False or 'auto', got {parallel!r}")
    order = graph.nodes()
    given = {id(v) for v in graph.inputs}
    for n in order:
        if n.op == "input" and id(n.outputs[0]) not in given:
            v = n.outputs[0]
            raise ValueError(f"placeholder {v.name!r} ({v.type}) is needed to compute the "
                             f"outputs but is not among the function's inputs")
    kind: dict[int, str] = {}
    for n in order:
        if not n.inputs and n.op in ("input", "variable", "constant"):
            kind[n.id] = "source"
        elif _is_random(n):
            ok = all(v.node.op in ("input", "variable", "constant") for v in n.inputs)
            ok = ok or (len(n.inputs) == 1 and _like_shape(n.inputs[0], graph) is not None)
            kind[n.id] = "random" if ok else "python"
        elif E.native_supported(n):
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
    seg_sources = []
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
        for n in seg.nodes:
            E.emit(w, n)
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
        w.line(f"return {E._tuple(ret_names)}")
        header = f"def {seg.name}({', '.join(f'v{s}' for s in seg.params)}):"
        enter = ["    _mx = ftz_enter()"] if ftz else []
        seg_sources.append((seg, w.has_prange, [header] + enter + w.lines))

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
    source = _module_source(module, seg_sources)
    return Program(source, len(slot_types), input_slots, var_slots, const_slots, random_pre,
                   steps, output_slots, output_copy, py_commits, slot_types, readonly,
                   fallback_ops)


_VIEW_OPS = ("transpose", "reshape", "flatten", "expand_dims", "squeeze", "reshape_like")


def _inplace_candidates(graph: Graph, nodes: list[Node]) -> dict[int, Value]:
    """Updates whose new value an elementwise kernel of the last segment may write straight
    into the variable's storage: no node after that kernel reads the variable (or a view of
    it), and the variable is not itself an output. The kernel reads its own inputs element by
    element before writing that element, so reading the old value inside it is safe."""
    roots: dict[int, int] = {}                     # id(value) -> node id of the root variable
    for n in graph.nodes():
        if n.op == "variable":
            roots[id(n.outputs[0])] = n.id
        elif n.op in _VIEW_OPS and id(n.inputs[0]) in roots:
            roots[id(n.outputs[0])] = roots[id(n.inputs[0])]
    pos = {n.id: i for i, n in enumerate(nodes)}
    last_read: dict[int, int] = {}                 # variable node id -> last reading position
    for i, n in enumerate(nodes):
        for v in n.inputs:
            r = roots.get(id(v))
            if r is not None:
                last_read[r] = i
    for _, new in graph.updates:                  # commits read update values at the end
        r = roots.get(id(new))
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


def _module_source(module: ModuleWriter, seg_sources) -> str:
    out = ['"""Generated by graphc.codegen.cpu (do not edit)."""',
           "import math",
           "import numpy as np",
           "from numba import njit, prange",
           "from graphc.codegen.cpu.native import gemm, ftz_enter, ftz_exit",
           "from graphc.codegen.cpu.mathlib import FASTMATH, " + ", ".join(
               sorted(_MATHLIB_NAMES)),
           "",
           "_FM = set(FASTMATH)",
           ""]
    out += module.const_lines
    out += ["", "", PRELUDE]
    for seg, par, lines in seg_sources:
        flags = 'cache=True, nogil=True, error_model="numpy", fastmath=_FM'
        if par:
            flags += f", parallel={PARALLEL_FLAGS}"
        out += ["", f"@njit({flags})"] + lines + [""]
    return "\n".join(out) + "\n"


_MATHLIB_NAMES = {"exp_f32", "log_f32", "tanh_f32", "sigmoid_f32", "log1p_f32", "expm1_f32",
                  "sin_f32", "cos_f32", "softplus_f32", "log2_f32", "silu_f32",
                  "gelu_tanh_f32", "selu_f32"}
