"""Looking inside the compiler: IR dumps before and after each pass, fused kernels, generated
source, graph pictures (DOT / SVG / PNG), JSON, and Jupyter display.

Everything here takes "something that holds a graph": a ``Graph``, a ``K.function``
(``Function``), a compiled function, a model (its ``train`` / ``test`` / ``predict`` step), a
layer (the graph up to its output), or symbolic tensors.

Example:
    >>> from graphc import inspect
    >>> print(inspect.dump(f, after="fuse"))          # the IR after the fusion pass
    >>> print(inspect.generated_source(f))            # the numba source compiled for f
    >>> inspect.render(f, "step.png", after="fuse")   # a picture, fused kernels as clusters
"""
from __future__ import annotations

import html
import json
import shutil
import subprocess

import numpy as np

from .ir.graph import Graph
from .ir.node import Value
from .ir.printer import _defaults, _fmt_attr, _same, _sanitize, format_graph, format_literal

STEPS = ("train", "test", "predict")
FORMATS = ("text", "dot", "json")
_SOURCES = ("input", "variable", "constant")

GRAPHVIZ_HELP = ("rendering needs the Graphviz 'dot' program, which was not found on PATH. "
                 "Install it with `apt-get install graphviz` (Debian/Ubuntu), `brew install "
                 "graphviz` (macOS) or `conda install graphviz`, or see "
                 "https://graphviz.org/download/. to_dot() works without it: paste its text "
                 "into any Graphviz viewer.")


class GraphvizNotFound(RuntimeError):
    """Rendering was asked for but Graphviz's ``dot`` program is not installed."""


class InspectError(ValueError):
    """An object that holds no graph, an unknown step, pass or format."""


# ============================================================================================
# finding the graph
# ============================================================================================

def is_model(obj) -> bool:
    """True for a graphc Model / Sequential (anything with the three compiled steps)."""
    return all(hasattr(type(obj), f"{s}_function") for s in STEPS)


def is_function(obj) -> bool:
    """True for a ``K.function`` result (a ``graphc.function.Function``)."""
    from .function import Function
    return isinstance(obj, Function)


def default_step(model) -> str:
    """``'train'`` for a compiled model, else ``'predict'``."""
    return "train" if getattr(model, "optimizer", None) is not None and \
        getattr(model, "_compiled", False) else "predict"


def function_of(obj, step: str | None = None):
    """The ``Function`` behind ``obj``: itself, or a model's ``step`` function.

    Args:
        obj: a Function or a Model.
        step: ``'train'``, ``'test'`` or ``'predict'`` for a model (default: ``'train'`` when
            the model is compiled, else ``'predict'``).
    Returns:
        A ``graphc.function.Function``.

    Example:
        >>> f = function_of(model, "train")
    """
    if is_function(obj):
        return obj
    if is_model(obj):
        step = step or default_step(obj)
        if step not in STEPS:
            raise InspectError(f"unknown step {step!r}; valid steps are: {', '.join(STEPS)}")
        if step in ("train", "test") and not getattr(obj, "_compiled", False):
            raise InspectError(f"model {obj.name!r} is not compiled, so it has no {step} step; "
                               f"call model.compile(optimizer, loss) or use step='predict'")
        return getattr(obj, f"{step}_function")
    raise InspectError(f"expected a K.function or a Model, got {type(obj).__name__}")


def graph_of(obj, step: str | None = None) -> Graph:
    """The IR graph held by ``obj``.

    Args:
        obj: a Graph, Function, CompiledFunction, Model (see ``step``), Layer (the graph up to
            its output), a symbolic tensor or a list of them.
        step: for a model: ``'train'``, ``'test'`` or ``'predict'``.
    Returns:
        A ``graphc.ir.Graph``.

    Example:
        >>> g = graph_of(model, step="train")
    """
    if isinstance(obj, Graph):
        return obj
    if is_function(obj) or is_model(obj):
        return function_of(obj, step).graph
    if isinstance(obj, Value) or (isinstance(obj, (list, tuple)) and obj
                                  and all(isinstance(v, Value) for v in obj)):
        outs = [obj] if isinstance(obj, Value) else list(obj)
        return Graph(Graph([], outs).free_inputs(), outs, name="values")
    if hasattr(obj, "_inbound_nodes") and hasattr(obj, "output"):     # a layer
        try:
            out = obj.output
        except AttributeError as e:
            raise InspectError(f"layer {obj.name!r} has not been called on a tensor yet, so "
                               f"it has no graph: {e}") from None
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        return Graph(Graph([], outs).free_inputs(), outs, name=_sanitize(obj.name))
    g = getattr(obj, "graph", None)
    if isinstance(g, Graph):                                          # CompiledFunction
        return g
    raise InspectError(f"{type(obj).__name__} holds no graphc graph; pass a Graph, a "
                       f"K.function, a Model, a Layer or symbolic tensors")


