"""Neural-network functions under their Keras 2 backend names: activations, losses,
convolution and pooling, dropout, batch normalisation and random tensors."""
from __future__ import annotations

import numpy as np

from ..ir.node import Value
from ..ir.ops import apply, as_value
from ..ir.types import as_dtype, is_int
from .common import epsilon, floatx, normalize_data_format
from .variables import _seed


def _v(x, like=None) -> Value:
    return as_value(x, like=like if isinstance(like, Value) else None)


# -- activations ------------------------------------------------------------------------------

def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit: ``x`` above ``threshold`` (capped at ``max_value``), else
    ``alpha * (x - threshold)``."""
    return apply("relu", _v(x), alpha=float(alpha),
                 max_value=None if max_value is None else float(max_value),
                 threshold=float(threshold))


def elu(x, alpha=1.0):
    """Exponential linear unit."""
    return apply("elu", _v(x), alpha=float(alpha))


def _act(op):
    def fn(x):
        return apply(op, _v(x))
    fn.__name__ = op
    fn.__doc__ = f"The {op} activation, elementwise."
    return fn


selu = _act("selu")
softplus = _act("softplus")
softsign = _act("softsign")
sigmoid = _act("sigmoid")
hard_sigmoid = _act("hard_sigmoid")
tanh = _act("tanh")


def softmax(x, axis=-1):
    """Softmax along ``axis``."""
    return apply("softmax", _v(x), axis=int(axis))


def log_softmax(x, axis=-1):
    """``log(softmax(x))``, computed stably."""
    return apply("log_softmax", _v(x), axis=int(axis))


# -- losses -----------------------------------------------------------------------------------

def _clip_eps(x):
    eps = float(epsilon())
    return apply("clip", x, min=eps, max=1.0 - eps)


def _logits_of(output, op, axis=None):
    """The logits ``z`` when ``output`` is ``op(z)`` (a softmax along ``axis``, or a sigmoid),
    else None.

    The probability crossentropies then work on the logits, as tf.keras does for the output of
    a softmax or sigmoid: the loss stays finite for logits of +-1e4 and its gradient is the
    plain ``softmax(z) - t`` (``sigmoid(z) - t``), where Keras 2's eps-clip of the
    probabilities would zero it for a confidently wrong prediction. The optimiser's
    algebraic pass rewrites the forward the same way; doing it here, before ``K.gradients``
    differentiates the loss, gives the backward pass that one stable form too (and a much
    smaller training step to compile).
    """
    node = output.node
    if node.op != op or len(node.outputs) != 1:
        return None
    if axis is not None and node.attrs["axis"] % output.ndim != axis % output.ndim:
        return None
    return node.inputs[0]


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Categorical crossentropy between a probability (or one-hot) ``target`` and ``output``.

    As Keras 2: with ``from_logits=False`` the output is scaled to sum to 1 along ``axis``,
    clipped to [epsilon, 1 - epsilon] and ``-sum(target * log(output), axis)`` returned; with
    ``from_logits=True`` the stable ``softmax_cross_entropy`` of the logits. An ``output``
    made by ``K.softmax`` along ``axis`` counts as its logits (as in tf.keras), so the loss and
    its gradient are the stable forms, unclipped.

    Example:
        >>> loss = K.mean(K.categorical_crossentropy(y, K.softmax(logits)))
    """
    output = _v(output)
    target = _v(target, output)
    if not from_logits and output.ndim > 0:
        z = _logits_of(output, "softmax", int(axis))
        if z is not None:
            output, from_logits = z, True
    if from_logits:
        return apply("softmax_cross_entropy", output, target, axis=int(axis))
    output = output / apply("sum", output, axes=int(axis), keepdims=True)
    output = _clip_eps(output)
    return -apply("sum", target * apply("log", output), axes=int(axis), keepdims=False)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Crossentropy with integer class labels ``target`` (shape of ``output`` without the
    class axis, or with a size-1 class axis).

    As Keras 2: with ``from_logits=False`` the logits are ``log(clip(output, eps, 1 - eps))``,
    or the softmax's own logits when ``output`` is a softmax along ``axis`` (as tf.keras).
    """
    output = _v(output)
    target = _v(target)
    axis = int(axis) % output.ndim
    if target.ndim == output.ndim:
        if target.shape[axis] not in (1, None) and not isinstance(target.shape[axis], str):
            raise ValueError(f"sparse_categorical_crossentropy: target {target.type} must hold "
                             f"class indices (size 1 on the class axis {axis}), output is "
                             f"{output.type}")
        target = apply("squeeze", target, axis=axis)
    if not is_int(target.dtype):
        target = apply("cast", target, dtype="int64")
    logits = output if from_logits else _logits_of(output, "softmax", axis)
    if logits is None:
        logits = apply("log", _clip_eps(output))
    return apply("sparse_softmax_cross_entropy", logits, target, axis=axis)


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary crossentropy.

    As Keras 2: with ``from_logits=False`` the output is clipped to [eps, 1 - eps] and turned
    into logits ``log(output / (1 - output))`` (or, for an ``output`` made by ``K.sigmoid``,
    the sigmoid's own logits, as tf.keras); then the stable sigmoid crossentropy.
    """
    output = _v(output)
    target = _v(target, output)
    if not from_logits:
        z = _logits_of(output, "sigmoid")
        if z is not None:
            output = z
        else:
            output = _clip_eps(output)
            output = apply("log", output / (1.0 - output))
    return apply("sigmoid_cross_entropy", output, target)


