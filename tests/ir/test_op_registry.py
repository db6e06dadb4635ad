"""Every op in the registry: forward against an independent numpy computation, gradient
against central finite differences in float64 (cases in tests/ir/op_cases/)."""
from __future__ import annotations

import numpy as np
import pytest

from graphc.ir import REGISTRY, TensorType, apply, evaluate, source
from graphc.ir.types import is_float
from graphc.ir.autodiff import gradients

from .op_cases import all_cases

CASES = all_cases()
SOURCE_OPS = {name for name, d in REGISTRY.items() if d.kind == "source"}


def build(case, dtype_override=None):
    """Placeholders for the case's inputs and the op's output Values (as a list)."""
    xs = []
    for i, a in enumerate(case.inputs):
        a = np.asarray(a)
        dt = a.dtype.name
        if dtype_override and is_float(dt):
            dt = dtype_override
        shape = a.shape
        if case.batch and a.ndim and a.shape[0] == np.shape(case.inputs[0])[0]:
            shape = ("B",) + shape[1:]
        xs.append(source("input", TensorType(dt, shape), name=f"x{i}"))
    out = apply(case.op, *xs, **case.attrs)
    return xs, list(out) if isinstance(out, tuple) else [out]


def check_static_shape(value, arr):
    assert value.ndim == arr.ndim, f"{value.type} vs actual {arr.shape}"
    for d, n in zip(value.shape, arr.shape):
        if isinstance(d, int):
            assert d == n, f"inferred {value.type} but computed shape {arr.shape}"


@pytest.mark.parametrize("op", sorted(set(REGISTRY) - SOURCE_OPS))
def test_every_op_has_a_case(op):
    assert any(c.op == op for c in CASES), f"op {op!r} has no Case in tests/ir/op_cases/"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_forward_matches_numpy(case):
    xs, outs = build(case)
    arrays = [np.asarray(a) for a in case.inputs]
    got = evaluate(outs, dict(zip(xs, arrays)))
    for v, g in zip(outs, got):
        assert g.dtype.name == v.dtype, f"{case.op}: inferred {v.dtype}, computed {g.dtype}"
        check_static_shape(v, g)
    if case.check is not None:
        case.check(got, arrays)
        return
    exp = case.expected(*arrays)
    exp = list(exp) if isinstance(exp, (list, tuple)) else [exp]
    assert len(exp) == len(got)
    for e, g in zip(exp, got):
        np.testing.assert_allclose(g, np.asarray(e), rtol=case.rtol, atol=case.atol)


GRAD_CASES = [c for c in CASES if c.grad]


def _loss_parts(outs, rng):
    """Fixed random weights so every output element contributes a different amount."""
    ws = []
    for v in outs:
        ws.append(None if not is_float(v.dtype) else rng)
    return ws


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c.id for c in GRAD_CASES])
def test_gradient_matches_finite_differences(case):
    xs, outs = build(case, dtype_override="float64")
    # contiguous copies: the finite differences below nudge elements through reshape(-1)
    arrays = [np.ascontiguousarray(np.asarray(a).astype(np.float64))
              if is_float(np.asarray(a).dtype.name) else np.asarray(a) for a in case.inputs]
    feeds = dict(zip(xs, arrays))
    shapes = [o.shape for o in evaluate(outs, feeds)]
    rng = np.random.default_rng(1)
    weights = [rng.uniform(0.5, 1.5, size=s) for s in shapes]
    float_outs = [(o, w) for o, w in zip(outs, weights) if is_float(o.dtype)]
    loss = None
    for o, w in float_outs:
        term = apply("sum", o * source_const(w))
        loss = term if loss is None else loss + term
    which = range(len(xs)) if case.grad is True else case.grad
    which = [i for i in which if is_float(xs[i].dtype)]
    grads = gradients(loss, [xs[i] for i in which])
    got = evaluate(grads, feeds)

    def f(arrs):
        vals = evaluate(outs, dict(zip(xs, arrs)))
        return sum(float(np.sum(v * w)) for v, w, o in zip(vals, weights, outs)
                   if is_float(o.dtype))

    eps = 1e-6
    for gi, i in enumerate(which):
        num = np.zeros_like(arrays[i])
        flat = num.reshape(-1)
        for k in range(arrays[i].size):
            plus = [a.copy() for a in arrays]
            minus = [a.copy() for a in arrays]
            plus[i].reshape(-1)[k] += eps
            minus[i].reshape(-1)[k] -= eps
            flat[k] = (f(plus) - f(minus)) / (2 * eps)
        assert got[gi].shape == arrays[i].shape, f"gradient shape {got[gi].shape} for input {i}"
        np.testing.assert_allclose(got[gi], num, rtol=1e-4, atol=1e-6,
                                   err_msg=f"gradient of {case.op} w.r.t. input {i}")


def source_const(arr):
    from graphc.ir import constant
    return constant(arr)
