"""Bad input at the model API gets a clear error (or warning) in the user's terms."""
import warnings

import numpy as np
import pytest

from graphc import optimizers
from graphc.layers import Concatenate, Dense, Embedding, Flatten, Input
from graphc.models import Model, Sequential

X = np.random.RandomState(0).rand(8, 3).astype('float32')
Y = np.random.RandomState(1).rand(8, 2).astype('float32')


def _mlp():
    model = Sequential([Dense(2, input_shape=(3,))])
    model.compile('sgd', 'mse')
    return model


CALLS = {
    'fit': lambda m, **kw: m.fit(X, Y, verbose=0, **kw),
    'evaluate': lambda m, **kw: m.evaluate(X, Y, verbose=0, **kw),
    'predict': lambda m, **kw: m.predict(X, **kw),
}


@pytest.mark.parametrize('call', sorted(CALLS))
@pytest.mark.parametrize('batch_size', [0, -4, 2.5, True])
def test_batch_size_must_be_a_positive_integer(call, batch_size):
    with pytest.raises(ValueError, match=rf'{call}: batch_size must be a positive integer, '
                                         rf'got {batch_size!r}'):
        CALLS[call](_mlp(), batch_size=batch_size)


def test_steps_must_be_positive_integers():
    model = _mlp()
    with pytest.raises(ValueError, match='predict: steps must be a positive integer'):
        model.predict(X, steps=0)
    with pytest.raises(ValueError, match='fit: steps_per_epoch must be a positive integer'):
        model.fit(X, Y, steps_per_epoch=-1, verbose=0)


def test_a_float_step_count_counts_as_the_next_integer_as_in_keras_2():
    """Keras 2's own documentation writes ``steps_per_epoch=len(x_train) / 32``."""
    model = _mlp()
    seen = []

    def batches():
        while True:
            seen.append(1)
            yield X[:4], Y[:4]
    model.fit_generator(batches(), steps_per_epoch=len(X) / 3, epochs=1, verbose=0)
    assert len(seen) >= 3                       # 8 / 3 = 2.67 -> 3 steps
    out = model.predict_generator((X[:4] for _ in range(10)), steps=1.5)
    assert out.shape == (8, 2)                  # 1.5 -> 2 batches of 4
    for bad in (0.0, -1.5, float('nan')):
        with pytest.raises(ValueError, match='fit_generator: steps_per_epoch must be a '
                                             'positive integer'):
            model.fit_generator(batches(), steps_per_epoch=bad, verbose=0)


@pytest.mark.parametrize('kwargs, message', [
    ({'epochs': -1}, 'fit: epochs must be >= 0, got -1'),
    ({'epochs': 2.5}, r'fit: epochs must be an integer \(a number of epochs\), got 2.5'),
    ({'epochs': '3'}, "fit: epochs must be an integer"),
    ({'epochs': 3, 'initial_epoch': -2}, 'fit: initial_epoch must be >= 0, got -2'),
])
def test_bad_epochs_are_clear_errors(kwargs, message):
    model = _mlp()
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=message):
        model.fit(X, Y, verbose=0, **kwargs)
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)


def test_float_epochs_with_an_integer_value_are_accepted():
    history = _mlp().fit(X, Y, epochs=2.0, verbose=0)
    assert len(history.history['loss']) == 2
    assert _mlp().fit(X, Y, epochs=np.float32(1), verbose=0).epoch == [0]


OPTIMIZERS = ['SGD', 'RMSprop', 'Adagrad', 'Adadelta', 'Adam', 'Adamax', 'Nadam']


@pytest.mark.parametrize('name', OPTIMIZERS)
@pytest.mark.parametrize('lr', [float('nan'), float('inf'), -0.01])
def test_optimizer_rejects_nan_inf_or_negative_learning_rate(name, lr):
    cls = getattr(optimizers, name)
    message = 'lr must be a finite number' if not np.isfinite(lr) else 'lr must be >= 0'
    with pytest.raises(ValueError, match=rf'{name}: {message}'):
        cls(lr=lr)
    with pytest.raises(ValueError, match=rf'{name}: {message}'):
        cls(learning_rate=lr)


def test_optimizer_checks_decay_and_clipping_and_accepts_zero_lr():
    with pytest.raises(ValueError, match='SGD: decay must be >= 0'):
        optimizers.SGD(decay=-1e-3)
    with pytest.raises(ValueError, match='Adam: clipnorm must be a finite number'):
        optimizers.Adam(clipnorm=float('nan'))
    with pytest.raises(ValueError, match='SGD: clipvalue must be >= 0'):
        optimizers.SGD(clipvalue=-1.0)
    with pytest.raises(TypeError, match="SGD: lr must be a number, got 'fast'"):
        optimizers.SGD(lr='fast')
    optimizers.SGD(lr=0.0)          # a frozen model: allowed, as Keras


