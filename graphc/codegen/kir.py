"""The kernel IR: what the code generator produces between the optimised graph and a target's
source text.

A :class:`Module` holds the step's *drivers* (one per native segment of the schedule: the
function the executor calls) and the *kernels* they call. A driver is a sequence of
statements, each either a :class:`KernelCall` (arguments in, results out, by name) or an
:class:`Inline` unit kept in the driver's own body. A :class:`Kernel` is a function with
positional parameters, a body and named results; its :attr:`Kernel.key` is a digest of its
canonical content (parameters and locals renamed in order of first use, module constants
renamed by value), so two layers that lower to the same code share one kernel, compiled once
per process and once per machine through the on-disk cache.

Bodies are still target statements (:class:`Verbatim` lines from the op-family lowerings); the
structure above them -- which code forms a kernel, what it reads and writes, which kernels
repeat, which run parallel loops -- is data that passes (``kir_passes``) decide on and
renderers (``cpu/render.py``) print. A unit's facts (names read and bound, parallel loops)
come from parsing its lines with :mod:`ast`.

Example:
    >>> u = Unit(("    t1 = empty_c((n0,), np.float32)", "    t1[0] = v0[0]"), "neg")
    >>> sorted(u.loads), sorted(u.stores)
    (['empty_c', 'n0', 'np', 't1', 'v0'], ['t1'])
"""
from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass, field

__all__ = ["Verbatim", "Unit", "Kernel", "KernelCall", "Inline", "Driver", "Module",
           "names_of", "facts_of", "join_units", "format_module"]


@dataclass(frozen=True)
class Verbatim:
    """Target statements, one per line, indented for a function body (four spaces)."""
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


_FACTS: dict[str, tuple] = {}          # text -> facts (parsed, or joined from parts)
_FACTS_MAX = 50000


def facts_of(text: str) -> tuple[frozenset, frozenset, bool, tuple[str, ...]]:
    """(names loaded, names stored, has a ``prange`` loop, every name in first-use order) of a
    block of statements, from one parse.

    A name counts as loaded when any expression reads it (also the target of ``x += ...``);
    stored when it is bound (assignment, loop target, augmented assignment). Attribute names
    (``a.shape``) are not names. The order is a depth-first walk of the syntax tree, so equal
    code under other names lists its names in corresponding positions.
    """
    got = _FACTS.get(text)
    if got is None:
        if len(_FACTS) > _FACTS_MAX:
            _FACTS.clear()
        got = _FACTS[text] = _parse_facts(text)
    return got


