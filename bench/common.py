"""Benchmark harness shared by bench/*.py: timing, tables, JSON output, optional peers.

Each benchmark is one command (``python bench/bench_mlp.py``); it prints a table and writes
``bench/out/<name>.json``. PyTorch and JAX are compared in the same run when importable
(``pip install torch jax jaxlib``); they are never required.

Example:
    >>> from common import measure
    >>> measure(lambda: sum(range(100)))["median_s"]      # doctest: +SKIP
"""
from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# ``--isa avx2`` on any benchmark: graphc and every peer restricted to AVX2 (the kind of CPU
# most users have) on a machine that has more. The variables must be set before numba,
# OpenBLAS, PyTorch or XLA start, so the benchmark runs itself again with them.
ISA_ENV = {
    "avx2": {"NUMBA_CPU_NAME": "haswell", "OPENBLAS_CORETYPE": "Haswell",
             "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
             "XLA_FLAGS": "--xla_cpu_max_isa=AVX2"},
}


def isa_environment(argv: list[str], environ) -> tuple[list[str], dict | None]:
    """(argv without ``--isa X``, the environment to run with, or None to run as it is).

    Raises:
        SystemExit: on an unknown ISA name (the valid ones listed).
    """
    argv = list(argv)
    isa = None
    for i, a in enumerate(argv):
        if a == "--isa" and i + 1 < len(argv):
            isa = argv[i + 1]
            del argv[i:i + 2]
            break
        if a.startswith("--isa="):
            isa = a.split("=", 1)[1]
            del argv[i]
            break
    if isa is None or isa == "native":
        return argv, None
    if isa not in ISA_ENV:
        raise SystemExit(f"--isa must be one of native, {', '.join(ISA_ENV)}; got {isa!r}")
    env = dict(environ)
    env.update(ISA_ENV[isa], GRAPHC_BENCH_ISA=isa)
    env.pop("OPENBLAS_L2_SIZE", None)      # set with OPENBLAS_CORETYPE on some machines
    return argv, env


def _apply_isa() -> None:
    if os.environ.get("GRAPHC_BENCH_ISA"):        # already the re-run
        return
    argv, env = isa_environment(sys.argv, os.environ)
    if env is not None:
        os.execve(sys.executable, [sys.executable] + argv, env)
    sys.argv[:] = argv            # ``--isa native``: this process is the run; drop the option


_apply_isa()


def measure(fn, *, warmup: int = 3, min_time: float = 1.0, min_runs: int = 10,
            max_runs: int = 100000, batch: int = 1) -> dict:
    """Time ``fn()``: ``warmup`` untimed calls, then runs until ``min_time`` seconds and
    ``min_runs`` samples. With ``batch`` > 1 each sample times that many calls (for
    microsecond functions) and reports the per-call time.

    Returns:
        {"median_s", "p90_s", "min_s", "runs"} (seconds per call).
    """
    for _ in range(warmup):
        fn()
    samples = []
    start = time.perf_counter()
    while (len(samples) < min_runs or time.perf_counter() - start < min_time) and \
            len(samples) < max_runs:
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter() - t0) / batch)
    a = np.array(samples)
    return {"median_s": float(np.median(a)), "p90_s": float(np.percentile(a, 90)),
            "min_s": float(a.min()), "runs": len(samples) * batch}


def measure_interleaved(fns: dict, *, warmup: int = 3, min_time: float = 1.0,
                        block_time: float = 0.25, min_runs: int = 10) -> dict:
    """Time several functions in alternating blocks, so that a noisy spell of a shared
    machine falls on all of them instead of on whichever ran at the time.

    Each round runs every function (in turn, the order rotating each round) for about
    ``block_time`` seconds, one sample per call; rounds repeat until every function has run
    ``min_time`` seconds in all and ``min_runs`` samples.

    Args:
        fns: name -> zero-argument callable.
    Returns:
        name -> {"median_s", "p90_s", "min_s", "runs"} as :func:`measure`.
    """
    names = list(fns)
    for name in names:
        for _ in range(warmup):
            fns[name]()
    samples = {name: [] for name in names}
    spent = dict.fromkeys(names, 0.0)
    r = 0
    while any(spent[n] < min_time or len(samples[n]) < min_runs for n in names):
        for name in names[r % len(names):] + names[:r % len(names)]:
            fn, out = fns[name], samples[name]
            start = time.perf_counter()
            while True:
                t0 = time.perf_counter()
                fn()
                t1 = time.perf_counter()
                out.append(t1 - t0)
                if t1 - start >= block_time:
                    break
            spent[name] += time.perf_counter() - start
        r += 1
    result = {}
    for name in names:
        a = np.array(samples[name])
        result[name] = {"median_s": float(np.median(a)), "p90_s": float(np.percentile(a, 90)),
                        "min_s": float(a.min()), "runs": len(a)}
    return result


