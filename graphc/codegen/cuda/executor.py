"""CudaFunction: runs a CUDA Plan -- device kernels, host steps, variables resident on the GPU.

Data movement per call:

* each input array is copied to the device once, when the first device step reads it;
* constants are copied once per function (kept on the device between calls);
* variables live on the device between calls and across functions: one *device mirror* per
  variable storage, shared by every CUDA function of the process (a training function's
  updates are what the prediction function reads). A mirror is re-uploaded when the host
  array it was synced with is no longer ``var.value`` (``K.set_value`` replaces it) or after
  :func:`invalidate`; an in-place write into ``var.value`` by other code (e.g. a CPU-compiled
  function updating the same variable) is not seen until :func:`invalidate` is called;
* updates are applied on the device with Theano semantics (all new values are computed from
  the old ones first): an update value computed by a kernel becomes the variable's new
  mirror without a copy. With ``sync_back=True`` (the default) the new values are then copied
  into ``var.value`` in place after every call, so ``K.get_value`` is always current; with
  ``sync_back=False`` call :func:`sync_variables` before reading variables on the host;
* outputs are copied to the host.
"""
from __future__ import annotations

import time
import weakref

import numpy as np

from ...ir.interpreter import RngStates, run_node
from ...ir.ops import REGISTRY
from . import kernels as K
from . import runtime
from .elementwise import merged_dims
from .lower import Plan, warn_fallback


class _Mirror:
    __slots__ = ("dev", "host", "dirty")

    def __init__(self, dev, host):
        self.dev = dev          # the device array holding the variable's current value
        self.host = host        # the host array it was last synced with
        self.dirty = False      # True: the device holds a newer value than ``host``


_MIRRORS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def invalidate(var=None) -> None:
    """Forget device mirrors so the next call re-uploads ``var.value`` (all if None).

    Call it after writing into a variable's host array in place. A mirror holding a newer
    value than the host (``sync_back=False``) is copied back first.

    Example:
        >>> var.value[...] = 0; invalidate(var)
    """
    targets = list(_MIRRORS.keys()) if var is None else [var]
    for v in targets:
        m = _MIRRORS.get(v)
        if m is not None and m.dirty:
            _download_into(v, m)
        _MIRRORS.pop(v, None)


def sync_variables() -> int:
    """Copy every variable whose device mirror is newer than its host value back to the host.

    Returns:
        The number of variables copied.

    Example:
        >>> f = compile_graph_cuda(graph, sync_back=False); f(batch); sync_variables()
        2
    """
    n = 0
    for var, m in list(_MIRRORS.items()):
        if m.dirty:
            _download_into(var, m)
            n += 1
    return n


def _download_into(var, m: _Mirror) -> None:
    cur = var.value
    if isinstance(cur, np.ndarray) and cur.shape == tuple(m.dev.shape) and \
            cur.dtype == m.dev.dtype and cur.flags.c_contiguous and cur.flags.writeable:
        m.dev.copy_to_host(cur)
    else:
        var.value = m.dev.copy_to_host()
    m.host = var.value
    m.dirty = False


def _mirror(var):
    m = _MIRRORS.get(var)
    if m is None or m.host is not var.value:
        if m is not None and m.dirty:
            # the host value was replaced while the device held unsynced updates: the host
            # assignment is the newer one (K.set_value after a sync_back=False call)
            pass
        m = _Mirror(runtime.to_device(np.asarray(var.value)), var.value)
        _MIRRORS[var] = m
    return m


