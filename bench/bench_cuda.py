"""graphc's CUDA path against numpy on the host (and PyTorch CUDA when installed).

    pip install -e ".[gpu]" && python bench/bench_cuda.py [--check] [--small]

Cases: a fused elementwise chain over 4M float32 (``tanh(a*x+b)*sigmoid(x)+0.5*x*x``), the
tiled float32 matmul at 1024^3 and 4096^3, and a seed-MLP training step (784-512-512-10,
relu, softmax cross-entropy, SGD, batch 128) with the weights resident on the GPU. Each case
reports the end-to-end call (host arrays in and out) and, where it differs, the device-only
time (arrays already on the GPU, kernels only). The MLP step is timed with the updated
weights copied back to the host after every call (``sync_back=True``, the default) and
without (``sync_back=False``), which is the cost of keeping ``K.get_value`` current.

``--check`` compares every result with numpy / the reference interpreter and exits 1 on a
mismatch. ``--small`` shrinks every shape (for a smoke run in the CUDA simulator). Writes
bench/out/bench_cuda.json.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from common import machine, measure, optional, table, write_json

from graphc.codegen.cuda import compile_graph_cuda, runtime
from graphc.codegen.cuda import kernels as K
from graphc.ir import Graph, evaluate
from graphc.ir.node import Variable
from graphc.ir.ops import apply, source
from graphc.ir.types import TensorType
from graphc.ir.autodiff import gradients

FAILURES: list[str] = []


def _inp(shape, name):
    return source("input", TensorType("float32", shape), name=name)


def _close(name, got, want, rtol, atol):
    ok = got.shape == want.shape and np.allclose(got, want, rtol=rtol, atol=atol)
    err = float(np.max(np.abs(got.astype(np.float64) - want))) if got.shape == want.shape \
        else float("inf")
    if not ok:
        FAILURES.append(f"{name}: max abs error {err:.3g} (rtol {rtol}, atol {atol})")
    return ok, err


def _sync():
    runtime.synchronize()


def bench_elementwise(n, check, torch):
    x, a, b = _inp((n,), "x"), _inp((), "a"), _inp((), "b")
    y = apply("add", apply("mul", apply("tanh", apply("add", apply("mul", a, x), b)),
                           apply("sigmoid", x)),
              apply("mul", apply("mul", x, x), apply("fill_like", x, value=0.5)))
    f = compile_graph_cuda(Graph([x, a, b], [y]))
    xs = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    av, bv = np.float32(0.7), np.float32(-0.2)
    t0 = time.perf_counter()
    got = f([xs, av, bv])[0]
    first = time.perf_counter() - t0

    def numpy_chain():
        return np.tanh(av * xs + bv) * (1 / (1 + np.exp(-xs))) + np.float32(0.5) * xs * xs

    rows = []
    status = ""
    if check:
        ok, err = _close("elementwise", got, numpy_chain(), 2e-5, 2e-6)
        status = "ok" if ok else f"MISMATCH {err:.2g}"
    e2e = measure(lambda: f([xs, av, bv]), min_time=0.5, warmup=2)
    # device only: the generated kernel on resident arrays
    step = next(s for s in f.plan.steps if s.kind == "kernel")
    kern = f._fns[id(step)]
    dx, da, db = runtime.to_device(xs), runtime.to_device(np.asarray(av).reshape(1)), \
        runtime.to_device(np.asarray(bv).reshape(1))
    out = runtime.empty((n,), np.float32)
    ins = {id(v): d for v, d in zip(f.graph.inputs, (dx, da, db))}
    args = [ins[id(v)] for v in step.info["inputs"]]
    blocks, threads = runtime.launch_config(n)

    def device():
        kern[blocks, threads](n, n, out, *args)
        _sync()
    dev = measure(device, min_time=0.5, warmup=2)
    npy = measure(numpy_chain, min_time=0.5, warmup=1)
    gbs = 2 * n * 4 / dev["median_s"] / 1e9
    rows.append({"case": f"elementwise chain {n:,} f32", "graphc_e2e_ms": e2e["median_s"] * 1e3,
                 "graphc_device_ms": dev["median_s"] * 1e3, "numpy_ms": npy["median_s"] * 1e3,
                 "note": f"{gbs:.0f} GB/s; first call {first:.2f} s", "check": status})
    if torch is not None:
        tx = torch.from_numpy(xs).cuda()

        def tchain():
            r = torch.tanh(av * tx + bv) * torch.sigmoid(tx) + 0.5 * tx * tx
            torch.cuda.synchronize()
            return r
        rows[-1]["torch_cuda_ms"] = measure(tchain, min_time=0.5)["median_s"] * 1e3
    return rows


def bench_matmul(n, check, torch, repeats_min_time=0.5):
    a_np = np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)
    b_np = np.random.default_rng(2).standard_normal((n, n)).astype(np.float32)
    da, db = runtime.to_device(a_np), runtime.to_device(b_np)
    dc = runtime.empty((n, n), np.float32)
    t0 = time.perf_counter()
    K.matmul(da, db, dc)
    _sync()
    first = time.perf_counter() - t0
    status = ""
    if check:
        want = a_np.astype(np.float64) @ b_np.astype(np.float64)
        got = dc.copy_to_host()
        ok, err = _close(f"matmul {n}", got, want, 1e-4, 1e-3 * np.sqrt(n))
        status = "ok" if ok else f"MISMATCH {err:.2g}"

    def device():
        K.matmul(da, db, dc)
        _sync()
    dev = measure(device, min_time=repeats_min_time, warmup=1, min_runs=3)
    x, w = _inp((n, n), "a"), _inp((n, n), "b")
    f = compile_graph_cuda(Graph([x, w], [apply("matmul", x, w)]))
    e2e = measure(lambda: f([a_np, b_np]), min_time=repeats_min_time, warmup=1, min_runs=3)
    npy = measure(lambda: a_np @ b_np, min_time=repeats_min_time, warmup=1, min_runs=3)
    flops = 2.0 * n ** 3
    row = {"case": f"matmul {n}^3 f32", "graphc_e2e_ms": e2e["median_s"] * 1e3,
           "graphc_device_ms": dev["median_s"] * 1e3, "numpy_ms": npy["median_s"] * 1e3,
           "note": f"{flops / dev['median_s'] / 1e12:.2f} TFLOP/s; first {first:.2f} s",
           "check": status}
    if torch is not None:
        ta, tb = torch.from_numpy(a_np).cuda(), torch.from_numpy(b_np).cuda()
        prev = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = False      # plain float32, as ours

        def tmm():
            r = ta @ tb
            torch.cuda.synchronize()
            return r
        row["torch_cuda_ms"] = measure(tmm, min_time=repeats_min_time)["median_s"] * 1e3
        torch.backends.cuda.matmul.allow_tf32 = prev
    return [row]


def _mlp(batch, sizes, lr=0.01, seed=0):
    rng = np.random.default_rng(seed)
    x = _inp(("B", sizes[0]), "x")
    y = _inp(("B", sizes[-1]), "y")
    ws, h = [], x
    for k, (i, o) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = Variable((rng.standard_normal((i, o)) * np.sqrt(2.0 / i)).astype(np.float32),
                     f"W{k}")
        b = Variable(np.zeros(o, np.float32), f"b{k}")
        Wv = source("variable", TensorType("float32", (i, o)), name=W.name, var=W)
        bv = source("variable", TensorType("float32", (o,)), name=b.name, var=b)
        ws += [Wv, bv]
        h = apply("add", apply("matmul", h, Wv), bv)
        if k < len(sizes) - 2:
            h = apply("relu", h)
    loss = apply("mean", apply("softmax_cross_entropy", h, y, axis=-1))
    grads = gradients(loss, ws)
    updates = [(w, apply("sub", w, apply("mul", g, apply("fill_like", g, value=lr))))
               for w, g in zip(ws, grads)]
    xb = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    yb = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], batch)]
    return Graph([x, y], [loss], updates), ws, grads, loss, xb, yb


def bench_mlp(batch, sizes, check, torch):
    g, ws, grads, loss, xb, yb = _mlp(batch, sizes)
    stores = [w.node.attrs["var"] for w in ws]
    start = [s.value.copy() for s in stores]
    t0 = time.perf_counter()
    f = compile_graph_cuda(g)
    f([xb, yb])
    first = time.perf_counter() - t0
    status = ""
    if check:
        # one step from the starting weights, against the reference interpreter
        for s, v in zip(stores, start):
            s.value = v.copy()
        env = {w: s.value.copy() for w, s in zip(ws, stores)}
        env.update({g.inputs[0]: xb, g.inputs[1]: yb})
        want_loss, *want_g = evaluate([loss] + grads, env)
        got_loss = f([xb, yb])[0]
        ok, err = _close("mlp loss", np.asarray(got_loss), np.asarray(want_loss), 1e-4, 1e-5)
        for w, s, v0, gv in zip(ws, stores, start, want_g):
            ok2, e2 = _close(f"mlp update {s.name}", s.value, v0 - np.float32(0.01) * gv,
                             1e-4, 1e-5)
            ok, err = ok and ok2, max(err, e2)
        status = "ok" if ok else f"MISMATCH {err:.2g}"
    e2e = measure(lambda: f([xb, yb]), min_time=1.0, warmup=3)
    f_nosync = compile_graph_cuda(g, sync_back=False)
    nos = measure(lambda: f_nosync([xb, yb]), min_time=1.0, warmup=3)
    from graphc.codegen.cuda import sync_variables
    sync_variables()
    # numpy on the host: the same step by hand
    Ws = [s.value.copy() for s in stores]

    def numpy_step():
        acts = [xb]
        h = xb
        n_layers = len(Ws) // 2
        for k in range(n_layers):
            h = h @ Ws[2 * k] + Ws[2 * k + 1]
            if k < n_layers - 1:
                h = np.maximum(h, 0)
            acts.append(h)
        z = h - h.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        d = (p - yb) / np.float32(batch)
        for k in range(n_layers - 1, -1, -1):
            a = acts[k]
            gW, gb = a.T @ d, d.sum(axis=0)
            if k:
                d = (d @ Ws[2 * k].T) * (acts[k] > 0)
            Ws[2 * k] -= np.float32(0.01) * gW
            Ws[2 * k + 1] -= np.float32(0.01) * gb
    npy = measure(numpy_step, min_time=1.0, warmup=2)
    arch = "-".join(str(s) for s in sizes)
    row = {"case": f"MLP {arch} SGD step, batch {batch}",
           "graphc_e2e_ms": e2e["median_s"] * 1e3,
           "graphc_device_ms": nos["median_s"] * 1e3, "numpy_ms": npy["median_s"] * 1e3,
           "note": f"device_ms = sync_back=False; build+first call {first:.2f} s; "
                   f"{f.stats['kernels']} kernels, {f.stats['host_steps']} host steps",
           "check": status}
    if torch is not None:
        tW = [torch.from_numpy(s.value.copy()).cuda().requires_grad_() for s in stores]
        tx, ty = torch.from_numpy(xb).cuda(), torch.from_numpy(yb).cuda()

        def tstep():
            h = tx
            n_layers = len(tW) // 2
            for k in range(n_layers):
                h = h @ tW[2 * k] + tW[2 * k + 1]
                if k < n_layers - 1:
                    h = torch.relu(h)
            lossv = -(ty * torch.log_softmax(h, dim=1)).sum(1).mean()
            gs = torch.autograd.grad(lossv, tW)
            with torch.no_grad():
                for w, gv in zip(tW, gs):
                    w -= 0.01 * gv
            torch.cuda.synchronize()
        row["torch_cuda_ms"] = measure(tstep, min_time=1.0)["median_s"] * 1e3
    return [row]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true",
                    help="compare every result with numpy; exit 1 on a mismatch")
    ap.add_argument("--small", action="store_true",
                    help="tiny shapes (a smoke run, e.g. in the CUDA simulator)")
    args = ap.parse_args(argv)
    if not runtime.available():
        print(f"bench_cuda: CUDA is not usable here: {runtime.unavailable_reason()}",
              file=sys.stderr)
        return 2
    torch = optional("torch")
    if torch is not None and not torch.cuda.is_available():
        torch = None
    rows = []
    if args.small:
        rows += bench_elementwise(256, args.check, torch)
        rows += bench_matmul(24, args.check, torch, repeats_min_time=0.0)
        rows += bench_mlp(4, (12, 8, 8, 3), args.check, torch)
    else:
        rows += bench_elementwise(4 * 1024 * 1024, args.check, torch)
        rows += bench_matmul(1024, args.check, torch)
        rows += bench_matmul(4096, args.check, torch, repeats_min_time=2.0)
        rows += bench_mlp(128, (784, 512, 512, 10), args.check, torch)
    cols = ["case", "graphc_e2e_ms", "graphc_device_ms", "numpy_ms"] + \
        (["torch_cuda_ms"] if torch is not None else []) + ["note"] + \
        (["check"] if args.check else [])
    table(rows, cols, title=f"graphc CUDA path on {runtime.device_name()}")
    write_json("bench_cuda", {"machine": machine(), "device": runtime.device_name(),
                                     "rows": rows, "failures": FAILURES})
    if FAILURES:
        print("MISMATCHES:\n  " + "\n  ".join(FAILURES), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
