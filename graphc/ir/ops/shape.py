"""Shape ops: shape, reshape, reshape_like, transpose, expand_dims, squeeze, flatten,
concatenate, stack, split_like, slice, slice_grad, gather, gather_grad, one_hot, tile, repeat,
pad, reverse; and the helpers ``getitem`` (numpy basic indexing, behind ``Value.__getitem__``),
``split`` and ``unstack``.

Shapes may hold the symbolic batch dim ``"B"`` or unknown dims (``None``). An op whose output
size depends on a run-time size gives the symbol where it provably equals one, else ``None``.
``reshape_like``, ``split_like``, ``slice_grad`` and ``gather_grad`` exist for gradients: they
take the run-time shape from another value, so gradients work with a symbolic batch size.
References always return fresh arrays (never views of their inputs).
"""
from __future__ import annotations

import numpy as np

from ..node import Value
from ..types import ShapeError, TensorType, as_dtype, dim_str, dims_compatible, is_int, \
    normalize_axes, normalize_axis, shape_str
from . import apply, constant, defop
from .core import zeros_like

_NO_GRAD = (lambda node, gouts: [None] * len(node.inputs))


# -- helpers -----------------------------------------------------------------------------------

def _merge_dims(dims, op, shapes):
    """One dim from dims that must agree at run time (ints beat symbols beat None)."""
    ints = {d for d in dims if isinstance(d, int)}
    if len(ints) > 1:
        raise ShapeError(f"{op}: shapes {', '.join(shape_str(s) for s in shapes)} disagree "
                         f"({' vs '.join(dim_str(d) for d in dims)})")
    if ints:
        return ints.pop()
    syms = [d for d in dims if d is not None]
    return syms[0] if syms else None


def like(v, x):
    """``v`` given exactly ``x``'s static type shape (a run-time no-op reshape if needed)."""
    return v if v.shape == x.shape else apply("reshape_like", v, x)


def axis_slice_attrs(ndim, axis, begin, end, step=1):
    """``slice`` attributes that cut only ``axis``."""
    b, e, s = [None] * ndim, [None] * ndim, [1] * ndim
    b[axis], e[axis], s[axis] = begin, end, step
    return {"begin": tuple(b), "end": tuple(e), "step": tuple(s)}


# -- shape -------------------------------------------------------------------------------------

defop("shape", infer=lambda types: TensorType("int64", (types[0].ndim,)),
      reference=lambda x: np.asarray(x.shape, dtype=np.int64), grad=_NO_GRAD, kind="shape",
      doc="The run-time shape of the input as an int64 vector (no gradient).",
      aliases="fresh")


def _size_normalize(types, attrs):
    attrs["axes"] = normalize_axes(attrs.get("axes"), types[0].ndim, "size")
    attrs["dtype"] = as_dtype(attrs.get("dtype") or "int64")
    return attrs


def _size_ref(x, axes=(), dtype="int64"):
    n = 1
    for a in axes:
        n *= int(x.shape[a])
    return np.asarray(n, dtype=dtype)


defop("size", infer=lambda types, axes=(), dtype="int64": TensorType(dtype, ()),
      reference=_size_ref, grad=_NO_GRAD, kind="shape",
      defaults={"axes": None, "dtype": "int64"}, normalize=_size_normalize,
      doc="The run-time number of elements of the input over ``axes`` (all axes when None) "
          "as a scalar of ``dtype``: the count a mean divides by (no gradient).",
      aliases="fresh")


# -- reshape, reshape_like, flatten ------------------------------------------------------------

def _reshape_normalize(types, attrs):
    shape = attrs["shape"]
    if len(types) == 2:
        if shape is not None:
            raise ShapeError("reshape: give the target shape either as the `shape` attribute "
                             "or as a second (int vector) input, not both")
        return attrs
    if shape is None:
        raise ShapeError("reshape: the target `shape` is required")
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    out = []
    for d in shape:
        if not isinstance(d, (int, np.integer)) or d < -1:
            raise ShapeError(f"reshape: target shape {tuple(shape)} may hold only sizes >= 0 "
                             f"and one -1, got {d!r}")
        out.append(int(d))
    if out.count(-1) > 1:
        raise ShapeError(f"reshape: target shape {tuple(out)} has more than one -1")
    attrs["shape"] = tuple(out)
    return attrs


