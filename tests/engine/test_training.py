"""compile / fit / evaluate / predict / *_on_batch / *_generator on functional models."""
import re

import numpy as np
import pytest

from graphc import backend as K
from graphc.engine.base_layer import Layer
from graphc.layers import Dense, Dropout, Input
from graphc.models import Model, Sequential
from graphc.utils import Sequence, to_categorical


def _blobs(n=240, classes=3, dim=4, seed=0):
    rng = np.random.RandomState(seed)
    centers = rng.randn(classes, dim) * 3
    labels = rng.randint(0, classes, n)
    x = (centers[labels] + rng.randn(n, dim) * 0.5).astype('float32')
    return x, labels


def _classifier(dim=4, classes=3):
    x = Input(shape=(dim,), name='features')
    h = Dense(16, activation='relu')(x)
    return Model(x, Dense(classes, activation='softmax', name='probs')(h))


class Counter(Layer):
    """Identity that counts its training-step calls with a layer update (like BN stats)."""

    def build(self, input_shape):
        self.calls = self.add_weight('calls', (), initializer='zeros', trainable=False)
        self.built = True

    def call(self, x):
        self.add_update([K.update_add(self.calls, K.constant(1.))], x)
        return x


def test_training_learns_and_evaluate_matches_numpy():
    x, labels = _blobs()
    y = to_categorical(labels, 3)
    model = _classifier()
    from graphc.optimizers import Adam
    model.compile(optimizer=Adam(lr=0.01), loss='categorical_crossentropy',
                  metrics=['accuracy'])
    assert model.metrics_names == ['loss', 'acc']
    history = model.fit(x, y, batch_size=32, epochs=20, verbose=0)
    losses = history.history['loss']
    assert len(losses) == 20 and history.epoch == list(range(20))
    assert losses[-1] < 0.5 * losses[0]
    assert history.history['acc'][-1] > 0.9            # chance is 1/3

    loss, acc = model.evaluate(x, y, batch_size=50, verbose=0)
    p = model.predict(x, batch_size=64)
    assert p.shape == (240, 3)
    eps = K.epsilon()
    pc = np.clip(p / p.sum(-1, keepdims=True), eps, 1 - eps)
    np.testing.assert_allclose(loss, np.mean(-np.sum(y * np.log(pc), axis=-1)), rtol=1e-4)
    np.testing.assert_allclose(acc, np.mean(p.argmax(-1) == labels), rtol=1e-6)


def test_ragged_last_batch_and_single_batch_calls():
    x, labels = _blobs(n=37)
    y = to_categorical(labels, 3)
    model = _classifier()
    model.compile('sgd', 'categorical_crossentropy')
    seen = []
    from graphc.callbacks import LambdaCallback
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False,
              callbacks=[LambdaCallback(on_batch_end=lambda b, logs: seen.append(logs['size']))])
    assert seen == [16, 16, 5]
    assert model.predict(x, batch_size=16).shape == (37, 3)
    loss = model.train_on_batch(x[:5], y[:5])
    assert isinstance(loss, float)
    assert isinstance(model.test_on_batch(x[:5], y[:5]), float)
    np.testing.assert_allclose(model.predict_on_batch(x[:5]), model.predict(x[:5]), rtol=1e-6)


def test_train_function_is_one_k_function_with_updates():
    x = Input(shape=(2,))
    counter = Counter()
    model = Model(x, Dense(1)(counter(x)))
    model.compile('sgd', 'mse')
    f = model.train_function
    assert f is model.train_function                    # built once
    assert model.test_function is not f and model.predict_function is not f
    model.fit(np.ones((10, 2)), np.ones((10, 1)), batch_size=4, epochs=1, verbose=0)
    assert float(K.get_value(counter.calls)) == 3        # one update per training step
    model.evaluate(np.ones((10, 2)), np.ones((10, 1)), verbose=0)
    model.predict(np.ones((10, 2)))
    assert float(K.get_value(counter.calls)) == 3        # no update outside training


def test_learning_phase_is_fed_one_in_training_only():
    x = Input(shape=(50,))
    model = Model(x, Dropout(0.5, seed=1)(x))
    model.compile('sgd', 'mse')
    ones = np.ones((4, 50), 'float32')
    np.testing.assert_array_equal(model.predict(ones), ones)     # test: identity
    train_loss = model.train_on_batch(ones, ones)               # dropped half, scaled 2x
    assert train_loss > 0.5
    assert model.test_on_batch(ones, ones) == 0.0


