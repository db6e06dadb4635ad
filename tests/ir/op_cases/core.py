import numpy as np

from . import Case, rand

CASES = [
    Case("add", [rand(3, 4), rand(4, seed=1)], np.add),
    Case("add", [rand(2, 1, 3), rand(4, 1, seed=1)], np.add, name="broadcast-both"),
    Case("add", [rand(5, 3), rand(1, 3, seed=1)], np.add, batch=True, name="batch"),
    Case("sum", [rand(3, 4, 5)], lambda x: x.sum(), name="all"),
    Case("sum", [rand(3, 4, 5)], lambda x: x.sum(axis=(0, 2), keepdims=True),
         attrs={"axes": (0, -1), "keepdims": True}, name="keepdims"),
    Case("sum", [rand(3, 4, 5)], lambda x: x.sum(axis=1), attrs={"axes": 1}, name="axis1"),
    Case("broadcast_like", [rand(4), rand(3, 4, seed=1)],
         lambda g, x: np.broadcast_to(g, x.shape), attrs={"axes": ()}, grad=(0,)),
    Case("broadcast_like", [rand(3), rand(3, 4, seed=1)],
         lambda g, x: np.broadcast_to(g[:, None], x.shape), attrs={"axes": (1,)}, grad=(0,),
         name="inserted-axis"),
    Case("broadcast_like", [rand(3, 1), rand(3, 4, seed=1)],
         lambda g, x: np.broadcast_to(g, x.shape), attrs={"axes": ()}, grad=(0,),
         name="size1-axis"),
    Case("fill_like", [rand(2, 3)], lambda x: np.full_like(x, 3.5), attrs={"value": 3.5},
         grad=False),
    Case("cast", [rand(2, 3, low=-5, high=5)], lambda x: x.astype(np.int32),
         attrs={"dtype": "int32"}, grad=False),
    Case("cast", [rand(2, 3, dtype="float64")], lambda x: x.astype(np.float32),
         attrs={"dtype": "float32"}, name="f64-to-f32", atol=1e-6,
         grad=False),  # finite differences through float32 rounding are meaningless
    Case("identity", [rand(2, 3)], lambda x: x),
    Case("stop_gradient", [rand(2, 3)], lambda x: x, grad=False),
]
