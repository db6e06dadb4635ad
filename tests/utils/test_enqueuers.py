"""OrderedEnqueuer / GeneratorEnqueuer: batches read ahead in threads or processes."""
import numpy as np
import pytest

from graphc.utils import GeneratorEnqueuer, OrderedEnqueuer, Sequence


class Counting(Sequence):
    """Batch i of epoch e is (e, i); on_epoch_end moves to the next epoch."""

    def __init__(self, n=5, fail_at=None):
        self.n, self.epoch, self.fail_at = n, 0, fail_at

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            raise KeyError(f'batch {i} is broken')
        return (self.epoch, i)

    def on_epoch_end(self):
        self.epoch += 1


def _take(enqueuer, n, **start):
    enqueuer.start(**start)
    try:
        out = enqueuer.get()
        return [next(out) for _ in range(n)]
    finally:
        enqueuer.stop()
        assert not enqueuer.is_running()


@pytest.mark.parametrize('use_multiprocessing', [False, True])
def test_ordered_enqueuer_gives_batches_in_order_epoch_after_epoch(use_multiprocessing):
    got = _take(OrderedEnqueuer(Counting(), use_multiprocessing=use_multiprocessing), 12,
                workers=2, max_queue_size=3)
    assert got == [(e, i) for e in range(3) for i in range(5)][:12]


def test_ordered_enqueuer_shuffles_each_epoch_and_covers_every_batch():
    np.random.seed(3)
    got = _take(OrderedEnqueuer(Counting(8), shuffle=True), 24, workers=3)
    epochs = [got[k:k + 8] for k in range(0, 24, 8)]
    for e, batches in enumerate(epochs):
        assert sorted(batches) == [(e, i) for i in range(8)]
    assert [i for _, i in epochs[0]] != list(range(8)) or \
        [i for _, i in epochs[1]] != list(range(8))


def test_ordered_enqueuer_raises_the_workers_error():
    enqueuer = OrderedEnqueuer(Counting(fail_at=2))
    enqueuer.start(workers=1)
    out = enqueuer.get()
    assert [next(out), next(out)] == [(0, 0), (0, 1)]
    with pytest.raises(KeyError, match='batch 2 is broken'):
        next(out)
    assert not enqueuer.is_running()


def test_ordered_enqueuer_refuses_a_generator():
    with pytest.raises(TypeError, match='GeneratorEnqueuer'):
        OrderedEnqueuer(iter([1, 2]))


def test_generator_enqueuer_threads_drain_the_generator_once():
    enqueuer = GeneratorEnqueuer((i for i in range(50)))
    enqueuer.start(workers=3, max_queue_size=4)
    assert sorted(enqueuer.get()) == list(range(50))   # ends when the generator does
    assert not enqueuer.is_running()


def test_generator_enqueuer_passes_on_the_generators_error():
    def broken():
        yield 1
        raise RuntimeError('no more data here')
    enqueuer = GeneratorEnqueuer(broken())
    enqueuer.start(workers=1)
    out = enqueuer.get()
    assert next(out) == 1
    with pytest.raises(RuntimeError, match='no more data here'):
        next(out)


def test_generator_enqueuer_processes_run_seeded_copies():
    def draws():
        while True:
            yield int(np.random.randint(10 ** 9))
    got = _take(GeneratorEnqueuer(draws(), use_multiprocessing=True, seed=7), 8, workers=2)
    assert len(set(got)) == 8   # each process draws from its own seed


def test_start_checks_its_arguments():
    with pytest.raises(ValueError, match='workers must be >= 1'):
        OrderedEnqueuer(Counting()).start(workers=0)
    with pytest.raises(ValueError, match='max_queue_size'):
        GeneratorEnqueuer(iter([1])).start(workers=1, max_queue_size=0)
