"""Recurrent layers: SimpleRNN, GRU, LSTM and RNN(cell) against numpy loops; masking,
go_backwards, return_state, stateful batches, unroll, initial states, dropout, gradients,
configs, errors and a short training run."""
import numpy as np
import pytest

from graphc import backend as K
from graphc import layers as L

from ._helpers import apply, check_grads, floatx, reference_executor, roundtrip

RNG = np.random.default_rng(7)


def hard_sigmoid(x):
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


def np_simple(x_t, states, w):
    k, r, b = w
    h = np.tanh(x_t @ k + states[0] @ r + b)
    return h, [h]


def np_gru(x_t, states, w, reset_after=False):
    k, r, b = w
    u = r.shape[0]
    h = states[0]
    bi, br = (b[0], b[1]) if reset_after else (b, np.zeros_like(b))
    xz, xr, xh = np.split(x_t @ k + bi, 3, axis=-1)
    rz, rr, rh = np.split(h @ r + br, 3, axis=-1)
    z = hard_sigmoid(xz + rz)
    rgate = hard_sigmoid(xr + rr)
    if reset_after:
        hh = np.tanh(xh + rgate * rh)
    else:
        hh = np.tanh(xh + (rgate * h) @ r[:, 2 * u:])
    h_new = z * h + (1 - z) * hh
    return h_new, [h_new]


def np_lstm(x_t, states, w):
    k, r, b = w
    h, c = states
    i, f, g, o = np.split(x_t @ k + h @ r + b, 4, axis=-1)
    c_new = hard_sigmoid(f) * c + hard_sigmoid(i) * np.tanh(g)
    h_new = hard_sigmoid(o) * np.tanh(c_new)
    return h_new, [h_new, c_new]


def np_rnn(step, x, states, mask=None, go_backwards=False):
    """Keras 2 loop: masked steps keep the states and repeat the previous output (zeros at
    first); outputs in processing order."""
    order = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
    prev = None
    outputs = []
    for t in order:
        out, new = step(x[:, t], states)
        if mask is not None:
            m = mask[:, t][:, None]
            prev = np.zeros_like(out) if prev is None else prev
            out = np.where(m, out, prev)
            new = [np.where(m, a, s) for a, s in zip(new, states)]
        outputs.append(out)
        states, prev = new, out
    return np.stack(outputs, axis=1), states


def _randomize(layer, scale=0.5):
    layer.set_weights([RNG.standard_normal(w.shape) * scale for w in layer.get_weights()])
    return layer.get_weights()


CASES = [
    ('simple', lambda **kw: L.SimpleRNN(3, **kw), np_simple, 1),
    ('gru', lambda **kw: L.GRU(3, **kw), np_gru, 1),
    ('gru_reset_after', lambda **kw: L.GRU(3, reset_after=True, **kw),
     lambda x, s, w: np_gru(x, s, w, reset_after=True), 1),
    ('lstm', lambda **kw: L.LSTM(3, **kw), np_lstm, 2),
]