def test_multi_io_lists_dicts_loss_weights():
    a, b = Input(shape=(3,), name='a_in'), Input(shape=(2,), name='b_in')
    from graphc.layers.core import Lambda
    merged = Lambda(lambda t: K.concatenate([t[0], t[1]], axis=-1))([a, b])
    out1 = Dense(1, name='out1')(merged)
    out2 = Dense(2, activation='softmax', name='out2')(merged)
    model = Model([a, b], [out1, out2])
    model.compile('sgd', loss={'out1': 'mse', 'out2': 'categorical_crossentropy'},
                  loss_weights={'out1': 1., 'out2': 0.5}, metrics={'out2': ['acc']})
    assert model.metrics_names == ['loss', 'out1_loss', 'out2_loss', 'out2_acc']
    xa, xb = np.random.rand(8, 3), np.random.rand(8, 2)
    y1, y2 = np.random.rand(8, 1), to_categorical(np.arange(8) % 2, 2)
    by_dict = model.evaluate({'a_in': xa, 'b_in': xb}, {'out1': y1, 'out2': y2}, verbose=0)
    by_list = model.evaluate([xa, xb], [y1, y2], verbose=0)
    np.testing.assert_allclose(by_dict, by_list)
    total, l1, l2, _ = by_list
    np.testing.assert_allclose(total, l1 + 0.5 * l2, rtol=1e-5)
    history = model.fit([xa, xb], [y1, y2], epochs=2, verbose=0)
    assert set(history.history) == {'loss', 'out1_loss', 'out2_loss', 'out2_acc'}


def test_output_without_loss_is_skipped():
    x = Input(shape=(2,))
    o1, o2 = Dense(1, name='o1')(x), Dense(1, name='o2')(x)
    model = Model(x, [o1, o2])
    model.compile('sgd', loss={'o1': 'mse'})
    assert model.metrics_names == ['loss', 'o1_loss']
    loss, o1_loss = model.train_on_batch(np.ones((2, 2)), {'o1': np.ones((2, 1))})
    assert loss == o1_loss and np.isfinite(loss)


def test_accuracy_resolution_by_loss_and_shape():
    x = Input(shape=(3,))
    binary = Model(x, Dense(1, activation='sigmoid')(x))
    binary.compile('sgd', 'binary_crossentropy', metrics=['accuracy'])
    yb = np.array([[1.], [0.]])
    pb = binary.predict(np.ones((2, 3)))
    acc = binary.evaluate(np.ones((2, 3)), yb, verbose=0)[1]
    assert acc == np.mean((pb > 0.5) == yb)

    sparse = _classifier(3, 4)
    sparse.compile('sgd', 'sparse_categorical_crossentropy', metrics=['acc'])
    xs = np.random.rand(6, 3)
    ys = np.array([0, 1, 2, 3, 0, 1])
    acc = sparse.evaluate(xs, ys, verbose=0)[1]
    np.testing.assert_allclose(acc, np.mean(sparse.predict(xs).argmax(-1) == ys))


def test_custom_and_weighted_metrics():
    def mean_pred(y_true, y_pred):
        return K.mean(y_pred)
    x = Input(shape=(2,))
    model = Model(x, Dense(1, activation='sigmoid')(x))
    model.compile('sgd', 'mse', metrics=['mae', mean_pred], weighted_metrics=['mae'])
    assert model.metrics_names == ['loss', 'mean_absolute_error', 'mean_pred',
                                   'weighted_mean_absolute_error']
    xs, ys = np.random.rand(4, 2), np.array([[0.], [1.], [0.], [1.]])
    w = np.array([1., 0., 0., 1.])
    _, mae, mp, wmae = model.evaluate(xs, ys, sample_weight=w, verbose=0)
    p = model.predict(xs)
    np.testing.assert_allclose(mp, p.mean(), rtol=1e-5)
    err = np.abs(p - ys)[:, 0]
    np.testing.assert_allclose(mae, err.mean(), rtol=1e-5)
    np.testing.assert_allclose(wmae, (err * w).sum() / 2, rtol=1e-5)


