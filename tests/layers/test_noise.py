"""Noise layers: identity at test time, the right noise statistics in training, structured
masks for the spatial dropouts, configs."""
import numpy as np
import pytest

from graphc import layers as L

from ._helpers import apply, roundtrip

RNG = np.random.default_rng(5)


@pytest.mark.parametrize('layer', [L.GaussianNoise(0.5), L.GaussianDropout(0.3),
                                   L.AlphaDropout(0.2), L.SpatialDropout1D(0.5)])
def test_identity_at_test_time(layer):
    x = RNG.standard_normal((4, 5, 6)).astype('float32')
    y, _ = apply(layer, x, training=False)
    np.testing.assert_array_equal(y, x)


def test_gaussian_noise_adds_noise_of_stddev_in_training():
    x = RNG.standard_normal((50, 40)).astype('float32')
    y, sym = apply(L.GaussianNoise(0.5), x, training=True)
    noise = y - x
    assert abs(noise.mean()) < 0.05
    assert abs(noise.std() - 0.5) < 0.05
    assert sym._uses_learning_phase


def test_gaussian_dropout_multiplies_by_noise_around_one():
    x = np.full((50, 40), 2.0, dtype='float32')
    y, _ = apply(L.GaussianDropout(0.2), x, training=True)
    ratio = y / x
    assert abs(ratio.mean() - 1.0) < 0.05
    assert abs(ratio.std() - np.sqrt(0.2 / 0.8)) < 0.05


def test_alpha_dropout_keeps_mean_and_variance():
    rate = 0.2
    x = RNG.standard_normal((100, 100)).astype('float32')
    y, _ = apply(L.AlphaDropout(rate), x, training=True)
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * rate
    dropped = np.isclose(y, a * alpha_p + b, atol=1e-5)
    assert abs(dropped.mean() - rate) < 0.03
    np.testing.assert_allclose(y[~dropped], a * x[~dropped] + b, rtol=1e-4, atol=1e-5)
    assert abs(y.mean()) < 0.05 and abs(y.std() - 1.0) < 0.05


def test_alpha_dropout_noise_shape_shares_the_mask():
    x = RNG.standard_normal((6, 8, 5)).astype('float32') + 3.0
    y, _ = apply(L.AlphaDropout(0.5, noise_shape=(None, 1, 5)), x, training=True)
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((0.5) * (1 + 0.5 * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * 0.5
    dropped = np.isclose(y, a * alpha_p + b, atol=1e-5)
    assert (dropped == dropped[:, :1, :]).all()       # the same for every step


def test_spatial_dropout1d_drops_whole_channels():
    x = np.ones((20, 6, 8), dtype='float32')
    y, _ = apply(L.SpatialDropout1D(0.5), x, training=True)
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert (y == y[:, :1, :]).all()
    assert 0.3 < (y == 0).mean() < 0.7


@pytest.mark.parametrize('fmt', ['channels_last', 'channels_first'])
def test_spatial_dropout2d_drops_whole_feature_maps(fmt):
    x = np.ones((20, 4, 4, 6), dtype='float32')
    if fmt == 'channels_first':
        x = np.moveaxis(x, -1, 1)
    y, _ = apply(L.SpatialDropout2D(0.5, data_format=fmt), x, training=True)
    assert set(np.unique(y)) <= {0.0, 2.0}
    spatial = (1, 2) if fmt == 'channels_last' else (2, 3)
    assert (y.min(axis=spatial) == y.max(axis=spatial)).all()
    assert 0.3 < (y == 0).mean() < 0.7


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"gaussian_dropout_\d+.*rate"):
        L.GaussianDropout(1.5)
    with pytest.raises(ValueError, match=r"data_format"):
        L.SpatialDropout2D(0.1, data_format='channels')
    with pytest.raises(ValueError, match=r"ndim=3"):
        L.SpatialDropout1D(0.1)(L.Input(shape=(3,)))


@pytest.mark.parametrize('layer', [L.GaussianNoise(0.2), L.GaussianDropout(0.1),
                                   L.AlphaDropout(0.1, noise_shape=(None, 1, 3), seed=2),
                                   L.SpatialDropout1D(0.3),
                                   L.SpatialDropout2D(0.2, data_format='channels_first')])
def test_config_round_trip(layer):
    roundtrip(layer)


@pytest.mark.parametrize('fmt', ['channels_last', 'channels_first'])
def test_spatial_dropout3d_drops_whole_feature_volumes(fmt):
    x = np.ones((20, 3, 2, 3, 6), dtype='float32')
    if fmt == 'channels_first':
        x = np.moveaxis(x, -1, 1)
    layer = L.SpatialDropout3D(0.5, data_format=fmt)
    y, _ = apply(layer, x, training=True)
    assert set(np.unique(y)) <= {0.0, 2.0}
    spatial = (1, 2, 3) if fmt == 'channels_last' else (2, 3, 4)
    assert (y.min(axis=spatial) == y.max(axis=spatial)).all()
    assert 0.3 < (y == 0).mean() < 0.7
    np.testing.assert_array_equal(apply(layer, x, training=False)[0], x)
    roundtrip(layer)
    with pytest.raises(ValueError, match=r"ndim=5"):
        L.SpatialDropout3D(0.1)(L.Input(shape=(3, 3, 3)))
