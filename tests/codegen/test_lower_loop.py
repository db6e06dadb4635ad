"""The loop op ``scan`` compiles to one native loop (forward and its reversed-scan gradient),
and equals the reference interpreter: a 3-step RNN with its gradients, an LSTM-like step
with two states, go_backwards, a masked scan, a nested scan, zero steps."""
from __future__ import annotations

import re

import numpy as np
import pytest

from graphc.codegen import compile_graph
from graphc.codegen.cpu.lowering import native_supported
from graphc.codegen.cpu.lowering.loop import prepared_body
from graphc.ir import Graph, TensorType, apply, evaluate, source
from graphc.ir.node import Variable
from graphc.ir.ops.control import scan
from graphc.ir.autodiff import gradients
from graphc.passes.fuse import fuse

T, B, D, H = 3, 2, 4, 5


def _ph(shape, name, dtype="float32"):
    return source("input", TensorType(dtype, shape), name=name)


def _var(arr, name):
    v = Variable(np.array(arr, np.float32), name)
    return source("variable", TensorType("float32", v.value.shape), name=name, var=v)


def _weights(rng, d=D, h=H, gates=1):
    W = _var(rng.normal(size=(d, gates * h)) * 0.5, "W")
    U = _var(rng.normal(size=(h, gates * h)) * 0.5, "U")
    b = _var(rng.normal(size=(gates * h,)) * 0.1, "b")
    return W, U, b


def _compile_and_compare(inputs, outputs, arrays, rtol=2e-5, atol=2e-6):
    g = Graph(inputs, outputs, name="scan_test")
    fn = compile_graph(fuse(g))
    assert fn.stats["python_nodes"] == 0, fn.program.fallback_ops
    assert fn.stats["segments"] == 1
    got = fn(arrays)
    ref = evaluate(outputs, dict(zip(inputs, arrays)))
    for r, v in zip(ref, got):
        assert v.dtype == r.dtype and v.shape == r.shape
        np.testing.assert_allclose(v, r, rtol=rtol, atol=atol)
    return fn, got


def _rnn(xs, h0, W, U, b, **kw):
    def step(x, h, W, U, b):
        y = apply("tanh", apply("matmul", x, W) + apply("matmul", h, U) + b)
        return [y], [y]
    return scan(step, [xs], [h0], [W, U, b], symbolic_batch=True, **kw)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_rnn_forward_and_gradient_run_in_one_native_call(go_backwards):
    rng = np.random.default_rng(0)
    xs, h0 = _ph((T, "B", D), "xs"), _ph(("B", H), "h0")
    W, U, b = _weights(rng)
    res = _rnn(xs, h0, W, U, b, go_backwards=go_backwards)
    ys, = res.outputs
    loss = apply("sum", apply("mul", ys, ys))
    grads = gradients(loss, [W, U, b, xs, h0])
    arrays = [rng.normal(size=(T, B, D)).astype(np.float32),
              rng.normal(size=(B, H)).astype(np.float32)]
    fn, _ = _compile_and_compare([xs, h0], [ys, res.final_states[0], loss] + grads, arrays)
    scans = [n for n in fn.graph.nodes() if n.op == "scan"]
    assert len(scans) == 2 and all(native_supported(n) for n in scans)
    # no per-step Python: the loop is in the generated source
    assert fn.source.count("for s") >= 2


def test_lstm_like_two_state_scan_and_gradient():
    rng = np.random.default_rng(1)
    xs, h0, c0 = _ph((T, "B", D), "xs"), _ph(("B", H), "h0"), _ph(("B", H), "c0")
    W, U, b = _weights(rng, gates=4)

    def step(x, h, c, W, U, b):
        z = apply("matmul", x, W) + apply("matmul", h, U) + b      # (B, 4H), gates sliced
        i, f, o, g = (z[:, k * H:(k + 1) * H] for k in range(4))
        c_new = apply("sigmoid", f) * c + apply("sigmoid", i) * apply("tanh", g)
        h_new = apply("sigmoid", o) * apply("tanh", c_new)
        return [h_new], [h_new, c_new]

    res = scan(step, [xs], [h0, c0], [W, U, b], symbolic_batch=True)
    ys, = res.outputs
    loss = apply("sum", ys * ys) + apply("sum", res.final_states[1])
    grads = gradients(loss, [W, U, b, xs])
    arrays = [rng.normal(size=(T, B, D)).astype(np.float32),
              rng.normal(size=(B, H)).astype(np.float32),
              rng.normal(size=(B, H)).astype(np.float32)]
    _compile_and_compare([xs, h0, c0], [ys] + res.final_states + [loss] + grads, arrays)


