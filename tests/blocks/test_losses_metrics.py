"""Losses and metrics against Keras 2's formulas recomputed in numpy."""
import numpy as np
import pytest

import graphc.backend as K
from graphc import losses, metrics

EPS = 1e-7
rng = np.random.default_rng(0)
YT = rng.uniform(0.05, 1.0, size=(4, 3)).astype(np.float32)
YP = rng.uniform(0.05, 1.0, size=(4, 3)).astype(np.float32)
SIGNED_T = np.sign(rng.normal(size=(4, 3))).astype(np.float32)
ONE_HOT = np.eye(3, dtype=np.float32)[[0, 2, 1, 2]]
PROBS = (YP / YP.sum(-1, keepdims=True)).astype(np.float32)


def run(fn, yt, yp):
    t = K.placeholder(shape=(None,) + yt.shape[1:], dtype=str(yt.dtype))
    p = K.placeholder(shape=(None,) + yp.shape[1:])
    return K.function([t, p], [fn(t, p)])([yt, yp])[0]


def l2n(x):
    return x / np.sqrt(np.maximum(np.sum(x * x, -1, keepdims=True), 1e-12))


CASES = [
    ("mse", YT, YP, lambda t, p: np.mean((p - t) ** 2, -1)),
    ("mae", YT, YP, lambda t, p: np.mean(np.abs(p - t), -1)),
    ("mape", YT, YP, lambda t, p: 100 * np.mean(np.abs((t - p) / np.clip(np.abs(t), EPS, None)), -1)),
    ("msle", YT, YP, lambda t, p: np.mean((np.log(p + 1) - np.log(t + 1)) ** 2, -1)),
    ("squared_hinge", SIGNED_T, YP, lambda t, p: np.mean(np.maximum(1 - t * p, 0) ** 2, -1)),
    ("hinge", SIGNED_T, YP, lambda t, p: np.mean(np.maximum(1 - t * p, 0), -1)),
    ("categorical_hinge", ONE_HOT, YP, lambda t, p: np.maximum(
        0, np.max((1 - t) * p, -1) - np.sum(t * p, -1) + 1)),
    ("logcosh", YT, YP, lambda t, p: np.mean(np.log(np.cosh(p - t)), -1)),
    ("categorical_crossentropy", ONE_HOT, PROBS,
     lambda t, p: -np.sum(t * np.log(np.clip(p, EPS, 1 - EPS)), -1)),
    ("binary_crossentropy", (YT > 0.5).astype(np.float32), YP, lambda t, p: np.mean(
        -(t * np.log(np.clip(p, EPS, 1 - EPS)) + (1 - t) * np.log(1 - np.clip(p, EPS, 1 - EPS))),
        -1)),
    ("kld", PROBS, PROBS[::-1].copy(), lambda t, p: np.sum(
        np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1) / np.clip(p, EPS, 1)), -1)),
    ("poisson", YT, YP, lambda t, p: np.mean(p - t * np.log(p + EPS), -1)),
    ("cosine_proximity", YT, YP, lambda t, p: -np.sum(l2n(t) * l2n(p), -1)),
]


@pytest.mark.parametrize("name,yt,yp,expected", CASES, ids=[c[0] for c in CASES])
def test_loss_matches_keras_formula(name, yt, yp, expected):
    got = run(losses.get(name), yt, yp)
    np.testing.assert_allclose(got, expected(yt.astype(np.float64), yp.astype(np.float64)),
                               rtol=1e-4, atol=1e-5)


def test_sparse_categorical_crossentropy_equals_dense_form():
    labels = np.array([[0], [2], [1], [2]], np.float32)
    got = run(losses.sparse_categorical_crossentropy, labels, PROBS)
    exp = -np.log(PROBS[np.arange(4), labels[:, 0].astype(int)])
    np.testing.assert_allclose(got, exp, rtol=1e-5)


def test_accuracy_metrics():
    p = np.array([[0.1, 0.7, 0.2], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.1, 0.2, 0.7]],
                 np.float32)
    t = np.eye(3, dtype=np.float32)[[1, 0, 0, 2]]
    np.testing.assert_array_equal(run(metrics.categorical_accuracy, t, p), [1, 1, 0, 1])
    sparse = np.array([[1], [0], [0], [2]], np.float32)
    np.testing.assert_array_equal(run(metrics.sparse_categorical_accuracy, sparse, p),
                                  [1, 1, 0, 1])
    bt = np.array([[1, 0, 0], [1, 0, 0], [0, 0, 1], [0, 0, 1]], np.float32)
    np.testing.assert_allclose(run(metrics.binary_accuracy, bt, p),
                               np.mean(bt == np.round(p), -1))
    top2 = run(lambda a, b: metrics.top_k_categorical_accuracy(a, b, k=2), t, p)
    # Keras 2 averages in_top_k over its only axis: the batch mean
    np.testing.assert_allclose(top2, 0.75)


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown loss function.*mean_squared_error"):
        losses.get("mean_square_error")
    with pytest.raises(ValueError, match="Unknown metric function"):
        metrics.get("acuracy")
    assert losses.get("MSE") is losses.mean_squared_error