def _reshape_infer(types, shape=None):
    x = types[0]
    if len(types) == 2:
        s = types[1]
        if s.ndim != 1 or not is_int(s.dtype) or not isinstance(s.shape[0], int):
            raise ShapeError(f"reshape: a shape input must be an int vector of static length, "
                             f"got {s}")
        return TensorType(x.dtype, (None,) * s.shape[0])
    known = [d for d in shape if d != -1]
    tprod = int(np.prod(known)) if known else 1
    xint = [d for d in x.shape if isinstance(d, int)]
    xprod = int(np.prod(xint)) if xint else 1
    sym = [d for d in x.shape if not isinstance(d, int)]
    msg = f"reshape: cannot reshape {shape_str(x.shape)} into {tuple(shape)}"
    if -1 not in shape:
        if not sym and xprod != tprod:
            raise ShapeError(f"{msg}: {xprod} elements vs {tprod}")
        if sym and xprod and tprod % xprod:
            raise ShapeError(f"{msg}: {tprod} is not a multiple of the {xprod} known elements")
        return TensorType(x.dtype, shape)
    if not sym:
        if (tprod == 0 and xprod != 0) or (tprod and xprod % tprod):
            raise ShapeError(f"{msg}: {xprod} elements are not divisible by {tprod}")
        fill = xprod // tprod if tprod else 0
    elif len(sym) == 1 and sym[0] is not None and xprod == tprod:
        fill = sym[0]            # (B,28,28) -> (-1,784): the -1 is B
    else:
        fill = None
    return TensorType(x.dtype, tuple(fill if d == -1 else d for d in shape))


def _reshape_ref(x, s=None, shape=None):
    target = tuple(int(d) for d in (s if s is not None else shape))
    return np.array(np.reshape(x, target))


def _reshape_grad(node, gouts):
    x = node.inputs[0]
    return [apply("reshape_like", gouts[0], x)] + [None] * (len(node.inputs) - 1)


defop("reshape", infer=_reshape_infer, reference=_reshape_ref, grad=_reshape_grad,
      kind="shape", defaults={"shape": None}, normalize=_reshape_normalize,
      doc="Reshape to `shape` (sizes and at most one -1), or to the run-time int vector given "
          "as a second input. (B,28,28) with shape (-1,784) -> (B,784).",
      aliases="view")


def _reshape_like_infer(types):
    x, ref = types
    xs = [d for d in x.shape]
    if all(isinstance(d, int) for d in xs + list(ref.shape)):
        if int(np.prod(xs)) != int(np.prod(ref.shape)):
            raise ShapeError(f"reshape_like: cannot reshape {shape_str(x.shape)} into "
                             f"{shape_str(ref.shape)}")
    return TensorType(x.dtype, ref.shape)


defop("reshape_like", infer=_reshape_like_infer,
      reference=lambda x, ref: np.array(np.reshape(x, ref.shape)),
      grad=lambda node, g: [apply("reshape_like", g[0], node.inputs[0]), None], kind="shape",
      doc="Reshape input 0 to the run-time shape of input 1 (used by gradients).",
      aliases="view")


def _flatten_infer(types):
    x = types[0]
    if x.ndim == 0:
        raise ShapeError("flatten: needs a tensor of rank >= 1 (batch axis first), got a scalar")
    rest = x.shape[1:]
    size = int(np.prod(rest)) if all(isinstance(d, int) for d in rest) else None
    return TensorType(x.dtype, (x.shape[0], size))


defop("flatten", infer=_flatten_infer,
      reference=lambda x: np.array(np.reshape(x, (x.shape[0], int(np.prod(x.shape[1:]))))),
      grad=lambda node, g: [apply("reshape_like", g[0], node.inputs[0])], kind="shape",
      doc="Flatten all axes but the first (Keras K.batch_flatten): (B,a,b) -> (B,a*b).",
      aliases="view")


# -- transpose, expand_dims, squeeze, reverse --------------------------------------------------

def _transpose_normalize(types, attrs):
    nd = types[0].ndim
    perm = attrs["perm"]
    if perm is None:
        perm = tuple(reversed(range(nd)))
    try:
        perm = tuple(normalize_axis(int(p), nd, "transpose") for p in perm)
    except TypeError:
        raise ShapeError(f"transpose: perm must be a sequence of axes, got {perm!r}") from None
    if sorted(perm) != list(range(nd)):
        raise ShapeError(f"transpose: perm {perm} is not a permutation of the {nd} axes of "
                         f"{shape_str(types[0].shape)}")
    attrs["perm"] = perm
    return attrs


def _transpose_grad(node, gouts):
    perm = node.attrs["perm"]
    inv = tuple(perm.index(i) for i in range(len(perm)))
    return [apply("transpose", gouts[0], perm=inv)]


defop("transpose", infer=lambda types, perm=None: TensorType(
          types[0].dtype, tuple(types[0].shape[p] for p in perm)),
      reference=lambda x, perm=None: np.ascontiguousarray(np.transpose(x, perm)).copy(),
      grad=_transpose_grad, kind="shape", defaults={"perm": None},
      normalize=_transpose_normalize,
      doc="Permute axes: output axis i is input axis perm[i] (None = reverse all).",
      aliases="strided_view")


