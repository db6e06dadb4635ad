"""Work done on the host, in Python, around a compiled function: ``K.print_tensor`` and
values computed by numpy from other values of the same call (CTC decoding).

The IR has no op that calls back into Python, so ``K.function`` does it at its edges:

* a *printed* tensor (``K.print_tensor``) is an ``identity`` of its input that carries a
  message; the function also returns it and prints it after each call;
* a *host value* is a placeholder standing for ``numpy_fn(*arrays)`` where the arrays are
  values of other tensors. The function then runs in two stages: a first compiled function
  computes those tensors, Python computes the host values, and the main compiled function
  gets them as inputs. A host value has no gradient.

Both are found by walking the graph of the outputs and updates, so models compiled from layers
using them (``model.compile``) behave the same way. Neither works inside a loop body
(``K.rnn`` steps, ``K.map_fn``): the loop runs natively, with no Python between steps.
"""
from __future__ import annotations

import sys

import numpy as np

from ..function import Function
from ..ir.graph import toposort
from ..ir.node import Value
from ..ir.ops import apply, as_value

class _HostCall:
    """One call ``fn(*arrays of inputs)`` whose results feed one placeholder each."""

    def __init__(self, fn, inputs, name):
        self.fn, self.inputs, self.name = fn, list(inputs), name
        self.outputs = []


def print_tensor(x, message=''):
    """Print ``message`` and the value of ``x`` each time a function computing it runs.

    Returns a new tensor equal to ``x`` (gradients flow through it): use it in place of ``x``,
    otherwise nothing depends on it and nothing is printed. The text goes to standard output,
    ``message`` followed by the array, after the function's call. Inside a loop body
    (``K.rnn`` steps, ``K.map_fn``) nothing is printed.

    Args:
        x: a tensor.
        message: the text printed before the value.
    Returns:
        A tensor equal to ``x``.

    Example:
        >>> x = K.print_tensor(x, message='x is: ')
    """
    y = apply("identity", as_value(x))
    y._print_message = str(message)
    return y


def host_values(fn, inputs, specs, name):
    """Placeholders standing for ``fn(*input_arrays)``, which returns one array per
    ``(shape, dtype)`` in ``specs`` (None = a size known at run time). ``K.function`` computes
    them between compiled stages."""
    from .variables import placeholder
    call = _HostCall(fn, inputs, name)
    for k, (shape, dtype) in enumerate(specs):
        ph = placeholder(shape=tuple(shape), dtype=dtype, name=f"{name}_{k}")
        ph._host_call = call          # what K.function computes this placeholder with
        call.outputs.append(ph)
    return call.outputs


def _scan(roots):
    printed, hosts = [], []
    for node in toposort(roots):
        for v in node.outputs:
            if getattr(v, "_print_message", None) is not None:
                printed.append(v)
        if node.op == "input" and getattr(node.outputs[0], "_host_call", None) is not None:
            hosts.append(node.outputs[0])
    return printed, hosts


def make_function(inputs, outputs, updates=None, **kwargs) -> Function:
    """``Function(inputs, outputs, updates)``, staged when printed tensors or host values are
    reachable from the outputs or updates."""
    single = not isinstance(outputs, (list, tuple))
    out_list = [outputs] if single else list(outputs)
    pairs = list(updates or [])
    roots = [as_value(o) for o in out_list]
    for pair in pairs:
        if isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[1], Value):
            roots.append(pair[1])
    printed, hosts = _scan(roots)
    sparse = isinstance(inputs, (list, tuple)) and \
        any(getattr(v, "_is_sparse", False) for v in inputs)
    if not printed and not hosts:
        cls = SparseFedFunction if sparse else Function
        return cls(inputs, outputs, updates=updates, **kwargs)
    cls = SparseFedStagedFunction if sparse else StagedFunction
    return cls(inputs, out_list, updates, printed, hosts, **kwargs)


class StagedFunction(Function):
    """A Function with host work around it (see the module docstring). Called like any
    Function, with the arrays of the user's inputs; ``inputs`` lists the user's inputs
    followed by the host values' placeholders."""

    def __init__(self, inputs, outputs, updates, printed, hosts, **kwargs):
        self._user_inputs = list(inputs)
        self._n_user_outputs = len(outputs)
        self._printed = printed
        # every call whose results are needed, ordered so that a call's inputs only read
        # the user's inputs and results of earlier calls
        calls, seen, todo = [], set(), [h._host_call for h in hosts]
        while todo:
            call = todo.pop()
            if id(call) in seen:
                continue
            seen.add(id(call))
            calls.append(call)
            todo += [h._host_call for h in _scan(call.inputs)[1]]
        ordered, known = [], set()
        while calls:
            ready = [c for c in calls if all(id(h) in known for h in _scan(c.inputs)[1])]
            if not ready:
                raise ValueError("K.function: host-computed values depend on each other in a "
                                 "cycle")
            for c in ready:
                ordered.append(c)
                known |= {id(h) for h in c.outputs}
            calls = [c for c in calls if all(c is not r for r in ready)]
        self._hosts = [h for c in ordered for h in c.outputs]
        mode = kwargs.get("mode")
        self._stages = []
        for k, call in enumerate(ordered):
            feed = list(inputs) + [h for c in ordered[:k] for h in c.outputs]
            self._stages.append((call, Function(feed, call.inputs, name=call.name, mode=mode)))
        super().__init__(list(inputs) + self._hosts, list(outputs) + list(printed),
                         updates=updates, **kwargs)

    def __call__(self, inputs):
        n = len(self._user_inputs)
        if isinstance(inputs, dict):
            by_id = {id(k): a for k, a in inputs.items()}
            inputs = [by_id.get(id(v)) for v in self._user_inputs]
        if not isinstance(inputs, (list, tuple)) or len(inputs) != n:
            got = len(inputs) if isinstance(inputs, (list, tuple)) else type(inputs).__name__
            raise ValueError(f"function {self.name!r} expects {n} input array(s), got {got}")
        arrays = list(inputs)
        for call, stage in self._stages:
            results = call.fn(*stage(arrays[:len(stage.inputs)]))
            arrays += [np.asarray(r, dtype=h.dtype) for r, h in zip(results, call.outputs)]
        outs = super().__call__(arrays)
        for v, value in zip(self._printed, outs[self._n_user_outputs:]):
            sys.stdout.write(f"{v._print_message}{value}\n")
        sys.stdout.flush()
        return outs[:self._n_user_outputs]


class _DensifiesFeeds:
    """Densifies the scipy.sparse matrices fed to a function with a sparse placeholder among
    its inputs (graphc has no sparse tensors), then calls it as usual."""

    def __call__(self, inputs):
        from ..utils.sparse_utils import densify_all
        if isinstance(inputs, (list, tuple, dict)):
            inputs = densify_all(inputs)
        return super().__call__(inputs)


class SparseFedFunction(_DensifiesFeeds, Function):
    """A Function taking scipy.sparse matrices for its sparse placeholders."""


class SparseFedStagedFunction(_DensifiesFeeds, StagedFunction):
    """A StagedFunction taking scipy.sparse matrices for its sparse placeholders."""
