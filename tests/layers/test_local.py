"""LocallyConnected1D / LocallyConnected2D: values against numpy loops written from Keras 2's
formula (one weight matrix per output position) in both data formats, Keras 2's weight
shapes and row order, gradients against central differences, config round trips, errors
naming the layer, and native compilation."""
import numpy as np
import pytest

from graphc import backend as K
from graphc import layers as L

from ._helpers import apply, check_grads, floatx, roundtrip

RNG = np.random.default_rng(5)
FORMATS = ['channels_last', 'channels_first']


def np_local1d(x, k, b, kernel_size, stride, fmt):
    """x (N, steps, C) channels_last; rows of k[p] in Keras 2's order: (tap, channel) for
    channels_last, (channel, tap) for channels_first; bias added as Keras 2's bias_add."""
    length = k.shape[0]
    y = np.zeros((x.shape[0], length, k.shape[2]))
    for p in range(length):
        patch = x[:, p * stride:p * stride + kernel_size, :]            # (N, k, C)
        if fmt == 'channels_first':
            patch = patch.transpose(0, 2, 1)                            # (N, C, k)
        y[:, p] = patch.reshape(x.shape[0], -1) @ k[p]
    if b is None:
        return y
    if fmt == 'channels_last':
        return y + b
    return y + b.reshape(b.shape[1], b.shape[0]).T                      # reshaped, not .T


def np_local2d(x, k, b, kernel_size, strides, fmt):
    """x (N, H, W, C) channels_last; rows (kh, kw, C) or (C, kh, kw) as Keras 2."""
    kh, kw = kernel_size
    rows = (x.shape[1] - kh) // strides[0] + 1
    cols = (x.shape[2] - kw) // strides[1] + 1
    y = np.zeros((x.shape[0], rows, cols, k.shape[2]))
    for i in range(rows):
        for j in range(cols):
            patch = x[:, i * strides[0]:i * strides[0] + kh, j * strides[1]:j * strides[1] + kw]
            if fmt == 'channels_first':
                patch = patch.transpose(0, 3, 1, 2)                     # (N, C, kh, kw)
            y[:, i, j] = patch.reshape(x.shape[0], -1) @ k[i * cols + j]
    if b is None:
        return y
    if fmt == 'channels_last':
        return y + b
    # Keras 2's bias_add for channels_first reshapes the (rows, cols, F) bias to (F, rows, cols)
    return y + np.moveaxis(b.reshape(b.shape[2], rows, cols), 0, -1)


@pytest.mark.parametrize('fmt', FORMATS)
@pytest.mark.parametrize('kernel_size,strides', [(3, 1), (2, 2), (1, 3)])
def test_locally_connected1d_matches_numpy(fmt, kernel_size, strides):
    x = RNG.standard_normal((2, 8, 3)).astype('float32')
    layer = L.LocallyConnected1D(4, kernel_size, strides=strides, data_format=fmt,
                                 activation='tanh', bias_initializer='glorot_uniform')
    y, _ = apply(layer, x if fmt == 'channels_last' else np.moveaxis(x, -1, 1))
    y = y if fmt == 'channels_last' else np.moveaxis(y, 1, -1)
    k, b = layer.get_weights()
    length = (8 - kernel_size) // strides + 1
    assert k.shape == (length, kernel_size * 3, 4) and b.shape == (length, 4)
    want = np.tanh(np_local1d(x, k, b, kernel_size, strides, fmt))
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('fmt', FORMATS)
@pytest.mark.parametrize('kernel_size,strides', [((2, 3), (1, 1)), ((3, 2), (2, 1)), (1, 2)])
def test_locally_connected2d_matches_numpy(fmt, kernel_size, strides):
    x = RNG.standard_normal((2, 5, 6, 3)).astype('float32')
    layer = L.LocallyConnected2D(2, kernel_size, strides=strides, data_format=fmt,
                                 bias_initializer='glorot_uniform')
    y, _ = apply(layer, x if fmt == 'channels_last' else np.moveaxis(x, -1, 1))
    y = y if fmt == 'channels_last' else np.moveaxis(y, 1, -1)
    k, b = layer.get_weights()
    ks = layer.kernel_size
    rows, cols = y.shape[1:3]
    assert k.shape == (rows * cols, ks[0] * ks[1] * 3, 2) and b.shape == (rows, cols, 2)
    want = np_local2d(x, k, b, ks, layer.strides, fmt)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)