def l2_normalize(x, axis=None):
    """``x / sqrt(max(sum(x**2, axis), 1e-12))`` (as tf.nn.l2_normalize)."""
    x = _v(x)
    axes = None if axis is None else (tuple(axis) if isinstance(axis, (list, tuple))
                                      else int(axis))
    ss = apply("sum", apply("square", x), axes=axes, keepdims=True)
    return x * apply("rsqrt", apply("maximum", ss, as_value(1e-12, like=ss)))


def in_top_k(predictions, targets, k):
    """Whether ``targets[i]`` is among the ``k`` largest ``predictions[i]`` (bool, shape
    (batch,)). Ties at the boundary count as in the top k (as tf.nn.in_top_k)."""
    predictions = _v(predictions)
    targets = _v(targets)
    if targets.ndim == 2:
        targets = apply("squeeze", targets, axis=1)
    if not is_int(targets.dtype):
        targets = apply("cast", targets, dtype="int64")
    classes = predictions.shape[-1]
    if not isinstance(classes, int):
        raise ValueError(f"K.in_top_k needs a static number of classes, got "
                         f"{predictions.type}")
    hot = apply("cast", apply("one_hot", targets, num_classes=classes), dtype=predictions.dtype)
    target_score = apply("sum", predictions * hot, axes=-1, keepdims=True)
    above = apply("cast", apply("greater", predictions, target_score), dtype="int64")
    return apply("less", apply("sum", above, axes=-1, keepdims=False),
                 as_value(int(k), like=above))


# -- batch normalisation ----------------------------------------------------------------------

