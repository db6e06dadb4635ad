"""graphc.profiler: kernel-by-kernel runs, accounting that adds up, costs, ceilings."""
import json
import os
import runpy

import numpy as np
import pytest

from graphc import backend as K
from graphc import profiler
from graphc.ir.interpreter import evaluate
from graphc.passes import optimize

SCRIPT = os.path.join(os.path.dirname(__file__), "cli_scripts", "tiny_mlp.py")


def tiny_mlp():
    return runpy.run_path(SCRIPT, run_name="tiny_mlp")["build"]()


def test_reference_profile_parts_add_up_to_the_total():
    f = tiny_mlp()
    p = profiler.profile(f, n=5, batch_size=16, mode="reference")
    assert p.calls == 5 and len(p.kernels) == len(optimize(f.graph, "fast_run")[0])
    assert all(k.calls == 5 for k in p.kernels)
    # the table's lines (kernels + dispatch) are the measured total ...
    assert p.kernel_seconds + p.dispatch_seconds == pytest.approx(p.total_seconds)
    # ... and the kernels are most of it: dispatch is the Python between them
    assert 0 < p.kernel_seconds <= p.total_seconds
    assert p.kernel_seconds >= 0.3 * p.total_seconds
    # groups partition the kernel time
    assert sum(g["seconds"] for g in p.by_op()) == pytest.approx(p.kernel_seconds)
    assert sum(g["seconds"] for g in p.by_layer()) == pytest.approx(p.kernel_seconds)
    assert sum(r["percent"] for r in p.rows()) + \
        100 * p.dispatch_seconds / p.total_seconds == pytest.approx(100.0)


def test_profile_names_layers_and_reports_json():
    p = profiler.profile(tiny_mlp(), n=2, mode="reference")
    layers = {g["name"] for g in p.by_layer()}
    assert {"dense_1", "dense_2", "loss", "SGD"} <= layers
    doc = json.loads(json.dumps(p.to_json()))
    assert doc["kernels"] and doc["kernels"][0]["seconds"] >= doc["kernels"][-1]["seconds"]
    assert any(r["layers"] == ["dense_1"] and r["src"].startswith("tiny_mlp.py:")
               for r in doc["kernels"])
    text = p.table()
    assert "Kernels (slowest first)" in text and "Layers:" in text and "dispatch" in text


def test_profile_leaves_the_variables_unchanged():
    f = tiny_mlp()
    before = [v.node.attrs["var"].value.copy() for v, _ in f.graph.updates]
    profiler.profile(f, n=3, mode="reference")
    after = [v.node.attrs["var"].value for v, _ in f.graph.updates]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


def test_compiled_kernel_runner_matches_the_reference_interpreter():
    x = K.placeholder(shape=(None, 6), name="x")
    w = K.variable(np.linspace(-1, 1, 18).reshape(6, 3), name="w")
    with K.name_scope("head"):
        y = K.sum(K.tanh(K.dot(x, w)) * 2.0 + 1.0, axis=1)
    f = K.function([x], [y], name="head")
    g, _ = optimize(f.graph, "fast_run")
    runner = profiler.KernelRunner(g, "compiled")
    assert {k.how for k in runner.kernels} == {"native"}
    assert [k.op for k in runner.kernels] == ["dot", "fused", "sum"]
    xs = np.random.default_rng(0).random((5, 6)).astype(np.float32)
    total, outs = runner.run([xs], measure_cost=True)
    want = evaluate(f.graph.outputs, {x: xs})
    np.testing.assert_allclose(outs[0], want[0], rtol=1e-5)
    assert total >= sum(k.seconds for k in runner.kernels)
    dot = runner.kernels[0]
    assert dot.flops == 2 * 5 * 3 * 6 and dot.bytes == 4 * (5 * 6 + 6 * 3 + 5 * 3)


def test_compiled_profile_has_rates_and_the_whole_function_time():
    x = K.placeholder(shape=(None, 6), name="x")
    w = K.variable(np.ones((6, 3)), name="w")
    f = K.function([x], [K.relu(K.dot(x, w))], name="relu_dot")
    ceil = {"gflops": 10.0, "gbps": 5.0, "cpu": "test"}
    p = profiler.profile(f, n=3, calibration=ceil)
    assert p.function_seconds is not None and p.function_seconds > 0
    assert p.ceilings == ceil and "sgemm 10.0 GFLOP/s" in p.table()
    dot = [r for r in p.rows() if r["op"] == "dot"][0]
    assert dot["gflops"] > 0 and dot["gbps"] > 0


def test_kernel_cost_rules():
    x = K.placeholder(shape=(4, 5), name="x")
    f = K.function([x], [K.exp(x) * 2.0 + 1.0], name="ew")
    g, _ = optimize(f.graph, "fast_run")
    (node,) = [n for n in g.nodes() if n.op == "fused"]
    a = np.ones((4, 5), np.float32)
    flops, nbytes = profiler.kernel_cost(node, [a], [a])
    assert flops == 3 * 20 and nbytes == 2 * 80


def test_layer_of():
    assert profiler.layer_of("grad/grad/dense_1/activation") == "dense_1"
    assert profiler.layer_of("training/SGD/grad/grad/dense_2") == "dense_2"
    assert profiler.layer_of("training/Adam") == "training/Adam"
    assert profiler.layer_of("loss/dense_2_loss") == "loss/dense_2_loss"
    assert profiler.layer_of("") == ""


def test_calibration_is_measured_once_and_cached():
    quick = profiler.calibrate(quick=True)
    assert quick["gflops"] > 0 and quick["gbps"] > 0
    first = profiler.calibrate()
    path = os.path.join(os.environ["GRAPHC_HOME"], "calibration.json")
    assert os.path.exists(path)
    assert profiler.calibrate() == first           # read back, not re-measured


def test_bad_arguments_are_clear_errors():
    f = tiny_mlp()
    with pytest.raises(ValueError, match="mode must be one of compiled, reference"):
        profiler.profile(f, mode="fast")
    with pytest.raises(ValueError, match="positive int"):
        profiler.profile(f, n=0)


def test_conv_gradients_cost_what_the_forward_costs():
    from graphc.ir import TensorType, apply, source
    x = source("input", TensorType("float32", (2, 6, 6, 3)), name="x")
    k = source("input", TensorType("float32", (3, 3, 3, 4)), name="k")
    y = apply("conv2d", x, k)
    g = source("input", TensorType("float32", y.shape), name="g")
    xa, ka = np.ones((2, 6, 6, 3), np.float32), np.ones((3, 3, 3, 4), np.float32)
    ga = np.ones(y.shape, np.float32)
    fwd, _ = profiler.kernel_cost(y.node, [xa, ka], [ga])
    assert fwd == 2 * ga.size * 27
    for op, ins, out in [("conv2d_backprop_input", [x, k, g], xa),
                         ("conv2d_backprop_filter", [x, k, g], ka)]:
        node = apply(op, *ins).node
        flops, _ = profiler.kernel_cost(node, [xa, ka, ga], [out])
        assert flops == fwd, op
