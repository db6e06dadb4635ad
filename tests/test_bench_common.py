"""bench/common.py: the interleaved timing the LSTM and convnet benchmarks use."""
import importlib.util
import os
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _common():
    spec = importlib.util.spec_from_file_location("bench_common",
                                                  os.path.join(ROOT, "bench", "common.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_interleaved_timing_alternates_blocks_rotating_the_order(monkeypatch):
    common = _common()
    clock = [0.0]
    monkeypatch.setattr(common.time, "perf_counter", lambda: clock[0])
    calls = []

    def fn(name, seconds):
        def f():
            calls.append(name)
            clock[0] += seconds
        return f

    got = common.measure_interleaved({"a": fn("a", 0.002), "b": fn("b", 0.001)}, warmup=1,
                                     min_time=0.012, block_time=0.004, min_runs=2)
    # one warm-up call each, then blocks of >= 4 ms per function, the first one rotating
    assert calls[:2] == ["a", "b"]
    a, b = ["a"] * 2, ["b"] * 4
    assert calls[2:] == a + b + b + a + a + b
    assert got["a"]["median_s"] == pytest.approx(0.002) and \
        got["b"]["median_s"] == pytest.approx(0.001)
    assert got["a"]["runs"] == 6 and got["b"]["runs"] == 12


def test_interleaved_timing_of_real_calls():
    common = _common()
    got = common.measure_interleaved({"slow": lambda: time.sleep(0.002),
                                      "fast": lambda: time.sleep(0.0005)},
                                     warmup=1, min_time=0.02, block_time=0.005, min_runs=5)
    assert got["slow"]["median_s"] >= 0.002 > got["fast"]["median_s"] >= 0.0005
    assert got["slow"]["min_s"] <= got["slow"]["median_s"] <= got["slow"]["p90_s"]


def test_time_steps_fills_the_row_and_skips_missing_peers():
    common = _common()
    row = {}
    common.time_steps(row, {"graphc": lambda: time.sleep(0.001), "torch": None}, batch=64,
                      seconds=0.02)
    assert set(row) == {"graphc_ms", "graphc_sps"}
    assert row["graphc_ms"] >= 1.0 and abs(row["graphc_sps"] - 64 / (row["graphc_ms"] / 1e3)) \
        < 1e-6 * row["graphc_sps"]


def test_isa_avx2_reruns_the_benchmark_with_every_library_restricted():
    common = _common()
    argv, env = common.isa_environment(["bench_mlp.py", "--isa", "avx2", "--seconds", "1"],
                                       {"PATH": "/bin", "OPENBLAS_L2_SIZE": "1024"})
    assert argv == ["bench_mlp.py", "--seconds", "1"]
    assert env["NUMBA_CPU_NAME"] == "haswell" and env["OPENBLAS_CORETYPE"] == "Haswell"
    assert env["ATEN_CPU_CAPABILITY"] == "avx2" and "AVX2" in env["XLA_FLAGS"]
    assert env["GRAPHC_BENCH_ISA"] == "avx2" and "OPENBLAS_L2_SIZE" not in env
    assert common.isa_environment(["b.py", "--isa=native"], {}) == (["b.py"], None)
    assert common.isa_environment(["b.py"], {}) == (["b.py"], None)
    with pytest.raises(SystemExit, match="--isa must be one of native, avx2"):
        common.isa_environment(["b.py", "--isa", "sse2"], {})


def test_isa_native_is_taken_out_of_the_arguments_a_benchmark_parses(tmp_path):
    """``--isa native`` runs in the same process: the option must not reach the benchmark's
    own argument parser (which knows nothing of it)."""
    import subprocess
    import sys
    script = tmp_path / "b.py"
    bench = os.path.join(ROOT, "bench")
    script.write_text(f"import sys\nsys.path.insert(0, {bench!r})\n"
                      "import common\nprint(sys.argv[1:])\n")
    out = subprocess.run([sys.executable, str(script), "--isa", "native", "--seconds", "1"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['--seconds', '1']"
