"""Lowering a Graph to a CUDA plan: one step per node, each on the device or on the host.

Every node of the (optimised, fused) graph becomes one step, in topological order:

* ``fused`` regions and lone elementwise nodes -> one generated kernel each (elementwise.py),
  all kernels of a graph in ONE generated module loaded through the compile cache;
* ``sum mean max min prod`` -> the reduction kernels (kernels.py); ``matmul`` -> the tiled
  product; ``softmax log_softmax softmax_cross_entropy`` over the last axis -> row kernels;
* ``transpose`` (2-D: a free strided view; n-D: a strided copy), ``broadcast_like`` (a
  strided copy with stride 0), ``reshape flatten expand_dims squeeze`` (free views of
  contiguous arrays), ``shape`` and ``size`` (read from the run-time shape; no data moves);
* everything else runs its numpy reference on the host. When such a node reads device data
  it is a *fallback*: its inputs are copied to the host and its outputs back when a device
  step needs them, with ONE warning per op name and process -- never a crash. Nodes whose
  inputs all live on the host anyway (constants, run-time shapes: the ``count`` arithmetic of
  mean gradients) run there silently. Random ops draw on the host from one numpy Generator
  per node (reproducible, as on the CPU path) and their values are copied to the device.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from ...ir.graph import Graph
from ...ir.node import Node
from ...ir.ops import REGISTRY, source
from .elementwise import KernelSource, region_kernel, region_supported
from .kernels import REDUCE_OPS
from .scalar import PRELUDE, TemplateError

DEVICE_DTYPES = ("float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")
FLOAT_DTYPES = ("float32", "float64")

_warned_ops: set[str] = set()


def warn_fallback(op: str, reason: str = "") -> None:
    """One warning per op name and process: the op runs its numpy reference on the host."""
    if op in _warned_ops:
        return
    _warned_ops.add(op)
    why = f" ({reason})" if reason else ""
    warnings.warn(f"graphc: op {op!r} has no CUDA lowering{why}; it runs its numpy reference "
                  f"on the host, with its inputs copied from the GPU and its outputs back "
                  f"(slower, still correct)", RuntimeWarning, stacklevel=4)


@dataclass
class Step:
    """One node of the plan. ``kind`` is one of: kernel, reduce, matmul, softmax, xent,
    transpose, broadcast, view, shape, host. ``info`` holds what the executor needs."""
    kind: str
    node: Node
    info: dict = field(default_factory=dict)


@dataclass
class Plan:
    """What the CUDA executor runs."""
    graph: Graph
    steps: list
    source: str                     # the generated kernel module ('' when it has no kernels)
    kernels: list                   # KernelSource per kernel step, in step order
    fallback_ops: list              # op names that run on the host with device inputs
    host_values: set = field(default_factory=set)   # id(Value) computed on the host


def _single_body(node: Node) -> Graph:
    """A one-node region for a lone elementwise node; one-element constants move inside."""
    phs, ins = [], []
    for v in node.inputs:
        if v.node.op == "constant" and int(np.prod(v.shape)) == 1:
            ins.append(v)
            continue
        ph = source("input", v.type, name=f"in{len(phs)}")
        phs.append(ph)
        ins.append(ph)
    copy = Node(node.op, ins, node.attrs, [o.type for o in node.outputs], scope=node.scope,
                src=node.src)
    return Graph(phs, list(copy.outputs), name=f"{node.op}_{node.id}")


def _region_inputs(node: Node) -> list:
    """The node inputs a region kernel reads (a lone node's one-element constants are
    literals in its body)."""
    if node.op == "fused":
        return list(node.inputs)
    return [v for v in node.inputs
            if not (v.node.op == "constant" and int(np.prod(v.shape)) == 1)]


def _dtypes_ok(node: Node, allowed=DEVICE_DTYPES) -> bool:
    return all(v.dtype in allowed for v in list(node.inputs) + list(node.outputs))


def _classify(node: Node) -> tuple[str, dict, str]:
    """(step kind, info, reason-if-host) for a node whose data lives on the device."""
    op = node.op
    opdef = REGISTRY.get(op)
    if op == "fused" or (opdef is not None and opdef.kind == "elementwise" and
                         opdef.scalar is not None and len(node.outputs) == 1):
        body = node.attrs["body"] if op == "fused" else _single_body(node)
        why = region_supported(body)
        if why:
            return "host", {}, why
        return "kernel", {"body": body}, ""
    if op in REDUCE_OPS:
        x, y = node.inputs[0], node.outputs[0]
        if x.dtype not in DEVICE_DTYPES or x.dtype == "bool" or x.dtype != y.dtype:
            return "host", {}, f"{x.dtype} -> {y.dtype} reduction"
        return "reduce", {"axes": tuple(node.attrs["axes"])}, ""
    if op == "matmul":
        a, b = node.inputs
        if a.dtype != b.dtype or a.dtype not in FLOAT_DTYPES:
            return "host", {}, f"{a.dtype} x {b.dtype} product"
        if a.ndim > 2 or b.ndim > 2:
            if a.ndim != b.ndim or a.ndim < 3:
                return "host", {}, "a batched product whose operands differ in rank"
        return "matmul", {}, ""
    if op in ("softmax", "log_softmax"):
        x = node.inputs[0]
        if x.dtype not in FLOAT_DTYPES or node.attrs["axis"] != x.ndim - 1:
            return "host", {}, "softmax over an axis other than the last"
        return "softmax", {"log": op == "log_softmax"}, ""
    if op == "softmax_cross_entropy":
        z, t = node.inputs
        if z.dtype != t.dtype or z.dtype not in FLOAT_DTYPES or z.shape != t.shape or \
                node.attrs["axis"] != z.ndim - 1:
            return "host", {}, "targets broadcast against the logits, or not the last axis"
        return "xent", {}, ""
    if op == "transpose":
        if not _dtypes_ok(node):
            return "host", {}, "dtype"
        return "transpose", {"perm": tuple(node.attrs["perm"])}, ""
    if op == "broadcast_like":
        if not _dtypes_ok(node):
            return "host", {}, "dtype"
        return "broadcast", {"axes": tuple(node.attrs.get("axes", ()))}, ""
    if REGISTRY[op].aliases == "view":         # same elements, same order: no copy
        if len(node.inputs) != 1 or not _dtypes_ok(node):
            return "host", {}, "a reshape to a computed shape"
        return "view", {}, ""
    if op in ("shape", "size"):
        return "shape", {}, ""
    return "host", {}, ""


def lower(graph: Graph) -> Plan:
    """Plan ``graph`` for the CUDA executor.

    Args:
        graph: the (optimised) graph; its ``inputs`` are the call's arrays in order.
    Returns:
        A Plan: steps in run order and the generated kernel module's source.

    Example:
        >>> plan = lower(graph)
        >>> [s.kind for s in plan.steps]
        ['matmul', 'kernel', 'reduce']
    """
    graph.require_inputs()
    order = graph.nodes()
    host_values: set[int] = set()           # values known to live on the host
    steps: list[Step] = []
    kernels: list[KernelSource] = []
    consts: list[str] = []
    seen: dict = {}
    fallback_ops: list[str] = []
    for n in order:
        if n.op in ("input", "variable"):
            continue
        if n.op == "constant":
            host_values.add(id(n.outputs[0]))
            continue
        opdef = REGISTRY[n.op]
        all_host = all(id(v) in host_values for v in n.inputs)
        if opdef.kind == "random" or all_host:
            steps.append(Step("host", n, {"random": opdef.kind == "random"}))
            host_values.update(id(o) for o in n.outputs)
            continue
        kind, info, why = _classify(n)
        if kind == "kernel":
            try:
                ks = region_kernel(f"k{len(kernels)}_{n.op}", info["body"], consts, seen)
            except TemplateError as e:
                kind, why = "host", str(e)
            else:
                info = {"kernel": ks, "inputs": _region_inputs(n)}
                kernels.append(ks)
        if kind == "host":
            if n.op not in fallback_ops:
                fallback_ops.append(n.op)
            info = {"reason": why, "random": False}
        if kind in ("host", "shape"):
            host_values.update(id(o) for o in n.outputs)
        steps.append(Step(kind, n, info))
    return Plan(graph, steps, module_source(kernels, consts), kernels, fallback_ops,
                host_values)


def module_source(kernels: list, consts: list) -> str:
    """The generated module: imports, constants, device prelude and one kernel per region."""
    if not kernels:
        return ""
    from . import runtime
    deco = "@cuda.jit" if runtime.simulated() else "@cuda.jit(cache=True)"
    out = ['"""Generated by graphc.codegen.cuda (do not edit)."""',
           "import math",
           "",
           "import numba",
           "import numpy as np",
           "",
           "from graphc.codegen.cuda.runtime import cuda_module as _cuda_module",
           "",
           "cuda = _cuda_module()",
           ""]
    out += consts
    out += ["", "", PRELUDE]
    for ks in kernels:
        out += ["", deco] + ks.lines + [""]
    return "\n".join(out) + "\n"