# ============================================================================================
# stages: the graph before and after each pass
# ============================================================================================

def _pipeline_names(pipeline) -> tuple[str, list[str]]:
    from . import config
    from .passes.manager import pass_names
    if pipeline is None:
        pipeline = config.get("pipeline")
    if isinstance(pipeline, (list, tuple)):
        return ",".join(pipeline), list(pipeline)
    return pipeline, pass_names(pipeline)


def stage_names(pipeline=None) -> list[str]:
    """Names of the stages of a pipeline: ``input`` then one per pass; a pass that runs more
    than once is numbered from its second run (``cse``, ``cse#2``).

    Example:
        >>> stage_names("fast_compile")
        ['input', 'dce', 'const_fold', 'cse']
    """
    _, names = _pipeline_names(pipeline)
    out, seen = ["input"], {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}#{seen[n]}")
    return out


def stages(obj, pipeline=None, step: str | None = None, verify: bool = True) -> list:
    """The graph as built and after every pass of ``pipeline``.

    Args:
        obj: anything :func:`graph_of` accepts.
        pipeline: a pipeline name or a list of pass names (default: the ``pipeline`` setting).
        step: a model's step.
        verify: run the IR verifier after each pass.
    Returns:
        A list of ``(stage name, Graph, PassStats record or None)``; names as
        :func:`stage_names`.

    Example:
        >>> for name, g, rec in stages(f):
        ...     print(name, len(g))
    """
    from .passes.manager import optimize
    graph = graph_of(obj, step)
    label, names = _pipeline_names(pipeline)
    out = [("input", graph, None)]
    labels = stage_names(names)
    for name, stage in zip(names, labels[1:]):
        graph, stats = optimize(graph, [name], verify=verify)
        out.append((stage, graph, stats.records[0]))
    return out


def _pick_stage(all_stages: list, after: str | None):
    if after is None:
        return all_stages[0]
    after = after[len("after:"):] if after.startswith("after:") else after
    if after in ("final", "last", "optimized"):
        return all_stages[-1]
    names = [s[0] for s in all_stages]
    exact = after.endswith("#1")               # "cse#1": the first run, named plain "cse"
    if exact:
        after = after[:-2]
    if after in names:
        if exact or "#" in after:
            return all_stages[names.index(after)]
        # a bare name of a pass that runs several times means its LAST run
        runs = [s for s in all_stages if s[0] == after or s[0].startswith(after + "#")]
        return runs[-1]
    from .passes.manager import PASSES
    valid = ", ".join(["input", "final"] + names[1:])
    if after not in PASSES and "#" not in after:
        raise InspectError(f"unknown pass {after!r}; valid: {valid} (all passes: "
                           f"{', '.join(PASSES)})")
    raise InspectError(f"pass {after!r} is not in this pipeline; valid stages: {valid}")


def optimized(obj, pipeline=None, step: str | None = None, after: str | None = "final"):
    """The graph after ``after`` (a pass name, ``'input'`` or ``'final'``) of ``pipeline``."""
    return _pick_stage(stages(obj, pipeline, step), after)[1]


# ============================================================================================
# text dumps
# ============================================================================================

def dump(obj, after: str | None = None, *, pipeline=None, step: str | None = None,
         format: str = "text", source: bool = True, kernels: bool = False,  # noqa: A002
         kernel_ir: bool = False) -> str:
    """The IR of ``obj`` as text, DOT or JSON, before any pass or after a given one.

    Args:
        obj: anything :func:`graph_of` accepts.
        after: ``None`` / ``'input'`` (the graph as built), a pass name (after its last run
            in the pipeline; ``'cse#1'`` for a particular run), or ``'final'``.
        pipeline: pipeline name or list of passes (default: the ``pipeline`` setting).
        step: a model's step (``'train'``, ``'test'``, ``'predict'``).
        format: ``'text'`` (the IR text form), ``'dot'`` or ``'json'``.
        source: in text form, show each node's ``file:line`` after its layer.
        kernels: in text form, append a table of the fused kernels (see :func:`kernels`).
        kernel_ir: with ``kernels``, append the kernel IR too (see :func:`kernel_ir_text`).
    Returns:
        The dump as a string.

    Example:
        >>> print(dump(model, after="fuse", step="train"))
    """
    if format not in FORMATS:
        raise InspectError(f"unknown format {format!r}; valid formats are: {', '.join(FORMATS)}")
    graph = graph_of(obj, step)
    if after not in (None, "input", "after:input"):
        graph = _pick_stage(stages(graph, pipeline), after)[1]
    if format == "dot":
        return to_dot(graph)
    if format == "json":
        return json.dumps(to_json(graph), indent=1)
    text = format_graph(graph, source=source)
    if kernels:
        text += "\n\n" + format_kernels(graph, kernel_ir=kernel_ir)
    return text


