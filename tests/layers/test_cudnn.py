"""CuDNNLSTM and CuDNNGRU on the CPU: values against numpy loops written from CuDNN's
formulas and Keras 2's CuDNN weight layout, gradients, configs, training, HDF5 files, and the
weight conversion between the CuDNN and the generic layers."""
import numpy as np
import pytest

from graphc import layers as L
from graphc.models import Sequential, load_model
from graphc.saving import preprocess_weights_for_loading

from ._helpers import apply, check_grads, floatx, reference_executor, roundtrip

RNG = np.random.default_rng(11)


def sigmoid(x):
    return 1. / (1. + np.exp(-x))


def _cudnn_mats(kernel, recurrent, bias, n_gates):
    """CuDNN's per-gate matrices from Keras 2's storage: W_g (units, input_dim) is the kernel
    block read row by row, R_g (units, units) is the recurrent block as stored."""
    units = recurrent.shape[0]
    d = kernel.shape[0]
    W = [kernel[:, g * units:(g + 1) * units].reshape(units, d) for g in range(n_gates)]
    R = [recurrent[:, g * units:(g + 1) * units] for g in range(n_gates)]
    bw = [bias[g * units:(g + 1) * units] for g in range(n_gates)]
    br = [bias[(n_gates + g) * units:(n_gates + g + 1) * units] for g in range(n_gates)]
    return W, R, bw, br


def np_cudnn_lstm(x, weights, go_backwards=False):
    W, R, bw, br = _cudnn_mats(*weights, 4)
    n, steps, _ = x.shape
    units = R[0].shape[0]
    h, c = np.zeros((n, units)), np.zeros((n, units))
    outs = []
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    for t in order:
        g = [x[:, t] @ W[k].T + h @ R[k].T + bw[k] + br[k] for k in range(4)]
        i, f, o = sigmoid(g[0]), sigmoid(g[1]), sigmoid(g[3])
        c = f * c + i * np.tanh(g[2])
        h = o * np.tanh(c)
        outs.append(h)
    return np.stack(outs, 1), h, c


def np_cudnn_gru(x, weights, go_backwards=False):
    W, R, bw, br = _cudnn_mats(*weights, 3)     # gates z, r, h
    n, steps, _ = x.shape
    units = R[0].shape[0]
    h = np.zeros((n, units))
    outs = []
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    for t in order:
        xt = x[:, t]
        z = sigmoid(xt @ W[0].T + bw[0] + h @ R[0].T + br[0])
        r = sigmoid(xt @ W[1].T + bw[1] + h @ R[1].T + br[1])
        hh = np.tanh(xt @ W[2].T + bw[2] + r * (h @ R[2].T + br[2]))
        h = z * h + (1. - z) * hh
        outs.append(h)
    return np.stack(outs, 1), h


def _randomize(layer, scale=0.5):
    layer.set_weights([RNG.normal(scale=scale, size=w.shape).astype(w.dtype)
                       for w in layer.get_weights()])
    return layer.get_weights()


def test_weight_shapes_and_the_forget_bias_are_keras_224s():
    lstm = L.CuDNNLSTM(3)
    lstm(L.Input(shape=(5, 2)))
    assert [w.shape for w in lstm.get_weights()] == [(2, 12), (3, 12), (24,)]
    assert [w.name for w in lstm.weights] == \
        [f'{lstm.name}/kernel', f'{lstm.name}/recurrent_kernel', f'{lstm.name}/bias']
    bias = lstm.get_weights()[2]
    np.testing.assert_array_equal(bias, np.r_[np.zeros(15), np.ones(3), np.zeros(6)])
    assert lstm.name.startswith('cu_dnnlstm')
    gru = L.CuDNNGRU(3)
    gru(L.Input(shape=(5, 2)))
    assert [w.shape for w in gru.get_weights()] == [(2, 9), (3, 9), (18,)]