def _expand_normalize(types, attrs):
    nd = types[0].ndim
    axis = int(attrs["axis"])
    if not -(nd + 1) <= axis <= nd:
        raise ShapeError(f"expand_dims: axis {axis} is out of range for a tensor of rank {nd} "
                         f"(valid: {-(nd + 1)}..{nd})")
    attrs["axis"] = axis % (nd + 1)
    return attrs


def _expand_infer(types, axis=-1):
    s = list(types[0].shape)
    s.insert(axis, 1)
    return TensorType(types[0].dtype, tuple(s))


defop("expand_dims", infer=_expand_infer,
      reference=lambda x, axis=-1: np.array(np.expand_dims(x, axis)),
      grad=lambda node, g: [apply("squeeze", g[0], axis=(node.attrs["axis"],))],
      kind="shape", defaults={"axis": -1}, normalize=_expand_normalize,
      doc="Insert a size-1 axis at position `axis` of the output.",
      aliases="view")


def _squeeze_normalize(types, attrs):
    t = types[0]
    axis = attrs["axis"]
    if axis is None:
        axes = tuple(i for i, d in enumerate(t.shape) if d == 1)
    else:
        axes = normalize_axes(axis, t.ndim, "squeeze")
    for a in axes:
        if isinstance(t.shape[a], int) and t.shape[a] != 1:
            raise ShapeError(f"squeeze: axis {a} of {shape_str(t.shape)} has size "
                             f"{t.shape[a]}, not 1")
    attrs["axis"] = axes
    return attrs


defop("squeeze", infer=lambda types, axis=None: TensorType(
          types[0].dtype, tuple(d for i, d in enumerate(types[0].shape) if i not in axis)),
      reference=lambda x, axis=None: np.array(np.squeeze(x, axis=axis)),
      grad=lambda node, g: [apply("reshape_like", g[0], node.inputs[0])], kind="shape",
      defaults={"axis": None}, normalize=_squeeze_normalize,
      doc="Remove size-1 axes (an int or tuple; None = every axis statically of size 1).",
      aliases="view")


def _reverse_normalize(types, attrs):
    attrs["axes"] = normalize_axes(attrs["axes"], types[0].ndim, "reverse")
    return attrs


defop("reverse", infer=lambda types, axes=None: types[0],
      reference=lambda x, axes=None: np.flip(x, axis=axes).copy(),
      grad=lambda node, g: [apply("reverse", g[0], axes=node.attrs["axes"])], kind="shape",
      defaults={"axes": None}, normalize=_reverse_normalize,
      doc="Reverse the order of elements along axes (None = all).")


# -- concatenate, stack, split_like ------------------------------------------------------------

def _variadic_axis_normalize(op, extra=0):
    def normalize(types, attrs):
        if not types:
            raise ShapeError(f"{op}: needs at least one input")
        nd = types[0].ndim + extra
        axis = int(attrs["axis"])
        if not -max(nd, 1) <= axis < max(nd, 1):
            raise ShapeError(f"{op}: axis {axis} is out of range for rank {nd}")
        attrs["axis"] = axis % nd
        return attrs
    return normalize


def _same_rank(op, types):
    nd = types[0].ndim
    for t in types:
        if t.ndim != nd:
            raise ShapeError(f"{op}: all inputs must have the same rank, got "
                             f"{', '.join(shape_str(u.shape) for u in types)}")


def _concat_infer(types, axis=-1):
    op = "concatenate"
    _same_rank(op, types)
    if types[0].ndim == 0:
        raise ShapeError(f"{op}: cannot concatenate scalars; use stack")
    shapes = [t.shape for t in types]
    out = []
    for i in range(types[0].ndim):
        dims = [s[i] for s in shapes]
        if i == axis:
            if len(dims) == 1:
                out.append(dims[0])
            else:
                out.append(sum(dims) if all(isinstance(d, int) for d in dims) else None)
        else:
            try:
                out.append(_merge_dims(dims, op, shapes))
            except ShapeError:
                raise ShapeError(f"{op}: shapes {', '.join(shape_str(s) for s in shapes)} "
                                 f"differ on axis {i}; only the concatenation axis {axis} "
                                 f"may differ") from None
    dtypes = {t.dtype for t in types}
    if len(dtypes) > 1:
        raise ShapeError(f"{op}: inputs have different dtypes {sorted(dtypes)}; cast first")
    return TensorType(types[0].dtype, tuple(out))


def _concat_grad(node, gouts):
    axis, g, xs = node.attrs["axis"], gouts[0], node.inputs
    sizes = [x.shape[axis] for x in xs]
    if all(isinstance(s, int) for s in sizes):
        out, start = [], 0
        for x, s in zip(xs, sizes):
            out.append(like(apply("slice", g, **axis_slice_attrs(g.ndim, axis, start, start + s)),
                            x))
            start += s
        return out
    parts = apply("split_like", g, *xs, axis=axis)
    return [like(p, x) for p, x in zip(parts, xs)]


