"""Data-parallel training over MPI, in the spirit of Horovod (``horovod.keras``).

Launch N copies of one program with ``mpiexec -n N python train.py``; each copy (a *rank*)
holds the whole model, trains on its part of every global batch, and the gradients are
averaged by one allreduce per step. The Horovod-style program::

    import graphc.distribute as hvd
    hvd.init()
    model.compile(optimizer=hvd.DistributedOptimizer(Adam()), loss=...)
    model.fit(x, y, batch_size=64, epochs=5,
              callbacks=[hvd.BroadcastGlobalVariablesCallback(0)],   # optional in graphc
              verbose=1 if hvd.rank() == 0 else 0)                   # optional in graphc

or, for an otherwise unchanged Keras program, ``graphc.distribute.init(all_models=True)``.

What differs from Horovod (documented in the README's "Data-parallel training" section):

- ``batch_size`` in ``fit`` is the GLOBAL batch: each rank computes ``batch_size / size``
  samples of it, so N ranks at batch B follow one process at batch B (same learning rate).
  ``fit_generator`` / ``train_on_batch`` take per-rank batches, as in Horovod.
- Weights and optimizer state are broadcast from rank 0 before the first step, with or
  without ``BroadcastGlobalVariablesCallback``; losses, metrics and History are global.
- Only rank 0 prints progress and runs ModelCheckpoint / CSVLogger / RemoteMonitor.
- BatchNormalization's batch statistics and moving averages are per rank, as in Horovod.
- Collectives have a deadline (``GRAPHC_DIST_TIMEOUT``, default 60 s; 10x that for the
  first ones, which also wait for the other ranks' compiles): a rank that died or stalled
  makes the others raise ``DistributedError``, and any rank's uncaught exception aborts
  the whole job.
"""
from __future__ import annotations

from .comm import DistributedError

__all__ = ['init', 'shutdown', 'is_initialized', 'rank', 'size', 'local_rank', 'local_size',
           'DistributedOptimizer', 'BroadcastGlobalVariablesCallback', 'MetricAverageCallback',
           'broadcast_global_variables', 'allreduce', 'load_model', 'stats', 'DistributedError']


def init(all_models=False, seed=None, timeout=None, threads_per_rank='auto'):
    """Join the MPI job (idempotent).

    Args:
        all_models: train every compiled model data-parallel, without
            ``DistributedOptimizer`` (an unchanged Keras program).
        seed: the seed of the epoch shuffles (the same on every rank). None: drawn by rank 0
            from numpy's global generator at the first shuffled epoch. Give one to make a
            resumed run (``initial_epoch``) shuffle exactly like an uninterrupted run.
        timeout: seconds a collective may wait (default ``GRAPHC_DIST_TIMEOUT`` or 60).
        threads_per_rank: numba and BLAS threads per rank; 'auto' shares this host's cores
            among its ranks (1 each for 2 ranks on a 2-core box), None leaves the settings
            alone. A ``GRAPHC_BLAS_THREADS`` set by the user wins.
    Returns:
        None. Raises ImportError naming ``pip install 'graphc[dist]'`` without mpi4py.
    """
    from .comm import Communicator, install_excepthook
    from .strategy import _STATE, DataParallel
    if _STATE['strategy'] is None:
        comm = Communicator(timeout=timeout)
        _STATE['strategy'] = DataParallel(comm, seed=seed)
        install_excepthook(comm)
        _share_cores(comm, threads_per_rank)
    else:
        if seed is not None:
            _STATE['strategy'].seed = seed
        if timeout is not None:
            _STATE['strategy'].comm.timeout = float(timeout)
    _STATE['all_models'] = bool(all_models) or _STATE['all_models']


