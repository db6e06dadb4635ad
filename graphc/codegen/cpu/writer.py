"""The text writer the op-family lowerings (cpu/lowering/) write a unit of code into, and the
memory plan it allocates through.

``SegmentWriter`` is the ``ctx`` every lowering receives: fresh names, lines at an
indentation, loops (serial, ``prange``, or both behind a run-time size switch), the names,
layouts and aliases of the values already computed, and ``alloc`` through the
:class:`MemoryPlan`. ``ModuleWriter`` holds what is shared by the units of one step: the
name counter and the module-level constants. ``lower.lower`` cuts what the lowerings write
into units (one per node) for the kernel IR.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...ir.node import Value
from ..literals import py_literal
from .scalar import NP_DTYPE, tuple_text

if TYPE_CHECKING:
    from .lower import Segment

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


NEVER = 1 << 62            # a buffer position that never dies (outputs, updates, returns)
# Buffers smaller than this many elements (symbolic dims counted as TYPICAL_BATCH) are not
# pooled: malloc serves them from its bins in ~50 ns and they stay in cache anyway, while
# each reuse site adds a run-time size check that numba must type (~20 ms of cold compile).
MIN_POOL_ELEMENTS = 1 << 14
TYPICAL_BATCH = 32


class MemoryPlan:
    """Reuse of intermediate buffers inside one generated function, by liveness.

    A buffer that an emitter allocates with :meth:`SegmentWriter.alloc` while node ``p`` of the
    segment is emitted belongs to ``p``; it dies after ``dead_after[p]``, the last position that
    reads an output of ``p`` or any value that may alias one (outputs of later nodes whose
    emitter may return views of their inputs: reshape, transpose, slices, unknown emitters).
    Outputs, update values and values that leave the segment never die. A later allocation of
    the same dtype and static element count (ints multiplied, symbolic dims as a multiset:
    ``(B, 1024)`` and ``(1024, B)`` match) takes the most recently freed buffer; the generated
    code checks the run-time size and allocates afresh if it differs, so a symbolic dim that
    was not equal at run time costs an allocation, never a wrong result.

    Buffers allocated inside a loop body (indent > 1) are never pooled: their names are
    per-iteration and they may be read after the loop; nor are small ones
    (:data:`MIN_POOL_ELEMENTS`).
    """

    def __init__(self, dead_after: list[int]):
        self.dead_after = dead_after
        # (dies after, key, name, static shape); a later entry is a more recently freed one
        self.free: list[tuple[int, tuple, str, tuple]] = []
        self.allocs = 0
        self.reused = 0

    def take(self, key: tuple, pos: int, shape: tuple = ()):
        """(name, static shape) of a buffer of class ``key`` dead before ``pos`` (one of the
        same static shape preferred, then the most recently freed), or None."""
        best = None
        for k in range(len(self.free) - 1, -1, -1):
            dies, bkey, name, bshape = self.free[k]
            if bkey == key and dies < pos:
                if bshape == shape:
                    best = k
                    break
                if best is None:
                    best = k
        if best is None:
            return None
        _, _, name, bshape = self.free.pop(best)
        return name, bshape

    def own(self, key: tuple, name: str, pos: int, shape: tuple = ()) -> None:
        self.free.append((self.dead_after[pos], key, name, tuple(shape)))


def _size_key(shape, dtype: str):
    """The buffer class of a static shape: (dtype, product of int dims, sorted symbols), or
    None when some dim is unknown or the array is 0-d (not worth pooling)."""
    if not shape or any(d is None for d in shape):
        return None
    known, syms = 1, []
    for d in shape:
        if isinstance(d, int):
            known *= d
        else:
            syms.append(str(d))
    if known == 0:
        return None
    return (dtype, known, tuple(sorted(syms)))


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
        # id(value) -> (name, layout, whole) of an existing buffer its producer writes it
        # into instead of a fresh array: a loop step's stacked output slot (whole None), or
        # the span of that slot which the concatenation ``whole`` (a Value) would copy it
        # into (see lowering/loop.py, _plan_destinations); ids actually written there
        self.dest: dict[int, tuple] = {}
        self.dest_done: set[int] = set()
        # id(value) -> (parent name, begin per axis): the value is the basic slice
        # parent[b0:, b1:, ...] of a C-contiguous array (a gate's columns of a step's 4-gate
        # block); element loops index the parent (strides known at compile time, so LLVM
        # vectorises without run-time stride checks) instead of the strided view
        self.offset_view: dict[int, tuple[str, tuple]] = {}
        self.plan: MemoryPlan | None = None      # set by lower(); None: always np.empty
        self.pos = 0                             # position of the node being emitted

    def alloc(self, dims, dtype: str, shape) -> str:
        """Name of a new C-contiguous ``dtype`` array of run-time ``dims`` whose static shape
        is ``shape``: a dead intermediate of the same size when the memory plan has one (its
        contents are garbage, like np.empty's), else a new one (``empty_c``, the
        ``np.empty`` intrinsic of native.py: no numba overload compile per rank and dtype)."""
        t = self.fresh("t")
        dims = [str(d) for d in dims]
        plan = self.plan
        key = _size_key(tuple(shape), dtype) if dims else None
        if key is not None and key[1] * TYPICAL_BATCH ** len(key[2]) < MIN_POOL_ELEMENTS:
            key = None
        if plan is None or key is None or self.indent != 1:
            self.line(f"{t} = empty_c({tuple_text(dims)}, {NP_DTYPE[dtype]})")
            return t
        plan.allocs += 1
        # the static shape the buffer is known by: only when it has the array's rank (a
        # matrix product of 3-D operands allocates a 2-D array whose static shape is 3-D),
        # else its rank alone, so that a later taker reshapes it rather than assume a shape
        shape = tuple(shape) if len(dims) == len(shape) else ("rank", len(dims))
        got = plan.take(key, self.pos, shape)
        empty = f"empty_c({tuple_text(dims)}, {NP_DTYPE[dtype]})"
        if got is None:
            self.line(f"{t} = {empty}")
        else:
            plan.reused += 1
            buf, bshape = got
            if bshape == shape and shape[:1] != ("rank",):
                # same static shape: only the symbolic dims need a run-time check
                checks = [f"{buf}.shape[{k}] == {d}" for k, (d, sd) in
                          enumerate(zip(dims, shape)) if not isinstance(sd, int)]
                if not checks:
                    self.line(f"{t} = {buf}")
                else:
                    self.line(f"{t} = {buf} if {' and '.join(checks)} else {empty}")
            else:
                size = " * ".join(f"({d})" if not d.isidentifier() and not d.isdigit()
                                  else d for d in dims)
                self.line(f"if {buf}.size == {size}:")
                self.line(f"    {t} = reshape_c({buf}, {tuple_text(dims)})")
                self.line("else:")
                self.line(f"    {t} = {empty}")
        plan.own(key, t, self.pos, shape)
        return t

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

    def serial(self, shape) -> bool:
        """True when a top-level race-free loop nest over static ``shape`` runs as a plain
        ``range`` (see :meth:`loop`)."""
        return not self.parallel or (self.parallel == "auto" and
                                     _auto_mode(tuple(shape)) == "range")

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
        self.const_lines.append(f"{name} = {NP_DTYPE[dtype]}({py_literal(value, dtype)})")
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
            f"{name} = np.array([{items}], dtype={NP_DTYPE[arr.dtype.name]}).reshape({shape})")
        self.arrays[id(v)] = name
        return name