defop("concatenate", infer=_concat_infer,
      reference=lambda *xs, axis=-1: np.concatenate(xs, axis=axis),
      grad=_concat_grad, kind="shape", defaults={"axis": -1},
      normalize=_variadic_axis_normalize("concatenate"),
      doc="Join tensors along an existing axis (variadic).")


def _split_like_infer(types, axis=0):
    g, likes = types[0], types[1:]
    if not likes:
        raise ShapeError("split_like: needs the value to split and at least one shape source")
    outs = []
    for t in likes:
        if t.ndim != g.ndim:
            raise ShapeError(f"split_like: cannot split {shape_str(g.shape)} like "
                             f"{shape_str(t.shape)}: ranks differ")
        outs.append(TensorType(g.dtype, tuple(t.shape[i] if i == axis else d
                                              for i, d in enumerate(g.shape))))
    return outs


def _split_like_ref(g, *likes, axis=0):
    offsets = np.cumsum([t.shape[axis] for t in likes])[:-1]
    if sum(t.shape[axis] for t in likes) != g.shape[axis]:
        raise ValueError(f"split_like: the sizes {[t.shape[axis] for t in likes]} do not add "
                         f"up to {g.shape[axis]}")
    return [p.copy() for p in np.split(g, offsets, axis=axis)]


def _split_like_grad(node, gouts):
    parts = [g if g is not None else zeros_like(o) for g, o in zip(gouts, node.outputs)]
    joined = apply("concatenate", *parts, axis=node.attrs["axis"])
    return [like(joined, node.inputs[0])] + [None] * (len(node.inputs) - 1)


defop("split_like", infer=_split_like_infer, reference=_split_like_ref, grad=_split_like_grad,
      kind="shape", defaults={"axis": 0}, normalize=_variadic_axis_normalize("split_like"),
      doc="Split input 0 along axis into pieces as long as inputs 1.. are there (run time); "
          "the gradient of concatenate.")


def _stack_infer(types, axis=0):
    op = "stack"
    _same_rank(op, types)
    shapes = [t.shape for t in types]
    try:
        dims = [_merge_dims([s[i] for s in shapes], op, shapes) for i in range(types[0].ndim)]
    except ShapeError:
        raise ShapeError(f"{op}: all inputs must have the same shape, got "
                         f"{', '.join(shape_str(s) for s in shapes)}") from None
    dtypes = {t.dtype for t in types}
    if len(dtypes) > 1:
        raise ShapeError(f"{op}: inputs have different dtypes {sorted(dtypes)}; cast first")
    dims.insert(axis, len(types))
    return TensorType(types[0].dtype, tuple(dims))


def _stack_grad(node, gouts):
    axis, g = node.attrs["axis"], gouts[0]
    out = []
    for i, x in enumerate(node.inputs):
        part = apply("slice", g, **axis_slice_attrs(g.ndim, axis, i, i + 1))
        out.append(like(apply("squeeze", part, axis=(axis,)), x))
    return out


defop("stack", infer=_stack_infer, reference=lambda *xs, axis=0: np.stack(xs, axis=axis),
      grad=_stack_grad, kind="shape", defaults={"axis": 0},
      normalize=_variadic_axis_normalize("stack", extra=1),
      doc="Join same-shaped tensors along a new axis (variadic).")


# -- slice and its gradient --------------------------------------------------------------------

def _slice_normalize(types, attrs):
    t = types[0]
    nd = t.ndim
    begin, end, step = attrs["begin"], attrs["end"], attrs["step"]
    n = max(len(x) for x in (begin or (), end or (), step or ()))
    if n > nd:
        raise ShapeError(f"slice: {n} axes given for a tensor of rank {nd} "
                         f"{shape_str(t.shape)}")

    def pad(seq, fill):
        seq = tuple(seq or ())
        return seq + (fill,) * (nd - len(seq))
    begin, end, step = pad(begin, None), pad(end, None), pad(step, 1)
    nb, ne, ns = [], [], []
    for axis, (b, e, s) in enumerate(zip(begin, end, step)):
        s = 1 if s is None else int(s)
        if s == 0:
            raise ShapeError(f"slice: step must be nonzero (axis {axis})")
        b = None if b is None else int(b)
        e = None if e is None else int(e)
        d = t.shape[axis]
        if isinstance(d, int):  # canonical: non-negative bounds (None = before the start)
            start, stop, _ = slice(b, e, s).indices(d)
            if not len(range(start, stop, s)):
                b, e = 0, 0                         # empty (indices() may give start -1)
            else:
                b, e = start, (stop if stop >= 0 else None)
        nb.append(b)
        ne.append(e)
        ns.append(s)
    attrs.update(begin=tuple(nb), end=tuple(ne), step=tuple(ns))
    return attrs


def _slice_dim(d, b, e, s):
    if isinstance(d, int):
        return len(range(*slice(b, e, s).indices(d)))
    if e is None and ((s == 1 and b in (None, 0)) or (s == -1 and b in (None, -1))):
        return d
    return None