@pytest.mark.parametrize('name,make,ref,n_states', CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize('go_backwards', [False, True])
def test_sequences_match_numpy(name, make, ref, n_states, go_backwards):
    x = RNG.standard_normal((2, 5, 4)).astype('float32')
    layer = make(return_sequences=True, go_backwards=go_backwards)
    apply(layer, x)
    w = _randomize(layer)
    y, _ = apply(layer, x)
    zeros = [np.zeros((2, 3))] * n_states
    want, _ = np_rnn(lambda xt, s: ref(xt, s, w), x, zeros, go_backwards=go_backwards)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)
    last = make(go_backwards=go_backwards)
    apply(last, x)
    last.set_weights(w)
    y_last, sym = apply(last, x)
    assert sym._keras_shape == (None, 3)
    np.testing.assert_allclose(y_last, want[:, -1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('name,make,ref,n_states', CASES, ids=[c[0] for c in CASES])
def test_return_state_gives_the_final_states(name, make, ref, n_states):
    x = RNG.standard_normal((2, 4, 4)).astype('float32')
    layer = make(return_state=True)
    outs, syms = apply(layer, x)
    w = _randomize(layer)
    outs, syms = apply(layer, x)
    assert len(outs) == 1 + n_states
    assert [s._keras_shape for s in syms] == [(None, 3)] * (1 + n_states)
    seq, states = np_rnn(lambda xt, s: ref(xt, s, w), x, [np.zeros((2, 3))] * n_states)
    np.testing.assert_allclose(outs[0], seq[:, -1], rtol=1e-4, atol=1e-5)
    for got, want in zip(outs[1:], states):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_lstm_weight_layout_and_unit_forget_bias():
    layer = L.LSTM(5)
    layer(L.Input(shape=(3, 2)))
    kernel, recurrent, bias = layer.get_weights()
    assert kernel.shape == (2, 20) and recurrent.shape == (5, 20) and bias.shape == (20,)
    np.testing.assert_array_equal(bias, np.r_[np.zeros(5), np.ones(5), np.zeros(10)])
    assert [w.name for w in layer.weights] == ['lstm_1/kernel', 'lstm_1/recurrent_kernel',
                                               'lstm_1/bias'] or \
        all(w.name.startswith(layer.name + '/') for w in layer.weights)
    gru = L.GRU(4, reset_after=True)
    gru(L.Input(shape=(3, 2)))
    assert [w.shape for w in gru.get_weights()] == [(2, 12), (4, 12), (2, 12)]


@pytest.mark.parametrize('name,make,ref,n_states', CASES, ids=[c[0] for c in CASES])
def test_masking_from_embedding(name, make, ref, n_states):
    ids = np.array([[3, 1, 2, 0, 0], [1, 4, 2, 2, 1], [2, 0, 0, 0, 0]])
    inp = L.Input(shape=(5,), dtype='int32')
    emb = L.Embedding(5, 4, mask_zero=True)
    layer = make(return_sequences=True)
    y = layer(emb(inp))
    assert y._keras_mask is not None
    f = K.function([inp], [y, y._keras_mask], mode='reference')
    w = _randomize(layer)
    out, mask = f([ids])
    np.testing.assert_array_equal(mask, ids != 0)
    table = emb.get_weights()[0]
    want, _ = np_rnn(lambda xt, s: ref(xt, s, w), table[ids], [np.zeros((3, 3))] * n_states,
                     mask=ids != 0)
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)
    # the last output of a padded sequence is that of its last real step
    last = make()
    y_last = last(emb(inp))
    last.set_weights(w)
    out_last = K.function([inp], [y_last], mode='reference')([ids])[0]
    np.testing.assert_allclose(out_last[0], want[0, 2], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out_last[2], want[2, 0], rtol=1e-4, atol=1e-5)


def test_masking_layer_skips_all_zero_steps():
    x = RNG.standard_normal((2, 4, 3)).astype('float32')
    x[0, 2:] = 0.0
    inp = L.Input(shape=(4, 3))
    layer = L.LSTM(2)
    y = layer(L.Masking(0.0)(inp))
    out = K.function([inp], [y], mode='reference')([x])[0]
    short = L.LSTM(2)
    y2 = short(L.Input(shape=(2, 3)))
    short.set_weights(layer.get_weights())
    out2, _ = apply(short, x[:1, :2])
    np.testing.assert_allclose(out[0], out2[0], rtol=1e-5, atol=1e-6)


def test_stateful_lstm_carries_states_across_batches_and_resets():
    x = RNG.standard_normal((2, 6, 3)).astype('float32')
    layer = L.LSTM(4, stateful=True, return_sequences=True)
    inp = L.Input(batch_shape=(2, 3, 3))
    y = layer(inp)
    f = K.function([inp], [y], updates=layer.updates, mode='reference')
    first = f([x[:, :3]])[0]
    second = f([x[:, 3:]])[0]
    whole = L.LSTM(4, return_sequences=True)
    whole(L.Input(shape=(6, 3)))
    whole.set_weights(layer.get_weights())
    want, _ = apply(whole, x)
    np.testing.assert_allclose(np.concatenate([first, second], 1), want, rtol=1e-4,
                               atol=1e-5)
    layer.reset_states()
    np.testing.assert_allclose(f([x[:, :3]])[0], first, rtol=1e-5, atol=1e-6)
    h = np.ones((2, 4), 'float32')
    layer.reset_states([h, np.zeros((2, 4))])
    np.testing.assert_array_equal(K.get_value(layer.states[0]), h)
    with pytest.raises(ValueError, match=r"lstm_\d+.*state 0.*\(2, 4\)"):
        layer.reset_states([np.zeros((3, 4)), np.zeros((2, 4))])


def test_stateful_model_predict_and_reset():
    from graphc.models import Sequential
    x = RNG.standard_normal((2, 3, 2)).astype('float32')
    model = Sequential([L.SimpleRNN(3, stateful=True, batch_input_shape=(2, 3, 2))])
    with reference_executor():
        a = model.predict(x, batch_size=2)
        b = model.predict(x, batch_size=2)
        model.reset_states()
        c = model.predict(x, batch_size=2)
    assert not np.allclose(a, b)
    np.testing.assert_allclose(a, c, rtol=1e-5)


def test_stateful_needs_a_batch_size():
    with pytest.raises(ValueError, match=r"batch size"):
        L.GRU(2, stateful=True)(L.Input(shape=(3, 2)))


@pytest.mark.parametrize('name,make,ref,n_states', CASES, ids=[c[0] for c in CASES])
def test_unroll_equals_the_loop(name, make, ref, n_states):
    x = RNG.standard_normal((2, 4, 3)).astype('float32')
    looped = make(return_sequences=True, go_backwards=True)
    apply(looped, x)
    w = _randomize(looped)
    unrolled = make(return_sequences=True, go_backwards=True, unroll=True)
    apply(unrolled, x)
    unrolled.set_weights(w)
    a, _ = apply(looped, x)
    b, _ = apply(unrolled, x)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"unroll"):
        make(unroll=True)(L.Input(shape=(None, 3)))


