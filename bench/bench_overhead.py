"""Call overhead of a compiled function on a tiny input (10-element float32 add), in
microseconds: graphc's CompiledFunction (native call + thin wrapper), graphc's K.function
(adds input checking) when the backend is importable, a bare numba njit function, numpy,
PyTorch eager and JAX jit when installed.

Run: ``python bench/bench_overhead.py``
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import measure, optional, table, write_json  # noqa: E402


def main():
    from numba import njit

    from graphc.codegen import compile_graph
    from graphc.ir import Graph, TensorType, apply, source
    x = source("input", TensorType("float32", (10,)), name="x")
    y = source("input", TensorType("float32", (10,)), name="y")
    fn = compile_graph(Graph([x, y], [apply("add", x, y)], name="add10"))
    a = np.arange(10, dtype=np.float32)
    b = np.ones(10, dtype=np.float32)
    rows = []

    def add(label, f):
        f()
        r = measure(f, min_time=1.0, batch=1000)
        rows.append({"what": label, "median_us": r["median_s"] * 1e6, "p90_us": r["p90_s"] * 1e6})

    add("graphc compile_graph (native call + wrapper)", lambda: fn([a, b]))
    try:
        from graphc import backend as K
        xp, yp = K.placeholder(shape=(10,)), K.placeholder(shape=(10,))
        kf = K.function([xp, yp], [xp + yp])
        kf([a, b])
        add("graphc K.function (checks + native call)", lambda: kf([a, b]))
    except Exception as e:                     # backend not ready: report, do not fail
        print(f"(K.function not measured: {type(e).__name__}: {e})")

    @njit
    def nb_add(p, q):
        return p + q
    add("numba njit dispatch (p + q)", lambda: nb_add(a, b))
    add("numpy a + b", lambda: a + b)
    torch = optional("torch")
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        add("torch eager a + b", lambda: ta + tb)
    jax = optional("jax")
    if jax is not None:
        jf = jax.jit(lambda p, q: p + q)
        ja, jb = jax.numpy.asarray(a), jax.numpy.asarray(b)
        add("jax jit (dispatch + block_until_ready)", lambda: jf(ja, jb).block_until_ready())
    table(rows, ["what", "median_us", "p90_us"],
          title="call overhead, 10-element float32 add (target: graphc <= 3 us)")
    write_json("bench_overhead", {"rows": rows})


if __name__ == "__main__":
    main()
