"""Callbacks: hooks, History, EarlyStopping, ModelCheckpoint, LR schedules, CSVLogger,
TerminateOnNaN, LambdaCallback, stop_training."""
import csv
import os

import numpy as np
import pytest

from graphc import backend as K
from graphc import callbacks as cbks
from graphc.layers import Dense, Input
from graphc.models import Model
from tests.engine.conftest import reference_executor  # noqa: F401 - autouse fixture


def _data(n=32):
    rng = np.random.RandomState(0)
    x = rng.rand(n, 3).astype('float32')
    y = (x @ np.array([[1.], [-2.], [0.5]])).astype('float32')
    return x, y


def _model(lr=0.1):
    x = Input(shape=(3,))
    model = Model(x, Dense(1)(x))
    from graphc.optimizers import SGD
    model.compile(SGD(lr=lr), 'mse', metrics=['mae'])
    return model


class Recorder(cbks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append(('train_begin',))

    def on_train_end(self, logs=None):
        self.calls.append(('train_end',))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(('epoch_begin', epoch))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(('epoch_end', epoch, sorted(logs)))

    def on_batch_begin(self, batch, logs=None):
        self.calls.append(('batch_begin', batch))

    def on_batch_end(self, batch, logs=None):
        self.calls.append(('batch_end', batch, sorted(logs)))


def test_every_hook_is_called_in_order_with_params():
    x, y = _data(10)
    model = _model()
    rec = Recorder()
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[rec], validation_split=0.2)
    kinds = [c[0] for c in rec.calls]
    assert kinds[0] == 'train_begin' and kinds[-1] == 'train_end'
    assert kinds.count('epoch_begin') == 2 and kinds.count('batch_end') == 4
    assert rec.calls[3] == ('batch_end', 0, ['batch', 'loss', 'mean_absolute_error', 'size'])
    assert ('epoch_end', 1, ['loss', 'mean_absolute_error', 'val_loss',
                             'val_mean_absolute_error']) in rec.calls
    assert rec.model is model
    assert rec.params['epochs'] == 2 and rec.params['samples'] == 8
    assert rec.params['metrics'] == ['loss', 'mean_absolute_error', 'val_loss',
                                     'val_mean_absolute_error']


def test_history_and_base_logger_average_by_batch_size():
    x, y = _data(10)
    model = _model(lr=0.0)
    batch_losses = []
    cb = cbks.LambdaCallback(on_batch_end=lambda b, logs: batch_losses.append(
        (logs['loss'], logs['size'])))
    h = model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False, callbacks=[cb])
    want = sum(v * n for v, n in batch_losses) / 10
    assert h.history['loss'][0] == pytest.approx(want, rel=1e-6)
    assert model.history is h


def test_early_stopping_with_restore_best_weights():
    x, y = _data()
    model = _model()
    losses = iter([1.0, 0.5, 0.7, 0.8, 0.9, 0.95])
    best = {}

    class FakeVal(cbks.Callback):
        """Sets val_loss from a fixed sequence (epoch 1 is best) and remembers its weights."""

        def on_epoch_end(self, epoch, logs=None):
            logs['val_loss'] = next(losses)
            if epoch == 1:
                best['w'] = self.model.get_weights()

    stop = cbks.EarlyStopping(monitor='val_loss', patience=2, restore_best_weights=True)
    h = model.fit(x, y, epochs=10, verbose=0, callbacks=[FakeVal(), stop])
    assert h.epoch == [0, 1, 2, 3]
    assert stop.stopped_epoch == 3
    for got, want in zip(model.get_weights(), best['w']):
        np.testing.assert_array_equal(got, want)


def test_early_stopping_min_delta_and_mode():
    stop = cbks.EarlyStopping(monitor='acc', min_delta=0.1, patience=0)
    assert stop.monitor_op is np.greater
    stop.set_model(_model())
    stop.on_train_begin()
    stop.on_epoch_end(0, {'acc': 0.5})
    stop.on_epoch_end(1, {'acc': 0.55})         # not better by min_delta
    assert stop.model.stop_training


