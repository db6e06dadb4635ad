"""Convolutional layers: values against numpy loops, both data formats, gradients, configs,
errors naming the layer, and a small convnet that learns."""
import numpy as np
import pytest

from graphc import layers as L

from ._helpers import apply, check_grads, data_format, floatx, reference_executor, roundtrip

RNG = np.random.default_rng(1)


def _same_pads(n, eff, s):
    out = -(-n // s)
    total = max((out - 1) * s + eff - n, 0)
    return total // 2, total - total // 2


def np_conv(x, k, strides, padding, dilation):
    """Channels-last N-D convolution (cross-correlation), TF's padding rule; k (..., in, out)."""
    rank = x.ndim - 2
    pads = [(0, 0)]
    for a in range(rank):
        eff = (k.shape[a] - 1) * dilation[a] + 1
        pads.append(_same_pads(x.shape[1 + a], eff, strides[a]) if padding == 'same'
                    else (0, 0))
    pads.append((0, 0))
    xp = np.pad(x, pads)
    out_sp = [(xp.shape[1 + a] - ((k.shape[a] - 1) * dilation[a] + 1)) // strides[a] + 1
              for a in range(rank)]
    y = np.zeros((x.shape[0],) + tuple(out_sp) + (k.shape[-1],))
    for idx in np.ndindex(*out_sp):
        for tap in np.ndindex(*k.shape[:rank]):
            pos = tuple(i * s + t * d for i, s, t, d in zip(idx, strides, tap, dilation))
            patch = xp[(slice(None),) + pos]                       # (N, in)
            y[(slice(None),) + idx] += patch @ k[tap]
    return y


def np_depthwise(x, k, strides, padding, dilation=(1, 1)):
    n_in, mult = k.shape[2], k.shape[3]
    outs = []
    for c in range(n_in):
        outs.append(np_conv(x[..., c:c + 1], k[:, :, c:c + 1, :], strides, padding, dilation))
    y = np.stack(outs, axis=-2)                                    # (..., in, mult)
    return y.reshape(y.shape[:-2] + (n_in * mult,))


def np_conv_transpose(x, k, strides, padding, out_len):
    """Scatter form of the transposed convolution; k (kh, kw, out, in); out_len (H, W)."""
    n, h, w, _ = x.shape
    kh, kw = k.shape[:2]
    full = np.zeros((n, (h - 1) * strides[0] + kh + 8, (w - 1) * strides[1] + kw + 8,
                     k.shape[2]))
    for i in range(h):
        for j in range(w):
            for a in range(kh):
                for b in range(kw):
                    full[:, i * strides[0] + a, j * strides[1] + b] += x[:, i, j] @ k[a, b].T
    starts = []
    for n_in, n_out, kk, s in zip((h, w), out_len, (kh, kw), strides):
        total = max((n_in - 1) * s + kk - n_out, 0) if padding == 'same' else 0
        starts.append(total // 2)
    return full[:, starts[0]:starts[0] + out_len[0], starts[1]:starts[1] + out_len[1]]


def _to_first(a):
    return np.moveaxis(a, -1, 1)


@pytest.mark.parametrize('padding,strides,dilation', [
    ('valid', (1, 1), (1, 1)), ('same', (2, 2), (1, 1)), ('valid', (1, 1), (2, 2)),
    ('same', (1, 2), (1, 1)), ('same', (1, 1), (2, 1))])
def test_conv2d_matches_numpy_in_both_data_formats(padding, strides, dilation):
    x = RNG.standard_normal((2, 7, 6, 3)).astype('float32')
    layer = L.Conv2D(4, (3, 2), strides=strides, padding=padding, dilation_rate=dilation,
                     activation='relu', data_format='channels_last',
                     bias_initializer='glorot_uniform')
    y, _ = apply(layer, x)
    k, b = layer.get_weights()
    want = np.maximum(np_conv(x, k, strides, padding, dilation) + b, 0)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)

    first = L.Conv2D(4, (3, 2), strides=strides, padding=padding, dilation_rate=dilation,
                     activation='relu', data_format='channels_first')
    y1, _ = apply(first, _to_first(x))
    first.set_weights([k, b])
    y1, _ = apply(first, _to_first(x))
    np.testing.assert_allclose(y1, _to_first(want), rtol=1e-4, atol=1e-5)


def test_conv2d_default_data_format_follows_the_setting():
    with data_format('channels_first'):
        layer = L.Conv2D(2, 3)
    assert layer.data_format == 'channels_first'
    y = layer(L.Input(shape=(3, 8, 8)))
    assert y._keras_shape == (None, 2, 6, 6)
    assert layer.get_weights()[0].shape == (3, 3, 3, 2)


@pytest.mark.parametrize('padding', ['valid', 'same', 'causal'])
def test_conv1d_matches_numpy(padding):
    x = RNG.standard_normal((2, 9, 3)).astype('float32')
    layer = L.Conv1D(5, 3, padding=padding, dilation_rate=2 if padding == 'causal' else 1,
                     bias_initializer='ones')
    y, _ = apply(layer, x)
    k, b = layer.get_weights()
    d = layer.dilation_rate[0]
    xin = np.pad(x, ((0, 0), (2 * d, 0), (0, 0))) if padding == 'causal' else x
    want = np_conv(xin, k, (1,), 'valid' if padding == 'causal' else padding, (d,)) + b
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)
    if padding == 'causal':   # output t depends on inputs <= t only
        x2 = x.copy()
        x2[:, 5:] += 1.0
        y2, _ = apply(layer, x2)
        np.testing.assert_allclose(y2[:, :5], y[:, :5], rtol=1e-5, atol=1e-6)


