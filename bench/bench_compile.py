"""Compile time of the seed-MLP training step (bench_mlp.py's graph): cold (a new process
and an empty cache folder) and warm (a new process, the cache filled by the cold run).

Each measurement runs ``python bench/bench_compile.py --child`` in a fresh interpreter and
reports: process start to compiled (imports included), the optimisation passes, lowering,
loading the generated module, numba's compile (or cache load), and the first call. The step
is built through the user path (Sequential + compile -> ``model.train_function``, compiled on
its first call; ``compile_s`` = model build + that call); ``BENCH_COMPILE_PATH=ir`` times the
hand-built IR graph through ``compile_graph`` instead.

Run: ``python bench/bench_compile.py [--repeats 2]``
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


def child():
    import numpy as np
    t_import0 = time.perf_counter()
    import graphc.codegen  # noqa: F401
    import numba  # noqa: F401
    t_import = time.perf_counter() - t_import0
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
    print(json.dumps({"to_compiled_s": t_compiled - T_START, "imports_s": t_import,
                      "passes_s": s["passes"], "lower_s": s["lower"], "load_s": s["load"],
                      "numba_s": s["numba"], "compile_s": total,
                      "cpu_s": time.process_time(),
                      "first_call_s": first, "cache_hits": s["cache_hits"],
                      "loss": float(np.asarray(loss))}))


def run_child(cache_dir: str) -> dict:
    env = dict(os.environ, GRAPHC_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child"], env=env,
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"the compile child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)
    if args.child:
        child()
        return
    from common import table, write_json
    rows = []
    for r in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="graphc-bench-cache-") as d:
            cold = run_child(d)
            warm = run_child(d)
        rows.append(dict(cold, run=f"cold {r + 1}"))
        rows.append(dict(warm, run=f"warm {r + 1}"))
    cols = ["run", "to_compiled_s", "cpu_s", "imports_s", "passes_s", "lower_s", "load_s",
            "numba_s", "compile_s", "first_call_s", "cache_hits"]
    table(rows, cols, title="seed MLP train step compile, Sequential + compile + first call "
                            "(targets: cold <= 2 s, warm <= 0.3 s; cpu_s = process CPU time)")
    write_json("bench_compile", {"rows": rows})


if __name__ == "__main__":
    main()
