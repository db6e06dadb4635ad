"""Convnet training step: 28x28x1 -> Conv2D(32, 3x3, relu) -> MaxPooling2D -> Conv2D(64, 3x3,
relu) -> MaxPooling2D -> Flatten -> Dense(10, softmax), categorical crossentropy, Adam.

Samples/s of one training step (``model.train_on_batch`` on a fixed batch) for graphc
(compiled), graphc's reference interpreter (numpy), PyTorch eager and JAX jit when installed,
all in the same run (PyTorch twice: with its default threads and with one thread,
``torch1t``); the ratios against PyTorch are the figures that count (target: graphc /
torch >= 1.0 at batch 128). graphc, PyTorch and JAX are timed in alternating blocks of
~0.25 s (``common.measure_interleaved``), so a busy spell of the shared machine does not land
on one of them only.

Run: ``python bench/bench_convnet.py [--batches 128] [--seconds 3] [--no-numpy] [--profile]``
(``--profile`` adds where graphc's time goes: cProfile of the step, and graphc's kernel-by-
kernel profiler). Writes ``bench/out/bench_convnet.json``.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
import warnings

import numpy as np

# The peers run on the CPU: a JAX built with CUDA would otherwise pick a GPU.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (blas_core, measure, optional, table, time_steps,  # noqa: E402
                    torch_nchw_step, write_json)

H, W, C_IN, N_OUT = 28, 28, 1, 10
LR, B1, B2, EPS = 0.001, 0.9, 0.999, 1e-7


def data(batch, seed=1):
    """A fixed batch: images (batch, 28, 28, 1) in [0, 1) and one-hot labels."""
    rng = np.random.default_rng(seed)
    x = rng.random((batch, H, W, C_IN), dtype=np.float32)
    y = np.eye(N_OUT, dtype=np.float32)[rng.integers(0, N_OUT, batch)]
    return x, y


# -- graphc -----------------------------------------------------------------------------------

def graphc_model(executor="compiled"):
    """The convnet through graphc's Keras API, compiled with Adam."""
    from graphc import config
    from graphc.layers import Conv2D, Dense, Flatten, MaxPooling2D
    from graphc.models import Sequential
    from graphc.optimizers import Adam
    previous = config.get("executor")
    config.set("executor", executor)
    try:
        model = Sequential([
            Conv2D(32, (3, 3), activation="relu", input_shape=(H, W, C_IN)),
            MaxPooling2D((2, 2)),
            Conv2D(64, (3, 3), activation="relu"),
            MaxPooling2D((2, 2)),
            Flatten(),
            Dense(N_OUT, activation="softmax"),
        ])
        model.compile(optimizer=Adam(lr=LR, beta_1=B1, beta_2=B2, epsilon=EPS),
                      loss="categorical_crossentropy")
        model.train_function            # built now, under this executor setting
    finally:
        config.set("executor", previous)
    return model


def graphc_step(model, x, y):
    """(step callable, info): the first call compiles; info holds its time, the compile
    statistics and the ops that have no native emitter (they run their numpy reference)."""
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # fallbacks are reported below
        model.train_on_batch(x, y)
    info = {"first_call_s": time.perf_counter() - t0}
    fn = model.train_function
    executor = fn.executor
    program = getattr(executor, "program", None)
    info["executor"] = fn.executor_kind
    info["fallback_ops"] = sorted(set(getattr(program, "fallback_ops", []) or []))
    info["compile_stats"] = dict(getattr(executor, "stats", {}) or {})
    return (lambda: model.train_on_batch(x, y)), info


def where_time_goes(step, model, x, y, n=20, top=12):
    """cProfile of ``n`` steps (top functions by own time) and graphc's kernel profile."""
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        step()
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
    text = ["cProfile of %d graphc steps (by own time):" % n, buf.getvalue()]
    try:
        from graphc.profiler import profile
        p = profile(model, step="train", n=5, batch_size=len(x))
        text += ["graphc.profiler (kernel by kernel):", str(p)]
    except Exception as e:          # the profiler is optional here; say why it did not run
        text.append(f"graphc.profiler did not run: {type(e).__name__}: {e}")
    out = "\n".join(text)
    print(out)
    return out


# -- peers ------------------------------------------------------------------------------------

def torch_one_thread(make_step, seconds):
    """Median seconds per step of PyTorch limited to one intra-op thread (graphc picks its
    BLAS threads per call size, often one; this row compares like with like), or None."""
    torch = optional("torch")
    if torch is None:
        return None
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return measure(make_step(), min_time=seconds)["median_s"]
    finally:
        torch.set_num_threads(threads)


def torch_step(batch):
    torch = optional("torch")
    if torch is None:
        return None
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(C_IN, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 5 * 5, N_OUT))
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=(B1, B2), eps=EPS)
    return torch_nchw_step(torch, model, opt, *data(batch))


