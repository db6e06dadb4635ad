"""LSTM training step: inputs (batch 64, 50 steps, 32 features) -> LSTM(128) -> Dense(10,
softmax), categorical crossentropy, Adam.

Samples/s of one training step (``model.train_on_batch`` on a fixed batch) for graphc
(compiled: the LSTM is graphc's loop op, one native loop over the 50 steps and the reversed
loop for its gradient), graphc's reference interpreter (numpy), PyTorch eager (``nn.LSTM``,
its fused CPU kernel) and JAX jit (``lax.scan``) when installed, all in the same run
(PyTorch also with one thread, ``torch1t``; target: graphc / torch >= 1.0). graphc, PyTorch
and JAX are timed in alternating blocks of ~0.25 s (``common.measure_interleaved``), so a
busy spell of the shared machine does not land on one of them only.

Run: ``python bench/bench_lstm.py [--batches 64] [--steps 50] [--seconds 3] [--no-numpy]
[--profile]``. Writes ``bench/out/bench_lstm.json``.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

# The peers run on the CPU: a JAX built with CUDA would otherwise pick a GPU.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_convnet import graphc_step, torch_one_thread, where_time_goes  # noqa: E402
from common import measure, optional, time_steps, table, write_json  # noqa: E402

N_FEAT, UNITS, N_OUT = 32, 128, 10
LR, B1, B2, EPS = 0.001, 0.9, 0.999, 1e-7


def data(batch, steps, seed=1):
    """A fixed batch: sequences (batch, steps, 32) and one-hot labels."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, steps, N_FEAT), dtype=np.float32)
    y = np.eye(N_OUT, dtype=np.float32)[rng.integers(0, N_OUT, batch)]
    return x, y


def graphc_model(steps, executor="compiled"):
    """LSTM(128) -> Dense(10, softmax) through graphc's Keras API, compiled with Adam."""
    from graphc import config
    from graphc.layers import LSTM, Dense
    from graphc.models import Sequential
    from graphc.optimizers import Adam
    previous = config.get("executor")
    config.set("executor", executor)
    try:
        model = Sequential([LSTM(UNITS, input_shape=(steps, N_FEAT)),
                            Dense(N_OUT, activation="softmax")])
        model.compile(optimizer=Adam(lr=LR, beta_1=B1, beta_2=B2, epsilon=EPS),
                      loss="categorical_crossentropy")
        model.train_function
    finally:
        config.set("executor", previous)
    return model


def torch_step(batch, steps):
    torch = optional("torch")
    if torch is None:
        return None
    nn = torch.nn
    torch.manual_seed(0)
    lstm, head = nn.LSTM(N_FEAT, UNITS, batch_first=True), nn.Linear(UNITS, N_OUT)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=LR, betas=(B1, B2), eps=EPS)
    x, y = (torch.from_numpy(a) for a in data(batch, steps))

    def step():
        opt.zero_grad(set_to_none=True)
        _, (h, _) = lstm(x)
        loss = -(y * torch.log_softmax(head(h[-1]), dim=1)).sum(1).mean()
        loss.backward()
        opt.step()
        return loss
    return step


