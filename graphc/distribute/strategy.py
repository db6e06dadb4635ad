"""Data-parallel training: the split training step, sharding and the reductions.

One ``DataParallel`` object per process holds the communicator. The engine asks
``strategy_for(model)`` at a few points (building the training step, slicing a batch,
ordering an epoch, reducing an evaluation, choosing the callbacks); it answers None for a
model that is not trained data-parallel, and then nothing changes.

The training step (``DataParallelStep``) is two compiled functions:

    grad_function(x, y, w) -> [loss, metrics..., grad_1, ..., grad_k]   (+ the layers'
                                                                          updates, per rank)
    apply_function(g_1, ..., g_k)  (placeholders) -> []                 (the optimizer's
                                                                          updates)

Between them, each rank writes ``n * [loss, metrics..., grads...]`` and its sample count
``n`` into ONE packed float buffer; one allreduce sums it, and dividing by the summed count
gives the gradient of the loss over the whole global batch. Clipping (clipnorm / clipvalue)
runs in apply_function, on the averaged gradients, as it would in one process. Every rank
then applies the same gradients to the same weights, so weights and optimizer state stay
identical without further communication.
"""
from __future__ import annotations

import time

import numpy as np

from .. import backend as K
from .comm import DistributedError

_STATE = {'strategy': None, 'all_models': False}

# Callbacks that write files or send data: kept on the root rank only.
_ROOT_ONLY_CALLBACKS = ('ModelCheckpoint', 'CSVLogger', 'RemoteMonitor', 'TensorBoard',
                        'ProgbarLogger')


def strategy_for(model):
    """The active ``DataParallel`` if ``model`` trains data-parallel, else None."""
    strategy = _STATE['strategy']
    if strategy is None:
        return None
    if _STATE['all_models'] or getattr(getattr(model, 'optimizer', None),
                                       '_graphc_distributed', False):
        return strategy
    return None