def test_sample_weight_and_class_weight_weight_the_loss():
    x = Input(shape=(1,))
    model = Model(x, Dense(1, kernel_initializer='zeros')(x))
    model.compile('sgd', 'mse')
    xs = np.array([[1.], [1.]])
    ys = np.array([[1.], [3.]])
    assert model.evaluate(xs, ys, verbose=0) == pytest.approx(5.0)
    # weights [1, 0]: mean(err*w) / mean(w != 0) = (1*1 + 9*0) / 2 / 0.5 = 1
    assert model.evaluate(xs, ys, sample_weight=np.array([1., 0.]), verbose=0) == \
        pytest.approx(1.0)
    clf = _classifier(1, 2)
    clf.compile('sgd', 'categorical_crossentropy')
    with pytest.raises(ValueError, match='class_weight must contain all classes'):
        clf.fit(xs, to_categorical([0, 1], 2), class_weight={0: 1.}, verbose=0)
    clf.fit(xs, to_categorical([0, 1], 2), class_weight={0: 1., 1: 3.}, verbose=0, epochs=1)


def test_validation_split_and_validation_data():
    x, labels = _blobs(n=100)
    y = to_categorical(labels, 3)
    model = _classifier()
    model.compile('sgd', 'categorical_crossentropy', metrics=['acc'])
    h = model.fit(x, y, validation_split=0.2, epochs=2, verbose=0)
    assert set(h.history) == {'loss', 'acc', 'val_loss', 'val_acc'}
    want = model.evaluate(x[80:], y[80:], verbose=0)
    np.testing.assert_allclose([h.history['val_loss'][-1], h.history['val_acc'][-1]], want,
                               rtol=1e-5)
    h = model.fit(x, y, validation_data=(x[:10], y[:10]), epochs=1, verbose=0,
                  shuffle='batch')
    assert 'val_loss' in h.history


def test_initial_epoch_and_epochs_defaults():
    model = _classifier()
    model.compile('sgd', 'categorical_crossentropy')
    x, labels = _blobs(n=8)
    y = to_categorical(labels, 3)
    assert model.fit(x, y, verbose=0).epoch == [0]                # Model: 1 epoch
    assert model.fit(x, y, epochs=4, initial_epoch=2, verbose=0).epoch == [2, 3]
    seq = Sequential([Dense(3, input_shape=(4,))])
    seq.compile('sgd', 'mse')
    assert seq.fit(x, y, verbose=0).epoch == list(range(10))      # Sequential: 10


def test_steps_per_epoch_fit():
    model = _classifier()
    model.compile('sgd', 'categorical_crossentropy')
    x, labels = _blobs(n=8)
    h = model.fit(x, to_categorical(labels, 3), steps_per_epoch=3, epochs=2, verbose=0)
    assert len(h.history['loss']) == 2


def test_verbose_figures_equal_history(capsys):
    x, labels = _blobs(n=50)
    model = _classifier()
    model.compile('sgd', 'categorical_crossentropy', metrics=['accuracy'])
    for verbose in (1, 2):
        h = model.fit(x, to_categorical(labels, 3), batch_size=16, epochs=2, verbose=verbose,
                      validation_split=0.2)
        out = capsys.readouterr().out
        assert 'Epoch 2/2' in out
        shown = [float(v) for v in re.findall(r' - loss: ([0-9.e+-]+)', out)]
        assert shown == [round(v, 4) for v in h.history['loss']]
        shown_val = [float(v) for v in re.findall(r' - val_acc: ([0-9.e+-]+)', out)]
        assert shown_val == [round(v, 4) for v in h.history['val_acc']]
    model.fit(x, to_categorical(labels, 3), epochs=1, verbose=0)
    assert capsys.readouterr().out == ''


def test_fit_before_compile_is_a_clear_error():
    model = _classifier()
    with pytest.raises(RuntimeError, match=r'compile your model.*model.compile\(optimizer, '):
        model.fit(np.ones((2, 4)), np.ones((2, 3)))
    with pytest.raises(RuntimeError, match='compile'):
        model.evaluate(np.ones((2, 4)), np.ones((2, 3)))
    assert model.predict(np.ones((2, 4))).shape == (2, 3)   # predict needs no compile


def test_data_shape_mismatch_names_input_and_hint():
    model = _classifier()
    model.compile('sgd', 'categorical_crossentropy')
    with pytest.raises(ValueError, match=r'expected features to have shape \(None, 4\) but got '
                                         r'an array with shape \(2, 5\).*exclude the batch axis'):
        model.fit(np.ones((2, 5)), np.ones((2, 3)), verbose=0)
    with pytest.raises(ValueError, match=r'expected features to have 2 dimensions.*\(2, 4, 1\)'):
        model.predict(np.ones((2, 4, 1)))
    with pytest.raises(ValueError, match=r'shape \(2, 2\).*output probs of shape \(None, 3\)'):
        model.fit(np.ones((2, 4)), np.ones((2, 2)), verbose=0)


