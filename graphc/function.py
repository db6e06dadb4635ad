"""``Function``: a graph made callable -- arrays in, arrays out, variables updated.

``K.function(inputs, outputs, updates)`` returns one. It checks the arrays it is called with
(count, rank, static dims, symbolic dims bound consistently, dtype conversion as Keras does),
hands them to an executor and returns the outputs as numpy arrays. Executors:

* ``'compiled'`` -- the graph optimised by the pass pipeline (``graphc.passes.optimize``), then
  ``graphc.codegen.compile_graph``: native code (the default, from the ``executor`` setting);
* ``'reference'`` -- the numpy reference interpreter (``graphc.ir.interpreter``).

Both take the list of input arrays (in ``graph.inputs`` order) and return the list of outputs,
applying the updates themselves with Theano semantics: every update value is computed from the
variables' values before the call, then all are assigned. The executor is built once, on the
first call; a different batch size does not rebuild it.
"""
from __future__ import annotations

import numpy as np

from . import config
from .ir.graph import Graph
from .ir.interpreter import RngStates, evaluate
from .ir.node import Value
from .ir.ops import apply, as_value
from .ir.types import dims_compatible, is_float
from .ir.verify import verify

MODES = ("compiled", "reference")

# Placeholders fed automatically when a function reads them without listing them as inputs
# (the learning phase): id(placeholder) -> (placeholder, getter returning the array to feed).
_AUTO_FEEDS: dict[int, tuple[Value, object]] = {}


def register_auto_feed(placeholder: Value, getter) -> None:
    """Feed ``getter()`` to ``placeholder`` in every Function that reads it without taking it
    as an input (``K.learning_phase()`` is registered this way)."""
    _AUTO_FEEDS[id(placeholder)] = (placeholder, getter)


def _describe(v: Value) -> str:
    return f"{v.node.attrs.get('name') or v.name}: {v.type}"


def _flatten_updates(updates) -> list:
    """Pairs ``(variable, new_value)``; nested lists of pairs (layer.updates) are flattened."""
    out = []
    for k, item in enumerate(updates or ()):
        if isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], Value):
            out.append((item[0], item[1]))
        elif isinstance(item, (tuple, list)):
            out.extend(_flatten_updates(item))
        else:
            raise TypeError(f"updates[{k}] must be a (variable, new_value) pair as returned by "
                            f"K.update / K.update_add, got {type(item).__name__}")
    return out


