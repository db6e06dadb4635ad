"""Elementwise chain ``y = tanh(a*x + b) * sigmoid(x) + 0.5*x*x`` (float32) at 64K and 4M
elements: graphc (one fused kernel; serial and parallel loops) against numpy, PyTorch eager
and JAX jit when installed.

Run: ``python bench/bench_elementwise.py [--sizes 65536,4194304] [--seconds 1]``
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import measure, optional, table, write_json  # noqa: E402

A, B = 0.7, 0.1


def graphc_fn(parallel: bool):
    from graphc.codegen import compile_graph
    from graphc.ir import Graph, TensorType, apply, source
    from graphc.passes.fuse import fuse
    x = source("input", TensorType("float32", ("N",)), name="x")
    y = apply("tanh", x * A + B) * apply("sigmoid", x) + 0.5 * x * x
    fn = compile_graph(fuse(Graph([x], [y], name="chain")), parallel=parallel)
    return fn


def numpy_chain(x):
    return np.tanh(x * np.float32(A) + np.float32(B)) * (1 / (1 + np.exp(-x))) + \
        np.float32(0.5) * x * x


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="65536,4194304")
    ap.add_argument("--seconds", type=float, default=1.0)
    args = ap.parse_args(argv)
    serial, par = graphc_fn(False), graphc_fn(True)
    torch, jax = optional("torch"), optional("jax")
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        x = np.random.default_rng(0).normal(size=n).astype(np.float32)
        ref = numpy_chain(x)
        for fn in (serial, par):
            np.testing.assert_allclose(fn([x])[0], ref, rtol=1e-5, atol=1e-5)
        row = {"n": n}
        row["numpy_ms"] = measure(lambda: numpy_chain(x), min_time=args.seconds)["median_s"] * 1e3
        row["graphc_serial_ms"] = measure(lambda: serial([x]), min_time=args.seconds)[
            "median_s"] * 1e3
        row["graphc_parallel_ms"] = measure(lambda: par([x]), min_time=args.seconds)[
            "median_s"] * 1e3
        if torch is not None:
            tx = torch.from_numpy(x)
            row["torch_ms"] = measure(lambda: torch.tanh(tx * A + B) * torch.sigmoid(tx) +
                                      0.5 * tx * tx, min_time=args.seconds)["median_s"] * 1e3
        if jax is not None:
            jf = jax.jit(lambda v: jax.numpy.tanh(v * A + B) * jax.nn.sigmoid(v) + 0.5 * v * v)
            jx = jax.numpy.asarray(x)
            row["jax_ms"] = measure(lambda: jf(jx).block_until_ready(),
                                    min_time=args.seconds)["median_s"] * 1e3
        best = min(row["graphc_serial_ms"], row["graphc_parallel_ms"])
        row["numpy/graphc"] = row["numpy_ms"] / best
        rows.append(row)
    table(rows, ["n", "numpy_ms", "graphc_serial_ms", "graphc_parallel_ms", "torch_ms",
                 "jax_ms", "numpy/graphc"],
          title="elementwise chain, float32 (target: numpy/graphc >= 12 at 4M)")
    write_json("bench_elementwise", {"rows": rows})


if __name__ == "__main__":
    main()
