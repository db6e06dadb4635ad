"""How the first training step's compile time grows with the model, graphc beside Keras 3.

Each row builds one model with the Keras API -- MLP of 2 / 8 / 32 Dense(256), CNN of 2 / 6 / 12
Conv2D(16, 3x3) on 32x32x3 (with pools from 6 on), LSTM(64) of 1 / 2 / 4 layers (T=20), and
ResNet-20 (Keras 2's ``cifar10_resnet`` example, v1, depth 20, 32x32x3) -- and times, each in a
new process:

- ``cold``: ``compile()`` + the first ``train_on_batch`` (Adam, batch 32) with an empty graphc
  home (no compile cache);
- ``warm``: the same in a second process that finds the first one's cache;
- ``step``: the median of later ``train_on_batch`` calls;
- the same for Keras 3 on JAX (its own cold first step and step), when a Python with
  ``keras`` and ``jax`` is found: this interpreter, or ``$GRAPHC_BENCH_KERAS_PYTHON``.

Run: ``python bench/bench_compile_scaling.py [--rows mlp2,mlp32] [--steps 20]``; prints a
table and writes ``bench/out/compile_scaling.json``.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import keras_python, machine, table, write_json  # noqa: E402

ROWS = {
    "mlp2": ("mlp", 2), "mlp8": ("mlp", 8), "mlp32": ("mlp", 32),
    "cnn2": ("cnn", 2), "cnn6": ("cnn", 6), "cnn12": ("cnn", 12),
    "lstm1": ("lstm", 1), "lstm2": ("lstm", 2), "lstm4": ("lstm", 4),
    "resnet20": ("resnet", 20),
}

# The child: one model, one library (``lib`` is "graphc" or "keras"), timings as JSON.
CHILD = textwrap.dedent('''
    import json, os, sys, time
    t_start = time.perf_counter()
    lib, kind, depth, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    import numpy as np
    if lib == "graphc":
        sys.path.insert(0, os.getcwd())
        import graphc as K
        from graphc import layers as L
        from graphc.models import Model, Sequential
    else:
        import keras as K
        from keras import layers as L
        from keras.models import Model, Sequential
    rng = np.random.default_rng(0)
    B = 32

    def mlp(n):
        m = Sequential()
        m.add(L.Dense(256, activation="relu", input_shape=(784,)))
        for _ in range(n - 1):
            m.add(L.Dense(256, activation="relu"))
        m.add(L.Dense(10, activation="softmax"))
        return m, (B, 784)

    def cnn(n):
        m = Sequential()
        m.add(L.Conv2D(16, (3, 3), padding="same", activation="relu", input_shape=(32, 32, 3)))
        size = 32
        for k in range(1, n):
            m.add(L.Conv2D(16, (3, 3), padding="same", activation="relu"))
            if n > 2 and k % 2 == 1 and size >= 8:
                m.add(L.MaxPooling2D((2, 2)))
                size //= 2
        m.add(L.Flatten())
        m.add(L.Dense(10, activation="softmax"))
        return m, (B, 32, 32, 3)

    def lstm(n):
        m = Sequential()
        m.add(L.LSTM(64, return_sequences=n > 1, input_shape=(20, 32)))
        for k in range(1, n):
            m.add(L.LSTM(64, return_sequences=k < n - 1))
        m.add(L.Dense(10, activation="softmax"))
        return m, (B, 20, 32)

    def resnet(depth):
        # Keras 2 examples/cifar10_resnet.py, resnet_v1 (depth 20: 3 stages x 3 blocks)
        def layer(x, filters=16, kernel_size=3, strides=1, activation="relu", bn=True):
            x = L.Conv2D(filters, kernel_size, strides=strides, padding="same",
                         kernel_initializer="he_normal")(x)
            if bn:
                x = L.BatchNormalization()(x)
            if activation is not None:
                x = L.Activation(activation)(x)
            return x
        inputs = L.Input(shape=(32, 32, 3))
        filters, blocks = 16, (depth - 2) // 6
        x = layer(inputs)
        for stack in range(3):
            for block in range(blocks):
                strides = 2 if stack > 0 and block == 0 else 1
                y = layer(x, filters, strides=strides)
                y = layer(y, filters, activation=None)
                if stack > 0 and block == 0:
                    x = layer(x, filters, kernel_size=1, strides=strides, activation=None,
                              bn=False)
                x = L.add([x, y])
                x = L.Activation("relu")(x)
            filters *= 2
        x = L.AveragePooling2D(pool_size=8)(x)
        y = L.Flatten()(x)
        outputs = L.Dense(10, activation="softmax", kernel_initializer="he_normal")(y)
        return Model(inputs=inputs, outputs=outputs), (B, 32, 32, 3)

    model, shape = {"mlp": mlp, "cnn": cnn, "lstm": lstm, "resnet": resnet}[kind](depth)
    x = rng.normal(size=shape).astype("float32")
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, B)]
    t0 = time.perf_counter()
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    model.train_on_batch(x, y)
    first = time.perf_counter() - t0
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - t)
    out = {"first_step_s": first, "process_to_first_s": time.perf_counter() - t_start - sum(times),
           "step_s": float(np.median(times))}
    if lib == "graphc":
        prog = model.train_function.executor.program
        if getattr(prog, "kir", None) is not None:          # the kernel-IR generator
            out["kernels"] = len(prog.kernels)
            out["kernel_calls"] = sum(len(d.body) for d in prog.kir.drivers)
    if lib == "graphc":
        out["graphc_path"] = K.__file__
    print("RESULT " + json.dumps(out))
''')


def _child(python: str, lib: str, kind: str, depth: int, steps: int, env: dict,
           timeout: float) -> dict:
    t0 = time.perf_counter()
    try:
        # run in the checkout this script belongs to, so its graphc is the one measured
        proc = subprocess.run([python, "-c", CHILD, lib, kind, str(depth), str(steps)],
                              env=env, capture_output=True, text=True, timeout=timeout,
                              cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - t0
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            out = json.loads(line[len("RESULT "):])
            out["process_wall_s"] = wall
            return out
    return {"error": (proc.stderr or proc.stdout)[-800:]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default=",".join(ROWS), help="comma-separated: " + ",".join(ROWS))
    ap.add_argument("--steps", type=int, default=20, help="timed steps after the first")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per child process")
    ap.add_argument("--no-keras", action="store_true", help="skip the Keras 3 / JAX column")
    args = ap.parse_args()
    keras_py = None if args.no_keras else keras_python()
    rows = []
    for name in args.rows.split(","):
        kind, depth = ROWS[name]
        home = tempfile.mkdtemp(prefix="graphc-bench-home-")
        env = dict(os.environ, GRAPHC_HOME=home)
        env.pop("GRAPHC_CACHE_DIR", None)
        # as a user runs: Python keeps the bytecode of the modules it imports (a set
        # PYTHONDONTWRITEBYTECODE made every "warm" figure recompile graphc's and numba's
        # sources, ~0.15 s)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        try:
            cold = _child(sys.executable, "graphc", kind, depth, args.steps, env, args.timeout)
            warm = _child(sys.executable, "graphc", kind, depth, args.steps, env, args.timeout)
        finally:
            shutil.rmtree(home, ignore_errors=True)
        row = {"model": name, "graphc_cold_s": cold.get("first_step_s"),
               "graphc_warm_s": warm.get("first_step_s"),
               "graphc_step_ms": 1e3 * warm["step_s"] if "step_s" in warm else None,
               "kernels": cold.get("kernels"), "calls": cold.get("kernel_calls"),
               "graphc_cold": cold, "graphc_warm": warm}
        if keras_py:
            kenv = dict(os.environ, KERAS_BACKEND="jax")
            kenv.pop("PYTHONDONTWRITEBYTECODE", None)
            ker = _child(keras_py, "keras", kind, depth, args.steps, kenv, args.timeout)
            row.update({"keras_cold_s": ker.get("first_step_s"),
                        "keras_step_ms": 1e3 * ker["step_s"] if "step_s" in ker else None,
                        "keras": ker})
            if row["graphc_cold_s"] and row["keras_cold_s"]:
                row["cold_vs_keras"] = row["graphc_cold_s"] / row["keras_cold_s"]
        rows.append(row)
        print(f"{name}: " + json.dumps({k: v for k, v in row.items()
                                         if not isinstance(v, dict)}), flush=True)
    cols = ["model", "graphc_cold_s", "graphc_warm_s", "graphc_step_ms", "kernels", "calls"]
    if keras_py:
        cols += ["keras_cold_s", "keras_step_ms", "cold_vs_keras"]
    print(table(rows, cols, "first training step: compile + first call (s); step (ms)"))
    path = write_json("compile_scaling", {"machine": machine(), "rows": rows,
                                          "keras_python": keras_py})
    print("wrote", path)


if __name__ == "__main__":
    main()
