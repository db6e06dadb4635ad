"""Read batches ahead of training, in worker threads or processes (Keras 2's
``SequenceEnqueuer`` / ``OrderedEnqueuer`` / ``GeneratorEnqueuer``; importable from
``graphc.utils`` and ``graphc.utils.data_utils``).

``OrderedEnqueuer`` reads a ``Sequence``: its batches come out in index order (shuffled per
epoch if asked), one epoch after another, and ``on_epoch_end`` runs between epochs.
``GeneratorEnqueuer`` drains a generator: with threads, the workers share the generator under
a lock; with processes, each process runs its own copy of it (seeded differently), so the
batches are only distinct for generators that draw random data.

Example:
    >>> enqueuer = OrderedEnqueuer(batches, use_multiprocessing=False)
    >>> enqueuer.start(workers=2, max_queue_size=10)
    >>> output = enqueuer.get()
    >>> x, y = next(output)
    >>> enqueuer.stop()
"""
from __future__ import annotations

import itertools
import multiprocessing
import queue as queue_module
import threading
import time

import numpy as np

__all__ = ['SequenceEnqueuer', 'OrderedEnqueuer', 'GeneratorEnqueuer', 'get_index',
           'init_pool']

# uid -> Sequence, read by get_index in the workers (processes get their own copy)
_SHARED_SEQUENCES: dict = {}
_UIDS = itertools.count()


def init_pool(seqs):
    """Worker-process initialiser: the sequences ``get_index`` reads (uid -> Sequence)."""
    global _SHARED_SEQUENCES
    _SHARED_SEQUENCES = seqs


def get_index(uid, i):
    """Batch ``i`` of the shared sequence ``uid`` (run in a worker)."""
    return _SHARED_SEQUENCES[uid][i]


class SequenceEnqueuer:
    """Base of the enqueuers: ``start`` the workers, iterate over ``get()``, ``stop``.

    Args:
        sequence: a ``graphc.utils.Sequence`` (or, for ``GeneratorEnqueuer``, a generator).
        use_multiprocessing: workers are processes (True) or threads (False).
    """

    def __init__(self, sequence, use_multiprocessing=False):
        self.sequence = sequence
        self.use_multiprocessing = bool(use_multiprocessing)
        self.workers = 0
        self.queue = None
        self.stop_signal = None
        self.run_thread = None

    def is_running(self):
        """True between ``start`` and ``stop`` (and while workers still run)."""
        return self.stop_signal is not None and not self.stop_signal.is_set()

    def start(self, workers=1, max_queue_size=10):
        """Start ``workers`` workers reading ahead, keeping up to ``max_queue_size`` batches."""
        workers, max_queue_size = int(workers), int(max_queue_size)
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if max_queue_size < 1:
            raise ValueError(f"max_queue_size must be >= 1, got {max_queue_size}")
        self.workers = workers
        self.max_queue_size = max_queue_size
        self.stop_signal = threading.Event()
        self._start()

    def _start(self):
        raise NotImplementedError

    def stop(self, timeout=None):
        """Stop the workers and wait up to ``timeout`` seconds for them to end."""
        raise NotImplementedError

    def get(self):
        """A generator of the batches, read ahead by the workers."""
        raise NotImplementedError


class _Failure:
    """An exception raised in a worker, carried to the consumer."""

    def __init__(self, error):
        self.error = error


_END = 'graphc.enqueuers.END'   # a worker's generator is exhausted


class OrderedEnqueuer(SequenceEnqueuer):
    """Reads a ``Sequence`` ahead in workers, giving its batches in order, epoch after epoch.

    Args:
        sequence: a ``graphc.utils.Sequence``.
        use_multiprocessing: read in worker processes (the sequence must be picklable)
            instead of threads.
        shuffle: visit the batches in a new random order every epoch.

    Example:
        >>> enqueuer = OrderedEnqueuer(batches, shuffle=True)
        >>> enqueuer.start(workers=2)
        >>> first = next(enqueuer.get())
        >>> enqueuer.stop()
    """

    def __init__(self, sequence, use_multiprocessing=False, shuffle=False):
        super().__init__(sequence, use_multiprocessing)
        if not (hasattr(sequence, '__getitem__') and hasattr(sequence, '__len__')):
            raise TypeError(f"OrderedEnqueuer reads a graphc.utils.Sequence (with __getitem__ "
                            f"and __len__), got {type(sequence).__name__}; use "
                            f"GeneratorEnqueuer for a generator")
        self.shuffle = bool(shuffle)
        self.uid = next(_UIDS)

    def _pool(self):
        _SHARED_SEQUENCES[self.uid] = self.sequence
        if self.use_multiprocessing:
            return multiprocessing.Pool(self.workers, initializer=init_pool,
                                        initargs=({self.uid: self.sequence},))
        from multiprocessing.pool import ThreadPool
        return ThreadPool(self.workers)

    def _start(self):
        self.queue = queue_module.Queue(self.max_queue_size)
        self.run_thread = threading.Thread(target=self._run, daemon=True)
        self.run_thread.start()

    def _put(self, item):
        while not self.stop_signal.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue_module.Full:
                continue
        return False

    def _run(self):
        # One pool per epoch, so workers see what on_epoch_end changed.
        while not self.stop_signal.is_set():
            order = list(range(len(self.sequence)))
            if self.shuffle:
                np.random.shuffle(order)
            try:
                pool = self._pool()
            except Exception as e:   # e.g. a sequence that cannot be pickled
                self._put(_Failure(e))
                return
            try:
                pending = []
                for i in order:
                    result = pool.apply_async(get_index, (self.uid, i))
                    pending.append(result)
                    if not self._put(result):
                        break
                for result in pending:   # on_epoch_end only once the epoch is read
                    result.wait()
            finally:
                pool.close()
                pool.join()
            if self.stop_signal.is_set():
                return
            self.sequence.on_epoch_end()

    def get(self):
        while self.is_running():
            try:
                item = self.queue.get(timeout=0.1)
            except queue_module.Empty:
                continue
            if isinstance(item, _Failure):
                self.stop()
                raise item.error
            try:
                batch = item.get()
            except Exception:
                self.stop()
                raise
            yield batch

    def stop(self, timeout=None):
        if self.stop_signal is None:
            return
        self.stop_signal.set()
        if self.queue is not None:
            with self.queue.mutex:   # unblock the producer
                self.queue.queue.clear()
                self.queue.not_full.notify_all()
        if self.run_thread is not None:
            self.run_thread.join(timeout)
        _SHARED_SEQUENCES.pop(self.uid, None)


