"""Generated elementwise loops check, at run time, every operand dim not known to fit the
result: it must equal the result's size or be 1, as numpy broadcasts. Generated code has no
bounds checks, so without this a (None, None) - (None, 3) fed a width of 2 read past the end
of its operand and a width of 5 was silently cut to 3."""
from __future__ import annotations

import numpy as np
import pytest

from graphc.codegen import compile_graph
from graphc.ir import Graph, TensorType, apply, source


@pytest.fixture(scope="module")
def sub():
    a = source("input", TensorType("float32", ("B", "W")), name="a")
    b = source("input", TensorType("float32", ("B", 3)), name="b")
    return compile_graph(Graph([a, b], [apply("sub", a, b)], name="bcast"))


@pytest.mark.parametrize("width", [3, 1])
def test_dims_that_broadcast_run_as_numpy(sub, width):
    rng = np.random.default_rng(width)
    a = rng.normal(size=(2, width)).astype("float32")
    b = rng.normal(size=(2, 3)).astype("float32")
    np.testing.assert_allclose(sub([a, b])[0], a - b, rtol=1e-6)


@pytest.mark.parametrize("width", [2, 5])
def test_dims_that_do_not_broadcast_are_refused(sub, width):
    a = np.ones((2, width), "float32")
    with pytest.raises(ValueError, match="do not broadcast"):
        sub([a, np.zeros((2, 3), "float32")])
    with pytest.raises(ValueError):
        np.ones((2, width)) - np.zeros((2, 3))          # numpy agrees
