"""Cases for the shape family (graphc/ir/ops/shape.py)."""
import numpy as np

from . import Case, rand

X = rand(3, 4, 5)
IDX = np.array([[0, 2], [3, 3], [1, 0]], dtype=np.int64)


def _scatter(g, idx, p):
    """Independent scatter-add along axis 0: one loop step per index."""
    out = np.zeros_like(p)
    rows = g.reshape((idx.size,) + p.shape[1:])
    for k, i in enumerate(idx.reshape(-1)):
        out[i] += rows[k]
    return out


def _reflect(x, b, a):
    """1-D reflect padding written out by hand."""
    return np.concatenate([x[1:b + 1][::-1], x, x[-1 - a:-1][::-1]])


def _symmetric(x, b, a):
    return np.concatenate([x[:b][::-1], x, x[len(x) - a:][::-1]])


CASES = [
    Case("shape", [X], lambda x: np.array([3, 4, 5]), grad=False),
    Case("shape", [rand(5, 2)], lambda x: np.array([5, 2]), grad=False, batch=True,
         name="batch"),
    Case("size", [X], lambda x: np.array(60), grad=False, name="all"),
    Case("size", [rand(5, 2, 3)], lambda x: np.array(15, np.float32), grad=False, batch=True,
         attrs={"axes": (0, 2), "dtype": "float32"}, name="batch-float"),
    Case("reshape", [X], lambda x: x.reshape(12, 5), attrs={"shape": (12, 5)}),
    Case("reshape", [X], lambda x: x.reshape(-1, 20), attrs={"shape": (-1, 20)}, batch=True,
         name="batch-minus1"),
    Case("reshape", [X], lambda x: x.reshape(2, -1, 5), attrs={"shape": (2, -1, 5)},
         name="minus1-middle"),
    Case("reshape_like", [rand(12), rand(3, 4, seed=1)], lambda x, r: x.reshape(3, 4),
         grad=(0,)),
    Case("reshape_like", [rand(6, 2), rand(6, 1, 2, seed=1)], lambda x, r: x.reshape(6, 1, 2),
         batch=True, grad=(0,), name="batch"),
    Case("flatten", [X], lambda x: x.reshape(3, 20), batch=True),
    Case("flatten", [rand(4)], lambda x: x.reshape(4, 1), name="1d"),
    Case("transpose", [X], lambda x: x.transpose(2, 0, 1), attrs={"perm": (2, 0, 1)},
         batch=True),
    Case("transpose", [X], lambda x: x.T, name="reverse-default"),
    Case("expand_dims", [X], lambda x: x[:, None], attrs={"axis": 1}, batch=True),
    Case("expand_dims", [X], lambda x: x[..., None], attrs={"axis": -1}, name="last"),
    Case("squeeze", [rand(3, 1, 4, 1)], lambda x: x[:, 0, :, 0], batch=True),
    Case("squeeze", [rand(3, 1, 4, 1)], lambda x: x[:, :, :, 0], attrs={"axis": -1},
         name="one-axis"),
    Case("reverse", [X], lambda x: x[:, ::-1, ::-1], attrs={"axes": (1, 2)}, batch=True),
    Case("reverse", [X], lambda x: x[::-1, ::-1, ::-1], name="all"),
    Case("concatenate", [rand(3, 2), rand(3, 4, seed=1), rand(3, 1, seed=2)],
         lambda *xs: np.concatenate(xs, axis=1), attrs={"axis": -1}, batch=True),
    Case("concatenate", [rand(4, 3), rand(4, 3, seed=1)],
         lambda *xs: np.concatenate(xs, axis=0), attrs={"axis": 0}, batch=True,
         name="batch-axis"),
    Case("concatenate", [rand(4, 3), rand(2, 3, seed=1)],
         lambda *xs: np.concatenate(xs, axis=0), attrs={"axis": 0}, batch=True,
         name="batch-axis-mixed"),
    Case("split_like", [rand(5, 3), rand(2, 3, seed=1), rand(3, 3, seed=2)],
         lambda g, a, b: [g[:2], g[2:]], attrs={"axis": 0}, grad=(0,)),
    Case("stack", [rand(3, 2), rand(3, 2, seed=1)], lambda *xs: np.stack(xs, axis=1),
         attrs={"axis": 1}, batch=True),
    Case("stack", [rand(3, 2), rand(3, 2, seed=1), rand(3, 2, seed=2)],
         lambda *xs: np.stack(xs, axis=-1), attrs={"axis": -1}, name="last"),
    Case("slice", [X], lambda x: x[1:, ::2, -3:-1],
         attrs={"begin": (1, None, -3), "end": (None, None, -1), "step": (1, 2, 1)}),
    Case("slice", [X], lambda x: x[::-1, 3:0:-2],
         attrs={"begin": (None, 3), "end": (None, 0), "step": (-1, -2)}, name="negative-steps"),
    Case("slice", [rand(6, 4)], lambda x: x[1:-1, 2:],
         attrs={"begin": (1, 2), "end": (-1, None), "step": (1, 1)}, batch=True, name="batch"),
    Case("slice", [rand(6, 4)], lambda x: x[::-2],
         attrs={"begin": (None,), "end": (None,), "step": (-2,)}, batch=True,
         name="batch-neg-step"),
    Case("slice_grad", [rand(2, 2), rand(3, 4, seed=1)],
         lambda g, x: np.pad(g, ((1, 0), (0, 2))),
         attrs={"begin": (1, 0), "end": (None, 2), "step": (1, 1)}, grad=(0,)),
    Case("gather", [rand(5, 3), IDX], lambda p, i: p[i]),
    Case("gather", [rand(2, 5, 3), np.array([4, -1, 0], np.int32)],
         lambda p, i: p[:, i], attrs={"axis": 1}, grad=(0,), name="axis1-negative"),
    Case("gather_grad", [rand(3, 2, 3), IDX, rand(5, 3, seed=1)],
         lambda g, i, p: _scatter(g, i, p), grad=(0,)),
    Case("one_hot", [np.array([[0, 3], [2, 5]], np.int64)],
         lambda i: np.eye(4, dtype=np.float32)[np.minimum(i, 3)] * (i < 4)[..., None],
         attrs={"num_classes": 4}, grad=False),
    Case("tile", [rand(2, 3)], lambda x: np.tile(x, (2, 3)), attrs={"reps": (2, 3)},
         batch=True),
    Case("tile", [rand(2, 3)], lambda x: np.tile(x, (2, 1, 2)), attrs={"reps": (2, 1, 2)},
         name="more-reps"),
    Case("tile", [rand(2, 3)], lambda x: np.tile(x, 3), attrs={"reps": 3}, name="int-reps"),
    Case("repeat", [rand(3, 2)], lambda x: np.repeat(x, 3, axis=1),
         attrs={"repeats": 3, "axis": 1}, batch=True),
    Case("repeat", [rand(3, 2)], lambda x: np.repeat(x, 2, axis=0),
         attrs={"repeats": 2, "axis": 0}, batch=True, name="batch-axis"),
    Case("repeat", [rand(3, 2)], lambda x: np.repeat(x, 2), attrs={"repeats": 2},
         name="flat"),
    Case("pad", [rand(3, 4)], lambda x: np.pad(x, ((1, 2), (0, 1)), constant_values=0.5),
         attrs={"pads": ((1, 2), (0, 1)), "constant_value": 0.5}, batch=True),
    Case("pad", [rand(5)], lambda x: _reflect(x, 2, 3), attrs={"pads": ((2, 3),),
                                                               "mode": "reflect"},
         name="reflect-1d"),
    Case("pad", [rand(5)], lambda x: _symmetric(x, 3, 2),
         attrs={"pads": ((3, 2),), "mode": "symmetric"}, name="symmetric-1d"),
    Case("pad", [rand(3, 4)], lambda x: np.pad(x, ((1, 2), (2, 1)), mode="reflect"),
         attrs={"pads": ((1, 2), (2, 1)), "mode": "reflect"}, name="reflect-2d"),
    Case("pad", [rand(4, 3)], lambda x: np.pad(x, ((2, 1), (1, 0)), mode="symmetric"),
         attrs={"pads": ((2, 1), (1, 0)), "mode": "symmetric"}, batch=True,
         name="symmetric-2d-batch"),
]
