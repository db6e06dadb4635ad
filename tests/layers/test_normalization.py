"""BatchNormalization: training vs inference, moving statistics, the feature axis,
gradients, configs, and updates applied by a training step."""
import numpy as np
import pytest

from graphc import backend as K
from graphc import layers as L

from ._helpers import apply, check_grads, floatx, reference_executor, roundtrip

RNG = np.random.default_rng(6)


def test_training_uses_batch_statistics_and_updates_moving_ones():
    x = (RNG.standard_normal((8, 3)) * [1, 2, 3] + [0, 5, -2]).astype('float32')
    layer = L.BatchNormalization(momentum=0.9, epsilon=1e-3)
    y, _ = apply(layer, x, training=True)
    gamma, beta = np.array([1.5, 0.5, 2.0]), np.array([0.1, -0.2, 0.3])
    mm, mv = layer.get_weights()[2:]
    np.testing.assert_allclose(mm, 0.1 * x.mean(0), rtol=1e-5)        # updated by the call
    n = x.shape[0]
    unbiased = x.var(0) * n / (n - 1 - 1e-3)
    np.testing.assert_allclose(mv, 0.9 + 0.1 * unbiased, rtol=1e-5)
    np.testing.assert_allclose(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3), rtol=1e-4,
                               atol=1e-5)

    layer.set_weights([gamma, beta, mm, mv])
    y, _ = apply(layer, x, training=True)
    np.testing.assert_allclose(y, gamma * (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3) + beta,
                               rtol=1e-4, atol=1e-5)
    mm2, mv2 = layer.get_weights()[2:]
    np.testing.assert_allclose(mm2, 0.9 * mm + 0.1 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(mv2, 0.9 * mv + 0.1 * unbiased, rtol=1e-5)


def test_inference_uses_moving_statistics_and_does_not_update():
    x = RNG.standard_normal((5, 4)).astype('float32')
    layer = L.BatchNormalization(epsilon=0.01)
    apply(layer, x, training=False)
    w = [RNG.uniform(0.5, 2, 4), RNG.standard_normal(4), RNG.standard_normal(4),
         RNG.uniform(0.5, 2, 4)]
    layer.set_weights(w)
    y, _ = apply(layer, x, training=False)
    gamma, beta, mm, mv = w
    np.testing.assert_allclose(y, gamma * (x - mm) / np.sqrt(mv + 0.01) + beta, rtol=1e-4,
                               atol=1e-5)
    for got, want in zip(layer.get_weights(), w):
        np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize('axis', [1, -1])
def test_feature_axis_of_images(axis):
    x = RNG.standard_normal((4, 3, 5, 5)).astype('float32') * 2 + 1
    layer = L.BatchNormalization(axis=axis, center=False, scale=False)
    y, _ = apply(layer, x, training=True)
    ax = axis % 4
    red = tuple(i for i in range(4) if i != ax)
    want = (x - x.mean(red, keepdims=True)) / np.sqrt(x.var(red, keepdims=True) + 1e-3)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)
    assert len(layer.weights) == 2 and layer.weights[0].shape == (x.shape[ax],)
    np.testing.assert_allclose(layer.get_weights()[0], 0.01 * x.mean(red), rtol=1e-4)


def test_training_flag_selects_the_branch_statically():
    x = RNG.standard_normal((6, 2)).astype('float32') + 3
    layer = L.BatchNormalization()
    inp = L.Input(shape=(2,))
    y_train = layer(inp, training=True)
    y_test = layer(inp, training=False)
    f = K.function([inp], [y_train, y_test], mode='reference')
    a, b = f([x])
    np.testing.assert_allclose(a.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(b, x / np.sqrt(1 + 1e-3), rtol=1e-5)


@pytest.mark.parametrize('axis,shape', [(-1, (5, 3)), (1, (4, 2, 3))])
def test_gradients_in_training_mode(axis, shape):
    with floatx('float64'):
        layer = L.BatchNormalization(axis=axis, gamma_initializer='random_uniform',
                                     beta_initializer='random_uniform')
        check_grads(layer, RNG.standard_normal(shape), training=True, tol=1e-4)


def test_gradients_in_inference_mode():
    with floatx('float64'):
        from graphc.initializers import RandomUniform
        layer = L.BatchNormalization(moving_variance_initializer=RandomUniform(0.5, 2.0),
                                     moving_mean_initializer='random_normal')
        check_grads(layer, RNG.standard_normal((3, 4)), training=False)


def test_fit_updates_the_moving_statistics():
    from graphc.models import Sequential
    x = (RNG.standard_normal((64, 3)) * 2 + 4).astype('float32')
    y = (x.sum(1, keepdims=True) > 12).astype('float32')
    model = Sequential([L.BatchNormalization(momentum=0.5, input_shape=(3,)),
                        L.Dense(1, activation='sigmoid')])
    with reference_executor():
        model.compile('sgd', 'binary_crossentropy')
        model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    mm, mv = model.layers[0].get_weights()[2:]
    np.testing.assert_allclose(mm, x.mean(0), atol=0.6)
    np.testing.assert_allclose(mv, x.var(0), rtol=0.5)
    assert model.layers[0].non_trainable_weights[0] is model.layers[0].moving_mean


def test_errors_and_config():
    with pytest.raises(ValueError, match=r"batch_normalization_\d+.*axis 2"):
        L.BatchNormalization(axis=2)(L.Input(shape=(3,)))
    with pytest.raises(ValueError, match=r"defined dimension"):
        L.BatchNormalization()(L.Input(shape=(None,)))
    clone = roundtrip(L.BatchNormalization(axis=1, momentum=0.8, epsilon=1e-4, center=False,
                                           gamma_regularizer='l2',
                                           moving_variance_initializer='zeros'))
    assert clone.axis == 1 and clone.momentum == 0.8 and not clone.center