def time_steps(row: dict, fns: dict, batch: int, seconds: float) -> None:
    """Time training steps (name -> callable, None for a missing peer) interleaved and put
    ``<name>_ms`` and ``<name>_sps`` (samples/s at ``batch``) into ``row``."""
    timed = measure_interleaved({k: f for k, f in fns.items() if f is not None},
                                min_time=seconds)
    for name, r in timed.items():
        row[f"{name}_ms"] = r["median_s"] * 1e3
        row[f"{name}_sps"] = batch / r["median_s"]


def optional(name: str):
    """The module ``name`` if importable, else None (peers are optional)."""
    try:
        return importlib.import_module(name)
    except Exception:            # ImportError, or a broken install of a peer
        return None


def machine() -> dict:
    import llvmlite
    import numba
    info = {"python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "llvmlite": llvmlite.__version__,
            "cpu": _cpu_name(), "cores": os.cpu_count(), "platform": platform.platform()}
    for peer in ("torch", "jax"):
        mod = optional(peer)
        if mod is not None:
            info[peer] = mod.__version__
    # which OpenBLAS kernels graphc's sgemm runs: OPENBLAS_CORETYPE can force older ones
    # (e.g. Haswell's AVX2 kernels on an AVX-512 CPU), which changes every GEMM-bound figure
    info["openblas_core"] = blas_core()
    info["OPENBLAS_CORETYPE"] = os.environ.get("OPENBLAS_CORETYPE")
    # the mode (--isa) and what each library says it runs, so a figure says its CPU kind
    info["isa_mode"] = os.environ.get("GRAPHC_BENCH_ISA", "native")
    info["numba_cpu"] = numba.config.CPU_NAME or "host"
    torch = optional("torch")
    if torch is not None and hasattr(torch.backends, "cpu"):
        info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    return info


def blas_core() -> str | None:
    """The kernel family (e.g. 'SkylakeX', 'Haswell') of the OpenBLAS behind graphc's sgemm,
    or None when it cannot be asked."""
    import ctypes

    from graphc.codegen.cpu import runtime as native
    lib = native.blas_library()
    if lib is None:
        return None
    for name in ("scipy_openblas_get_corename", "openblas_get_corename"):
        fn = getattr(ctypes.CDLL(lib[0]), name, None)
        if fn is not None:
            fn.restype = ctypes.c_char_p
            return fn().decode()
    return None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def table(rows: list[dict], columns: list[str], title: str = "") -> str:
    """A plain-text table of ``rows`` (dicts) with ``columns``; printed and returned."""
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.4g}"
        return "-" if v is None else str(v)
    cells = [[fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) if cells else len(c)
              for i, c in enumerate(columns)]
    lines = []
    if title:
        lines.append(title)
    lines.append("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths)))
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def write_json(name: str, payload: dict) -> str:
    """Write ``bench/out/<name>.json`` (with the machine description) and return its path."""
    from graphc.config import atomic_write_text
    out = os.path.join(HERE, "out")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, f"{name}.json")
    payload = dict(payload, machine=machine(), time=time.strftime("%Y-%m-%d %H:%M:%S"))
    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")
    print(f"wrote {path}")
    return path


def keras_python() -> str | None:
    """An interpreter with Keras 3 and JAX for the Keras 3 columns: ``$GRAPHC_BENCH_KERAS_PYTHON``
    (a separate virtualenv: Keras 3 is a tool here, not a dependency), else this one; None
    when neither imports both."""
    import subprocess
    for py in (os.environ.get("GRAPHC_BENCH_KERAS_PYTHON"), sys.executable):
        if not py:
            continue
        probe = subprocess.run([py, "-c", "import keras, jax"], capture_output=True,
                               env=dict(os.environ, KERAS_BACKEND="jax"))
        if probe.returncode == 0:
            return py
    return None


def torch_nchw_step(torch, model, opt, x_nhwc, y):
    """One PyTorch training step of ``model`` on a fixed NHWC image batch (transposed once to
    NCHW) with one-hot ``y``: softmax cross-entropy, ``opt``'s update. Returns ``step()``."""
    x = torch.from_numpy(np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2)))
    y = torch.from_numpy(y)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = -(y * torch.log_softmax(model(x), dim=1)).sum(1).mean()
        loss.backward()
        opt.step()
        return loss
    return step


def add_peer_options(ap, timeout: float) -> None:
    """The options of the benchmarks with PyTorch and Keras 3 / JAX columns."""
    ap.add_argument("--isa", default="native", choices=["native", *ISA_ENV],
                    help="restrict graphc and the peers to this instruction set")
    ap.add_argument("--no-keras", action="store_true", help="skip Keras 3 / JAX")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    ap.add_argument("--keep-cache", action="store_true",
                    help="use the usual graphc home (its compile cache) instead of a new one")
    ap.add_argument("--timeout", type=float, default=timeout,
                    help="seconds for each Keras child process")
