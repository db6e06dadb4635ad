"""Random ops: random_uniform, random_normal, truncated_normal, random_binomial.

A random op either has a static ``shape`` attribute (a tuple of ints) and no inputs, or takes
one input (``like``) whose run-time shape it copies -- so a dropout mask can follow a batch of
symbolic size. Only the input's shape is used: it gets no gradient.

Reproducibility: ``seed=None`` picks a seed when the node is built, from numpy's global random
state as Keras 2 does (``np.random.randint(10e6)``), and stores it in the attributes, so a built
graph is deterministic and ``np.random.seed(...)`` before building makes runs repeatable. The
interpreter's ``RngStates`` keeps one ``numpy.random.Generator`` per random node seeded from
that attribute: consecutive calls of one function give different values, and every function
built from the same graph gives the same sequence.
"""
from __future__ import annotations

import numpy as np

from ..types import FLOAT_DTYPES, INT_DTYPES, ShapeError, TensorType, as_dtype
from . import defop

MAX_SEED = 10_000_000


def _params_float(op, attrs, names):
    for name in names:
        value = attrs[name]
        try:
            attrs[name] = float(value)
        except (TypeError, ValueError):
            raise ShapeError(f"{op}: {name} must be a number, got {value!r}") from None
        if not np.isfinite(attrs[name]):
            raise ShapeError(f"{op}: {name} must be finite, got {value!r}")


def _normalize(op, params, dtypes, check):
    def normalize(types, attrs):
        shape = attrs["shape"]
        if len(types) > 1:
            raise ShapeError(f"{op}: takes at most one input (a tensor whose shape the result "
                             f"copies), got {len(types)}")
        if types and shape is not None:
            raise ShapeError(f"{op}: give either the static shape={shape!r} or an input whose "
                             f"shape to copy, not both")
        if not types:
            if shape is None:
                raise ShapeError(f"{op}: needs shape= (a tuple of ints) or an input whose shape "
                                 f"to copy")
            if isinstance(shape, (int, np.integer)):
                shape = (shape,)
            try:
                norm = tuple(int(d) for d in shape)
                ok = all(d >= 0 and d == s for d, s in zip(norm, shape))
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ShapeError(f"{op}: shape must be a tuple of non-negative ints, got "
                                 f"{shape!r}; for a symbolic (batch) size pass a tensor of that "
                                 f"shape as the input instead")
            attrs["shape"] = norm
        try:
            dtype = as_dtype(attrs["dtype"])
        except TypeError as e:
            raise ShapeError(f"{op}: {e}") from None
        if dtype not in dtypes:
            raise ShapeError(f"{op}: dtype must be one of {', '.join(dtypes)}, got {dtype!r}")
        attrs["dtype"] = dtype
        _params_float(op, attrs, params)
        check(attrs)
        seed = attrs["seed"]
        if seed is None:
            seed = int(np.random.randint(MAX_SEED))
        elif isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ShapeError(f"{op}: seed must be a non-negative int or None, got {seed!r}")
        attrs["seed"] = int(seed)
        return attrs
    return normalize


def _infer(types, shape=None, dtype="float32", **params):
    return TensorType(dtype, types[0].shape if types else shape)


def _no_grad(node, gouts):
    # The optional input only supplies a shape; nothing flows back to it.
    return [None] * len(node.inputs)


def _size(arrays, shape):
    return arrays[0].shape if arrays else tuple(shape)


def _float_draw(dtype):
    """numpy Generators draw float32 / float64 natively; float16 is drawn as float32."""
    return np.float64 if dtype == "float64" else np.float32


def _uniform(*like, shape=None, minval=0.0, maxval=1.0, dtype="float32", seed=None, rng):
    size = _size(like, shape)
    if dtype in INT_DTYPES:
        return rng.integers(int(minval), int(maxval), size=size, dtype=dtype)
    ft = _float_draw(dtype)
    u = rng.random(size, dtype=ft)
    return (ft(minval) + (ft(maxval) - ft(minval)) * u).astype(dtype, copy=False)


def _normal(*like, shape=None, mean=0.0, stddev=1.0, dtype="float32", seed=None, rng):
    ft = _float_draw(dtype)
    z = rng.standard_normal(_size(like, shape), dtype=ft)
    return (z * ft(stddev) + ft(mean)).astype(dtype, copy=False)


def _truncated(*like, shape=None, mean=0.0, stddev=1.0, dtype="float32", seed=None, rng):
    ft = _float_draw(dtype)
    z = rng.standard_normal(_size(like, shape), dtype=ft)
    bad = np.abs(z) > 2
    while bad.any():          # redraw values beyond two standard deviations (TF's rule)
        z[bad] = rng.standard_normal(int(bad.sum()), dtype=ft)
        bad = np.abs(z) > 2
    return (z * ft(stddev) + ft(mean)).astype(dtype, copy=False)


def _binomial(*like, shape=None, p=0.5, dtype="float32", seed=None, rng):
    u = rng.random(_size(like, shape), dtype=np.float64)
    return (u < p).astype(dtype)


def _check_uniform(attrs):
    if not attrs["minval"] < attrs["maxval"]:
        raise ShapeError(f"random_uniform: minval must be less than maxval, got "
                         f"minval={attrs['minval']}, maxval={attrs['maxval']}")


def _check_stddev(op):
    def check(attrs):
        if attrs["stddev"] < 0:
            raise ShapeError(f"{op}: stddev must be >= 0, got {attrs['stddev']}")
    return check


def _check_p(attrs):
    if not 0.0 <= attrs["p"] <= 1.0:
        raise ShapeError(f"random_binomial: p must be a probability in [0, 1], got {attrs['p']}")


def _def_random(name, reference, params, dtypes, check, doc):
    defaults = {"shape": None, "dtype": "float32", "seed": None, **params}
    defop(name, infer=_infer, reference=reference, grad=_no_grad, kind="random",
          defaults=defaults, normalize=_normalize(name, tuple(params), dtypes, check), doc=doc)


_SHAPE_DOC = ("shape= a tuple of ints, or one input whose run-time shape the result copies; "
              "dtype (default float32); seed (None: chosen when built).")

_def_random("random_uniform", _uniform, {"minval": 0.0, "maxval": 1.0},
            FLOAT_DTYPES + INT_DTYPES, _check_uniform,
            "Uniform values in [minval, maxval) (integers for an int dtype). " + _SHAPE_DOC)
_def_random("random_normal", _normal, {"mean": 0.0, "stddev": 1.0}, FLOAT_DTYPES,
            _check_stddev("random_normal"),
            "Normal values with the given mean and stddev. " + _SHAPE_DOC)
_def_random("truncated_normal", _truncated, {"mean": 0.0, "stddev": 1.0}, FLOAT_DTYPES,
            _check_stddev("truncated_normal"),
            "Normal values redrawn until within two stddevs of the mean (as TF). " + _SHAPE_DOC)
_def_random("random_binomial", _binomial, {"p": 0.5}, FLOAT_DTYPES, _check_p,
            "1.0 with probability p, else 0.0 (Keras K.random_binomial). " + _SHAPE_DOC)
