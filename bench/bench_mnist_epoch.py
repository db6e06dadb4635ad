"""Seconds per epoch of the Keras 2 seed MLP on real MNIST: graphc, Keras 3 / JAX, PyTorch.

The model (examples/mnist_mlp.py): Flatten(input_shape=(28, 28)) -> Dense(1024, relu) ->
Dense(10, softmax), categorical crossentropy, Adam, ``metrics=['accuracy']``, batch 32,
shuffled every epoch, on the 60000 MNIST training images (scaled to [0, 1]).

- graphc and Keras 3 (on JAX, in a child process of ``$GRAPHC_BENCH_KERAS_PYTHON`` or this
  interpreter): ``model.fit(x, y, batch_size=32, epochs=N, verbose=0)``, the end of each
  epoch stamped by a callback. ``first_epoch_s`` runs from ``model.compile()`` to the end of
  the first epoch (so it holds the compile); ``epoch_s`` is the median of the later epochs.
- PyTorch: the equivalent eager loop (a new permutation every epoch, batches of 32 indexed
  from the whole training tensor, the loss, backward, Adam, the batch accuracy), default
  threads (``torch``) and one intra-op thread (``torch1t``), Glorot-uniform weights and zero
  biases as Keras.
- ``test_acc``: accuracy on the 10000 test images after the N epochs (not timed).

The data come from a local ``mnist.npz`` in Keras's layout (``--data``, default
``/work/shared/data/mnist.npz``); nothing is downloaded.

Run: ``python bench/bench_mnist_epoch.py [--epochs 3] [--data PATH] [--no-keras] [--no-torch]
[--isa avx2]``. Writes ``bench/out/bench_mnist_epoch.json`` (``_avx2`` with ``--isa avx2``).
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

import numpy as np

os.environ.setdefault("JAX_PLATFORMS", "cpu")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import add_peer_options, keras_python, optional, table, write_json  # noqa: E402

DEFAULT_DATA = "/work/shared/data/mnist.npz"
BATCH, N_HID, N_OUT = 32, 1024, 10
LR, B1, B2, EPS = 0.001, 0.9, 0.999, 1e-7
KEYS = ("x_train", "y_train", "x_test", "y_test")


def load(path: str):
    """((x_train, y_train), (x_test, y_test)) from a Keras-layout ``mnist.npz``: images as
    float32 in [0, 1], labels as int. Never unpickles (``allow_pickle=False``).

    Raises:
        SystemExit: the file is missing or lacks one of the four arrays.
    """
    if not os.path.isfile(path):
        raise SystemExit(f"MNIST not found at {path!r}: pass --data PATH to a local mnist.npz "
                         "(Keras's layout); this benchmark does not download it.")
    with np.load(path, allow_pickle=False) as f:
        absent = [k for k in KEYS if k not in f.files]
        if absent:
            raise SystemExit(f"{path!r} is not Keras's mnist.npz: it has no "
                             f"{', '.join(absent)} (found {', '.join(f.files)})")
        xtr, ytr, xte, yte = (f[k] for k in KEYS)
    return ((xtr.astype(np.float32) / 255.0, ytr.astype(np.int64)),
            (xte.astype(np.float32) / 255.0, yte.astype(np.int64)))


def one_hot(labels):
    return np.eye(N_OUT, dtype=np.float32)[labels]


def summarize(first: float, epochs: list[float], acc: float) -> dict:
    later = epochs[1:]
    return {"first_epoch_s": first, "epoch_s": float(np.median(later)) if later else None,
            "epochs_s": epochs, "test_acc": acc}


# -- graphc -----------------------------------------------------------------------------------

def run_graphc(train, test, epochs: int) -> dict:
    from graphc.callbacks import Callback
    from graphc.layers import Dense, Flatten
    from graphc.models import Sequential
    from graphc.optimizers import Adam

    class Stamp(Callback):
        def __init__(self):
            super().__init__()
            self.ends = []

        def on_epoch_end(self, epoch, logs=None):
            self.ends.append(time.perf_counter())

    np.random.seed(0)
    stamp = Stamp()
    t0 = time.perf_counter()
    model = Sequential([Flatten(input_shape=(28, 28)), Dense(N_HID, activation="relu"),
                        Dense(N_OUT, activation="softmax")])
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"],
                  optimizer=Adam(lr=LR, beta_1=B1, beta_2=B2, epsilon=EPS))
    model.fit(train[0], one_hot(train[1]), batch_size=BATCH, epochs=epochs, verbose=0,
              shuffle=True, callbacks=[stamp])
    ends = [t0] + stamp.ends
    times = [b - a for a, b in zip(ends, ends[1:])]
    pred = model.predict(test[0], batch_size=1000)
    acc = float((pred.argmax(1) == test[1]).mean())
    return summarize(times[0], times, acc)


# -- PyTorch ----------------------------------------------------------------------------------

def run_torch(train, test, epochs: int, threads: int | None = None) -> dict | None:
    """The eager loop; ``threads``: PyTorch's intra-op threads for this run (None: its
    default)."""
    torch = optional("torch")
    if torch is None:
        return None
    default_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _torch_loop(torch, train, test, epochs)
    finally:
        torch.set_num_threads(default_threads)


def _torch_loop(torch, train, test, epochs):
    nn = torch.nn
    torch.manual_seed(0)
    t0 = time.perf_counter()
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, N_HID), nn.ReLU(), nn.Linear(N_HID, N_OUT))
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=(B1, B2), eps=EPS)
    x, y = torch.from_numpy(train[0]), torch.from_numpy(train[1])
    n = len(x)
    rng = np.random.default_rng(0)
    ends = [t0]
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(n))
        correct = 0
        for i in range(0, n, BATCH):
            idx = order[i:i + BATCH]
            xb, yb = x[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = nn.functional.cross_entropy(logits, yb)
            loss.backward()
            opt.step()
            correct += int((logits.argmax(1) == yb).sum())
        ends.append(time.perf_counter())
    times = [b - a for a, b in zip(ends, ends[1:])]
    with torch.no_grad():
        pred = model(torch.from_numpy(test[0])).argmax(1).numpy()
    acc = float((pred == test[1]).mean())
    out = summarize(times[0], times, acc)
    out["threads"] = torch.get_num_threads()
    out["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    return out


# -- Keras 3 / JAX, in a child process --------------------------------------------------------

KERAS_CHILD = textwrap.dedent('''
    import json, os, sys, time
    import numpy as np
    import keras
    from keras import layers as L
    path, epochs = sys.argv[1], int(sys.argv[2])
    with np.load(path, allow_pickle=False) as f:
        xtr, ytr, xte, yte = f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    xtr = xtr.astype(np.float32) / 255.0
    xte = xte.astype(np.float32) / 255.0
    ytr1 = np.eye(10, dtype=np.float32)[ytr]

    class Stamp(keras.callbacks.Callback):
        ends = []
        def on_epoch_end(self, epoch, logs=None):
            self.ends.append(time.perf_counter())

    keras.utils.set_random_seed(0)
    stamp = Stamp()
    t0 = time.perf_counter()
    model = keras.Sequential([keras.Input((28, 28)), L.Flatten(),
                              L.Dense(1024, activation="relu"),
                              L.Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"],
                  optimizer=keras.optimizers.Adam(learning_rate=0.001, beta_1=0.9,
                                                  beta_2=0.999, epsilon=1e-7))
    model.fit(xtr, ytr1, batch_size=32, epochs=epochs, verbose=0, shuffle=True,
              callbacks=[stamp])
    ends = [t0] + stamp.ends
    times = [b - a for a, b in zip(ends, ends[1:])]
    pred = model.predict(xte, batch_size=1000, verbose=0)
    import jax
    print("RESULT " + json.dumps({"epochs_s": times,
                                  "test_acc": float((pred.argmax(1) == yte).mean()),
                                  "keras": keras.__version__, "jax": jax.__version__,
                                  "XLA_FLAGS": os.environ.get("XLA_FLAGS")}))
''')


def run_keras(python: str, path: str, epochs: int, timeout: float) -> dict:
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    try:
        proc = subprocess.run([python, "-c", KERAS_CHILD, os.path.abspath(path), str(epochs)],
                              env=env, capture_output=True, text=True, timeout=timeout,
                              cwd=tempfile.gettempdir())
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            out = json.loads(line[len("RESULT "):])
            res = summarize(out["epochs_s"][0], out["epochs_s"], out["test_acc"])
            res.update({k: out[k] for k in ("keras", "jax", "XLA_FLAGS")})
            return res
    return {"error": (proc.stderr or proc.stdout)[-800:]}


# -- main -------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3, help="epochs per library (>= 2)")
    ap.add_argument("--data", default=DEFAULT_DATA, help="a local mnist.npz in Keras's layout")
    add_peer_options(ap, timeout=1800)
    args = ap.parse_args(argv)
    if args.epochs < 2:
        raise SystemExit("--epochs must be at least 2: the first epoch holds the compile and "
                         "the later ones give the per-epoch time")
    isa = os.environ.get("GRAPHC_BENCH_ISA", "native")
    train, test = load(args.data)

    home = None
    if not args.keep_cache:
        home = tempfile.mkdtemp(prefix="graphc-bench-home-")
        os.environ["GRAPHC_HOME"] = home
        os.environ.pop("GRAPHC_CACHE_DIR", None)
    missing, results = [], {}
    t_run = time.perf_counter()
    try:
        results["graphc"] = run_graphc(train, test, args.epochs)
    finally:
        if home:
            shutil.rmtree(home, ignore_errors=True)
    print("graphc: " + json.dumps(results["graphc"]), flush=True)
    if not args.no_keras:
        py = keras_python()
        if py is None:
            missing.append("keras+jax (set GRAPHC_BENCH_KERAS_PYTHON)")
        else:
            results["keras"] = run_keras(py, args.data, args.epochs, args.timeout)
            results["keras"]["python"] = py
            print("keras: " + json.dumps(results["keras"]), flush=True)
    if not args.no_torch:
        for name, threads in (("torch1t", 1), ("torch", None)):
            res = run_torch(train, test, args.epochs, threads)
            if res is None:
                missing.append("torch")
                break
            results[name] = res
            print(f"{name}: " + json.dumps(res), flush=True)
    if missing:
        print("peers missing: " + ", ".join(missing))

    g = results["graphc"]["epoch_s"]
    rows = []
    for lib, r in results.items():
        row = {"library": lib, **{k: r.get(k) for k in ("first_epoch_s", "epoch_s", "test_acc")}}
        if r.get("first_epoch_s") is not None and r.get("epoch_s") is not None:
            row["first-later_s"] = r["first_epoch_s"] - r["epoch_s"]
        if lib != "graphc" and r.get("epoch_s") and g:
            row["peer/graphc"] = r["epoch_s"] / g
        if "error" in r:
            row["error"] = r["error"].strip().splitlines()[-1][:60]
        rows.append(row)
    text = table(rows, ["library", "first_epoch_s", "epoch_s", "first-later_s", "test_acc",
                        "peer/graphc", "error"],
                 title=f"MNIST seed MLP, batch {BATCH}, {args.epochs} epochs, isa {isa} "
                       "(peer/graphc > 1: graphc faster)")
    name = "bench_mnist_epoch" + ("" if isa == "native" else f"_{isa}")
    write_json(name, {"isa_mode": isa, "epochs": args.epochs, "batch": BATCH,
                      "data": os.path.abspath(args.data), "results": results, "rows": rows,
                      "table": text, "peers_missing": missing,
                      "wall_s": time.perf_counter() - t_run})


if __name__ == "__main__":
    main()
