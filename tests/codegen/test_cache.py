"""graphc.codegen.cache: keys, generated modules with numba's cache across processes, damaged
entries, concurrent compiles, blobs, info/clear and logging."""
import glob
import json
import logging
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import graphc
import graphc.cache
from graphc import config
from graphc.codegen import cache

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(graphc.__file__)))

NUMBA_SOURCE = textwrap.dedent('''
    import numpy as np
    from numba import njit
    from graphc.codegen.cpu.runtime.mathlib import NJIT_OPTIONS, tanh_f32, sigmoid_f32

    @njit(cache=True, **NJIT_OPTIONS)
    def kernel(x, out):
        for i in range(x.shape[0]):
            out[i] = tanh_f32(x[i]) * sigmoid_f32(x[i])
''')

# Run in a fresh interpreter: load NUMBA_SOURCE under the key in argv, call the kernel, report
# numba's cache statistics as JSON.
CHILD = textwrap.dedent('''
    import json, sys, time
    t0 = time.perf_counter()
    import numpy as np
    from graphc.codegen import cache
    source, key = sys.stdin.read(), sys.argv[1]
    mod = cache.load_generated_module(source, key)
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    out = np.empty_like(x)
    mod.kernel(x, out)
    stats = mod.kernel.stats
    print(json.dumps({"hits": sum(stats.cache_hits.values()),
                      "misses": sum(stats.cache_misses.values()),
                      "out": out.tolist(), "seconds": time.perf_counter() - t0}))
''')


@pytest.fixture
def cache_folder(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(folder))
    monkeypatch.delenv("GRAPHC_LOG_COMPILES", raising=False)
    return folder


def _child(key, cache_folder):
    env = dict(os.environ, GRAPHC_CACHE_DIR=str(cache_folder),
               PYTHONPATH=os.pathsep.join([REPO_ROOT, os.environ.get("PYTHONPATH", "")]))
    env.pop("NUMBA_CACHE_DIR", None)          # numba must cache next to the generated file
    return subprocess.Popen([sys.executable, "-c", CHILD, key], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=str(cache_folder.parent))


def _finish(proc):
    out, err = proc.communicate(NUMBA_SOURCE, timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def _expected_kernel(x):
    x = x.astype(np.float64)
    return np.tanh(x) / (1 + np.exp(-x))


# ---------------------------------------------------------------------------------- folder, key

def test_cache_dir_is_env_var_else_home_subdir(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path / "a" / "b"))
    assert cache.cache_dir() == str(tmp_path / "a" / "b")
    assert os.path.isdir(tmp_path / "a" / "b")
    monkeypatch.delenv("GRAPHC_CACHE_DIR")
    assert cache.cache_dir() == os.path.join(config.home(), "cache")
    assert graphc.cache.cache_dir is cache.cache_dir


def test_key_is_deterministic_and_separates_parts():
    k = cache.key("graph", b"\x00", 3, 1.5, None, ("float32", [1, 2]))
    assert k == cache.key("graph", b"\x00", 3, 1.5, None, ("float32", [1, 2]))
    assert len(k) == 64 and all(c in "0123456789abcdef" for c in k)
    assert cache.key("ab", "c") != cache.key("a", "bc")
    assert cache.key("1") != cache.key(1)
    assert cache.key("g", 1) != cache.key("g", 2)


def test_key_rejects_unhashable_part_types_by_position():
    with pytest.raises(TypeError, match=r"parts\[1\] has type dict"):
        cache.key("g", {"a": 1})


def test_key_depends_on_cpu_and_versions(monkeypatch):
    import llvmlite.binding as llvm
    import numba

    before = cache.key("g")
    cache._environment.cache_clear()
    monkeypatch.setattr(llvm, "get_host_cpu_name", lambda: "some-other-cpu")
    try:
        assert cache.key("g") != before
        monkeypatch.undo()
        cache._environment.cache_clear()
        assert cache.key("g") == before
        monkeypatch.setattr(numba, "__version__", "0.0.1")
        cache._environment.cache_clear()
        assert cache.key("g") != before
    finally:
        monkeypatch.undo()
        cache._environment.cache_clear()


