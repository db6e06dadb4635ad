"""Facts the code generators read from an op's one definition (graphc/ir/ops): aliasing."""
from __future__ import annotations

import numpy as np
import pytest

from graphc.ir.ops import ALIASES, REGISTRY, OpDef

X = np.arange(24, dtype=np.float32).reshape(2, 3, 4)

# the ops that declare views (inputs, attrs as a code generator may see them)
VIEWS = [
    ("reshape", [X], {"shape": (6, 4)}),
    ("reshape_like", [X, np.zeros((4, 6), np.float32)], {}),
    ("flatten", [X], {}),
    ("expand_dims", [X], {"axis": 1}),
    ("squeeze", [X[:, :1]], {"axis": 1}),
    ("transpose", [X], {"perm": (2, 0, 1)}),
]


def test_exactly_the_reshapes_and_transpose_declare_views():
    views = sorted(op for op, d in REGISTRY.items() if d.aliases in ("view", "strided_view"))
    assert views == sorted(op for op, _, _ in VIEWS)
    assert REGISTRY["transpose"].aliases == "strided_view"      # other strides: not free
    assert REGISTRY["reshape"].aliases == "view"                # same order: free everywhere


def test_the_cpu_code_generator_reads_aliasing_from_the_op_definitions():
    from graphc.codegen.cpu import lower
    from graphc.codegen.cpu.lowering import LOWERINGS
    for op, d in REGISTRY.items():
        assert lower._is_view(op) == (d.aliases in ("view", "strided_view")), op
    fresh = [op for op, entry in LOWERINGS.items() if entry.fresh]
    assert fresh and all(REGISTRY[op].aliases == "fresh" for op in fresh)
    assert not any(lower._is_view(op) for op in fresh)


@pytest.mark.parametrize("op", ["sum", "mean", "max", "matmul", "softmax", "broadcast_like",
                                "tanh", "add"])
def test_reductions_contractions_and_elementwise_ops_are_fresh(op):
    assert REGISTRY[op].aliases == "fresh"


def test_an_unknown_aliasing_value_is_refused_naming_the_op():
    with pytest.raises(ValueError, match="op 'bad': aliases must be one of"):
        OpDef("bad", infer=None, reference=None, kind="shape", aliases="maybe")
    assert None in ALIASES                              # unknown = may alias (conservative)
