"""An output that is a view of a variable (reshape, transpose) returns the value from before
the step's update of that variable, as the interpreter does: the update may not be written
into the variable's storage in place while the output still points at it. (Found by the
random-graph test: reshape(v) came back holding the running average written into v.)"""
from __future__ import annotations

import numpy as np
import pytest

from graphc.codegen import compile_graph
from graphc.ir import Graph, TensorType, apply, evaluate, source
from graphc.ir.node import Variable


@pytest.mark.parametrize("view", ["reshape", "transpose"])
def test_a_view_of_a_variable_is_returned_before_the_update(view):
    start = np.arange(6, dtype="float32").reshape(2, 3)
    var = Variable(start.copy(), f"v_{view}")
    v = source("variable", TensorType("float32", (2, 3)), name=var.name, var=var)
    x = source("input", TensorType("float32", ("B", 3)), name="x")
    out = apply("reshape", v, shape=(3, 2)) if view == "reshape" else \
        apply("transpose", v, perm=(1, 0))
    new = apply("add", apply("mul", v, apply("sum", x)), v)     # elementwise: in-place able
    g = Graph([x], [out], [(v, new)], name=f"view_{view}")
    xa = np.full((2, 3), 0.5, "float32")
    ref_out, ref_new = evaluate([out, new], {x: xa})
    got = compile_graph(g)([xa])[0]
    np.testing.assert_array_equal(got, ref_out)
    np.testing.assert_array_equal(var.value, ref_new)
    assert not np.shares_memory(got, var.value)
