"""Cases for the reduction family (graphc/ir/ops/reduce.py)."""
import numpy as np

from . import Case, rand


def _zeros_in(x, *idx):
    x = x.copy()
    for i in idx:
        x[i] = 0.0
    return x


def _log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def _softmax(x, axis):
    return np.exp(_log_softmax(x.astype(np.float64), axis))


def _onehot(labels, n):
    return np.eye(n, dtype=np.float32)[labels]


X = rand(3, 4, 5)
LOGITS = rand(4, 6, seed=3, low=-3, high=3)
PROBS = _softmax(rand(4, 6, seed=4), -1).astype(np.float32)
LABELS = np.array([0, 5, 2, 2], dtype=np.int64)

CASES = [
    # mean / var / std
    Case("mean", [X], lambda x: x.mean(), name="all"),
    Case("mean", [X], lambda x: x.mean(axis=(0, 2), keepdims=True),
         attrs={"axes": (0, -1), "keepdims": True}, name="keepdims"),
    Case("mean", [rand(5, 3)], lambda x: x.mean(axis=0), attrs={"axes": 0}, batch=True,
         name="batch-axis0"),
    Case("mean", [rand(5, 3)], lambda x: x.mean(axis=1), attrs={"axes": -1}, batch=True,
         name="batch-axis1"),
    Case("mean", [np.arange(6, dtype=np.int32).reshape(2, 3)],
         lambda x: x.mean(axis=1).astype(np.float32), attrs={"axes": 1}, grad=False,
         name="int-to-float32"),
    Case("var", [X], lambda x: x.var(axis=1), attrs={"axes": 1}),
    Case("var", [rand(5, 3)], lambda x: x.var(axis=0, keepdims=True),
         attrs={"axes": 0, "keepdims": True}, batch=True, name="batch-keepdims"),
    Case("std", [X], lambda x: x.std(axis=(1, 2)), attrs={"axes": (1, 2)}),
    Case("std", [rand(5, 3)], lambda x: x.std(), batch=True, name="batch-all"),
    # max / min (random data: no ties)
    Case("max", [X], lambda x: x.max(axis=1), attrs={"axes": 1}),
    Case("max", [X], lambda x: x.max(axis=(0, 2), keepdims=True),
         attrs={"axes": (0, 2), "keepdims": True}, name="keepdims"),
    Case("max", [rand(5, 3)], lambda x: x.max(axis=0), attrs={"axes": 0}, batch=True,
         name="batch"),
    Case("min", [X], lambda x: x.min(), name="all"),
    Case("min", [rand(5, 3)], lambda x: x.min(axis=-1), attrs={"axes": -1}, batch=True,
         name="batch"),
    # prod, including exact zeros (prod is linear in each element, so FD is exact there too)
    Case("prod", [rand(3, 4, low=0.5, high=1.5)], lambda x: x.prod(axis=1), attrs={"axes": 1}),
    Case("prod", [_zeros_in(rand(3, 4, low=0.5, high=1.5), (0, 1), (2, 0), (2, 3))],
         lambda x: x.prod(axis=1), attrs={"axes": 1}, name="with-zeros"),
    Case("prod", [_zeros_in(rand(2, 3, 4, low=0.5, high=1.5), (0, 1, 2))],
         lambda x: x.prod(axis=(0, 2), keepdims=True), attrs={"axes": (0, 2), "keepdims": True},
         name="two-axes-zero"),
    Case("prod", [rand(2, 3, low=0.5, high=1.5)], lambda x: x.prod(), name="all"),
    Case("prod", [rand(4, 3, low=0.5, high=1.5)], lambda x: x.prod(axis=0), attrs={"axes": 0},
         batch=True, name="batch"),
    # any / all / argmax / argmin
    Case("any", [rand(3, 4) > 0.5], lambda x: x.any(axis=1), attrs={"axes": 1}, grad=False),
    Case("any", [rand(3, 4)], lambda x: x.any(), grad=False, name="float-all"),
    Case("all", [rand(3, 4) > -0.8], lambda x: x.all(axis=0, keepdims=True),
         attrs={"axes": 0, "keepdims": True}, grad=False),
    Case("argmax", [X], lambda x: x.argmax(axis=-1), grad=False),
    Case("argmax", [X], lambda x: x.argmax(axis=1, keepdims=True),
         attrs={"axis": 1, "keepdims": True}, grad=False, name="keepdims"),
    Case("argmax", [X], lambda x: x.argmax(), attrs={"axis": None}, grad=False,
         name="flat"),
    Case("argmin", [rand(5, 3)], lambda x: x.argmin(axis=0), attrs={"axis": 0}, grad=False,
         batch=True),
    # logsumexp
    Case("logsumexp", [X], lambda x: np.log(np.exp(x.astype(np.float64)).sum(axis=-1)),
         attrs={"axes": -1}),
    Case("logsumexp", [rand(5, 3)], lambda x: np.log(np.exp(x.astype(np.float64)).sum(
        axis=0, keepdims=True)), attrs={"axes": 0, "keepdims": True}, batch=True,
         name="batch-keepdims"),
    Case("logsumexp", [np.array([[1e4, 1e4 - 1.0], [-1e4, -1e4 + 2.0]], np.float32)],
         lambda x: x.max(axis=1) + np.log1p(np.exp(-np.abs(x[:, 0] - x[:, 1]))),
         attrs={"axes": 1}, rtol=1e-6, name="large"),
    # cumsum / cumprod
    Case("cumsum", [X], lambda x: np.cumsum(x, axis=1), attrs={"axis": 1}),
    Case("cumsum", [rand(5, 3)], lambda x: np.cumsum(x, axis=0), batch=True, name="batch"),
    Case("cumprod", [rand(3, 4, low=0.5, high=1.5)], lambda x: np.cumprod(x, axis=-1),
         attrs={"axis": -1}),
    Case("cumprod", [rand(4, 3, low=0.5, high=1.5)], lambda x: np.cumprod(x, axis=0),
         batch=True, name="batch"),
    # softmax family
    Case("softmax", [LOGITS], lambda x: _softmax(x, -1)),
    Case("softmax", [X], lambda x: _softmax(x, 1), attrs={"axis": 1}, name="axis1"),
    Case("softmax", [rand(5, 4)], lambda x: _softmax(x, -1), batch=True, name="batch"),
    Case("log_softmax", [LOGITS], lambda x: _log_softmax(x.astype(np.float64), -1)),
    Case("log_softmax", [X], lambda x: _log_softmax(x.astype(np.float64), 0),
         attrs={"axis": 0}, name="axis0"),
    Case("softmax_cross_entropy", [LOGITS, PROBS],
         lambda x, t: -(t * _log_softmax(x.astype(np.float64), -1)).sum(-1), rtol=1e-5,
         name="probabilities"),
    Case("softmax_cross_entropy", [LOGITS, _onehot(LABELS, 6)],
         lambda x, t: -_log_softmax(x.astype(np.float64), -1)[np.arange(4), LABELS],
         batch=True, grad=(0,), name="onehot-batch"),
    Case("softmax_cross_entropy", [X, _softmax(rand(3, 4, 5, seed=7), 1).astype(np.float32)],
         lambda x, t: -(t * _log_softmax(x.astype(np.float64), 1)).sum(1),
         attrs={"axis": 1}, name="axis1"),
    Case("softmax_cross_entropy", [LOGITS, PROBS[:1]],
         lambda x, t: -(t * _log_softmax(x.astype(np.float64), -1)).sum(-1),
         name="broadcast-targets"),
    Case("sparse_softmax_cross_entropy", [LOGITS, LABELS],
         lambda x, y: -_log_softmax(x.astype(np.float64), -1)[np.arange(4), y], batch=True,
         grad=(0,)),
    Case("sparse_softmax_cross_entropy", [rand(2, 5, 3, seed=2),
                                          np.array([[0, 2, 1], [4, 4, 0]], np.int32)],
         lambda x, y: -np.take_along_axis(_log_softmax(x.astype(np.float64), 1),
                                          y[:, None, :], 1)[:, 0, :],
         attrs={"axis": 1}, grad=(0,), name="axis1"),
    Case("sigmoid_cross_entropy", [rand(4, 3, low=-4, high=4), rand(4, 3, seed=1, low=0, high=1)],
         lambda x, t: -(t * np.log(1 / (1 + np.exp(-x.astype(np.float64))))
                        + (1 - t) * np.log(1 - 1 / (1 + np.exp(-x.astype(np.float64))))),
         batch=True),
    Case("sigmoid_cross_entropy", [rand(4, 3, low=-4, high=4), rand(3, seed=1, low=0, high=1)],
         lambda x, t: np.logaddexp(0, x.astype(np.float64)) - x * t, name="broadcast"),
]
