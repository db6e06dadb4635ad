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


@pytest.mark.parametrize("op,dtype", [(op, dt) for op in ("sum", "mean", "max", "min", "prod")
                                      for dt in ("float32", "int32")]
                         + [("any", "bool"), ("all", "bool")])
def test_a_reductions_identity_is_neutral_for_its_combine_and_folds_like_the_reference(op, dtype):
    import numpy as np
    red = REGISTRY[op].reduction
    rng = np.random.default_rng(3)
    xs = rng.integers(-3, 4, size=6).astype(dtype)
    acc = red.identity_value(dtype)
    for x in xs:
        assert eval(red.combine("a", "b"), {}, {"a": red.identity_value(dtype), "b": x}) == x
        acc = eval(red.combine("a", "b"), {}, {"a": acc, "b": x})
    if red.finalize == "mean":
        acc = acc / len(xs)
    np.testing.assert_allclose(np.asarray(acc, dtype="float64"),
                               REGISTRY[op].reference(xs).astype("float64"), rtol=1e-6)


def test_max_and_min_fold_a_nan_in_as_numpy_does():
    import math
    for op in ("max", "min"):
        red = REGISTRY[op].reduction
        acc = red.identity_value("float32")
        for x in (1.0, float("nan"), 2.0):
            acc = eval(red.combine("a", "b"), {}, {"a": acc, "b": x})
        assert math.isnan(acc), op


def test_only_reductions_carry_reduction_facts_and_identities_are_checked():
    from graphc.ir.ops import Reduction
    assert all(d.kind == "reduction" for d in REGISTRY.values() if d.reduction is not None)
    with pytest.raises(ValueError, match="identity must be one of"):
        Reduction("nothing", lambda a, b: a)
    with pytest.raises(ValueError, match="only a reduction has reduction facts"):
        OpDef("bad2", infer=None, reference=None, kind="shape",
              reduction=Reduction("zero", lambda a, b: f"{a} + {b}"))


def test_every_reduction_the_cpu_folds_has_its_facts_in_its_definition():
    from graphc.codegen.cpu.lowering import LOWERINGS
    from graphc.codegen.cpu.lowering.reduce import _emit_reduce
    folded = [op for op, entry in LOWERINGS.items() if entry.emit is _emit_reduce]
    assert sorted(folded) == ["all", "any", "max", "mean", "min", "prod", "sum"]
    assert all(REGISTRY[op].reduction is not None for op in folded)


def test_costs_live_in_the_op_definitions_and_the_profiler_counts_them():
    import numpy as np
    from graphc.ir import TensorType, apply, source
    from graphc.ir.interpreter import evaluate
    from graphc.profiler import kernel_cost
    rng = np.random.default_rng(0)

    def run(val):
        ins = [rng.normal(size=i.shape).astype("float32") for i in val.node.inputs]
        outs = evaluate([val], dict(zip(val.node.inputs, ins)))
        return kernel_cost(val.node, ins, outs)[0]

    def src(name, shape):
        return source("input", TensorType("float32", shape), name=name)
    x, w = src("x", (4, 6)), src("w", (6, 5))
    assert REGISTRY["matmul"].cost is not None
    assert run(apply("matmul", x, w)) == 2 * 4 * 5 * 6
    assert run(apply("softmax", x, axis=-1)) == 5 * 24          # max, sub, exp, sum, div
    assert run(apply("tanh", x)) == 24                           # the elementwise kind's rule
    im, k = src("im", (2, 7, 7, 3)), src("k", (3, 3, 3, 4))
    b = src("b", (4,))
    conv = run(apply("conv2d", im, k))
    assert conv == 2 * (2 * 5 * 5 * 4) * (3 * 3 * 3)
    assert run(apply("conv2d_bias_act", im, k, b, activation="relu")) == conv
    assert all(d.cost is None or callable(d.cost) for d in REGISTRY.values())
