"""ConvLSTM2D, ConvLSTM2DCell and ConvRNN2D against a numpy loop written from Keras 2.2.4's
formulas (with a numpy convolution written from its definition): padding, strides, dilation,
channels_first, go_backwards, return_state, dropout, stateful batches, gradients, configs and
the compiled loop."""
import numpy as np
import pytest

from graphc import backend as K
from graphc import layers as L

from ._helpers import apply, check_grads, data_format, floatx, roundtrip

RNG = np.random.default_rng(3)


def hard_sigmoid(x):
    return np.clip(0.2 * x + 0.5, 0., 1.)


def np_conv(x, w, stride=(1, 1), padding='valid', dilation=(1, 1)):
    """Cross-correlation of channels_last images x (B, H, W, C) with w (kh, kw, C, O)."""
    n, height, width, _ = x.shape
    kh, kw, _, n_out = w.shape
    eff = [k + (k - 1) * (d - 1) for k, d in zip((kh, kw), dilation)]
    pads = []
    for size, e, s in zip((height, width), eff, stride):
        if padding == 'same':
            out = -(-size // s)
            total = max((out - 1) * s + e - size, 0)
            pads.append((total // 2, total - total // 2, out))
        else:
            pads.append((0, 0, (size - e) // s + 1))
    (t, b, oh), (lft, r, ow) = pads
    xp = np.pad(x, ((0, 0), (t, b), (lft, r), (0, 0)))
    y = np.zeros((n, oh, ow, n_out))
    for i in range(oh):
        for j in range(ow):
            for p in range(kh):
                for q in range(kw):
                    patch = xp[:, i * stride[0] + p * dilation[0], j * stride[1] + q * dilation[1]]
                    y[:, i, j] += patch @ w[p, q]
    return y


def np_conv_lstm(x, weights, filters, stride=(1, 1), padding='valid', dilation=(1, 1),
                 go_backwards=False):
    """Keras 2.2.4's ConvLSTM2D on channels_last x (B, T, H, W, C); returns (outputs, h, c)."""
    kernel, recurrent, bias = weights
    steps = x.shape[1]
    h = c = None
    outs = []
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    for t in order:
        xc = np_conv(x[:, t], kernel, stride, padding, dilation) + bias
        if h is None:
            h = np.zeros(xc.shape[:3] + (filters,))
            c = np.zeros_like(h)
        hc = np_conv(h, recurrent, padding='same')
        g = [xc[..., k * filters:(k + 1) * filters] + hc[..., k * filters:(k + 1) * filters]
             for k in range(4)]
        i, f, o = hard_sigmoid(g[0]), hard_sigmoid(g[1]), hard_sigmoid(g[3])
        c = f * c + i * np.tanh(g[2])
        h = o * np.tanh(c)
        outs.append(h)
    return np.stack(outs, 1), h, c


def _randomize(layer, scale=0.4):
    layer.set_weights([RNG.normal(scale=scale, size=w.shape).astype(w.dtype)
                       for w in layer.get_weights()])
    return layer.get_weights()


def test_weight_shapes_names_and_forget_bias_are_keras_224s():
    layer = L.ConvLSTM2D(3, (3, 2))
    layer(L.Input(shape=(4, 6, 5, 2)))
    assert [w.shape for w in layer.get_weights()] == [(3, 2, 2, 12), (3, 2, 3, 12), (12,)]
    assert [w.name for w in layer.weights] == \
        [f'{layer.name}/kernel', f'{layer.name}/recurrent_kernel', f'{layer.name}/bias']
    np.testing.assert_array_equal(layer.get_weights()[2], np.r_[np.zeros(3), np.ones(3),
                                                                np.zeros(6)])
    assert layer.name.startswith('conv_lst_m2d')


@pytest.mark.parametrize('kwargs', [
    dict(padding='valid'),
    dict(padding='same', go_backwards=True),
    dict(padding='same', strides=(2, 2)),
    dict(padding='valid', dilation_rate=(2, 1)),
])
def test_sequences_and_states_match_numpy(kwargs):
    layer = L.ConvLSTM2D(2, (3, 3), return_sequences=True, return_state=True, **kwargs)
    x = RNG.standard_normal((2, 3, 5, 6, 2)).astype('float32')
    layer(L.Input(shape=x.shape[1:]))
    weights = _randomize(layer)
    (seq, h, c), _ = apply(layer, x)
    want = np_conv_lstm(x.astype(np.float64), weights, 2, kwargs.get('strides', (1, 1)),
                        kwargs['padding'], kwargs.get('dilation_rate', (1, 1)),
                        kwargs.get('go_backwards', False))
    for got, ref in zip((seq, h, c), want):
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_channels_first_equals_channels_last_transposed():
    x = RNG.standard_normal((2, 3, 4, 5, 1)).astype('float32')
    last = L.ConvLSTM2D(2, 3, padding='same', data_format='channels_last')
    last(L.Input(shape=x.shape[1:]))
    weights = _randomize(last)
    with data_format('channels_first'):
        first = L.ConvLSTM2D(2, 3, padding='same')
    assert first.data_format == 'channels_first'
    x_first = np.transpose(x, (0, 1, 4, 2, 3))
    first(L.Input(shape=x_first.shape[1:]))
    first.set_weights(weights)
    a, _ = apply(last, x)
    b, _ = apply(first, x_first)
    np.testing.assert_allclose(np.transpose(b, (0, 2, 3, 1)), a, rtol=1e-5, atol=1e-6)


def test_conv_rnn2d_with_the_cell_equals_conv_lstm2d():
    x = RNG.standard_normal((2, 3, 4, 4, 1)).astype('float32')
    layer = L.ConvLSTM2D(2, 3, return_sequences=True)
    layer(L.Input(shape=x.shape[1:]))
    weights = _randomize(layer)
    generic = L.ConvRNN2D(L.ConvLSTM2DCell(2, 3), return_sequences=True)
    generic(L.Input(shape=x.shape[1:]))
    generic.set_weights(weights)
    np.testing.assert_allclose(apply(generic, x)[0], apply(layer, x)[0], rtol=1e-6)


def test_gradients_match_finite_differences():
    with floatx('float64'):
        layer = L.ConvLSTM2D(2, (2, 2), padding='same', return_sequences=True)
        layer(L.Input(shape=(2, 3, 3, 1), dtype='float64'))
        _randomize(layer)
        check_grads(layer, RNG.standard_normal((1, 2, 3, 3, 1)), n_checks=4, tol=1e-4)


def test_dropout_applies_only_in_training():
    x = RNG.standard_normal((2, 3, 4, 4, 1)).astype('float32')
    layer = L.ConvLSTM2D(2, 3, padding='same', dropout=0.5, recurrent_dropout=0.5)
    layer(L.Input(shape=x.shape[1:]))
    _randomize(layer)
    plain = L.ConvLSTM2D(2, 3, padding='same')
    plain(L.Input(shape=x.shape[1:]))
    plain.set_weights(layer.get_weights())
    test_out, _ = apply(layer, x, training=False)
    np.testing.assert_allclose(test_out, apply(plain, x)[0], rtol=1e-6)
    train_out, _ = apply(layer, x, training=True)
    assert not np.allclose(train_out, test_out)


def test_stateful_layer_carries_its_states_and_resets():
    x = RNG.standard_normal((2, 2, 3, 3, 1)).astype('float32')
    layer = L.ConvLSTM2D(2, 3, padding='same', stateful=True, return_sequences=True)
    inp = L.Input(batch_shape=x.shape)
    y = layer(inp)
    weights = _randomize(layer)
    f = K.function([inp], [y], updates=layer.updates, mode='reference')
    first = f([x])[0]
    second = f([x])[0]
    both = np.concatenate([x, x], axis=1)
    want = np_conv_lstm(both.astype(np.float64), weights, 2, padding='same')[0]
    np.testing.assert_allclose(np.concatenate([first, second], 1), want, rtol=1e-5, atol=1e-5)
    layer.reset_states()
    np.testing.assert_allclose(f([x])[0], first, rtol=1e-6)


@pytest.mark.parametrize('layer', [
    L.ConvLSTM2D(2, (3, 2), strides=2, padding='same', return_sequences=True,
                 recurrent_activation='sigmoid', kernel_regularizer='l2', dropout=0.1),
    L.ConvLSTM2D(1, 3, dilation_rate=2, go_backwards=True, unit_forget_bias=False,
                 activity_regularizer='l1'),
])
def test_config_round_trip(layer):
    clone = roundtrip(layer)
    config = layer.get_config()
    for key in ('filters', 'kernel_size', 'strides', 'padding', 'data_format', 'dilation_rate',
                'return_sequences', 'go_backwards', 'stateful', 'dropout', 'recurrent_dropout'):
        assert key in config
    x = RNG.standard_normal((2, 3, 5, 5, 1)).astype('float32')
    apply(layer, x)
    apply(clone, x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(apply(clone, x)[0], apply(layer, x)[0], rtol=1e-6)


def test_bad_arguments_and_inputs_are_refused_in_the_users_terms():
    with pytest.raises(TypeError, match="Unrolling"):
        L.ConvRNN2D(L.ConvLSTM2DCell(2, 3), unroll=True)
    with pytest.raises(TypeError, match="stack convolutional cells"):
        L.ConvRNN2D([L.ConvLSTM2DCell(2, 3), L.ConvLSTM2DCell(2, 3)])
    with pytest.raises(ValueError, match="padding"):
        L.ConvLSTM2D(2, 3, padding='causal')
    with pytest.raises(ValueError, match=r"conv_lst_m2d_\d+.*ndim=5"):
        L.ConvLSTM2D(2, 3)(L.Input(shape=(5, 4, 4)))


def test_the_loop_compiles_and_agrees_with_the_reference():
    x = RNG.standard_normal((2, 3, 4, 4, 1)).astype('float32')
    layer = L.ConvLSTM2D(2, (2, 2), padding='same')
    inp = L.Input(shape=(None, 4, 4, 1))
    y = layer(inp)
    weights = _randomize(layer)
    compiled = K.function([inp], [y], mode='compiled')
    got = compiled([x])[0]
    assert compiled.executor_kind == 'compiled'
    np.testing.assert_allclose(got, np_conv_lstm(x.astype(np.float64), weights, 2,
                                                 padding='same')[1], rtol=1e-4, atol=1e-5)
    # a longer sequence (the time axis is symbolic) runs through the same compiled loop
    longer = np.concatenate([x, x], axis=1)
    np.testing.assert_allclose(compiled([longer])[0],
                               np_conv_lstm(longer.astype(np.float64), weights, 2,
                                            padding='same')[1], rtol=1e-4, atol=1e-5)


def test_masked_steps_keep_the_states():
    x = RNG.standard_normal((2, 3, 3, 3, 1)).astype('float32')
    x[1, 2] = 0.                                   # the last step of sample 1 is masked
    layer = L.ConvLSTM2D(2, 3, padding='same')
    inp = L.Input(shape=x.shape[1:])
    masked = L.Masking()(inp)
    y = layer(masked)
    weights = _randomize(layer)
    out = K.function([inp], [y], mode='reference')([x])[0]
    np.testing.assert_allclose(out[0], np_conv_lstm(x[:1].astype(np.float64), weights, 2,
                                                    padding='same')[1][0], rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(out[1], np_conv_lstm(x[1:, :2].astype(np.float64), weights, 2,
                                                    padding='same')[1][0], rtol=1e-5,
                               atol=1e-6)


def test_model_file_round_trip(tmp_path):
    from graphc.models import Sequential, load_model
    from ._helpers import reference_executor
    x = RNG.standard_normal((2, 3, 4, 4, 1)).astype('float32')
    with reference_executor():
        model = Sequential([L.ConvLSTM2D(2, 3, padding='same', return_sequences=True,
                                         input_shape=(None, 4, 4, 1)),
                            L.ConvLSTM2D(1, 2)])
        _randomize(model.layers[0])
        path = str(tmp_path / 'convlstm.h5')
        model.save(path)
        loaded = load_model(path, compile=False)
        assert [type(layer).__name__ for layer in loaded.layers] == ['ConvLSTM2D'] * 2
        np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-6)
