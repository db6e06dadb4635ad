"""Passes over the kernel IR (:mod:`graphc.codegen.kir`).

:func:`outline` decides where the function boundaries of a step fall: every unit (the code
of one node) ends up in a :class:`~graphc.codegen.kir.Kernel`, called from its driver. A
kernel's parameters are the driver names its code reads that exist before it; its results are
the names it binds that later kernels or the driver's epilogue read. Its content key is taken
over the canonical form (names renamed in order of first use), so identical code -- the same
layer repeated, an optimiser's update of each variable -- is one kernel, compiled once.

How big a kernel should be is a compile-cost question. numba compiles each function through
its whole pipeline, and a driver pays for every call it makes (arguments are passed as
exploded array structs, with reference counting): on the 32-layer MLP step, 375 one-node
kernels made a driver whose machine code alone took ~4 s. So repeated sequences merge into
one kernel (the layer ``matmul, bias, relu`` becomes one kernel called once per layer, see
:func:`merge_repeated_pairs`), and runs of code that occurs once merge into one kernel each
(:func:`merge_single_runs`). Figures: bench/RESULTS.md.

Example:
    >>> module = outline(module)
    >>> [type(s).__name__ for s in module.drivers[0].body]
    ['KernelCall', 'KernelCall', 'KernelCall']
"""
from __future__ import annotations

import ast
import functools
import hashlib
import io
import textwrap
import tokenize

from .kir import Driver, Kernel, KernelCall, Module, Unit, Verbatim, names_of

__all__ = ["outline", "plan_kernel", "OUTLINE_MIN_REPEATS"]

OUTLINE_MIN_REPEATS = 2        # a kernel used this many times in a module is outlined


def _ordered_names(tree: ast.AST) -> list[str]:
    """Every ``Name`` of ``tree`` in a deterministic depth-first order (first use first)."""
    out: list[str] = []
    seen: set[str] = set()

    def visit(node):
        if isinstance(node, ast.Name) and node.id not in seen:
            seen.add(node.id)
            out.append(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child)
    visit(tree)
    return out


def _rename(text: str, mapping: dict[str, str]) -> str:
    """``text`` with every name in ``mapping`` replaced, token by token (attribute names after
    a ``.`` are not names; layout and spelling stay as written)."""
    lines = text.split("\n")
    edits: dict[int, list] = {}
    prev = None
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.NAME and tok.string in mapping and \
                not (prev is not None and prev.type == tokenize.OP and prev.string == "."):
            (row, c0), (_, c1) = tok.start, tok.end
            edits.setdefault(row - 1, []).append((c0, c1, mapping[tok.string]))
        if tok.type not in (tokenize.NL, tokenize.COMMENT):
            prev = tok
    for row, spans in edits.items():
        line = lines[row]
        for c0, c1, name in sorted(spans, reverse=True):
            line = line[:c0] + name + line[c1:]
        lines[row] = line
    return "\n".join(lines)


def _constant_rhs(line: str) -> str:
    """The defining expression of a module constant line ``name = expr``."""
    return line.split("=", 1)[1].strip()


def plan_kernel(unit: Unit, params: list[str], results: list[str],
                constants: dict[str, str]) -> Kernel:
    used = {c: constants[c] for c in unit.loads if c in constants}
    return _plan_kernel(unit, tuple(sorted(params)), tuple(sorted(results)),
                        tuple(sorted(used.items())))


@functools.lru_cache(maxsize=8192)
def _plan_kernel(unit: Unit, params: tuple, results: tuple, constants: tuple) -> Kernel:
    """The canonical kernel of ``unit`` with driver-side ``params`` and ``results``.

    Args:
        unit: the statements.
        params: driver names it reads that exist before it (any order: the kernel's order
            is first use in the body).
        results: driver names it binds that are read after it.
        constants: the module's constant and import lines by the name they define.
    Returns:
        A Kernel whose ``params`` line up with ``sorted_args`` (see :func:`outline`): the
        kernel's ``params`` are canonical names, and ``Kernel.label`` holds the unit's label.
    """
    constants = dict(constants)
    tree = ast.parse(textwrap.dedent("\n".join(unit.lines)))
    order = _ordered_names(tree)
    pset, rset = set(params), set(results)
    loads, stores, parallel = names_of("\n".join(unit.lines))
    mapping: dict[str, str] = {}
    consts: list[tuple[str, str]] = []
    n_param = n_local = n_const = 0
    for name in order:
        if name in pset:
            mapping[name] = f"a{n_param}"
            n_param += 1
        elif name in stores:
            mapping[name] = f"l{n_local}"
            n_local += 1
        elif name in constants:
            line = constants[name]
            if line.startswith(("from ", "import ")):
                consts.append((name, line))          # a runtime function: keeps its name
            else:
                mapping[name] = f"_c{n_const}"
                consts.append((mapping[name], _constant_rhs(line)))
                n_const += 1
    body = tuple(ln for ln in _rename("\n".join(unit.lines), mapping).split("\n")
                 if ln.strip() and not ln.lstrip().startswith("#"))
    kparams = tuple(mapping[p] for p in order if p in pset)
    kresults = tuple(mapping[r] for r in order if r in rset)
    digest = hashlib.sha256()
    for part in (repr(kparams), "\n".join(body), repr(kresults), repr(consts), repr(parallel)):
        digest.update(part.encode())
        digest.update(b"\0")
    return Kernel(digest.hexdigest(), kparams, Verbatim(body), kresults, tuple(consts),
                  parallel, unit.label)