def test_conv1d_channels_first_is_the_transposition():
    x = RNG.standard_normal((2, 8, 3)).astype('float32')
    last = L.Conv1D(4, 3, strides=2, padding='same')
    y, _ = apply(last, x)
    first = L.Conv1D(4, 3, strides=2, padding='same', data_format='channels_first')
    apply(first, np.swapaxes(x, 1, 2))
    first.set_weights(last.get_weights())
    y1, _ = apply(first, np.swapaxes(x, 1, 2))
    np.testing.assert_allclose(y1, np.swapaxes(y, 1, 2), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('padding,strides,output_padding', [
    ('valid', (2, 2), None), ('same', (2, 2), None), ('valid', (1, 1), None),
    ('same', (2, 3), (1, 2)), ('valid', (2, 2), (1, 0))])
def test_conv2d_transpose_matches_numpy(padding, strides, output_padding):
    x = RNG.standard_normal((2, 3, 4, 2)).astype('float32')
    layer = L.Conv2DTranspose(3, (3, 3), strides=strides, padding=padding,
                              output_padding=output_padding, bias_initializer='ones')
    y, sym = apply(layer, x)
    k, b = layer.get_weights()
    assert k.shape == (3, 3, 3, 2)
    want = np_conv_transpose(x, k, strides, padding, y.shape[1:3]) + b
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)
    # Keras 2's output size rule
    for n, s, ax, op in zip((3, 4), strides, (1, 2), output_padding or (None, None)):
        if op is not None:
            pad = 1 if padding == 'same' else 0
            expect = (n - 1) * s + 3 - 2 * pad + op
        else:
            expect = n * s + max(3 - s, 0) if padding == 'valid' else n * s
        assert y.shape[ax] == expect == sym._keras_shape[ax]

    first = L.Conv2DTranspose(3, (3, 3), strides=strides, padding=padding,
                              output_padding=output_padding, data_format='channels_first')
    apply(first, _to_first(x))
    first.set_weights([k, b])
    y1, _ = apply(first, _to_first(x))
    np.testing.assert_allclose(y1, _to_first(want), rtol=1e-4, atol=1e-5)


def test_conv2d_transpose_rejects_output_padding_not_below_stride():
    with pytest.raises(ValueError, match='output_padding'):
        L.Conv2DTranspose(2, 3, strides=2, output_padding=2)