def test_initial_state_as_keras_tensors():
    x = RNG.standard_normal((2, 4, 3)).astype('float32')
    h0 = RNG.standard_normal((2, 5)).astype('float32')
    c0 = RNG.standard_normal((2, 5)).astype('float32')
    inp, hi, ci = L.Input(shape=(4, 3)), L.Input(shape=(5,)), L.Input(shape=(5,))
    layer = L.LSTM(5, return_sequences=True)
    y = layer(inp, initial_state=[hi, ci])
    assert y._keras_shape == (None, 4, 5)
    w = _randomize(layer)
    out = K.function([inp, hi, ci], [y], mode='reference')([x, h0, c0])[0]
    want, _ = np_rnn(lambda xt, s: np_lstm(xt, s, w), x, [h0, c0])
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)
    # the layer's inbound node lists the states as inputs (the functional graph sees them)
    assert len(layer._inbound_nodes[0].input_tensors) == 3


def test_dropout_is_active_only_in_training():
    x = RNG.standard_normal((3, 4, 5)).astype('float32')
    plain = L.LSTM(4)
    apply(plain, x)
    drop = L.LSTM(4, dropout=0.5, recurrent_dropout=0.5)
    out_sym = drop(L.Input(shape=(4, 5)))
    assert out_sym._uses_learning_phase
    drop.set_weights(plain.get_weights())
    test_out, _ = apply(drop, x, training=False)
    want, _ = apply(plain, x)
    np.testing.assert_allclose(test_out, want, rtol=1e-5, atol=1e-6)
    train_out, _ = apply(drop, x, training=True)
    assert not np.allclose(train_out, want)
    # the same sequence is dropped identically at every step: the masks are loop-invariant
    gru = L.GRU(3, dropout=0.99)
    y, _ = apply(gru, np.repeat(x[:, :1], 4, axis=1), training=True)
    assert np.isfinite(y).all()


@pytest.mark.parametrize('make', [
    lambda: L.SimpleRNN(2, return_sequences=True),
    lambda: L.GRU(2, go_backwards=True),
    lambda: L.GRU(2, reset_after=True, return_sequences=True),
    lambda: L.LSTM(2, return_sequences=True, recurrent_activation='sigmoid'),
])
def test_gradients_match_finite_differences(make):
    with floatx('float64'):
        layer = make()
        x = RNG.standard_normal((2, 3, 2))
        layer(L.Input(shape=(3, 2), dtype='float64'))
        _randomize(layer)
        check_grads(layer, x, tol=1e-4)


