"""Merge layers (Keras 2): Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate,
Dot, and their functional forms ``add``, ``subtract``, ``multiply``, ``average``,
``maximum``, ``minimum``, ``concatenate``, ``dot``.

Elementwise merges broadcast like numpy over the non-batch axes; inputs of lower rank get
size-1 axes inserted after the batch axis. Masks are combined with a logical AND.
"""
from __future__ import annotations

from .. import backend as K
from ..engine.base_layer import Layer, shape_text

__all__ = ['Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum', 'Concatenate', 'Dot',
           'add', 'subtract', 'multiply', 'average', 'maximum', 'minimum', 'concatenate', 'dot']


def _is_shape_list(input_shape):
    return isinstance(input_shape, list) and all(
        s is None or isinstance(s, (tuple, list)) for s in input_shape)


class _Merge(Layer):
    """Base of the elementwise merge layers: ``_merge_function(list_of_tensors)``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self._reshape_required = False

    def _merge_function(self, inputs):
        raise NotImplementedError

    def _broadcast_shape(self, shape1, shape2):
        """The broadcast of two shapes without batch axis (None: unknown)."""
        if shape1 is None or shape2 is None:
            return None
        if len(shape1) < len(shape2):
            return self._broadcast_shape(shape2, shape1)
        if not shape2:
            return tuple(shape1)
        out = list(shape1[:len(shape1) - len(shape2)])
        for i, j in zip(shape1[len(shape1) - len(shape2):], shape2):
            if i is None or j is None:
                out.append(None)
            elif i == 1:
                out.append(j)
            elif j == 1 or i == j:
                out.append(i)
            else:
                raise ValueError(f"{type(self).__name__} layer '{self.name}': operands could "
                                 f"not be broadcast together with shapes {shape_text(shape1)} "
                                 f"and {shape_text(shape2)}")
        return tuple(out)

    def _check_list(self, input_shape, minimum=2):
        if not _is_shape_list(input_shape):
            raise ValueError(f"A merge layer ({type(self).__name__} '{self.name}') should be "
                             f"called on a list of inputs, got one input of shape "
                             f"{input_shape!r}")
        if len(input_shape) < minimum:
            raise ValueError(f"A merge layer ({type(self).__name__} '{self.name}') should be "
                             f"called on a list of at least {minimum} inputs; got "
                             f"{len(input_shape)} input(s)")

    def build(self, input_shape):
        self._check_list(input_shape)
        batch_sizes = {s[0] for s in input_shape if s is not None} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(f"{type(self).__name__} layer '{self.name}': can not merge "
                             f"tensors with different batch sizes; got tensors with shapes "
                             f"{shape_text([tuple(s) for s in input_shape])}")
        self.compute_output_shape(input_shape)
        ranks = {len(s) for s in input_shape if s is not None}
        self._reshape_required = None in input_shape or len(ranks) != 1
        self.built = True

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"A merge layer ({type(self).__name__} '{self.name}') should be "
                             f"called on a list of inputs")
        ranks = [K.ndim(x) for x in inputs]
        if len(set(ranks)) > 1:
            top = max(ranks)
            expanded = []
            for x in inputs:
                for _ in range(top - K.ndim(x)):
                    x = K.expand_dims(x, 1)
                expanded.append(x)
            inputs = expanded
        return self._merge_function(list(inputs))

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape, minimum=1)
        out = tuple(input_shape[0][1:]) if input_shape[0] is not None else None
        for shape in input_shape[1:]:
            out = self._broadcast_shape(out, tuple(shape[1:]) if shape is not None else None)
        batch_sizes = {s[0] for s in input_shape if s is not None} - {None}
        batch = batch_sizes.pop() if len(batch_sizes) == 1 else None
        return None if out is None else (batch,) + out

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or len(mask) != len(inputs):
            raise ValueError(f"{type(self).__name__} layer '{self.name}': `mask` should be a "
                             f"list with one entry per input")
        masks = [K.expand_dims(m, 0) for m in mask if m is not None]
        if not masks:
            return None
        return K.all(K.concatenate(masks, axis=0), axis=0, keepdims=False)


class Add(_Merge):
    """The elementwise sum of a list of inputs (all of one shape, or broadcastable).

    Example:
        >>> y = Add()([Dense(8)(a), Dense(8)(b)])
    """

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class Subtract(_Merge):
    """The elementwise difference of exactly two inputs: ``inputs[0] - inputs[1]``.

    Example:
        >>> y = Subtract()([a, b])
    """

    def build(self, input_shape):
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError(f"Subtract layer '{self.name}' should be called on a list of "
                             f"exactly 2 inputs; got {len(input_shape)}")

    def _merge_function(self, inputs):
        if len(inputs) != 2:
            raise ValueError(f"Subtract layer '{self.name}' should be called on a list of "
                             f"exactly 2 inputs; got {len(inputs)}")
        return inputs[0] - inputs[1]


class Multiply(_Merge):
    """The elementwise product of a list of inputs."""

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out


class Average(_Merge):
    """The elementwise mean of a list of inputs."""

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out / float(len(inputs))


class Maximum(_Merge):
    """The elementwise maximum of a list of inputs."""

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = K.maximum(out, x)
        return out


class Minimum(_Merge):
    """The elementwise minimum of a list of inputs."""

    def _merge_function(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = K.minimum(out, x)
        return out


class Concatenate(_Merge):
    """Join a list of inputs along ``axis`` (all other axes must agree).

    Args:
        axis: the concatenation axis (default -1).

    Example:
        >>> Concatenate()([Input(shape=(3,)), Input(shape=(4,))])._keras_shape
        (None, 7)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _mismatch(self, input_shape):
        return ValueError(
            f"Concatenate layer '{self.name}' requires inputs with matching shapes except for "
            f"the concat axis {self.axis}; got inputs shapes: "
            f"{shape_text([tuple(s) for s in input_shape])}")

    def build(self, input_shape):
        self._check_list(input_shape, minimum=1)
        if len(input_shape) < 2:
            raise ValueError(f"A Concatenate layer ('{self.name}') should be called on a list of "
                             f"at least 2 inputs; got {len(input_shape)}")
        self.compute_output_shape(input_shape)
        self.built = True

    def call(self, inputs):
        return K.concatenate(list(inputs), axis=self.axis)

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape, minimum=1)
        shapes = [tuple(s) for s in input_shape]
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes):
            raise self._mismatch(input_shape)
        axis = self.axis % rank if -rank <= self.axis < rank else None
        if axis is None:
            raise ValueError(f"Concatenate layer '{self.name}': axis {self.axis} is out of "
                             f"range for inputs of rank {rank}")
        out = list(shapes[0])
        for s in shapes[1:]:
            for i, (a, b) in enumerate(zip(out, s)):
                if i == axis:
                    out[i] = None if a is None or b is None else a + b
                elif a is None:
                    out[i] = b
                elif b is not None and a != b:
                    raise self._mismatch(input_shape)
        return tuple(out)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or len(mask) != len(inputs):
            raise ValueError(f"Concatenate layer '{self.name}': `mask` should be a list with "
                             f"one entry per input")
        if all(m is None for m in mask):
            return None
        masks = []
        for x, m in zip(inputs, mask):
            if m is None:
                m = K.not_equal(K.ones_like(x), 0)
            elif K.ndim(m) < K.ndim(x):
                m = K.expand_dims(m)
            masks.append(m)
        return K.all(K.concatenate(masks, axis=self.axis), axis=-1, keepdims=False)

    def get_config(self):
        config = super().get_config()
        config['axis'] = self.axis
        return config


