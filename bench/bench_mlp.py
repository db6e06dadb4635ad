"""Seed MLP training step: 784 -> Dense 1024 relu -> Dense 10 softmax, categorical
crossentropy, Adam. Samples/s at batch 32, 128, 1024 for graphc (compiled), numpy (the
reference interpreter of the same graph), PyTorch eager and JAX jit when installed.

Run: ``python bench/bench_mlp.py [--batches 32,128,1024] [--seconds 2] [--compare-parallel]``
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import measure, optional, table, write_json  # noqa: E402

N_IN, N_HID, N_OUT = 784, 1024, 10
LR, B1, B2, EPS = 0.001, 0.9, 0.999, 1e-7


def init_params(seed=0):
    rng = np.random.default_rng(seed)
    lim1, lim2 = np.sqrt(6 / (N_IN + N_HID)), np.sqrt(6 / (N_HID + N_OUT))
    return [rng.uniform(-lim1, lim1, (N_IN, N_HID)).astype(np.float32),
            np.zeros(N_HID, np.float32),
            rng.uniform(-lim2, lim2, (N_HID, N_OUT)).astype(np.float32),
            np.zeros(N_OUT, np.float32)]


def build_mlp_step(params=None):
    """The training step as an IR graph: inputs x, y; output the loss; Adam updates (Keras 2
    form). Returns (graph, variable storages)."""
    from graphc.ir import Graph, TensorType, apply, constant, source
    from graphc.ir.node import Variable
    from graphc.ir.autodiff import gradients

    params = params or init_params()
    f32 = np.float32

    def var(arr, name):
        v = Variable(np.array(arr, np.float32), name)
        return source("variable", TensorType("float32", arr.shape), name=name, var=v), v

    def c(x):
        return constant(np.asarray(x, f32))

    x = source("input", TensorType("float32", ("B", N_IN)), name="x")
    y = source("input", TensorType("float32", ("B", N_OUT)), name="y")
    pv = [var(p, n) for p, n in zip(params, ["W1", "b1", "W2", "b2"])]
    (W1, _), (b1, _), (W2, _), (b2, _) = pv
    h = apply("relu", apply("add", apply("matmul", x, W1), b1))
    logits = apply("add", apply("matmul", h, W2), b2)
    loss = apply("mean", apply("softmax_cross_entropy", logits, y))
    grads = gradients(loss, [p for p, _ in pv])
    it, it_var = var(np.zeros((), f32), "iterations")
    t = apply("add", it, c(1.0))
    lr_t = apply("mul", c(LR), apply("div", apply("sqrt", apply("sub", c(1.0),
                                                                   apply("pow", c(B2), t))),
                                     apply("sub", c(1.0), apply("pow", c(B1), t))))
    updates = [(it, t)]
    storages = [s for _, s in pv] + [it_var]
    for (p, _), g in zip(pv, grads):
        m, ms = var(np.zeros(p.shape, f32), "m_" + p.name)
        v, vs = var(np.zeros(p.shape, f32), "v_" + p.name)
        m_t = apply("add", apply("mul", c(B1), m), apply("mul", c(1 - B1), g))
        v_t = apply("add", apply("mul", c(B2), v), apply("mul", c(1 - B2), apply("square", g)))
        p_t = apply("sub", p, apply("div", apply("mul", lr_t, m_t),
                                    apply("add", apply("sqrt", v_t), c(EPS))))
        updates += [(m, m_t), (v, v_t), (p, p_t)]
        storages += [ms, vs]
    return Graph([x, y], [loss], updates, name="mlp_step"), storages


def build_model():
    """The seed MLP through the user path: Sequential + compile (categorical crossentropy,
    Adam with the constants above), weights set to :func:`init_params`. Returns the model;
    ``model.train_function`` is the K.function of one training step (one native call)."""
    from graphc.layers import Dense
    from graphc.models import Sequential
    from graphc.optimizers import Adam
    model = Sequential([Dense(N_HID, activation="relu", input_shape=(N_IN,)),
                        Dense(N_OUT, activation="softmax")])
    model.compile(loss="categorical_crossentropy",
                  optimizer=Adam(lr=LR, beta_1=B1, beta_2=B2, epsilon=EPS))
    model.set_weights(init_params())
    return model


def compile_model_step(parallel=None):
    """(train_function, compile stats): the model's training step, compiled (first call).

    ``parallel``: None = the ``GRAPHC_PARALLEL`` setting; else "0", "1" or "auto" for this
    model's compile only."""
    t0 = time.perf_counter()
    model = build_model()
    f = model.train_function
    x, y = data(2)
    t1 = time.perf_counter()
    saved = os.environ.get("GRAPHC_PARALLEL")
    if parallel is not None:
        os.environ["GRAPHC_PARALLEL"] = str(parallel)
    try:
        f([x, y, np.ones(2, np.float32)])
    finally:
        if parallel is not None:
            if saved is None:
                os.environ.pop("GRAPHC_PARALLEL", None)
            else:
                os.environ["GRAPHC_PARALLEL"] = saved
    t2 = time.perf_counter()
    stats = dict(f._executor.stats)
    stats["model_build"] = t1 - t0
    stats["first_call"] = t2 - t1
    stats["passes"] = f.pass_stats.total_seconds if f.pass_stats is not None else 0.0
    return f, stats


