"""Initializers: shapes, dtypes, seeds and the statistics of Keras 2's formulas."""
import numpy as np
import pytest

import graphc.backend as K
from graphc import constraints, initializers, regularizers


def test_seeded_initializers_are_reproducible_and_float32():
    for name in ["random_normal", "random_uniform", "truncated_normal", "glorot_uniform",
                 "glorot_normal", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform",
                 "orthogonal"]:
        cls = initializers.get(name).__class__
        cfg = initializers.get(name).get_config()
        cfg["seed"] = 3
        a = cls(**cfg)((20, 30))
        b = cls(**cfg)((20, 30))
        assert a.dtype == np.float32 and a.shape == (20, 30), name
        np.testing.assert_array_equal(a, b)


def test_variance_scaling_statistics():
    shape = (400, 600)
    fan_in, fan_out = shape
    w = initializers.glorot_uniform(seed=1)(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    assert np.abs(w).max() <= limit
    assert abs(w.std() - limit / np.sqrt(3)) < 0.02 * limit
    w = initializers.he_normal(seed=1)(shape)
    assert abs(w.std() - np.sqrt(2.0 / fan_in)) < 0.05 * np.sqrt(2.0 / fan_in)
    conv = initializers.glorot_uniform(seed=2)((3, 3, 16, 32))   # fans use the receptive field
    assert np.abs(conv).max() <= np.sqrt(6.0 / (9 * 16 + 9 * 32))


def test_truncated_normal_is_within_two_stddev():
    w = initializers.TruncatedNormal(mean=1.0, stddev=0.5, seed=0)((1000,))
    assert np.all(np.abs(w - 1.0) <= 1.0)


def test_orthogonal_and_identity():
    q = initializers.Orthogonal(seed=0)((6, 6))
    np.testing.assert_allclose(q @ q.T, np.eye(6), atol=1e-5)
    np.testing.assert_array_equal(initializers.Identity(gain=2.0)((3, 3)), 2 * np.eye(3))
    with pytest.raises(ValueError, match="square"):
        initializers.Identity()((2, 3))


def test_constant_zeros_ones_and_config_round_trip():
    assert np.all(initializers.get("Zeros")((2,)) == 0)
    assert np.all(initializers.get("ones")((2,)) == 1)
    c = initializers.Constant(value=3.5)
    again = initializers.deserialize(initializers.serialize(c))
    assert np.all(again((2, 2)) == 3.5)


def test_unknown_initializer_lists_valid_names():
    with pytest.raises(ValueError, match="Unknown initializer.*glorot_uniform"):
        initializers.get("glorot_uniformm")


def evaluate(fn, value):
    v = K.variable(value)
    return K.eval(fn(v))


def test_regularizers():
    w = np.array([[1.0, -2.0], [0.5, 0.0]], np.float32)
    np.testing.assert_allclose(evaluate(regularizers.l1(0.1), w), 0.1 * np.abs(w).sum(), rtol=1e-6)
    np.testing.assert_allclose(evaluate(regularizers.l2(0.1), w), 0.1 * (w ** 2).sum(), rtol=1e-6)
    r = regularizers.get({"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.2}})
    np.testing.assert_allclose(evaluate(r, w), 0.1 * np.abs(w).sum() + 0.2 * (w ** 2).sum(),
                               rtol=1e-6)


def test_constraints():
    w = np.array([[3.0, 0.1], [4.0, -0.2]], np.float32)
    mn = evaluate(constraints.max_norm(2.0), w)
    norms = np.sqrt((mn ** 2).sum(0))
    np.testing.assert_allclose(norms, [2.0, np.sqrt(0.05)], rtol=1e-5)
    np.testing.assert_array_equal(evaluate(constraints.non_neg(), w), np.maximum(w, 0))
    un = evaluate(constraints.unit_norm(), w)
    np.testing.assert_allclose(np.sqrt((un ** 2).sum(0)), [1, 1], rtol=1e-5)
    mm = evaluate(constraints.MinMaxNorm(1.0, 2.0), w)
    np.testing.assert_allclose(np.sqrt((mm ** 2).sum(0)), [2.0, 1.0], rtol=1e-5)
    assert isinstance(constraints.get("NonNeg"), constraints.NonNeg)