def _slice_infer(types, begin=(), end=(), step=()):
    t = types[0]
    return TensorType(t.dtype, tuple(_slice_dim(d, b, e, s)
                                     for d, b, e, s in zip(t.shape, begin, end, step)))


def _slices(begin, end, step):
    return tuple(slice(b, e, s) for b, e, s in zip(begin, end, step))


def _slice_grad(node, gouts):
    return [apply("slice_grad", gouts[0], node.inputs[0], **node.attrs)]


defop("slice", infer=_slice_infer,
      reference=lambda x, begin=(), end=(), step=(): x[_slices(begin, end, step)].copy(),
      grad=_slice_grad, kind="shape", defaults={"begin": (), "end": (), "step": ()},
      normalize=_slice_normalize,
      doc="x[b0:e0:s0, b1:e1:s1, ...] with Python slice semantics per axis (negative indices "
          "and steps; None = the default bound; missing trailing axes are taken whole).")


def _slice_grad_normalize(types, attrs):
    return _slice_normalize(types[1:], attrs)


def _slice_grad_infer(types, begin=(), end=(), step=()):
    g, x = types
    want = _slice_infer([x], begin, end, step).shape
    if g.ndim != x.ndim or not all(dims_compatible(a, b) for a, b in zip(g.shape, want)):
        raise ShapeError(f"slice_grad: cotangent {shape_str(g.shape)} does not match the "
                         f"slice {shape_str(want)} of {shape_str(x.shape)}")
    return TensorType(g.dtype, x.shape)


def _slice_grad_ref(g, x, begin=(), end=(), step=()):
    out = np.zeros(x.shape, dtype=g.dtype)
    out[_slices(begin, end, step)] = g
    return out


defop("slice_grad", infer=_slice_grad_infer, reference=_slice_grad_ref,
      grad=lambda node, g: [apply("slice", g[0], **node.attrs), None], kind="shape",
      defaults={"begin": (), "end": (), "step": ()}, normalize=_slice_grad_normalize,
      doc="Zeros of input 1's run-time shape with input 0 written into the slice (the "
          "gradient of slice).")


# -- gather and its gradient -------------------------------------------------------------------

def _gather_infer(types, axis=0):
    p, idx = types
    if not is_int(idx.dtype):
        raise ShapeError(f"gather: indices must be an integer tensor, got {idx}; cast them "
                         f"with K.cast(indices, 'int32')")
    if p.ndim == 0:
        raise ShapeError("gather: cannot gather from a scalar")
    return TensorType(p.dtype, p.shape[:axis] + idx.shape + p.shape[axis + 1:])


def _gather_normalize(types, attrs):
    attrs["axis"] = normalize_axis(int(attrs["axis"]), types[0].ndim, "gather")
    return attrs


def _check_indices(idx, n, op):
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx[(idx < -n) | (idx >= n)].reshape(-1)[0]
        raise IndexError(f"{op}: index {bad} is out of range for an axis of size {n}")


def _gather_ref(p, idx, axis=0):
    _check_indices(idx, p.shape[axis], "gather")
    return np.take(p, idx, axis=axis)


defop("gather", infer=_gather_infer, reference=_gather_ref,
      grad=lambda node, g: [apply("gather_grad", g[0], node.inputs[1], node.inputs[0],
                                  axis=node.attrs["axis"]), None],
      kind="other", defaults={"axis": 0}, normalize=_gather_normalize,
      doc="params.take(indices, axis): rows of params picked by int indices (Embedding, "
          "K.gather); the output shape is params[:axis] + indices + params[axis+1:].")


def _gather_grad_infer(types, axis=0):
    g, idx, p = types
    want = _gather_infer([p, idx], axis=axis).shape
    if g.ndim != len(want) or not all(dims_compatible(a, b) for a, b in zip(g.shape, want)):
        raise ShapeError(f"gather_grad: cotangent {shape_str(g.shape)} does not match the "
                         f"gathered shape {shape_str(want)}")
    return TensorType(g.dtype, p.shape)


def _gather_grad_ref(g, idx, p, axis=0):
    out = np.zeros(p.shape, dtype=g.dtype)
    np.add.at(out, (slice(None),) * axis + (idx,), g)
    return out


defop("gather_grad", infer=_gather_grad_infer, reference=_gather_grad_ref,
      grad=lambda node, g: [apply("gather", g[0], node.inputs[1], axis=node.attrs["axis"]),
                            None, None],
      kind="other", defaults={"axis": 0}, normalize=lambda types, attrs: _gather_normalize(
          [types[2]], attrs),
      doc="Scatter-add of input 0 into zeros of params' (input 2) shape at the indices "
          "(input 1) along axis: the gradient of gather (repeated indices accumulate).")


# -- one_hot -----------------------------------------------------------------------------------

