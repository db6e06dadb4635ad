"""TimeDistributed and Bidirectional: values, shapes, merge modes, states, gradients,
configs."""
import numpy as np
import pytest

from graphc import backend as K
from graphc import layers as L

from ._helpers import apply, check_grads, floatx, roundtrip

RNG = np.random.default_rng(8)


def test_time_distributed_dense_applies_the_same_weights_at_every_step():
    x = RNG.standard_normal((2, 4, 3)).astype('float32')
    layer = L.TimeDistributed(L.Dense(5, activation='tanh'))
    y, sym = apply(layer, x)
    assert sym._keras_shape == (None, 4, 5)
    k, b = layer.get_weights()
    np.testing.assert_allclose(y, np.tanh(x @ k + b), rtol=1e-5, atol=1e-6)


def test_time_distributed_with_unknown_time_axis_loops():
    x = RNG.standard_normal((2, 4, 3)).astype('float32')
    layer = L.TimeDistributed(L.Dense(2))
    inp = L.Input(shape=(None, 3))
    y = layer(inp)
    assert y._keras_shape == (None, None, 2)
    out = K.function([inp], [y], mode='reference')([x])[0]
    k, b = layer.get_weights()
    np.testing.assert_allclose(out, x @ k + b, rtol=1e-5, atol=1e-6)


def test_time_distributed_conv2d_and_dropout():
    x = RNG.standard_normal((2, 3, 5, 5, 1)).astype('float32')
    layer = L.TimeDistributed(L.Conv2D(2, 3, data_format='channels_last'))
    y, sym = apply(layer, x)
    assert y.shape == (2, 3, 3, 3, 2) and sym._keras_shape == (None, 3, 3, 3, 2)
    drop = L.TimeDistributed(L.Dropout(0.5))
    y, sym = apply(drop, x, training=True)
    assert sym._uses_learning_phase
    assert set(np.unique(np.round(y / np.where(x == 0, 1, x), 4))) <= {0.0, 2.0}


def test_time_distributed_gradients_and_config():
    with floatx('float64'):
        check_grads(L.TimeDistributed(L.Dense(2)), RNG.standard_normal((2, 3, 2)))
    clone = roundtrip(L.TimeDistributed(L.Dense(3, activation='relu')))
    assert clone.layer.units == 3
    with pytest.raises(ValueError, match=r"time_distributed_\d+.*3-D"):
        L.TimeDistributed(L.Dense(2))(L.Input(shape=(4,)))


def _np_simple_rnn(x, k, r, b, backwards=False):
    h = np.zeros((x.shape[0], r.shape[0]))
    outs = []
    steps = range(x.shape[1] - 1, -1, -1) if backwards else range(x.shape[1])
    for t in steps:
        h = np.tanh(x[:, t] @ k + h @ r + b)
        outs.append(h)
    return np.stack(outs, 1), h


@pytest.mark.parametrize('merge_mode', ['concat', 'sum', 'mul', 'ave', None])
def test_bidirectional_merge_modes(merge_mode):
    x = RNG.standard_normal((2, 4, 3)).astype('float32')
    layer = L.Bidirectional(L.SimpleRNN(2, return_sequences=True), merge_mode=merge_mode)
    out, sym = apply(layer, x)
    w = layer.get_weights()
    assert len(w) == 6
    fwd, _ = _np_simple_rnn(x, *w[:3])
    bwd, _ = _np_simple_rnn(x, *w[3:], backwards=True)
    bwd = bwd[:, ::-1]                     # aligned with time
    want = {'concat': np.concatenate([fwd, bwd], -1), 'sum': fwd + bwd, 'mul': fwd * bwd,
            'ave': (fwd + bwd) / 2, None: [fwd, bwd]}[merge_mode]
    if merge_mode is None:
        for o, wnt in zip(out, want):
            np.testing.assert_allclose(o, wnt, rtol=1e-4, atol=1e-5)
    else:
        np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)


def test_bidirectional_last_output_and_states():
    x = RNG.standard_normal((2, 5, 3)).astype('float32')
    layer = L.Bidirectional(L.LSTM(2, return_state=True))
    outs, syms = apply(layer, x)
    assert [s._keras_shape for s in syms] == [(None, 4)] + [(None, 2)] * 4
    np.testing.assert_allclose(outs[0][:, :2], outs[1], rtol=1e-6)   # forward h
    np.testing.assert_allclose(outs[0][:, 2:], outs[3], rtol=1e-6)   # backward h
    layer2 = L.Bidirectional(L.SimpleRNN(2))
    y, _ = apply(layer2, x)
    w = layer2.get_weights()
    _, hf = _np_simple_rnn(x, *w[:3])
    _, hb = _np_simple_rnn(x, *w[3:], backwards=True)
    np.testing.assert_allclose(y, np.concatenate([hf, hb], -1), rtol=1e-4, atol=1e-5)


def test_bidirectional_with_masking_and_initial_weights():
    ids = np.array([[1, 2, 0], [3, 1, 2]])
    inp = L.Input(shape=(3,), dtype='int32')
    emb = L.Embedding(4, 3, mask_zero=True)
    bi = L.Bidirectional(L.SimpleRNN(2))
    y = bi(emb(inp))
    out = K.function([inp], [y], mode='reference')([ids])[0]
    table = emb.get_weights()[0]
    w = bi.get_weights()
    _, hf = _np_simple_rnn(table[ids[:1, :2]], *w[:3])
    _, hb = _np_simple_rnn(table[ids[:1, :2]], *w[3:], backwards=True)
    np.testing.assert_allclose(out[0], np.r_[hf[0], hb[0]], rtol=1e-4, atol=1e-5)

    weights = [RNG.standard_normal(a.shape).astype('float32') for a in w]
    again = L.Bidirectional(L.SimpleRNN(2), weights=weights)
    again(L.Input(shape=(3, 3)))
    for got, want in zip(again.get_weights(), weights):
        np.testing.assert_array_equal(got, want)


def test_bidirectional_gradients_and_config():
    with floatx('float64'):
        check_grads(L.Bidirectional(L.GRU(2, return_sequences=True), merge_mode='sum'),
                    RNG.standard_normal((2, 3, 2)), tol=1e-4)
    clone = roundtrip(L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode='ave'))
    assert clone.merge_mode == 'ave' and clone.forward_layer.units == 3
    assert clone.backward_layer.go_backwards and not clone.forward_layer.go_backwards
    with pytest.raises(ValueError, match=r"merge_mode"):
        L.Bidirectional(L.LSTM(2), merge_mode='max')
    with pytest.raises(ValueError, match=r"recurrent layer"):
        L.Bidirectional(L.Dense(2))
