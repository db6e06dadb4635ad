"""Runs tests/codegen/test_cuda.py in numba's CUDA simulator, in a subprocess, so that
NUMBA_ENABLE_CUDASIM=1 does not change numba.cuda for the rest of the suite."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def test_cuda_kernels_pass_in_the_simulator():
    probe = subprocess.run([sys.executable, "-c", "from numba import cuda"],
                           env={**os.environ, "NUMBA_ENABLE_CUDASIM": "1"},
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"no CUDA Python package can be imported: {probe.stderr.strip()[-300:]}")
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-o", "addopts=",
                           "-p", "no:cacheprovider", os.path.join(HERE, "test_cuda.py")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    tail = (proc.stdout + proc.stderr)[-6000:]
    assert proc.returncode == 0, tail
    last = proc.stdout.strip().splitlines()[-1]
    assert " passed" in last and "skipped" not in last, tail
