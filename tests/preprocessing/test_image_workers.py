"""ImageDataGenerator's iterators read by several workers: through fit_generator (workers=2,
use_multiprocessing=True) and through OrderedEnqueuer in threads and in processes, every
sample is fed exactly once per epoch, with its own label, and the random transforms do not
repeat between worker processes."""
import numpy as np
import pytest

from graphc.engine import training_generator
from graphc.layers import Dense, Flatten
from graphc.models import Sequential
from graphc.preprocessing.image import ImageDataGenerator
from graphc.utils import OrderedEnqueuer

N, BATCH = 10, 3          # 4 batches per epoch, the last one of a single sample


def _id_images(n=N):
    """Image k is 2x2x1 with every pixel k: flips, rotations and zooms leave it unchanged."""
    return np.arange(n, dtype='float32').reshape(n, 1, 1, 1) * np.ones((1, 2, 2, 1), 'float32')


def _flow(seed=None):
    gen = ImageDataGenerator(horizontal_flip=True, vertical_flip=True, rotation_range=90,
                             zoom_range=0.2, fill_mode='nearest')
    return gen.flow(_id_images(), np.arange(N, dtype='float32'), batch_size=BATCH,
                    shuffle=True, seed=seed)


def _check_epochs(batches, epochs):
    """``batches``: the (x, y) batches in the order fed; each epoch holds every id once."""
    per_epoch = len(batches) // epochs
    orders = []
    for e in range(epochs):
        ids = []
        for bx, by in batches[e * per_epoch:(e + 1) * per_epoch]:
            xid = np.rint(np.asarray(bx)[:, 0, 0, 0]).astype(int)
            np.testing.assert_allclose(np.asarray(bx)[:, :, :, 0], xid[:, None, None] *
                                       np.ones((1, 2, 2)), atol=1e-4)
            np.testing.assert_array_equal(xid, np.asarray(by).astype(int))   # x keeps its y
            ids += xid.tolist()
        assert sorted(ids) == list(range(N)), f'epoch {e} fed {sorted(ids)}'
        orders.append(ids)
    return orders


@pytest.fixture(scope='module')
def model():
    m = Sequential([Flatten(input_shape=(2, 2, 1)), Dense(1)])
    m.compile(optimizer='sgd', loss='mse')
    return m


class _Recording:
    """Replaces ``model.train_on_batch`` / ``test_on_batch`` to record the batches fed."""

    def __init__(self, model, name):
        self.model, self.name, self.fed = model, name, []
        self.original = getattr(model, name)

    def __enter__(self):
        def recording(x, y, **kwargs):
            self.fed.append((np.array(x), np.array(y)))
            return self.original(x, y, **kwargs)
        setattr(self.model, self.name, recording)
        return self.fed

    def __exit__(self, *exc):
        delattr(self.model, self.name)


def test_fit_generator_with_two_worker_processes_feeds_each_sample_once_per_epoch(
        model, monkeypatch):
    from graphc.utils import enqueuers
    started = []

    class Watched(enqueuers.OrderedEnqueuer):
        def start(self, workers=1, max_queue_size=10):
            started.append((workers, self.use_multiprocessing))
            super().start(workers, max_queue_size)

    monkeypatch.setattr(enqueuers, 'OrderedEnqueuer', Watched)
    epochs = 3
    with _Recording(model, 'train_on_batch') as fed:
        history = model.fit_generator(_flow(), epochs=epochs, workers=2,
                                      use_multiprocessing=True, verbose=0)
    assert started == [(2, True)]                          # read by two worker processes
    assert len(history.history['loss']) == epochs
    assert len(fed) == epochs * 4
    orders = _check_epochs(fed, epochs)
    assert len({tuple(o) for o in orders}) > 1            # shuffled anew between epochs


@pytest.mark.parametrize('use_multiprocessing', [False, True])
def test_engine_loops_read_through_workers_each_sample_once_per_epoch(model,
                                                                      use_multiprocessing):
    """The engine's loops with workers reading a Sequence ahead (an OrderedEnqueuer); the
    validation Sequence is read in the training thread."""
    epochs = 3
    val = ImageDataGenerator().flow(_id_images(), np.arange(N, dtype='float32'),
                                    batch_size=4, shuffle=True)
    with _Recording(model, 'train_on_batch') as fed, \
            _Recording(model, 'test_on_batch') as tested:
        history = training_generator.fit_generator(
            model, _flow(), epochs=epochs, verbose=0, validation_data=val, workers=2,
            use_multiprocessing=use_multiprocessing, max_queue_size=2)
    assert len(history.history['val_loss']) == epochs
    assert len(fed) == epochs * 4
    _check_epochs(fed, epochs)
    assert len(tested) == epochs * 3
    _check_epochs(tested, epochs)
    pred = training_generator.predict_generator(
        model, ImageDataGenerator().flow(_id_images(), batch_size=4, shuffle=False),
        workers=2, use_multiprocessing=use_multiprocessing)
    np.testing.assert_allclose(pred, model.predict(_id_images()), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('use_multiprocessing', [False, True])
def test_ordered_enqueuer_workers_feed_each_sample_once_per_epoch(use_multiprocessing):
    np.random.seed(0)
    enqueuer = OrderedEnqueuer(_flow(), use_multiprocessing=use_multiprocessing,
                               shuffle=True)
    enqueuer.start(workers=2, max_queue_size=3)
    try:
        out = enqueuer.get()
        batches = [next(out) for _ in range(3 * 4)]
    finally:
        enqueuer.stop()
    orders = _check_epochs(batches, 3)
    assert len({tuple(o) for o in orders}) > 1


def test_worker_processes_give_the_same_batches_as_one_thread():
    """The augmentation of a batch depends on the epoch's seed and the batch index only, so
    worker processes (forked with one copy of numpy's global random state) neither repeat
    each other's transforms nor change the result."""
    gen = ImageDataGenerator(brightness_range=(0.1, 1.9))
    ones = np.ones((12, 2, 2, 1), 'float32')
    ids = np.arange(12)

    def run(use_multiprocessing, workers):
        np.random.seed(5)
        seq = gen.flow([ones, ids], ids, batch_size=2, shuffle=True)
        if workers == 0:
            batches = [seq[i] for i in range(len(seq))]
        else:
            enqueuer = OrderedEnqueuer(seq, use_multiprocessing=use_multiprocessing)
            enqueuer.start(workers=workers)
            try:
                out = enqueuer.get()
                batches = [next(out) for _ in range(len(seq))]
            finally:
                enqueuer.stop()
        factors = {}
        for (bx, bid), by in batches:
            np.testing.assert_array_equal(bid, by)
            for k, f in zip(bid, bx[:, 0, 0, 0]):
                factors[int(k)] = float(f)
        return factors

    serial = run(False, 0)
    assert sorted(serial) == list(range(12))
    assert len(set(np.round(list(serial.values()), 6))) == 12   # no repeated transform
    assert run(True, 3) == serial
    assert run(False, 2) == serial


def test_iterator_pickles_without_its_lock():
    import pickle
    it = _flow(seed=3)
    back = pickle.loads(pickle.dumps(it))
    np.testing.assert_array_equal(back.index_array, it.index_array)
    bx, by = back[1]
    np.testing.assert_array_equal(bx, it[1][0])
    np.testing.assert_array_equal(by, it[1][1])