def compile_step(pipeline="fast_run"):
    from graphc.codegen import compile_graph
    from graphc.passes.manager import optimize
    graph, storages = build_mlp_step()
    t0 = time.perf_counter()
    opt = optimize(graph, pipeline)
    opt = opt[0] if isinstance(opt, tuple) else opt
    t1 = time.perf_counter()
    fn = compile_graph(opt)
    fn.stats["passes"] = t1 - t0
    return fn, graph, storages


def data(batch, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.random((batch, N_IN), dtype=np.float32)
    y = np.eye(N_OUT, dtype=np.float32)[rng.integers(0, N_OUT, batch)]
    return x, y


def torch_step(batch, threads=None):
    torch = optional("torch")
    if torch is None:
        return None
    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    W1, b1, W2, b2 = [torch.tensor(p, requires_grad=True) for p in init_params()]
    opt = torch.optim.Adam([W1, b1, W2, b2], lr=LR, betas=(B1, B2), eps=EPS)
    x, y = (torch.from_numpy(a) for a in data(batch))

    def step():
        opt.zero_grad(set_to_none=True)
        logits = torch.relu(x @ W1 + b1) @ W2 + b2
        loss = -(y * torch.log_softmax(logits, dim=1)).sum(1).mean()
        loss.backward()
        opt.step()
        return loss
    return step


def jax_step(batch):
    jax = optional("jax")
    if jax is None:
        return None
    import jax.numpy as jnp

    def loss_fn(params, x, y):
        W1, b1, W2, b2 = params
        logits = jax.nn.relu(x @ W1 + b1) @ W2 + b2
        return -(y * jax.nn.log_softmax(logits, axis=1)).sum(1).mean()

    @jax.jit
    def _step(state, x, y):
        params, m, v, t = state
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        t = t + 1
        lr_t = LR * jnp.sqrt(1 - B2 ** t) / (1 - B1 ** t)
        m = [B1 * a + (1 - B1) * g for a, g in zip(m, grads)]
        v = [B2 * a + (1 - B2) * g * g for a, g in zip(v, grads)]
        params = [p - lr_t * a / (jnp.sqrt(b) + EPS) for p, a, b in zip(params, m, v)]
        return (params, m, v, t), loss

    step_jit = jax.jit(_step.__wrapped__ if hasattr(_step, "__wrapped__") else _step,
                       donate_argnums=(0,))
    params = [jnp.asarray(p) for p in init_params()]
    state = [params, [jnp.zeros_like(p) for p in params], [jnp.zeros_like(p) for p in params],
             jnp.zeros((), jnp.float32)]
    x, y = (jnp.asarray(a) for a in data(batch))
    holder = {"s": tuple(state)}

    def step():
        holder["s"], loss = step_jit(holder["s"], x, y)
        loss.block_until_ready()
    return step


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batches", default="32,128,1024")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--path", choices=("keras", "ir"), default="keras",
                    help="keras: Sequential.compile's train_function (default); ir: the "
                         "hand-built IR graph through compile_graph")
    ap.add_argument("--no-numpy", action="store_true", help="skip the (slow) numpy baseline")
    ap.add_argument("--compare-parallel", action="store_true",
                    help="also time the step compiled with GRAPHC_PARALLEL=0 and =auto "
                         "(keras path), interleaved with the default in the same run")
    args = ap.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",")]
    variants = {}
    if args.compare_parallel:
        for mode in ("0", "auto"):
            fv, sv = compile_model_step(mode)
            variants[mode] = fv
            print(f"GRAPHC_PARALLEL={mode}: compiled in "
                  f"{sv['model_build'] + sv['first_call']:.2f} s (numba {sv['numba']:.2f} s)")

    if args.path == "keras":
        f, stats = compile_model_step()

        def graphc_call(x, y):
            sw = np.ones(len(x), np.float32)
            return lambda: f([x, y, sw])
        print(f"model built and compiled in {stats['model_build'] + stats['first_call']:.2f} s"
              f" (numba {stats['numba']:.2f} s), {stats['segments']} segment(s), "
              f"{stats['python_nodes']} python node(s)")
    else:
        fn, graph, storages = compile_step()
        stats = fn.stats

        def graphc_call(x, y):
            return lambda: fn([x, y])
        print(f"compiled in {stats['total']:.2f} s (+ passes {stats['passes']:.2f} s), "
              f"{stats['segments']} segment(s), {stats['python_nodes']} python node(s)")
    graph = build_mlp_step()[0]
    from graphc.ir.interpreter import evaluate

    torch = optional("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    rows = []
    for batch in batches:
        x, y = data(batch)
        row = {"batch": batch}
        if variants:
            # interleaved rounds: default, serial, auto, default, ... (a shared machine's load
            # drifts; the median of the rounds' medians compares them at the same moments)
            sw = np.ones(batch, np.float32)
            calls = {"graphc": graphc_call(x, y)}
            calls.update({f"graphc_par{m}": (lambda fv=fv: fv([x, y, sw]))
                          for m, fv in variants.items()})
            meds = {k: [] for k in calls}
            for _ in range(5):
                for k, c in calls.items():
                    meds[k].append(measure(c, min_time=args.seconds / 5)["median_s"])
            for k, v in meds.items():
                row[f"{k}_ms"] = float(np.median(v)) * 1e3
            row["graphc_sps"] = batch / (row["graphc_ms"] / 1e3)
        else:
            r = measure(graphc_call(x, y), min_time=args.seconds)
            row["graphc_sps"] = batch / r["median_s"]
            row["graphc_ms"] = r["median_s"] * 1e3
        if not args.no_numpy:
            feeds = dict(zip(graph.inputs, [x, y]))
            r = measure(lambda: evaluate(graph.outputs + [n for _, n in graph.updates], feeds),
                        min_time=args.seconds / 2, min_runs=3)
            row["numpy_sps"] = batch / r["median_s"]
        # torch with its default threads (the peer of the targets) and with one thread
        for name, make in (("torch", lambda b: torch_step(b, torch_threads)),
                           ("torch_1t", lambda b: torch_step(b, 1)), ("jax", jax_step)):
            step = make(batch)
            if step is not None:
                r = measure(step, min_time=args.seconds)
                row[f"{name}_sps"] = batch / r["median_s"]
        if torch is not None:
            torch.set_num_threads(torch_threads)
        if row.get("torch_sps"):
            row["graphc/torch"] = row["graphc_sps"] / row["torch_sps"]
            row["graphc/best_torch"] = row["graphc_sps"] / max(row["torch_sps"],
                                                               row["torch_1t_sps"])
        if row.get("jax_sps"):
            row["graphc/jax"] = row["graphc_sps"] / row["jax_sps"]
        rows.append(row)
    cols = ["batch", "graphc_ms", "graphc_sps", "numpy_sps", "torch_sps", "torch_1t_sps",
            "jax_sps", "graphc/torch", "graphc/best_torch", "graphc/jax"]
    if variants:
        cols[2:2] = [f"graphc_par{m}_ms" for m in variants]
    table(rows, cols, title=f"seed MLP train step, {args.path} path (samples/s; targets "
                            "graphc/torch >= 3.0, 2.5, 1.05 at batch 32, 128, 1024)")
    write_json("bench_mlp", {"rows": rows, "compile_stats": stats, "path": args.path,
                             "parallel": os.environ.get("GRAPHC_PARALLEL", "0")})


if __name__ == "__main__":
    main()
