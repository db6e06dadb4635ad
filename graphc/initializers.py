"""Weight initializers (Keras 2 ``keras.initializers``).

An initializer is called with a shape and a dtype and returns a numpy array (the initial value
of a variable). With ``seed`` set, the values are reproducible; without, they come from
numpy's global random state (so ``np.random.seed`` makes a run reproducible).

Example:
    >>> init = get("glorot_uniform")
    >>> w = init((784, 10))
"""
from __future__ import annotations

import numpy as np

from . import backend as K


def _rng(seed):
    if seed is None:
        seed = np.random.randint(0, 2 ** 31 - 1)
    return np.random.default_rng(seed)


def _dtype(dtype):
    return np.dtype(dtype or K.floatx())


class Initializer:
    """Base class: ``__call__(shape, dtype=None) -> np.ndarray``; get_config / from_config."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("dtype", None)
        return cls(**config)


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return np.zeros(shape, dtype=_dtype(dtype))


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return np.ones(shape, dtype=_dtype(dtype))


class Constant(Initializer):
    def __init__(self, value=0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.full(shape, self.value, dtype=_dtype(dtype))

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        return _rng(self.seed).normal(self.mean, self.stddev, size=shape).astype(_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=None):
        return _rng(self.seed).uniform(self.minval, self.maxval, size=shape).astype(_dtype(dtype))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _truncated_normal(rng, mean, stddev, shape):
    """Normal values redrawn until within two standard deviations (as TF/Keras)."""
    out = rng.normal(0.0, 1.0, size=shape)
    bad = np.abs(out) > 2
    while np.any(bad):
        out[bad] = rng.normal(0.0, 1.0, size=int(bad.sum()))
        bad = np.abs(out) > 2
    return mean + stddev * out


class TruncatedNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        return _truncated_normal(_rng(self.seed), self.mean, self.stddev, shape) \
            .astype(_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _compute_fans(shape, data_format="channels_last"):
    shape = tuple(shape)
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) in (3, 4, 5):
        if data_format == "channels_first":
            receptive = int(np.prod(shape[2:]))
            return shape[1] * receptive, shape[0] * receptive
        receptive = int(np.prod(shape[:-2]))
        return shape[-2] * receptive, shape[-1] * receptive
    n = np.sqrt(np.prod(shape)) if shape else 1
    return n, n


class VarianceScaling(Initializer):
    """Samples with variance ``scale / n`` (n by ``mode``: fan_in, fan_out, fan_avg);
    'normal' draws a truncated normal with stddev sqrt(scale/n)/0.8796 (the stddev of a
    standard normal truncated at 2), 'uniform' draws from [-sqrt(3 scale/n), +sqrt(3 scale/n)]."""

    MODES = ("fan_in", "fan_out", "fan_avg")
    DISTRIBUTIONS = ("normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="normal", seed=None):
        if scale <= 0.0:
            raise ValueError(f"VarianceScaling: `scale` must be a positive float, got {scale}")
        mode = mode.lower()
        if mode not in self.MODES:
            raise ValueError(f"VarianceScaling: invalid `mode` {mode!r}; valid: {self.MODES}")
        distribution = distribution.lower()
        if distribution not in self.DISTRIBUTIONS:
            raise ValueError(f"VarianceScaling: invalid `distribution` {distribution!r}; "
                             f"valid: {self.DISTRIBUTIONS}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = _compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        rng = _rng(self.seed)
        if self.distribution == "normal":
            stddev = np.sqrt(scale) / 0.87962566103423978
            out = _truncated_normal(rng, 0.0, stddev, shape)
        else:
            limit = np.sqrt(3.0 * scale)
            out = rng.uniform(-limit, limit, size=shape)
        return out.astype(_dtype(dtype))

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


class Orthogonal(Initializer):
    """A random orthogonal matrix (of the flattened shape (prod(shape[:-1]), shape[-1]))."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype=None):
        rows = int(np.prod(shape[:-1]))
        cols = shape[-1]
        a = _rng(self.seed).normal(0.0, 1.0, size=(rows, cols))
        u, _, v = np.linalg.svd(a, full_matrices=False)
        q = u if u.shape == (rows, cols) else v
        return (self.gain * q.reshape(shape)).astype(_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """The identity matrix times ``gain`` (2-D square shapes only)."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(f"Identity initializer: only for 2-D square matrices, got shape "
                             f"{tuple(shape)}")
        return (self.gain * np.eye(shape[0])).astype(_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


def lecun_uniform(seed=None):
    return VarianceScaling(scale=1.0, mode="fan_in", distribution="uniform", seed=seed)


def glorot_normal(seed=None):
    return VarianceScaling(scale=1.0, mode="fan_avg", distribution="normal", seed=seed)


def glorot_uniform(seed=None):
    return VarianceScaling(scale=1.0, mode="fan_avg", distribution="uniform", seed=seed)


def he_normal(seed=None):
    return VarianceScaling(scale=2.0, mode="fan_in", distribution="normal", seed=seed)


def lecun_normal(seed=None):
    return VarianceScaling(scale=1.0, mode="fan_in", distribution="normal", seed=seed)


def he_uniform(seed=None):
    return VarianceScaling(scale=2.0, mode="fan_in", distribution="uniform", seed=seed)


# Keras 2's lower-case aliases.
zeros = zero = Zeros
ones = one = Ones
constant = Constant
uniform = random_uniform = RandomUniform
normal = random_normal = RandomNormal
truncated_normal = TruncatedNormal
identity = Identity
orthogonal = Orthogonal

_OBJECTS = {
    "Initializer": Initializer, "Zeros": Zeros, "Ones": Ones, "Constant": Constant,
    "RandomNormal": RandomNormal, "RandomUniform": RandomUniform,
    "TruncatedNormal": TruncatedNormal, "VarianceScaling": VarianceScaling,
    "Orthogonal": Orthogonal, "Identity": Identity,
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
    "uniform": RandomUniform, "random_uniform": RandomUniform, "normal": RandomNormal,
    "random_normal": RandomNormal, "truncated_normal": TruncatedNormal, "identity": Identity,
    "orthogonal": Orthogonal, "lecun_uniform": lecun_uniform, "glorot_normal": glorot_normal,
    "glorot_uniform": glorot_uniform, "he_normal": he_normal, "lecun_normal": lecun_normal,
    "he_uniform": he_uniform,
}


def serialize(initializer):
    from .utils import serialize_keras_object
    return serialize_keras_object(initializer)


def deserialize(config, custom_objects=None):
    from .utils import deserialize_keras_object
    return deserialize_keras_object(config, module_objects=_OBJECTS,
                                    custom_objects=custom_objects,
                                    printable_module_name="initializer")


def get(identifier):
    """An initializer from None, a name (case-insensitive), a config dict or a callable."""
    from .utils.generic_utils import get_from_module
    return get_from_module(identifier, _OBJECTS, "initializer")