def jax_step(batch):
    jax = optional("jax")
    if jax is None:
        return None
    import jax.numpy as jnp
    from jax import lax

    rng = np.random.default_rng(0)

    def glorot(shape, fan_in, fan_out):
        lim = np.sqrt(6 / (fan_in + fan_out))
        return jnp.asarray(rng.uniform(-lim, lim, shape).astype(np.float32))

    params = [glorot((3, 3, C_IN, 32), 9 * C_IN, 9 * 32), jnp.zeros(32),
              glorot((3, 3, 32, 64), 9 * 32, 9 * 64), jnp.zeros(64),
              glorot((1600, N_OUT), 1600, N_OUT), jnp.zeros(N_OUT)]

    def pool(h):
        return lax.reduce_window(h, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    def loss_fn(p, x, y):
        dn = ("NHWC", "HWIO", "NHWC")
        h = pool(jax.nn.relu(lax.conv_general_dilated(x, p[0], (1, 1), "VALID",
                                                      dimension_numbers=dn) + p[1]))
        h = pool(jax.nn.relu(lax.conv_general_dilated(h, p[2], (1, 1), "VALID",
                                                      dimension_numbers=dn) + p[3]))
        logits = h.reshape(h.shape[0], -1) @ p[4] + p[5]
        return -(y * jax.nn.log_softmax(logits, axis=1)).sum(1).mean()

    def _step(state, x, y):
        p, m, v, t = state
        loss, g = jax.value_and_grad(loss_fn)(p, x, y)
        t = t + 1
        lr_t = LR * jnp.sqrt(1 - B2 ** t) / (1 - B1 ** t)
        m = [B1 * a + (1 - B1) * d for a, d in zip(m, g)]
        v = [B2 * a + (1 - B2) * d * d for a, d in zip(v, g)]
        p = [w - lr_t * a / (jnp.sqrt(b) + EPS) for w, a, b in zip(p, m, v)]
        return (p, m, v, t), loss

    step_jit = jax.jit(_step, donate_argnums=(0,))
    holder = {"s": (params, [jnp.zeros_like(a) for a in params],
                    [jnp.zeros_like(a) for a in params], jnp.zeros((), jnp.float32))}
    x, y = (jnp.asarray(a) for a in data(batch))

    def step():
        holder["s"], loss = step_jit(holder["s"], x, y)
        loss.block_until_ready()
    return step


# -- main -------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", default="128", help="comma-separated batch sizes")
    ap.add_argument("--seconds", type=float, default=3.0, help="timing time per measurement")
    ap.add_argument("--no-numpy", action="store_true",
                    help="skip graphc's reference interpreter (the numpy baseline)")
    ap.add_argument("--profile", action="store_true", help="say where graphc's time goes")
    args = ap.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",")]

    model = graphc_model()
    ref_model = None if args.no_numpy else graphc_model("reference")
    rows, infos, profile_text = [], {}, None
    for batch in batches:
        x, y = data(batch)
        step, info = graphc_step(model, x, y)
        infos[batch] = info
        if info["fallback_ops"]:
            print(f"graphc: ops run through their numpy reference: "
                  f"{', '.join(info['fallback_ops'])}")
        print(f"graphc: first call (compile) {info['first_call_s']:.2f} s, executor "
              f"{info['executor']}, OpenBLAS kernels {blas_core()}")
        row = {"batch": batch}
        # graphc and the peers in alternating blocks (see common.measure_interleaved)
        time_steps(row, {"graphc": step, "torch": torch_step(batch),
                         "jax": jax_step(batch)}, batch, args.seconds)
        if ref_model is not None:
            ref_step, _ = graphc_step(ref_model, x, y)
            r = measure(ref_step, warmup=1, min_time=args.seconds / 2, min_runs=3)
            row["numpy_sps"] = batch / r["median_s"]
        torch_1t = torch_one_thread(lambda: torch_step(batch), args.seconds)
        if torch_1t is not None:
            row["torch1t_sps"] = batch / torch_1t
        if row.get("torch_sps"):
            row["graphc/torch"] = row["graphc_sps"] / row["torch_sps"]
        if row.get("torch1t_sps"):
            row["graphc/torch1t"] = row["graphc_sps"] / row["torch1t_sps"]
        if row.get("jax_sps"):
            row["graphc/jax"] = row["graphc_sps"] / row["jax_sps"]
        rows.append(row)
        if args.profile and profile_text is None:
            profile_text = where_time_goes(step, model, x, y)
    cols = ["batch", "graphc_ms", "graphc_sps", "numpy_sps", "torch_ms", "torch_sps",
            "torch1t_sps", "jax_sps", "graphc/torch", "graphc/torch1t", "graphc/jax"]
    table(rows, cols, title="convnet train step, samples/s (target graphc/torch >= 1.0 at "
                            "batch 128)")
    write_json("bench_convnet", {
        "rows": rows, "graphc": {str(b): i for b, i in infos.items()},
        "threads": {k: os.environ.get(k) for k in
                    ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "GRAPHC_PARALLEL",
                     "OPENBLAS_CORETYPE", "NUMBA_NUM_THREADS")},
        "blas_core": blas_core(),
        "profile": profile_text})


if __name__ == "__main__":
    main()
