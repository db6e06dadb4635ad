"""Pooling layers: values against numpy windows, both data formats, gradients, configs."""
import numpy as np
import pytest

from graphc import layers as L

from ._helpers import apply, check_grads, floatx, roundtrip

RNG = np.random.default_rng(2)


def np_pool(x, size, strides, padding, mode):
    """Channels-last pooling over the spatial axes; 'same' pads with -inf / excludes pads."""
    rank = x.ndim - 2
    pads = []
    for a in range(rank):
        n = x.shape[1 + a]
        if padding == 'same':
            out = -(-n // strides[a])
            total = max((out - 1) * strides[a] + size[a] - n, 0)
            pads.append((total // 2, total - total // 2))
        else:
            pads.append((0, 0))
    fill = -np.inf if mode == 'max' else np.nan
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)], constant_values=fill)
    out_sp = [(xp.shape[1 + a] - size[a]) // strides[a] + 1 for a in range(rank)]
    y = np.zeros((x.shape[0],) + tuple(out_sp) + (x.shape[-1],))
    for idx in np.ndindex(*out_sp):
        window = xp[(slice(None),) + tuple(slice(i * s, i * s + k)
                                           for i, s, k in zip(idx, strides, size))]
        axes = tuple(range(1, 1 + rank))
        y[(slice(None),) + idx] = window.max(axis=axes) if mode == 'max' \
            else np.nanmean(window, axis=axes)
    return y


@pytest.mark.parametrize('cls,mode', [(L.MaxPooling2D, 'max'), (L.AveragePooling2D, 'avg')])
@pytest.mark.parametrize('size,strides,padding', [
    ((2, 2), None, 'valid'), ((3, 2), (2, 1), 'same'), ((2, 3), (1, 2), 'valid'),
    ((3, 3), (2, 2), 'same')])
def test_pool2d_matches_numpy_in_both_formats(cls, mode, size, strides, padding):
    x = RNG.standard_normal((2, 5, 6, 3)).astype('float32')
    y, _ = apply(cls(size, strides, padding, data_format='channels_last'), x)
    want = np_pool(x, size, strides or size, padding, mode)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
    y1, _ = apply(cls(size, strides, padding, data_format='channels_first'),
                  np.moveaxis(x, -1, 1))
    np.testing.assert_allclose(y1, np.moveaxis(want, -1, 1), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('cls,mode', [(L.MaxPooling1D, 'max'), (L.AveragePooling1D, 'avg')])
@pytest.mark.parametrize('size,strides,padding', [(2, None, 'valid'), (3, 2, 'same'),
                                                  (3, 1, 'valid')])
def test_pool1d_matches_numpy_in_both_formats(cls, mode, size, strides, padding):
    x = RNG.standard_normal((2, 7, 3)).astype('float32')
    y, _ = apply(cls(size, strides, padding), x)
    want = np_pool(x, (size,), (strides or size,), padding, mode)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
    y1, _ = apply(cls(size, strides, padding, data_format='channels_first'),
                  np.swapaxes(x, 1, 2))
    np.testing.assert_allclose(y1, np.swapaxes(want, 1, 2), rtol=1e-5, atol=1e-6)


def test_global_pooling_matches_numpy():
    x = RNG.standard_normal((2, 4, 5, 3)).astype('float32')
    for cls, fn in ((L.GlobalMaxPooling2D, np.max), (L.GlobalAveragePooling2D, np.mean)):
        y, _ = apply(cls(), x)
        np.testing.assert_allclose(y, fn(x, axis=(1, 2)), rtol=1e-5)
        y, _ = apply(cls(data_format='channels_first'), x)
        np.testing.assert_allclose(y, fn(x, axis=(2, 3)), rtol=1e-5)
    for cls, fn in ((L.GlobalMaxPooling1D, np.max), (L.GlobalAveragePooling1D, np.mean)):
        y, _ = apply(cls(), x[:, :, 0])
        np.testing.assert_allclose(y, fn(x[:, :, 0], axis=1), rtol=1e-5)
        y, _ = apply(cls(data_format='channels_first'), x[:, :, 0])
        np.testing.assert_allclose(y, fn(x[:, :, 0], axis=2), rtol=1e-5)


def test_global_average_pooling1d_averages_only_unmasked_steps():
    from graphc import backend as K
    ids = np.array([[3, 1, 0, 0], [2, 2, 2, 1]])
    inp = L.Input(shape=(4,), dtype='int32')
    emb = L.Embedding(5, 3, mask_zero=True)
    y = L.GlobalAveragePooling1D()(emb(inp))
    out = K.function([inp], [y], mode='reference')([ids])[0]
    table = emb.get_weights()[0]
    np.testing.assert_allclose(out[0], table[[3, 1]].mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(out[1], table[[2, 2, 2, 1]].mean(axis=0), rtol=1e-5)


@pytest.mark.parametrize('make,shape', [
    (lambda: L.MaxPooling2D((2, 2), padding='same'), (1, 3, 4, 2)),
    (lambda: L.AveragePooling2D((2, 3), strides=1, padding='same'), (1, 3, 4, 2)),
    (lambda: L.MaxPooling1D(2, data_format='channels_first'), (2, 2, 4)),
    (lambda: L.AveragePooling1D(3, strides=2), (2, 7, 2)),
    (lambda: L.GlobalAveragePooling2D(), (2, 3, 3, 2)),
    (lambda: L.GlobalMaxPooling1D(), (2, 4, 3)),
])
def test_pooling_gradients_match_finite_differences(make, shape):
    with floatx('float64'):
        check_grads(make(), RNG.standard_normal(shape), wrt_weights=False)


@pytest.mark.parametrize('layer', [
    L.MaxPooling1D(3, 2, 'same'), L.AveragePooling1D(data_format='channels_first'),
    L.MaxPooling2D((2, 3), (1, 2)), L.AveragePooling2D(padding='same',
                                                       data_format='channels_first'),
    L.GlobalMaxPooling1D(), L.GlobalAveragePooling1D(), L.GlobalMaxPooling2D(),
    L.GlobalAveragePooling2D(data_format='channels_first')])
def test_config_round_trip(layer):
    roundtrip(layer)


def test_pooling_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"pool_size"):
        L.MaxPooling2D((0, 2))
    with pytest.raises(ValueError, match=r"padding.*'valid', 'same'"):
        L.AveragePooling2D(padding='full')
    with pytest.raises(ValueError, match=r"global_max_pooling2d.*ndim=4"):
        L.GlobalMaxPooling2D()(L.Input(shape=(3, 3)))