@pytest.mark.parametrize('go_backwards', [False, True])
def test_cudnn_lstm_matches_cudnns_formulas(go_backwards):
    layer = L.CuDNNLSTM(3, return_sequences=True, return_state=True, go_backwards=go_backwards)
    x = RNG.standard_normal((2, 4, 2)).astype('float32')
    layer(L.Input(shape=(4, 2)))
    weights = _randomize(layer)
    (seq, h, c), _ = apply(layer, x)
    want_seq, want_h, want_c = np_cudnn_lstm(x.astype(np.float64), weights, go_backwards)
    np.testing.assert_allclose(seq, want_seq, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h, want_h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c, want_c, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('go_backwards', [False, True])
def test_cudnn_gru_matches_cudnns_formulas(go_backwards):
    layer = L.CuDNNGRU(3, return_sequences=True, go_backwards=go_backwards)
    x = RNG.standard_normal((2, 4, 2)).astype('float32')
    layer(L.Input(shape=(4, 2)))
    weights = _randomize(layer)
    seq, _ = apply(layer, x)
    np.testing.assert_allclose(seq, np_cudnn_gru(x.astype(np.float64), weights, go_backwards)[0],
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('make', [lambda: L.CuDNNLSTM(2, return_sequences=True),
                                  lambda: L.CuDNNGRU(2)])
def test_gradients_match_finite_differences(make):
    with floatx('float64'):
        layer = make()
        layer(L.Input(shape=(3, 2), dtype='float64'))
        _randomize(layer)
        check_grads(layer, RNG.standard_normal((2, 3, 2)), tol=1e-4)


@pytest.mark.parametrize('layer', [
    L.CuDNNLSTM(3, unit_forget_bias=False, return_state=True, kernel_regularizer='l2',
                recurrent_constraint='non_neg'),
    L.CuDNNGRU(2, return_sequences=True, go_backwards=True, bias_initializer='ones'),
])
def test_config_round_trip(layer):
    clone = roundtrip(layer)
    config = layer.get_config()
    assert 'dropout' not in config and 'activation' not in config and 'unroll' not in config
    x = RNG.standard_normal((2, 3, 2)).astype('float32')
    apply(layer, x)
    apply(clone, x)
    clone.set_weights(layer.get_weights())
    a, _ = apply(layer, x)
    b, _ = apply(clone, x)
    for u, v in zip(a if isinstance(a, list) else [a], b if isinstance(b, list) else [b]):
        np.testing.assert_allclose(u, v, rtol=1e-6)


def test_options_keras_lacks_and_masks_are_refused_clearly():
    with pytest.raises(TypeError, match="no `dropout` argument"):
        L.CuDNNLSTM(2, dropout=0.2)
    with pytest.raises(TypeError, match="no `unroll` argument"):
        L.CuDNNGRU(2, unroll=True)
    x = L.Input(shape=(3, 2))
    with pytest.raises((TypeError, ValueError), match="mask"):
        L.CuDNNLSTM(2)(L.Masking()(x))


def _to_generic(cls, weights, **kwargs):
    layer = cls(3, **kwargs)
    layer(L.Input(shape=(4, 2)))
    layer.set_weights(preprocess_weights_for_loading(layer, weights))
    return layer


def test_weights_convert_between_cudnn_and_generic_layers_both_ways():
    x = RNG.standard_normal((2, 4, 2)).astype('float32')
    lstm = L.CuDNNLSTM(3, return_sequences=True)
    lstm(L.Input(shape=(4, 2)))
    weights = _randomize(lstm)
    generic = _to_generic(L.LSTM, weights, recurrent_activation='sigmoid',
                          return_sequences=True)
    assert generic.get_weights()[2].shape == (12,)
    want = np_cudnn_lstm(x.astype(np.float64), weights)[0]
    np.testing.assert_allclose(apply(generic, x)[0], want, rtol=1e-5, atol=1e-6)
    back = _to_generic(L.CuDNNLSTM, generic.get_weights(), return_sequences=True)
    np.testing.assert_allclose(apply(back, x)[0], want, rtol=1e-5, atol=1e-6)
    # the CuDNN kernels come back exactly; the two biases only keep their sum
    for a, b in zip(back.get_weights()[:2], weights[:2]):
        np.testing.assert_allclose(a, b, rtol=1e-6)

    gru = L.CuDNNGRU(3, return_sequences=True)
    gru(L.Input(shape=(4, 2)))
    weights = _randomize(gru)
    generic = _to_generic(L.GRU, weights, recurrent_activation='sigmoid', reset_after=True,
                          return_sequences=True)
    want = np_cudnn_gru(x.astype(np.float64), weights)[0]
    np.testing.assert_allclose(apply(generic, x)[0], want, rtol=1e-5, atol=1e-6)
    back = _to_generic(L.CuDNNGRU, generic.get_weights(), return_sequences=True)
    for a, b in zip(back.get_weights(), weights):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    with pytest.raises(ValueError, match="reset_after=True"):
        _to_generic(L.GRU, weights)
    plain = L.GRU(3)
    plain(L.Input(shape=(4, 2)))
    with pytest.raises(ValueError, match="reset_after=True"):
        _to_generic(L.CuDNNGRU, plain.get_weights())


def test_model_trains_saves_and_loads_in_hdf5_and_into_an_lstm(tmp_path):
    # on the reference interpreter: the compiled loop is the LSTM's (tests/layers,
    # tests/codegen); compiling a training step here would cost a minute of the suite
    x = RNG.standard_normal((16, 4, 2)).astype('float32')
    y = (x[:, :, 0].sum(1, keepdims=True) > 0).astype('float32')
    with reference_executor():
        model = Sequential([L.CuDNNLSTM(4, input_shape=(4, 2), name='rnn'),
                            L.Dense(1, activation='sigmoid')])
        model.compile('adam', 'binary_crossentropy')
        before = [w.copy() for w in model.get_weights()]
        model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        assert not np.allclose(before[0], model.get_weights()[0])
        path = str(tmp_path / 'cudnn.h5')
        model.save(path)
        loaded = load_model(path)
        assert type(loaded.layers[0]).__name__ == 'CuDNNLSTM'
        want = model.predict(x)
        np.testing.assert_allclose(loaded.predict(x), want, rtol=1e-5, atol=1e-6)
        # Keras 2: a CuDNN model's weights load into the generic layer with sigmoid gates
        cpu = Sequential([L.LSTM(4, recurrent_activation='sigmoid', input_shape=(4, 2)),
                          L.Dense(1, activation='sigmoid')])
        cpu.load_weights(path)
        np.testing.assert_allclose(cpu.predict(x), want, rtol=1e-5, atol=1e-6)


def test_cudnn_lstm_compiles_to_the_native_loop():
    from graphc import backend as K
    layer = L.CuDNNLSTM(3)
    inp = L.Input(shape=(None, 2))
    y = layer(inp)
    weights = _randomize(layer)
    f = K.function([inp], [y], mode='compiled')
    x = RNG.standard_normal((2, 5, 2)).astype('float32')
    np.testing.assert_allclose(f([x])[0], np_cudnn_lstm(x.astype(np.float64), weights)[1],
                               rtol=1e-4, atol=1e-5)
    assert f.executor_kind == 'compiled'
