"""Every op case of the registry (tests/ir/op_cases) compiled to native code equals the
reference interpreter within float32 tolerance; ops without a native emitter run through
the fallback and must still give the same result (never a crash)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from graphc.codegen import compile_graph
from graphc.codegen.cpu.lowering import native_supported
from graphc.ir import Graph, evaluate

from ..ir.op_cases import all_cases
from ..ir.test_op_registry import build

CASES = all_cases()


def _compile_case(case):
    xs, outs = build(case)
    arrays = [np.asarray(a) for a in case.inputs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fn = compile_graph(Graph(xs, outs, name=case.op))
    return xs, outs, arrays, fn


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_compiled_op_matches_interpreter(case):
    xs, outs, arrays, fn = _compile_case(case)
    got = fn(arrays)
    assert len(got) == len(outs)
    for v, g in zip(outs, got):
        assert g.dtype.name == v.dtype, f"{case.op}: compiled {g.dtype}, inferred {v.dtype}"
    if case.check is not None:            # random ops: properties only
        case.check(got, arrays)
        return
    ref = evaluate(outs, dict(zip(xs, arrays)))
    for r, g in zip(ref, got):
        assert g.shape == r.shape
        np.testing.assert_allclose(g, r, rtol=max(case.rtol, 2e-6), atol=max(case.atol, 1e-6),
                                   err_msg=f"compiled {case.op} differs from the interpreter")
    # a second call gives the same answer (no state leaks between calls)
    again = fn(arrays)
    for a, g in zip(again, got):
        np.testing.assert_array_equal(a, g)


def test_core_ops_run_natively():
    """The ops a dense network needs have native emitters (no fallback)."""
    for case in CASES:
        if case.op in ("add", "sum", "mul", "exp", "broadcast_like", "transpose", "reshape",
                       "mean", "max", "tanh", "relu", "sigmoid") and not case.check:
            xs, outs = build(case)
            if any(v.dtype == "float16" for v in xs):
                continue
            assert native_supported(outs[0].node), case.id


def test_float32_matmul_runs_natively():
    matmuls = [c for c in CASES if c.op in ("matmul", "dot") and
               all(np.asarray(a).dtype == np.float32 for a in c.inputs) and
               all(np.ndim(a) <= 2 for a in c.inputs)]
    assert matmuls
    for case in matmuls:
        xs, outs = build(case)
        assert native_supported(outs[0].node), case.id