# ------------------------------------------------------------------------------ generated modules

PLAIN_SOURCE = "VALUE = 41\n\ndef f():\n    return VALUE + 1\n"


def test_load_generated_module_writes_imports_and_registers(cache_folder):
    k = cache.key("plain", str(cache_folder))
    mod = cache.load_generated_module(PLAIN_SOURCE, k)
    name = f"graphc_gen_{k}"
    path = cache_folder / f"{name}.py"
    assert mod.f() == 42
    assert sys.modules[name] is mod and mod.__name__ == name
    assert mod.__file__ == str(path)
    assert path.read_text() == PLAIN_SOURCE
    stat = os.stat(path)
    assert cache.load_generated_module(PLAIN_SOURCE, k) is mod        # same process
    del sys.modules[name]
    mod2 = cache.load_generated_module(PLAIN_SOURCE, k)               # file reused as is
    assert mod2 is not mod and mod2.f() == 42
    assert os.stat(path).st_ino == stat.st_ino and os.stat(path).st_mtime_ns == stat.st_mtime_ns
    del sys.modules[name]


def test_runtime_functions_a_generated_module_imports_keep_their_own_numba_cache(
        cache_folder):
    """Only the functions a generated module defines are cached in the compile cache; the
    precompiled runtime kernels it imports stay cached beside graphc's package, so a new
    graphc home does not compile them again (a convnet's kernels: ~15 s)."""
    from graphc.codegen.cpu.runtime import conv
    package_cache = conv.bias_add3._cache._cache_path
    src = ("from numba import njit\n"
           "from graphc.codegen.cpu.runtime.conv import bias_add3\n\n"
           "@njit(cache=True)\n"
           "def f(x, b):\n"
           "    return bias_add3(x, b)\n")
    k = cache.key("imports-a-runtime-kernel", str(cache_folder))
    mod = cache.load_generated_module(src, k)
    x = np.ones((2, 3, 4), np.float32)
    np.testing.assert_array_equal(mod.f(x, np.arange(3, dtype=np.float32)),
                                  x + np.arange(3, dtype=np.float32)[None, :, None])
    assert mod.f._cache._cache_path == str(cache_folder / "__pycache__")
    assert conv.bias_add3._cache._cache_path == package_cache
    assert not str(package_cache).startswith(str(cache_folder))
    del sys.modules[f"graphc_gen_{k}"]


@pytest.mark.parametrize("damage", ["truncated", "same_size_garbage"])
def test_damaged_source_file_is_rewritten(cache_folder, damage):
    k = cache.key("damaged", damage, str(cache_folder))
    name = f"graphc_gen_{k}"
    path = cache_folder / f"{name}.py"
    cache_folder.mkdir(parents=True, exist_ok=True)
    if damage == "truncated":
        path.write_text(PLAIN_SOURCE[:20])
    else:
        path.write_text(PLAIN_SOURCE.replace("41", "99"))
    mod = cache.load_generated_module(PLAIN_SOURCE, k)
    assert mod.f() == 42
    assert path.read_text() == PLAIN_SOURCE
    del sys.modules[name]


def _counting_compile(monkeypatch):
    """Count the compile() calls of graphc.codegen.cache (the module global shadows the
    builtin)."""
    calls = []

    def counting(*args, **kwargs):
        calls.append(args[1] if len(args) > 1 else None)
        return compile(*args, **kwargs)
    monkeypatch.setattr(cache, "compile", counting, raising=False)
    return calls


@pytest.mark.parametrize("damage", ["none", "truncated", "flipped_payload", "other_source",
                                    "moved_folder"])
