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
one kernel (the layer ``matmul, bias, relu`` becomes one kernel called once per layer), and
runs of code that occurs once merge into one kernel each (:func:`group_units`). Figures:
bench/RESULTS.md.

Example:
    >>> module = outline(module)
    >>> [type(s).__name__ for s in module.drivers[0].body]
    ['KernelCall', 'KernelCall', 'KernelCall']
"""
from __future__ import annotations

import functools
import hashlib
import re

from .kir import (Driver, Inline, Kernel, KernelCall, Module, Unit, Verbatim, join_units,
                  names_of)

__all__ = ["outline", "plan_kernel", "plan_call", "lift_sizes", "OUTLINE_MIN_REPEATS"]

OUTLINE_MIN_REPEATS = 2        # a pair of kernels seen this often merges into one
# A repeated kernel stays a kernel of its own (called, not copied) only when the lines it saves
# -- its length times the extra uses -- reach this: numba's fixed cost per function (its
# pipeline, the driver's call) is about that of compiling this many lines once more inline.
SHARE_MIN_LINES = 40


# a string literal (kept as it is) or a name that is not an attribute (``a.shape``: no)
_TOKEN = re.compile(r"""('(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")|(?<![\w.])([A-Za-z_]\w*)""")


def _rename(text: str, mapping: dict[str, str]) -> str:
    """``text`` with every name in ``mapping`` replaced (not attribute names after a ``.``, not
    inside string literals); layout and spelling stay as written."""
    def repl(m):
        name = m.group(2)
        return mapping.get(name, name) if name is not None else m.group(1)
    return _TOKEN.sub(repl, text)


def _local_prefix(name: str) -> str:
    """The leading letters of a local's name (``t12_f`` -> ``t``); ``l`` where there are
    none or where they would read as a parameter (``a``)."""
    m = re.match(r"[A-Za-z]+", name)
    prefix = m.group(0) if m else "l"
    return "l" if prefix == "a" else prefix


def _constant_rhs(line: str) -> str:
    """The defining expression of a module constant line ``name = expr``."""
    return line.split("=", 1)[1].strip()


# Names of the lifted sizes in a kernel (see lift_sizes); no lowering writes such a name.
_SIZE = "_d"
# a literal after these stays: exponents and shift counts, and the thresholds of comparisons
# (the run-time switch between a loop's serial and parallel versions reads as written)
_KEEP_AFTER = frozenset(("**", "<<", ">>", "<", ">", "<=", ">=", "==", "!="))
# the tokens of generated statements, read once left to right (the tokenize module does the
# same ~10x slower: it was a fifth of a warm ResNet-20 compile)
_LEX = re.compile(r"""
    (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<name>[A-Za-z_]\w*)
  | (?P<float>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?[jJ]|\d+\.\d*(?:[eE][+-]?\d+)?
              |\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|0[xXoObB][0-9a-fA-F_]+)
  | (?P<int>\d+)
  | (?P<op>\*\*|<<|>>|<=|>=|==|!=|//|->|:=|[-+*/%&|^~<>=()\[\]{},:.;@!])
  | (?P<comment>\#[^\n]*)
  | (?P<space>\s+)
""", re.VERBOSE)


def lift_sizes(text: str) -> tuple[str, tuple[int, ...]]:
    """``text`` with its integer literals of 2 and more replaced by ``_d0, _d1, ...`` (one
    per occurrence, in order), and their values.

    A kernel whose code differs from another's only in the sizes written into it (a conv
    layer of 16 channels at 32x32 and one of 64 at 8x8, the same LSTM step with 32 or 64
    inputs) is then the same kernel, compiled once, called with other sizes. Left in place:
    0 and 1 (the same everywhere), literals inside ``[...]`` (indexes, which numba may need
    as constants: ``a.shape[2]``), keyword-argument values, exponents and shift counts
    (``x ** 2``: LLVM turns a constant square into a product) and the right side of a
    comparison.

    A size that is an argument is unknown to LLVM when it compiles the kernel, so a reduction
    loop may be vectorised in another order than with the size written in: a sum can differ
    in its last bit from the same sum compiled inline (elementwise results do not).
    """
    out: list[str] = []
    values: list[int] = []
    stack: list[str] = []
    prev = ""                        # the previous token (not whitespace or a comment)
    last = 0
    for m in _LEX.finditer(text):
        kind, tok = m.lastgroup, m.group()
        if kind in ("space", "comment"):
            continue
        if kind == "op":
            if tok in "([{":
                stack.append(tok)
            elif tok in ")]}" and stack:
                stack.pop()
        elif kind == "int" and int(tok) >= 2 and prev not in _KEEP_AFTER and \
                not (stack and stack[-1] == "[") and \
                not (prev == "=" and stack and stack[-1] == "("):      # a keyword value
            out += [text[last:m.start()], f"{_SIZE}{len(values)}"]
            last = m.end()
            values.append(int(tok))
        prev = tok
    out.append(text[last:])
    return "".join(out), tuple(values)


def plan_kernel(unit: Unit, params: list[str], results: list[str],
                constants: dict[str, str]) -> Kernel:
    """The canonical kernel of ``unit`` (see :func:`_plan_kernel`; cached per unit)."""
    return plan_call(unit, params, results, constants)[0]


def plan_call(unit: Unit, params: list[str], results: list[str],
              constants: dict[str, str]) -> tuple[Kernel, tuple[str, ...]]:
    """The canonical kernel of ``unit`` and the sizes a call passes it after the driver's
    arguments (see :func:`lift_sizes`), as source text."""
    used = {c: constants[c] for c in unit.loads if c in constants}
    return _plan_kernel(unit, tuple(sorted(params)), tuple(sorted(results)),
                        tuple(sorted(used.items())))


@functools.lru_cache(maxsize=8192)
def _plan_kernel(unit: Unit, params: tuple, results: tuple,
                 constants: tuple) -> tuple[Kernel, tuple[str, ...]]:
    """The canonical kernel of ``unit`` with driver-side ``params`` and ``results``.

    Args:
        unit: the statements.
        params: driver names it reads that exist before it (any order: the kernel's order
            is first use in the body).
        results: driver names it binds that are read after it.
        constants: the module's constant and import lines by the name they define.
    Returns:
        A Kernel with canonical names: parameters ``a0..`` in first-use order (the driver's
        arguments are ``params`` in that same order, see :func:`_driver_plan`), locals
        keeping their letters, module constants ``_c0..`` defined by value.
    """
    constants = dict(constants)
    order = unit.names
    pset, rset = set(params), set(results)
    stores, parallel = unit.stores, unit.parallel
    mapping: dict[str, str] = {}
    consts: list[tuple[str, str]] = []
    n_param = n_local = n_const = 0
    for name in order:
        if name in pset:
            mapping[name] = f"a{n_param}"
            n_param += 1
        elif name in stores:
            # a local keeps the letters its lowering gave it (t: buffer, i: index, s: step
            # ...), numbered afresh: readable, and equal for equal code
            mapping[name] = f"{_local_prefix(name)}{n_local}"
            n_local += 1
        elif name in constants:
            line = constants[name]
            if line.startswith(("from ", "import ")):
                consts.append((name, line))          # a runtime function: keeps its name
            else:
                mapping[name] = f"_c{n_const}"
                consts.append((mapping[name], _constant_rhs(line)))
                n_const += 1
    text, sizes = lift_sizes("\n".join(ln for ln in unit.lines
                                       if ln.strip() and not ln.lstrip().startswith("#")))
    body = tuple(_rename(text, mapping).split("\n"))
    kparams = tuple(mapping[p] for p in order if p in pset) + \
        tuple(f"{_SIZE}{k}" for k in range(len(sizes)))
    kresults = tuple(mapping[r] for r in order if r in rset)
    digest = hashlib.sha256()
    for part in (repr(kparams), "\n".join(body), repr(kresults), repr(consts), repr(parallel)):
        digest.update(part.encode())
        digest.update(b"\0")
    return (Kernel(digest.hexdigest(), kparams, Verbatim(body), kresults, tuple(consts),
                   parallel, unit.label), tuple(str(v) for v in sizes))


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
        kernel, sizes = plan_call(unit, params, results, constants)
        order = unit.names
        args = tuple(n for n in order if n in set(params)) + sizes
        rets = tuple(n for n in order if n in set(results))
        plans.append((kernel, args, rets))
        defined |= unit.stores
    return plans


def _n_args(kernel: Kernel) -> int:
    """How many of ``kernel``'s parameters are driver names (the rest are lifted sizes)."""
    return sum(1 for p in kernel.params if not p.startswith(_SIZE))


def group_units(drivers: list[Driver], keys: dict[int, list]) -> list[list[list[int]]]:
    """Where kernel boundaries fall: per driver, the groups of consecutive unit indices that
    become one kernel each.

    First, byte-pair-encoding style, the most frequent pair of adjacent kernels ``(a, b)``
    (``a != b``, at least :data:`OUTLINE_MIN_REPEATS` occurrences, no parallel loop in
    either) becomes one symbol everywhere it occurs, left to right, until no pair repeats: a
    layer ``matmul, bias, relu`` used thirty times becomes one kernel called thirty times. A
    symbol never merges with itself, so thirty layers never become one kernel of two, four,
    eight layers. Then each maximal run of symbols that occur once, or whose repeats save
    fewer than :data:`SHARE_MIN_LINES` lines (and that hold no parallel loop), becomes one
    group: one function boundary instead of many small ones. Grouping never changes the
    order of statements, only where function boundaries fall.
    """
    seqs = []                 # per driver: [(symbol, [unit index ...])]
    sym_of: dict[str, int] = {}
    blocked = 0
    for d in drivers:
        seq = []
        for i, k in enumerate(keys[id(d)]):
            if d.units[i].parallel:
                blocked += 1
                sym = -blocked                   # a symbol of its own, never merged
            else:
                sym = sym_of.setdefault(k, len(sym_of))
            seq.append((sym, [i]))
        seqs.append(seq)
    next_sym = len(sym_of)
    while True:
        pairs: dict[tuple[int, int], int] = {}
        for seq in seqs:
            for (a, _), (b, _) in zip(seq, seq[1:]):
                if a != b and a >= 0 and b >= 0:
                    pairs[(a, b)] = pairs.get((a, b), 0) + 1
        if not pairs:
            break
        (a, b), n = max(pairs.items(), key=lambda kv: kv[1])   # first of the most frequent
        if n < OUTLINE_MIN_REPEATS:
            break
        for k, seq in enumerate(seqs):
            out, i = [], 0
            while i < len(seq):
                if i + 1 < len(seq) and seq[i][0] == a and seq[i + 1][0] == b:
                    out.append((next_sym, seq[i][1] + seq[i + 1][1]))
                    i += 2
                else:
                    out.append(seq[i])
                    i += 1
            seqs[k] = out
        next_sym += 1
    count: dict[int, int] = {}
    size: dict[int, int] = {}
    for d, seq in zip(drivers, seqs):
        for sym, idx in seq:
            count[sym] = count.get(sym, 0) + 1
            size.setdefault(sym, sum(len(d.units[i].lines) for i in idx))
    groups = []
    for seq in seqs:
        out: list[list[int]] = []
        run: list[int] | None = None
        for sym, idx in seq:
            # shared when the copies it saves outweigh a function of its own
            saved = size[sym] * (count[sym] - 1)
            if sym >= 0 and (count[sym] == 1 or saved < SHARE_MIN_LINES):
                run = idx if run is None else run + idx
                continue
            if run is not None:
                out.append(run)
                run = None
            out.append(idx)
        if run is not None:
            out.append(run)
        groups.append(out)
    return groups


def _merged(d: Driver, idx: list[int]) -> Unit:
    return join_units([d.units[i] for i in idx])


def outline(module: Module) -> Module:
    """Fill each driver's ``body`` and ``module.kernels`` (see the module docstring).

    Every unit ends up in a kernel; units are grouped first (:func:`group_units`). A driver
    whose code is a single kernel used nowhere else keeps that code inline (one function to
    compile instead of two). The result depends on the module alone (never on what is
    cached), so a later process builds the same drivers and finds them in the cache.

    Args:
        module: the kernel-IR module (drivers with their units).
    Returns:
        ``module``, updated in place.
    """
    plans = {id(d): _driver_plan(d, module.constants) for d in module.drivers}
    # where the boundaries fall is decided on the code as written, sizes included: a kernel
    # that differs from another only in its sizes is still one compiled kernel (its key is
    # taken without them), but merging by the looser key made longer, less shared kernels
    # (ResNet-20: 17 % more lines to compile)
    keys = {i: [(k.key, args[len(args) - (len(k.params) - _n_args(k)):])
                for k, args, _ in p] for i, p in plans.items()}
    for d, idx in zip(module.drivers, group_units(module.drivers, keys)):
        d.units = [_merged(d, g) if len(g) > 1 else d.units[g[0]] for g in idx]
    plans = {id(d): _driver_plan(d, module.constants) for d in module.drivers}
    uses: dict[str, int] = {}
    for p in plans.values():
        for kernel, _, _ in p:
            uses[kernel.key] = uses.get(kernel.key, 0) + 1
    module.kernels = {}
    for d in module.drivers:
        plan = plans[id(d)]
        if len(plan) == 1 and uses[plan[0][0].key] == 1:
            # the whole segment is one kernel used nowhere else: a driver of its own would
            # only add a function (and a call) to compile
            d.body = [Inline(d.units[0])]
            continue
        body = []
        for kernel, args, rets in plan:
            module.kernels.setdefault(kernel.key, kernel)
            body.append(KernelCall(module.kernels[kernel.key], args, rets))
        d.body = body
    return module
