"""NN ops: convolutions, pooling and ``bias_add`` with Keras 2 / TensorFlow semantics.

Conventions (those of Keras 2's TensorFlow backend):

* ``data_format`` is ``'channels_last'`` (N, *spatial, C) or ``'channels_first'`` (N, C,
  *spatial); the references work channels-last and move the channel axis at the edges.
* Kernels: ``conv1d`` (k, in, out); ``conv2d`` (kh, kw, in, out); ``depthwise_conv2d``
  (kh, kw, in, multiplier) giving ``in * multiplier`` output channels ordered ``c * mult + m``;
  ``conv2d_transpose`` (kh, kw, out, in), the kernel of the conv2d it is the transpose of.
* ``padding='valid'``: no padding, ``out = ceil((n - eff + 1) / stride)`` where
  ``eff = (k - 1) * dilation + 1``. ``'same'``: ``out = ceil(n / stride)``, the total padding
  ``max((out - 1) * stride + eff - n, 0)`` split with the extra element at the end (bottom /
  right). ``'causal'`` (conv1d only): ``eff - 1`` zeros at the start.
* ``avg_pool`` with ``'same'`` padding averages over the valid (unpadded) elements only.

Gradients are ordinary IR built from the helper ops defined here, each a registered op with its
own reference and gradient, so second (and higher) order gradients work:

* ``<conv>_backprop_input(x_like, k, g)`` -- the vector-Jacobian product of ``<conv>`` w.r.t.
  its input; ``x_like`` only supplies the run-time shape (it gets no gradient). It is linear in
  ``k`` and in ``g``: its gradients are ``<conv>_backprop_filter`` and ``<conv>`` itself.
* ``<conv>_backprop_filter(x, k_like, g)`` -- the VJP w.r.t. the kernel; ``k_like`` supplies
  the kernel shape. Its gradients are ``<conv>_backprop_input`` and ``<conv>``.
* ``conv2d_transpose(x, k)`` computes ``conv2d_backprop_input`` for a given output size.
* ``max_pool<r>_grad(x, g)`` routes ``g`` to the first maximum of each window (TF); its
  gradient w.r.t. ``g`` is ``max_pool<r>_grad_grad(x, h)``, which picks ``h`` at those
  positions (and whose gradient is ``max_pool<r>_grad`` again). Both give no gradient w.r.t.
  ``x``: they are piecewise constant in it.
* ``avg_pool<r>_grad(x_like, g)`` spreads ``g`` over each window; its gradient is
  ``avg_pool<r>`` (the op is linear, the two are each other's transpose).
* ``bias_add_grad(g)`` sums ``g`` to the bias shape; its gradient is a ``bias_add`` onto zeros.
"""
from __future__ import annotations

import itertools

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..types import ShapeError, TensorType, dim_str, dims_compatible, is_float, known, \
    result_dtype, shape_str
from . import REGISTRY, apply, as_value, defop
from .core import zeros_like

DATA_FORMATS = ("channels_last", "channels_first")
PADDINGS = ("valid", "same")
CONV1D_PADDINGS = ("valid", "same", "causal")


# -- attribute checking -------------------------------------------------------------------------

def _choice(op: str, name: str, value, choices) -> str:
    if value not in choices:
        raise ShapeError(f"{op}: {name} must be one of {', '.join(repr(c) for c in choices)}, "
                         f"got {value!r}")
    return value


