"""The kernel IR (graphc/codegen/kir.py, kir_passes.py) and the kernel calls of the CPU
target (cpu/runtime/linker.py): identical code is one kernel, compiled once; drivers call kernels by
symbol; a later process reuses the kernels a first one compiled."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numba import types

from graphc.codegen.cpu.runtime.linker import parse_type
from graphc.codegen.cpu.lower import lower
from graphc.codegen.executor import build
from graphc.codegen.kir import Driver, Inline, KernelCall, Module, Unit, names_of
from graphc.codegen import kir_passes
from graphc.codegen.kir_passes import group_units, lift_sizes, outline, plan_call, plan_kernel
from graphc.ir import Graph, TensorType, apply, evaluate, source
from graphc.ir.node import Variable
from graphc.passes.fuse import fuse

CONSTS = {"_k0": "_k0 = np.float32(0.0)", "_k7": "_k7 = np.float32(0.0)",
          "_k1": "_k1 = np.float32(2.0)"}


def _unit(lines, label="op"):
    return Unit(tuple("    " + ln for ln in lines), label)


def test_names_of_separates_reads_writes_and_sees_prange():
    loads, stores, par = names_of("    t1 = empty_c((n0,), np.float32)\n"
                                  "    for i in prange(n0):\n        t1[i] += v0[i]")
    assert {"empty_c", "n0", "np", "v0", "t1", "prange", "i"} <= loads
    assert stores == {"t1", "i"}
    assert par


def test_identical_code_under_other_names_has_one_key():
    a = _unit(["t5 = empty_c((v1.shape[0],), np.float32)",
               "for i6 in range(v1.shape[0]):", "    t5[i6] = max(v1[i6], _k0)"])
    b = _unit(["t9 = empty_c((v4.shape[0],), np.float32)",
               "for i2 in range(v4.shape[0]):", "    t9[i2] = max(v4[i2], _k7)"])
    c = _unit(["t9 = empty_c((v4.shape[0],), np.float32)",
               "for i2 in range(v4.shape[0]):", "    t9[i2] = max(v4[i2], _k1)"])
    ka = plan_kernel(a, ["v1"], ["t5"], CONSTS)
    kb = plan_kernel(b, ["v4"], ["t9"], CONSTS)
    kc = plan_kernel(c, ["v4"], ["t9"], CONSTS)
    assert ka.key == kb.key                      # same code, constants equal by value
    assert ka.key != kc.key                      # another constant value: another kernel
    assert ka.params == ("a0",) and ka.results == ("t0",)   # a local keeps its letters
    assert ka.constants == (("_c0", "np.float32(0.0)"),)


def test_repeated_sequences_merge_into_one_kernel_but_never_with_themselves(monkeypatch):
    monkeypatch.setattr(kir_passes, "SHARE_MIN_LINES", 0)       # share even one-liners

    def layer(k):
        return [_unit([f"h{k} = dot(x{k}, w{k})"], "dot"),
                _unit([f"x{k + 1} = relu(h{k})"], "relu")]
    units = [u for k in range(4) for u in layer(k)] + [_unit(["r = x4 * 2"], "tail")]
    d = Driver("seg0", ["x0", "w0", "w1", "w2", "w3"], units, epilogue=["    return r"])
    module = outline(Module([d], {}, ""))
    calls = d.body
    assert all(isinstance(c, KernelCall) for c in calls)
    labels = [c.kernel.label for c in calls]
    assert labels == ["dot+relu"] * 4 + ["tail"]
    assert len(module.kernels) == 2              # the four layers call one kernel
    assert calls[0].args == ("x0", "w0") and calls[3].results == ("x4",)


def test_a_short_kernel_used_twice_is_copied_not_called():
    """Two uses of a three-line kernel save less than a function of its own costs numba."""
    def unit(k):
        return _unit([f"y{k} = x{k} * 2", f"z{k} = y{k} + 1", f"x{k + 1} = z{k} * z{k}"], "f")
    d = Driver("seg0", ["x0"], [unit(0), unit(1)], epilogue=["    return x2"])
    module = outline(Module([d], {}, ""))
    # one piece of code used once: it stays in the driver, no kernel of its own
    assert len(d.body) == 1 and isinstance(d.body[0], Inline)
    assert d.body[0].unit.label == "f+f" and not module.kernels


def test_merging_leaves_parallel_loops_in_kernels_of_their_own():
    par = _unit(["for i in prange(n):", "    y[i] = x[i]"], "par")
    seq = _unit(["z = y[0]"], "seq")
    d = Driver("seg0", ["x", "y", "n"], [par, seq, par, seq])
    keys = {id(d): [plan_kernel(u, [], [], {}).key for u in d.units]}
    assert group_units([d], keys) == [[[0], [1], [2], [3]]]


@pytest.mark.parametrize("text, expected", [
    ("float32", types.float32),
    ("readonly array(float32, 2d, C)", types.Array(types.float32, 2, "C", readonly=True)),
    ("array(int64, 1d, A)", types.Array(types.int64, 1, "A")),
    ("UniTuple(array(float32, 1d, C) x 3)", types.UniTuple(types.float32[::1], 3)),
    ("Tuple(float32, array(float64, 3d, F))",
     types.Tuple((types.float32, types.Array(types.float64, 3, "F")))),
])
def test_stored_kernel_types_read_back_as_the_same_numba_types(text, expected):
    assert parse_type(text) == expected
    assert str(parse_type(str(expected))) == str(expected)


@pytest.mark.parametrize("text", ["__import__('os')", "list(int64)", "array(object, 1d, C)"])
def test_other_type_text_is_refused_not_evaluated(text):
    with pytest.raises(ValueError):
        parse_type(text)


def _var(arr, name):
    v = Variable(np.array(arr, np.float32), name)
    return source("variable", TensorType("float32", v.value.shape), name=name, var=v), v


@pytest.mark.parametrize("shapes, sizes", [
    ([(6, 5)] * 4, {("6", "5")}),
    # two shapes: each pair of equal updates is a kernel boundary (repeated code), and both
    # pairs are one kernel, called with each variable's sizes
    ([(6, 5), (6, 5), (3, 7), (3, 7)], {("6", "5"), ("3", "7")}),
])
def test_updates_of_four_variables_call_one_kernel_and_match_the_interpreter(
        shapes, sizes, monkeypatch):
    monkeypatch.setattr(kir_passes, "SHARE_MIN_LINES", 0)
    rng = np.random.default_rng(0)
    x = source("input", TensorType("float32", ()), name="x")
    updates = []
    for k, shape in enumerate(shapes):
        w, _ = _var(rng.normal(size=shape), f"w{k}")
        m, _ = _var(rng.normal(size=shape), f"m{k}")
        m_new = m * 0.9 + apply("tanh", w * x)
        updates += [(m, m_new), (w, w - 0.1 * m_new)]
    graph = fuse(Graph([x], [x * 1.0], updates=updates))
    want = evaluate([new for _, new in graph.updates], {x: np.float32(0.5)})
    program = lower(graph)
    calls = [s for d in program.kir.drivers for s in d.body]
    update = [c for c in calls if "sub" in c.kernel.label]
    assert len(update) == 4 and len({c.kernel.key for c in update}) == 1
    assert {c.args[len(c.args) - sum(p.startswith("_d") for p in c.kernel.params):]
            for c in update} == sizes
    fn = build(graph, program, False)
    fn([np.float32(0.5)])
    for (var, _), w in zip(graph.updates, want):
        np.testing.assert_allclose(var.node.attrs["var"].value, w, rtol=1e-6, atol=1e-6)


def test_sizes_written_into_code_become_arguments_of_one_kernel():
    text, sizes = lift_sizes("    t2 = empty_c((n0, 1, 128), np.float32)\n"
                             "    for i in range(16):\n"
                             "        t2[i, 0, 3] = a.shape[2] * 16 + x ** 2 + f(a, axis=2)")
    assert sizes == (128, 16, 16)
    assert text == ("    t2 = empty_c((n0, 1, _d0), np.float32)\n"
                    "    for i in range(_d1):\n"
                    "        t2[i, 0, 3] = a.shape[2] * _d2 + x ** 2 + f(a, axis=2)")
    a = _unit(["t1 = empty_c((v0.shape[0], 16), np.float32)", "for i in range(16):",
               "    t1[0, i] = v0[0, i]"])
    b = _unit(["t7 = empty_c((v3.shape[0], 64), np.float32)", "for i3 in range(64):",
               "    t7[0, i3] = v3[0, i3]"])
    (ka, sa), (kb, sb) = plan_call(a, ["v0"], ["t1"], {}), plan_call(b, ["v3"], ["t7"], {})
    assert ka.key == kb.key and ka.params == ("a0", "_d0", "_d1")
    assert (sa, sb) == (("16", "16"), ("64", "64"))


_MLP = textwrap.dedent("""
    import json, logging, sys
    import numpy as np
    from graphc.models import Sequential
    from graphc.layers import Dense

    def build(depth):
        m = Sequential()
        m.add(Dense(8, activation="relu", input_shape=(5,)))
        for _ in range(depth - 1):
            m.add(Dense(8, activation="relu"))
        m.add(Dense(3, activation="softmax"))
        m.compile(loss="categorical_crossentropy", optimizer="sgd")
        rng = np.random.default_rng(0)
        m.set_weights([0.3 * rng.normal(size=w.shape).astype("float32")
                       for w in m.get_weights()])
        x = rng.normal(size=(4, 5)).astype("float32")
        y = np.eye(3, dtype="float32")[[0, 1, 2, 0]]
        m.loss_value = m.train_on_batch(x, y)
        return m

    *first, last = [int(d) for d in sys.argv[1].split(",")]
    for depth in first:                  # models compiled earlier in the same process
        build(depth)
    records = []
    class H(logging.Handler):
        def emit(self, r):
            records.append(r.getMessage())
    lg = logging.getLogger("graphc.compile"); lg.addHandler(H()); lg.setLevel(logging.DEBUG)
    m = build(last)
    program = m.train_function.executor.program
    calls = [c.kernel.label if hasattr(c, "kernel") else "inline"
             for d in program.kir.drivers for c in d.body]
    print(json.dumps({"loss": float(m.loss_value), "calls": calls,
                      "kernels": len(program.kernels), "records": records}))
