"""compile_graph: variables and updates, symbolic batch, random ops, fallbacks, parallel
loops, float32 typing, aliasing -- each compared with the reference interpreter."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from graphc.codegen import compile_graph
from graphc.codegen.cpu import lower as lower_mod
from graphc.ir import Graph, TensorType, apply, evaluate, source
from graphc.ir.interpreter import RngStates
from graphc.ir.node import Variable
from graphc.passes.fuse import fuse


def _ph(shape, name="x", dtype="float32"):
    return source("input", TensorType(dtype, shape), name=name)


def _var(arr, name):
    arr = np.asarray(arr)
    var = Variable(arr.copy(), name)
    return source("variable", TensorType(arr.dtype.name, arr.shape), name=name, var=var), var


def _chain(x, b):
    return apply("tanh", x * 0.7 + b) * apply("sigmoid", x) + 0.5 * x * x


def test_one_native_call_for_forward_reduction_and_matmul():
    x = _ph(("B", 8))
    w = _ph((8, 3), "w")
    y = apply("sum", apply("relu", apply("matmul", x, w) + 1.0), axes=(1,))
    fn = compile_graph(fuse(Graph([x, w], [y])))
    assert fn.stats["segments"] == 1 and fn.stats["python_nodes"] == 0
    assert len(fn.program.kir.drivers) == 1      # one driver: the call's one native entry
    rng = np.random.default_rng(0)
    xa, wa = rng.normal(size=(5, 8)).astype(np.float32), rng.normal(size=(8, 3)).astype(
        np.float32)
    np.testing.assert_allclose(fn([xa, wa])[0], np.maximum(xa @ wa + 1, 0).sum(1), rtol=1e-5)


def test_reductions_over_every_axis_run_one_flat_loop():
    x = _ph(("B", 3, 4))
    outs = [apply("sum", x), apply("mean", x, keepdims=True), apply("max", x),
            apply("mean", apply("transpose", x, perm=(2, 1, 0)))]   # a strided view
    g = Graph([x], outs)
    fn = compile_graph(g)
    assert len(re.findall(r"= reshape_c\(\w+, \w+\)", fn.source)) == 1   # x flattened once
    rng = np.random.default_rng(3)
    for batch in (5, 1):
        xa = rng.normal(size=(batch, 3, 4)).astype(np.float32)
        got = fn([xa])
        assert got[1].shape == (1, 1, 1) and got[0].shape == ()
        for a, b in zip(got, [xa.sum(), xa.mean(keepdims=True), xa.max(), xa.mean()]):
            np.testing.assert_allclose(a, b, rtol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        empty = fn([np.zeros((0, 3, 4), np.float32)])
    assert empty[0] == 0 and np.isnan(empty[1]).all() and np.isnan(empty[3])


def test_symbolic_batch_does_not_recompile():
    x = _ph(("B", 8))
    b = _ph((8,), "b")
    g = fuse(Graph([x, b], [_chain(x, b)]))
    fn = compile_graph(g)
    disp = getattr(fn._module, "seg0")
    n_sigs = len(disp.signatures)
    ba = np.linspace(-1, 1, 8).astype(np.float32)
    for batch in (32, 7, 1):
        xa = np.random.default_rng(batch).normal(size=(batch, 8)).astype(np.float32)
        got = fn([xa, ba])[0]
        assert got.shape == (batch, 8)
        np.testing.assert_allclose(got, evaluate(g.outputs, {x: xa, b: ba})[0], rtol=2e-6,
                                   atol=1e-6)
    assert len(disp.signatures) == n_sigs


def test_updates_are_written_in_place_from_old_values():
    a, va = _var(np.array([1.0, 2.0], np.float32), "a")
    b, vb = _var(np.array([10.0, 20.0], np.float32), "b")
    x = _ph((2,))
    # swap a and b, and a read of the old a: Theano semantics, all from OLD values
    g = Graph([x], [a + x], updates=[(a, b), (b, a * 1.0)])
    fn = compile_graph(fuse(g))
    storage_a = va.value
    out = fn([np.ones(2, np.float32)])[0]
    np.testing.assert_array_equal(out, [2.0, 3.0])
    np.testing.assert_array_equal(va.value, [10.0, 20.0])
    np.testing.assert_array_equal(vb.value, [1.0, 2.0])
    assert va.value is storage_a                 # written in place
    fn([np.ones(2, np.float32)])
    np.testing.assert_array_equal(va.value, [1.0, 2.0])


def test_set_value_replacing_the_array_is_seen_by_the_next_call():
    w, vw = _var(np.ones((3,), np.float32), "w")
    x = _ph((3,))
    fn = compile_graph(Graph([x], [x * w], updates=[(w, w + 1.0)]))
    np.testing.assert_array_equal(fn([np.ones(3, np.float32)])[0], [1, 1, 1])
    vw.value = np.full(3, 5.0, np.float32)           # K.set_value
    np.testing.assert_array_equal(fn([np.ones(3, np.float32)])[0], [5, 5, 5])
    np.testing.assert_array_equal(vw.value, [6, 6, 6])
    vw.value = np.arange(6, dtype=np.float64)[::2]   # wrong dtype, not contiguous
    np.testing.assert_array_equal(fn([np.ones(3, np.float32)])[0], [0, 2, 4])
    assert vw.value.dtype == np.float32
    np.testing.assert_array_equal(vw.value, [1, 3, 5])


def test_output_that_is_a_variable_is_not_changed_by_the_update():
    w, vw = _var(np.zeros(2, np.float32), "w")
    x = _ph((2,))
    fn = compile_graph(Graph([x], [w, apply("transpose", w)], updates=[(w, w + x)]))
    o1, o2 = fn([np.ones(2, np.float32)])
    np.testing.assert_array_equal(o1, [0, 0])
    np.testing.assert_array_equal(o2, [0, 0])
    np.testing.assert_array_equal(vw.value, [1, 1])


def test_random_ops_match_the_interpreters_sequence():
    x = _ph(("B", 6))
    h = apply("tanh", x)
    mask = apply("random_uniform", h, seed=123)          # like an intermediate of batch B
    noise = apply("random_normal", shape=(2, 3), seed=7)
    g = Graph([x], [h * mask, noise])
    fn = compile_graph(fuse(g))
    rng = RngStates()
    xa = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    first = fn([xa])
    for _ in range(2):
        got = fn([xa]) if _ else first
        ref = evaluate(g.outputs, {x: xa}, rng=rng)
        for a, r in zip(got, ref):
            np.testing.assert_allclose(a, r, rtol=1e-6)
    assert not np.array_equal(fn([xa])[1], first[1])     # new values every call
    fn2 = compile_graph(fuse(g))                         # same sequence for a new build
    np.testing.assert_array_equal(fn2([xa])[1], first[1])


def test_op_without_emitter_runs_its_reference_with_one_warning():
    x = _ph((4, 5))
    w = _ph((5, 5), "w")
    # reflect padding has no native emitter: it must run its reference between segments
    def refl(v):
        return apply("pad", v, pads=((1, 1), (2, 2)), mode="reflect")
    y = apply("tanh", refl(apply("matmul", x, w))) * 2.0
    g = Graph([x, w], [y, refl(x)])
    lower_mod._warned_ops.discard("pad")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        fn = compile_graph(fuse(g))
    msgs = [str(r.message) for r in rec if "pad" in str(r.message)]
    assert len(msgs) == 1 and "numpy reference" in msgs[0]
    assert fn.stats["python_nodes"] == 2 and fn.stats["segments"] == 2
    rng = np.random.default_rng(3)
    xa, wa = rng.normal(size=(4, 5)).astype(np.float32), rng.normal(size=(5, 5)).astype(
        np.float32)
    for a, r in zip(fn([xa, wa]), evaluate(g.outputs, {x: xa, w: wa})):
        np.testing.assert_allclose(a, r, rtol=1e-5, atol=1e-6)


def test_parallel_and_serial_kernels_agree():
    x = _ph(("B", 33))
    b = _ph((33,), "b")
    y = _chain(x, b)
    g = fuse(Graph([x, b], [y, apply("sum", y, axes=(1,)), apply("max", y, axes=(0,))]))
    serial = compile_graph(g, parallel=False)
    par = compile_graph(g, parallel=True)
    assert "prange" in par.source and "prange(" not in serial.source
    rng = np.random.default_rng(4)
    for batch in (1, 50):
        xa = rng.normal(size=(batch, 33)).astype(np.float32)
        ba = rng.normal(size=33).astype(np.float32)
        (ys, sums, maxs), (yp, sump, maxp) = serial([xa, ba]), par([xa, ba])
        np.testing.assert_array_equal(ys, yp)            # elementwise: bit-identical
        np.testing.assert_array_equal(maxs, maxp)        # a max does not depend on order
        # a sum may be vectorised in another order (the parallel loop is a kernel of its
        # own, whose sizes are arguments): equal to float32 rounding
        np.testing.assert_allclose(sums, sump, rtol=1e-6)


def _double_ops(llvm_ir: str) -> list[str]:
    return re.findall(r"= (?:fadd|fsub|fmul|fdiv)[^=]* double ", llvm_ir)


def test_float32_kernels_do_no_float64_arithmetic(monkeypatch, tmp_path):
    # a private cache: numba's inspect_llvm() is empty when the code came from its disk cache
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path))
    x = _ph(("B", 16))
    b = _ph((16,), "b")
    y = apply("softplus", _chain(x, b)) / 3.0 - apply("exp", x) * 2
    fn = compile_graph(fuse(Graph([x, b], [y])))
    natives = list(fn.kernel_dispatchers().values()) + [getattr(fn._module, "seg0")]
    irs = [ir for disp in natives for ir in disp.inspect_llvm().values()]
    assert irs
    assert all(_double_ops(ir) == [] for ir in irs)
    assert any("<8 x float>" in ir or "<16 x float>" in ir or "<4 x float>" in ir
               for ir in irs)                                                    # vectorised


def test_generated_source_and_stats_are_exposed():
    x = _ph((3,))
    fn = compile_graph(Graph([x], [apply("exp", x)]))
    assert "def seg0(" in fn.source and "exp_f32" in fn.source
    for phase in ("lower", "load", "numba", "total"):
        assert fn.stats[phase] >= 0
    assert fn.graph.outputs


def test_missing_placeholder_is_a_clear_error():
    x = _ph((3,))
    y = _ph((3,), "y")
    with pytest.raises(ValueError, match="'y'.*not among the function's inputs"):
        compile_graph(Graph([x], [x + y]))


def test_outputs_that_are_inputs_and_constants():
    x = _ph((2,))
    from graphc.ir import constant
    c = constant(np.array([1.0, 2.0], np.float32))
    fn = compile_graph(Graph([x], [x, c, x + c]))
    xa = np.array([3.0, 4.0], np.float32)
    o = fn([xa])
    np.testing.assert_array_equal(o[0], xa)
    np.testing.assert_array_equal(o[1], [1, 2])
    o[1][0] = 9                                   # caller owns the returned array
    np.testing.assert_array_equal(fn([xa])[1], [1, 2])
    np.testing.assert_array_equal(o[2], [4, 6])


def test_single_optimisation_pipeline_still_vectorises_and_restores_numba(monkeypatch):
    from numba import njit
    from numba.core.codegen import CPUCodegen

    from graphc.codegen import _single_optimisation_pipeline
    original = CPUCodegen.__dict__["_function_pass_manager"]

    @njit(cache=False, fastmath=True, error_model="numpy")
    def axpy(a, x, y, out):
        for i in range(x.size):
            out[i] = a * x[i] + y[i]

    x = np.arange(64, dtype=np.float32)
    out = np.empty_like(x)
    with _single_optimisation_pipeline():
        assert CPUCodegen.__dict__["_function_pass_manager"] is not original
        axpy(np.float32(2.0), x, x, out)             # compiled with function-level opt 0
    assert CPUCodegen.__dict__["_function_pass_manager"] is original
    np.testing.assert_array_equal(out, 3 * x)
    asm = axpy.inspect_asm(axpy.signatures[0])
    assert "ymm" in asm or "zmm" in asm               # the module -O3 pipeline vectorised it
    monkeypatch.setenv("GRAPHC_NUMBA_FUNCTION_OPT", "fast")
    with pytest.raises(ValueError, match="GRAPHC_NUMBA_FUNCTION_OPT must be 0, 1, 2 or 3"):
        with _single_optimisation_pipeline():
            pass
