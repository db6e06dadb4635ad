import numpy as np

from . import Case, rand

CASES = [
    Case("sub", [rand(3, 4), rand(3, 1, seed=1)], np.subtract),
    Case("mul", [rand(3, 4), rand(4, seed=1)], np.multiply),
    Case("div", [rand(3, 4), rand(3, 4, seed=1, low=0.5, high=2.0)], np.divide),
    Case("neg", [rand(3, 4)], np.negative),
    Case("exp", [rand(3, 4)], np.exp),
]
