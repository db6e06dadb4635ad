"""The record of the kernels a driver calls (``<key>.<seg>.<signature digest>.kcalls`` beside
the driver in the compile cache): a process that loads a driver from the cache registers
exactly those kernels before the driver's code is loaded, so the record must never lose one.

Regression: a process that loaded a driver from the cache and then compiled the same graph
again rewrote the record from the loaded code, which declares nothing -- an empty record --
and the next process called address 0 (a segmentation fault) in its first step."""
from __future__ import annotations

import glob
import os
import subprocess
import sys
import textwrap

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

CHILD = textwrap.dedent("""
    import numpy as np
    from graphc.codegen import compile_graph
    from graphc.ir import Graph, TensorType, apply, source
    x = source("input", TensorType("float32", ("B", 64)), name="x")
    y = apply("tanh", apply("mul", x, x))
    g = Graph([x], [y], name="records")
    xa = np.linspace(-1, 1, 4 * 64, dtype=np.float32).reshape(4, 64)
    for _ in range(2):                 # the second compile finds the driver in this process
        fn = compile_graph(g, parallel=True)
        assert fn.program.kernel_modules, "a parallel loop nest runs in a kernel of its own"
        out = fn([xa])[0]
    np.save(OUT, out)
""")


def _run(cache_dir, out):
    env = {**os.environ, "GRAPHC_CACHE_DIR": cache_dir,
           "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    code = f"OUT = {out!r}\n" + CHILD
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=600)


def test_a_driver_loaded_then_compiled_again_keeps_its_kernel_record(tmp_path):
    cache_dir = str(tmp_path / "cache")
    os.makedirs(cache_dir, mode=0o700)
    xa = np.linspace(-1, 1, 4 * 64, dtype=np.float32).reshape(4, 64)
    for run in range(3):               # compile; load + compile again; load
        out = str(tmp_path / f"out{run}.npy")
        proc = _run(cache_dir, out)
        assert proc.returncode == 0, (run, proc.returncode, proc.stderr[-3000:])
        np.testing.assert_allclose(np.load(out), np.tanh(xa * xa), rtol=1e-6, atol=1e-6)
        records = glob.glob(os.path.join(cache_dir, "*.kcalls*"))
        assert records, "the parallel driver calls kernels: its record is in the cache"
        for path in records:          # the stored payload names the kernel modules
            with open(path, "rb") as f:
                assert b"graphc_k_" in f.read(), (run, path)
