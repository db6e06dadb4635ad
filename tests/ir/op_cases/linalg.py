"""Cases for the contraction family (graphc/ir/ops/linalg.py)."""
import numpy as np

from . import Case, rand


def _f64(fn):
    """Expected values computed in float64 (independent of the op's float32 arithmetic)."""
    return lambda *xs: fn(*[x.astype(np.float64) for x in xs])


def _batch_dot(x, y, ax, ay):
    """Keras 2 batch_dot by its definition: one np.tensordot per batch entry."""
    rows = [np.tensordot(x[i], y[i], axes=(ax - 1, ay - 1)) for i in range(x.shape[0])]
    out = np.stack(rows)
    return out.reshape(-1, 1) if out.ndim == 1 else out


CASES = [
    Case("matmul", [rand(3, 4), rand(4, 5, seed=1)], _f64(np.matmul), rtol=1e-5),
    Case("matmul", [rand(5, 4), rand(4, 2, seed=1)], _f64(np.matmul), batch=True, name="batch"),
    Case("matmul", [rand(2, 3, 4), rand(2, 4, 5, seed=1)], _f64(np.matmul), name="batched"),
    Case("matmul", [rand(2, 1, 3, 4), rand(3, 4, 2, seed=1)], _f64(np.matmul),
         name="broadcast-batch"),
    Case("matmul", [rand(4), rand(2, 4, 3, seed=1)], _f64(np.matmul), name="vec-left"),
    Case("matmul", [rand(2, 3, 4), rand(4, seed=1)], _f64(np.matmul), name="vec-right"),
    Case("matmul", [rand(4), rand(4, seed=1)], _f64(np.matmul), name="vec-vec"),
    Case("dot", [rand(3, 4), rand(4, 5, seed=1)], _f64(np.dot)),
    Case("dot", [rand(5, 3, 4), rand(4, 2, seed=1)], _f64(np.dot), batch=True,
         name="3d-2d-batch"),
    Case("dot", [rand(2, 3, 4), rand(5, 4, 2, seed=1)],
         _f64(lambda x, y: np.einsum("abk,ckd->abcd", x, y)), name="3d-3d"),
    Case("dot", [rand(3, 4), rand(4, seed=1)], _f64(lambda x, y: (x * y).sum(-1)),
         name="mat-vec"),
    Case("dot", [rand(4), rand(4, 3, seed=1)], _f64(lambda x, y: (x[:, None] * y).sum(0)),
         name="vec-mat"),
    Case("batch_dot", [rand(5, 4), rand(5, 4, seed=1)],
         _f64(lambda x, y: (x * y).sum(1, keepdims=True)), attrs={"axes": 1}, batch=True,
         name="vectors-axes1"),
    Case("batch_dot", [rand(3, 2, 4), rand(3, 4, 5, seed=1)],
         _f64(lambda x, y: _batch_dot(x, y, 2, 1)), attrs={"axes": (2, 1)}, batch=True,
         name="matrices"),
    Case("batch_dot", [rand(3, 2, 4), rand(3, 4, 5, seed=1)],
         _f64(lambda x, y: _batch_dot(x, y, 2, 1)), name="default-axes-3d"),
    Case("batch_dot", [rand(3, 4), rand(3, 4, seed=1)],
         _f64(lambda x, y: _batch_dot(x, y, 1, 1)), name="default-axes-2d"),
    Case("batch_dot", [rand(3, 4, 1), rand(3, 5, 4, seed=1)],
         _f64(lambda x, y: _batch_dot(x, y, 1, 2)), attrs={"axes": (1, 2)},
         name="keras-doc-example"),
    Case("batch_dot", [rand(3, 4), rand(3, 5, 4, seed=1)],
         _f64(lambda x, y: _batch_dot(x, y, 1, 2)), attrs={"axes": (1, 2)}, name="2d-3d"),
    Case("batch_dot", [rand(2, 3, 4, 2), rand(2, 4, 5, seed=1)],
         _f64(lambda x, y: _batch_dot(x, y, 2, 1)), attrs={"axes": (2, 1)}, name="4d-3d"),
    Case("batch_dot", [rand(2, 3, 4), rand(2, 4, seed=1)],
         _f64(lambda x, y: _batch_dot(x, y, 2, 1)), attrs={"axes": (-1, -1)}, name="3d-2d"),
    Case("tensordot", [rand(3, 4, 5), rand(4, 5, 2, seed=1)],
         _f64(lambda x, y: np.einsum("abc,bcd->ad", x, y))),
    Case("tensordot", [rand(3, 4, 5), rand(5, 3, seed=1)],
         _f64(lambda x, y: np.einsum("abc,ca->b", x, y)), attrs={"axes": ((2, 0), (0, 1))},
         name="pairs"),
    Case("tensordot", [rand(5, 3), rand(3, 2, seed=1)], _f64(lambda x, y: x @ y),
         attrs={"axes": ((1,), (0,))}, batch=True, name="batch"),
    Case("tensordot", [rand(2, 3), rand(4, seed=1)],
         _f64(lambda x, y: x[:, :, None] * y), attrs={"axes": 0}, name="outer"),
]