class CudaFunction:
    """A graph compiled to CUDA kernels.

    Call it with the graph's input arrays (``graph.inputs`` order); it returns the list of
    output arrays (numpy, on the host) and applies ``graph.updates`` on the device.

    Attributes:
        graph: the graph that was compiled.
        plan: the lowered plan (``plan.steps``).
        source: the generated kernel module's source.
        stats: seconds by phase (``lower``, ``load``, ``total``), counts (``kernels``,
            ``host_steps``), and after calls ``last_call`` timings.
        sync_back: copy updated variables to ``var.value`` after each call.
    """

    def __init__(self, graph, plan: Plan, module, stats: dict, sync_back: bool = True):
        self.graph = graph
        self.plan = plan
        self.source = plan.source
        self.stats = stats
        self.sync_back = sync_back
        self._module = module
        self._rng = RngStates()
        self._const_dev: dict[int, object] = {}
        self._offsets: dict = {}
        self._fns = {}
        for step in plan.steps:
            if step.kind == "kernel":
                self._fns[id(step)] = getattr(module, step.info["kernel"].name)
        self._vars = [(v, v.node.attrs["var"]) for v in graph.variables()]

    # -- values --------------------------------------------------------------------------------
    def _dev(self, v, env, denv):
        """``v`` as a device array (uploaded once per call; constants once per function)."""
        d = denv.get(id(v))
        if d is not None:
            return d
        node = v.node
        if node.op == "variable":
            d = _mirror(node.attrs["var"]).dev
        elif node.op == "constant":
            d = self._const_dev.get(id(v))
            if d is None:
                d = self._const_dev[id(v)] = runtime.to_device(np.asarray(node.attrs["value"]))
        else:
            d = runtime.to_device(np.asarray(env[id(v)]))
        denv[id(v)] = d
        return d

    def _host(self, v, env, denv):
        """``v`` as a numpy array (downloaded once per call)."""
        a = env.get(id(v))
        if a is not None:
            return a
        node = v.node
        if node.op == "constant":
            a = node.attrs["value"]
        elif node.op == "variable":
            var = node.attrs["var"]
            m = _MIRRORS.get(var)
            a = m.dev.copy_to_host() if (m is not None and m.dirty) else var.value
        else:
            a = denv[id(v)].copy_to_host()
        env[id(v)] = a
        return a

    def _contig(self, d):
        """A C-contiguous device array with ``d``'s values (``d`` itself when it is one)."""
        if runtime.is_contiguous(d):
            return d
        itemsize = d.dtype.itemsize
        strides = [s // itemsize for s in d.strides]
        return self._gather(_base_of(d), d.shape, strides, d.dtype)

    def _gather(self, flat_src, shape, strides, dtype):
        """out[idx] = flat_src[sum idx_k * strides_k], a new contiguous array of ``shape``."""
        out = runtime.empty(shape, dtype)
        n = int(np.prod(shape))
        if n == 0:
            return out
        ndim = len(shape)
        dims = runtime.to_device(np.asarray(shape, np.int64).reshape(max(ndim, 1)))
        st = runtime.to_device(np.asarray(strides, np.int64).reshape(max(ndim, 1)))
        blocks, threads = runtime.launch_config(n)
        K.copy_kernel()[blocks, threads](flat_src, out.reshape(n), dims, st, n, ndim)
        return out

    def _flat(self, d):
        d = self._contig(d)
        return d.reshape(int(np.prod(d.shape)))

    # -- calling -------------------------------------------------------------------------------
    def __call__(self, arrays):
        """Run the compiled graph.

        Args:
            arrays: one numpy array per graph input, in ``graph.inputs`` order.
        Returns:
            A list of numpy arrays, one per output.

        Example:
            >>> f = compile_graph_cuda(Graph([x], [apply("tanh", x)]))
            >>> f([np.zeros(3, np.float32)])
            [array([0., 0., 0.], dtype=float32)]
        """
        g = self.graph
        env: dict = {}
        denv: dict = {}
        for v, a in zip(g.inputs, arrays):
            env[id(v)] = a
        for step in self.plan.steps:
            try:
                self._run(step, env, denv)
            except Exception as e:
                if isinstance(e, runtime.CudaUnavailableError):
                    raise
                node = step.node
                raise type(e)(f"{e} [while running {node.op} on the GPU path "
                              f"({step.kind} step), built in {node.provenance}]") from e
        # outputs first (they hold the values before the updates)
        sources = {id(a) for a in arrays}
        outs = []
        for v in g.outputs:
            if id(v) in denv or v.node.op == "variable":
                a = self._dev(v, env, denv).copy_to_host()
            else:
                a = self._host(v, env, denv)
                if id(a) in sources or v.node.op == "constant" or \
                        any(a is e for e in arrays):
                    a = np.array(a)
            outs.append(np.asarray(a))
        if g.updates:
            self._commit(env, denv)
        return outs

    def _commit(self, env, denv) -> None:
        borrowed = {id(d) for d in self._const_dev.values()}
        for v in self.graph.inputs:
            if id(v) in denv:
                borrowed.add(id(denv[id(v)]))
        for var_v, var in self._vars:
            m = _MIRRORS.get(var)
            if m is not None:
                borrowed.add(id(m.dev))
        news = []
        used = set()
        for var_v, new_v in self.graph.updates:
            var = var_v.node.attrs["var"]
            d = self._dev(new_v, env, denv)
            expect = tuple(np.shape(var.value))
            if tuple(d.shape) != expect:
                raise ValueError(f"the update of variable {var.name!r} computed shape "
                                 f"{tuple(d.shape)}, but the variable has shape {expect}")
            if id(d) in borrowed or id(d) in used or not runtime.is_contiguous(d) or \
                    new_v.node.op in ("reshape", "flatten", "expand_dims", "squeeze",
                                      "transpose"):
                d = _copy(self._contig(d))
            used.add(id(d))
            news.append((var, d))
        for var, d in news:
            m = _MIRRORS.get(var)
            if m is None or m.host is not var.value:
                m = _MIRRORS[var] = _Mirror(d, var.value)
            m.dev = d
            m.dirty = True
            if self.sync_back:
                _download_into(var, m)

    # -- steps ---------------------------------------------------------------------------------
    def _run(self, step, env, denv) -> None:
        kind = step.kind
        node = step.node
        if kind == "host":
            self._run_host(step, env, denv)
        elif kind == "kernel":
            self._run_kernel(step, env, denv)
        elif kind == "reduce":
            self._run_reduce(step, env, denv)
        elif kind == "matmul":
            self._run_matmul(step, env, denv)
        elif kind == "softmax":
            x = self._dev(node.inputs[0], env, denv)
            denv[id(node.outputs[0])] = self._softmax(x, step.info["log"])
        elif kind == "xent":
            z = self._dev(node.inputs[0], env, denv)
            t = self._dev(node.inputs[1], env, denv)
            denv[id(node.outputs[0])] = self._xent(z, t)
        elif kind == "transpose":
            x = self._dev(node.inputs[0], env, denv)
            perm = step.info["perm"]
            if x.ndim == 2 and perm == (1, 0):
                denv[id(node.outputs[0])] = runtime.transpose2d(x)
            else:
                x = self._contig(x)
                cstr = _c_strides(x.shape)
                shape = tuple(x.shape[p] for p in perm)
                denv[id(node.outputs[0])] = self._gather(
                    self._flat(x), shape, [cstr[p] for p in perm], x.dtype)
        elif kind == "broadcast":
            g = self._flat(self._dev(node.inputs[0], env, denv))
            target = tuple(_shape_of(node.inputs[1], env, denv))
            shape = list(_shape_of(node.inputs[0], env, denv))
            for a in sorted(step.info["axes"]):
                shape.insert(a, 1)
            shape = [1] * (len(target) - len(shape)) + shape
            cstr = _c_strides(shape)
            strides = [0 if (s == 1 and t != 1) else st
                       for s, t, st in zip(shape, target, cstr)]
            denv[id(node.outputs[0])] = self._gather(g, target, strides, g.dtype)
        elif kind == "view":
            x = self._contig(self._dev(node.inputs[0], env, denv))
            shape = _view_shape(node, tuple(x.shape), x.dtype)
            denv[id(node.outputs[0])] = x.reshape(*shape) if shape else x.reshape(())
        elif kind == "shape":              # shape(x), or size(x, axes): no data moves
            shape = _shape_of(node.inputs[0], env, denv)
            if node.op == "size":
                shape = int(np.prod([shape[a] for a in node.attrs["axes"]], dtype=np.int64))
            env[id(node.outputs[0])] = np.asarray(shape, dtype=node.outputs[0].dtype)
        else:  # pragma: no cover - lower() only makes the kinds above
            raise AssertionError(kind)

    def _run_host(self, step, env, denv) -> None:
        node = step.node
        if not step.info.get("random") and any(id(v) in denv and id(v) not in env
                                               for v in node.inputs):
            warn_fallback(node.op, step.info.get("reason", ""))
        args = [np.asarray(self._host(v, env, denv)) for v in node.inputs]
        outs = run_node(node, args, self._rng)
        for o, a in zip(node.outputs, outs):
            env[id(o)] = a if a.flags.c_contiguous else np.array(a, order="C")

    def _run_kernel(self, step, env, denv) -> None:
        node = step.node
        ks = step.info["kernel"]
        ins = [self._dev(v, env, denv) for v in step.info["inputs"]]
        shapes = [tuple(d.shape) for d in ins]
        out_shape = np.broadcast_shapes(*shapes) if shapes else \
            tuple(int(d) for d in node.outputs[0].shape)
        n = int(np.prod(out_shape))
        outs = [runtime.empty(out_shape, o.dtype) for o in node.outputs]
        if n:
            flat_in = [self._flat(d) for d in ins]
            flat_out = [o.reshape(n) for o in outs]
            dims = merged_dims(ks, out_shape)
            blocks, threads = runtime.launch_config(n)
            self._fns[id(step)][blocks, threads](n, *dims, *flat_out, *flat_in)
        for o, d in zip(node.outputs, outs):
            denv[id(o)] = d

    def _run_reduce(self, step, env, denv) -> None:
        node = step.node
        x = self._contig(self._dev(node.inputs[0], env, denv))
        axes = step.info["axes"]
        shape = tuple(x.shape)
        out_dtype = np.dtype(node.outputs[0].dtype)
        keep = node.attrs.get("keepdims", False)
        out_shape = tuple((1 if i in axes else s) for i, s in enumerate(shape)
                          if keep or i not in axes)
        out = runtime.empty(out_shape, out_dtype)
        key = (shape, axes)
        offs = self._offsets.get(key)
        if offs is None:
            kept, red = K.offsets(shape, axes)
            offs = self._offsets[key] = (runtime.to_device(kept), runtime.to_device(red),
                                         len(kept), len(red))
        d_kept, d_red, n_out, n_red = offs
        if n_out == 0:
            denv[id(node.outputs[0])] = out
            return
        if n_red == 0:              # reducing an empty set: the reference's identity / nan
            empty = np.zeros(shape, out_dtype)
            ref = run_node(node, [empty], self._rng)[0]
            denv[id(node.outputs[0])] = runtime.to_device(ref)
            return
        op = node.op
        init = K.reduce_init(op, out_dtype.name)
        inv_n = out_dtype.type(1.0 / n_red if n_red else np.nan) \
            if REGISTRY[op].reduction.finalize == "mean" else \
            out_dtype.type(1)
        flat_x = x.reshape(int(np.prod(shape)))
        flat_out = out.reshape(n_out)
        last_reduced = (len(shape) - 1) in axes if shape else True
        if last_reduced or n_out < 4 * runtime.multiprocessors():
            threads = K.row_threads(n_red)
            blocks = min(n_out, 2 if runtime.simulated() else runtime.multiprocessors() * 8)
            kern = K.reduce_block_kernel(op, out_dtype.name, threads)
            kern[blocks, threads](flat_x, flat_out, d_kept, d_red, n_out, n_red, init, inv_n)
        else:
            blocks, threads = runtime.launch_config(n_out)
            kern = K.reduce_thread_kernel(op, out_dtype.name)
            kern[blocks, threads](flat_x, flat_out, d_kept, d_red, n_out, n_red, init, inv_n)
        denv[id(node.outputs[0])] = out

    def _run_matmul(self, step, env, denv) -> None:
        node = step.node
        a = self._dev(node.inputs[0], env, denv)
        b = self._dev(node.inputs[1], env, denv)
        dtype = np.dtype(node.outputs[0].dtype)
        if a.ndim <= 2 and b.ndim <= 2:
            a2 = a if a.ndim == 2 else self._contig(a).reshape(1, a.shape[0])
            b2 = b if b.ndim == 2 else self._contig(b).reshape(b.shape[0], 1)
            _check_inner(a2, b2)
            out = runtime.empty((a2.shape[0], b2.shape[1]), dtype)
            if out.size:
                _matmul_or_zero(a2, b2, out)
            shape = (() if a.ndim == 1 else (a2.shape[0],)) + \
                (() if b.ndim == 1 else (b2.shape[1],))
            denv[id(node.outputs[0])] = out.reshape(*shape) if shape else out.reshape(())
            return
        # batched: equal leading dims; one launch per matrix
        sa, sb = tuple(a.shape), tuple(b.shape)
        if sa[:-2] != sb[:-2]:
            raise ValueError(f"matmul on the GPU path: batch dimensions {sa[:-2]} and "
                             f"{sb[:-2]} must be equal")
        a3 = self._contig(a).reshape(int(np.prod(sa[:-2])), sa[-2], sa[-1])
        b3 = self._contig(b).reshape(int(np.prod(sb[:-2])), sb[-2], sb[-1])
        out = runtime.empty((a3.shape[0], sa[-2], sb[-1]), dtype)
        for i in range(a3.shape[0]):
            _check_inner(a3[i], b3[i])
            _matmul_or_zero(a3[i], b3[i], out[i])
        denv[id(node.outputs[0])] = out.reshape(*(sa[:-1] + (sb[-1],)))

    def _softmax(self, x, log: bool):
        x = self._contig(x)
        shape = tuple(x.shape)
        n = shape[-1]
        rows = int(np.prod(shape[:-1]))
        out = runtime.empty(shape, x.dtype)
        if rows and n:
            threads = K.row_threads(n)
            blocks = min(rows, 2 if runtime.simulated() else runtime.multiprocessors() * 8)
            size = rows * n
            K.softmax_rows_kernel(x.dtype.name, threads, log)[blocks, threads](
                x.reshape(size), out.reshape(size), rows, n)
        return out

    def _xent(self, z, t):
        z = self._contig(z)
        t = self._contig(t)
        shape = tuple(z.shape)
        if tuple(t.shape) != shape:
            raise ValueError(f"softmax_cross_entropy on the GPU path: targets of shape "
                             f"{tuple(t.shape)} for logits of shape {shape}")
        n = shape[-1]
        rows = int(np.prod(shape[:-1]))
        out = runtime.empty(shape[:-1], z.dtype)
        if rows:
            threads = K.row_threads(n)
            blocks = min(rows, 2 if runtime.simulated() else runtime.multiprocessors() * 8)
            size = rows * n
            K.softmax_xent_rows_kernel(z.dtype.name, threads)[blocks, threads](
                z.reshape(max(size, 1)) if size else z.reshape(0),
                t.reshape(size), out.reshape(rows), rows, n)
        return out


# -- helpers -------------------------------------------------------------------------------------

def _c_strides(shape) -> list[int]:
    return [int(np.prod(shape[k + 1:])) for k in range(len(shape))]


def _base_of(d):
    """A flat view of the memory a strided 2-D device view (``x.T``) reads.

    Only transposed views of contiguous arrays are made by this executor, so the base is
    the same buffer read with swapped strides; rebuild its flat view from the transpose."""
    base = runtime.transpose2d(d)          # the contiguous original
    if not runtime.is_contiguous(base):
        raise ValueError("internal error: a non-contiguous device array that is not a "
                         "transposed view")
    return base.reshape(int(np.prod(base.shape)))


def _shape_of(v, env, denv):
    a = denv.get(id(v))
    if a is None:
        a = env.get(id(v))
    if a is None:
        node = v.node
        if node.op == "variable":
            return tuple(np.shape(node.attrs["var"].value))
        if node.op == "constant":
            return tuple(np.shape(node.attrs["value"]))
        raise KeyError(f"internal error: value {v.name} not computed yet")
    return tuple(a.shape)


def _view_shape(node, in_shape, dtype) -> tuple:
    """The output shape of a reshape-like node for an input of ``in_shape``: its reference
    run on a zero-strided dummy (no memory is touched)."""
    from ...ir.ops import REGISTRY
    dummy = np.lib.stride_tricks.as_strided(np.zeros(1, dtype), shape=in_shape,
                                            strides=(0,) * len(in_shape))
    attrs = dict(node.attrs)
    return tuple(np.shape(REGISTRY[node.op].reference(dummy, **attrs)))


def _check_inner(a, b) -> None:
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"matmul: cannot multiply {tuple(a.shape)} by {tuple(b.shape)}: "
                         f"inner dimensions {a.shape[1]} and {b.shape[0]} differ")


def _matmul_or_zero(a, b, out) -> None:
    if a.shape[1] == 0:             # an empty inner dimension: the product is all zeros
        out.copy_to_device(np.zeros(tuple(out.shape), out.dtype))
        return
    K.matmul(a, b, out)


def _copy(d):
    out = runtime.cuda().device_array_like(d)
    out.copy_to_device(d)
    return out


def build(graph, plan: Plan, sync_back: bool = True) -> CudaFunction:
    """Load the generated kernel module through the compile cache; make the function."""
    from .. import cache
    t0 = time.perf_counter()
    module = None
    if plan.source:
        key = cache.key("graphc-cuda-1", runtime.simulated(), plan.source)
        module = cache.load_generated_module(plan.source, key, module_prefix="graphc_cuda")
    t1 = time.perf_counter()
    stats = {"load": t1 - t0, "kernels": len(plan.kernels),
             "host_steps": sum(s.kind == "host" for s in plan.steps),
             "steps": len(plan.steps)}
    return CudaFunction(graph, plan, module, stats, sync_back)