def _stack_reads(fn) -> list[int]:
    """How often the forward loop's kernel reads each product stack (``Z..``) it fills, then
    how often the kernel that receives those stacks (the gradient loop) reads each."""
    from graphc.codegen.kir import KernelCall
    body = [s for d in fn.program.kir.drivers for s in d.body]
    if not any(isinstance(s, KernelCall) for s in body):
        # the step is one function: both loops read the stacks under the same names
        text = "\n".join(ln for s in body for ln in s.unit.lines)
        stacks = sorted(set(re.findall(r"\b(Z\d+) = ", text)))
        return [len(re.findall(rf"= {z}\[", text)) // 2 for z in stacks] * 2
    calls = [c for c in body if isinstance(c, KernelCall)]
    for k, call in enumerate(calls):
        body = "\n".join(call.kernel.body.lines)
        stacks = sorted(set(re.findall(r"\b(Z\d+) = ", body)))
        if not stacks:
            continue
        counts = [len(re.findall(rf"= {z}\[", body)) for z in stacks]
        outer = {call.results[call.kernel.results.index(z)] for z in stacks
                 if z in call.kernel.results}
        for later in calls[k + 1:]:
            params = [p for p, a in zip(later.kernel.params, later.args) if a in outer]
            if params:
                text = "\n".join(later.kernel.body.lines)
                return counts + [len(re.findall(rf"= {p}\[", text)) for p in params]
        return counts
    return []


def test_lstm_gradient_loop_builds_the_gate_cotangent_once_and_no_weight_products():
    rng = np.random.default_rng(4)
    xs, h0, c0 = _ph((T, "B", D), "xs"), _ph(("B", H), "h0"), _ph(("B", H), "c0")
    W, U, b = _weights(rng, gates=4)

    def step(x, h, c, W, U, b):
        z = apply("matmul", x, W) + apply("matmul", h, U) + b
        i, f, o, g = (z[:, k * H:(k + 1) * H] for k in range(4))
        c_new = apply("sigmoid", f) * c + apply("sigmoid", i) * apply("tanh", g)
        return [apply("sigmoid", o) * apply("tanh", c_new)], [
            apply("sigmoid", o) * apply("tanh", c_new), c_new]

    res = scan(step, [xs], [h0, c0], [W, U, b], symbolic_batch=True)
    loss = apply("sum", res.outputs[0] * res.outputs[0])
    grads = gradients(loss, [W, U, b, xs])
    arrays = [rng.normal(size=(T, B, D)).astype(np.float32),
              rng.normal(size=(B, H)).astype(np.float32),
              rng.normal(size=(B, H)).astype(np.float32)]
    fn, _ = _compile_and_compare([xs, h0, c0], [loss] + grads, arrays)
    # the products h @ U and x @ W are stacked by the forward loop and read back by the
    # gradient loop: each buffer is taken once in each loop, and BLAS runs once per product
    assert _stack_reads(fn) == [1, 1, 1, 1]
    back = [n for n in fn.graph.nodes() if n.op == "scan" and n.attrs["go_backwards"]]
    assert len(back) == 1
    body = prepared_body(back[0].attrs["body"])
    ops = [n.op for n in body.nodes()]
    # the four zero-padded gate cotangents and their sum became one concatenate
    assert "slice_grad" not in ops and ops.count("concatenate") == 1
    # dW and dU are products after the loop, not T small products inside it
    weight_shapes = {(D, 4 * H), (H, 4 * H)}
    assert not [n for n in body.nodes() if n.op in ("matmul", "dot")
                and n.outputs[0].shape in weight_shapes]
    # the gate kernel writes the four gate cotangents straight into their columns of the
    # gradient loop's stacked output (no concatenation copy, no copy into that stack) and
    # reads the gates' columns of the step's pre-activations through their C parent
    grad_loop = fn.source[fn.source.rindex("for s"):]
    assert "concatenate: the result does not fit its destination" in grad_loop
    assert "differ off the concatenation axis" not in grad_loop
    # one stacked output is copied: the product giving the sequence's cotangent
    assert grad_loop.count("a step output changed shape") == 1
    assert len(re.findall(r"\w+\[\(i\d+, \d+ \+ i\d+\)\] = ", grad_loop)) == 3
    assert re.search(r"= \w+\[\(i\d+, \d+ \+ i\d+\)\]$", grad_loop, re.M)


def test_step_outputs_are_written_into_their_stack_slots_or_copied():
    # a concatenation of two kernels' results, a kernel's result, a sequence element passed
    # through and a product: the first two are written in place (and the concatenation's
    # inputs into their spans), the other two are copied into their slots; all equal the
    # reference, forward and gradient
    rng = np.random.default_rng(7)
    xs, h0 = _ph((T, "B", D), "xs"), _ph(("B", D), "h0")
    W = _var(rng.normal(size=(D, H)) * 0.5, "W")

    def step(x, h, W):
        a, b = apply("tanh", x + h), apply("sigmoid", x * h)
        cat = apply("concatenate", a, b, axis=1)
        return [cat, a * 2.0, x, apply("matmul", h, W)], [a]

    res = scan(step, [xs], [h0], [W], symbolic_batch=True)
    loss = sum(apply("sum", y * y) for y in res.outputs)
    grads = gradients(loss, [W, xs, h0])
    arrays = [rng.normal(size=(T, B, D)).astype(np.float32),
              rng.normal(size=(B, D)).astype(np.float32)]
    fn, _ = _compile_and_compare([xs, h0], list(res.outputs) + [loss] + grads, arrays)
    fwd = fn.source[fn.source.index("for s"):fn.source.index("for s") + 4000]
    fwd = fwd[:fwd.find("\n    T")] if "\n    T" in fwd else fwd
    assert "concatenate: the result does not fit its destination" in fwd
    assert fwd.count("a step output changed shape between steps") == 2


def test_masked_scan_carries_states_over_masked_steps():
    rng = np.random.default_rng(2)
    xs, h0 = _ph((T, "B", D), "xs"), _ph(("B", H), "h0")
    mask = _ph((T, "B"), "mask")
    W, U, b = _weights(rng)
    res = _rnn(xs, h0, W, U, b, mask=mask)
    ys, = res.outputs
    loss = apply("sum", ys * ys)
    grads = gradients(loss, [W, U, b])
    m = np.array([[1, 1], [0, 1], [1, 0]], np.float32)
    arrays = [rng.normal(size=(T, B, D)).astype(np.float32),
              rng.normal(size=(B, H)).astype(np.float32), m]
    _, got = _compile_and_compare([xs, h0, mask], [ys, loss] + grads, arrays)
    np.testing.assert_array_equal(got[0][1, 0], got[0][0, 0])     # masked: output repeats


def test_zero_steps_give_empty_outputs_and_the_initial_state():
    rng = np.random.default_rng(3)
    xs, h0 = _ph(("T", "B", D), "xs"), _ph(("B", H), "h0")
    W, U, b = _weights(rng)
    res = _rnn(xs, h0, W, U, b)
    arrays = [np.zeros((0, B, D), np.float32), rng.normal(size=(B, H)).astype(np.float32)]
    g = Graph([xs, h0], [res.outputs[0], res.final_states[0]])
    fn = compile_graph(g)
    ys, hT = fn(arrays)
    assert ys.shape == (0, B, H)
    np.testing.assert_array_equal(hT, arrays[1])
    assert hT is not arrays[1]


def test_nested_scan_and_scalar_sequence():
    xs = _ph((4,), "xs")               # a 1-D sequence: each step is a 0-d value
    rows = _ph((3, 2), "rows")
    acc0 = _ph((), "acc0")

    def outer(x, acc, rows):
        inner = scan(lambda r, s: ([r * x], [s + apply("sum", r * x)]), [rows],
                     [acc * 0.0])
        return [inner.final_states[0]], [acc + inner.final_states[0]]

    res = scan(outer, [xs], [acc0], [rows])
    arrays = [np.arange(4, dtype=np.float32), np.arange(6, dtype=np.float32).reshape(3, 2),
              np.array(0.5, np.float32)]
    _compile_and_compare([xs, rows, acc0], [res.outputs[0], res.final_states[0]], arrays)


def test_scan_with_a_body_op_without_emitter_runs_its_reference_whole():
    xs, h0 = _ph((T, 4), "xs"), _ph((6,), "h0")
    res = scan(lambda x, h: ([h], [h + apply("pad", x, pads=((1, 1),), mode="reflect")]),
               [xs], [h0])
    node = res.outputs[0].node
    assert not native_supported(node)
    g = Graph([xs, h0], [res.outputs[0], res.final_states[0]])
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fn = compile_graph(g)
    arrays = [np.arange(12, dtype=np.float32).reshape(T, 4), np.ones(6, np.float32)]
    ref = evaluate(g.outputs, dict(zip(g.inputs, arrays)))
    for r, v in zip(ref, fn(arrays)):
        np.testing.assert_allclose(v, r)