def _share_cores(comm, threads_per_rank):
    if threads_per_rank is None:
        return
    import os
    if threads_per_rank == 'auto':
        if comm.local_size <= 1:
            return
        threads_per_rank = max(1, (os.cpu_count() or 1) // comm.local_size)
    import numba
    numba.set_num_threads(min(int(threads_per_rank), numba.config.NUMBA_NUM_THREADS))
    # graphc's compiled steps pick their BLAS thread count per call (1 or all cores); with
    # several ranks per host each rank must stay on its share (read when a step compiles)
    os.environ.setdefault('GRAPHC_BLAS_THREADS', str(int(threads_per_rank)))
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(int(threads_per_rank))
    except ImportError:
        pass


def shutdown():
    """Leave data-parallel mode (models train alone again); MPI itself ends at exit."""
    from .strategy import _STATE
    _STATE['strategy'] = None
    _STATE['all_models'] = False


def _strategy():
    from .strategy import _STATE
    if _STATE['strategy'] is None:
        raise RuntimeError("call graphc.distribute.init() first")
    return _STATE['strategy']


def is_initialized():
    from .strategy import _STATE
    return _STATE['strategy'] is not None


def rank():
    """This process's index in the job (0 .. size()-1)."""
    return _strategy().rank


def size():
    """The number of processes in the job."""
    return _strategy().size


def local_rank():
    """This process's index among the processes on its host."""
    return _strategy().comm.local_rank


def local_size():
    """The number of processes on this host."""
    return _strategy().comm.local_size


def DistributedOptimizer(optimizer, name=None, compression=None, **kwargs):
    """Mark ``optimizer`` (an instance or a name) for data-parallel training and return it.

    A model compiled with it trains with a split step: gradients on each rank's samples, one
    allreduce averaging them (packed into one buffer), then the optimizer's update, which is
    the same on every rank. The optimizer keeps its class, so saved models load anywhere.

    Args:
        optimizer: a graphc optimizer or its name.
        name, device_dense, device_sparse, sparse_as_dense: Horovod's arguments, accepted and
            without effect here (one process per CPU rank, dense gradients).
        compression: only None (gradients travel as float32).

    Example:
        >>> model.compile(optimizer=DistributedOptimizer(SGD(0.01)), loss='mse')
    """
    from .. import optimizers
    unknown = sorted(set(kwargs) - {'device_dense', 'device_sparse', 'sparse_as_dense'})
    if unknown:
        raise TypeError(f"DistributedOptimizer: unknown argument(s) {unknown}")
    if compression is not None:
        raise NotImplementedError("DistributedOptimizer: gradient compression is not "
                                  "supported; gradients are averaged as float32")
    optimizer = optimizers.get(optimizer)
    _strategy()
    optimizer._graphc_distributed = True
    return optimizer


def broadcast_global_variables(model, root_rank=0):
    """Copy ``root_rank``'s weights and optimizer state of ``model`` to every rank now."""
    _strategy().broadcast_model(model, root=root_rank)


def allreduce(value, average=True, name=None):
    """The sum (or mean) of a numpy array or number over ranks."""
    import numpy as np
    strategy = _strategy()
    buf = np.array(value, dtype=np.float64, copy=True).reshape(-1)
    strategy.comm.allreduce_sum(buf, what=f"allreduce {name or ''}".strip())
    if average:
        buf /= strategy.size
    return buf.reshape(np.shape(value)) if np.ndim(value) else float(buf[0])


def load_model(filepath, custom_objects=None, compile=True):
    """``graphc.models.load_model`` with the loaded optimizer marked distributed (Horovod's
    ``hvd.load_model``): resume a checkpoint on every rank."""
    from ..models import load_model as _load
    model = _load(filepath, custom_objects=custom_objects, compile=compile)
    optimizer = getattr(model, 'optimizer', None) if compile else None
    if optimizer is not None and not getattr(optimizer, '_graphc_distributed', False):
        # The loaded optimizer state lives in the one-process step's variables; the
        # data-parallel step makes its own, so carry the values over.
        state = optimizer.get_weights()
        DistributedOptimizer(optimizer)
        model._train_function = None
        model._make_train_function()
        if state and len(state) == len(optimizer.weights):
            optimizer.set_weights(state)
    return model


def stats(reset=False):
    """Time and bytes spent in collectives by this rank: ``{'allreduce_s', 'allreduce_calls',
    'allreduce_bytes', 'bcast_s', 'compute_s'}`` (the allreduce time includes waiting for
    slower ranks; compute_s is the time in the training steps' compiled calls).

    Args:
        reset: start counting afresh after reading.
    """
    comm = _strategy().comm
    figures = dict(comm.stats)
    if reset:
        comm.reset_stats()
    return figures


def __getattr__(name):
    if name in ('BroadcastGlobalVariablesCallback', 'MetricAverageCallback', 'callbacks'):
        import importlib          # hvd.callbacks.X as in horovod.keras, or hvd.X
        module = importlib.import_module(f'{__name__}.callbacks')
        return module if name == 'callbacks' else getattr(module, name)
    raise AttributeError(f"module 'graphc.distribute' has no attribute {name!r}")