class Function:
    """A compiled computation: ``f([x_batch, y_batch]) -> [out_1, ...]``.

    Args:
        inputs: placeholders (``K.placeholder`` / ``Input`` tensors), in call order.
        outputs: the Values to compute (a single Value is accepted; the result is a list).
        updates: ``(variable, new_value)`` pairs applied after each call.
        name: a name for dumps and error messages.
        mode: ``'compiled'`` or ``'reference'``; ``None`` = the ``executor`` setting.
        pipeline: the optimisation pipeline run before compiling ('fast_run',
            'fast_compile', 'none' or a list of pass names); ``None`` = the ``pipeline``
            setting. The reference mode runs the graph as built (it is the oracle).

    Example:
        >>> f = Function([x], [K.mean(x)])
        >>> f([np.ones((4, 3), "float32")])
        [array(1., dtype=float32)]
    """

    def __init__(self, inputs, outputs, updates=None, name=None, mode=None, pipeline=None):
        self.name = name or "function"
        mode = config.get("executor") if mode is None else mode
        self.pipeline = config.get("pipeline") if pipeline is None else pipeline
        if isinstance(self.pipeline, str):
            from .passes import pass_names
            pass_names(self.pipeline)   # an unknown pipeline is an error now, not at first call
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)} (or None for the "
                             f"'executor' setting), got {mode!r}")
        self.mode = mode
        if isinstance(inputs, Value) or not isinstance(inputs, (list, tuple)):
            raise TypeError(f"function {self.name!r}: inputs must be a list of placeholders, "
                            f"got {type(inputs).__name__}")
        for k, v in enumerate(inputs):
            if not isinstance(v, Value) or v.node.op != "input":
                what = (f"the computed tensor {v.name!r}" if isinstance(v, Value)
                        else f"a {type(v).__name__}")
                raise TypeError(f"function {self.name!r}: inputs[{k}] must be a placeholder "
                                f"(K.placeholder or an Input tensor), got {what}")
        if len({id(v) for v in inputs}) != len(inputs):
            raise ValueError(f"function {self.name!r}: an input is listed twice")
        self.inputs = list(inputs)
        single = not isinstance(outputs, (list, tuple))
        outputs = [outputs] if single else list(outputs)
        self.outputs = [as_value(o) for o in outputs]
        self.updates = self._build_updates(_flatten_updates(updates))

        graph = Graph(self.inputs, self.outputs, self.updates, name=self.name)
        self._auto = []     # (position in graph.inputs, getter)
        extra = []
        for v in graph.free_inputs():
            if id(v) in _AUTO_FEEDS:
                self._auto.append((len(self.inputs) + len(extra), _AUTO_FEEDS[id(v)][1]))
                extra.append(v)
            else:
                raise ValueError(
                    f"function {self.name!r}: the outputs depend on the placeholder "
                    f"{_describe(v)}, which is not among the inputs "
                    f"[{', '.join(_describe(i) for i in self.inputs)}]; add it to the inputs")
        self.graph = verify(Graph(self.inputs + extra, self.outputs, self.updates,
                                  name=self.name))
        self._checks = [(_describe(v), v.type.dtype, np.dtype(v.type.dtype), v.type.shape)
                        for v in self.graph.inputs]
        self._fast_check = _make_fast_check(self._checks)
        self._auto_getters = tuple(g for _, g in self._auto)
        self._n_inputs = len(self.inputs)
        self._executor = None
        self._call = None             # the executor's cheapest entry point, once built
        self.executor_kind = None
        self.optimized_graph = None   # set when the compiled executor is built
        self.pass_stats = None

    # -- building ---------------------------------------------------------------------------
    def _build_updates(self, pairs) -> list:
        out, seen = [], {}
        for var, new in pairs:
            if not isinstance(var, Value) or var.node.op != "variable":
                what = var.name if isinstance(var, Value) else type(var).__name__
                raise TypeError(f"function {self.name!r}: the target of an update must be a "
                                f"variable (K.variable), got {what}")
            vname = var.node.attrs.get("name")
            store = var.node.attrs["var"]
            if id(store) in seen:
                raise ValueError(f"function {self.name!r}: variable {vname!r} is updated twice; "
                                 f"combine the two updates into one")
            seen[id(store)] = True
            new = as_value(new, like=var)
            if new.ndim != var.ndim or not all(
                    dims_compatible(a, b) for a, b in zip(new.shape, var.shape)):
                raise ValueError(f"function {self.name!r}: the update of variable {vname!r} has "
                                 f"shape {list(new.shape)} but the variable has shape "
                                 f"{list(var.shape)}")
            if new.dtype != var.dtype:
                new = apply("cast", new, dtype=var.dtype)
            out.append((var, new))
        return out

    @property
    def executor(self):
        """The callable that runs the graph (built on first use, then reused)."""
        if self._executor is None:
            if self.mode == "compiled":
                from .codegen import compile_graph
                from .passes import optimize
                self.optimized_graph, self.pass_stats = optimize(self.graph, self.pipeline)
                self._executor = compile_graph(self.optimized_graph)
                self.executor_kind = "compiled"
            else:
                self._executor, self.executor_kind = ReferenceExecutor(self.graph), "reference"
            self._call = getattr(self._executor, "fast_call", None) or self._executor
        return self._executor

    # -- calling ----------------------------------------------------------------------------
    def __call__(self, inputs):
        """Run the function on ``inputs`` (a list of arrays, or a dict {placeholder: array}).

        Returns:
            A list of numpy arrays, one per output.
        """
        # Fast path: a list of numpy arrays of the placeholders' dtypes whose shapes pass the
        # precomputed test go straight to the built executor. Anything else (dicts, other
        # types, conversions, every error) takes the full path below, which gives the
        # messages.
        ex = self._call
        if ex is not None and type(inputs) in (list, tuple) and \
                len(inputs) == self._n_inputs:
            arrays = inputs
            if self._auto_getters:
                arrays = list(inputs) + [g() for g in self._auto_getters]
            if self._fast_check(arrays):
                return ex(arrays)
        if isinstance(inputs, dict):
            inputs = self._from_dict(inputs)
        elif not isinstance(inputs, (list, tuple)):
            raise TypeError(
                f"function {self.name!r}: call it with a list of arrays, one per input "
                f"([{', '.join(_describe(v) for v in self.inputs)}]), got "
                f"{type(inputs).__name__}")
        if len(inputs) != len(self.inputs):
            raise ValueError(
                f"function {self.name!r} expects {len(self.inputs)} input array(s) "
                f"({', '.join(_describe(v) for v in self.inputs) or 'none'}), got "
                f"{len(inputs)}")
        arrays = list(inputs)
        for _, getter in self._auto:
            arrays.append(getter())
        arrays = self._check(arrays)
        return list(self.executor(arrays))

    def _from_dict(self, feeds: dict) -> list:
        by_id = {id(k): a for k, a in feeds.items()}
        known = {id(v) for v in self.inputs}
        for k in feeds:
            if id(k) not in known:
                what = k.name if isinstance(k, Value) else repr(k)
                raise ValueError(f"function {self.name!r}: {what} is not one of its inputs "
                                 f"({', '.join(_describe(v) for v in self.inputs)})")
        missing = [_describe(v) for v in self.inputs if id(v) not in by_id]
        if missing:
            raise ValueError(f"function {self.name!r}: no array given for input(s) "
                             f"{', '.join(missing)}")
        return [by_id[id(v)] for v in self.inputs]

    def _check(self, arrays: list) -> list:
        bound: dict[str, tuple[int, str]] = {}
        out = []
        for a, (desc, dtype, npdt, shape) in zip(arrays, self._checks):
            if not (isinstance(a, np.ndarray) and a.dtype == npdt):
                a = _convert(a, dtype, npdt, desc, self.name)
            if a.ndim != len(shape):
                raise ValueError(f"function {self.name!r}: input {desc} got an array of shape "
                                 f"{a.shape} (rank {a.ndim}), expected rank {len(shape)}"
                                 + _batch_hint(shape))
            for axis, (d, n) in enumerate(zip(shape, a.shape)):
                if isinstance(d, int):
                    if d != n:
                        raise ValueError(
                            f"function {self.name!r}: input {desc} got an array of shape "
                            f"{a.shape}: axis {axis} is {n}, expected {d}" + _batch_hint(shape))
                elif isinstance(d, str):
                    prev = bound.get(d)
                    if prev is None:
                        bound[d] = (n, desc)
                    elif prev[0] != n:
                        raise ValueError(
                            f"function {self.name!r}: dimension {d} is {prev[0]} in input "
                            f"{prev[1]} but {n} in input {desc} (shape {a.shape}); all inputs "
                            f"must agree on {d}")
            out.append(a)
        return out

    # -- display ----------------------------------------------------------------------------
    def __str__(self):
        from .ir.printer import format_graph
        return format_graph(self.graph)

    def __repr__(self):
        return (f"<graphc.Function {self.name!r}: {len(self.inputs)} inputs -> "
                f"{len(self.outputs)} outputs, {len(self.updates)} updates, {self.mode}>")


