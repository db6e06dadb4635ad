"""Compile time of the seed-MLP training step (bench_mlp.py's graph): cold (a new process
and an empty cache folder) and warm (a new process, the cache filled by the cold run).

Each measurement runs ``python bench/bench_compile.py --child`` in a fresh interpreter and
reports: process start to compiled (imports included), the optimisation passes, lowering,
loading the generated module, numba's compile (or cache load), and the first call. The step
is built through the user path (Sequential + compile -> ``model.train_function``, compiled on
its first call; ``compile_s`` = model build + that call); ``BENCH_COMPILE_PATH=ir`` times the
hand-built IR graph through ``compile_graph`` instead.

On a cold compile the numba time is split further from numba's own records of the compiled
segments: ``typing_s`` (type inference, including the nested compiles it triggers),
``lowering_s`` (numba's native-lowering pass: numba IR -> LLVM IR, then the LLVM work it runs,
so it contains most of ``llvm_s``), ``llvm_s`` (all LLVM optimisation and machine-code
generation, numba's ``llvm_lock``), and ``nested`` (how many functions numba compiled besides
the segments: ``np.empty``, ``fill``, ``max`` ... implementations, one per new signature).

Python's bytecode cache matters for the warm figure: with ``PYTHONDONTWRITEBYTECODE=1`` (set
in some environments) every graphc module is compiled from source in every process (~0.1 s).
``--pyc`` runs the children with their bytecode in a private folder
(``PYTHONPYCACHEPREFIX``, filled by a first untimed child), as an installed package would
have it; the default measures the environment as it is.

Run: ``python bench/bench_compile.py [--repeats 2] [--pyc]``
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

T_START = time.perf_counter()


def _numba_phases(compiled) -> dict:
    """Seconds per numba phase for the segments numba compiled in this process (zeros on a
    cache hit), from each overload's metadata."""
    out = {"typing_s": 0.0, "lowering_s": 0.0, "llvm_s": 0.0}
    module = getattr(compiled, "_module", None)
    for step in getattr(compiled.program, "steps", ()):
        disp = getattr(module, getattr(step, "name", ""), None)
        for cres in getattr(disp, "overloads", {}).values():
            md = cres.metadata or {}
            out["llvm_s"] += md.get("timers", {}).get("llvm_lock", 0.0)
            for passes in md.get("pipeline_times", {}).values():
                for name, t in passes.items():
                    dt = t.init + t.run + t.finalize
                    if name.endswith("_nopython_type_inference"):
                        out["typing_s"] += dt
                    elif name.endswith("_native_lowering"):
                        out["lowering_s"] += dt
    return out


class _NestedCompiles:
    """Counts the functions numba compiles (its ``numba:compile`` events), segments
    included."""

    def __init__(self):
        from numba.core import event
        self.n = 0
        outer = self

        class _L(event.Listener):
            def on_start(self, ev):
                outer.n += 1

            def on_end(self, ev):
                pass
        event.register("numba:compile", _L())


def child():
    import numpy as np
    t_import0 = time.perf_counter()
    import graphc.codegen  # noqa: F401
    import numba  # noqa: F401
    t_import = time.perf_counter() - t_import0
    counter = _NestedCompiles()
    if os.environ.get("BENCH_COMPILE_PATH", "keras") == "keras":
        from bench_mlp import compile_model_step, data
        f, s = compile_model_step()
        t_compiled = time.perf_counter()
        x, y = data(32)
        sw = np.ones(32, np.float32)
        t0 = time.perf_counter()
        loss = f([x, y, sw])[0]
        first = time.perf_counter() - t0
        total = s["model_build"] + s["first_call"]
        compiled = f._executor
    else:
        from bench_mlp import compile_step, data
        fn, _, _ = compile_step()
        t_compiled = time.perf_counter()
        x, y = data(32)
        t0 = time.perf_counter()
        fn([x, y])
        first = time.perf_counter() - t0
        s = fn.stats
        loss = fn([x, y])[0]
        total = s["total"]
        compiled = fn
    print(json.dumps({"to_compiled_s": t_compiled - T_START, "imports_s": t_import,
                      "passes_s": s["passes"], "lower_s": s["lower"], "load_s": s["load"],
                      "numba_s": s["numba"], "compile_s": total,
                      "cpu_s": time.process_time(),
                      "first_call_s": first, "cache_hits": s["cache_hits"],
                      **_numba_phases(compiled),
                      "nested": max(counter.n - s["segments"] + s["cache_hits"], 0),
                      "loss": float(np.asarray(loss))}))


def run_child(cache_dir: str, pyc_dir: str | None = None) -> dict:
    env = dict(os.environ, GRAPHC_CACHE_DIR=cache_dir)
    if pyc_dir:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pyc_dir
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child"], env=env,
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"the compile child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--pyc", action="store_true",
                    help="give the children a bytecode cache (PYTHONPYCACHEPREFIX) even when "
                         "PYTHONDONTWRITEBYTECODE is set")
    args = ap.parse_args(argv)
    if args.child:
        child()
        return
    from common import table, write_json
    rows = []
    with tempfile.TemporaryDirectory(prefix="graphc-bench-pyc-") as pyc:
        pyc_dir = pyc if args.pyc else None
        if pyc_dir:                       # fill the bytecode cache (untimed)
            with tempfile.TemporaryDirectory(prefix="graphc-bench-cache-") as d:
                run_child(d, pyc_dir)
        for r in range(args.repeats):
            with tempfile.TemporaryDirectory(prefix="graphc-bench-cache-") as d:
                cold = run_child(d, pyc_dir)
                warm = run_child(d, pyc_dir)
            rows.append(dict(cold, run=f"cold {r + 1}"))
            rows.append(dict(warm, run=f"warm {r + 1}"))
    cols = ["run", "to_compiled_s", "cpu_s", "imports_s", "passes_s", "lower_s", "load_s",
            "numba_s", "typing_s", "lowering_s", "llvm_s", "nested", "compile_s",
            "first_call_s", "cache_hits"]
    no_pyc = bool(os.environ.get("PYTHONDONTWRITEBYTECODE")) and not args.pyc
    bytecode = "private cache" if args.pyc else \
        "none (PYTHONDONTWRITEBYTECODE=1)" if no_pyc else "as the environment"
    table(rows, cols, title="seed MLP train step compile, Sequential + compile + first call "
                            "(targets: cold <= 2 s, warm <= 0.3 s; cpu_s = process CPU time; "
                            f"bytecode: {bytecode})")
    write_json("bench_compile", {"rows": rows, "pyc": bool(args.pyc),
                                 "dont_write_bytecode": bool(
                                     os.environ.get("PYTHONDONTWRITEBYTECODE"))})


if __name__ == "__main__":
    main()
