"""The ``fused`` op: one node standing for a region of elementwise (and broadcasting) ops.

The fusion pass (graphc/passes/fuse.py) replaces a region of the graph by one ``fused`` node
whose ``body`` attribute is a ``Graph``: its ``inputs`` are placeholders (one per input of the
node, same types), its ``outputs`` are the region's values used outside it (one node output
each). Small constants of the region live inside the body. A code generator turns the body
into one loop nest; the reference implementation evaluates the body with the interpreter.

Example:
    >>> x = source("input", TensorType("float32", ("B", 8)), name="x")
    >>> body = Graph([x], [apply("tanh", x * 2.0)])
    >>> (y,) = apply("fused", v, body=body)
"""
from __future__ import annotations

from ..graph import Graph
from ..types import ShapeError, TensorType
from . import apply, defop


def _check_body(types, body) -> Graph:
    if not isinstance(body, Graph):
        raise ShapeError(f"fused: attribute 'body' must be a graphc Graph, got "
                         f"{type(body).__name__}")
    if len(types) != len(body.inputs):
        raise ShapeError(f"fused: the body takes {len(body.inputs)} inputs, the node has "
                         f"{len(types)}")
    for i, (t, b) in enumerate(zip(types, body.inputs)):
        if t.dtype != b.dtype or t.ndim != b.ndim:
            raise ShapeError(f"fused: input {i} is {t}, the body expects {b.type}")
    return body


def _infer(types, body=None):
    body = _check_body(types, body)
    return [TensorType(v.dtype, v.shape) for v in body.outputs]


def _reference(*arrays, body=None):
    from ..interpreter import evaluate
    outs = evaluate(body.outputs, dict(zip(body.inputs, arrays)))
    # a body output may be a body input (identity region): never hand out the caller's array
    return [o.copy() if any(o is a for a in arrays) else o for o in outs]


def inline_body(body: Graph, inputs) -> list:
    """The body's computation rebuilt on ``inputs`` (Values) with ``apply``; returns the
    Values that correspond to ``body.outputs``."""
    env = {id(b): v for b, v in zip(body.inputs, inputs)}
    for node in body.nodes():
        if node.op == "input":
            continue
        if not node.inputs:                      # constants (and variables) are shared
            env[id(node.outputs[0])] = node.outputs[0]
            continue
        outs = apply(node.op, *[env[id(v)] for v in node.inputs], **node.attrs)
        outs = outs if isinstance(outs, tuple) else (outs,)
        for old, new in zip(node.outputs, outs):
            env[id(old)] = new
    return [env[id(v)] for v in body.outputs]


def _grad(node, gouts):
    # d/dinputs of sum_k <out_k, g_k>, differentiated through the inlined body
    from ..autodiff import gradients
    # stop_gradient leaves: a path between two inputs outside the body is not followed here
    # (the outer autodiff carries each input's cotangent further back itself)
    inputs = [apply("stop_gradient", v) for v in node.inputs]
    outs = inline_body(node.attrs["body"], inputs)
    loss = None
    for o, g in zip(outs, gouts):
        if g is None or not o.dtype.startswith("float"):
            continue
        term = apply("sum", apply("mul", o, g))
        loss = term if loss is None else apply("add", loss, term)
    if loss is None:
        return [None] * len(inputs)
    grads = gradients(loss, inputs, unconnected="none")
    return [g if v.dtype.startswith("float") else None for g, v in zip(grads, inputs)]


defop("fused", infer=_infer, reference=_reference, grad=_grad, kind="other",
      defaults={"body": None},
      doc="A fused region of elementwise ops; `body` is a Graph (one loop nest when compiled).",
      aliases="fresh")
