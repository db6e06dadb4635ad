"""The reference interpreter: evaluates any graph with the ops' numpy implementations.

It is the oracle every pass and code generator is tested against, and an executor in its own
right (``K.function(..., mode='reference')``).
"""
from __future__ import annotations

import numpy as np

from .graph import toposort
from .node import Node, Value
from .ops import REGISTRY


class RngStates:
    """One ``numpy.random.Generator`` per random node, seeded from the node's ``seed``.

    A function owns one ``RngStates``: its random values differ from call to call, and the
    sequence is the same for every function built from the same graph (reproducible).
    """

    def __init__(self):
        self._gens: dict[int, np.random.Generator] = {}

    def get(self, node: Node) -> np.random.Generator:
        gen = self._gens.get(node.id)
        if gen is None:
            seed = node.attrs.get("seed")
            gen = self._gens[node.id] = np.random.default_rng(seed)
        return gen


def run_node(node: Node, args: list, rng: RngStates | None = None) -> list:
    """Evaluate one node on numpy arrays; returns the list of its output arrays."""
    opdef = REGISTRY[node.op]
    kwargs = dict(node.attrs)
    if opdef.kind == "random":
        kwargs["rng"] = (rng or RngStates()).get(node)
    out = opdef.reference(*args, **kwargs)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    result = []
    for v, arr in zip(node.outputs, outs):
        arr = np.asarray(arr)
        if arr.dtype.name != v.type.dtype:
            arr = arr.astype(v.type.dtype)
        result.append(arr)
    return result


def evaluate(outputs, feeds: dict, rng: RngStates | None = None, env: dict | None = None):
    """Compute ``outputs`` (Values) given ``feeds`` {input Value: array}.

    Args:
        outputs: the Values to compute.
        feeds: arrays for the placeholders the outputs depend on.
        rng: random-number state for random ops (a fresh one per call if omitted).
        env: optional dict (Value -> array) filled with every computed value.
    Returns:
        A list of numpy arrays, one per output.
    """
    rng = rng or RngStates()
    vals: dict[Value, np.ndarray] = {} if env is None else env
    for v, arr in feeds.items():
        vals[v] = arr
    for node in toposort(outputs):
        if node.outputs[0] in vals:
            continue
        if node.op == "input":
            v = node.outputs[0]
            raise ValueError(f"placeholder {v.name!r} ({v.type}) is needed to compute the "
                             f"outputs but was not fed")
        if node.op == "variable":
            vals[node.outputs[0]] = node.attrs["var"].value
            continue
        if node.op == "constant":
            vals[node.outputs[0]] = node.attrs["value"]
            continue
        args = [vals[v] for v in node.inputs]
        try:
            outs = run_node(node, args, rng)
        except Exception as e:
            shapes = ", ".join(str(getattr(a, "shape", "?")) for a in args)
            raise type(e)(f"{e} [while running {node.op} on shapes {shapes}, built in "
                          f"{node.provenance}]") from e
        for v, arr in zip(node.outputs, outs):
            vals[v] = arr
    return [vals[v] for v in outputs]
