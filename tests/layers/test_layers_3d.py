"""The 3-D layers (Conv3D, Conv3DTranspose, Max/AveragePooling3D, the global 3-D poolings,
UpSampling3D, ZeroPadding3D, Cropping3D) and SeparableConv1D: values against numpy loops
written from Keras 2's formulas in both data formats, gradients against central differences,
config round trips, errors naming the layer, and native compilation of a small 3-D model."""
import numpy as np
import pytest

from graphc import backend as K
from graphc import layers as L
from graphc.models import Sequential

from ._helpers import apply, check_grads, floatx, roundtrip

RNG = np.random.default_rng(3)


# -- numpy references (channels_last; TensorFlow's 'same' padding) ----------------------------

def _same_pads(n, eff, s):
    out = -(-n // s)
    total = max((out - 1) * s + eff - n, 0)
    return total // 2, total - total // 2


def np_conv(x, k, strides, padding, dilation):
    """N-D cross-correlation; k (*window, in, out)."""
    rank = x.ndim - 2
    pads = [(0, 0)]
    for a in range(rank):
        eff = (k.shape[a] - 1) * dilation[a] + 1
        pads.append(_same_pads(x.shape[1 + a], eff, strides[a]) if padding == 'same'
                    else (0, 0))
    xp = np.pad(x, pads + [(0, 0)])
    out = [(xp.shape[1 + a] - (k.shape[a] - 1) * dilation[a] - 1) // strides[a] + 1
           for a in range(rank)]
    y = np.zeros((x.shape[0],) + tuple(out) + (k.shape[-1],))
    for idx in np.ndindex(*out):
        for tap in np.ndindex(*k.shape[:rank]):
            pos = tuple(i * s + t * d for i, s, t, d in zip(idx, strides, tap, dilation))
            y[(slice(None),) + idx] += xp[(slice(None),) + pos] @ k[tap]
    return y


def np_conv_transpose(x, k, strides, padding, out_size):
    """Scatter form: input position i adds x[i] @ k[tap].T at i * stride + tap, then the
    forward convolution's 'same' padding is cropped; k (*window, out, in)."""
    rank = x.ndim - 2
    big = [max((x.shape[1 + a] - 1) * strides[a] + k.shape[a], out_size[a]) + 1
           for a in range(rank)]
    full = np.zeros((x.shape[0],) + tuple(big) + (k.shape[-2],))
    for idx in np.ndindex(*x.shape[1:-1]):
        for tap in np.ndindex(*k.shape[:rank]):
            pos = tuple(i * s + t for i, s, t in zip(idx, strides, tap))
            full[(slice(None),) + pos] += x[(slice(None),) + idx] @ k[tap].T
    key = [slice(None)]
    for a in range(rank):
        start = 0
        if padding == 'same':
            start = max((x.shape[1 + a] - 1) * strides[a] + k.shape[a] - out_size[a], 0) // 2
        key.append(slice(start, start + out_size[a]))
    return full[tuple(key)]


def np_pool(x, pool, strides, padding, mode):
    """Max / mean over the input entries of each window (padding excluded)."""
    rank = x.ndim - 2
    lo, out = [], []
    for a in range(rank):
        n = x.shape[1 + a]
        if padding == 'same':
            lo.append(_same_pads(n, pool[a], strides[a])[0])
            out.append(-(-n // strides[a]))
        else:
            lo.append(0)
            out.append((n - pool[a]) // strides[a] + 1)
    y = np.zeros((x.shape[0],) + tuple(out) + (x.shape[-1],))
    for idx in np.ndindex(*out):
        key = [slice(None)]
        for a in range(rank):
            b = idx[a] * strides[a] - lo[a]
            key.append(slice(max(b, 0), min(b + pool[a], x.shape[1 + a])))
        win = x[tuple(key)].reshape(x.shape[0], -1, x.shape[-1])
        y[(slice(None),) + idx] = win.max(1) if mode == 'max' else win.mean(1)
    return y


def _first(a):
    return np.moveaxis(a, -1, 1)


def _last(a):
    return np.moveaxis(a, 1, -1)


def _run(layer, x_last, fmt):
    """The layer's output on ``x_last`` (given channels_last), returned channels_last."""
    y, _ = apply(layer, x_last if fmt == 'channels_last' else _first(x_last))
    return y if fmt == 'channels_last' else _last(y)


FORMATS = ['channels_last', 'channels_first']


# -- Conv3D ------------------------------------------------------------------------------------

@pytest.mark.parametrize('fmt', FORMATS)
@pytest.mark.parametrize('padding,strides,dilation', [
    ('valid', (1, 1, 1), (1, 1, 1)), ('same', (2, 1, 2), (1, 1, 1)),
    ('valid', (1, 1, 1), (2, 1, 2)), ('same', (1, 2, 1), (2, 1, 1))])
def test_conv3d_matches_numpy(fmt, padding, strides, dilation):
    x = RNG.standard_normal((2, 5, 4, 5, 2)).astype('float32')
    layer = L.Conv3D(3, (3, 2, 2), strides=strides, padding=padding, dilation_rate=dilation,
                     data_format=fmt, activation='relu', bias_initializer='glorot_uniform')
    y = _run(layer, x, fmt)
    k, b = layer.get_weights()
    assert k.shape == (3, 2, 2, 2, 3)
    want = np.maximum(np_conv(x, k, strides, padding, dilation) + b, 0)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('fmt', FORMATS)
def test_conv3d_gradients_match_finite_differences(fmt):
    x = RNG.standard_normal((1, 4, 3, 4, 2))
    x = x if fmt == 'channels_last' else _first(x)
    with floatx('float64'):
        layer = L.Conv3D(2, (2, 2, 3), strides=(2, 1, 1), padding='same', data_format=fmt,
                         bias_initializer='glorot_uniform')
        check_grads(layer, x)


# -- Conv3DTranspose ---------------------------------------------------------------------------

@pytest.mark.parametrize('fmt', FORMATS)
@pytest.mark.parametrize('padding,strides,output_padding', [
    ('valid', (1, 1, 1), None), ('same', (2, 2, 1), None), ('valid', (2, 1, 3), None),
    ('same', (2, 1, 2), (1, 0, 1)), ('valid', (3, 2, 2), (2, 1, 0))])
def test_conv3d_transpose_matches_numpy(fmt, padding, strides, output_padding):
    x = RNG.standard_normal((2, 3, 2, 3, 2)).astype('float32')
    layer = L.Conv3DTranspose(3, (2, 3, 2), strides=strides, padding=padding,
                              output_padding=output_padding, data_format=fmt,
                              bias_initializer='glorot_uniform')
    y = _run(layer, x, fmt)
    k, b = layer.get_weights()
    assert k.shape == (2, 3, 2, 3, 2)              # (kd, kh, kw, filters, in)
    want = np_conv_transpose(x, k, strides, padding, y.shape[1:4]) + b
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)
    # Keras 2's output sizes: n * s + max(k - s, 0) ('valid') or n * s ('same'), + padding
    for n, kk, s, p, got in zip(x.shape[1:4], (2, 3, 2), strides, output_padding or (None,) * 3,
                                y.shape[1:4]):
        if p is None:
            assert got == (n * s + max(kk - s, 0) if padding == 'valid' else n * s)
        else:
            pad = kk // 2 if padding == 'same' else 0
            assert got == (n - 1) * s + kk - 2 * pad + p


@pytest.mark.parametrize('fmt', FORMATS)
def test_conv3d_transpose_gradients_match_finite_differences(fmt):
    x = RNG.standard_normal((1, 2, 3, 2, 2))
    x = x if fmt == 'channels_last' else _first(x)
    with floatx('float64'):
        layer = L.Conv3DTranspose(2, (3, 2, 2), strides=(2, 1, 2), padding='same',
                                  data_format=fmt, bias_initializer='glorot_uniform')
        check_grads(layer, x)


# -- pooling -----------------------------------------------------------------------------------

@pytest.mark.parametrize('fmt', FORMATS)
@pytest.mark.parametrize('cls,mode', [(L.MaxPooling3D, 'max'), (L.AveragePooling3D, 'avg')])
@pytest.mark.parametrize('pool,strides,padding', [
    ((2, 2, 2), None, 'valid'), ((3, 2, 2), (2, 1, 2), 'same'), ((2, 3, 3), (1, 2, 2), 'same'),
    ((3, 1, 2), (1, 1, 1), 'valid')])
def test_pooling3d_matches_numpy(fmt, cls, mode, pool, strides, padding):
    x = RNG.standard_normal((2, 5, 4, 5, 3)).astype('float32')
    layer = cls(pool, strides=strides, padding=padding, data_format=fmt)
    y = _run(layer, x, fmt)
    want = np_pool(x, pool, strides or pool, padding, mode)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('fmt', FORMATS)
@pytest.mark.parametrize('cls', [L.MaxPooling3D, L.AveragePooling3D])
def test_pooling3d_gradients_match_finite_differences(fmt, cls):
    x = RNG.standard_normal((1, 3, 4, 3, 2))
    x = x if fmt == 'channels_last' else _first(x)
    with floatx('float64'):
        check_grads(cls((2, 3, 2), strides=(2, 2, 1), padding='same', data_format=fmt), x)


@pytest.mark.parametrize('fmt', FORMATS)
def test_global_pooling3d_matches_numpy(fmt):
    x = RNG.standard_normal((2, 3, 4, 2, 5)).astype('float32')
    xin = x if fmt == 'channels_last' else _first(x)
    y, _ = apply(L.GlobalMaxPooling3D(data_format=fmt), xin)
    np.testing.assert_allclose(y, x.max(axis=(1, 2, 3)), rtol=1e-6)
    y, _ = apply(L.GlobalAveragePooling3D(data_format=fmt), xin)
    np.testing.assert_allclose(y, x.mean(axis=(1, 2, 3)), rtol=1e-5, atol=1e-6)


# -- upsampling, padding, cropping -------------------------------------------------------------

@pytest.mark.parametrize('fmt', FORMATS)
def test_upsampling_padding_cropping3d_match_numpy(fmt):
    x = RNG.standard_normal((2, 2, 3, 4, 2)).astype('float32')
    y = _run(L.UpSampling3D((2, 1, 3), data_format=fmt), x, fmt)
    want = np.repeat(np.repeat(x, 2, axis=1), 3, axis=3)
    np.testing.assert_array_equal(y, want)
    y = _run(L.ZeroPadding3D(((1, 0), (2, 1), (0, 3)), data_format=fmt), x, fmt)
    np.testing.assert_array_equal(y, np.pad(x, ((0, 0), (1, 0), (2, 1), (0, 3), (0, 0))))
    y = _run(L.ZeroPadding3D(1, data_format=fmt), x, fmt)
    np.testing.assert_array_equal(y, np.pad(x, ((0, 0),) + ((1, 1),) * 3 + ((0, 0),)))
    y = _run(L.Cropping3D(((1, 0), (0, 1), (1, 2)), data_format=fmt), x, fmt)
    np.testing.assert_array_equal(y, x[:, 1:, :2, 1:2])


def test_upsampling_padding_cropping3d_gradients():
    x = RNG.standard_normal((1, 2, 3, 2, 2))
    with floatx('float64'):
        check_grads(L.UpSampling3D((1, 2, 2)), x)
        check_grads(L.ZeroPadding3D((1, 0, 2)), x)
        check_grads(L.Cropping3D(((1, 0), (1, 1), (0, 1))), x)


# -- SeparableConv1D ---------------------------------------------------------------------------

@pytest.mark.parametrize('fmt', ['channels_last', 'channels_first'])
@pytest.mark.parametrize('padding,strides,dilation', [
    ('valid', 1, 1), ('same', 2, 1), ('same', 1, 2)])
def test_separable_conv1d_matches_numpy(fmt, padding, strides, dilation):
    x = RNG.standard_normal((2, 9, 3)).astype('float32')
    layer = L.SeparableConv1D(4, 3, strides=strides, padding=padding, dilation_rate=dilation,
                              depth_multiplier=2, data_format=fmt,
                              bias_initializer='glorot_uniform')
    xin = x if fmt == 'channels_last' else np.moveaxis(x, -1, 1)
    y, _ = apply(layer, xin)
    y = y if fmt == 'channels_last' else np.moveaxis(y, 1, -1)
    dk, pk, b = layer.get_weights()
    assert dk.shape == (3, 3, 2) and pk.shape == (1, 6, 4)
    # depthwise: channel c with its own 2 filters -> channels c * 2 + m; then pointwise
    depth = np.concatenate([np_conv(x[..., c:c + 1], dk[:, c:c + 1, :], (strides,), padding,
                                    (dilation,)) for c in range(3)], axis=-1)
    want = depth @ pk[0] + b
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)


def test_separable_conv1d_gradients_match_finite_differences():
    x = RNG.standard_normal((2, 6, 2))
    with floatx('float64'):
        layer = L.SeparableConv1D(3, 2, padding='same', depth_multiplier=2,
                                  bias_initializer='glorot_uniform')
        check_grads(layer, x)


# -- configs, aliases, errors ------------------------------------------------------------------

def test_configs_round_trip_with_keras_arguments():
    layers = [
        L.Conv3D(4, (1, 2, 3), strides=(1, 2, 1), padding='same', dilation_rate=1,
                 data_format='channels_first', activation='relu', use_bias=False),
        L.Conv3DTranspose(2, 3, strides=2, padding='same', output_padding=1),
        L.MaxPooling3D((1, 2, 2), padding='same'), L.AveragePooling3D(strides=1),
        L.GlobalMaxPooling3D(data_format='channels_first'), L.GlobalAveragePooling3D(),
        L.UpSampling3D(3), L.ZeroPadding3D(((1, 2), (0, 1), (3, 3))), L.Cropping3D(2),
        L.SeparableConv1D(5, 3, depth_multiplier=3, padding='same', activation='tanh',
                          pointwise_regularizer='l2'),
    ]
    for layer in layers:
        roundtrip(layer)
    config = L.Conv3DTranspose(2, 3).get_config()
    assert 'dilation_rate' not in config and config['output_padding'] is None
    assert L.MaxPooling3D().get_config()['strides'] == (2, 2, 2)
    assert L.Cropping3D().cropping == ((1, 1), (1, 1), (1, 1))
    assert L.ZeroPadding3D().padding == ((1, 1), (1, 1), (1, 1))
    assert L.SeparableConv1D(2, 3).data_format == 'channels_last'


def test_keras_aliases_name_the_same_classes():
    from graphc.layers import convolutional, pooling
    assert convolutional.Convolution3D is L.Conv3D
    assert convolutional.Deconvolution3D is convolutional.Deconv3D is L.Conv3DTranspose
    assert convolutional.SeparableConvolution1D is L.SeparableConv1D
    assert pooling.MaxPool3D is L.MaxPooling3D and pooling.AvgPool3D is L.AveragePooling3D
    assert pooling.GlobalAvgPool3D is L.GlobalAveragePooling3D


@pytest.mark.parametrize('make', [
    lambda: L.Conv3D(2, 2), lambda: L.Conv3DTranspose(2, 2), lambda: L.MaxPooling3D(),
    lambda: L.AveragePooling3D(), lambda: L.GlobalMaxPooling3D(), lambda: L.UpSampling3D(),
    lambda: L.ZeroPadding3D(), lambda: L.Cropping3D()])
def test_wrong_rank_names_the_layer_expected_and_actual(make):
    layer = make()
    with pytest.raises(ValueError) as err:
        layer(L.Input(shape=(4, 4, 2)))
    text = str(err.value)
    assert layer.name in text and '5' in text and '4' in text, text


def test_bad_arguments_and_unknown_spatial_sizes_are_clear_errors():
    with pytest.raises(ValueError, match='kernel_size'):
        L.Conv3D(2, (2, 2))
    with pytest.raises(ValueError, match='output_padding.*smaller than its stride'):
        L.Conv3DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="padding"):
        L.SeparableConv1D(2, 3, padding='causal')
    with pytest.raises(ValueError, match='larger than the input'):
        L.Conv3D(2, 3)(L.Input(shape=(2, 5, 5, 1)))
    with pytest.raises(ValueError, match='static depth, height and width'):
        L.Conv3D(2, 2)(L.Input(shape=(None, 5, 5, 1)))
    with pytest.raises(ValueError, match='static depth, height and width'):
        L.MaxPooling3D()(L.Input(shape=(4, None, 4, 1)))


# -- native code -------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def compiled_model():
    """Conv3D -> MaxPooling3D -> GlobalAveragePooling3D compiled to native code (kept small:
    numba compiles cost seconds; the other layers' ops are checked native without compiling
    in the test below it)."""
    model = Sequential([
        L.Conv3D(3, 2, padding='same', activation='relu', input_shape=(4, 4, 4, 2),
                 bias_initializer='glorot_uniform'),
        L.MaxPooling3D(2),
        L.GlobalAveragePooling3D(),
    ])
    model.compile('sgd', 'mse')
    return model


def _model_reference(model, x):
    """The model's forward pass written with the numpy references above."""
    k, b = model.layers[0].get_weights()
    h = np.maximum(np_conv(x, k, (1, 1, 1), 'same', (1, 1, 1)) + b, 0)
    h = np_pool(h, (2, 2, 2), (2, 2, 2), 'valid', 'max')
    return h.mean(axis=(1, 2, 3))


def test_3d_model_runs_and_trains_in_native_code(compiled_model):
    from graphc.codegen.cpu.lowering import native_supported
    model = compiled_model
    x = RNG.standard_normal((3, 4, 4, 4, 2)).astype('float32')
    y = RNG.standard_normal((3, 3)).astype('float32')
    got = model.predict(x)
    np.testing.assert_allclose(got, _model_reference(model, x), rtol=1e-4, atol=1e-5)
    before = model.get_weights()
    loss0 = float(model.train_on_batch(x, y))
    fn = model.train_function
    assert fn.executor_kind == 'compiled'
    assert fn.executor.stats['python_nodes'] == 0, fn.executor.program.fallback_ops
    assert all(native_supported(n) for n in fn.optimized_graph.nodes()
               if n.op not in ('input', 'variable', 'constant'))
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))
    for _ in range(3):
        loss = float(model.train_on_batch(x, y))
    assert loss < loss0