def _int_tuple(op: str, name: str, value, rank: int) -> tuple:
    """An int or a sequence of ``rank`` ints (each >= 1) as a tuple of ``rank`` ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value),) * rank
    try:
        out = tuple(int(v) for v in value)
        ok = len(out) == rank and all(v >= 1 and v == w for v, w in zip(out, value))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ShapeError(f"{op}: {name} must be a positive int or a tuple of {rank} positive "
                         f"ints, got {value!r}")
    return out


def _check_rank(op: str, t: TensorType, rank: int, what: str, layout: str):
    if t.ndim != rank:
        raise ShapeError(f"{op}: the {what} must have rank {rank} ({layout}), got "
                         f"{shape_str(t.shape)}")


def _check_float(op: str, *types):
    for t in types:
        if not is_float(t.dtype):
            raise ShapeError(f"{op}: expects float tensors, got {t.dtype}{shape_str(t.shape)}")


# -- geometry ------------------------------------------------------------------------------------

def effective_size(k: int, dilation: int = 1) -> int:
    """The extent of a dilated window: ``(k - 1) * dilation + 1``.

    Example:
        >>> effective_size(3, dilation=2)
        5
    """
    return (k - 1) * dilation + 1


def conv_output_length(n, k: int, stride: int = 1, padding: str = "valid", dilation: int = 1):
    """Output length of a convolution or pooling along one axis (TensorFlow's rule).

    Args:
        n: input length: an int, or a symbol / None when unknown until run time.
        k: window (kernel or pool) size.
        stride, dilation: ints >= 1.
        padding: 'valid', 'same' or 'causal'.
    Returns:
        An int; ``n`` itself for a symbolic ``n`` when the length is provably unchanged
        ('same'/'causal' with stride 1); None otherwise when ``n`` is not static. A 'valid'
        window larger than the input gives 0 (callers report it).

    Example:
        >>> conv_output_length(5, 3, stride=2, padding="same")
        3
    """
    if not known(n):
        return n if padding in ("same", "causal") and stride == 1 else None
    if padding == "valid":
        return max((n - effective_size(k, dilation)) // stride + 1, 0)
    return -(-n // stride)


def conv_pads(n: int, k: int, stride: int = 1, padding: str = "valid", dilation: int = 1):
    """``(before, after)`` zero padding of one axis for a static length ``n`` (TF's split:
    the odd element goes after, i.e. to the bottom / right).

    Args:
        n: static input length; k, stride, dilation: ints >= 1;
        padding: 'valid', 'same' or 'causal'.
    Returns:
        A pair of ints.

    Example:
        >>> conv_pads(4, 2, padding="same")
        (0, 1)
    """
    eff = effective_size(k, dilation)
    if padding == "valid":
        return (0, 0)
    if padding == "causal":
        return (eff - 1, 0)
    out = -(-n // stride)
    total = max((out - 1) * stride + eff - n, 0)
    return (total // 2, total - total // 2)


def deconv_length(n, k: int, stride: int = 1, padding: str = "valid", dilation: int = 1):
    """Output length of a transposed convolution (Keras 2's ``deconv_length``).

    Args:
        n: input length (int, or a symbol / None); k, stride, dilation: ints >= 1;
        padding: 'valid' or 'same'.
    Returns:
        An int, or None (the symbol itself for stride 1 with 'same') when ``n`` is not static.

    Example:
        >>> deconv_length(4, 3, stride=2, padding="valid")
        9
    """
    if not known(n):
        return n if stride == 1 and padding == "same" else None
    eff = effective_size(k, dilation)
    if padding == "valid":
        return n * stride + max(eff - stride, 0)
    return n * stride


def _split(shape, data_format):
    """(batch, spatial tuple, channels) of a shape in ``data_format``."""
    if data_format == "channels_last":
        return shape[0], tuple(shape[1:-1]), shape[-1]
    return shape[0], tuple(shape[2:]), shape[1]


def _join(batch, spatial, channels, data_format):
    if data_format == "channels_last":
        return (batch,) + tuple(spatial) + (channels,)
    return (batch, channels) + tuple(spatial)


def _spatial_out(op, x, spatial, window, strides, dilation, padding, what, wtype=None):
    """Output spatial dims; ShapeError when a 'valid' window does not fit the input."""
    out = []
    for n, k, s, d in zip(spatial, window, strides, dilation):
        eff = effective_size(k, d)
        if padding == "valid" and known(n) and eff > n:
            wdesc = f" {wtype}" if wtype is not None else ""
            dil = f" (dilated to {eff})" if d > 1 else ""
            raise ShapeError(
                f"{op}: the {what}{wdesc} of size {tuple(window)}{dil} is larger than the "
                f"input {x} (spatial {shape_str(spatial)}) with padding='valid'; use "
                f"padding='same' or a smaller {what}")
        out.append(conv_output_length(n, k, s, padding, d))
    return tuple(out)


# -- numpy kernels (channels-last, any number of spatial axes) ------------------------------------

def _to_last(x, data_format):
    return np.moveaxis(x, 1, -1) if data_format == "channels_first" else x


def _from_last(y, data_format):
    if data_format == "channels_first":
        y = np.moveaxis(y, -1, 1)
    return np.ascontiguousarray(y)


class _Geometry:
    """Window geometry of one convolution / pooling for a static channels-last input shape."""

    def __init__(self, spatial, window, strides, dilation, padding):
        self.spatial = tuple(spatial)
        self.window = tuple(window)
        self.strides = tuple(strides)
        self.dilation = tuple(dilation)
        self.eff = tuple(effective_size(k, d) for k, d in zip(window, dilation))
        self.out = tuple(conv_output_length(n, k, s, padding, d)
                         for n, k, s, d in zip(spatial, window, strides, dilation))
        self.pads = tuple(conv_pads(n, k, s, padding, d)
                          for n, k, s, d in zip(spatial, window, strides, dilation))
        self.padded = tuple(n + lo + hi for n, (lo, hi) in zip(spatial, self.pads))
        if any(o <= 0 for o in self.out):
            raise ValueError(f"window {self.window} (effective {self.eff}) does not fit the "
                             f"input of spatial size {self.spatial} with padding={padding!r}")

    def pad(self, x, value=0):
        if not any(lo or hi for lo, hi in self.pads):
            return x
        return np.pad(x, [(0, 0)] + list(self.pads) + [(0, 0)], constant_values=value)

    def crop(self, xp):
        idx = tuple(slice(lo, lo + n) for (lo, _), n in zip(self.pads, self.spatial))
        return np.ascontiguousarray(xp[(slice(None),) + idx])

    def windows(self, xp):
        """View (N, *out, C, *window) of the padded input (strided and dilated)."""
        r = len(self.spatial)
        w = sliding_window_view(xp, self.eff, axis=tuple(range(1, r + 1)))
        idx = ((slice(None),) + tuple(slice(0, o * s, s) for o, s in zip(self.out, self.strides))
               + (slice(None),) + tuple(slice(None, None, d) for d in self.dilation))
        return w[idx]

    def taps(self):
        """(window position, slice of the padded input it reads at every output position)."""
        for tap in itertools.product(*[range(k) for k in self.window]):
            idx = tuple(slice(t * d, t * d + s * (o - 1) + 1, s)
                        for t, d, s, o in zip(tap, self.dilation, self.strides, self.out))
            yield tap, (slice(None),) + idx


def _conv_forward(x, k, geo):
    """x (N, *S, C), k (*K, C, O) -> (N, *out, O): im2col view contracted with the kernel."""
    r = len(geo.spatial)
    w = geo.windows(geo.pad(x))
    return np.tensordot(w, k, axes=(list(range(r + 1, 2 * r + 2)), [r] + list(range(r))))


def _conv_backprop_input(xshape, k, g, geo, dtype):
    """Transpose of _conv_forward w.r.t. x: scatter g @ k[tap].T into each tap's positions."""
    dxp = np.zeros((xshape[0],) + geo.padded + (xshape[-1],), dtype=dtype)
    for tap, idx in geo.taps():
        dxp[idx] += np.matmul(g, k[tap].T)
    return geo.crop(dxp)


def _conv_backprop_filter(x, g, geo):
    r = len(geo.spatial)
    w = geo.windows(geo.pad(x))                           # (N, *out, C, *K)
    dk = np.tensordot(w, g, axes=(list(range(r + 1)), list(range(r + 1))))  # (C, *K, O)
    return np.ascontiguousarray(np.moveaxis(dk, 0, r))


def _depthwise_forward(x, k, geo):
    """x (N, *S, C), k (*K, C, M) -> (N, *out, C * M)."""
    xp = geo.pad(x)
    c, m = k.shape[-2:]
    out = np.zeros((x.shape[0],) + geo.out + (c, m), dtype=np.result_type(x, k))
    for tap, idx in geo.taps():
        out += xp[idx][..., None] * k[tap]
    return out.reshape(out.shape[:-2] + (c * m,))


def _depthwise_backprop_input(xshape, k, g, geo, dtype):
    c, m = k.shape[-2:]
    g = g.reshape(g.shape[:-1] + (c, m))
    dxp = np.zeros((xshape[0],) + geo.padded + (c,), dtype=dtype)
    for tap, idx in geo.taps():
        dxp[idx] += np.einsum("...cm,cm->...c", g, k[tap])
    return geo.crop(dxp)


def _depthwise_backprop_filter(x, kshape, g, geo):
    c, m = kshape[-2:]
    g = g.reshape(g.shape[:-1] + (c, m))
    xp = geo.pad(x)
    dk = np.zeros(tuple(kshape), dtype=np.result_type(x, g))
    for tap, idx in geo.taps():
        dk[tap] = np.einsum("pc,pcm->cm", xp[idx].reshape(-1, c), g.reshape(-1, c, m))
    return dk


# -- convolution ops -----------------------------------------------------------------------------

_KERNELS = {
    "conv1d": (_conv_forward, _conv_backprop_input, _conv_backprop_filter, "(k, in, out)"),
    "conv2d": (_conv_forward, _conv_backprop_input, _conv_backprop_filter,
               "(kh, kw, in, out)"),
    "depthwise_conv2d": (_depthwise_forward, _depthwise_backprop_input,
                         _depthwise_backprop_filter, "(kh, kw, in, multiplier)"),
}


def _conv_normalize(op, rank, paddings):
    def normalize(types, attrs):
        attrs["strides"] = _int_tuple(op, "strides", attrs["strides"], rank)
        attrs["dilation"] = _int_tuple(op, "dilation", attrs["dilation"], rank)
        attrs["padding"] = _choice(op, "padding", attrs["padding"], paddings)
        attrs["data_format"] = _choice(op, "data_format", attrs["data_format"], DATA_FORMATS)
        return attrs
    return normalize


def _conv_out_type(op, rank, x, k, strides, padding, dilation, data_format):
    """The output type of conv ``op`` on input type ``x`` and kernel type ``k``."""
    layout = _KERNELS[op][3]
    xl = "(batch, " + ("spatial, channels)" if data_format == "channels_last"
                       else "channels, spatial)")
    _check_rank(op, x, rank + 2, "input", f"{xl} for data_format={data_format!r}")
    _check_rank(op, k, rank + 2, "kernel", layout)
    _check_float(op, x, k)
    batch, spatial, chans = _split(x.shape, data_format)
    window, kin, kout = k.shape[:rank], k.shape[rank], k.shape[rank + 1]
    if not all(known(d) for d in window):
        raise ShapeError(f"{op}: the kernel's spatial size must be static, got {k}")
    if not dims_compatible(chans, kin):
        raise ShapeError(
            f"{op}: the input {x} has {dim_str(chans)} channels (data_format={data_format!r}) "
            f"but the kernel {k} (layout {layout}) expects {dim_str(kin)} input channels")
    out = _spatial_out(op, x, spatial, window, strides, dilation, padding, "kernel", k)
    if op == "depthwise_conv2d":
        kin = chans if known(chans) else kin
        kout = kin * kout if known(kin) and known(kout) else None
    return TensorType(result_dtype(x.dtype, k.dtype), _join(batch, out, kout, data_format))


def _geometry(rank, xshape_last, kshape, strides, padding, dilation):
    return _Geometry(xshape_last[1:-1], kshape[:rank], strides, dilation, padding)


def _window(op, kernel) -> int:
    """Multiply-adds per output element: the window times the input channels of a
    convolution's kernel, the window alone for a depthwise one (no channel sum)."""
    if op.startswith("depthwise"):
        return int(np.prod(kernel.shape[:-2]))
    return kernel.size // max(kernel.shape[-1], 1)


def _conv_cost(op):
    """FLOPs of ``op`` (or of either gradient when ``op`` is one): 2 per multiply-add, over
    the output's elements -- for a gradient, the incoming gradient's (its third input)."""
    base = op.split("_backprop")[0]
    if "_backprop" in op:
        return lambda node, ins, outs: 2 * ins[2].size * _window(base, ins[1])
    return lambda node, ins, outs: 2 * max((o.size for o in outs), default=0) * \
        _window(base, ins[1])


def _def_conv_family(op, rank, paddings):
    """Define ``op``, ``op_backprop_input`` and ``op_backprop_filter``."""
    fwd, bwd_in, bwd_k, layout = _KERNELS[op]
    bpi, bpf = f"{op}_backprop_input", f"{op}_backprop_filter"
    defaults = {"strides": 1, "padding": "valid", "dilation": 1, "data_format": "channels_last"}
    normalize = _conv_normalize(op, rank, paddings)

    def conv_infer(types, strides, padding, dilation, data_format):
        if len(types) != 2:
            raise ShapeError(f"{op}: takes 2 inputs (x, kernel), got {len(types)}")
        return _conv_out_type(op, rank, types[0], types[1], strides, padding, dilation,
                              data_format)

    def conv_ref(x, k, strides, padding, dilation, data_format):
        xl = _to_last(x, data_format)
        geo = _geometry(rank, xl.shape, k.shape, strides, padding, dilation)
        y = fwd(xl, k, geo).astype(np.result_type(x, k), copy=False)
        return _from_last(y, data_format)

    def conv_grad(node, gouts):
        x, k = node.inputs
        g = gouts[0]
        return [apply(bpi, x, k, g, **node.attrs), apply(bpf, x, k, g, **node.attrs)]

    def bpi_infer(types, strides, padding, dilation, data_format):
        if len(types) != 3:
            raise ShapeError(f"{bpi}: takes 3 inputs (x_like, kernel, grad), got {len(types)}")
        x, k, g = types
        expect = _conv_out_type(op, rank, x, k, strides, padding, dilation, data_format)
        _check_grad_shape(bpi, g, expect)
        return TensorType(result_dtype(k.dtype, g.dtype), x.shape)

    def bpi_ref(x, k, g, strides, padding, dilation, data_format):
        xl = _to_last(x, data_format)
        geo = _geometry(rank, xl.shape, k.shape, strides, padding, dilation)
        dtype = np.result_type(k, g)
        return _from_last(bwd_in(xl.shape, k, _to_last(g, data_format), geo, dtype),
                          data_format)

    def bpi_grad(node, gouts):
        x, k, g = node.inputs
        h = gouts[0]
        return [None, apply(bpf, h, k, g, **node.attrs), apply(op, h, k, **node.attrs)]

    def bpf_infer(types, strides, padding, dilation, data_format):
        if len(types) != 3:
            raise ShapeError(f"{bpf}: takes 3 inputs (x, kernel_like, grad), got {len(types)}")
        x, k, g = types
        expect = _conv_out_type(op, rank, x, k, strides, padding, dilation, data_format)
        _check_grad_shape(bpf, g, expect)
        return TensorType(result_dtype(x.dtype, g.dtype), k.shape)

    def bpf_ref(x, k, g, strides, padding, dilation, data_format):
        xl = _to_last(x, data_format)
        geo = _geometry(rank, xl.shape, k.shape, strides, padding, dilation)
        gl = _to_last(g, data_format)
        if op == "depthwise_conv2d":
            dk = bwd_k(xl, k.shape, gl, geo)
        else:
            dk = bwd_k(xl, gl, geo)
        return dk.astype(np.result_type(x, g), copy=False)

    def bpf_grad(node, gouts):
        x, k, g = node.inputs
        h = gouts[0]
        return [apply(bpi, x, h, g, **node.attrs), None, apply(op, x, h, **node.attrs)]

    pads = " | ".join(repr(p) for p in paddings)
    defop(op, infer=conv_infer, reference=conv_ref, grad=conv_grad, kind="nn",
          defaults=defaults, normalize=normalize, cost=_conv_cost(op),
          doc=f"{op}(x, kernel) {{strides, padding {pads}, dilation, data_format}}; "
              f"kernel layout {layout}.")
    defop(bpi, infer=bpi_infer, reference=bpi_ref, grad=bpi_grad, kind="nn",
          defaults=defaults, normalize=normalize, cost=_conv_cost(bpi),
          doc=f"{bpi}(x_like, kernel, grad): the gradient of {op} w.r.t. its input (x_like "
              f"gives the shape only).")
    defop(bpf, infer=bpf_infer, reference=bpf_ref, grad=bpf_grad, kind="nn",
          defaults=defaults, normalize=normalize, cost=_conv_cost(bpf),
          doc=f"{bpf}(x, kernel_like, grad): the gradient of {op} w.r.t. its kernel "
              f"(kernel_like gives the shape only).")


def _check_grad_shape(op, g: TensorType, expect: TensorType):
    if g.ndim != expect.ndim or not all(dims_compatible(a, b)
                                        for a, b in zip(g.shape, expect.shape)):
        raise ShapeError(f"{op}: the gradient {g} does not match the forward output shape "
                         f"{shape_str(expect.shape)}")


_def_conv_family("conv1d", 1, CONV1D_PADDINGS)
_def_conv_family("conv2d", 2, PADDINGS)
_def_conv_family("depthwise_conv2d", 2, PADDINGS)


# -- conv2d_transpose ----------------------------------------------------------------------------

def _ct_normalize(types, attrs):
    op = "conv2d_transpose"
    attrs = _conv_normalize(op, 2, PADDINGS)(types, attrs)
    shape = attrs.get("output_shape")
    if shape is not None:
        try:
            shape = tuple(None if d is None else int(d) for d in shape)
        except (TypeError, ValueError):
            raise ShapeError(f"{op}: output_shape must be a tuple of ints (batch may be None), "
                             f"got {shape!r}") from None
        if len(shape) == 4:
            batch, spatial, chans = _split(shape, attrs["data_format"])
            if len(types) == 2 and types[1].ndim == 4 and chans is not None \
                    and not dims_compatible(chans, types[1].shape[2]):
                raise ShapeError(
                    f"{op}: output_shape {shape} has {chans} channels but the kernel "
                    f"{types[1]} (layout (kh, kw, out, in)) produces {types[1].shape[2]}")
            shape = spatial
        if len(shape) != 2 or any(d is not None and d < 1 for d in shape):
            raise ShapeError(f"{op}: output_shape must be (height, width) or the full output "
                             f"shape (batch, ..., channels) in data_format order, got "
                             f"{attrs['output_shape']!r}")
        # None entries: Keras 2's deconv_length of that axis
        attrs["output_shape"] = None if all(d is None for d in shape) else shape
    return attrs


def _ct_spatial(spatial, window, strides, padding, dilation, output_shape):
    given = output_shape or (None,) * len(spatial)
    return tuple(deconv_length(n, k, s, padding, d) if o is None else o
                 for o, n, k, s, d in zip(given, spatial, window, strides, dilation))


def _ct_infer(types, output_shape, strides, padding, dilation, data_format):
    op = "conv2d_transpose"
    if len(types) != 2:
        raise ShapeError(f"{op}: takes 2 inputs (x, kernel), got {len(types)}")
    x, k = types
    xl = "(batch, " + ("h, w, channels)" if data_format == "channels_last"
                       else "channels, h, w)")
    _check_rank(op, x, 4, "input", f"{xl} for data_format={data_format!r}")
    _check_rank(op, k, 4, "kernel", "(kh, kw, out, in)")
    _check_float(op, x, k)
    batch, spatial, chans = _split(x.shape, data_format)
    window = k.shape[:2]
    if not all(known(d) for d in window):
        raise ShapeError(f"{op}: the kernel's spatial size must be static, got {k}")
    if not dims_compatible(chans, k.shape[3]):
        raise ShapeError(
            f"{op}: the input {x} has {dim_str(chans)} channels (data_format={data_format!r}) "
            f"but the kernel {k} (layout (kh, kw, out, in)) expects {dim_str(k.shape[3])}")
    out = _ct_spatial(spatial, window, strides, padding, dilation, output_shape)
    # The conv2d this op transposes must map the output size back to the input size.
    back = [conv_output_length(n, kk, s, padding, d)
            for n, kk, s, d in zip(out, window, strides, dilation)]
    if any(known(b) and known(n) and b != n for b, n in zip(back, spatial)):
        raise ShapeError(
            f"{op}: output_shape {shape_str(out)} is inconsistent with the input {x}: a conv2d "
            f"with kernel {window}, strides {strides}, padding={padding!r} maps it to "
            f"{shape_str(back)}, not {shape_str(spatial)}")
    return TensorType(result_dtype(x.dtype, k.dtype), _join(batch, out, k.shape[2], data_format))


def _ct_ref(x, k, output_shape, strides, padding, dilation, data_format):
    xl = _to_last(x, data_format)
    out = _ct_spatial(xl.shape[1:-1], k.shape[:2], strides, padding, dilation, output_shape)
    yshape = (x.shape[0],) + out + (k.shape[2],)
    geo = _Geometry(out, k.shape[:2], strides, dilation, padding)
    if geo.out != tuple(xl.shape[1:-1]):
        raise ValueError(f"conv2d_transpose: output spatial size {out} maps back to {geo.out} "
                         f"under conv2d, not to the input's {tuple(xl.shape[1:-1])}")
    y = _conv_backprop_input(yshape, k, xl, geo, np.result_type(x, k))
    return _from_last(y, data_format)


def _ct_grad(node, gouts):
    x, k = node.inputs
    g = gouts[0]
    a = {n: node.attrs[n] for n in ("strides", "padding", "dilation", "data_format")}
    # y = conv2d_backprop_input(y_like, k, x): linear in x and in k.
    return [apply("conv2d", g, k, **a), apply("conv2d_backprop_filter", g, k, x, **a)]


defop("conv2d_transpose", infer=_ct_infer, reference=_ct_ref, grad=_ct_grad, kind="nn",
      cost=lambda node, ins, outs: 2 * ins[0].size * _window("conv2d", ins[1]),
      defaults={"output_shape": None, "strides": 1, "padding": "valid", "dilation": 1,
                "data_format": "channels_last"},
      normalize=_ct_normalize,
      doc="conv2d_transpose(x, kernel) {output_shape (None: Keras 2's deconv_length), strides, "
          "padding, dilation, data_format}; kernel layout (kh, kw, out, in). The transpose "
          "(gradient w.r.t. the input) of conv2d with the same kernel and attributes.")


# -- pooling -------------------------------------------------------------------------------------

def _pool_normalize(op, rank):
    def normalize(types, attrs):
        attrs["pool_size"] = _int_tuple(op, "pool_size", attrs["pool_size"], rank)
        strides = attrs["strides"]
        attrs["strides"] = attrs["pool_size"] if strides is None else \
            _int_tuple(op, "strides", strides, rank)
        attrs["padding"] = _choice(op, "padding", attrs["padding"], PADDINGS)
        attrs["data_format"] = _choice(op, "data_format", attrs["data_format"], DATA_FORMATS)
        return attrs
    return normalize


def _pool_out_type(op, rank, x, pool_size, strides, padding, data_format):
    xl = "(batch, " + ("spatial, channels)" if data_format == "channels_last"
                       else "channels, spatial)")
    _check_rank(op, x, rank + 2, "input", f"{xl} for data_format={data_format!r}")
    batch, spatial, chans = _split(x.shape, data_format)
    out = _spatial_out(op, x, spatial, pool_size, strides, (1,) * rank, padding, "pool window")
    return TensorType(x.dtype, _join(batch, out, chans, data_format))


def _pool_geometry(xl, pool_size, strides, padding):
    return _Geometry(xl.shape[1:-1], pool_size, strides, (1,) * len(pool_size), padding)


def _lowest(dtype):
    return -np.inf if np.issubdtype(dtype, np.floating) else np.iinfo(dtype).min


def _max_argmax(xl, geo):
    """Index of the first maximum of every window, flattened over the window: (N, *out, C)."""
    w = geo.windows(geo.pad(xl, _lowest(xl.dtype)))
    w = w.reshape(w.shape[:len(geo.out) + 2] + (-1,))
    return np.argmax(w, axis=-1)


def _avg_counts(geo):
    """Number of valid (unpadded) elements in every window, shaped (1, *out, 1)."""
    counts = np.ones((), dtype=np.float64)
    for ax, (n, (lo, hi), k, s, o) in enumerate(zip(geo.spatial, geo.pads, geo.window,
                                                    geo.strides, geo.out)):
        ones = np.pad(np.ones(n), (lo, hi))
        c = sliding_window_view(ones, k)[0:o * s:s].sum(axis=-1)
        counts = np.multiply.outer(counts, c)
    return counts.reshape((1,) + geo.out + (1,))


def _def_pool_family(rank):
    mp, ap = f"max_pool{rank}d", f"avg_pool{rank}d"
    mpg, mpgg, apg = f"{mp}_grad", f"{mp}_grad_grad", f"{ap}_grad"
    defaults = {"pool_size": 2, "strides": None, "padding": "valid",
                "data_format": "channels_last"}

    def attrs_of(node):
        return dict(node.attrs)

    # max pooling
    def mp_infer(types, pool_size, strides, padding, data_format):
        if len(types) != 1:
            raise ShapeError(f"{mp}: takes 1 input, got {len(types)}")
        return _pool_out_type(mp, rank, types[0], pool_size, strides, padding, data_format)

    def ap_infer(types, pool_size, strides, padding, data_format):
        if len(types) != 1:
            raise ShapeError(f"{ap}: takes 1 input, got {len(types)}")
        _check_float(ap, types[0])
        return _pool_out_type(ap, rank, types[0], pool_size, strides, padding, data_format)

    def mp_ref(x, pool_size, strides, padding, data_format):
        xl = _to_last(x, data_format)
        geo = _pool_geometry(xl, pool_size, strides, padding)
        w = geo.windows(geo.pad(xl, _lowest(xl.dtype)))
        y = w.max(axis=tuple(range(rank + 2, 2 * rank + 2)))
        return _from_last(y, data_format)

    def mp_grad(node, gouts):
        return [apply(mpg, node.inputs[0], gouts[0], **attrs_of(node))]

    def two_in_infer(name, out_is_x):
        def infer(types, pool_size, strides, padding, data_format):
            if len(types) != 2:
                raise ShapeError(f"{name}: takes 2 inputs, got {len(types)}")
            x, g = types
            y = _pool_out_type(name, rank, x, pool_size, strides, padding, data_format)
            if out_is_x:
                _check_grad_shape(name, g, y)
                return TensorType(g.dtype, x.shape)
            _check_grad_shape(name, g, x)
            return TensorType(g.dtype, y.shape)
        return infer

    def mpg_ref(x, g, pool_size, strides, padding, data_format):
        xl, gl = _to_last(x, data_format), _to_last(g, data_format)
        geo = _pool_geometry(xl, pool_size, strides, padding)
        idx = _max_argmax(xl, geo)
        dxp = np.zeros((xl.shape[0],) + geo.padded + (xl.shape[-1],), dtype=g.dtype)
        zero = np.zeros((), dtype=g.dtype)
        for t, (_, sl) in enumerate(geo.taps()):
            dxp[sl] += np.where(idx == t, gl, zero)
        return _from_last(geo.crop(dxp), data_format)

    def mpg_grad(node, gouts):
        return [None, apply(mpgg, node.inputs[0], gouts[0], **attrs_of(node))]

    def mpgg_ref(x, h, pool_size, strides, padding, data_format):
        xl, hl = _to_last(x, data_format), _to_last(h, data_format)
        geo = _pool_geometry(xl, pool_size, strides, padding)
        idx = _max_argmax(xl, geo)
        w = geo.windows(geo.pad(hl))
        w = w.reshape(w.shape[:rank + 2] + (-1,))
        y = np.take_along_axis(w, idx[..., None], axis=-1)[..., 0]
        return _from_last(y, data_format)

    def mpgg_grad(node, gouts):
        return [None, apply(mpg, node.inputs[0], gouts[0], **attrs_of(node))]

    # average pooling
    def ap_ref(x, pool_size, strides, padding, data_format):
        xl = _to_last(x, data_format)
        geo = _pool_geometry(xl, pool_size, strides, padding)
        w = geo.windows(geo.pad(xl))
        s = w.sum(axis=tuple(range(rank + 2, 2 * rank + 2)))
        y = (s / _avg_counts(geo).astype(x.dtype)).astype(x.dtype, copy=False)
        return _from_last(y, data_format)

    def ap_grad(node, gouts):
        return [apply(apg, node.inputs[0], gouts[0], **attrs_of(node))]

    def apg_ref(x, g, pool_size, strides, padding, data_format):
        xl, gl = _to_last(x, data_format), _to_last(g, data_format)
        geo = _pool_geometry(xl, pool_size, strides, padding)
        gd = (gl / _avg_counts(geo).astype(g.dtype)).astype(g.dtype, copy=False)
        dxp = np.zeros((xl.shape[0],) + geo.padded + (xl.shape[-1],), dtype=g.dtype)
        for _, sl in geo.taps():
            dxp[sl] += gd
        return _from_last(geo.crop(dxp), data_format)

    def apg_grad(node, gouts):
        return [None, apply(ap, gouts[0], **attrs_of(node))]

    normalize = _pool_normalize(mp, rank)
    anorm = _pool_normalize(ap, rank)
    attrs_doc = "{pool_size, strides (None: pool_size), padding, data_format}"
    defop(mp, infer=mp_infer, reference=mp_ref, grad=mp_grad, kind="nn", defaults=defaults,
          normalize=normalize, doc=f"{mp}(x) {attrs_doc}: the maximum of each window.")
    defop(mpg, infer=two_in_infer(mpg, True), reference=mpg_ref, grad=mpg_grad, kind="nn",
          defaults=defaults, normalize=normalize,
          doc=f"{mpg}(x, grad): the gradient of {mp}; routes grad to the first maximum of "
              f"each window (no gradient w.r.t. x).")
    defop(mpgg, infer=two_in_infer(mpgg, False), reference=mpgg_ref, grad=mpgg_grad,
          kind="nn", defaults=defaults, normalize=normalize,
          doc=f"{mpgg}(x, h): h (shaped like x) picked at the first maximum of x in each "
              f"window; the gradient of {mpg} w.r.t. grad.")
    defop(ap, infer=ap_infer,
          reference=ap_ref, grad=ap_grad, kind="nn", defaults=defaults, normalize=anorm,
          doc=f"{ap}(x) {attrs_doc}: the mean of each window; with padding='same' over the "
              f"valid elements only.")
    defop(apg, infer=two_in_infer(apg, True), reference=apg_ref, grad=apg_grad, kind="nn",
          defaults=defaults, normalize=anorm,
          doc=f"{apg}(x_like, grad): the gradient of {ap} (x_like gives the shape only).")


_def_pool_family(1)
_def_pool_family(2)


# -- bias_add ------------------------------------------------------------------------------------

def _bias_normalize(types, attrs):
    attrs["data_format"] = _choice("bias_add", "data_format", attrs["data_format"],
                                   DATA_FORMATS)
    return attrs


def _channel_axis(ndim, data_format):
    return ndim - 1 if data_format == "channels_last" else 1


def _bias_infer(types, data_format):
    if len(types) != 2:
        raise ShapeError(f"bias_add: takes 2 inputs (x, bias), got {len(types)}")
    x, b = types
    if x.ndim < 2:
        raise ShapeError(f"bias_add: the input must have rank >= 2 (batch, ..., channels), got "
                         f"{shape_str(x.shape)}")
    if b.ndim == 1:
        c = x.shape[_channel_axis(x.ndim, data_format)]
        if not dims_compatible(c, b.shape[0]):
            raise ShapeError(f"bias_add: the bias {b} does not match the {dim_str(c)} channels "
                             f"of the input {x} (data_format={data_format!r})")
    elif b.ndim == x.ndim - 1:
        if not all(dims_compatible(a, d) for a, d in zip(x.shape[1:], b.shape)):
            raise ShapeError(f"bias_add: the bias {b} does not match the input {x} without its "
                             f"batch axis {shape_str(x.shape[1:])}")
    else:
        raise ShapeError(f"bias_add: the bias must have rank 1 or {x.ndim - 1} (the input's rank "
                         f"without the batch axis), got {shape_str(b.shape)} for the input {x}")
    return TensorType(result_dtype(x.dtype, b.dtype), x.shape)


def _bias_ref(x, b, data_format):
    if b.ndim == 1:
        shape = [1] * x.ndim
        shape[_channel_axis(x.ndim, data_format)] = b.shape[0]
        b = b.reshape(shape)
    return np.add(x, b).astype(np.result_type(x, b), copy=False)


def _bias_grad(node, gouts):
    x, b = node.inputs
    g = gouts[0]
    return [g, apply("bias_add_grad", g, data_format=node.attrs["data_format"],
                     bias_ndim=b.ndim)]


def _bias_grad_normalize(types, attrs):
    attrs = _bias_normalize(types, attrs)
    if attrs["bias_ndim"] not in (1, types[0].ndim - 1):
        raise ShapeError(f"bias_add_grad: bias_ndim must be 1 or {types[0].ndim - 1}, got "
                         f"{attrs['bias_ndim']!r}")
    return attrs


def _bias_grad_infer(types, data_format, bias_ndim):
    g = types[0]
    if bias_ndim == 1:
        return TensorType(g.dtype, (g.shape[_channel_axis(g.ndim, data_format)],))
    return TensorType(g.dtype, g.shape[1:])


def _bias_grad_ref(g, data_format, bias_ndim):
    if bias_ndim == 1:
        c = _channel_axis(g.ndim, data_format)
        return g.sum(axis=tuple(a for a in range(g.ndim) if a != c))
    return g.sum(axis=0)


def _bias_grad_grad(node, gouts):
    g = node.inputs[0]
    return [apply("bias_add", zeros_like(g), gouts[0], data_format=node.attrs["data_format"])]


defop("bias_add", infer=_bias_infer, reference=_bias_ref, grad=_bias_grad, kind="nn",
      defaults={"data_format": "channels_last"}, normalize=_bias_normalize,
      doc="bias_add(x, bias) {data_format}: a 1-D bias added along the channel axis, or a bias "
          "of the input's shape without the batch axis added to every example.")
defop("bias_add_grad", infer=_bias_grad_infer, reference=_bias_grad_ref, grad=_bias_grad_grad,
      kind="nn", defaults={"data_format": "channels_last", "bias_ndim": 1},
      normalize=_bias_grad_normalize,
      doc="bias_add_grad(grad) {data_format, bias_ndim}: the gradient of bias_add w.r.t. the "
          "bias (grad summed to the bias shape).")


# -- fused epilogues (made by graphc.passes.fuse after autodiff, not by layers) -----------------
#
# ``conv2d_bias_act(x, k, b)`` = act(bias_add(conv2d(x, k), b)) and
# ``max_pool2d_relu_grad(x, g)`` = where(x > 0, max_pool2d_grad(x, g), 0) (the gradient through
# a relu whose output x was max-pooled) let a code generator add the bias and apply the relu
# on a convolution's output blocks while they are in cache, and route the pooled gradient
# through the relu mask in the same pass. Their gradients are written with the unfused ops.

_ACTIVATIONS = ("linear", "relu")


def _cba_normalize(types, attrs):
    attrs = _conv_normalize("conv2d_bias_act", 2, PADDINGS)(types, attrs)
    attrs["activation"] = _choice("conv2d_bias_act", "activation", attrs["activation"],
                                  _ACTIVATIONS)
    return attrs


def _conv_attrs(attrs):
    return {k: attrs[k] for k in ("strides", "padding", "dilation", "data_format")}


def _cba_infer(types, strides, padding, dilation, data_format, activation):
    if len(types) != 3:
        raise ShapeError(f"conv2d_bias_act: takes 3 inputs (x, kernel, bias), got {len(types)}")
    x, k, b = types
    y = _conv_out_type("conv2d", 2, x, k, strides, padding, dilation, data_format)
    if b.ndim != 1 or not dims_compatible(b.shape[0], k.shape[3]):
        raise ShapeError(f"conv2d_bias_act: the bias {b} must be 1-D with one value per output "
                         f"channel of the kernel {k}")
    return TensorType(result_dtype(y.dtype, b.dtype), y.shape)


def _cba_ref(x, k, b, strides, padding, dilation, data_format, activation):
    xl = _to_last(x, data_format)
    geo = _geometry(2, xl.shape, k.shape, strides, padding, dilation)
    dtype = np.result_type(x, k, b)
    y = _conv_forward(xl, k, geo).astype(dtype, copy=False)
    y = np.add(y, b.astype(dtype, copy=False))
    if activation == "relu":
        y = np.where(y > 0, y, np.zeros((), dtype))
    return _from_last(y.astype(dtype, copy=False), data_format)


def _relu_mask(y, g):
    """``g`` where ``y > 0``, else 0: the gradient through a relu with output ``y``."""
    zero = as_value(0.0, like=y)
    return apply("where", apply("greater", y, zero), g, as_value(0.0, like=g))


def _cba_grad(node, gouts):
    x, k, b = node.inputs
    g = gouts[0]
    if node.attrs["activation"] == "relu":
        g = _relu_mask(node.outputs[0], g)
    ca = _conv_attrs(node.attrs)
    return [apply("conv2d_backprop_input", x, k, g, **ca),
            apply("conv2d_backprop_filter", x, k, g, **ca),
            apply("bias_add_grad", g, data_format=ca["data_format"], bias_ndim=1)]


defop("conv2d_bias_act", infer=_cba_infer, reference=_cba_ref, grad=_cba_grad, kind="nn",
      cost=_conv_cost("conv2d"),
      defaults={"strides": 1, "padding": "valid", "dilation": 1,
                "data_format": "channels_last", "activation": "linear"},
      normalize=_cba_normalize,
      doc="conv2d_bias_act(x, kernel, bias) {strides, padding, dilation, data_format, "
          "activation 'linear' | 'relu'}: act(bias_add(conv2d(x, kernel), bias)) as one op.")


def _mprg_infer(types, pool_size, strides, padding, data_format):
    if len(types) != 2:
        raise ShapeError(f"max_pool2d_relu_grad: takes 2 inputs (x, grad), got {len(types)}")
    return REGISTRY["max_pool2d_grad"].infer(types, pool_size=pool_size, strides=strides,
                                             padding=padding, data_format=data_format)


def _mprg_ref(x, g, **attrs):
    dx = REGISTRY["max_pool2d_grad"].reference(x, g, **attrs)
    return np.where(x > 0, dx, np.zeros((), dx.dtype)).astype(dx.dtype, copy=False)


def _mprg_grad(node, gouts):
    x = node.inputs[0]
    return [None, apply("max_pool2d_grad_grad", x, _relu_mask(x, gouts[0]), **node.attrs)]


defop("max_pool2d_relu_grad", infer=_mprg_infer, reference=_mprg_ref, grad=_mprg_grad,
      kind="nn", defaults={"pool_size": 2, "strides": None, "padding": "valid",
                           "data_format": "channels_last"},
      normalize=_pool_normalize("max_pool2d_relu_grad", 2),
      doc="max_pool2d_relu_grad(x, grad): where(x > 0, max_pool2d_grad(x, grad), 0), the "
          "gradient through max_pool2d and the relu whose output x it pooled.")


# ``conv2d_backprop_filter_pool(x, k, y, g)`` = conv2d_backprop_filter(x, k,
# max_pool2d_relu_grad(y, g)): the filter gradient of a convolution whose relu output y was
# max-pooled, read from the POOLED gradient g. When nothing else needs the full-size gradient
# between them (a first layer: no input gradient), a code generator can route g through the
# pooling while it accumulates the filter gradient, instead of writing and re-reading an
# (N, H, W, C) array. Made by graphc.passes.fuse (fuse_pool_filter_grads); the pooling's
# attributes are ``pool_size``, ``pool_strides`` and ``pool_padding``.

_CBFP = "conv2d_backprop_filter_pool"


def _cbfp_pool_attrs(attrs):
    return {"pool_size": attrs["pool_size"], "strides": attrs["pool_strides"],
            "padding": attrs["pool_padding"], "data_format": attrs["data_format"]}


def _cbfp_normalize(types, attrs):
    attrs = _conv_normalize(_CBFP, 2, PADDINGS)(types, attrs)
    pool = _pool_normalize(_CBFP, 2)(types, {"pool_size": attrs["pool_size"],
                                             "strides": attrs["pool_strides"],
                                             "padding": attrs["pool_padding"],
                                             "data_format": attrs["data_format"]})
    attrs["pool_size"], attrs["pool_strides"] = pool["pool_size"], pool["strides"]
    attrs["pool_padding"] = pool["padding"]
    return attrs


def _cbfp_infer(types, strides, padding, dilation, data_format, pool_size, pool_strides,
                pool_padding):
    if len(types) != 4:
        raise ShapeError(f"{_CBFP}: takes 4 inputs (x, kernel_like, y, pooled grad), got "
                         f"{len(types)}")
    x, k, y, g = types
    pool = {"pool_size": pool_size, "strides": pool_strides, "padding": pool_padding,
            "data_format": data_format}
    gy = REGISTRY["max_pool2d_relu_grad"].infer([y, g], **pool)
    ca = {"strides": strides, "padding": padding, "dilation": dilation,
          "data_format": data_format}
    return REGISTRY["conv2d_backprop_filter"].infer([x, k, gy], **ca)


def _cbfp_ref(x, k, y, g, strides, padding, dilation, data_format, **pool):
    gy = REGISTRY["max_pool2d_relu_grad"].reference(y, g, **_cbfp_pool_attrs(
        dict(pool, data_format=data_format)))
    return REGISTRY["conv2d_backprop_filter"].reference(
        x, k, gy, strides=strides, padding=padding, dilation=dilation, data_format=data_format)


def _cbfp_grad(node, gouts):
    # through the unfused pair (a second derivative of a first layer's filter gradient)
    from ..autodiff import vjp
    x, k, y, g = node.inputs
    a = node.attrs
    gy = apply("max_pool2d_relu_grad", y, g, **_cbfp_pool_attrs(a))
    dk = apply("conv2d_backprop_filter", x, k, gy, **_conv_attrs(a))
    return vjp([dk], [gouts[0]], [x, k, y, g], unconnected="none")


defop(_CBFP, infer=_cbfp_infer, reference=_cbfp_ref, grad=_cbfp_grad, kind="nn",
      defaults={"strides": 1, "padding": "valid", "dilation": 1,
                "data_format": "channels_last", "pool_size": 2, "pool_strides": None,
                "pool_padding": "valid"},
      normalize=_cbfp_normalize,
      doc="conv2d_backprop_filter_pool(x, kernel_like, y, grad) {strides, padding, dilation, "
          "data_format, pool_size, pool_strides, pool_padding}: conv2d_backprop_filter(x, "
          "kernel_like, max_pool2d_relu_grad(y, grad)) as one op.")