@pytest.mark.parametrize('fmt', ['channels_last', 'channels_first'])
def test_depthwise_conv2d_matches_numpy(fmt):
    x = RNG.standard_normal((2, 6, 5, 3)).astype('float32')
    layer = L.DepthwiseConv2D((3, 3), depth_multiplier=2, padding='same', strides=(2, 1),
                              data_format=fmt, bias_initializer='ones')
    y, _ = apply(layer, x if fmt == 'channels_last' else _to_first(x))
    k, b = layer.get_weights()
    assert k.shape == (3, 3, 3, 2) and b.shape == (6,)
    want = np_depthwise(x, k, (2, 1), 'same') + b
    np.testing.assert_allclose(y, want if fmt == 'channels_last' else _to_first(want),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('fmt', ['channels_last', 'channels_first'])
def test_separable_conv2d_is_depthwise_then_pointwise(fmt):
    x = RNG.standard_normal((2, 6, 6, 2)).astype('float32')
    layer = L.SeparableConv2D(4, 3, depth_multiplier=2, data_format=fmt, activation='tanh',
                              bias_initializer='ones')
    y, _ = apply(layer, x if fmt == 'channels_last' else _to_first(x))
    dk, pk, b = layer.get_weights()
    assert dk.shape == (3, 3, 2, 2) and pk.shape == (1, 1, 4, 4)
    want = np.tanh(np_depthwise(x, dk, (1, 1), 'valid') @ pk[0, 0] + b)
    np.testing.assert_allclose(y, want if fmt == 'channels_last' else _to_first(want),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('make,shape', [
    (lambda: L.Conv2D(2, (2, 3), strides=(2, 1), padding='same'), (2, 4, 5, 2)),
    (lambda: L.Conv1D(2, 3, dilation_rate=2, padding='causal'), (2, 6, 2)),
    (lambda: L.Conv2DTranspose(2, 3, strides=2, padding='same'), (1, 3, 3, 2)),
    (lambda: L.DepthwiseConv2D(2, depth_multiplier=2), (2, 3, 3, 2)),
    (lambda: L.SeparableConv2D(3, 2, data_format='channels_first'), (2, 2, 4, 4)),
])
def test_conv_gradients_match_finite_differences(make, shape):
    with floatx('float64'):
        layer = make()
        x = RNG.standard_normal(shape)
        check_grads(layer, x)


def test_upsampling_and_padding_and_cropping_match_numpy():
    x = RNG.standard_normal((2, 3, 4, 2)).astype('float32')
    y, _ = apply(L.UpSampling2D((2, 3)), x)
    np.testing.assert_array_equal(y, np.repeat(np.repeat(x, 2, axis=1), 3, axis=2))
    y, _ = apply(L.UpSampling2D(2, data_format='channels_first'), x)
    np.testing.assert_array_equal(y, np.repeat(np.repeat(x, 2, axis=2), 2, axis=3))
    y, _ = apply(L.UpSampling1D(3), x[:, :, 0])
    np.testing.assert_array_equal(y, np.repeat(x[:, :, 0], 3, axis=1))

    y, _ = apply(L.ZeroPadding2D(((1, 0), (2, 1))), x)
    np.testing.assert_array_equal(y, np.pad(x, ((0, 0), (1, 0), (2, 1), (0, 0))))
    y, _ = apply(L.ZeroPadding2D(1, data_format='channels_first'), x)
    np.testing.assert_array_equal(y, np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))))
    y, _ = apply(L.ZeroPadding1D((0, 2)), x[:, :, 0])
    np.testing.assert_array_equal(y, np.pad(x[:, :, 0], ((0, 0), (0, 2), (0, 0))))

    y, _ = apply(L.Cropping2D(((1, 0), (1, 2))), x)
    np.testing.assert_array_equal(y, x[:, 1:, 1:2])
    y, _ = apply(L.Cropping2D(((0, 1), (1, 0)), data_format='channels_first'), x)
    np.testing.assert_array_equal(y, x[:, :, :3, 1:])
    y, _ = apply(L.Cropping1D((1, 1)), x[:, :, 0])
    np.testing.assert_array_equal(y, x[:, 1:2, 0])


def test_bilinear_upsampling_interpolates():
    x = np.arange(2 * 2 * 3, dtype='float32').reshape(1, 2, 2, 3)
    y, _ = apply(L.UpSampling2D(2, interpolation='bilinear'), x)
    # align_corners=False: output i samples input coordinate i / 2 (clamped at the end)
    coord = np.minimum(np.arange(4) / 2.0, 1.0)
    lo = np.floor(coord).astype(int)
    hi = np.minimum(lo + 1, 1)
    fr = coord - lo
    rows = x[:, lo] * (1 - fr)[None, :, None, None] + x[:, hi] * fr[None, :, None, None]
    want = rows[:, :, lo] * (1 - fr)[None, None, :, None] + rows[:, :, hi] * \
        fr[None, None, :, None]
    np.testing.assert_allclose(y, want, rtol=1e-5)


def test_upsampling_and_cropping_gradients():
    with floatx('float64'):
        check_grads(L.UpSampling2D((2, 1), interpolation='bilinear'),
                    RNG.standard_normal((1, 2, 3, 2)), wrt_weights=False)
        check_grads(L.Cropping2D(1), RNG.standard_normal((1, 4, 4, 1)), wrt_weights=False)
        check_grads(L.ZeroPadding1D(1), RNG.standard_normal((1, 3, 2)), wrt_weights=False)


