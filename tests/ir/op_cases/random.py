"""Cases for the random ops: properties of the sample (``check=``), not fixed values."""
import numpy as np

from . import Case, rand

N = 20_000  # samples for moment checks: the standard error of a mean is ~0.007 * stddev


def moments(mean, std, low=None, high=None, dtype="float32", shape=None):
    """check(outputs, inputs): dtype, shape, mean and stddev within 5 standard errors, range."""
    def check(outs, ins):
        y = outs[0]
        assert y.dtype == np.dtype(dtype)
        if shape is not None:
            assert y.shape == shape
        if ins:
            assert y.shape == ins[0].shape
        y = y.astype(np.float64)
        se = std / np.sqrt(y.size)
        assert abs(y.mean() - mean) < 5 * se + 1e-6, (y.mean(), mean)
        assert abs(y.std() - std) < 0.05 * std + 1e-6, (y.std(), std)
        if low is not None:
            assert y.min() >= low
        if high is not None:
            assert y.max() <= high
    return check


def binary(p, shape=None):
    def check(outs, ins):
        y = outs[0]
        assert y.dtype == np.float32
        assert set(np.unique(y)) <= {0.0, 1.0}
        if ins:
            assert y.shape == ins[0].shape
        if shape is not None:
            assert y.shape == shape
        assert abs(y.mean() - p) < 5 * np.sqrt(p * (1 - p) / y.size) + 1e-9
    return check


TRUNC_STD = 0.8796  # stddev of a standard normal truncated to [-2, 2]

CASES = [
    Case("random_uniform", [], None, attrs=dict(shape=(100, 200), minval=-2.0, maxval=3.0,
                                                seed=1),
         check=moments(0.5, 5 / np.sqrt(12), -2.0, 3.0, shape=(100, 200)), grad=False,
         name="static-shape"),
    Case("random_uniform", [rand(N // 100, 100)], None, attrs=dict(seed=2),
         check=moments(0.5, 1 / np.sqrt(12), 0.0, 1.0), grad=False, batch=True,
         name="like-batch"),
    Case("random_uniform", [], None, attrs=dict(shape=(N,), dtype="float64", seed=3),
         check=moments(0.5, 1 / np.sqrt(12), 0.0, 1.0, dtype="float64"), grad=False,
         name="float64"),
    Case("random_normal", [], None, attrs=dict(shape=(N,), mean=1.5, stddev=2.0, seed=4),
         check=moments(1.5, 2.0, shape=(N,)), grad=False, name="static-shape"),
    Case("random_normal", [rand(N // 50, 5, 10)], None, attrs=dict(seed=5),
         check=moments(0.0, 1.0), grad=False, batch=True, name="like-batch"),
    Case("truncated_normal", [], None, attrs=dict(shape=(N,), mean=-1.0, stddev=0.5, seed=6),
         check=moments(-1.0, 0.5 * TRUNC_STD, -1.0 - 1.0, -1.0 + 1.0), grad=False,
         name="static-shape"),
    Case("truncated_normal", [rand(N // 100, 100)], None, attrs=dict(seed=7),
         check=moments(0.0, TRUNC_STD, -2.0, 2.0), grad=False, batch=True, name="like-batch"),
    Case("random_binomial", [], None, attrs=dict(shape=(N,), p=0.3, seed=8),
         check=binary(0.3, shape=(N,)), grad=False, name="static-shape"),
    Case("random_binomial", [rand(N // 100, 100)], None, attrs=dict(p=0.8, seed=9),
         check=binary(0.8), grad=False, batch=True, name="like-batch"),
]