def test_custom_cell_through_rnn():
    class MinimalRNNCell(L.Layer):
        def __init__(self, units, **kwargs):
            self.units = units
            self.state_size = units
            super().__init__(**kwargs)

        def build(self, input_shape):
            self.kernel = self.add_weight('kernel', (input_shape[-1], self.units))
            self.recurrent_kernel = self.add_weight('recurrent_kernel',
                                                    (self.units, self.units))
            self.built = True

        def call(self, inputs, states):
            h = K.dot(inputs, self.kernel)
            output = h + K.dot(states[0], self.recurrent_kernel)
            return output, [output]

    x = RNG.standard_normal((2, 3, 2)).astype('float32')
    layer = L.RNN(MinimalRNNCell(4), return_sequences=True)
    y, _ = apply(layer, x)
    k, r = layer.get_weights()
    want, _ = np_rnn(lambda xt, s: (xt @ k + s[0] @ r, [xt @ k + s[0] @ r]), x,
                     [np.zeros((2, 4))])
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)

    stacked = L.RNN([L.SimpleRNNCell(3), L.LSTMCell(2)], return_state=True)
    outs, syms = apply(stacked, x)
    # Keras 2 order: the last cell's states first ([h2, c2, h1])
    assert [s._keras_shape for s in syms] == [(None, 2), (None, 2), (None, 2), (None, 3)]
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-6)
    assert len(stacked.weights) == 6


@pytest.mark.parametrize('layer', [
    L.SimpleRNN(3, activation='relu', dropout=0.1, return_sequences=True,
                kernel_regularizer='l2'),
    L.GRU(4, reset_after=True, recurrent_activation='sigmoid', go_backwards=True,
          stateful=False, unroll=True),
    L.LSTM(2, unit_forget_bias=False, return_state=True, recurrent_constraint='non_neg',
           implementation=2),
    L.RNN(L.LSTMCell(3), return_sequences=True),
    L.RNN([L.GRUCell(2), L.SimpleRNNCell(3)]),
])
def test_config_round_trip(layer):
    clone = roundtrip(layer)
    x = RNG.standard_normal((2, 3, 2)).astype('float32')
    apply(layer, x)
    apply(clone, x)
    clone.set_weights(layer.get_weights())
    a, _ = apply(layer, x)
    b, _ = apply(clone, x)
    for u, v in zip(a if isinstance(a, list) else [a], b if isinstance(b, list) else [b]):
        np.testing.assert_allclose(u, v, rtol=1e-6)


def test_rnn_fed_2d_data_names_the_layer():
    with pytest.raises(ValueError, match=r"lstm_\d+.*ndim=3.*ndim=2"):
        L.LSTM(2)(L.Input(shape=(5,)))
    with pytest.raises(ValueError, match=r"simple_rnn_\d+.*ndim=3"):
        L.SimpleRNN(2)(L.Input(shape=(5, 2, 2)))


def test_regularizer_losses_are_collected():
    layer = L.GRU(2, kernel_regularizer='l2', recurrent_regularizer='l1', bias_regularizer='l2')
    layer(L.Input(shape=(3, 2)))
    assert len(layer.losses) == 3
    assert len(layer.get_losses_for(None)) == 3


def test_lstm_learns_a_sequence_rule():
    from graphc.models import Sequential
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 6, 1)).astype('float32')
    y = (x[:, :3, 0].sum(1) > 0).astype('float32')[:, None]   # depends on early steps
    from graphc.optimizers import Adam
    from graphc.initializers import glorot_uniform
    model = Sequential([L.LSTM(6, input_shape=(6, 1), kernel_initializer=glorot_uniform(seed=1)),
                        L.Dense(1, activation='sigmoid',
                                kernel_initializer=glorot_uniform(seed=2))])
    with reference_executor():
        model.compile(Adam(lr=0.02), 'binary_crossentropy', metrics=['accuracy'])
        before = model.evaluate(x, y, verbose=0)
        model.fit(x, y, epochs=40, batch_size=32, verbose=0)
        after = model.evaluate(x, y, verbose=0)
    assert after[0] < before[0] * 0.6
    assert after[1] >= 0.85