def test_generated_module_bytecode_is_reused_and_a_bad_file_is_a_miss(cache_folder,
                                                                      monkeypatch, damage):
    k = cache.key("bytecode", damage, str(cache_folder))
    name = f"graphc_gen_{k}"
    calls = _counting_compile(monkeypatch)
    assert cache.load_generated_module(PLAIN_SOURCE, k).f() == 42
    assert len(calls) == 1
    (code_file,) = glob.glob(str(cache_folder / "__pycache__" / f"{name}.graphc-*.code"))
    original = open(code_file, "rb").read()
    assert original.startswith(b"GRAPHC-CODE-1\n")
    if damage == "truncated":
        open(code_file, "wb").write(original[:len(original) - 7])
    elif damage == "flipped_payload":
        open(code_file, "wb").write(original[:-3] + bytes([original[-3] ^ 0xFF]) +
                                    original[-2:])
    elif damage == "other_source":          # a whole file, but made for other source bytes
        other = "VALUE = 99\n\ndef f():\n    return VALUE + 1\n"
        k2 = cache.key("bytecode-other", damage, str(cache_folder))
        cache.load_generated_module(other, k2)
        sys.modules.pop(f"graphc_gen_{k2}", None)
        (other_file,) = glob.glob(str(cache_folder / "__pycache__" /
                                      f"graphc_gen_{k2}.graphc-*.code"))
        open(code_file, "wb").write(open(other_file, "rb").read())
    elif damage == "moved_folder":          # compiled under another path: numba's locator
        monkeypatch.setattr(cache, "_code_path", lambda p: code_file)
        moved = cache_folder.parent / "moved"
        monkeypatch.setenv("GRAPHC_CACHE_DIR", str(moved))
    del sys.modules[name]
    calls.clear()
    mod = cache.load_generated_module(PLAIN_SOURCE, k)
    assert mod.f() == 42
    if damage == "none":
        assert calls == []                  # the marshalled code was used
    else:
        assert len(calls) == 1              # a miss: compiled from the source again
        if damage == "moved_folder":
            assert mod.f.__code__.co_filename == str(cache_folder.parent / "moved" /
                                                     f"{name}.py")
        else:
            assert open(code_file, "rb").read() == original       # and rewritten whole
    del sys.modules[name]


def test_bad_arguments_are_clear_errors(cache_folder):
    with pytest.raises(ValueError, match="key"):
        cache.load_generated_module(PLAIN_SOURCE, "../etc/passwd")
    with pytest.raises(ValueError, match="module_prefix"):
        cache.load_generated_module(PLAIN_SOURCE, "abc", module_prefix="1-x")
    with pytest.raises(TypeError, match="source"):
        cache.load_generated_module(b"x = 1", "abc")


def test_failing_module_body_is_not_left_registered(cache_folder):
    k = cache.key("raises", str(cache_folder))
    with pytest.raises(ZeroDivisionError):
        cache.load_generated_module("x = 1 / 0\n", k)
    assert f"graphc_gen_{k}" not in sys.modules


def test_second_process_loads_numba_functions_from_cache(cache_folder):
    k = cache.key("numba-two-processes", str(cache_folder))
    first = _finish(_child(k, cache_folder))
    assert first["misses"] == 1 and first["hits"] == 0
    numba_files = glob.glob(str(cache_folder / "__pycache__" / f"graphc_gen_{k}.kernel-*"))
    assert any(f.endswith(".nbi") for f in numba_files)
    assert any(f.endswith(".nbc") for f in numba_files)
    second = _finish(_child(k, cache_folder))
    assert second["hits"] == 1 and second["misses"] == 0
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    np.testing.assert_allclose(second["out"], _expected_kernel(x), rtol=1e-6)
    print(f"cold process {first['seconds']:.2f} s, cached process {second['seconds']:.2f} s")


def test_two_processes_compiling_the_same_key_at_once_both_succeed(cache_folder):
    k = cache.key("numba-concurrent", str(cache_folder))
    procs = [_child(k, cache_folder) for _ in range(2)]
    results = [_finish(p) for p in procs]
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    for r in results:
        np.testing.assert_allclose(r["out"], _expected_kernel(x), rtol=1e-6)
    assert (cache_folder / f"graphc_gen_{k}.py").read_text() == NUMBA_SOURCE
    assert not [f for f in os.listdir(cache_folder) if f.startswith(".tmp-")]