def _one_hot_infer(types, num_classes=None, dtype="float32"):
    idx = types[0]
    if not is_int(idx.dtype):
        raise ShapeError(f"one_hot: indices must be an integer tensor, got {idx}")
    if not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ShapeError(f"one_hot: num_classes must be a positive int, got {num_classes!r}")
    return TensorType(dtype, idx.shape + (int(num_classes),))


def _one_hot_ref(idx, num_classes=None, dtype="float32"):
    return (np.expand_dims(idx, -1) == np.arange(num_classes)).astype(dtype)


def _one_hot_normalize(types, attrs):
    attrs["dtype"] = as_dtype(attrs["dtype"])
    return attrs


defop("one_hot", infer=_one_hot_infer, reference=_one_hot_ref, grad=_NO_GRAD, kind="other",
      defaults={"num_classes": None, "dtype": "float32"}, normalize=_one_hot_normalize,
      doc="One-hot encoding along a new last axis (Keras K.one_hot); out-of-range indices "
          "give all-zero rows.")


# -- tile, repeat ------------------------------------------------------------------------------

def _tile_normalize(types, attrs):
    reps = attrs["reps"]
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    if any(not isinstance(r, (int, np.integer)) or r < 0 for r in reps):
        raise ShapeError(f"tile: reps must be non-negative ints, got {attrs['reps']!r}")
    nd = max(types[0].ndim, len(reps))
    attrs["reps"] = (1,) * (nd - len(reps)) + tuple(int(r) for r in reps)
    return attrs


def _scaled(d, r):
    if r == 1:
        return d
    return d * r if isinstance(d, int) else (0 if r == 0 else None)


def _tile_infer(types, reps=()):
    x = types[0]
    shape = (1,) * (len(reps) - x.ndim) + x.shape
    return TensorType(x.dtype, tuple(_scaled(d, r) for d, r in zip(shape, reps)))


def runtime_dims(x, dims):
    """An int64 vector Value of ``dims``: ints, or ``(value, axis)`` for a run-time size."""
    pieces = []
    for d in dims:
        if isinstance(d, tuple):
            v, axis = d
            pieces.append(apply("gather", apply("shape", v),
                                constant(np.asarray([axis], dtype=np.int64)), axis=0))
        else:
            pieces.append(constant(np.asarray([d], dtype=np.int64)))
    return pieces[0] if len(pieces) == 1 else apply("concatenate", *pieces, axis=0)


def _tile_grad(node, gouts):
    # out = x tiled: view g as (r0, d0, r1, d1, ...) and sum over the r axes
    x, g, reps = node.inputs[0], gouts[0], node.attrs["reps"]
    lead = len(reps) - x.ndim
    dims = []
    for i, r in enumerate(reps):
        d = 1 if i < lead else x.shape[i - lead]
        dims += [r, d if isinstance(d, int) else (x, i - lead)]
    if all(isinstance(d, int) for d in dims):
        split = apply("reshape", g, shape=tuple(dims))
    else:
        split = apply("reshape", g, runtime_dims(x, dims))
    total = apply("sum", split, axes=tuple(range(0, 2 * len(reps), 2)))
    return [like(total, x) if lead == 0 else apply("reshape_like", total, x)]


defop("tile", infer=_tile_infer, reference=lambda x, reps=(): np.tile(x, reps),
      grad=_tile_grad, kind="shape", defaults={"reps": ()}, normalize=_tile_normalize,
      doc="numpy.tile / Keras K.tile: repeat the whole tensor reps[i] times along axis i.")


def _repeat_normalize(types, attrs):
    r = attrs["repeats"]
    if not isinstance(r, (int, np.integer)) or isinstance(r, bool) or r < 0:
        raise ShapeError(f"repeat: repeats must be a non-negative int (as Keras "
                         f"K.repeat_elements), got {r!r}")
    attrs["repeats"] = int(r)
    if attrs["axis"] is not None:
        attrs["axis"] = normalize_axis(int(attrs["axis"]), types[0].ndim, "repeat")
    return attrs


def _repeat_infer(types, repeats=1, axis=None):
    x = types[0]
    if axis is None:
        size = int(np.prod(x.shape)) if x.static else None
        return TensorType(x.dtype, (_scaled(size, repeats),))
    return TensorType(x.dtype, tuple(_scaled(d, repeats) if i == axis else d
                                     for i, d in enumerate(x.shape)))


def _repeat_grad(node, gouts):
    # the k-th copy of every element sits at k, k+r, k+2r, ...: sum those r strided slices
    x, g = node.inputs[0], gouts[0]
    r, axis = node.attrs["repeats"], node.attrs["axis"]
    if axis is None:
        axis = 0
    if r == 0:
        return [zeros_like(x)]
    total = None
    for k in range(r):
        part = apply("slice", g, **axis_slice_attrs(g.ndim, axis, k, None, r))
        total = part if total is None else apply("add", total, part)
    return [like(total, x)]