def _make_fast_check(checks) -> object:
    """A function ``check(arrays) -> bool``: True when every array is a numpy array of exactly
    the placeholder's dtype whose shape passes the static checks of ``Function._check`` (rank,
    int dims, symbolic dims equal across inputs). It is generated once per Function as
    straight-line Python, so a call builds no dicts; False sends the call to the full path,
    which converts or reports the error."""
    lines = ["def check(arrays):"]
    env = {"ndarray": np.ndarray}
    first: dict[str, str] = {}        # symbolic dim -> expression of its first occurrence
    for k, (_desc, _dtype, npdt, shape) in enumerate(checks):
        env[f"d{k}"] = npdt
        lines.append(f"    a = arrays[{k}]")
        lines.append(f"    if type(a) is not ndarray or a.dtype is not d{k}:")
        lines.append("        return False")
        lines.append(f"    s{k} = a.shape")
        conds = [f"len(s{k}) != {len(shape)}"]
        for axis, d in enumerate(shape):
            if isinstance(d, int):
                conds.append(f"s{k}[{axis}] != {d}")
            elif isinstance(d, str):
                if d in first:
                    conds.append(f"s{k}[{axis}] != {first[d]}")
                else:
                    first[d] = f"s{k}[{axis}]"
        lines.append(f"    if {' or '.join(conds)}:")
        lines.append("        return False")
    lines.append("    return True")
    exec(compile("\n".join(lines) + "\n", "<graphc fast input check>", "exec"), env)
    return env["check"]