def test_separable_conv1d_and_3d_ops_are_native_without_compiling():
    from graphc.codegen.cpu.lowering import native_supported
    from graphc.passes import optimize
    fmt = 'channels_first'
    x1, x3 = L.Input(shape=(7, 3)), L.Input(shape=(2, 3, 4, 4))
    layers = [L.SeparableConv1D(2, 3, padding='same', data_format=fmt),
              L.Conv3D(2, 2, strides=(1, 2, 1), data_format=fmt),
              L.MaxPooling3D((2, 1, 2), padding='same', data_format=fmt),
              L.Conv3DTranspose(2, 2, strides=(2, 1, 2), padding='same', data_format=fmt),
              L.AveragePooling3D((3, 1, 2), strides=1, padding='same', data_format=fmt),
              L.UpSampling3D((1, 1, 2), data_format=fmt),
              L.ZeroPadding3D(1, data_format=fmt), L.Cropping3D(1, data_format=fmt)]
    y1 = layers[0](x1)
    y3 = x3
    for layer in layers[1:]:
        y3 = layer(y3)
    loss = K.sum(K.square(y1)) + K.sum(K.square(y3))
    params = [x1, x3] + [w for layer in layers for w in layer.trainable_weights]
    f = K.function([x1, x3], K.gradients(loss, params) + [loss], mode='compiled')
    graph, _ = optimize(f.graph, f.pipeline)
    slow = sorted({n.op for n in graph.nodes()
                   if n.op not in ('input', 'variable', 'constant') and not native_supported(n)})
    assert slow == []