def test_locally_connected_without_bias():
    x = RNG.standard_normal((2, 4, 4, 2)).astype('float32')
    layer = L.LocallyConnected2D(3, 2, use_bias=False)
    y, _ = apply(layer, x)
    (k,) = layer.get_weights()
    np.testing.assert_allclose(y, np_local2d(x, k, None, (2, 2), (1, 1), 'channels_last'),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('fmt', FORMATS)
def test_locally_connected_gradients_match_finite_differences(fmt):
    with floatx('float64'):
        check_grads(L.LocallyConnected1D(2, 2, strides=2, data_format=fmt,
                                         bias_initializer='glorot_uniform'),
                    RNG.standard_normal((2, 5, 3)))
        check_grads(L.LocallyConnected2D(2, (2, 2), strides=(1, 2), data_format=fmt,
                                         bias_initializer='glorot_uniform'),
                    RNG.standard_normal((2, 3, 4, 2)))


def test_configs_round_trip_with_keras_arguments():
    for layer in (L.LocallyConnected1D(3, 2, strides=2, activation='relu',
                                       kernel_regularizer='l2'),
                  L.LocallyConnected2D(4, (2, 3), data_format='channels_first', use_bias=False)):
        clone = roundtrip(layer)
        assert clone.get_config()['padding'] == 'valid'
    assert L.LocallyConnected1D(3, 2).get_config()['kernel_size'] == (2,)


def test_keras_weights_load_in_keras_shapes():
    # set_weights with arrays of Keras 2's shapes (what an HDF5 weight file holds)
    layer = L.LocallyConnected2D(2, 2, input_shape=(3, 3, 1))
    from graphc.models import Sequential
    model = Sequential([layer])
    k = RNG.standard_normal((4, 4, 2)).astype('float32')
    b = RNG.standard_normal((2, 2, 2)).astype('float32')
    model.set_weights([k, b])
    x = RNG.standard_normal((1, 3, 3, 1)).astype('float32')
    y, _ = apply(layer, x)
    np.testing.assert_allclose(y, np_local2d(x, k, b, (2, 2), (1, 1), 'channels_last'),
                               rtol=1e-5, atol=1e-6)


def test_errors_name_the_layer_and_the_shapes():
    layer = L.LocallyConnected2D(2, 2)
    with pytest.raises(ValueError) as err:
        layer(L.Input(shape=(4, 4)))
    assert layer.name in str(err.value) and 'ndim=4' in str(err.value) \
        and 'ndim=3' in str(err.value)
    layer = L.LocallyConnected1D(2, 2)
    with pytest.raises(ValueError) as err:
        layer(L.Input(shape=(4, 4, 1)))
    assert layer.name in str(err.value) and 'ndim=3' in str(err.value) \
        and 'ndim=4' in str(err.value)
    with pytest.raises(ValueError, match="only padding='valid'"):
        L.LocallyConnected1D(2, 3, padding='same')
    with pytest.raises(ValueError, match='must be static'):
        L.LocallyConnected1D(2, 3)(L.Input(shape=(None, 4)))
    with pytest.raises(ValueError, match='larger than the input'):
        L.LocallyConnected2D(2, 4)(L.Input(shape=(3, 5, 1)))


def test_locally_connected_ops_are_native():
    from graphc.codegen.cpu.lowering import native_supported
    from graphc.passes import optimize
    layers = [L.LocallyConnected1D(2, 2, data_format='channels_first'),
              L.LocallyConnected2D(2, 2, strides=(1, 2)),
              L.LocallyConnected2D(2, 2, data_format='channels_first')]
    x1, x2 = L.Input(shape=(3, 5)), L.Input(shape=(4, 5, 2))
    loss = K.sum(K.square(layers[0](x1))) + K.sum(K.square(layers[1](x2))) + \
        K.sum(K.square(layers[2](x2)))
    params = [x1, x2] + [w for layer in layers for w in layer.trainable_weights]
    f = K.function([x1, x2], K.gradients(loss, params) + [loss], mode='compiled')
    graph, _ = optimize(f.graph, f.pipeline)
    slow = sorted({n.op for n in graph.nodes()
                   if n.op not in ('input', 'variable', 'constant') and not native_supported(n)})
    assert slow == []
