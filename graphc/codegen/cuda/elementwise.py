"""Fused elementwise regions -> the source of one ``@cuda.jit`` kernel each.

A region (the body Graph of a ``fused`` node, or one elementwise node) becomes a grid-stride
loop over the flat index ``i`` of its output. Broadcasting is resolved statically: for every
input and output axis the region knows whether the input spans the axis ('f') or is broadcast
along it ('b', its dimension is 1). Adjacent axes with the same letter for every input are
merged, so a bias row over a ``[B, N]`` output reads ``in1[i % N]`` and a full input reads
``in0[i]``; only the merged dimensions are kernel arguments, read at run time, so a new batch
size never recompiles.

All arrays are passed flat (C-contiguous, 1-D views). Each body node becomes one line
``t = cast(expr)`` from its op's scalar template (see scalar.py); outputs are stored once.

Example:
    >>> kern = region_kernel("fused_3", body)      # KernelSource
    >>> print(kern.source)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...ir.graph import Graph
from ...ir.ops import REGISTRY
from ...ir.types import is_float
from ..literals import py_literal
from .scalar import CASTS, CAST_OF_DTYPE, scalar_expr

SUPPORTED_DTYPES = ("float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")


@dataclass
class KernelSource:
    """A generated elementwise kernel: its function name, source lines and calling plan.

    ``patterns[k]`` is the per-merged-axis 'f'/'b' string of input k; ``groups`` lists the
    output axes each merged dimension covers (the executor multiplies their sizes).
    """
    name: str
    lines: list
    groups: list            # list of tuples of output axes
    patterns: list          # one str per input
    n_outputs: int


def compute_dtype(node) -> str | None:
    """The float dtype an elementwise node computes in (None: an int/bool node)."""
    out = node.outputs[0].dtype
    if is_float(out):
        return out
    floats = [v.dtype for v in node.inputs if is_float(v.dtype)]
    return max(floats, key=("float16", "float32", "float64").index) if floats else None


def region_supported(body: Graph) -> str:
    """'' when the region can become a CUDA kernel, else the reason it cannot."""
    outs = body.outputs
    if not outs:
        return "the region has no outputs"
    shape = outs[0].shape
    if any(o.shape != shape for o in outs):
        return "its outputs have different shapes"
    if any(d is None for d in shape):
        return "an output dimension is unknown"
    for node in body.nodes():
        if node.op == "input":
            continue
        for v in list(node.inputs) + list(node.outputs):
            if v.dtype not in SUPPORTED_DTYPES:
                return f"dtype {v.dtype} has no CUDA arithmetic here"
        if node.op == "constant":
            if int(np.prod(node.outputs[0].shape)) != 1:
                return "a constant inside the region has more than one element"
            continue
        if node.op == "variable":
            return "a variable inside the region"
        opdef = REGISTRY.get(node.op)
        if opdef is None or opdef.kind != "elementwise" or opdef.scalar is None:
            return f"op {node.op!r} is not elementwise"
    return ""


def _pattern(in_shape, out_shape) -> str:
    pad = (1,) * (len(out_shape) - len(in_shape)) + tuple(in_shape)
    return "".join("b" if (d == 1 and o != 1) else "f" for d, o in zip(pad, out_shape))


def _merge(patterns: list[str], ndim: int) -> tuple[list, list[str]]:
    """Merge adjacent axes on which every input has the same letter."""
    groups: list[list[int]] = []
    for ax in range(ndim):
        if groups and all(p[ax] == p[groups[-1][-1]] for p in patterns):
            groups[-1].append(ax)
        else:
            groups.append([ax])
    merged = ["".join(p[g[0]] for g in groups) for p in patterns]
    return [tuple(g) for g in groups], merged


def _literal_fn(consts: list, seen: dict):
    def literal(value, dtype):
        key = (dtype, repr(value))
        name = seen.get(key)
        if name is None:
            name = seen[key] = f"_k{len(seen)}"
            consts.append(f"{name} = {CASTS[CAST_OF_DTYPE[dtype]]}({py_literal(value, dtype)})")
        return name
    return literal


def region_kernel(name: str, body: Graph, consts: list, seen: dict) -> KernelSource:
    """Generate the kernel of one elementwise region.

    Args:
        name: the kernel's function name (an identifier unique in the module).
        body: the region (inputs = placeholders, outputs all of one shape).
        consts: module-level constant lines, appended to (shared by a module's kernels).
        seen: literal cache shared with ``consts``.
    Returns:
        A KernelSource.
    """
    literal = _literal_fn(consts, seen)
    out_shape = body.outputs[0].shape
    ndim = len(out_shape)
    patterns = [_pattern(v.shape, out_shape) for v in body.inputs]
    groups, merged = _merge(patterns, ndim) if ndim else ([], ["" for _ in patterns])
    m = len(groups)
    n_in, n_out = len(body.inputs), len(body.outputs)
    dims = [f"d{j}" for j in range(m)]
    params = ["n"] + dims + [f"out{k}" for k in range(n_out)] + [f"in{k}" for k in range(n_in)]
    lines = [f"def {name}({', '.join(params)}):",
             "    start = cuda.grid(1)",
             "    step = cuda.gridsize(1)",
             "    for i in range(start, n, step):"]
    body_lines = []
    need_coords = any(("b" in p and "f" in p) for p in merged)
    if need_coords:
        body_lines.append("r = i")
        for j in range(m - 1, 0, -1):
            body_lines.append(f"c{j} = r % d{j}")
            body_lines.append(f"r = r // d{j}")
        body_lines.append("c0 = r")
    names: dict[int, str] = {}
    for k, (v, p) in enumerate(zip(body.inputs, merged)):
        if "b" not in p:
            index = "i"
        elif "f" not in p:
            index = "0"
        else:
            terms = []
            for j in range(m):
                if p[j] != "f":
                    continue
                stride = [f"d{q}" for q in range(j + 1, m) if p[q] == "f"]
                terms.append("*".join([f"c{j}"] + stride))
            index = " + ".join(terms)
        names[id(v)] = f"a{k}"
        body_lines.append(f"a{k} = in{k}[{index}]")
    tmp = 0
    for node in body.nodes():
        if node.op == "input":
            continue
        out = node.outputs[0]
        if node.op == "constant":
            value = np.asarray(node.attrs["value"]).reshape(-1)[0]
            names[id(out)] = literal(value.item(), out.dtype)
            continue
        opdef = REGISTRY[node.op]
        attrs = {k: v for k, v in node.attrs.items()}
        template = opdef.scalar([names[id(v)] for v in node.inputs], **attrs)
        expr = scalar_expr(template, compute_dtype(node), literal)
        t = f"t{tmp}"
        tmp += 1
        body_lines.append(f"{t} = {CASTS[CAST_OF_DTYPE[out.dtype]]}({expr})")
        names[id(out)] = t
    for k, v in enumerate(body.outputs):
        body_lines.append(f"out{k}[i] = {names[id(v)]}")
    lines += ["        " + ln for ln in body_lines]
    return KernelSource(name, lines, groups, merged, n_out)


def merged_dims(kern: KernelSource, out_shape) -> list[int]:
    """Run-time sizes of the kernel's merged dimensions for an output of ``out_shape``."""
    return [int(np.prod([out_shape[a] for a in g])) for g in kern.groups]