def test_model_checkpoint_templates_best_only_and_period(tmp_path, monkeypatch):
    x, y = _data()
    model = _model()
    saved = []
    monkeypatch.setattr(model, 'save', lambda path, overwrite=True: saved.append(('m', path)))
    monkeypatch.setattr(model, 'save_weights',
                        lambda path, overwrite=True: saved.append(('w', path)))
    template = str(tmp_path / 'weights.{epoch:02d}-{val_loss:.2f}.hdf5')
    model.fit(x, y, epochs=3, verbose=0, validation_split=0.25,
              callbacks=[cbks.ModelCheckpoint(template)])
    assert [kind for kind, _ in saved] == ['m'] * 3
    assert os.path.basename(saved[0][1]).startswith('weights.01-')
    assert saved[2][1].endswith('.hdf5')
    saved.clear()
    model.fit(x, y, epochs=4, verbose=0, validation_split=0.25,
              callbacks=[cbks.ModelCheckpoint(str(tmp_path / 'w{epoch}.h5'),
                                              save_weights_only=True, period=2)])
    assert saved == [('w', str(tmp_path / 'w2.h5')), ('w', str(tmp_path / 'w4.h5'))]
    saved.clear()
    check = cbks.ModelCheckpoint('best.h5', monitor='val_loss', save_best_only=True)
    check.set_model(model)
    for epoch, v in enumerate([1.0, 2.0, 0.5]):
        check.on_epoch_end(epoch, {'val_loss': v})
    assert saved == [('m', 'best.h5'), ('m', 'best.h5')]
    with pytest.raises(KeyError, match='val_acc'):
        cbks.ModelCheckpoint('{val_acc}.h5').on_epoch_end(0, {'loss': 1.})


def test_learning_rate_scheduler_and_reduce_on_plateau():
    x, y = _data()
    model = _model()
    seen = []
    sched = cbks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))
    probe = cbks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(
        float(K.get_value(model.optimizer.lr))))
    model.fit(x, y, epochs=3, verbose=0, callbacks=[sched, probe])
    np.testing.assert_allclose(seen, [0.1, 0.05, 0.1 / 3], rtol=1e-6)

    plateau = cbks.ReduceLROnPlateau(monitor='val_loss', factor=0.5, patience=1, min_lr=0.02)
    plateau.set_model(model)
    K.set_value(model.optimizer.lr, 0.1)
    plateau.on_train_begin()
    for epoch, v in enumerate([1.0, 1.0, 1.0, 1.0, 1.0]):
        plateau.on_epoch_end(epoch, {'val_loss': v})
    assert float(K.get_value(model.optimizer.lr)) == pytest.approx(0.02)
    with pytest.raises(ValueError, match='factor'):
        cbks.ReduceLROnPlateau(factor=1.5)


def test_csv_logger_writes_and_appends(tmp_path):
    x, y = _data()
    model = _model()
    path = str(tmp_path / 'log.csv')
    model.fit(x, y, epochs=2, verbose=0, callbacks=[cbks.CSVLogger(path)])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[cbks.CSVLogger(path, append=True)])
    with open(path) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['epoch', 'loss', 'mean_absolute_error']
    assert [r[0] for r in rows[1:]] == ['0', '1', '0']
    model.fit(x, y, epochs=1, verbose=0, callbacks=[cbks.CSVLogger(path)])
    with open(path) as f:
        assert len(f.readlines()) == 2          # replaced, not appended


def test_terminate_on_nan_and_stop_training(capsys):
    x, y = _data()
    y[0] = np.nan
    model = _model()
    h = model.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False,
                  callbacks=[cbks.TerminateOnNaN()])
    assert 'Invalid loss, terminating training' in capsys.readouterr().out
    assert h.epoch == [0]

    class StopAtOne(cbks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True
    h = _model().fit(x, y * 0, epochs=5, verbose=0, callbacks=[StopAtOne()])
    assert h.epoch == [0, 1]


def test_non_callback_is_rejected():
    x, y = _data()
    with pytest.raises(TypeError, match='Callback instances'):
        _model().fit(x, y, verbose=0, callbacks=[lambda: None])