def _parse_facts(text: str) -> tuple[frozenset, frozenset, bool, tuple[str, ...]]:
    tree = ast.parse(textwrap.dedent(text))
    loads, stores = set(), set()
    prange = False
    order: list[str] = []
    seen: set[str] = set()

    def visit(node):
        nonlocal prange
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else stores).add(node.id)
            if node.id not in seen:
                seen.add(node.id)
                order.append(node.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            loads.add(node.target.id)
        elif isinstance(node, ast.For) and isinstance(node.iter, ast.Call) and \
                isinstance(node.iter.func, ast.Name) and node.iter.func.id == "prange":
            prange = True
        for child in ast.iter_child_nodes(node):
            visit(child)
    visit(tree)
    return frozenset(loads), frozenset(stores), prange, tuple(order)


def names_of(text: str) -> tuple[frozenset, frozenset, bool]:
    """(names loaded, names stored, has a ``prange`` loop) of a block (see :func:`facts_of`)."""
    return facts_of(text)[:3]


@dataclass(frozen=True)
class Unit:
    """The code of one scheduled node (or one group of nodes sharing a loop body).

    Attributes:
        lines: the statements (driver-body indentation).
        label: what it computes, for dumps (the op name, or ``group(<n>)``).
    """
    lines: tuple[str, ...]
    label: str = ""

    @property
    def body(self) -> Verbatim:
        return Verbatim(self.lines)

    @property
    def loads(self) -> frozenset:
        return facts_of("\n".join(self.lines))[0]

    @property
    def stores(self) -> frozenset:
        return facts_of("\n".join(self.lines))[1]

    @property
    def parallel(self) -> bool:
        return facts_of("\n".join(self.lines))[2]

    @property
    def names(self) -> tuple[str, ...]:
        """Every name, in first-use order."""
        return facts_of("\n".join(self.lines))[3]


def join_units(units: list[Unit]) -> Unit:
    """One unit running ``units`` in order; its facts come from theirs (no parse): loads and
    stores are the unions, first-use order the concatenation without repeats."""
    lines = tuple(ln for u in units for ln in u.lines)
    joined = Unit(lines, "+".join(u.label for u in units if u.label))
    text = "\n".join(lines)
    if text not in _FACTS:
        parts = [facts_of("\n".join(u.lines)) for u in units]
        order = tuple(dict.fromkeys(n for p in parts for n in p[3]))
        _FACTS[text] = (frozenset().union(*(p[0] for p in parts)),
                        frozenset().union(*(p[1] for p in parts)),
                        any(p[2] for p in parts), order)
    return joined


@dataclass(frozen=True)
class Kernel:
    """A function the drivers call: canonical parameters ``a0..``, a body, results.

    Attributes:
        key: content digest (hex); equal keys mean interchangeable kernels.
        params: parameter names, in call order.
        body: the statements, written in the canonical names.
        results: names returned, in order (a tuple, possibly empty).
        constants: module-level definitions the body reads, as (canonical name, definition
            right-hand side or import line).
        parallel: the body holds a ``prange`` loop (compiled with the parallel flags).
        label: the op(s) it was lowered from, for dumps.
    """
    key: str
    params: tuple[str, ...]
    body: Verbatim
    results: tuple[str, ...]
    constants: tuple[tuple[str, str], ...]
    parallel: bool
    label: str = ""

    @property
    def name(self) -> str:
        """The name drivers call it by (unique per content)."""
        return f"k_{self.key[:16]}"


@dataclass(frozen=True)
class KernelCall:
    """``results = kernel(args)`` in a driver (driver-local names)."""
    kernel: Kernel
    args: tuple[str, ...]
    results: tuple[str, ...]


@dataclass(frozen=True)
class Inline:
    """A unit kept in the driver's own body."""
    unit: Unit


@dataclass
class Driver:
    """One native segment: the function the executor calls with the segment's slots.

    ``prologue`` / ``epilogue`` are the driver's own statements around its units (the FP
    environment, result copies, variable commits, the return).
    """
    name: str
    params: list[str]
    units: list[Unit]
    prologue: list[str] = field(default_factory=list)
    epilogue: list[str] = field(default_factory=list)
    body: list = field(default_factory=list)       # KernelCall | Inline, after outlining


@dataclass
class Module:
    """Drivers, the kernels they call, and the module-level definitions of the step.

    ``constants`` maps a module-level name (``_k0``, ``_a3``, an imported runtime function)
    to its defining line; ``prelude`` is the target's helper source every module carries.
    """
    drivers: list[Driver]
    constants: dict[str, str]
    prelude: str
    kernels: dict[str, Kernel] = field(default_factory=dict)


def format_module(module: Module, bodies: bool = True) -> str:
    """The kernel IR as text: each kernel (its key, what it was lowered from, parameters,
    results, how often the drivers call it, and its body), then each driver's calls.

    Example:
        >>> print(format_module(compiled.program.kir))
        kernel k_35b21427f0e1a9c2 (dot+bias_add+relu) (a0, a1, a2) -> (l3, l5)  # 31 calls
        ...
        driver seg0(v0, v3, v4, ...)
          t2, t4 = k_35b21427f0e1a9c2(v0, v3, v4)
    """
    calls: dict[str, int] = {}
    for d in module.drivers:
        for s in d.body:
            if isinstance(s, KernelCall):
                calls[s.kernel.key] = calls.get(s.kernel.key, 0) + 1
    out = [f"// kernel IR: {len(module.kernels)} kernels, "
           f"{sum(calls.values())} calls in {len(module.drivers)} driver(s)"]
    for key, k in module.kernels.items():
        flags = " parallel" if k.parallel else ""
        out.append(f"kernel {k.name} ({k.label}){flags} ({', '.join(k.params)}) -> "
                   f"({', '.join(k.results)})  # {calls.get(key, 0)} call(s)")
        if bodies:
            out += ["  " + ln for ln in k.body.lines]
    for d in module.drivers:
        out.append(f"driver {d.name}({', '.join(d.params)})")
        for s in d.body:
            if isinstance(s, KernelCall):
                lhs = f"{', '.join(s.results)} = " if s.results else ""
                out.append(f"  {lhs}{s.kernel.name}({', '.join(s.args)})")
            else:
                out += ["  " + ln for ln in s.unit.lines]
    return "\n".join(out)
