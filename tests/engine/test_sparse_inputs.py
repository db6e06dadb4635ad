"""Sparse inputs: ``K.placeholder(sparse=True)`` / ``Input(sparse=True)`` are dense placeholders
that remember the declaration, and scipy.sparse data is densified one batch at a time."""
import json

import numpy as np
import pytest
import scipy.sparse as sp

from graphc import backend as K
from graphc.layers import Dense, Embedding, Flatten, Input
from graphc.models import Model, Sequential, load_model, model_from_json

N, D = 20, 6


def _data(seed=0):
    rng = np.random.RandomState(seed)
    x = sp.random(N, D, density=0.3, format='csr', dtype=np.float32, random_state=rng)
    y = rng.rand(N, 2).astype('float32')
    return x, y


def _model(weights=None):
    x = Input(shape=(D,), sparse=True, name='words')
    h = Dense(3, activation='tanh')(x)
    model = Model(x, Dense(2)(h))
    model.compile('sgd', 'mse')
    if weights is not None:
        model.set_weights(weights)
    return model


class RecordingCSR(sp.csr_matrix):
    """A CSR matrix that records the shape of every matrix toarray() is called on."""
    calls: list = []   # noqa: RUF012 - shared on purpose: the slices are RecordingCSR too

    def toarray(self, *args, **kwargs):
        RecordingCSR.calls.append(self.shape)
        return super().toarray(*args, **kwargs)


def _fit_weights(x, y, shuffle, weights, **kwargs):
    model = _model(weights)
    np.random.seed(3)   # the same shuffled order for the sparse and the dense run
    model.fit(x, y, batch_size=8, epochs=2, shuffle=shuffle, verbose=0, **kwargs)
    return model.get_weights()


@pytest.mark.parametrize('shuffle', [False, True])
def test_fit_on_csr_gives_the_weights_of_its_dense_copy(shuffle):
    x, y = _data()
    start = _model().get_weights()
    sparse = _fit_weights(x, y, shuffle, start)
    dense = _fit_weights(x.toarray(), y, shuffle, start)
    assert any(not np.allclose(a, b) for a, b in zip(sparse, start))   # it trained
    for a, b in zip(sparse, dense):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_sparse_targets_and_sparse_validation_data_match_dense():
    x, y = _data()
    start = _model().get_weights()
    y_sparse = sp.csr_matrix(y)
    runs = []
    for xs, ys, val in ((x.tocsc(), y_sparse, (x.tocoo(), y_sparse)),
                        (x.toarray(), y, (x.toarray(), y))):
        model = _model(start)
        history = model.fit(xs, ys, batch_size=8, epochs=2, shuffle=False, verbose=0,
                            validation_data=val)
        runs.append((history.history['val_loss'], model.get_weights()))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-6)
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_validation_split_with_sparse_x_matches_dense():
    x, y = _data()
    start = _model().get_weights()
    losses = [_model(start).fit(xs, y, batch_size=8, epochs=1, shuffle=False, verbose=0,
                                validation_split=0.25).history['val_loss']
              for xs in (x, x.toarray())]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-6)


@pytest.mark.parametrize('fmt', ['csr', 'csc', 'coo'])
def test_predict_evaluate_and_on_batch_on_sparse_equal_dense(fmt):
    x, y = _data(1)
    model = _model()
    xs, dense = x.asformat(fmt), x.toarray()
    np.testing.assert_allclose(model.predict(xs, batch_size=7), model.predict(dense),
                               rtol=1e-6)
    assert model.evaluate(xs, y, batch_size=7, verbose=0) == \
        pytest.approx(model.evaluate(dense, y, batch_size=7, verbose=0), rel=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(xs), model.predict_on_batch(dense),
                               rtol=1e-6)
    assert model.test_on_batch(xs, sp.coo_matrix(y)) == \
        pytest.approx(model.test_on_batch(dense, y), rel=1e-6)
    before = model.get_weights()
    loss = model.train_on_batch(xs, y)
    model.set_weights(before)
    assert loss == pytest.approx(model.train_on_batch(dense, y), rel=1e-6)


def test_k_function_with_a_sparse_placeholder():
    s = K.placeholder(shape=(None, 3), sparse=True)
    assert K.is_sparse(s) and K.to_dense(s) is s
    w = K.placeholder(shape=(None, 3))
    assert not K.is_sparse(w)
    f = K.function([s, w], [K.sum(K.to_dense(s) * w, axis=1)])
    m = np.array([[1., 0., 2.], [0., 0., 0.], [0., 3., 0.]], dtype='float32')
    weights = np.arange(9, dtype='float32').reshape(3, 3)
    expected = (m * weights).sum(axis=1)
    np.testing.assert_allclose(f([sp.csr_matrix(m), weights])[0], expected)
    np.testing.assert_allclose(f({s: sp.coo_matrix(m), w: weights})[0], expected)
    np.testing.assert_allclose(f([m, weights])[0], expected)   # dense data works too
    with pytest.raises(ValueError, match=r"\(2, 4\)"):
        f([sp.csr_matrix((2, 4), dtype='float32'), weights[:2]])