defop("repeat", infer=_repeat_infer,
      reference=lambda x, repeats=1, axis=None: np.repeat(x, repeats, axis=axis),
      grad=_repeat_grad, kind="shape", defaults={"repeats": 1, "axis": None},
      normalize=_repeat_normalize,
      doc="numpy.repeat with an int count / Keras K.repeat_elements: each element repeated "
          "`repeats` times along axis (None = flattened first).")


# -- pad ---------------------------------------------------------------------------------------

_PAD_MODES = ("constant", "reflect", "symmetric")


def _pad_normalize(types, attrs):
    t = types[0]
    pads = attrs["pads"]
    mode = attrs["mode"]
    if mode not in _PAD_MODES:
        raise ShapeError(f"pad: mode must be one of {', '.join(map(repr, _PAD_MODES))}, got "
                         f"{mode!r}")
    try:
        if isinstance(pads, (int, np.integer)):
            pads = ((int(pads), int(pads)),) * t.ndim
        elif len(pads) == 2 and all(isinstance(p, (int, np.integer)) for p in pads):
            pads = ((int(pads[0]), int(pads[1])),) * t.ndim
        else:
            pads = tuple((int(b), int(a)) for b, a in pads)
    except (TypeError, ValueError):
        raise ShapeError(f"pad: pads must be one (before, after) pair per axis, got "
                         f"{attrs['pads']!r}") from None
    if len(pads) != t.ndim:
        raise ShapeError(f"pad: {len(pads)} (before, after) pairs given for a tensor of rank "
                         f"{t.ndim} {shape_str(t.shape)}; give one pair per axis")
    if any(b < 0 or a < 0 for b, a in pads):
        raise ShapeError(f"pad: pads must be non-negative, got {pads}")
    for axis, ((b, a), d) in enumerate(zip(pads, t.shape)):
        limit = {"reflect": 1, "symmetric": 0}.get(mode)
        if limit is not None and isinstance(d, int) and max(b, a) > d - limit:
            raise ShapeError(f"pad: {mode} padding of axis {axis} by {(b, a)} needs a size "
                             f"of at least {max(b, a) + limit}, got {d} in "
                             f"{shape_str(t.shape)}")
    attrs.update(pads=pads, constant_value=float(attrs["constant_value"]))
    return attrs


def _pad_infer(types, pads=(), mode="constant", constant_value=0.0):
    t = types[0]
    return TensorType(t.dtype, tuple(d + b + a if isinstance(d, int) else
                                     (d if b + a == 0 else None)
                                     for d, (b, a) in zip(t.shape, pads)))


def _pad_ref(x, pads=(), mode="constant", constant_value=0.0):
    if mode == "constant":
        return np.pad(x, pads, mode="constant", constant_values=constant_value)
    return np.pad(x, pads, mode=mode)


def _pad_grad(node, gouts):
    x, g = node.inputs[0], gouts[0]
    pads, mode = node.attrs["pads"], node.attrs["mode"]
    nd = x.ndim
    if mode == "constant":
        g = apply("slice", g, begin=tuple(b for b, a in pads),
                  end=tuple(-a if a else None for b, a in pads), step=(1,) * nd)
        return [like(g, x)]
    # reflect / symmetric pad one axis after another, so undo them in reverse order: the
    # centre is x's part and each mirrored border is folded back onto the rows it copied
    shift = 1 if mode == "reflect" else 0
    for axis in reversed(range(nd)):
        b, a = pads[axis]
        if not b and not a:
            continue
        centre = apply("slice", g, **axis_slice_attrs(nd, axis, b, -a if a else None))
        out = centre
        if b:
            left = apply("reverse", apply("slice", g, **axis_slice_attrs(nd, axis, 0, b)),
                         axes=(axis,))
            out = apply("add", out, apply("slice_grad", left, centre,
                                          **axis_slice_attrs(nd, axis, shift, b + shift)))
        if a:
            right = apply("reverse", apply("slice", g, **axis_slice_attrs(nd, axis, -a, None)),
                          axes=(axis,))
            stop = -shift if shift else None
            out = apply("add", out, apply("slice_grad", right, centre,
                                          **axis_slice_attrs(nd, axis, -a - shift, stop)))
        g = out
    return [like(g, x)]


defop("pad", infer=_pad_infer, reference=_pad_ref, grad=_pad_grad, kind="shape",
      defaults={"pads": (), "mode": "constant", "constant_value": 0.0},
      normalize=_pad_normalize,
      doc="Pad each axis by (before, after): mode 'constant' (with constant_value), 'reflect' "
          "(mirror without the edge) or 'symmetric' (mirror with the edge), as numpy.pad.")


# -- helpers built from the ops above ------------------------------------------------------------

