"""The BLAS / numba thread count is a pure function of the shapes and the core count (never of
timings or machine load), GRAPHC_BLAS_THREADS still overrides it, and two trainings with the
same seed give bit-identical weights."""
import os
import time

import numpy as np
import pytest

from graphc.codegen import compile_graph
from graphc.codegen import executor
from graphc.codegen.cpu import runtime as native
from graphc.codegen.executor import (WORK_PER_THREAD, _BlasThreadPolicy, _products,
                                     blas_threads_for, product_work)
from graphc.ir import Graph, TensorType, apply, source


def _graph(n_in=8, n_out=5):
    x = source("input", TensorType("float32", ("B", n_in)), name="x")
    w = source("input", TensorType("float32", (n_in, n_out)), name="w")
    h = apply("matmul", x, w)
    return Graph([x, w], [apply("relu", h), apply("matmul", apply("transpose", x), h)])


def test_rule_is_a_pure_bounded_monotonic_function_of_work_and_cores():
    for cores in (1, 2, 4, 16):
        counts = [blas_threads_for(w, cores) for w in
                  (0, 1, WORK_PER_THREAD - 1, WORK_PER_THREAD, 2 * WORK_PER_THREAD,
                   3 * WORK_PER_THREAD, 1e15)]
        assert counts == sorted(counts)                      # more work, never fewer threads
        assert counts[0] == 1 and counts[-1] == cores        # at least one, at most the cores
        assert counts == [blas_threads_for(w, cores) for w in
                          (0, 1, WORK_PER_THREAD - 1, WORK_PER_THREAD, 2 * WORK_PER_THREAD,
                           3 * WORK_PER_THREAD, 1e15)]       # same inputs, same answer
    assert blas_threads_for(2 * WORK_PER_THREAD - 1, 8) == 1
    assert blas_threads_for(2 * WORK_PER_THREAD, 8) == 2
    # the seed MLP's first layer (784 -> 1024) on 2 cores: batch 32 one thread, 128 and 1024
    # two (measured: batch 128 takes 2.9 ms on two threads, 5.8 on one; batch 32 1.9 on one)
    assert blas_threads_for(32 * 784 * 1024, 2) == 1
    assert blas_threads_for(128 * 784 * 1024, 2) == 2
    assert blas_threads_for(1024 * 784 * 1024, 2) == 2


def test_product_work_reads_the_shapes_with_the_batch_substituted():
    products = _products(_graph(8, 5))
    assert sorted(products, key=str) == sorted([(("B", 8), (8, 5), ("B", 5)),
                                                ((8, "B"), ("B", 5), (8, 5))], key=str)
    # x @ w is B*8*5 multiply-adds; x.T @ h is 8*B*5: the same
    assert product_work(products, 3) == pytest.approx(3 * 8 * 5)
    assert product_work(products, 1000) == pytest.approx(1000 * 8 * 5)
    assert product_work([], 1000) == 0.0


def test_policy_ignores_timings_and_repeats_its_choice(monkeypatch):
    monkeypatch.setenv("GRAPHC_BLAS_THREADS", "auto")
    fn = compile_graph(_graph(64, 512))
    policy = fn.blas_threads
    if policy is None:
        pytest.skip("one core or no settable BLAS here: the count is always 1")
    xs = {b: np.ones((b, 64), np.float32) for b in (3, 4096)}
    w = np.ones((64, 512), np.float32)
    clock = iter(np.random.default_rng(0).uniform(0, 100, 10_000))
    monkeypatch.setattr(time, "perf_counter", lambda: next(clock))    # a wildly noisy clock
    for _ in range(3):
        for b, xv in xs.items():
            fn([xv, w])
            assert native.blas_get_threads() == policy.threads(b)
    expected = {b: blas_threads_for(b * 64 * 512, policy.ncores) for b in xs}
    assert policy.choice == expected
    # another compile of the same graph makes the same choices
    again = _BlasThreadPolicy.for_program(fn.program, fn.graph)
    assert {b: again.threads(b) for b in xs} == expected


def test_environment_overrides_the_rule(monkeypatch):
    if native.blas_library() is None:
        pytest.skip("BLAS thread count not settable here")
    monkeypatch.setenv("GRAPHC_BLAS_THREADS", "3")
    fn = compile_graph(_graph(64, 512))
    assert fn.blas_threads.fixed == 3
    fn([np.ones((2, 64), np.float32), np.ones((64, 512), np.float32)])
    assert native.blas_get_threads() == 3


def _train(batch_size):
    from graphc.layers import Dense
    from graphc.models import Sequential
    np.random.seed(1234)
    x = np.random.normal(size=(2 * batch_size, 96)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[np.random.randint(0, 4, 2 * batch_size)]
    model = Sequential([Dense(512, activation="relu", input_dim=96),
                        Dense(4, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    model.fit(x, y, batch_size=batch_size, epochs=2, verbose=0, shuffle=True)
    return model.get_weights()


@pytest.mark.parametrize("batch_size", [16, 4096])
def test_the_same_seed_gives_bit_identical_weights(batch_size, monkeypatch):
    """Batch 16 runs on one BLAS thread; at 4096 the largest product is 4096*96*512 = 2**28
    multiply-adds, several threads where there are cores."""
    monkeypatch.delenv("GRAPHC_BLAS_THREADS", raising=False)
    first = _train(batch_size)
    second = _train(batch_size)
    assert len(first) == 4
    for a, b in zip(first, second):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert executor.blas_threads_for(batch_size * 96 * 512, 2) == (1 if batch_size == 16 else 2)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    if native.blas_library() is not None and cores > 1:   # the last step ran by the rule
        assert native.blas_get_threads() == blas_threads_for(batch_size * 96 * 512, cores)