ALLOC_SOURCE = textwrap.dedent("""
    import numpy as np
    from numba import njit

    @njit(cache=True)
    def scaled(x, k):
        if x.shape[0] == 0:
            raise ValueError("scaled: empty input")
        out = np.empty((x.shape[0], 2), np.float32)
        for i in range(x.shape[0]):
            out[i, 0] = x[i] * k
            out[i, 1] = x[i] + k
        return out
""")

# A fresh interpreter loads ALLOC_SOURCE's function from numba's cache (graphc skips numba's
# context refresh on a hit), then exercises what the loaded code needs from the runtime:
# a new array (NRT allocation + boxing), an exception, and afterwards a real compile.
ALLOC_CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    from numba import njit
    from graphc.codegen import cache
    source, key = sys.stdin.read(), sys.argv[1]
    mod = cache.load_generated_module(source, key)
    x = np.arange(4, dtype=np.float32)
    mod.scaled.compile("float32[:, ::1](float32[::1], float32)")
    refreshed = "numba.np.polynomial.polynomial_core" in sys.modules
    out = mod.scaled(x, np.float32(3))
    try:
        mod.scaled(x[:0], np.float32(3))
        error = None
    except ValueError as e:
        error = str(e)
    mod.scaled.disable_compile()      # as graphc's executor does: a mismatch is a TypeError
    try:
        mod.scaled(x.astype(np.float64), np.float32(3))
        mismatch = None
    except TypeError as e:
        mismatch = type(e).__name__

    @njit
    def later(a):
        return np.sum(a * 2)
    print(json.dumps({"hits": sum(mod.scaled.stats.cache_hits.values()),
                      "refreshed_by_load": refreshed, "out": out.tolist(),
                      "error": error, "mismatch": mismatch, "later": float(later(x))}))