def _batch_hint(shape) -> str:
    if any(isinstance(d, str) for d in shape):
        want = ", ".join("batch" if d == "B" else ("n" if not isinstance(d, int) else str(d))
                         for d in shape)
        return (f" (the placeholder's shape includes the batch axis B: feed arrays of shape "
                f"({want}); a Keras input_shape excludes the batch axis, it is added "
                f"automatically)")
    return ""


def _convert(a, dtype: str, npdt, desc: str, fname: str) -> np.ndarray:
    """Keras-style input conversion: numeric arrays are cast to the placeholder's dtype."""
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as e:
        raise TypeError(f"function {fname!r}: input {desc} cannot be converted to an array: "
                        f"{e}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"function {fname!r}: input {desc} got an array of dtype {arr.dtype} "
                        f"that cannot be cast to {dtype}")
    if dtype == "bool" and arr.dtype.kind != "b":
        if not np.all((arr == 0) | (arr == 1)):
            raise TypeError(f"function {fname!r}: input {desc} is boolean; got values other "
                            f"than 0 and 1")
    elif not is_float(dtype) and arr.dtype.kind == "f" and arr.size \
            and not np.all(np.isfinite(arr)):
        raise TypeError(f"function {fname!r}: input {desc} is {dtype}; got non-finite floats")
    return arr.astype(npdt, copy=False)


# -- executors ----------------------------------------------------------------------------------

class ReferenceExecutor:
    """Runs a graph with the numpy reference interpreter; applies its updates.

    One ``RngStates`` per executor: its random ops give a reproducible sequence of values.
    """

    def __init__(self, graph: Graph):
        self.graph = graph
        self.rng = RngStates()
        self._targets = list(graph.outputs) + [new for _, new in graph.updates]
        self._n = len(graph.outputs)

    def __call__(self, arrays):
        g = self.graph
        feeds = dict(zip(g.inputs, arrays))
        values = evaluate(self._targets, feeds, rng=self.rng)
        sources = list(arrays) + [var.node.attrs["var"].value for var, _ in g.updates] + \
            [v.node.attrs["var"].value for v in g.outputs if v.node.op == "variable"]
        outs = []
        for arr in values[:self._n]:
            if any(np.may_share_memory(arr, s) for s in sources):
                arr = arr.copy()
            outs.append(arr)
        # Theano semantics: all new values were computed from the old ones; now assign.
        news = []
        for (var, _), new in zip(g.updates, values[self._n:]):
            store = var.node.attrs["var"]
            if new.shape != store.value.shape:
                raise ValueError(f"the update of variable {store.name!r} computed shape "
                                 f"{new.shape}, but the variable has shape {store.value.shape}")
            news.append((store, np.array(new, dtype=store.value.dtype, copy=True)))
        for store, new in news:
            store.value = new
        return outs
