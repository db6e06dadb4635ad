"""Data-parallel training over MPI (graphc.distribute): samples/s for one process and for 1
and 2 MPI ranks, and the time each rank spends in the gradient allreduce.

Models: the seed MLP (Flatten -> Dense(1024, relu) -> Dense(10, softmax) on 28x28) and the
convnet of bench_convnet.py, Adam. Each configuration runs global batches of B samples: a
rank computes B / ranks of them (``train_on_batch`` on its shard), then one allreduce of the
packed gradients (3.3 MB for the MLP, 0.14 MB for the convnet in float32).

Columns: ``compute_ms_min/max``: the fastest and slowest rank's time per step in its compiled
calls (their difference is what the faster rank waits for); ``allreduce_ms`` is the time a rank spends in each step's allreduce, waiting for
the slower rank included (``allreduce_ms_max``: the larger of the two ranks');
``pure_allreduce_ms`` the same buffer's allreduce alone after a barrier (the transfer).

Rows:
  split     one process, no mpiexec: the one-call step and the split step (gradients,
            a 1-rank allreduce, updates) of the same model timed in alternating blocks, so
            the split's own cost is not lost in the noise between separate processes
  single    one process, no MPI (numba's threads on all cores)
  mpi x1    ``mpiexec -n 1``: the split step and a 1-rank allreduce (the split's overhead)
  mpi x2    ``mpiexec -n 2``: two ranks, one core each (graphc.distribute.init shares cores)

Run: ``python bench/bench_distributed.py [--models mlp,convnet] [--batches 128,1024]
[--seconds 3]`` (needs ``pip install 'graphc[dist]'``). Writes
``bench/out/bench_distributed.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import table, write_json  # noqa: E402

N_OUT = 10


def build(name):
    from graphc.layers import Conv2D, Dense, Flatten, MaxPooling2D
    from graphc.models import Sequential
    if name == 'mlp':
        layers = [Flatten(input_shape=(28, 28)), Dense(1024, activation='relu'),
                  Dense(N_OUT, activation='softmax')]
    elif name == 'convnet':
        layers = [Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)),
                  MaxPooling2D((2, 2)), Conv2D(64, (3, 3), activation='relu'),
                  MaxPooling2D((2, 2)), Flatten(), Dense(N_OUT, activation='softmax')]
    else:
        raise ValueError(f"unknown model {name!r}; use mlp or convnet")
    return Sequential(layers)


def worker(model_name, batch, seconds, distributed, out):
    """Time training steps in this process (a rank when ``distributed``); rank 0 writes
    the figures to ``out``."""
    from graphc.optimizers import Adam
    rank, size, hvd = 0, 1, None
    optimizer = Adam(lr=1e-3)
    if distributed:
        import graphc.distribute as hvd
        hvd.init()
        rank, size = hvd.rank(), hvd.size()
        optimizer = hvd.DistributedOptimizer(optimizer)
    model = build(model_name)
    model.compile(optimizer=optimizer, loss='categorical_crossentropy')
    shape = (28, 28) if model_name == 'mlp' else (28, 28, 1)
    rng = np.random.default_rng(0)
    x = rng.random((batch,) + shape, dtype=np.float32)
    y = np.eye(N_OUT, dtype=np.float32)[rng.integers(0, N_OUT, batch)]
    lo, hi = (batch * rank) // size, (batch * (rank + 1)) // size
    xs, ys = x[lo:hi], y[lo:hi]

    t0 = time.perf_counter()
    model.train_on_batch(xs, ys)            # compiles (and broadcasts rank 0's weights)
    first_s = time.perf_counter() - t0
    for _ in range(3):
        model.train_on_batch(xs, ys)
    # A fixed number of steps on every rank (agreed via rank 0's estimate).
    t0 = time.perf_counter()
    model.train_on_batch(xs, ys)
    per_step = time.perf_counter() - t0
    steps = max(5, int(seconds / max(per_step, 1e-4)))
    if hvd is not None:
        steps = int(hvd.allreduce(float(steps), average=False, name='steps') / size)
        hvd.stats(reset=True)
    t0 = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(xs, ys)
    wall = time.perf_counter() - t0
    row = {'steps': steps, 'step_ms': wall / steps * 1e3, 'sps': batch * steps / wall,
           'first_step_s': first_s}
    if hvd is not None:
        stats = hvd.stats()
        row['allreduce_ms'] = stats['allreduce_s'] / max(stats['allreduce_calls'], 1) * 1e3
        row['allreduce_share'] = stats['allreduce_s'] / wall
        row['allreduce_mb'] = stats['allreduce_bytes'] / max(stats['allreduce_calls'], 1) / 1e6
        # the slowest rank's allreduce time (the others wait in it for that rank)
        row['allreduce_ms_max'] = float(np.max(_gather(hvd, row['allreduce_ms'], size)))
        compute = _gather(hvd, stats['compute_s'] / steps * 1e3, size)
        row['compute_ms_min'], row['compute_ms_max'] = float(compute.min()), float(compute.max())
        row['pure_allreduce_ms'] = _pure_allreduce_ms(hvd, stats['allreduce_bytes'] //
                                                      max(stats['allreduce_calls'], 1))
    if rank == 0:
        with open(out, 'w') as f:
            json.dump(row, f)


def split_worker(model_name, batch, seconds, out):
    """The one-call and the split step of one model, interleaved in this process."""
    from common import measure_interleaved

    import graphc.distribute as hvd
    from graphc.optimizers import Adam
    hvd.init()
    shape = (28, 28) if model_name == 'mlp' else (28, 28, 1)
    rng = np.random.default_rng(0)
    x = rng.random((batch,) + shape, dtype=np.float32)
    y = np.eye(N_OUT, dtype=np.float32)[rng.integers(0, N_OUT, batch)]
    models = {}
    for name, optimizer in (('one_call', Adam()), ('split', hvd.DistributedOptimizer(Adam()))):
        model = build(model_name)
        model.compile(optimizer=optimizer, loss='categorical_crossentropy')
        model.train_on_batch(x, y)
        models[name] = model
    timed = measure_interleaved({name: (lambda m=m: m.train_on_batch(x, y))
                                 for name, m in models.items()}, min_time=seconds)
    with open(out, 'w') as f:
        json.dump({'one_call_ms': timed['one_call']['median_s'] * 1e3,
                   'step_ms': timed['split']['median_s'] * 1e3,
                   'sps': batch / timed['split']['median_s']}, f)


def _pure_allreduce_ms(hvd, nbytes, repeats=30):
    """The allreduce of a step's buffer alone, ranks lined up by a barrier first: the
    transfer cost, without the wait for a slower rank that the step's figure includes."""
    from graphc.distribute.strategy import _STATE
    comm = _STATE['strategy'].comm
    buf = np.zeros(max(nbytes // 4, 1), dtype=np.float32)
    times = []
    for _ in range(repeats):
        comm.barrier()
        t0 = time.perf_counter()
        comm.allreduce_sum(buf)
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3)


def _gather(hvd, value, size):
    vec = np.zeros(size)
    vec[hvd.rank()] = value
    return hvd.allreduce(vec, average=False, name='gather')


def _mpiexec():
    here = os.path.join(os.path.dirname(sys.executable), 'mpiexec')
    return here if os.path.exists(here) else shutil.which('mpiexec')


def run_config(model_name, batch, seconds, ranks):
    """One configuration in fresh processes; returns its row (or an 'error'). ``ranks``:
    0 one process, 'split' the interleaved split-step comparison, N ``mpiexec -n N``."""
    fd, out = tempfile.mkstemp(suffix='.json')
    os.close(fd)
    flag = '--split-worker' if ranks == 'split' else '--worker'
    cmd = [sys.executable, os.path.abspath(__file__), flag, model_name, str(batch),
           str(seconds), out]
    if ranks and ranks != 'split':
        cmd = [_mpiexec(), '-n', str(ranks)] + cmd + ['--distributed']
    env = None
    if ranks == 'split':
        # Its own compile cache, so the rows do not depend on each other's cache entries
        # (during the code generator's rebuild, a fresh process loading the convnet's split
        # step from a cache that this row had filled failed with "LLVM ERROR: Symbol not
        # found: graphc_kernel_..."; not reproduced since commit 2fd2644).
        cache = tempfile.mkdtemp(prefix='graphc-bench-split-cache-')
        env = dict(os.environ, GRAPHC_CACHE_DIR=cache)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    if env is not None:
        shutil.rmtree(env['GRAPHC_CACHE_DIR'], ignore_errors=True)
    try:
        if proc.returncode != 0:
            return {'error': (proc.stderr or proc.stdout)[-500:]}
        with open(out) as f:
            return json.load(f)
    finally:
        os.unlink(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--models', default='mlp,convnet')
    parser.add_argument('--batches', default='128,1024')
    parser.add_argument('--seconds', type=float, default=3.0)
    parser.add_argument('--repeats', type=int, default=2,
                        help='runs of each configuration, alternating; the table shows the '
                             'fastest (the machine is shared), the JSON all of them')
    parser.add_argument('--worker', nargs=4, metavar=('MODEL', 'BATCH', 'SECONDS', 'OUT'))
    parser.add_argument('--split-worker', nargs=4, metavar=('MODEL', 'BATCH', 'SECONDS', 'OUT'))
    parser.add_argument('--distributed', action='store_true')
    args = parser.parse_args(argv)
    if args.worker:
        name, batch, seconds, out = args.worker
        worker(name, int(batch), float(seconds), args.distributed, out)
        return None
    if args.split_worker:
        name, batch, seconds, out = args.split_worker
        split_worker(name, int(batch), float(seconds), out)
        return None
    if _mpiexec() is None:
        sys.exit("mpiexec not found: pip install 'graphc[dist]'")
    rows, runs = [], []
    for model_name in args.models.split(','):
        for batch in [int(b) for b in args.batches.split(',')]:
            best = {}
            labels = (('split', 'split'), ('single', 0), ('mpi x1', 1), ('mpi x2', 2))
            for attempt in range(args.repeats):
                for label, ranks in labels:
                    row = {'model': model_name, 'batch': batch, 'run': label,
                           'attempt': attempt}
                    row.update(run_config(model_name, batch, args.seconds, ranks))
                    runs.append(row)
                    if 'error' in row:
                        print(f"{model_name} batch {batch} {label}: {row['error']}",
                              file=sys.stderr)
                    elif row['sps'] > best.get(label, {}).get('sps', 0):
                        best[label] = row
            base = best.get('single', {}).get('sps')
            for label, _ in labels:
                if label in best:
                    row = dict(best[label])
                    if base:
                        row['vs_single'] = row['sps'] / base
                    rows.append(row)
    table(rows, ['model', 'batch', 'run', 'step_ms', 'one_call_ms', 'sps', 'vs_single',
                 'compute_ms_min',
                 'compute_ms_max', 'allreduce_ms',
                 'allreduce_ms_max', 'allreduce_share', 'pure_allreduce_ms', 'allreduce_mb',
                 'first_step_s'],
          title='Data-parallel training step (graphc.distribute)')
    write_json('bench_distributed', {'rows': rows, 'all_runs': runs, 'seconds': args.seconds,
                                     'repeats': args.repeats})
    return rows


if __name__ == '__main__':
    main()