def dump_all(obj, pipeline=None, step: str | None = None, source: bool = True) -> str:
    """Every stage of the pipeline, each headed by ``// <name> after <pass> (n -> m nodes,
    ms)``: the whole story of one graph through the optimiser, like Theano's
    ``optimizer_verbose`` or JAX's per-pass HLO dumps."""
    parts = []
    for name, g, rec in stages(obj, pipeline, step):
        head = f"// {g.name}: as built ({len(g)} nodes)" if rec is None else (
            f"// {g.name} after {name} ({rec[2]} -> {rec[3]} nodes, {rec[1] * 1e3:.2f} ms)")
        parts.append(head + "\n" + format_graph(g, source=source))
    return "\n\n".join(parts)


def kernels(obj, step: str | None = None) -> list[dict]:
    """The fused kernels of a (fused) graph: one dict per ``fused`` node.

    Returns:
        ``[{"name": "fused_12", "node": node, "ops": [...], "layers": [...], "src": [...],
        "inputs": [types], "outputs": [types], "body": Graph}]`` in graph order.
    """
    graph = graph_of(obj, step)
    out = []
    for n in graph.nodes():
        if n.op != "fused":
            continue
        body = n.attrs["body"]
        inner = [m for m in body.nodes() if m.op not in _SOURCES]
        out.append({"name": body.name, "node": n, "ops": [m.op for m in inner],
                    "layers": _unique(m.scope for m in inner),
                    "src": _unique(m.src for m in inner),
                    "inputs": [str(v.type) for v in n.inputs],
                    "outputs": [str(v.type) for v in n.outputs], "body": body})
    return out


def format_kernels(obj, step: str | None = None, kernel_ir: bool = False) -> str:
    """A table of the fused kernels: name, number of ops, the ops, the layers they came from;
    then (``kernel_ir``) the kernel IR the CPU code generator lowers the graph to: its
    kernels, how often each is called, and the drivers' calls (see ``graphc.codegen.kir``).
    """
    ks = kernels(obj, step)
    lines = [f"// {len(ks)} fused kernels" if ks else "// no fused kernels"]
    for k in ks:
        ops = ", ".join(k["ops"])
        lines.append(f"//   {k['name']}: {len(k['ops'])} ops [{ops}] -> "
                     f"{', '.join(k['outputs'])}  layers: {', '.join(k['layers']) or '-'}")
    if kernel_ir:
        lines += ["", kernel_ir_text(obj, step)]
    return "\n".join(lines)


def kernel_ir_text(obj, step: str | None = None, bodies: bool = True) -> str:
    """The kernel IR of ``obj``'s (optimised) graph as text (lowered, not compiled)."""
    from .codegen.cpu.lower import lower
    from .codegen.kir import format_module
    graph = graph_of(obj, step)
    return format_module(lower(graph).kir, bodies=bodies)


def generated_source(obj, step: str | None = None) -> str:
    """The native source compiled for ``obj`` (the numba module the code generator wrote).

    For a Function (or a model's step) this is the source its own compiled executor runs,
    building it if it was not built yet; for a bare graph it compiles the graph.

    Example:
        >>> print(generated_source(model, step="train"))
    """
    if is_function(obj) or is_model(obj):
        fn = function_of(obj, step)
        ex = fn.executor
        src = getattr(ex, "source", None)
        if src is None:
            raise InspectError(f"function {fn.name!r} runs on the {fn.executor_kind} executor, "
                               f"which generates no source; use mode='compiled'")
        return src
    ex = getattr(obj, "source", None)
    if isinstance(ex, str):
        return ex
    from .codegen import compile_graph
    return compile_graph(graph_of(obj, step)).source


