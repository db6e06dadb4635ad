"""The CPU lowering registry: one table, filled by ``@lowers`` next to each lowering, that the
writer asks what runs natively and what a lowering promises about aliasing."""
from __future__ import annotations

import ast
import os

import pytest

from graphc.codegen.cpu import lowering
from graphc.codegen.cpu.lowering import registry
from graphc.ir import REGISTRY, TensorType, apply, source

LOWERING_DIR = os.path.dirname(lowering.__file__)


def _decorated_ops():
    """op -> file, read from the ``@lowers("op", ...)`` lines of the family modules."""
    found = {}
    for name in sorted(os.listdir(LOWERING_DIR)):
        if not name.endswith(".py"):
            continue
        tree = ast.parse(open(os.path.join(LOWERING_DIR, name)).read())
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            for dec in node.decorator_list:
                if isinstance(dec, ast.Call) and getattr(dec.func, "id", None) == "lowers":
                    for arg in dec.args:
                        if isinstance(arg, ast.Constant):
                            assert arg.value not in found, arg.value
                            found[arg.value] = name
    return found


def test_every_lowered_op_is_found_by_its_name_in_a_lowers_line():
    found = _decorated_ops()
    # ops registered through a tuple (CONV_OPS, POOL_OPS) are the only ones not spelled out
    spelled_out = {op for op in lowering.LOWERINGS if op in found}
    from graphc.codegen.cpu.lowering.nn import CONV_OPS, POOL_OPS
    assert set(lowering.LOWERINGS) == spelled_out | set(CONV_OPS) | set(POOL_OPS)
    assert found["sum"] == "reduce.py" and found["matmul"] == "linalg.py"
    assert found["scan"] == "loop.py" and found["reshape"] == "shape.py"


def test_every_lowering_names_a_defined_op_and_fresh_ones_agree_with_the_definition():
    assert lowering.LOWERINGS
    for op, entry in lowering.LOWERINGS.items():
        assert op in REGISTRY, op
        if entry.fresh:
            assert REGISTRY[op].aliases == "fresh", op


def test_an_op_lowered_twice_or_unknown_or_falsely_fresh_is_refused():
    def emit(ctx, node):
        pass
    with pytest.raises(ValueError, match="'sum' is lowered twice"):
        registry.lowers("sum")(emit)
    with pytest.raises(ValueError, match="no such op"):
        registry.lowers("no_such_op_anywhere")(emit)
    assert REGISTRY["transpose"].aliases != "fresh"
    saved = registry.LOWERINGS.pop("transpose")
    try:
        with pytest.raises(ValueError, match="aliases='strided_view'"):
            registry.lowers("transpose", fresh=True)(emit)
        assert "transpose" not in registry.LOWERINGS
    finally:
        registry.LOWERINGS["transpose"] = saved


def test_elementwise_ops_take_the_kind_lowering_and_float16_stays_in_python():
    x = source("input", TensorType("float32", (3,)), name="x")
    y = apply("tanh", x)
    node = y.node
    assert "tanh" not in lowering.LOWERINGS
    assert lowering.lowering_of(node) is registry.KIND_LOWERINGS["elementwise"]
    assert lowering.native_supported(node) and lowering.fresh_outputs(node)
    assert lowering.writes_destination(node)
    h = source("input", TensorType("float16", (3,)), name="h")
    assert not lowering.native_supported(apply("tanh", h).node)


def test_views_are_not_fresh_and_an_unlowered_op_is_not_native():
    x = source("input", TensorType("float32", (2, 3)), name="x")
    t = apply("transpose", x, perm=(1, 0))
    assert lowering.native_supported(t.node) and not lowering.fresh_outputs(t.node)
    s = apply("sum", x, axes=(1,))
    assert lowering.fresh_outputs(s.node) and not lowering.writes_destination(s.node)
    unlowered = [op for op, d in REGISTRY.items()
                 if op not in lowering.LOWERINGS and d.kind not in registry.KIND_LOWERINGS]
    assert unlowered          # ops that run their numpy reference (random ops, for one)


def test_the_registry_module_is_a_leaf():
    tree = ast.parse(open(registry.__file__).read())
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert all(m in ("__future__", "dataclasses", "typing", "ir.ops") for m in imported), imported


def test_both_code_generators_name_a_placeholder_missing_from_the_inputs():
    from graphc.codegen.cpu.lower import lower
    from graphc.codegen.cuda.lower import lower as lower_cuda
    from graphc.ir import Graph
    x = source("input", TensorType("float32", (3,)), name="x")
    z = source("input", TensorType("float32", (3,)), name="zz")
    g = Graph([x], [apply("add", x, z)])
    assert [v.name for v in g.free_inputs()] == ["zz"]
    for plan in (lower, lower_cuda):
        with pytest.raises(ValueError, match="placeholder 'zz' .* not among the function's inputs"):
            plan(g)
