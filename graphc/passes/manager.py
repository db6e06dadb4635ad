"""The pass manager: pipelines are explicit ordered lists of named passes.

``optimize(graph, pipeline)`` runs the passes in order. After each pass it can verify the
graph (``verify=True`` or ``GRAPHC_VERIFY=1``; always on in the test suite), print the IR
(``dump=`` a pass name, a list of names, ``"all"``, or ``GRAPHC_DUMP=after:cse``), and it
records per-pass statistics (seconds, nodes before and after) in the returned ``PassStats``.

Example:
    >>> g2, stats = optimize(graph, "fast_run", dump="after:cse")
    >>> print(stats)
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field

from ..ir.graph import Graph


def _fuse(graph):
    from .fuse import fuse
    return fuse(graph)


def _dce(graph):
    from .dce import dce
    return dce(graph)


def _const_fold(graph):
    from .const_fold import const_fold
    return const_fold(graph)


def _cse(graph):
    from .cse import cse
    return cse(graph)


def _simplify(graph):
    from .algebraic import simplify
    return simplify(graph)


PASSES = {
    "dce": _dce,
    "const_fold": _const_fold,
    "simplify": _simplify,
    "cse": _cse,
    "fuse": _fuse,
}

PIPELINES = {
    "none": [],
    # few, cheap passes: quickest to compile
    "fast_compile": ["dce", "const_fold", "cse"],
    # everything: simplify before CSE so rewritten forms merge; fold again what they expose;
    # fuse last, on the final node set
    "fast_run": ["dce", "const_fold", "simplify", "cse", "const_fold", "simplify", "cse",
                 "fuse", "dce"],
}


# A pass that makes the graph this much bigger is broken (a rewrite that keeps expanding):
# stop with an error naming it rather than let the next passes and the compile run away.
MAX_GROWTH = 4
MAX_GROWTH_SLACK = 1000


class PassError(ValueError):
    """An unknown pipeline or pass name."""


@dataclass
class PassStats:
    """Per-pass records: (pass name, seconds, nodes before, nodes after)."""
    pipeline: str = ""
    records: list = field(default_factory=list)

    @property
    def total_seconds(self) -> float:
        return sum(r[1] for r in self.records)

    def __str__(self):
        lines = [f"pipeline {self.pipeline}: {self.total_seconds * 1e3:.1f} ms",
                 f"  {'pass':<12} {'ms':>8} {'nodes':>13}"]
        for name, sec, before, after in self.records:
            lines.append(f"  {name:<12} {sec * 1e3:8.2f} {before:>5} -> {after:<5}")
        return "\n".join(lines)


def pass_names(pipeline: str) -> list[str]:
    if pipeline not in PIPELINES:
        raise PassError(f"unknown pipeline {pipeline!r}; valid pipelines are: "
                        f"{', '.join(PIPELINES)}")
    return list(PIPELINES[pipeline])


def _dump_wanted(dump, name: str, index: int) -> bool:
    if dump is None:
        dump = os.environ.get("GRAPHC_DUMP") or None
    if dump is None or dump is False:
        return False
    items = dump if isinstance(dump, (list, tuple)) else str(dump).split(",")
    for item in items:
        item = item.strip()
        if item.startswith("after:"):
            item = item[len("after:"):]
        if item in ("all", "*", name):
            return True
    return False


def _check_dump_names(dump):
    if dump is None or dump is False:
        return
    items = dump if isinstance(dump, (list, tuple)) else str(dump).split(",")
    for item in items:
        item = item.strip()
        item = item[len("after:"):] if item.startswith("after:") else item
        if item not in PASSES and item not in ("all", "*", "input", "kir"):
            raise PassError(f"unknown pass {item!r} in dump request; valid passes are: "
                            f"{', '.join(PASSES)} (or 'all')")


def optimize(graph: Graph, pipeline: str = "fast_run", *, verify: bool | None = None,
             dump=None, out=None):
    """Run a pipeline over ``graph``.

    Args:
        graph: the graph to optimise (left unchanged).
        pipeline: a name in PIPELINES, or an explicit list of pass names.
        verify: run the verifier after every pass (default: env GRAPHC_VERIFY=1).
        dump: print the IR after these passes: a name, a list, "all" or "input" (the graph
            before any pass); default env GRAPHC_DUMP (e.g. "after:cse,after:fuse").
        out: stream for dumps (default stderr).
    Returns:
        (optimised graph, PassStats).
    """
    names = list(pipeline) if isinstance(pipeline, (list, tuple)) else pass_names(pipeline)
    for n in names:
        if n not in PASSES:
            raise PassError(f"unknown pass {n!r}; valid passes are: {', '.join(PASSES)}")
    _check_dump_names(dump)
    if verify is None:
        verify = os.environ.get("GRAPHC_VERIFY", "") not in ("", "0")
    out = out or sys.stderr
    stats = PassStats(pipeline if isinstance(pipeline, str) else ",".join(names))
    if _dump_wanted(dump, "input", -1):
        print(f"// {graph.name} before any pass", file=out)
        print(graph, file=out)
    for i, name in enumerate(names):
        before = len(graph)
        t0 = time.perf_counter()
        graph = PASSES[name](graph)
        dt = time.perf_counter() - t0
        if len(graph) > MAX_GROWTH * before + MAX_GROWTH_SLACK:
            raise PassError(f"internal error: pass {name!r} grew graph {graph.name!r} from "
                            f"{before} to {len(graph)} nodes (more than {MAX_GROWTH}x + "
                            f"{MAX_GROWTH_SLACK}); please report it with the model")
        stats.records.append((name, dt, before, len(graph)))
        if verify:
            from ..ir.verify import verify as run_verify
            run_verify(graph)
        if _dump_wanted(dump, name, i):
            print(f"// {graph.name} after {name} (pass {i + 1} of {len(names)})", file=out)
            print(graph, file=out)
    return graph, stats