def batch_normalization(x, mean, var, beta, gamma, axis=-1, epsilon=1e-3):
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` (beta / gamma may be None)."""
    x = _v(x)
    y = (x - mean) * apply("rsqrt", _v(var, x) + float(epsilon))
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y


def normalize_batch_in_training(x, gamma, beta, reduction_axes, epsilon=1e-3):
    """Batch statistics over ``reduction_axes`` and the normalised ``x``.

    Returns:
        ``(normalized, mean, variance)``; mean and variance have the shape of ``x`` without
        the reduction axes.
    """
    x = _v(x)
    axes = tuple(int(a) for a in reduction_axes)
    m = apply("mean", x, axes=axes, keepdims=True)
    v = apply("var", x, axes=axes, keepdims=True)
    normed = batch_normalization(x, m, v, None, None, epsilon=epsilon)
    if gamma is not None:
        normed = normed * _broadcast_param(gamma, x, axes)
    if beta is not None:
        normed = normed + _broadcast_param(beta, x, axes)
    return normed, _squeeze_all(m, axes), _squeeze_all(v, axes)


def _squeeze_all(t, axes):
    for a in sorted((a % t.ndim for a in axes), reverse=True):
        t = apply("squeeze", t, axis=a)
    return t


def _broadcast_param(p, x, axes):
    """A per-feature parameter reshaped to broadcast against ``x`` (size 1 on ``axes``)."""
    p = _v(p, x)
    red = {a % x.ndim for a in axes}
    if p.ndim == x.ndim:
        return p
    shape = tuple(1 if i in red else -1 for i in range(x.ndim))
    if shape.count(-1) != 1:
        dims = tuple(1 if i in red else d for i, d in enumerate(x.shape))
        if not all(isinstance(d, int) for d in dims):
            raise ValueError(f"normalize_batch_in_training: cannot broadcast a parameter of "
                             f"shape {p.shape} against {x.type} over axes {axes}")
        shape = dims
    return apply("reshape", p, shape=shape)


# -- convolution and pooling ------------------------------------------------------------------

def _int_or_tuple(v, n):
    return int(v) if isinstance(v, (int, np.integer)) else tuple(int(a) for a in v)


def conv1d(x, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """1-D convolution; ``kernel`` is (width, in, out); padding 'valid', 'same' or 'causal'."""
    x, kernel = _v(x), _v(kernel)
    fmt = normalize_data_format(data_format)
    strides, dilation = _int_or_tuple(strides, 1), _int_or_tuple(dilation_rate, 1)
    if padding == "causal":
        d = dilation if isinstance(dilation, int) else dilation[0]
        left = d * (int(kernel.shape[0]) - 1)
        pads = ((0, 0), (left, 0), (0, 0)) if fmt == "channels_last" \
            else ((0, 0), (0, 0), (left, 0))
        x = apply("pad", x, pads=pads, mode="constant", constant_value=0.0)
        padding = "valid"
    return apply("conv1d", x, kernel, strides=strides, padding=padding, dilation=dilation,
                 data_format=fmt)


def conv2d(x, kernel, strides=(1, 1), padding="valid", data_format=None,
           dilation_rate=(1, 1)):
    """2-D convolution; ``kernel`` is (kh, kw, in, out).

    Example:
        >>> y = K.conv2d(x, k, strides=(2, 2), padding='same')
    """
    return apply("conv2d", _v(x), _v(kernel), strides=_int_or_tuple(strides, 2),
                 padding=padding, dilation=_int_or_tuple(dilation_rate, 2),
                 data_format=normalize_data_format(data_format))


def conv2d_transpose(x, kernel, output_shape, strides=(1, 1), padding="valid",
                     data_format=None, dilation_rate=(1, 1)):
    """Transposed 2-D convolution; ``kernel`` is (kh, kw, out, in) as in Keras 2.

    ``output_shape`` is the full output shape (its batch entry may be None or a tensor) or
    None for Keras 2's output size rule.
    """
    if output_shape is not None:
        output_shape = tuple(None if isinstance(d, Value) or d is None else int(d)
                             for d in output_shape)
    return apply("conv2d_transpose", _v(x), _v(kernel), output_shape=output_shape,
                 strides=_int_or_tuple(strides, 2), padding=padding,
                 dilation=_int_or_tuple(dilation_rate, 2),
                 data_format=normalize_data_format(data_format))


def depthwise_conv2d(x, depthwise_kernel, strides=(1, 1), padding="valid", data_format=None,
                     dilation_rate=(1, 1)):
    """Depthwise 2-D convolution; kernel (kh, kw, in, multiplier)."""
    return apply("depthwise_conv2d", _v(x), _v(depthwise_kernel),
                 strides=_int_or_tuple(strides, 2), padding=padding,
                 dilation=_int_or_tuple(dilation_rate, 2),
                 data_format=normalize_data_format(data_format))


def separable_conv2d(x, depthwise_kernel, pointwise_kernel, strides=(1, 1), padding="valid",
                     data_format=None, dilation_rate=(1, 1)):
    """A depthwise convolution followed by a 1x1 (pointwise) convolution."""
    y = depthwise_conv2d(x, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv2d(y, pointwise_kernel, (1, 1), "valid", data_format)


def separable_conv1d(x, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                     data_format=None, dilation_rate=1):
    """A depthwise 1-D convolution followed by a pointwise (size-1) convolution.

    ``depthwise_kernel`` is (width, in, multiplier) and ``pointwise_kernel`` (1, in *
    multiplier, out), Keras 2's layouts; padding 'valid' or 'same'. Computed as the 2-D
    separable convolution of the input with a size-1 height axis.

    Example:
        >>> y = K.separable_conv1d(x, dk, pk, padding='same')
    """
    x, depthwise_kernel, pointwise_kernel = _v(x), _v(depthwise_kernel), _v(pointwise_kernel)
    fmt = normalize_data_format(data_format)
    if x.ndim != 3 or depthwise_kernel.ndim != 3 or pointwise_kernel.ndim != 3:
        raise ValueError(f"K.separable_conv1d expects a 3-D input and 3-D kernels, got "
                         f"{x.type}, {depthwise_kernel.type} and {pointwise_kernel.type}")
    if padding not in ("valid", "same"):
        raise ValueError(f"K.separable_conv1d: padding must be 'valid' or 'same', got "
                         f"{padding!r}")
    stride = _int_or_tuple(strides, 1)
    stride = stride if isinstance(stride, int) else stride[0]
    dilation = _int_or_tuple(dilation_rate, 1)
    dilation = dilation if isinstance(dilation, int) else dilation[0]
    axis = 1 if fmt == "channels_last" else 2           # the size-1 height axis
    y = separable_conv2d(apply("expand_dims", x, axis=axis),
                         apply("expand_dims", depthwise_kernel, axis=0),
                         apply("expand_dims", pointwise_kernel, axis=0),
                         strides=(1, stride), padding=padding, data_format=fmt,
                         dilation_rate=(1, dilation))
    return apply("squeeze", y, axis=axis)


def pool2d(x, pool_size, strides=(1, 1), padding="valid", data_format=None, pool_mode="max"):
    """2-D max or average pooling (``pool_mode`` 'max' or 'avg')."""
    if pool_mode not in ("max", "avg"):
        raise ValueError(f"pool2d: pool_mode must be 'max' or 'avg', got {pool_mode!r}")
    return apply(f"{pool_mode}_pool2d", _v(x), pool_size=_int_or_tuple(pool_size, 2),
                 strides=None if strides is None else _int_or_tuple(strides, 2),
                 padding=padding, data_format=normalize_data_format(data_format))


def pool1d(x, pool_size, strides=1, padding="valid", data_format=None, pool_mode="max"):
    """1-D max or average pooling over the steps of (batch, steps, channels)."""
    if pool_mode not in ("max", "avg"):
        raise ValueError(f"pool1d: pool_mode must be 'max' or 'avg', got {pool_mode!r}")
    return apply(f"{pool_mode}_pool1d", _v(x), pool_size=_int_or_tuple(pool_size, 1),
                 strides=None if strides is None else _int_or_tuple(strides, 1),
                 padding=padding, data_format=normalize_data_format(data_format))


def bias_add(x, bias, data_format=None):
    """Add a per-channel ``bias`` to ``x``."""
    x = _v(x)
    return apply("bias_add", x, _v(bias, x), data_format=normalize_data_format(data_format))


# -- random tensors and dropout ---------------------------------------------------------------

def _random(op, shape, dtype, seed, **attrs):
    dtype = as_dtype(dtype or floatx())
    seed = _seed(seed)
    if isinstance(shape, Value):
        if shape.node.op == "shape":            # K.shape(x): copy x's run-time shape
            return apply(op, shape.node.inputs[0], dtype=dtype, seed=seed, **attrs)
        raise TypeError(f"K.{op}: shape must be a tuple of ints or K.shape(x), got the tensor "
                        f"{shape.name!r}")
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    if isinstance(shape, (tuple, list)) and any(isinstance(d, Value) for d in shape):
        # e.g. (K.shape(z)[0], 2): the op copies the shape of a tensor built to have it
        return apply(op, _shaped_like(shape, op), dtype=dtype, seed=seed, **attrs)
    try:
        shape = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise TypeError(f"K.{op}: shape must be a tuple of ints or K.shape(x), got "
                        f"{shape!r}") from None
    return apply(op, shape=shape, dtype=dtype, seed=seed, **attrs)


def _shape_entry(d, op):
    """``(x, axis)`` for ``d = K.shape(x)[axis]``, else None."""
    if not isinstance(d, Value) or d.ndim != 0:
        return None
    node = d.node
    if node.op == "squeeze" and node.inputs[0].node.op == "slice":
        node = node.inputs[0].node
    elif node.op != "slice":
        return None
    src = node.inputs[0].node
    begin, end = node.attrs.get("begin"), node.attrs.get("end")
    if src.op != "shape" or len(begin) != 1 or end[0] - begin[0] != 1:
        return None
    x = src.inputs[0]
    return x, begin[0] % x.ndim


def _shaped_like(shape, op) -> Value:
    """A zero tensor whose run-time shape is ``shape``: ints and ``K.shape(x)[i]`` entries."""
    static = []
    dims = []
    for k, d in enumerate(shape):
        entry = _shape_entry(d, op)
        if entry is not None:
            static.append(1)
            dims.append((k, entry))
            continue
        try:
            static.append(int(d))
        except (TypeError, ValueError):
            raise TypeError(f"K.{op}: each entry of shape must be an int or K.shape(x)[i], got "
                            f"{d!r} at position {k} of {tuple(shape)!r}") from None
    like = as_value(np.zeros(static, dtype="float32"))
    for k, (x, axis) in dims:
        # a vector of length x.shape[axis]: x indexed at 0 on every other axis
        index = tuple(slice(None) if a == axis else 0 for a in range(x.ndim))
        vec = apply("fill_like", apply("stop_gradient", x[index]), value=0.0, dtype="float32")
        for _ in range(len(shape) - 1 - k):
            vec = apply("expand_dims", vec, axis=-1)
        like = like + vec
    return like


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """A tensor of U(minval, maxval) samples, new ones on every call of a function.

    ``shape`` is a tuple of ints, ``K.shape(x)`` (the run-time shape of ``x``), or a tuple
    mixing ints and run-time sizes ``K.shape(x)[i]``, e.g. ``(K.shape(z)[0], 2)``.
    """
    return _random("random_uniform", shape, dtype, seed, minval=float(minval),
                   maxval=float(maxval))


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """A tensor of N(mean, stddev**2) samples, new ones on every call of a function.

    ``shape`` is a tuple of ints, ``K.shape(x)``, or a tuple mixing ints and run-time sizes
    ``K.shape(x)[i]`` (the reparameterisation of a variational autoencoder):

    Example:
        >>> eps = K.random_normal((K.shape(z_mean)[0], 2))
    """
    return _random("random_normal", shape, dtype, seed, mean=float(mean), stddev=float(stddev))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal samples redrawn when more than two standard deviations from the mean."""
    return _random("truncated_normal", shape, dtype, seed, mean=float(mean),
                   stddev=float(stddev))


def random_binomial(shape, p=0.0, dtype=None, seed=None):
    """A tensor of Bernoulli(p) samples (1 with probability p)."""
    return _random("random_binomial", shape, dtype, seed, p=float(p))


def dropout(x, level, noise_shape=None, seed=None):
    """Zero each element with probability ``level``; scale the rest by ``1 / (1 - level)``.

    Args:
        x: a tensor.
        level: the fraction to drop, in [0, 1).
        noise_shape: the shape of the keep mask, broadcast against ``x`` (None entries take
            the size of ``x``'s axis, e.g. ``(None, 1, features)``).
        seed: random seed.

    Example:
        >>> y = K.in_train_phase(K.dropout(x, 0.5), x)
    """
    x = _v(x)
    level = float(level)
    if not 0.0 <= level < 1.0:
        raise ValueError(f"K.dropout: level must be in [0, 1), got {level}")
    retain = 1.0 - level
    if noise_shape is None:
        like = x
    else:
        noise_shape = tuple(noise_shape)
        if len(noise_shape) != x.ndim:
            raise ValueError(f"K.dropout: noise_shape {noise_shape} must have one entry per "
                             f"axis of {x.type}")
        key = []
        for d, xd in zip(noise_shape, x.shape):
            if d is None or (isinstance(xd, int) and d == xd):
                key.append(slice(None))
            elif int(d) == 1:
                key.append(slice(0, 1))
            else:
                raise ValueError(f"K.dropout: noise_shape {noise_shape} does not broadcast "
                                 f"against {x.type}")
        like = apply("stop_gradient", x[tuple(key)])
    mask = apply("random_binomial", like, p=retain, dtype=x.dtype, seed=_seed(seed))
    return x * mask * (1.0 / retain)