def test_sparse_input_config_round_trips(tmp_path):
    x, _ = _data()
    model = _model()
    layer = model.layers[0]
    assert layer.sparse and layer.get_config()['sparse'] is True
    assert K.is_sparse(model.inputs[0])
    rebuilt = model_from_json(model.to_json())
    assert rebuilt.layers[0].sparse and K.is_sparse(rebuilt.inputs[0])
    assert json.loads(rebuilt.to_json()) == json.loads(model.to_json())
    path = str(tmp_path / 'sparse.h5')
    model.save(path)
    loaded = load_model(path)
    assert loaded.layers[0].get_config()['sparse'] is True and K.is_sparse(loaded.inputs[0])
    np.testing.assert_allclose(loaded.predict(x), model.predict(x.toarray()), rtol=1e-6)
    dense_input = Input(shape=(D,))
    assert not dense_input._keras_history[0].get_config()['sparse']
    assert not K.is_sparse(dense_input)


def test_sparse_matrix_with_wrong_columns_names_the_input_and_shapes():
    model = _model()
    wrong = sp.random(5, D + 1, density=0.5, format='csr', dtype=np.float32)
    for call in (lambda: model.predict(wrong),
                 lambda: model.fit(wrong, np.zeros((5, 2)), verbose=0),
                 lambda: model.train_on_batch(wrong, np.zeros((5, 2)))):
        with pytest.raises(ValueError, match=r"words.*\(None, 6\).*sparse matrix with shape "
                                             r"\(5, 7\)"):
            call()


def test_fit_densifies_one_batch_at_a_time():
    x, y = _data()
    RecordingCSR.calls = []
    recording = RecordingCSR(x)
    model = _model()
    model.fit(recording, y, batch_size=8, epochs=1, verbose=0, shuffle=True,
              validation_data=(recording, y))
    model.evaluate(recording, y, batch_size=8, verbose=0)
    model.predict(recording, batch_size=8)
    calls = RecordingCSR.calls
    # 3 batches each for training, validation, evaluate and predict; never the whole matrix
    assert len(calls) == 12
    assert all(rows <= 8 and cols == D for rows, cols in calls)


def test_sequential_builds_from_sparse_data():
    x, y = _data()
    model = Sequential([Dense(2)])
    model.compile('sgd', 'mse')
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert model.layers[0].get_weights()[0].shape == (D, 2)
    np.testing.assert_allclose(model.predict(x), model.predict(x.toarray()), rtol=1e-6)


def test_sparse_class_weight_and_data_checks():
    x, _ = _data()
    labels = np.arange(N) % 2
    y_onehot = np.eye(2, dtype='float32')[labels]
    start = _model().get_weights()
    weights = {0: 1., 1: 3.}
    losses = [_model(start).train_on_batch(x, ys, class_weight=weights)
              for ys in (sp.csr_matrix(y_onehot), y_onehot)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    bad = x.copy()
    bad.data[0] = np.nan
    with pytest.warns(RuntimeWarning, match="words.*NaN"):
        _model().evaluate(bad, y_onehot, verbose=0)


def test_embedding_index_check_reads_sparse_stored_values():
    ids = Input(shape=(3,), sparse=True, name='ids')
    model = Model(ids, Dense(1)(Flatten()(Embedding(5, 2)(ids))))
    good = sp.csr_matrix(np.array([[0, 4, 0], [1, 0, 2]], dtype='float32'))
    np.testing.assert_allclose(model.predict(good), model.predict(good.toarray()), rtol=1e-6)
    bad = sp.csr_matrix(np.array([[0, 0, 0], [0, 7, 0]], dtype='float32'))
    with pytest.raises(ValueError, match=r"index 7 at position \(1, 1\)"):
        model.predict(bad)


_WITHOUT_SCIPY = """
import sys
class NoScipy:
    def find_spec(self, name, path=None, target=None):
        if name == 'scipy' or name.startswith('scipy.'):
            raise ImportError('scipy is blocked')
sys.meta_path.insert(0, NoScipy())
import numpy as np
from graphc import backend as K, config
from graphc.layers import Dense, Input
from graphc.models import Model
config.set('executor', 'reference')
x = Input(shape=(3,), sparse=True)
model = Model(x, Dense(1)(x))
model.compile('sgd', 'mse')
model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)
assert K.is_sparse(x) and model.predict(np.ones((2, 3))).shape == (2, 1)
assert 'scipy' not in sys.modules
print('ok')
"""


def test_sparse_inputs_do_not_import_scipy():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, '-c', _WITHOUT_SCIPY], capture_output=True,
                         text=True, check=False)
    assert out.returncode == 0 and out.stdout.strip() == 'ok', out.stderr[-2000:]


def test_generators_may_yield_sparse_batches():
    x, y = _data()
    start = _model().get_weights()

    def batches(xs, ys):
        while True:
            for i in range(0, N, 10):
                yield xs[i:i + 10], ys[i:i + 10]
    results = []
    for xs, ys in ((x, sp.csr_matrix(y)), (x.toarray(), y)):
        model = _model(start)
        model.fit_generator(batches(xs, ys), steps_per_epoch=2, epochs=1, verbose=0)
        results.append((model.evaluate_generator(batches(xs, ys), steps=2),
                        model.predict_generator((b for b, _ in batches(xs, ys)), steps=2)))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-6)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6)