def _generator_thread(enqueuer, lock):
    generator = enqueuer.sequence
    while not enqueuer.stop_signal.is_set():
        try:
            with lock:
                item = next(generator)
        except StopIteration:
            enqueuer._put(_END)
            return
        except Exception as e:
            enqueuer._put(_Failure(e))
            return
        if not enqueuer._put(item):
            return


def _generator_process(generator, out, stop, seed, wait_time, max_queue_size):
    out.cancel_join_thread()   # exit without waiting for a consumer that stopped reading
    np.random.seed(seed)
    while not stop.is_set():
        try:
            item = next(generator)
        except StopIteration:
            out.put(_END)
            return
        except Exception as e:
            out.put(_Failure(e))
            return
        while not stop.is_set():
            try:
                out.put(item, timeout=wait_time)
                break
            except queue_module.Full:
                continue


class GeneratorEnqueuer(SequenceEnqueuer):
    """Drains a generator ahead of use, in worker threads or processes.

    Args:
        generator: a generator (or iterator) of batches.
        use_multiprocessing: run worker processes (each with its own copy of the generator,
            seeded ``seed + i``; needs the 'fork' start method) instead of threads sharing it.
        wait_time: seconds to wait while the queue is full or empty.
        seed: the base seed of the worker processes' numpy random state (default: random).

    Example:
        >>> enqueuer = GeneratorEnqueuer(batch_generator())
        >>> enqueuer.start(workers=1, max_queue_size=10)
        >>> x, y = next(enqueuer.get())
        >>> enqueuer.stop()
    """

    def __init__(self, generator, use_multiprocessing=False, wait_time=0.05, seed=None):
        super().__init__(generator, use_multiprocessing)
        if not hasattr(generator, '__next__'):
            raise TypeError(f"GeneratorEnqueuer drains a generator or iterator, got "
                            f"{type(generator).__name__}; use OrderedEnqueuer for a Sequence")
        self.wait_time = float(wait_time)
        self.seed = seed
        self._threads = []
        self._processes = []

    def _start(self):
        if self.use_multiprocessing:
            if 'fork' not in multiprocessing.get_all_start_methods():
                raise RuntimeError("GeneratorEnqueuer(use_multiprocessing=True) needs the "
                                   "'fork' start method (a generator cannot be sent to a "
                                   "new process); use threads or a Sequence instead")
            ctx = multiprocessing.get_context('fork')
            self.queue = ctx.Queue(self.max_queue_size)
            self._process_stop = ctx.Event()
            base = self.seed if self.seed is not None else np.random.randint(2 ** 31 - 1000)
            for i in range(self.workers):
                p = ctx.Process(target=_generator_process, daemon=True,
                                args=(self.sequence, self.queue, self._process_stop,
                                      base + i, self.wait_time, self.max_queue_size))
                p.start()
                self._processes.append(p)
        else:
            self.queue = queue_module.Queue(self.max_queue_size)
            lock = threading.Lock()
            for _ in range(self.workers):
                t = threading.Thread(target=_generator_thread, args=(self, lock), daemon=True)
                t.start()
                self._threads.append(t)

    def _put(self, item):
        while not self.stop_signal.is_set():
            try:
                self.queue.put(item, timeout=self.wait_time)
                return True
            except queue_module.Full:
                continue
        return False

    def get(self):
        ended = 0
        while self.is_running():
            try:
                item = self.queue.get(timeout=self.wait_time)
            except queue_module.Empty:
                continue
            if isinstance(item, str) and item == _END:
                ended += 1
                if ended == self.workers:   # every worker's generator is exhausted
                    self.stop()
                    return
                continue
            if isinstance(item, _Failure):
                self.stop()
                raise item.error
            yield item

    def stop(self, timeout=None):
        if self.stop_signal is None:
            return
        self.stop_signal.set()
        if self._processes:
            self._process_stop.set()
            deadline = time.monotonic() + (5. if timeout is None else timeout)
            for p in self._processes:
                p.join(max(0., deadline - time.monotonic()))
                if p.is_alive():
                    p.terminate()
            self.queue.cancel_join_thread()
            self._processes = []
        for t in self._threads:
            t.join(timeout)
        self._threads = []