def getitem(x, key):
    """``x[key]`` for a symbolic tensor: numpy basic indexing built from slice/squeeze/expand_dims.

    Supports ints (negative too), slices (negative bounds and steps), ``None`` /
    ``np.newaxis`` and ``Ellipsis``, alone or in a tuple. A 1-D list or int tensor as the whole
    key gathers along axis 0.

    Args:
        x: a Value.
        key: the index.
    Returns:
        The indexed Value.

    Example:
        >>> y = x[:, -1]        # (B, T, D) -> (B, D)
        >>> z = x[..., None]    # (B, D) -> (B, D, 1)
    """
    if isinstance(key, Value) or isinstance(key, (list, np.ndarray)):
        idx = key if isinstance(key, Value) else constant(np.asarray(key))
        if not is_int(idx.dtype):
            raise TypeError(f"indexing with a {idx.dtype} array is not supported; use int "
                            f"indices (K.gather) or K.switch / where for masks")
        return apply("gather", x, idx, axis=0)
    key = key if isinstance(key, tuple) else (key,)
    for k in key:
        if not (k is None or k is Ellipsis or isinstance(k, (slice, int, np.integer))) \
                or isinstance(k, bool):
            raise TypeError(f"unsupported index {k!r} of type {type(k).__name__}: symbolic "
                            f"tensors take ints, slices, None and Ellipsis (use K.gather for "
                            f"index arrays)")
    if sum(k is Ellipsis for k in key) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(1 for k in key if k is not None and k is not Ellipsis)
    if used > x.ndim:
        raise IndexError(f"too many indices for a tensor of rank {x.ndim} {x.type}: {used} "
                         f"were indexed")
    if Ellipsis in key:
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (x.ndim - used) + key[i + 1:]
    else:
        key = key + (slice(None),) * (x.ndim - used)
    begin, end, step, drop, new = [], [], [], [], []
    axis = out_axis = 0
    for k in key:
        if k is None:
            new.append(out_axis)
            out_axis += 1
            continue
        d = x.shape[axis]
        if isinstance(k, slice):
            begin.append(k.start)
            end.append(k.stop)
            step.append(1 if k.step is None else k.step)
            out_axis += 1
        else:
            k = int(k)
            if isinstance(d, int) and not -d <= k < d:
                raise IndexError(f"index {k} is out of bounds for axis {axis} with size {d} "
                                 f"(tensor {x.type})")
            begin.append(k)
            end.append(k + 1 if k != -1 else None)
            step.append(1)
            drop.append(axis)
        axis += 1
    out = x
    if any(b not in (None, 0) or e is not None or s != 1 for b, e, s in zip(begin, end, step)):
        out = apply("slice", out, begin=tuple(begin), end=tuple(end), step=tuple(step))
    if drop:
        out = apply("squeeze", out, axis=tuple(drop))
    for a in new:
        out = apply("expand_dims", out, axis=a)
    return out


def split(x, num_or_sizes, axis=0):
    """Split ``x`` along ``axis`` into equal parts or parts of the given sizes.

    Args:
        x: a Value whose ``axis`` has a static size.
        num_or_sizes: the number of equal parts, or a list of sizes.
        axis: the axis to split.
    Returns:
        A list of Values.

    Example:
        >>> a, b = split(x, [3, 5], axis=1)   # (B, 8) -> (B, 3), (B, 5)
    """
    axis = normalize_axis(axis, x.ndim, "split")
    n = x.shape[axis]
    if not isinstance(n, int):
        raise ShapeError(f"split: axis {axis} of {x.type} must have a static size")
    if isinstance(num_or_sizes, (int, np.integer)):
        if num_or_sizes <= 0 or n % num_or_sizes:
            raise ShapeError(f"split: cannot split axis {axis} of size {n} into "
                             f"{num_or_sizes} equal parts")
        sizes = [n // int(num_or_sizes)] * int(num_or_sizes)
    else:
        sizes = [int(s) for s in num_or_sizes]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise ShapeError(f"split: sizes {sizes} do not add up to the size {n} of axis "
                             f"{axis} of {x.type}")
    out, start = [], 0
    for s in sizes:
        out.append(apply("slice", x, **axis_slice_attrs(x.ndim, axis, start, start + s)))
        start += s
    return out


def unstack(x, axis=0):
    """The slices of ``x`` along ``axis`` (static size) with that axis removed.

    Args:
        x: a Value whose ``axis`` has a static size.
        axis: the axis to take apart.
    Returns:
        A list of ``x.shape[axis]`` Values of rank ``x.ndim - 1``.

    Example:
        >>> steps = unstack(x, axis=1)   # (B, T, D) -> T tensors of shape (B, D)
    """
    axis = normalize_axis(axis, x.ndim, "unstack")
    n = x.shape[axis]
    if not isinstance(n, int):
        raise ShapeError(f"unstack: axis {axis} of {x.type} must have a static size")
    return [apply("squeeze", p, axis=(axis,)) for p in split(x, n, axis)]