class Dot(_Merge):
    """The dot product of two inputs along ``axes``, sample by sample (``K.batch_dot``).

    Args:
        axes: an int or a pair of ints: the axis of each input to contract (not the batch
            axis; negative counts from the end).
        normalize: L2-normalise both inputs along the axes first (the result is then the
            cosine proximity).

    Example:
        >>> Dot(axes=1)([Input(shape=(4,)), Input(shape=(4,))])._keras_shape
        (None, 1)
    """

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, int):
            axes = int(axes)
        else:
            axes = tuple(int(a) for a in axes)
            if len(axes) != 2:
                raise ValueError(f"Dot layer '{self.name}': `axes` must be an int or a list of "
                                 f"2 ints, got {axes!r}")
        self.axes = axes
        self.normalize = bool(normalize)
        self.supports_masking = True

    def _pair_axes(self, rank1, rank2):
        if isinstance(self.axes, int):
            if self.axes < 0:
                return [self.axes % rank1, self.axes % rank2]
            return [self.axes, self.axes]
        return [self.axes[0] % rank1, self.axes[1] % rank2]

    def build(self, input_shape):
        if not _is_shape_list(input_shape) or len(input_shape) != 2:
            raise ValueError(f"A Dot layer ('{self.name}') should be called on a list of 2 "
                             f"inputs")
        self.compute_output_shape(input_shape)
        self.built = True

    def call(self, inputs):
        x1, x2 = inputs
        axes = self._pair_axes(K.ndim(x1), K.ndim(x2))
        if self.normalize:
            x1 = K.l2_normalize(x1, axis=axes[0])
            x2 = K.l2_normalize(x2, axis=axes[1])
        return K.batch_dot(x1, x2, axes)

    def compute_output_shape(self, input_shape):
        if not _is_shape_list(input_shape) or len(input_shape) != 2:
            raise ValueError(f"A Dot layer ('{self.name}') should be called on a list of 2 "
                             f"inputs")
        shape1, shape2 = list(input_shape[0]), list(input_shape[1])
        axes = self._pair_axes(len(shape1), len(shape2))
        if 0 in axes:
            raise ValueError(f"Dot layer '{self.name}': cannot contract the batch axis "
                             f"(axes={self.axes})")
        a, b = shape1[axes[0]], shape2[axes[1]]
        if a is not None and b is not None and a != b:
            raise ValueError(f"Dot layer '{self.name}': dimension incompatibility "
                             f"{a} != {b}. Layer shapes: {shape_text(tuple(shape1))}, "
                             f"{shape_text(tuple(shape2))} (axes={self.axes})")
        shape1.pop(axes[0])
        shape2.pop(axes[1])
        shape2.pop(0)
        out = shape1 + shape2
        if len(out) == 1:
            out += [1]
        return tuple(out)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config.update(axes=self.axes, normalize=self.normalize)
        return config


def add(inputs, **kwargs):
    """Functional form of ``Add``: ``add([a, b])``."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional form of ``Subtract``: ``subtract([a, b])``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of ``Multiply``."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional form of ``Average``."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional form of ``Maximum``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional form of ``Minimum``."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of ``Concatenate``: ``concatenate([a, b], axis=-1)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes, normalize=False, **kwargs):
    """Functional form of ``Dot``: ``dot([a, b], axes=1)``."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
