"""The one table of CPU lowerings: which function writes each op's code, and what it promises.

A lowering is registered next to its code with a decorator::

    @lowers("sum", "mean", supports=_supports_reduce, fresh=True)
    def _emit_reduce(ctx, node): ...

``supports(node)`` decides, before any code is written, whether this instance runs natively;
a node without a lowering (or whose pattern it declines, e.g. an int matmul) runs its numpy
reference between native segments (see ``cpu/lower.py``). Ops of a kind with a lowering of its
own (``@lowers_kind("elementwise")``) need no entry: every elementwise op is one loop nest.

What a lowering promises, for the memory plan (``cpu/writer.MemoryPlan``):

* ``fresh``: it writes every output into a new buffer (or a variable's storage), so no output
  aliases an input. Allowed only where the op's definition says so (``OpDef.aliases ==
  "fresh"``); any other lowering may return a view, which the plan treats as an alias.
* ``writes_destination``: it honours ``ctx.dest`` (writes its outputs into a buffer it is
  given: a loop nest, a concatenation's copies).

This module imports only the op registry: the families (``elementwise.py``, ``reduce.py``,
``linalg.py``, ``shape.py``, ``indexing.py``, ``softmax.py``, ``nn.py``, ``loop.py``) import it,
and ``lowering/__init__.py`` imports them all, so a reader finds where an op is lowered by
searching for its name in a ``@lowers(...)`` line.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ....ir.ops import REGISTRY

__all__ = ["Lowering", "LOWERINGS", "lowers", "lowers_kind", "lowering_of", "native_supported",
           "fresh_outputs", "writes_destination", "emit"]


def _always(node) -> bool:
    return True


@dataclass(frozen=True)
class Lowering:
    """How one op (or one kind of op) becomes code; see the module docstring."""
    emit: Callable
    supports: Callable = _always
    fresh: bool = False
    writes_destination: bool = False


LOWERINGS: dict[str, Lowering] = {}         # op name -> its lowering
KIND_LOWERINGS: dict[str, Lowering] = {}    # op kind -> the lowering of its ops without one


def lowers(*ops: str, supports: Callable | None = None, fresh: bool = False,
           writes_destination: bool = False):
    """Register the decorated ``emit(ctx, node)`` as the lowering of ``ops``.

    Raises:
        ValueError: for an op the registry does not define, an op lowered twice, or
            ``fresh=True`` on an op whose definition says its outputs may alias.
    """
    def register(fn):
        entry = Lowering(fn, supports or _always, fresh, writes_destination)
        for op in ops:
            if op not in REGISTRY:
                raise ValueError(f"@lowers({op!r}) in {fn.__module__}: no such op")
            if op in LOWERINGS:
                raise ValueError(f"op {op!r} is lowered twice: {LOWERINGS[op].emit.__module__}"
                                 f".{LOWERINGS[op].emit.__name__} and {fn.__module__}.{fn.__name__}")
            if fresh and REGISTRY[op].aliases != "fresh":
                raise ValueError(f"@lowers({op!r}, fresh=True) in {fn.__module__}: the op's "
                                 f"definition says aliases={REGISTRY[op].aliases!r}")
            LOWERINGS[op] = entry
        return fn
    return register


def lowers_kind(kind: str, supports: Callable | None = None, fresh: bool = False,
                writes_destination: bool = False):
    """Register the decorated function as the lowering of every op of ``kind`` that has no
    lowering of its own (ops added to the registry later included)."""
    def register(fn):
        if kind in KIND_LOWERINGS:
            raise ValueError(f"kind {kind!r} is lowered twice")
        KIND_LOWERINGS[kind] = Lowering(fn, supports or _always, fresh, writes_destination)
        return fn
    return register


def lowering_of(node) -> Lowering | None:
    """The lowering of ``node``'s op, or None when the op has none."""
    entry = LOWERINGS.get(node.op)
    if entry is not None:
        return entry
    opdef = REGISTRY.get(node.op)
    return KIND_LOWERINGS.get(opdef.kind) if opdef is not None else None


def native_supported(node) -> bool:
    """True if ``node`` runs in generated code (else its reference runs between segments)."""
    if node.op not in REGISTRY:
        return False
    if any(v.dtype == "float16" for v in list(node.inputs) + list(node.outputs)):
        return False       # numba has no float16 arithmetic
    entry = lowering_of(node)
    return entry is not None and bool(entry.supports(node))


def fresh_outputs(node) -> bool:
    """True when ``node``'s lowering writes its outputs into new buffers (or a variable's
    storage), so no output aliases an input."""
    entry = lowering_of(node)
    return entry is not None and entry.fresh


def writes_destination(node) -> bool:
    """True when ``node``'s lowering honours ``ctx.dest``."""
    entry = lowering_of(node)
    return entry is not None and entry.writes_destination


def emit(ctx, node) -> None:
    """Write ``node``'s code through ``ctx`` with its lowering."""
    entry = lowering_of(node)
    if entry is None:
        raise NotImplementedError(f"internal error: op {node.op!r} has no CPU lowering")
    entry.emit(ctx, node)