def test_x_y_length_mismatch():
    model = _classifier()
    model.compile('sgd', 'categorical_crossentropy')
    with pytest.raises(ValueError, match='Found 3 input samples and 2 target samples'):
        model.fit(np.ones((3, 4)), np.ones((2, 3)), verbose=0)


def test_categorical_crossentropy_with_integer_targets_hint():
    model = _classifier()
    model.compile('sgd', 'categorical_crossentropy')
    with pytest.raises(ValueError, match='to_categorical'):
        model.fit(np.ones((3, 4)), np.array([0, 1, 2]), verbose=0)


def test_compile_argument_errors():
    x = Input(shape=(2,))
    model = Model(x, [Dense(1, name='o1')(x), Dense(1, name='o2')(x)])
    with pytest.raises(ValueError, match=r"Unknown entries in the loss dictionary: \['oops'\].*"
                                         r"\['o1', 'o2'\]"):
        model.compile('sgd', loss={'oops': 'mse'})
    with pytest.raises(ValueError, match='one entry per model output.*2 outputs'):
        model.compile('sgd', loss=['mse'])
    with pytest.raises(ValueError, match='loss_weights'):
        model.compile('sgd', loss='mse', loss_weights=[1.])
    with pytest.raises(ValueError, match='Unknown entries in the loss_weights'):
        model.compile('sgd', loss='mse', loss_weights={'o3': 1.})
    with pytest.raises(ValueError, match='Unknown entries in the metrics'):
        model.compile('sgd', loss='mse', metrics={'o3': ['mae']})
    with pytest.raises(ValueError, match='sample_weight_mode'):
        model.compile('sgd', loss='mse', sample_weight_mode='spatial')
    with pytest.raises(ValueError, match='needs a loss'):
        model.compile('sgd')


def test_target_dict_with_unknown_key_is_an_error():
    model = _classifier()
    model.compile('sgd', 'categorical_crossentropy')
    with pytest.raises(ValueError, match=r"\['prob'\].*valid names: \['probs'\]"):
        model.fit(np.ones((2, 4)), {'prob': np.ones((2, 3))}, verbose=0)


class Batches(Sequence):
    def __init__(self, x, y, batch_size):
        self.x, self.y, self.batch_size = x, y, batch_size
        self.epochs_ended = 0

    def __len__(self):
        return int(np.ceil(len(self.x) / self.batch_size))

    def __getitem__(self, i):
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[s], self.y[s]

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_generators_and_sequences():
    x, labels = _blobs(n=90)
    y = to_categorical(labels, 3)
    model = _classifier()
    model.compile('adam', 'categorical_crossentropy', metrics=['acc'])

    def gen():
        while True:
            for i in range(0, 90, 30):
                yield x[i:i + 30], y[i:i + 30]

    h = model.fit_generator(gen(), steps_per_epoch=3, epochs=3, verbose=0,
                            validation_data=gen(), validation_steps=3)
    assert set(h.history) == {'loss', 'acc', 'val_loss', 'val_acc'}
    seq = Batches(x, y, 40)
    h = model.fit_generator(seq, epochs=2, verbose=0)
    assert len(h.history['loss']) == 2 and seq.epochs_ended == 2
    ev = model.evaluate_generator(Batches(x, y, 40))
    np.testing.assert_allclose(ev, model.evaluate(x, y, verbose=0), rtol=1e-5)
    pred = model.predict_generator(Batches(x, y, 40))
    np.testing.assert_allclose(pred, model.predict(x), rtol=1e-6)
    with pytest.raises(ValueError, match='steps_per_epoch'):
        model.fit_generator(gen(), epochs=1)
    with pytest.raises(ValueError, match=r'tuple `\(x, y, sample_weight\)`'):
        model.fit_generator(iter([x, x]), steps_per_epoch=1, verbose=0)


def test_regularization_losses_join_the_total_loss():
    x = Input(shape=(2,))
    model = Model(x, Dense(1, kernel_initializer='ones', bias_initializer='zeros',
                           kernel_regularizer='l2')(x))
    model.compile('sgd', 'mse')
    loss = model.evaluate(np.zeros((3, 2)), np.zeros((3, 1)), verbose=0)
    assert loss == pytest.approx(0.01 * 2)            # l2(0.01) * sum(ones(2)**2)
