"""Advanced activation layers: values against numpy, gradients, configs."""
import numpy as np
import pytest

from graphc import layers as L

from ._helpers import apply, check_grads, floatx, roundtrip

RNG = np.random.default_rng(4)
X = RNG.standard_normal((3, 4, 5)).astype('float32') * 2


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize('layer,fn', [
    (L.LeakyReLU(), lambda x: np.where(x >= 0, x, 0.3 * x)),
    (L.LeakyReLU(alpha=0.05), lambda x: np.where(x >= 0, x, 0.05 * x)),
    (L.ELU(alpha=0.7), lambda x: np.where(x > 0, x, 0.7 * (np.exp(x) - 1))),
    (L.ThresholdedReLU(theta=0.5), lambda x: np.where(x > 0.5, x, 0)),
    (L.Softmax(), lambda x: _softmax(x, -1)),
    (L.Softmax(axis=1), lambda x: _softmax(x, 1)),
    (L.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2),
     lambda x: np.where(x >= 0.2, np.minimum(x, 1.5), 0.1 * (x - 0.2))),
])
def test_activation_layers_match_numpy(layer, fn):
    y, _ = apply(layer, X)
    np.testing.assert_allclose(y, fn(X), rtol=1e-5, atol=1e-6)


def test_prelu_learns_one_alpha_per_element_or_shared():
    layer = L.PReLU(alpha_initializer='ones')
    apply(layer, X)
    alpha = RNG.uniform(0, 1, (4, 5)).astype('float32')
    layer.set_weights([alpha])
    y, _ = apply(layer, X)
    np.testing.assert_allclose(y, np.where(X >= 0, X, alpha * X), rtol=1e-5, atol=1e-6)

    shared = L.PReLU(shared_axes=[1])
    apply(shared, X)
    assert shared.get_weights()[0].shape == (1, 5)
    a = RNG.uniform(0, 1, (1, 5)).astype('float32')
    shared.set_weights([a])
    y, _ = apply(shared, X)
    np.testing.assert_allclose(y, np.where(X >= 0, X, a * X), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('make', [
    lambda: L.LeakyReLU(0.2), lambda: L.ELU(), lambda: L.Softmax(axis=1),
    lambda: L.PReLU(alpha_initializer='ones', shared_axes=[2]),
    lambda: L.ThresholdedReLU(0.3)])
def test_gradients(make):
    with floatx('float64'):
        x = RNG.standard_normal((2, 3, 4))
        x[np.abs(x) < 0.05] = 0.5      # keep away from the kinks
        x[np.abs(x - 0.3) < 0.05] = 0.5
        check_grads(make(), x)


@pytest.mark.parametrize('layer', [L.LeakyReLU(0.1), L.PReLU(shared_axes=[1, 2]), L.ELU(0.5),
                                   L.ThresholdedReLU(2.0), L.Softmax(axis=1),
                                   L.ReLU(max_value=6.0)])
def test_config_round_trip(layer):
    clone = roundtrip(layer)
    keys = ['theta', 'axis', 'max_value', 'shared_axes']
    if not isinstance(layer, L.PReLU):      # PReLU's alpha is a weight
        keys.append('alpha')
    for key in keys:
        if hasattr(layer, key):
            assert np.all(np.asarray(getattr(clone, key)) == np.asarray(getattr(layer, key)))
