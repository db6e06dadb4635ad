"""graphc.bench: the timing harness, bench() against numpy, the built-in kernels."""
import json
import time

import numpy as np
import pytest

from graphc import backend as K
from graphc import bench as gb
from graphc.bench.harness import RESOLUTION_FACTOR, measure, timer_resolution


def test_fast_calls_are_batched_above_the_timer_resolution():
    t = measure(lambda: None, budget=0.05)
    assert t.number > 1
    assert t.number * 1e-9 < max(RESOLUTION_FACTOR * t.resolution, 2e-4) * 10
    assert len(t.samples) == t.repeat >= 5
    assert t.min <= t.median <= t.p90


def test_slow_calls_are_timed_one_by_one():
    t = measure(lambda: time.sleep(0.002), warmup=0, budget=0.004)
    assert t.number == 1 and t.repeat == 5          # the budget allows 2: min_repeats wins
    assert t.min >= 0.002


def test_forced_number_and_repeat_and_warmup():
    calls = []
    t = measure(lambda: calls.append(1), warmup=3, number=4, repeat=6)
    assert (t.number, t.repeat) == (4, 6) and len(calls) == 3 + 24
    assert timer_resolution() > 0
    with pytest.raises(ValueError, match="budget"):
        measure(lambda: None, budget=0)


def test_bench_against_plain_numpy_and_the_interpreter():
    x = K.placeholder(shape=(None, 8), name="x")
    f = K.function([x], [K.tanh(x) * 3.0], name="tanh3")
    xs = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    r = gb.bench(f, [xs], reference=lambda a: [np.tanh(a) * 3.0], budget=0.02)
    assert r.compile_seconds is not None and r.compile_seconds > 0
    assert r.max_abs_diff < 1e-5 and r.speedup > 0 and r.reference_name == "numpy"
    r2 = gb.bench(f, [xs], budget=0.02)            # already compiled: no compile time
    assert r2.compile_seconds is None and r2.reference_name.startswith("numpy reference")
    assert r2.max_abs_diff < 1e-5
    wrong = gb.bench(f, [xs], reference=lambda a: [np.tanh(a)], budget=0.02)
    assert wrong.max_abs_diff > 0.1
    doc = json.loads(gb.to_json([r, r2]))
    assert [d["name"] for d in doc["results"]] == ["tanh3", "tanh3"]
    assert doc["results"][0]["graphc"]["median"] > 0
    table = gb.format_table([r, r2])
    assert "median ms" in table and "tanh3" in table


def test_bench_restores_updated_variables():
    x = K.placeholder(shape=(None, 2), name="x")
    v = K.variable(np.zeros(2), name="acc")
    f = K.function([x], [K.sum(x)], updates=[K.update_add(v, K.sum(x, axis=0))], name="acc")
    gb.bench(f, [np.ones((3, 2), np.float32)], budget=0.02)
    assert np.array_equal(K.get_value(v), np.zeros(2))


def test_builtin_elementwise_small():
    (r,) = gb.run_builtin(["elementwise"], size="small", budget=0.02)
    assert r.name == "elementwise" and r.max_abs_diff < 1e-4 and r.reference is not None


def test_builtin_numpy_versions_agree_with_the_interpreter():
    # every built-in's numpy function computes what its graphc function computes
    from graphc.function import ReferenceExecutor
    for name, make in gb.BUILTINS.items():
        f, inputs, numpy_fn = make("small")
        want = numpy_fn(*inputs)
        got = ReferenceExecutor(f.graph)(inputs)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=name)


def test_unknown_builtin_and_size_are_errors():
    with pytest.raises(ValueError, match="valid: elementwise, mlp_step, conv, lstm_step"):
        gb.run_builtin(["gemm"])
    with pytest.raises(ValueError, match="size must be one of"):
        gb.run_builtin(["conv"], size="huge")