@functools.lru_cache(maxsize=8192)
def _unit_names(unit: Unit) -> tuple[str, ...]:
    return tuple(_ordered_names(ast.parse(textwrap.dedent("\n".join(unit.lines)))))


def _driver_plan(driver: Driver, constants: dict[str, str]):
    """Per unit: (kernel, driver args in kernel order, driver results in kernel order)."""
    epilogue_loads = names_of("\n".join(driver.epilogue) or "pass")[0]
    later: list[frozenset] = [frozenset()] * len(driver.units)
    acc = set(epilogue_loads)
    for i in range(len(driver.units) - 1, -1, -1):
        later[i] = frozenset(acc)
        acc |= driver.units[i].loads
    defined = set(driver.params) | names_of("\n".join(driver.prologue) or "pass")[1]
    plans = []
    for i, unit in enumerate(driver.units):
        params = [n for n in unit.loads if n in defined]
        results = [n for n in unit.stores if n in later[i]]
        kernel = plan_kernel(unit, params, results, constants)
        order = _unit_names(unit)
        args = tuple(n for n in order if n in set(params))
        rets = tuple(n for n in order if n in set(results))
        plans.append((kernel, args, rets))
        defined |= unit.stores
    return plans


def _merge(a: Unit, b: Unit) -> Unit:
    return Unit(a.lines + b.lines, f"{a.label}+{b.label}" if a.label and b.label else "")


def merge_repeated_pairs(drivers: list[Driver], keys: dict[int, list[str]]) -> None:
    """Merge units into repeated blocks, byte-pair-encoding style.

    The most frequent pair of adjacent kernels ``(a, b)`` (``a != b``, at least
    :data:`OUTLINE_MIN_REPEATS` occurrences, no parallel loop in either) becomes one symbol
    everywhere it occurs, left to right; repeat until no pair
    repeats. A layer ``matmul, bias, relu`` used thirty times becomes one kernel called thirty
    times; a symbol never merges with itself, so thirty layers never become one kernel of two,
    four, eight layers. Merging never changes the order of statements, only where function
    boundaries fall.
    """
    seqs = []                 # per driver: [(symbol, [unit index ...])]
    sym_of: dict[str, int] = {}
    blocked: set[int] = set()
    for di, d in enumerate(drivers):
        seq = []
        for i, k in enumerate(keys[id(d)]):
            if d.units[i].parallel:
                sym = -len(blocked) - 1          # a symbol of its own, never merged
                blocked.add(sym)
            else:
                sym = sym_of.setdefault(k, len(sym_of))
            seq.append((sym, [i]))
        seqs.append(seq)
    next_sym = len(sym_of)
    while True:
        pairs: dict[tuple[int, int], int] = {}
        for seq in seqs:
            i = 0
            while i + 1 < len(seq):
                a, b = seq[i][0], seq[i + 1][0]
                if a != b and a >= 0 and b >= 0:
                    pairs[(a, b)] = pairs.get((a, b), 0) + 1
                i += 1
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: kv[1])      # first of the most frequent
        if best[1] < OUTLINE_MIN_REPEATS:
            break
        (a, b), _ = best
        for n, seq in enumerate(seqs):
            out, i = [], 0
            while i < len(seq):
                if i + 1 < len(seq) and seq[i][0] == a and seq[i + 1][0] == b:
                    out.append((next_sym, seq[i][1] + seq[i + 1][1]))
                    i += 2
                else:
                    out.append(seq[i])
                    i += 1
            seqs[n] = out
        next_sym += 1
    for d, seq in zip(drivers, seqs):
        units = []
        for _, idx in seq:
            u = d.units[idx[0]]
            for j in idx[1:]:
                u = _merge(u, d.units[j])
            units.append(u)
        d.units = units


def merge_single_runs(drivers: list[Driver], keys: dict[int, list[str]]) -> None:
    """Merge each maximal run of consecutive units whose kernels occur once into one unit:
    one function boundary instead of many, and no sharing lost within the module."""
    count: dict[str, int] = {}
    for d in drivers:
        for k in keys[id(d)]:
            count[k] = count.get(k, 0) + 1
    for di, d in enumerate(drivers):
        ks = keys[id(d)]
        units: list[Unit] = []
        run: Unit | None = None
        for i, u in enumerate(d.units):
            single = count[ks[i]] == 1 and not u.parallel
            if single:
                run = u if run is None else _merge(run, u)
                continue
            if run is not None:
                units.append(run)
                run = None
            units.append(u)
        if run is not None:
            units.append(run)
        d.units = units


def outline(module: Module) -> Module:
    """Fill each driver's ``body`` and ``module.kernels`` (see the module docstring).

    Every unit ends up in a kernel; before that, repeated sequences of units are merged
    into one kernel each (:func:`merge_repeated_pairs`), and so are runs of units that occur
    once (:func:`merge_single_runs`). The result depends on the module alone (never on what
    is cached), so a later process builds the same drivers and finds them in the cache.

    Args:
        module: the kernel-IR module (drivers with their units).
    Returns:
        ``module``, updated in place.
    """
    def replan():
        plans = {id(d): _driver_plan(d, module.constants) for d in module.drivers}
        keys = {i: [k.key for k, _, _ in p] for i, p in plans.items()}
        return plans, keys

    plans, keys = replan()
    merge_repeated_pairs(module.drivers, keys)
    plans, keys = replan()
    merge_single_runs(module.drivers, keys)
    plans, keys = replan()
    module.kernels = {}
    for d in module.drivers:
        body = []
        for kernel, args, rets in plans[id(d)]:
            module.kernels.setdefault(kernel.key, kernel)
            body.append(KernelCall(module.kernels[kernel.key], args, rets))
        d.body = body
    return module