def jax_step(batch, steps):
    jax = optional("jax")
    if jax is None:
        return None
    import jax.numpy as jnp
    from jax import lax

    rng = np.random.default_rng(0)

    def uni(shape, lim):
        return jnp.asarray(rng.uniform(-lim, lim, shape).astype(np.float32))

    params = [uni((N_FEAT, 4 * UNITS), np.sqrt(6 / (N_FEAT + 4 * UNITS))),
              uni((UNITS, 4 * UNITS), np.sqrt(1 / UNITS)), jnp.zeros(4 * UNITS),
              uni((UNITS, N_OUT), np.sqrt(6 / (UNITS + N_OUT))), jnp.zeros(N_OUT)]

    def loss_fn(p, x, y):
        Wx, Wh, b, Wo, bo = p
        xs = jnp.einsum("btf,fg->tbg", x, Wx) + b            # input projections, time major

        def cell(carry, xt):
            h, c = carry
            z = xt + h @ Wh
            i, f, g, o = jnp.split(z, 4, axis=1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), None
        zeros = jnp.zeros((x.shape[0], UNITS), jnp.float32)
        (h, _), _ = lax.scan(cell, (zeros, zeros), xs)
        return -(y * jax.nn.log_softmax(h @ Wo + bo, axis=1)).sum(1).mean()

    def _step(state, x, y):
        p, m, v, t = state
        loss, g = jax.value_and_grad(loss_fn)(p, x, y)
        t = t + 1
        lr_t = LR * jnp.sqrt(1 - B2 ** t) / (1 - B1 ** t)
        m = [B1 * a + (1 - B1) * d for a, d in zip(m, g)]
        v = [B2 * a + (1 - B2) * d * d for a, d in zip(v, g)]
        p = [w - lr_t * a / (jnp.sqrt(bb) + EPS) for w, a, bb in zip(p, m, v)]
        return (p, m, v, t), loss

    step_jit = jax.jit(_step, donate_argnums=(0,))
    holder = {"s": (params, [jnp.zeros_like(a) for a in params],
                    [jnp.zeros_like(a) for a in params], jnp.zeros((), jnp.float32))}
    x, y = (jnp.asarray(a) for a in data(batch, steps))

    def step():
        holder["s"], loss = step_jit(holder["s"], x, y)
        loss.block_until_ready()
    return step


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", default="64", help="comma-separated batch sizes")
    ap.add_argument("--steps", type=int, default=50, help="time steps per sequence")
    ap.add_argument("--seconds", type=float, default=3.0, help="timing time per measurement")
    ap.add_argument("--no-numpy", action="store_true",
                    help="skip graphc's reference interpreter (the numpy baseline)")
    ap.add_argument("--profile", action="store_true", help="say where graphc's time goes")
    args = ap.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",")]

    model = graphc_model(args.steps)
    ref_model = None if args.no_numpy else graphc_model(args.steps, "reference")
    rows, infos, profile_text = [], {}, None
    for batch in batches:
        x, y = data(batch, args.steps)
        step, info = graphc_step(model, x, y)
        infos[batch] = info
        if info["fallback_ops"]:
            print(f"graphc: ops run through their numpy reference: "
                  f"{', '.join(info['fallback_ops'])}")
        print(f"graphc: first call (compile) {info['first_call_s']:.2f} s, executor "
              f"{info['executor']}")
        row = {"batch": batch, "steps": args.steps}
        # graphc and the peers in alternating blocks (see common.measure_interleaved)
        time_steps(row, {"graphc": step, "torch": torch_step(batch, args.steps),
                         "jax": jax_step(batch, args.steps)}, batch, args.seconds)
        if ref_model is not None:
            ref_step, _ = graphc_step(ref_model, x, y)
            r = measure(ref_step, warmup=1, min_time=args.seconds / 2, min_runs=3)
            row["numpy_sps"] = batch / r["median_s"]
        torch_1t = torch_one_thread(lambda: torch_step(batch, args.steps), args.seconds)
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
    cols = ["batch", "steps", "graphc_ms", "graphc_sps", "numpy_sps", "torch_ms", "torch_sps",
            "torch1t_sps", "jax_sps", "graphc/torch", "graphc/torch1t", "graphc/jax"]
    table(rows, cols, title=f"LSTM({UNITS}) train step over {args.steps} steps of {N_FEAT} "
                            f"features, samples/s (target graphc/torch >= 1.0)")
    write_json("bench_lstm", {
        "rows": rows, "graphc": {str(b): i for b, i in infos.items()},
        "threads": {k: os.environ.get(k) for k in
                    ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "GRAPHC_PARALLEL")},
        "profile": profile_text})


if __name__ == "__main__":
    main()
