"""graphc.distribute's pieces in one process, with a fake communicator (no MPI needed)."""
import time

import numpy as np
import pytest

from graphc.distribute.comm import Communicator, DistributedError, _timeout_from_env
from graphc.distribute.strategy import DataParallel


class FakeComm:
    def __init__(self, rank, size):
        self.rank, self.size = rank, size
        self.setup_done = True
        self.sent = []

    def bcast_int(self, value, root=0, what=''):
        return 7

    def allreduce_sum(self, buf, what=''):
        self.sent.append(buf.copy())
        buf *= self.size      # every rank contributed the same
        return buf


def test_shards_cover_a_batch_once_in_order():
    ids = np.arange(10, 21)
    parts = [DataParallel(FakeComm(r, 3)).shard(ids) for r in range(3)]
    assert np.array_equal(np.concatenate(parts), ids)
    assert sorted(len(p) for p in parts) == [3, 4, 4]


def test_a_batch_smaller_than_the_ranks_leaves_some_empty():
    parts = [DataParallel(FakeComm(r, 4)).shard(np.arange(2)) for r in range(4)]
    assert [len(p) for p in parts] == [0, 1, 0, 1]


def test_epoch_order_is_shared_by_ranks_and_changes_by_epoch():
    a = DataParallel(FakeComm(0, 2), seed=5)
    b = DataParallel(FakeComm(1, 2), seed=5)
    assert np.array_equal(a.epoch_order(3, 50, True, 8), b.epoch_order(3, 50, True, 8))
    assert not np.array_equal(a.epoch_order(3, 50, True, 8), a.epoch_order(4, 50, True, 8))
    assert np.array_equal(a.epoch_order(3, 50, False, 8), np.arange(50))
    order = a.epoch_order(1, 20, 'batch', 8)
    assert sorted(order.tolist()) == list(range(20))
    assert np.array_equal(order[16:], [16, 17, 18, 19])       # the partial batch stays last
    assert sorted(order[:8].tolist()) in ([0, 1, 2, 3, 4, 5, 6, 7],
                                          [8, 9, 10, 11, 12, 13, 14, 15])


def test_sequence_batches_alternate_between_ranks():
    order = np.arange(5)
    r0, r1 = DataParallel(FakeComm(0, 2)), DataParallel(FakeComm(1, 2))
    assert r0.sequence_steps(5) == 2
    assert [r0.sequence_index(order, s) for s in range(2)] == [0, 2]
    assert [r1.sequence_index(order, s) for s in range(2)] == [1, 3]
    with pytest.raises(ValueError, match='fewer than the 2 ranks'):
        r0.sequence_steps(1)


def test_weighted_reduction_divides_by_the_global_count():
    strategy = DataParallel(FakeComm(0, 2))
    sums, count = strategy.reduce_weighted(np.array([3.0, 1.5]), 6, 'x', 'f')
    assert count == 12 and np.allclose(sums / count, [0.5, 0.25])


def test_root_only_callbacks_are_dropped_on_other_ranks():
    from graphc import callbacks
    checkpoint = callbacks.ModelCheckpoint('/nonexistent/x.h5')
    stopper = callbacks.EarlyStopping()
    assert DataParallel(FakeComm(0, 2)).keeps_callback(checkpoint)
    assert not DataParallel(FakeComm(1, 2)).keeps_callback(checkpoint)
    assert DataParallel(FakeComm(1, 2)).keeps_callback(stopper)


class _NeverDone:
    def Test(self):
        return False


def test_a_collective_that_never_completes_raises_after_the_deadline():
    comm = Communicator.__new__(Communicator)    # no MPI: only the waiting logic
    comm.rank, comm.size, comm.timeout, comm.setup_done = 0, 2, 0.2, True
    start = time.monotonic()
    with pytest.raises(DistributedError, match='rank 0 of 2 waited 0.2 s for the gradient'):
        comm._wait(_NeverDone(), 'the gradient allreduce of step 4')
    assert 0.15 < time.monotonic() - start < 5


def test_timeout_setting_is_checked(monkeypatch):
    monkeypatch.setenv('GRAPHC_DIST_TIMEOUT', 'soon')
    with pytest.raises(ValueError, match='GRAPHC_DIST_TIMEOUT must be a number'):
        _timeout_from_env()
    monkeypatch.setenv('GRAPHC_DIST_TIMEOUT', '12.5')
    assert _timeout_from_env() == 12.5
    monkeypatch.delenv('GRAPHC_DIST_TIMEOUT')
    assert _timeout_from_env() == 60.0


def test_distributed_optimizer_needs_init():
    import graphc.distribute as dist
    if dist.is_initialized():
        pytest.skip('initialised by another test in this process')
    with pytest.raises(RuntimeError, match=r'graphc.distribute.init\(\) first'):
        dist.DistributedOptimizer('sgd')


def test_horovod_spellings_resolve():
    import graphc.distribute as hvd
    assert hvd.callbacks.BroadcastGlobalVariablesCallback is hvd.BroadcastGlobalVariablesCallback
    with pytest.raises(NotImplementedError, match='compression is not supported'):
        hvd.DistributedOptimizer('sgd', compression=object())
    with pytest.raises(TypeError, match=r"unknown argument\(s\) \['backward_passes'\]"):
        hvd.DistributedOptimizer('sgd', backward_passes=2)