""")


def _run_mlp(depths, cache_dir):
    env = dict(os.environ, GRAPHC_CACHE_DIR=str(cache_dir))
    out = subprocess.run([sys.executable, "-c", _MLP, str(depths)], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    import json
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_identical_layers_compile_one_kernel_and_a_deeper_model_reuses_it(tmp_path):
    """Six identical hidden layers call one layer kernel; a second process building a
    deeper model (another step, another driver) loads that kernel from the cache."""
    first = _run_mlp(6, tmp_path)
    layer_calls = [c for c in first["calls"] if c.startswith("dot+bias_add+relu")]
    assert len(layer_calls) >= 5
    assert first["kernels"] < len(first["calls"])
    second = _run_mlp(7, tmp_path)
    hits = [r for r in second["records"] if r.startswith("numba cache hit")]
    misses = [r for r in second["records"] if r.startswith("numba cache miss")]
    # the layer kernel (and the other shared ones) come from the cache; only what differs
    # (the driver, at least) is compiled
    assert hits, second["records"]
    assert len(hits) >= 3
    assert any("seg0" in r for r in misses)
    assert np.isfinite(second["loss"])


def test_a_driver_compiled_after_others_in_one_process_loads_whole_in_the_next(tmp_path):
    """A driver whose kernel calls numba typed from its own cache (because an earlier model
    of the same process called the same kernels) still records every kernel it calls: a
    later process loading that driver from the cache runs it (it used to call an
    unregistered symbol and crash)."""
    _run_mlp("5,6", tmp_path / "shared")              # depth 6 compiled after depth 5
    second = _run_mlp("6", tmp_path / "shared")       # depth 6 alone, from the cache
    assert "dot+bias_add+relu" in second["calls"]     # its driver calls shared kernels
    assert any(r.startswith("numba cache hit") and "seg0" in r for r in second["records"])
    fresh = _run_mlp("6", tmp_path / "fresh")         # the same model compiled from scratch
    assert second["loss"] == pytest.approx(fresh["loss"], rel=1e-6)


def test_graphc_dump_kir_prints_the_kernel_ir_while_compiling(monkeypatch, capsys):
    from graphc.codegen import compile_graph
    x = source("input", TensorType("float32", ("B", 3)), name="x")
    monkeypatch.setenv("GRAPHC_DUMP", "kir")
    fn = compile_graph(Graph([x], [apply("tanh", x) * 2.0]))
    err = capsys.readouterr().err
    assert "// kernel IR: " in err and "driver seg0(" in err
    np.testing.assert_allclose(fn([np.ones((2, 3), np.float32)])[0], 2 * np.tanh(1.0),
                               rtol=1e-6)
