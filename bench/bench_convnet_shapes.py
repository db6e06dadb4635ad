"""Convnet training steps at the shapes users train, graphc beside PyTorch and Keras 3 / JAX.

Each model: 32x32x3 input (CIFAR-like) -> D x Conv2D(F, 3x3, 'same', relu) -> Flatten ->
Dense(10, softmax), categorical crossentropy, Adam; for D > 2 a MaxPooling2D(2) follows every
second convolution while the feature map is >= 8 wide (the ``cnn`` model of
bench_compile_scaling.py). For every (F, D) and batch size, on a fixed random batch:

- ``compile_s``: graphc's ``model.compile()`` + the first ``train_on_batch`` (the compile a
  user waits for), with a new, empty graphc home for the run (kernels compiled for an earlier
  model of the same run may be reused by a later one, as in a user's session);
- ``graphc_ms``: the median of ``model.train_on_batch`` (after warm-up);
- ``direct_ms``: the median of ``model.train_function`` called directly with the arrays that
  ``train_on_batch`` would pass (no input checking), as bench_mlp.py times it;
- ``torch_ms``: PyTorch eager, the same architecture (NCHW), Adam, default threads;
  ``torch1t_ms``: the same with one intra-op thread;
- ``keras_ms``: Keras 3 on JAX, ``train_on_batch``, in a child process per (F, D) running every
  batch size (``keras_first_s``: its compile + first step), with the interpreter
  ``$GRAPHC_BENCH_KERAS_PYTHON`` or this one when it has ``keras`` and ``jax``.

graphc, its direct step and PyTorch are timed in alternating blocks
(``common.measure_interleaved``); Keras 3 runs after them, alone. Ratios are speedups of graphc:
``torch/graphc`` = torch_ms / graphc_ms, so > 1 means graphc is faster.

Run: ``python bench/bench_convnet_shapes.py [--filters 16,32,64] [--depths 2,6,12]
[--batches 32,128] [--seconds 1] [--no-keras] [--no-torch] [--isa avx2]``. Writes
``bench/out/bench_convnet_shapes.json`` (``bench_convnet_shapes_avx2.json`` with ``--isa avx2``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings

import numpy as np

# The peers run on the CPU: a JAX built with CUDA would otherwise pick a GPU.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (ROOT, add_peer_options, keras_python,  # noqa: E402
                    measure_interleaved, optional, table, torch_nchw_step, write_json)

H = W = 32
C_IN, N_OUT = 3, 10
LR, B1, B2, EPS = 0.001, 0.9, 0.999, 1e-7


def layout(depth: int) -> list[bool]:
    """For each of the ``depth`` convolutions, whether a MaxPooling2D(2) follows it."""
    pools, size = [], H
    for k in range(depth):
        pool = depth > 2 and k % 2 == 1 and size >= 8
        pools.append(pool)
        if pool:
            size //= 2
    return pools


def final_size(depth: int) -> int:
    return H // 2 ** sum(layout(depth))


def data(batch: int, seed: int = 1):
    """A fixed batch: images (batch, 32, 32, 3) in [0, 1) and one-hot labels."""
    rng = np.random.default_rng(seed)
    x = rng.random((batch, H, W, C_IN), dtype=np.float32)
    y = np.eye(N_OUT, dtype=np.float32)[rng.integers(0, N_OUT, batch)]
    return x, y


# -- graphc -----------------------------------------------------------------------------------

def graphc_model(filters: int, depth: int):
    from graphc import layers as L
    from graphc.models import Sequential
    from graphc.optimizers import Adam
    model = Sequential()
    for k, pool in enumerate(layout(depth)):
        kw = {"input_shape": (H, W, C_IN)} if k == 0 else {}
        model.add(L.Conv2D(filters, (3, 3), padding="same", activation="relu", **kw))
        if pool:
            model.add(L.MaxPooling2D((2, 2)))
    model.add(L.Flatten())
    model.add(L.Dense(N_OUT, activation="softmax"))
    model.compile(loss="categorical_crossentropy",
                  optimizer=Adam(lr=LR, beta_1=B1, beta_2=B2, epsilon=EPS))
    return model


def graphc_steps(model, x, y):
    """(train_on_batch step, direct step): the second calls ``model.train_function`` with the
    argument list ``train_on_batch`` builds (inputs, targets, sample weights, learning phase)."""
    from graphc.utils.sparse_utils import densify_all
    xs, ys, sws = model._standardize_user_data(x, y, None, None, where="train_on_batch")
    args = densify_all(xs + ys) + sws + model._lp(1)
    fn = model.train_function
    return (lambda: model.train_on_batch(x, y)), (lambda: fn(args))


# -- PyTorch ----------------------------------------------------------------------------------

def torch_model(filters: int, depth: int):
    torch = optional("torch")
    if torch is None:
        return None
    nn = torch.nn
    torch.manual_seed(0)
    mods, c = [], C_IN
    for pool in layout(depth):
        mods += [nn.Conv2d(c, filters, 3, padding=1), nn.ReLU()]
        c = filters
        if pool:
            mods.append(nn.MaxPool2d(2))
    mods += [nn.Flatten(), nn.Linear(filters * final_size(depth) ** 2, N_OUT)]
    model = nn.Sequential(*mods)
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=(B1, B2), eps=EPS)
    return model, opt


def torch_step(net, batch: int):
    torch = optional("torch")
    model, opt = net
    return torch_nchw_step(torch, model, opt, *data(batch))


def one_thread(torch, step):
    """``step`` run with one PyTorch intra-op thread (graphc often runs a kernel on one
    thread; this compares like with like, and it is what a busy 2-core machine leaves)."""
    threads = torch.get_num_threads()

    def run():
        torch.set_num_threads(1)
        try:
            return step()
        finally:
            torch.set_num_threads(threads)
    return run


# -- Keras 3 / JAX, in a child process --------------------------------------------------------

KERAS_CHILD = textwrap.dedent('''
    import json, os, sys, time
    import numpy as np
    import keras
    from keras import layers as L
    filters, depth = int(sys.argv[1]), int(sys.argv[2])
    batches = [int(b) for b in sys.argv[3].split(",")]
    seconds, min_runs = float(sys.argv[4]), int(sys.argv[5])
    pools = json.loads(sys.argv[6])
    H, C_IN, N_OUT = 32, 3, 10
    t0 = time.perf_counter()
    model = keras.Sequential([keras.Input((H, H, C_IN))])
    for pool in pools:
        model.add(L.Conv2D(filters, (3, 3), padding="same", activation="relu"))
        if pool:
            model.add(L.MaxPooling2D((2, 2)))
    model.add(L.Flatten())
    model.add(L.Dense(N_OUT, activation="softmax"))
    model.compile(loss="categorical_crossentropy",
                  optimizer=keras.optimizers.Adam(learning_rate=0.001, beta_1=0.9,
                                                  beta_2=0.999, epsilon=1e-7))
    build = time.perf_counter() - t0
    out = {"build_s": build, "rows": {}}
    for batch in batches:
        rng = np.random.default_rng(1)
        x = rng.random((batch, H, H, C_IN), dtype=np.float32)
        y = np.eye(N_OUT, dtype=np.float32)[rng.integers(0, N_OUT, batch)]
        t = time.perf_counter()
        model.train_on_batch(x, y)
        first = time.perf_counter() - t
        for _ in range(3):
            model.train_on_batch(x, y)
        times, start = [], time.perf_counter()
        while len(times) < min_runs or time.perf_counter() - start < seconds:
            t = time.perf_counter()
            model.train_on_batch(x, y)
            times.append(time.perf_counter() - t)
        out["rows"][str(batch)] = {"first_s": first, "step_s": float(np.median(times)),
                                   "runs": len(times)}
    import jax
    out["versions"] = {"keras": keras.__version__, "jax": jax.__version__,
                       "backend": keras.backend.backend(),
                       "XLA_FLAGS": os.environ.get("XLA_FLAGS")}
    print("RESULT " + json.dumps(out))
''')


def keras_run(python: str, filters: int, depth: int, batches: list[int], seconds: float,
              min_runs: int, timeout: float) -> dict:
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    cmd = [python, "-c", KERAS_CHILD, str(filters), str(depth), ",".join(map(str, batches)),
           str(seconds), str(min_runs), json.dumps(layout(depth))]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                              cwd=tempfile.gettempdir())
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    return {"error": (proc.stderr or proc.stdout)[-800:]}


# -- main -------------------------------------------------------------------------------------

def _ints(text: str, what: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SystemExit(f"--{what} takes comma-separated whole numbers, e.g. 16,32; "
                         f"got {text!r}") from None
    if not values or min(values) < 1:
        raise SystemExit(f"--{what} takes positive numbers; got {text!r}")
    return values


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--filters", default="16,32,64", help="comma-separated filter counts F")
    ap.add_argument("--depths", default="2,6,12", help="comma-separated conv depths D")
    ap.add_argument("--batches", default="32,128", help="comma-separated batch sizes")
    ap.add_argument("--seconds", type=float, default=1.0, help="timing time per figure")
    ap.add_argument("--min-runs", type=int, default=5, help="fewest timed steps per figure")
    add_peer_options(ap, timeout=900)
    args = ap.parse_args(argv)
    filters = _ints(args.filters, "filters")
    depths = _ints(args.depths, "depths")
    batches = _ints(args.batches, "batches")
    isa = os.environ.get("GRAPHC_BENCH_ISA", "native")

    home = None
    if not args.keep_cache:
        home = tempfile.mkdtemp(prefix="graphc-bench-home-")
        os.environ["GRAPHC_HOME"] = home
        os.environ.pop("GRAPHC_CACHE_DIR", None)
    missing = []
    if not args.no_torch and optional("torch") is None:
        missing.append("torch")
    keras_py = None
    if not args.no_keras:
        keras_py = keras_python()
        if keras_py is None:
            missing.append("keras+jax (set GRAPHC_BENCH_KERAS_PYTHON)")
    if missing:
        print("peers missing (their columns stay empty): " + ", ".join(missing))
    torch = None if args.no_torch else optional("torch")

    rows, keras_info, t_run = [], {}, time.perf_counter()
    try:
        for f in filters:
            for d in depths:
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    model = graphc_model(f, d)
                    model.train_on_batch(*data(batches[0]))
                compile_s = time.perf_counter() - t0
                net = torch_model(f, d) if torch is not None else None
                ker = (keras_run(keras_py, f, d, batches, args.seconds, args.min_runs,
                                 args.timeout) if keras_py else None)
                if ker is not None:
                    keras_info[f"F{f}_D{d}"] = ker
                    if "error" in ker:
                        print(f"Keras 3 F={f} D={d} failed: {ker['error']}")
                for batch in batches:
                    x, y = data(batch)
                    step, direct = graphc_steps(model, x, y)
                    fns = {"graphc": step, "direct": direct}
                    if net is not None:
                        fns["torch"] = torch_step(net, batch)
                        fns["torch1t"] = one_thread(torch, torch_step(net, batch))
                    timed = measure_interleaved(fns, min_time=args.seconds,
                                                min_runs=args.min_runs)
                    row = {"F": f, "D": d, "batch": batch,
                           "compile_s": compile_s if batch == batches[0] else None}
                    for name, r in timed.items():
                        row[f"{name}_ms"] = r["median_s"] * 1e3
                        row[f"{name}_runs"] = r["runs"]
                    kr = (ker or {}).get("rows", {}).get(str(batch))
                    if kr:
                        row["keras_ms"] = kr["step_s"] * 1e3
                        row["keras_first_s"] = kr["first_s"] + (
                            ker["build_s"] if batch == batches[0] else 0.0)
                    for peer in ("torch", "torch1t", "keras"):
                        if row.get(f"{peer}_ms"):
                            row[f"{peer}/graphc"] = row[f"{peer}_ms"] / row["graphc_ms"]
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    finally:
        if home:
            shutil.rmtree(home, ignore_errors=True)
    cols = ["F", "D", "batch", "compile_s", "graphc_ms", "direct_ms", "torch_ms", "torch1t_ms",
            "keras_ms", "keras_first_s", "torch/graphc", "torch1t/graphc", "keras/graphc"]
    text = table(rows, cols, title=f"convnet 32x32x3 train step (ms), isa {isa}; "
                                   "peer/graphc > 1: graphc faster")
    info = {}
    if torch is not None:
        info["torch_threads"] = torch.get_num_threads()
        info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    name = "bench_convnet_shapes" + ("" if isa == "native" else f"_{isa}")
    write_json(name, {"isa_mode": isa, "rows": rows, "table": text, "keras": keras_info,
                      "keras_python": keras_py, "peers_missing": missing, "peers": info,
                      "args": vars(args), "wall_s": time.perf_counter() - t_run,
                      "graphc_root": ROOT})


if __name__ == "__main__":
    main()