def _embedding_model():
    model = Sequential([Embedding(5, 2, input_length=3, name='words'), Flatten(), Dense(1)])
    model.compile('sgd', 'mse')
    return model


@pytest.mark.parametrize('bad, why', [(-1, 'negative indices are not allowed'),
                                      (5, r'input_dim=5 entries \(largest index 4\)')])
def test_embedding_index_out_of_range_is_an_error_naming_the_layer(bad, why):
    model = _embedding_model()
    idx = np.array([[0, 1, 2], [3, bad, 4]])
    before = [w.copy() for w in model.get_weights()]
    message = rf"Embedding layer 'words'.*index {bad} at position \(1, 1\).*\[0, 5\).*{why}"
    with pytest.raises(ValueError, match=message):
        model.fit(idx, np.zeros((2, 1)), verbose=0)
    with pytest.raises(ValueError, match=message):
        model.predict(idx)
    with pytest.raises(ValueError, match=message):
        model.evaluate(idx.astype('float32'), np.zeros((2, 1)), verbose=0)
    with pytest.raises(ValueError, match=message):
        model.train_on_batch(idx, np.zeros((2, 1)))
    for w, b in zip(model.get_weights(), before):      # no step ran
        np.testing.assert_array_equal(w, b)
    assert model.predict(np.array([[0, 1, 4]])).shape == (1, 1)


def test_embedding_check_in_a_functional_model_with_two_inputs():
    a, b = Input(shape=(2,), name='dense_in'), Input(shape=(2,), name='tokens')
    e = Flatten()(Embedding(4, 3, name='emb')(b))
    model = Model([a, b], Dense(1)(Concatenate()([a, e])))
    x_dense = np.full((1, 2), -7.0, 'float32')          # negative, but not an index
    assert model.predict([x_dense, np.array([[0, 3]])]).shape == (1, 1)
    with pytest.raises(ValueError, match="Embedding layer 'emb': its input 'tokens'"):
        model.predict([x_dense, np.array([[0, 4]])])
    with pytest.raises(ValueError, match="'emb'.*holds NaN or Inf"):
        model.predict([x_dense, np.array([[0, np.nan]])])


def test_predict_on_an_empty_batch_returns_empty_arrays():
    out = _mlp().predict(np.zeros((0, 3), 'float32'))
    assert isinstance(out, np.ndarray) and out.shape == (0, 2) and out.dtype == np.float32
    x = Input(shape=(3,))
    two = Model(x, [Dense(2)(x), Dense(4)(x)])
    outs = two.predict(np.zeros((0, 3), 'float32'))
    assert [o.shape for o in outs] == [(0, 2), (0, 4)]
    assert _mlp().predict_on_batch(np.zeros((0, 3), 'float32')).shape == (0, 2)


@pytest.mark.parametrize('call', ['fit', 'evaluate', 'train_on_batch', 'test_on_batch'])
def test_empty_batch_is_an_error_for_fit_and_evaluate(call):
    model = _mlp()
    kwargs = {'verbose': 0} if call in ('fit', 'evaluate') else {}
    with pytest.raises(ValueError, match=rf"{call}: x \(input '.*'\) has no samples "
                                         rf"\(shape \(0, 3\)\)"):
        getattr(model, call)(np.zeros((0, 3), 'float32'), np.zeros((0, 2), 'float32'),
                             **kwargs)


def _caught(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        fn()
    # numpy's own 'invalid value' warnings from the reference interpreter are not ours
    return [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)
            and str(w.message).startswith(('fit:', 'evaluate:'))]


def test_nan_or_inf_in_the_data_warns_once_per_call_naming_the_array():
    model = _mlp()
    x_nan = X.copy()
    x_nan[0, 0] = x_nan[3, 1] = np.nan
    y_inf = Y.copy()
    y_inf[2, 1] = -np.inf
    got = _caught(lambda: model.fit(x_nan, y_inf, epochs=3, batch_size=2, verbose=0))
    assert len(got) == 1                                 # once, not per batch or epoch
    assert "fit: x (input 'dense_" in got[0] and '2 NaN values' in got[0]
    assert "y (target of output 'dense_" in got[0] and '1 Inf value' in got[0]
    assert 'turn NaN' in got[0]

    got = _caught(lambda: model.evaluate(X, y_inf, verbose=0))
    assert len(got) == 1 and got[0].startswith('evaluate: y (target') and 'x (' not in got[0]

    got = _caught(lambda: model.fit(X, Y, validation_data=(x_nan, Y), verbose=0))
    assert len(got) == 1 and got[0].startswith("fit: validation x (input")

    assert _caught(lambda: model.fit(X, Y, verbose=0)) == []
    assert _caught(lambda: model.evaluate(X, Y, verbose=0)) == []