""")


def test_cache_hit_skips_numba_refresh_and_the_loaded_code_runs(cache_folder):
    k = cache.key("numba-no-refresh", str(cache_folder))
    env = dict(os.environ, GRAPHC_CACHE_DIR=str(cache_folder),
               PYTHONPATH=os.pathsep.join([REPO_ROOT, os.environ.get("PYTHONPATH", "")]))
    env.pop("NUMBA_CACHE_DIR", None)
    results = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", ALLOC_CHILD, k], input=ALLOC_SOURCE,
                              capture_output=True, text=True, env=env, timeout=120,
                              cwd=str(cache_folder.parent))
        assert proc.returncode == 0, proc.stderr
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    cold, warm = results
    assert cold["hits"] == 0 and warm["hits"] == 1
    assert not warm["refreshed_by_load"]
    x = np.arange(4, dtype=np.float32)
    for r in results:
        np.testing.assert_array_equal(r["out"], np.stack([x * 3, x + 3], axis=1))
        assert r["error"] == "scaled: empty input"
        assert r["mismatch"] == "TypeError"
        assert r["later"] == float(np.sum(x * 2))


@pytest.mark.parametrize("damaged", [".nbi", ".nbc"])
def test_damaged_numba_cache_file_is_a_miss_and_rebuilt(cache_folder, damaged, caplog):
    k = cache.key("numba-damaged", damaged, str(cache_folder))
    name = f"graphc_gen_{k}"
    x = np.linspace(-3, 3, 7, dtype=np.float32)

    def run():
        sys.modules.pop(name, None)          # a fresh module: numba reads its cache from disk
        mod = cache.load_generated_module(NUMBA_SOURCE, k)
        out = np.empty_like(x)
        mod.kernel(x, out)
        np.testing.assert_allclose(out, _expected_kernel(x), rtol=1e-6)
        return mod.kernel.stats

    run()                                                       # compiles and saves
    assert run().cache_hits                                     # loads from disk
    (target,) = glob.glob(str(cache_folder / "__pycache__" / f"{name}.kernel-*{damaged}"))
    with open(target, "r+b") as f:
        f.truncate(os.path.getsize(target) // 3)
    with caplog.at_level(logging.DEBUG, logger="graphc.compile"):
        stats = run()                                           # damaged: miss, rebuilt
    assert sum(stats.cache_misses.values()) == 1 and not stats.cache_hits
    assert any("damaged numba cache file" in r.getMessage() for r in caplog.records)
    assert run().cache_hits                                     # the rebuilt entry works
    sys.modules.pop(name, None)


# ----------------------------------------------------------------------------------------- blobs

def test_blob_round_trip_and_absent_is_none(cache_folder):
    k = cache.key("blob")
    assert cache.load_blob(k, "kernel.o") is None
    path = cache.store_blob(k, "kernel.o", b"\x7fELF" + bytes(range(256)))
    assert os.path.exists(path)
    assert cache.load_blob(k, "kernel.o") == b"\x7fELF" + bytes(range(256))
    cache.store_blob(k, "kernel.o", b"")                        # overwrite, empty payload
    assert cache.load_blob(k, "kernel.o") == b""
    assert cache.load_blob(k, "other.o") is None


@pytest.mark.parametrize("damage", ["flip_payload_byte", "truncate", "empty"])
def test_damaged_blob_is_a_miss_and_removed(cache_folder, damage):
    k = cache.key("blob-damaged", damage)
    path = cache.store_blob(k, "kernel.o", b"object code " * 100)
    raw = bytearray(open(path, "rb").read())
    if damage == "flip_payload_byte":
        raw[-1] ^= 0xFF
    elif damage == "truncate":
        raw = raw[:len(raw) // 2]
    else:
        raw = bytearray()
    with open(path, "wb") as f:
        f.write(raw)
    assert cache.load_blob(k, "kernel.o") is None
    assert not os.path.exists(path)


def test_blob_bad_names_and_data_are_clear_errors(cache_folder):
    k = cache.key("blob-names")
    for bad in ("../x", "", ".hidden", "a/b"):
        with pytest.raises(ValueError, match="blob name"):
            cache.store_blob(k, bad, b"x")
    with pytest.raises(TypeError, match="bytes"):
        cache.store_blob(k, "x", "text")


# ------------------------------------------------------------------------- info, clear, logging

def test_info_counts_entries_and_clear_removes_them(cache_folder):
    assert graphc.cache.info() == {"dir": str(cache_folder), "entries": 0, "modules": 0,
                                   "blobs": 0, "bytes": 0}
    k = cache.key("info", str(cache_folder))
    cache.load_generated_module(PLAIN_SOURCE, k)
    cache.store_blob(k, "a.o", b"12345")
    cache.store_blob(k, "b.o", b"678")
    stats = graphc.cache.info()
    assert (stats["entries"], stats["modules"], stats["blobs"]) == (3, 1, 2)
    assert stats["bytes"] >= len(PLAIN_SOURCE) + 8
    assert graphc.cache.clear() == 3
    assert graphc.cache.info()["entries"] == 0 and graphc.cache.info()["bytes"] == 0
    assert cache.load_blob(k, "a.o") is None
    sys.modules.pop(f"graphc_gen_{k}", None)


def test_log_compiles_env_logs_misses_and_hits_with_key_and_reason(cache_folder, monkeypatch,
                                                                   caplog):
    k = cache.key("logging", str(cache_folder))
    with caplog.at_level(logging.INFO, logger="graphc.compile"):
        cache.load_blob(k, "x.o")                           # env unset: DEBUG only
        assert not caplog.records
        monkeypatch.setenv("GRAPHC_LOG_COMPILES", "1")
        cache.load_blob(k, "x.o")
        cache.store_blob(k, "x.o", b"1")
        cache.load_blob(k, "x.o")
        cache.load_generated_module(PLAIN_SOURCE, k)
    messages = [r.getMessage() for r in caplog.records]
    assert all(r.name == "graphc.compile" and r.levelno == logging.INFO for r in caplog.records)
    assert all(k in m for m in messages)
    assert "cache miss" in messages[0] and "absent" in messages[0]
    assert "cache hit" in messages[1]
    assert "cache miss" in messages[2] and "new source file" in messages[2]
    sys.modules.pop(f"graphc_gen_{k}", None)