class DataParallel:
    """What the engine needs from the ranks of one job (see the module docstring).

    Args:
        comm: a ``graphc.distribute.comm.Communicator``.
        seed: the seed of the shuffled epoch orders (None: drawn by the root rank from
            numpy's global generator on first use, and broadcast).
    """

    def __init__(self, comm, seed=None):
        self.comm = comm
        self.rank, self.size = comm.rank, comm.size
        self.seed = seed
        self._patient = set()   # the names of functions whose first reduction is done

    @property
    def is_root(self):
        return self.rank == 0

    # -- weights ------------------------------------------------------------------------------
    def broadcast_model(self, model, root=0):
        """The root rank's weights (and optimizer state, once it exists) on every rank."""
        variables = list(model.weights)
        optimizer = getattr(model, 'optimizer', None)
        variables += list(getattr(optimizer, 'weights', None) or [])
        values = K.batch_get_value(variables) if variables else []
        pairs = []
        for var, value in zip(variables, values):
            buf = np.array(value, copy=True, order="C")
            self.comm.bcast_array(buf, root, what=f'the broadcast of {var.name}')
            pairs.append((var, buf))
        if pairs:
            K.batch_set_value(pairs)
        model._dist_synced = True

    def ensure_synced(self, model):
        if not getattr(model, '_dist_synced', False):
            self.broadcast_model(model, root=getattr(model, '_dist_root', 0))

    def _ensure_seed(self):
        if self.seed is None:
            drawn = int(np.random.randint(0, 2 ** 31 - 1)) if self.is_root else 0
            self.seed = self.comm.bcast_int(drawn, 0, what='the shuffle seed')
        return self.seed

    # -- data ---------------------------------------------------------------------------------
    def epoch_order(self, epoch, num_samples, shuffle, batch_size):
        """The global sample order of an epoch, the same on every rank: a permutation drawn
        from (seed, epoch), so a run resumed at ``initial_epoch`` sees the same orders as an
        uninterrupted one."""
        order = np.arange(num_samples)
        if not shuffle:
            return order
        rng = np.random.default_rng([self._ensure_seed(), int(epoch)])
        if shuffle == 'batch':
            n_batches = num_samples // batch_size
            head = order[:n_batches * batch_size].reshape(n_batches, batch_size)
            return np.append(head[rng.permutation(n_batches)].ravel(),
                             order[n_batches * batch_size:])
        return rng.permutation(num_samples)

    def shard(self, ids):
        """This rank's contiguous part of a global batch's sample indices (sizes differ by at
        most one; a rank's part is empty when the batch has fewer samples than ranks)."""
        n = len(ids)
        return ids[(n * self.rank) // self.size:(n * (self.rank + 1)) // self.size]

    def shard_range(self, num_samples):
        """This rank's contiguous ``(start, stop)`` of ``num_samples`` samples."""
        return ((num_samples * self.rank) // self.size,
                (num_samples * (self.rank + 1)) // self.size)

    def sequence_steps(self, length):
        """Steps per epoch of a Sequence of ``length`` batches read by all ranks: each
        reads every size-th batch, and the remainder is dropped (as Horovod users do with
        ``len(seq) // hvd.size()``)."""
        steps = length // self.size
        if steps == 0:
            raise ValueError(f"The Sequence has {length} batches, fewer than the {self.size} "
                             f"ranks: each rank needs at least one batch per epoch")
        return steps

    def sequence_index(self, order, step):
        """The Sequence batch this rank reads at ``step`` of an epoch ordered by ``order``."""
        return int(order[(step * self.size + self.rank) % len(order)])

    # -- reductions ---------------------------------------------------------------------------
    def reduce_weighted(self, sums, count, what, name):
        """``(summed sums, summed count)`` over ranks, as float64 (one allreduce). The first
        reduction of each function also waits for the slower ranks' compiles."""
        buf = np.zeros(len(sums) + 1, dtype=np.float64)
        buf[0] = count
        buf[1:] = sums
        patient = name not in self._patient
        was = self.comm.setup_done
        if patient:
            self.comm.setup_done = False
        try:
            self.comm.allreduce_sum(buf, what=what)
        finally:
            if patient:
                self.comm.setup_done = was
                self._patient.add(name)
        return buf[1:], buf[0]

    def average_logs(self, logs):
        """``logs``' numeric scalars averaged over ranks (in place, keys in sorted order)."""
        keys = sorted(k for k, v in logs.items() if np.ndim(v) == 0 and
                      isinstance(v, (int, float, np.number)) and k not in ('batch', 'size'))
        if not keys:
            return logs
        buf = np.array([float(logs[k]) for k in keys], dtype=np.float64)
        self.comm.allreduce_sum(buf, what='the metric average')
        for k, v in zip(keys, buf / self.size):
            logs[k] = float(v)
        return logs

    # -- callbacks ----------------------------------------------------------------------------
    def keeps_callback(self, callback):
        """All callbacks run on the root rank; the others skip those that print progress or
        write files, and keep those that steer training (they see the same global logs on
        every rank, so they decide the same)."""
        return self.is_root or type(callback).__name__ not in _ROOT_ONLY_CALLBACKS

    # -- the training step --------------------------------------------------------------------
    def train_function(self, model, inputs):
        return DataParallelStep(self, model, inputs)


class DataParallelStep:
    """The data-parallel training step, called like the one-process ``train_function``:
    ``step(local_feeds) -> [loss, metrics...]`` with the GLOBAL (sample-weighted mean) loss
    and metrics of the step."""

    def __init__(self, strategy, model, inputs):
        self.strategy = strategy
        self.comm = strategy.comm
        self.model = model
        optimizer = model.optimizer
        params = list(model._collected_trainable_weights)
        self.n_outs = 1 + len(model.metrics_tensors)
        self.n_data = len(model._feeds())
        grads = K.gradients(model.total_loss, params) if params else []
        self.grad_function = K.function(
            inputs, [model.total_loss] + list(model.metrics_tensors) + grads,
            updates=list(model.updates) + list(model.metrics_updates), name='grad_function')

        # The optimizer's updates with the averaged gradients as inputs.
        feeds = [K.placeholder(shape=K.int_shape(p), dtype=K.dtype(p),
                               name=f'grad_{i}') for i, p in enumerate(params)]
        optimizer.get_gradients = lambda loss, params: optimizer.clip_gradients(list(feeds))
        try:
            updates = optimizer.get_updates(loss=model.total_loss, params=params)
        finally:
            del optimizer.get_gradients   # the instance attribute: the method is back
        self.apply_function = K.function(feeds, [], updates=updates, name='apply_function')

        # One packed buffer: [n, n*loss, n*metrics..., n*grad_1 ..., n*grad_k].
        dtypes = [np.dtype(K.dtype(p)) for p in params] or [np.dtype(K.floatx())]
        self.dtype = np.result_type(*dtypes)
        shapes = [tuple(K.int_shape(p)) for p in params]
        sizes = [int(np.prod(s)) for s in shapes]
        offset = 1 + self.n_outs
        self.slots = []
        for shape, size in zip(shapes, sizes):
            self.slots.append((offset, size, shape))
            offset += size
        self.buffer = np.zeros(offset, dtype=self.dtype)
        self.grad_views = [self.buffer[o:o + n].reshape(s) if d == self.dtype
                           else None for (o, n, s), d in zip(self.slots, dtypes)]
        self.param_dtypes = dtypes
        self.steps = 0
        self.ready = False

    @property
    def nbytes(self):
        """Bytes moved by each step's allreduce."""
        return self.buffer.nbytes

    def _setup(self):
        # Compile both functions before the first collective, then take the root's weights
        # and optimizer state: from here on every rank holds the same values.
        _ = self.grad_function.executor
        _ = self.apply_function.executor
        test_function = getattr(self.model, '_test_function', None)
        if test_function is not None:   # fit with validation data: compile it now too
            _ = test_function.executor
            self.strategy._patient.add(getattr(test_function, 'name', 'test_function'))
        self.strategy.broadcast_model(self.model, root=getattr(self.model, '_dist_root', 0))
        self.comm.setup_done = True
        self.ready = True

    def _count(self, ins):
        for a in ins[:self.n_data]:
            if hasattr(a, 'shape') and len(a.shape):
                return int(a.shape[0])
        return 1

    def __call__(self, ins):
        if not self.ready:
            self._setup()
        buf = self.buffer
        n = self._count(ins)
        t0 = time.perf_counter()
        if n:
            outs = self.grad_function(ins)
            buf[0] = n
            for i in range(self.n_outs):
                value = np.asarray(outs[i])
                if value.size != 1:
                    raise ValueError(f"graphc.distribute averages scalar losses and metrics; "
                                     f"{self.model.metrics_names[i]!r} has shape "
                                     f"{value.shape}")
                buf[1 + i] = value.reshape(()) * n
            for (offset, size, _), g in zip(self.slots, outs[self.n_outs:]):
                np.multiply(np.asarray(g).reshape(-1), n, out=buf[offset:offset + size],
                            casting='unsafe')
        else:
            buf[:] = 0       # a rank whose part of a small last batch is empty
        t1 = time.perf_counter()
        self.comm.allreduce_sum(buf, what=f'the gradient allreduce of step {self.steps}')
        total = buf[0]
        if total <= 0:
            raise DistributedError("graphc.distribute: a training step with no samples on any "
                                   "rank")
        buf[1:] /= total
        grads = [v if v is not None else buf[o:o + n].reshape(s).astype(d)
                 for v, (o, n, s), d in zip(self.grad_views, self.slots, self.param_dtypes)]
        t2 = time.perf_counter()
        self.apply_function(grads)
        self.comm.stats['compute_s'] += (t1 - t0) + (time.perf_counter() - t2)
        self.steps += 1
        return [np.asarray(buf[1 + i], dtype=np.float32) for i in range(self.n_outs)]
