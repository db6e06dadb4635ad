"""Core layers: outputs against numpy, shapes, masks, errors, config round trips."""
import json

import numpy as np
import pytest

from graphc import backend as K
from graphc.layers import (Activation, ActivityRegularization, Dense, Dropout, Embedding,
                           Flatten, Input, Lambda, Masking, Permute, RepeatVector, Reshape,
                           deserialize, serialize)
from graphc.models import Model, Sequential
from tests.engine.conftest import reference_executor  # noqa: F401 - autouse fixture


def _run(layer, x, input_shape=None):
    inp = Input(shape=input_shape or x.shape[1:])
    model = Model(inp, layer(inp))
    return model.predict(x)


def _round_trip(layer, x, **deserialize_kwargs):
    """Same output after serialize -> JSON -> deserialize with copied weights."""
    want = _run(layer, x)
    clone = deserialize(json.loads(json.dumps(serialize(layer))), **deserialize_kwargs)
    inp = Input(shape=x.shape[1:])
    model = Model(inp, clone(inp))
    if layer.weights:
        clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(model.predict(x), want, rtol=1e-6)
    assert type(clone) is type(layer)


def test_dense_matches_numpy_for_every_argument():
    x = np.random.rand(4, 3).astype('float32')
    layer = Dense(2, activation='relu', use_bias=True, kernel_initializer='ones',
                  bias_initializer='ones', kernel_regularizer='l2', bias_regularizer='l1',
                  activity_regularizer='l2', kernel_constraint='non_neg',
                  bias_constraint='max_norm', name='d')
    out = _run(layer, x)
    np.testing.assert_allclose(out, np.maximum(x @ np.ones((3, 2)) + 1, 0), rtol=1e-6)
    assert len(layer.losses) == 3
    config = layer.get_config()
    for key in ('units', 'activation', 'use_bias', 'kernel_initializer', 'bias_initializer',
                'kernel_regularizer', 'bias_regularizer', 'activity_regularizer',
                'kernel_constraint', 'bias_constraint'):
        assert key in config
    _round_trip(layer, x)


def test_dense_on_3d_input_and_without_bias():
    layer = Dense(5, use_bias=False)
    x = np.random.rand(2, 3, 4).astype('float32')
    out = _run(layer, x)
    assert out.shape == (2, 3, 5) and len(layer.weights) == 1
    np.testing.assert_allclose(out, x @ layer.get_weights()[0], rtol=1e-5)
    with pytest.raises(ValueError, match='units must be a positive integer'):
        Dense(0)


def test_activation():
    x = np.random.randn(3, 4).astype('float32')
    np.testing.assert_allclose(_run(Activation('tanh'), x), np.tanh(x), rtol=1e-5)
    _round_trip(Activation('relu'), x)


def test_dropout_training_only_and_rate_errors():
    x = np.ones((8, 100), 'float32')
    layer = Dropout(0.5, seed=3)
    inp = Input(shape=(100,))
    out = layer(inp)
    f = K.function([inp, K.learning_phase()], [out])
    np.testing.assert_array_equal(f([x, 0])[0], x)
    train = f([x, 1])[0]
    assert set(np.unique(train)) <= {0., 2.}
    assert 0.3 < (train == 0).mean() < 0.7
    for bad in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r'rate must be in \[0, 1\)'):
            Dropout(bad)
    np.testing.assert_array_equal(_run(Dropout(0.), x), x)
    _round_trip(Dropout(0.3, noise_shape=(None, 1), seed=1), x)


def test_dropout_noise_shape_shares_mask():
    inp = Input(shape=(4, 6))
    out = Dropout(0.5, noise_shape=(None, 1, 6), seed=0)(inp, training=True)
    y = K.function([inp], [out])([np.ones((3, 4, 6), 'float32')])[0]
    assert (y == y[:, :1, :]).all()      # the same mask at every timestep


def test_flatten_reshape_permute_repeat():
    x = np.arange(24, dtype='float32').reshape(2, 3, 4)
    np.testing.assert_array_equal(_run(Flatten(), x), x.reshape(2, 12))
    np.testing.assert_array_equal(_run(Reshape((4, 3)), x), x.reshape(2, 4, 3))
    np.testing.assert_array_equal(_run(Reshape((-1, 2)), x), x.reshape(2, 6, 2))
    np.testing.assert_array_equal(_run(Permute((2, 1)), x), x.transpose(0, 2, 1))
    v = np.arange(6, dtype='float32').reshape(2, 3)
    np.testing.assert_array_equal(_run(RepeatVector(4), v), np.repeat(v[:, None], 4, axis=1))
    inp = Input(shape=(3, 4))
    assert Reshape((-1, 2))(inp)._keras_shape == (None, 6, 2)
    with pytest.raises(ValueError, match='total size of the new array must be unchanged'):
        Reshape((5, 5))(inp)
    with pytest.raises(ValueError, match='permutation'):
        Permute((0, 1))
    for layer in (Flatten(), Reshape((4, 3)), Permute((2, 1))):
        _round_trip(layer, x)
    _round_trip(RepeatVector(2), v)


def test_flatten_needs_known_shape():
    with pytest.raises(ValueError, match='not fully defined'):
        Flatten()(Input(shape=(None, 3)))


def test_lambda_shapes_args_and_config():
    x = np.random.rand(2, 3).astype('float32')
    np.testing.assert_allclose(_run(Lambda(lambda t: t ** 2), x), x ** 2, rtol=1e-6)
    inp = Input(shape=(3,))
    y = Lambda(lambda t, k: t[:, :k], arguments={'k': 2})(inp)
    assert y._keras_shape == (None, 2)
    y = Lambda(lambda t: t * 2, output_shape=(3,))(inp)
    assert y._keras_shape == (None, 3)
    _round_trip(Lambda(lambda t: t * 3 + 1), x, safe_mode=False)   # bytecode: opt in


def test_activity_regularization_adds_loss():
    x = Input(shape=(2,))
    model = Model(x, ActivityRegularization(l1=0.5, l2=0.25)(x))
    model.compile('sgd', 'mse')
    data = np.array([[1., -2.]], 'float32')
    # loss = mse(data, data)=0  + 0.5 * sum|x| + 0.25 * sum x^2 over the batch
    assert model.test_on_batch(data, data) == pytest.approx(0.5 * 3 + 0.25 * 5)


def test_masking_masks_the_loss():
    x = Input(shape=(3, 2))
    model = Model(x, Dense(1, kernel_initializer='ones')(Masking(0.)(x)))
    model.compile('sgd', 'mse')
    data = np.array([[[1., 1.], [0., 0.], [2., 0.]]], 'float32')
    target = np.zeros((1, 3, 1), 'float32')
    # masked step 1 is left out: mean over steps (0, 2) of (2, 2)**2 -> (4 + 4)/3 / (2/3)
    assert model.test_on_batch(data, target) == pytest.approx(4.0)
    out = Masking(0.)(x)
    assert out._keras_mask is not None
    _round_trip(Masking(0.5), data)


def test_embedding_lookup_mask_and_shapes():
    layer = Embedding(10, 4, input_length=3, mask_zero=True)
    idx = np.array([[1, 2, 0], [9, 0, 0]])
    out = _run(layer, idx, input_shape=(3,))
    np.testing.assert_allclose(out, layer.get_weights()[0][idx], rtol=1e-6)
    model = Sequential([Embedding(20, 5, input_length=4), Flatten(), Dense(1)])
    assert model.output_shape == (None, 1)
    inp = Input(shape=(3,))
    assert layer(inp)._keras_mask is not None
    _round_trip(Embedding(10, 2), idx.astype('float32'))