@pytest.mark.parametrize('layer', [
    L.Conv1D(3, 2, padding='causal', kernel_regularizer='l2', activation='relu'),
    L.Conv2D(3, (2, 3), strides=2, data_format='channels_first', use_bias=False,
             kernel_constraint='max_norm', dilation_rate=1),
    L.Conv2DTranspose(2, 3, output_padding=(0, 1), strides=(1, 2)),
    L.DepthwiseConv2D(3, depth_multiplier=3, depthwise_regularizer='l1'),
    L.SeparableConv2D(4, 3, pointwise_initializer='he_normal', activity_regularizer='l2'),
    L.UpSampling1D(3), L.UpSampling2D((1, 2), interpolation='bilinear'),
    L.ZeroPadding1D((1, 2)), L.ZeroPadding2D(((1, 2), (3, 4))), L.Cropping1D(2),
    L.Cropping2D(((1, 1), (0, 2)), data_format='channels_first'),
])
def test_config_round_trip(layer):
    clone = roundtrip(layer)
    if hasattr(layer, 'kernel_size'):
        assert clone.kernel_size == layer.kernel_size and clone.padding == layer.padding


def test_weight_layouts_and_regularizer_losses():
    layer = L.Conv2D(8, (3, 3), kernel_regularizer='l2')
    layer(L.Input(shape=(5, 5, 2)))
    assert [w.shape for w in layer.get_weights()] == [(3, 3, 2, 8), (8,)]
    assert len(layer.losses) == 1
    assert layer.count_params() == 3 * 3 * 2 * 8 + 8


def test_kernel_larger_than_input_with_valid_padding_names_the_layer():
    layer = L.Conv2D(2, (5, 5), name='too_big')
    with pytest.raises(ValueError, match=r"too_big.*larger than the input"):
        layer(L.Input(shape=(3, 8, 1)))
    with pytest.raises(ValueError, match=r"max_pooling2d.*pool_size.*larger"):
        L.MaxPooling2D((4, 4))(L.Input(shape=(3, 3, 1)))
    # 'same' padding accepts it
    y = L.Conv2D(2, (5, 5), padding='same')(L.Input(shape=(3, 8, 1)))
    assert y._keras_shape == (None, 3, 8, 2)


@pytest.mark.parametrize('make', [
    lambda: L.Conv2D(2, 3, data_format='channels_middle', name='bad_fmt'),
    lambda: L.Conv1D(2, 3, data_format='NHWC', name='bad_fmt'),
    lambda: L.MaxPooling2D(data_format='last', name='bad_fmt'),
    lambda: L.UpSampling2D(data_format='x', name='bad_fmt'),
    lambda: L.ZeroPadding2D(data_format='x', name='bad_fmt'),
])
def test_wrong_data_format_names_the_layer_and_the_choices(make):
    with pytest.raises(ValueError, match=r"bad_fmt.*data_format.*'channels_last' or "
                                         r"'channels_first'"):
        make()


def test_bad_padding_and_rank_errors():
    with pytest.raises(ValueError, match="padding"):
        L.Conv2D(2, 3, padding='causal')
    with pytest.raises(ValueError, match=r"conv2d.*ndim=4"):
        L.Conv2D(2, 3)(L.Input(shape=(5, 5)))
    with pytest.raises(ValueError, match="kernel_size"):
        L.Conv2D(2, (3, 3, 3))


def test_small_convnet_learns():
    from graphc.models import Sequential
    rng = np.random.default_rng(0)
    n = 64
    x = rng.standard_normal((n, 6, 6, 1)).astype('float32') * 0.3
    y = rng.integers(0, 2, n)
    # class 1: a bright vertical bar in column 2; class 0: a horizontal bar in row 3
    x[y == 1, :, 2, 0] += 1.5
    x[y == 0, 3, :, 0] += 1.5
    targets = np.eye(2, dtype='float32')[y]
    from graphc.initializers import glorot_uniform
    from graphc.optimizers import Adam
    model = Sequential([
        L.Conv2D(6, 3, activation='relu', input_shape=(6, 6, 1),
                 kernel_initializer=glorot_uniform(seed=1)),
        L.MaxPooling2D(),
        L.Flatten(),
        L.Dense(2, activation='softmax', kernel_initializer=glorot_uniform(seed=2)),
    ])
    with reference_executor():
        model.compile(Adam(lr=0.01), 'categorical_crossentropy', metrics=['accuracy'])
        before = model.evaluate(x, targets, verbose=0)
        model.fit(x, targets, epochs=30, batch_size=16, verbose=0)
        after = model.evaluate(x, targets, verbose=0)
    assert after[0] < before[0] * 0.5
    assert after[1] >= 0.9