def _unique(items) -> list:
    out = []
    for x in items:
        if x and x not in out:
            out.append(x)
    return out


# ============================================================================================
# JSON
# ============================================================================================

def _json_attr(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return str(v)
    if isinstance(v, (tuple, list)):
        return [_json_attr(x) for x in v]
    if isinstance(v, (int, float, str, bool)) or v is None:
        return v
    return repr(v)


def to_json(obj, step: str | None = None) -> dict:
    """A JSON-ready dict of the graph.

    The names match the text dump: placeholders and variables by name, computed values
    ``%N`` in the same topological numbering, constants of at most 8 elements as literal
    strings, larger ones as ``c0``, ``c1`` ... Fused nodes carry their ``body`` (same form).

    Returns:
        ``{"name", "inputs": [{"name","type"}], "variables": [...], "constants": [...],
        "nodes": [{"outputs": [{"name","type"}], "op", "inputs": [names], "attrs", "scope",
        "src", "body"?}], "outputs": [names], "updates": [{"variable","value"}]}``.

    Example:
        >>> json.dumps(to_json(f))
    """
    return _JsonWriter().graph(graph_of(obj, step))


class _JsonWriter:
    def __init__(self):
        self.nconst = 0

    def graph(self, graph: Graph) -> dict:
        nodes = graph.nodes()
        names: dict[int, str] = {}
        used: set[str] = set()

        def alloc(base):
            name, k = _sanitize(base), 1
            while name in used:
                name, k = f"{_sanitize(base)}_{k}", k + 1
            used.add(name)
            return name

        doc = {"name": graph.name, "inputs": [], "variables": [], "constants": [],
               "nodes": [], "outputs": [], "updates": []}
        inputs = list(graph.inputs) + [n.outputs[0] for n in nodes if n.op == "input"
                                       and all(n.outputs[0] is not v for v in graph.inputs)]
        for v in inputs:
            names[id(v)] = alloc(v.node.attrs.get("name") or "input")
            doc["inputs"].append({"name": names[id(v)], "type": str(v.type)})
        var_names: dict[int, str] = {}
        counter = 0
        for n in nodes:
            v = n.outputs[0] if n.outputs else None
            if n.op == "variable":
                store = n.attrs.get("var")
                key = id(store) if store is not None else id(v)
                if key not in var_names:
                    var_names[key] = alloc(n.attrs.get("name") or getattr(store, "name", None)
                                           or "variable")
                    doc["variables"].append({"name": var_names[key], "type": str(v.type)})
                names[id(v)] = var_names[key]
            elif n.op == "constant":
                arr = np.asarray(n.attrs["value"])
                if arr.size <= 8 and (arr.size > 0 or arr.shape == (0,)):
                    names[id(v)] = format_literal(arr)
                else:
                    cname = f"c{self.nconst}"
                    self.nconst += 1
                    names[id(v)] = cname
                    doc["constants"].append({"name": cname, "type": str(v.type)})
            elif n.op != "input":
                for o in n.outputs:
                    names[id(o)] = f"%{counter}"
                    counter += 1
        for n in nodes:
            if n.op in _SOURCES:
                continue
            defaults = _defaults(n.op)
            attrs, body = {}, None
            for key in sorted(n.attrs):
                val = n.attrs[key]
                if isinstance(val, Graph):
                    body = (key, self.graph(val))
                elif not (key in defaults and _same(val, defaults[key])):
                    attrs[key] = _json_attr(val)
            entry = {"outputs": [{"name": names[id(o)], "type": str(o.type)}
                                 for o in n.outputs],
                     "op": n.op, "inputs": [names[id(v)] for v in n.inputs], "attrs": attrs,
                     "scope": n.scope, "src": n.src}
            if body is not None:
                entry[body[0]] = body[1]
            doc["nodes"].append(entry)
        doc["outputs"] = [names[id(v)] for v in graph.outputs]
        doc["updates"] = [{"variable": names[id(var)], "value": names[id(new)]}
                          for var, new in graph.updates]
        return doc


# ============================================================================================
# DOT pictures
# ============================================================================================

_FILL = {"input": "#cfe2ff", "variable": "#fff3bf", "constant": "#e9ecef",
         "contraction": "#ffd8a8", "reduction": "#d3f9d8", "nn": "#ffc9c9",
         "elementwise": "#ffffff", "shape": "#f1f3f5", "random": "#e5dbff", "loop": "#c5f6fa",
         "other": "#ffffff"}


def _q(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(obj, step: str | None = None, *, expand_fused: bool = True, shapes: bool = True,
           layers: bool = True, rankdir: str = "TB", max_label: int = 48) -> str:
    """The graph in Graphviz DOT: one box per node, fused kernels drawn as clusters holding
    their bodies, edges labelled with the type of the value they carry.

    Args:
        obj: anything :func:`graph_of` accepts (dump a fused graph to see the clusters:
            ``to_dot(optimized(f))``).
        step: a model's step.
        expand_fused: draw each fused kernel's body inside its cluster (else one box).
        shapes: label edges with the value types (``f32[B,16]``).
        layers: put the layer (scope) of each node in its label.
        rankdir: ``'TB'`` (top to bottom) or ``'LR'``.
        max_label: attribute text longer than this is cut.
    Returns:
        DOT source text.

    Example:
        >>> open("g.dot", "w").write(to_dot(optimized(f)))
    """
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise InspectError(f"rankdir must be one of TB, LR, BT, RL, got {rankdir!r}")
    graph = graph_of(obj, step)
    w = _DotWriter(shapes, layers, max_label)
    lines = [f"digraph {_q(graph.name)} {{",
             f"  rankdir={rankdir};",
             '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", '
             'fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=8, color="#495057"];']
    w.emit(graph, lines, "  ", expand_fused)
    lines.extend(w.edges)
    lines.append("}")
    return "\n".join(lines) + "\n"


class _DotWriter:
    def __init__(self, shapes: bool, layers: bool, max_label: int):
        self.shapes = shapes
        self.layers = layers
        self.max_label = max_label
        self.nclusters = 0
        self.counter = 0
        self.edges: list[str] = []

    def attrs_text(self, node) -> str:
        defaults = _defaults(node.op)
        parts = [f"{k}={_fmt_attr(v)}" for k, v in sorted(node.attrs.items())
                 if not isinstance(v, Graph) and k not in ("var", "value")
                 and not (k in defaults and _same(v, defaults[k]))]
        text = ", ".join(parts)
        return text if len(text) <= self.max_label else text[:self.max_label - 3] + "..."

    def edge(self, a: str, b: str, v: Value, lines, indent, extra: str = "") -> None:
        label = f"label={_q(str(v.type))}" if self.shapes else ""
        attrs = ", ".join(x for x in (label, extra) if x)
        # all edges go at the top level: an edge written inside a cluster would pull both
        # of its ends into that cluster
        self.edges.append(f"  {a} -> {b}" + (f" [{attrs}]" if attrs else "") + ";")

    def emit(self, graph: Graph, lines: list, indent: str, expand: bool,
             feeds: dict | None = None) -> dict:
        """Write ``graph``'s vertices and edges; returns id(Value) -> (vertex, label extra).

        ``feeds`` maps id(body placeholder) -> outer (vertex, Value) when drawing a body."""
        producer: dict[int, str] = {}       # id(Value) -> vertex id
        inline: dict[int, str] = {}         # id(Value) -> literal text (small constants)
        var_vertex: dict[int, str] = {}
        nodes = graph.nodes()
        for n in nodes:
            v = n.outputs[0] if n.outputs else None
            if n.op == "input":
                if feeds is not None and id(v) in feeds:
                    continue
                vid = f"n{n.id}"
                producer[id(v)] = vid
                lines.append(f"{indent}{vid} [label={_q(n.attrs.get('name') or 'input')}, "
                             f"shape=ellipse, fillcolor={_q(_FILL['input'])}];")
            elif n.op == "variable":
                store = n.attrs.get("var")
                key = id(store) if store is not None else id(v)
                if key not in var_vertex:
                    var_vertex[key] = f"n{n.id}"
                    label = n.attrs.get("name") or getattr(store, "name", "variable")
                    text = _q(label + "\n" + str(v.type))
                    lines.append(f"{indent}n{n.id} [label={text}, "
                                 f"shape=ellipse, fillcolor={_q(_FILL['variable'])}];")
                producer[id(v)] = var_vertex[key]
            elif n.op == "constant":
                arr = np.asarray(n.attrs["value"])
                if arr.size <= 8:
                    inline[id(v)] = format_literal(arr)
                else:
                    producer[id(v)] = f"n{n.id}"
                    lines.append(f"{indent}n{n.id} [label={_q(f'const {v.type}')}, "
                                 f"shape=note, fillcolor={_q(_FILL['constant'])}];")
        for n in nodes:
            if n.op in _SOURCES:
                continue
            if n.op == "fused" and expand:
                self.cluster(n, lines, indent, producer, inline, feeds)
                continue
            vid = f"n{n.id}"
            label = self.label(n, inline, feeds)
            kind = _kind(n.op)
            lines.append(f"{indent}{vid} [label={_q(label)}, fillcolor={_q(_FILL[kind])}];")
            for v in n.inputs:
                self.connect(v, vid, lines, indent, producer, inline, feeds)
            for o in n.outputs:
                producer[id(o)] = vid
        if feeds is None:
            self.counter += 1
            for k, v in enumerate(graph.outputs):
                rid = f"out{self.counter}_{k}"
                lines.append(f"{indent}{rid} [label={_q(f'output {k}')}, shape=ellipse, "
                             f"fillcolor=\"#d0ebff\"];")
                self.connect(v, rid, lines, indent, producer, inline, None)
            for k, (var, new) in enumerate(graph.updates):
                name = var.node.attrs.get("name") or "variable"
                uid = f"upd{self.counter}_{k}"
                lines.append(f"{indent}{uid} [label={_q(f'update {name}')}, shape=ellipse, "
                             f"style=\"dashed,filled\", fillcolor={_q(_FILL['variable'])}];")
                self.connect(new, uid, lines, indent, producer, inline, None,
                             extra="style=dashed")
        return producer

    def connect(self, v, vid, lines, indent, producer, inline, feeds, extra=""):
        if id(v) in inline:
            return
        if feeds is not None and id(v) in feeds:
            src, outer = feeds[id(v)]
            if src is not None:
                self.edge(src, vid, outer, lines, indent, extra)
            return
        src = producer.get(id(v))
        if src is not None:
            self.edge(src, vid, v, lines, indent, extra)

    def label(self, n, inline, feeds) -> str:
        args = []
        for v in n.inputs:
            if id(v) in inline:
                args.append(inline[id(v)])
            elif feeds is not None and id(v) in feeds:
                args.append("·")
            else:
                args.append("·")
        head = f"{n.op}({', '.join(args)})" if any(a != "·" for a in args) else n.op
        text = head
        at = self.attrs_text(n)
        if at:
            text += "\n{" + at + "}"
        text += "\n" + ", ".join(str(o.type) for o in n.outputs)
        if self.layers and n.scope:
            text += "\n" + n.scope
        return text

    def cluster(self, n, lines, indent, producer, inline, feeds) -> None:
        body = n.attrs["body"]
        self.nclusters += 1
        layers_ = _unique(m.scope for m in body.nodes() if m.op not in _SOURCES)
        title = f"fused {body.name}"
        if self.layers and layers_:
            title += "\n" + ", ".join(layers_)
        lines.append(f"{indent}subgraph cluster_{self.nclusters} {{")
        inner = indent + "  "
        lines.append(f"{inner}label={_q(title)}; style=\"rounded,filled\"; "
                     f"fillcolor=\"#f8f0fc\"; color=\"#862e9c\"; fontsize=9;")
        body_feeds = {}
        for ph, outer in zip(body.inputs, n.inputs):
            if id(outer) in inline:
                continue
            if feeds is not None and id(outer) in feeds:
                body_feeds[id(ph)] = feeds[id(outer)]
            else:
                body_feeds[id(ph)] = (producer.get(id(outer)), outer)
        # literal placeholders (small outer constants) stay literals inside the body
        for ph, outer in zip(body.inputs, n.inputs):
            if id(outer) in inline:
                inline[id(ph)] = inline[id(outer)]
        inner_prod = self.emit_body(body, lines, inner, body_feeds, inline)
        lines.append(f"{indent}}}")
        for o, bo in zip(n.outputs, body.outputs):
            if id(bo) in inner_prod:
                producer[id(o)] = inner_prod[id(bo)]
            elif id(bo) in body_feeds and body_feeds[id(bo)][0] is not None:
                producer[id(o)] = body_feeds[id(bo)][0]

    def emit_body(self, body, lines, indent, feeds, inline) -> dict:
        producer: dict[int, str] = {}
        for m in body.nodes():
            v = m.outputs[0] if m.outputs else None
            if m.op == "constant":
                arr = np.asarray(m.attrs["value"])
                inline[id(v)] = format_literal(arr) if arr.size <= 8 else "const"
                continue
            if m.op in _SOURCES:
                continue
            vid = f"n{m.id}"
            lines.append(f"{indent}{vid} [label={_q(self.label(m, inline, feeds))}, "
                         f"fillcolor={_q(_FILL[_kind(m.op)])}];")
            for u in m.inputs:
                self.connect(u, vid, lines, indent, producer, inline, feeds)
            for o in m.outputs:
                producer[id(o)] = vid
        return producer


def _kind(op: str) -> str:
    from .ir.ops import REGISTRY
    d = REGISTRY.get(op)
    return d.kind if d is not None and d.kind in _FILL else "other"


# ============================================================================================
# rendering and Jupyter
# ============================================================================================

RENDER_FORMATS = ("svg", "png", "pdf")


def graphviz_available() -> bool:
    """Whether :func:`render` can run (Graphviz's ``dot`` on PATH, or pydot finds it)."""
    return shutil.which("dot") is not None


def render(obj, path: str | None = None, format: str | None = None, *,  # noqa: A002
           step: str | None = None, after: str | None = None, pipeline=None,
           **dot_options) -> bytes:
    """Render a graph (or DOT text) to SVG / PNG / PDF with Graphviz.

    Args:
        obj: DOT text (a str starting with ``digraph``), or anything :func:`graph_of`
            accepts.
        path: write the picture there (atomically); its extension picks the format.
        format: ``'svg'``, ``'png'`` or ``'pdf'`` (default: from ``path``, else svg).
        step, after, pipeline: which graph (see :func:`dump`).
        **dot_options: passed to :func:`to_dot` (``expand_fused``, ``shapes``, ``rankdir``).
    Returns:
        The picture's bytes.
    Raises:
        GraphvizNotFound: with installation instructions, when ``dot`` is missing.

    Example:
        >>> render(model, "train_step.png", step="train", after="fuse")
    """
    if format is None:
        ext = path.rsplit(".", 1)[-1].lower() if path and "." in path else "svg"
        format = ext
    if format not in RENDER_FORMATS:
        raise InspectError(f"unknown picture format {format!r}; valid: "
                           f"{', '.join(RENDER_FORMATS)}")
    if isinstance(obj, str) and obj.lstrip().startswith(("digraph", "graph", "strict")):
        text = obj
    else:
        graph = graph_of(obj, step)
        if after not in (None, "input"):
            graph = _pick_stage(stages(graph, pipeline), after)[1]
        text = to_dot(graph, **dot_options)
    data = _run_dot(text, format)
    if path:
        _write_bytes(path, data)
    return data


def _run_dot(text: str, fmt: str) -> bytes:
    exe = shutil.which("dot")
    if exe is None:
        try:
            import pydot                      # finds Graphviz in places PATH does not list
        except ImportError:
            raise GraphvizNotFound(GRAPHVIZ_HELP) from None
        try:
            (g,) = pydot.graph_from_dot_data(text)
            return g.create(format=fmt)
        except Exception as e:  # noqa: BLE001 - pydot raises bare Exceptions
            raise GraphvizNotFound(f"{GRAPHVIZ_HELP} (pydot: {e})") from None
    proc = subprocess.run([exe, f"-T{fmt}"], input=text.encode(), capture_output=True,
                          timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"Graphviz dot failed (exit {proc.returncode}): "
                           f"{proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def _write_bytes(path: str, data: bytes) -> None:
    import os
    import tempfile
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class GraphView:
    """A graph for display: ``str()`` gives the IR text; in Jupyter it shows as an SVG
    picture (or the text when Graphviz is missing). Made by :func:`show`.

    Attributes:
        graph: the Graph shown.
    """

    def __init__(self, graph: Graph, **dot_options):
        self.graph = graph
        self.dot_options = dot_options

    def to_dot(self) -> str:
        return to_dot(self.graph, **self.dot_options)

    def __str__(self):
        return format_graph(self.graph, source=True)

    def __repr__(self):
        return f"<GraphView {self.graph.name}: {len(self.graph)} nodes>"

    def _repr_svg_(self):
        if not graphviz_available():
            return None                   # Jupyter then uses _repr_html_
        return _run_dot(self.to_dot(), "svg").decode()

    def _repr_html_(self):
        text = "<pre>" + html.escape(str(self)) + "</pre>"
        if graphviz_available():
            svg = _run_dot(self.to_dot(), "svg").decode()
            svg = svg[svg.find("<svg"):]
            return f"<details open><summary>graph</summary>{svg}</details>" \
                   f"<details><summary>IR text</summary>{text}</details>"
        return text + f"<p><i>{html.escape(GRAPHVIZ_HELP)}</i></p>"


def show(obj, after: str | None = None, *, step: str | None = None, pipeline=None,
         **dot_options) -> GraphView:
    """A :class:`GraphView` of ``obj`` for Jupyter (``show(f, after="fuse")`` as a cell's last
    line draws the fused graph)."""
    graph = graph_of(obj, step)
    if after not in (None, "input"):
        graph = _pick_stage(stages(graph, pipeline), after)[1]
    return GraphView(graph, **dot_options)


def to_networkx(obj, step: str | None = None, after: str | None = None, pipeline=None):
    """A ``networkx.MultiDiGraph`` of the graph (see ``Graph.to_networkx``); vertices of fused
    nodes also get ``body_ops`` (their ops) and ``body_layers``."""
    graph = graph_of(obj, step)
    if after not in (None, "input"):
        graph = _pick_stage(stages(graph, pipeline), after)[1]
    g = graph.to_networkx()
    for n in graph.nodes():
        if n.op == "fused":
            body = n.attrs["body"]
            inner = [m for m in body.nodes() if m.op not in _SOURCES]
            g.nodes[n.id]["body_ops"] = [m.op for m in inner]
            g.nodes[n.id]["body_layers"] = _unique(m.scope for m in inner)
    return g


# ============================================================================================
# models: the Keras plot_model
# ============================================================================================

def model_to_dot(model, show_shapes: bool = False, show_layer_names: bool = True,
                 rankdir: str = "TB") -> str:
    """The layer graph of a model in DOT (Keras's ``model_to_dot``, as text).

    Args:
        model: a built Model or Sequential.
        show_shapes: add each layer's input and output shapes.
        show_layer_names: show names as well as class names.
        rankdir: ``'TB'`` or ``'LR'``.
    Returns:
        DOT source text.
    """
    if not hasattr(model, "layers"):
        raise InspectError(f"model_to_dot needs a Model, got {type(model).__name__}")
    lines = [f"digraph {_q(getattr(model, 'name', 'model'))} {{", f"  rankdir={rankdir};",
             '  node [shape=record, fontname="Helvetica", fontsize=10];']
    ids = {id(la): f"L{k}" for k, la in enumerate(model.layers)}
    net_nodes = getattr(model, "_network_nodes", None)
    for la in model.layers:
        cls = type(la).__name__
        label = f"{la.name}: {cls}" if show_layer_names else cls
        if show_shapes:
            label = f"{{{_rec(label)}|{{input:|output:}}|{{{_rec(_shape(la, 'input_shape'))}|" \
                    f"{_rec(_shape(la, 'output_shape'))}}}}}"
        else:
            label = _rec(label)
        lines.append(f"  {ids[id(la)]} [label=\"{label}\"];")
    for la in model.layers:
        for i, node in enumerate(getattr(la, "_inbound_nodes", [])):
            if net_nodes is not None and f"{la.name}_ib-{i}" not in net_nodes:
                continue
            for inbound in node.inbound_layers:
                if inbound is not None and id(inbound) in ids:
                    lines.append(f"  {ids[id(inbound)]} -> {ids[id(la)]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _rec(text: str) -> str:
    """Escape a DOT record field."""
    out = str(text)
    for ch in "\\{}|<>\"":
        out = out.replace(ch, "\\" + ch)
    return out


def _shape(layer, attr: str) -> str:
    try:
        s = getattr(layer, attr)
    except (AttributeError, RuntimeError):
        return "multiple"
    return str(s).replace("None", "?")


def plot_model(model, to_file: str = "model.png", show_shapes: bool = False,
               show_layer_names: bool = True, rankdir: str = "TB") -> bytes:
    """Draw a model's layers to ``to_file`` (Keras's ``plot_model``); needs Graphviz.

    Returns:
        The picture's bytes (format from the file's extension: png, svg or pdf).

    Example:
        >>> plot_model(model, to_file="model.png", show_shapes=True)
    """
    return render(model_to_dot(model, show_shapes, show_layer_names, rankdir), to_file)


__all__ = ["dump", "dump_all", "stages", "stage_names", "optimized", "kernels",
           "format_kernels", "generated_source", "to_json", "to_dot", "render", "show",
           "GraphView", "to_networkx", "model_to_dot", "plot_model", "graph_of", "function_of",
           "graphviz_available", "GraphvizNotFound", "InspectError"]
