"""The MPI layer of graphc.distribute: one communicator, collectives with a deadline.

Every collective is started non-blocking (``Iallreduce`` / ``Ibcast``) and polled until it
completes or its deadline passes; a rank that died or stalled then makes the others raise
``DistributedError`` instead of waiting forever. ``init`` also installs an excepthook that
aborts the whole MPI job when any rank ends on an uncaught exception, so one failing rank
never leaves the others blocked.

mpi4py is imported here only, on ``init()``: ``import graphc`` never needs it.
"""
from __future__ import annotations

import os
import sys
import time
import traceback

import numpy as np

DEFAULT_TIMEOUT = 60.0        # seconds a step's collective may wait for the other ranks
SETUP_TIMEOUT_FACTOR = 10     # the first collectives also wait for the other ranks' compiles
# A waiting rank polls without sleeping this long: MPI moves a collective forward only inside
# MPI calls, so sleeping between polls stretched a 0.04 ms allreduce to ~8 ms per step (each
# round of the algorithm waited for a sleep to end); past this, it sleeps in growing slices.
SPIN_SECONDS = 0.2


class DistributedError(RuntimeError):
    """A collective did not complete: another rank died, stalled or took another path."""


def _timeout_from_env():
    raw = os.environ.get('GRAPHC_DIST_TIMEOUT')
    if raw is None or raw == '':
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"GRAPHC_DIST_TIMEOUT must be a number of seconds, got {raw!r}") \
            from None
    if value <= 0:
        raise ValueError(f"GRAPHC_DIST_TIMEOUT must be positive, got {raw!r}")
    return value


class Communicator:
    """The ranks of one job (``MPI.COMM_WORLD``) and timed, deadline-bounded collectives.

    Attributes:
        rank, size: this process's index and the number of processes.
        local_rank, local_size: the same among the processes on this host.
        timeout: seconds a collective may wait (``GRAPHC_DIST_TIMEOUT``, default 60).
        stats: ``{'allreduce_s', 'allreduce_calls', 'allreduce_bytes', 'bcast_s',
            'compute_s'}`` (compute: the training steps' compiled calls on this rank).
    """

    def __init__(self, timeout=None):
        try:
            from mpi4py import MPI
        except ImportError as e:   # pragma: no cover - the extra is installed in CI
            raise ImportError("graphc.distribute needs mpi4py and an MPI library: "
                              "pip install 'graphc[dist]' (mpi4py and mpich)") from e
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        local = self.comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank = local.Get_rank()
        self.local_size = local.Get_size()
        local.Free()
        self.timeout = float(timeout) if timeout is not None else _timeout_from_env()
        self.setup_done = False
        self.reset_stats()

    def reset_stats(self):
        self.stats = {'allreduce_s': 0.0, 'allreduce_calls': 0, 'allreduce_bytes': 0,
                      'bcast_s': 0.0, 'compute_s': 0.0}

    # -- waiting ------------------------------------------------------------------------------
    def _deadline(self):
        factor = 1 if self.setup_done else SETUP_TIMEOUT_FACTOR
        return self.timeout * factor

    def _wait(self, request, what):
        """Poll ``request`` until done: spin (yielding the core to any process that shares
        it) for SPIN_SECONDS, as MPI's blocking calls do, then sleep in growing slices so a
        long wait (a compile, a stalled rank) does not hold a core until the deadline."""
        limit = self._deadline()
        start = time.perf_counter()
        spin_until = start + SPIN_SECONDS
        delay = 1e-4
        while not request.Test():
            now = time.perf_counter()
            if now - start > limit:
                raise DistributedError(
                    f"graphc.distribute: rank {self.rank} of {self.size} waited {limit:g} s "
                    f"for {what}; another rank has died, stalled or left the training loop "
                    f"(raise GRAPHC_DIST_TIMEOUT if a step or compile really takes longer)")
            if now < spin_until:
                os.sched_yield()
            else:
                time.sleep(delay)
                delay = min(delay * 2, 0.01)
        return time.perf_counter() - start

    # -- collectives --------------------------------------------------------------------------
    def allreduce_sum(self, buf, what='an allreduce'):
        """The element-wise sum of ``buf`` (a contiguous numpy array) over all ranks, in
        place."""
        if self.size == 1:
            return buf
        t0 = time.perf_counter()
        request = self.comm.Iallreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)
        self._wait(request, what)
        self.stats['allreduce_s'] += time.perf_counter() - t0
        self.stats['allreduce_calls'] += 1
        self.stats['allreduce_bytes'] += buf.nbytes
        return buf

    def bcast_array(self, buf, root=0, what='a broadcast'):
        """``buf`` (a contiguous numpy array) replaced in place by the root's copy."""
        if self.size == 1:
            return buf
        t0 = time.perf_counter()
        request = self.comm.Ibcast(buf, root=root)
        self._wait(request, what)
        self.stats['bcast_s'] += time.perf_counter() - t0
        return buf

    def bcast_int(self, value, root=0, what='a broadcast'):
        buf = np.array([value], dtype=np.int64)
        return int(self.bcast_array(buf, root, what)[0])

    def barrier(self, what='a barrier'):
        if self.size > 1:
            self._wait(self.comm.Ibarrier(), what)

    def abort(self, code=1):
        self.comm.Abort(code)


def install_excepthook(comm):
    """On an uncaught exception, print it (with the rank) and abort the whole MPI job, so the
    other ranks end now instead of waiting for their collectives' deadlines. A job of one
    rank keeps Python's own handling."""
    if comm.size == 1:
        return

    def hook(kind, value, tb):
        try:
            sys.stderr.write(f"graphc.distribute: rank {comm.rank} of {comm.size} failed; "
                             f"aborting the job\n")
            traceback.print_exception(kind, value, tb, file=sys.stderr)
            sys.stderr.flush()
            sys.stdout.flush()
        finally:
            comm.abort(1)

    sys.excepthook = hook
