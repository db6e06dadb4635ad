"""K.rnn against numpy loops: outputs, go_backwards, masking, unroll=True vs the scan loop,
gradients against finite differences."""
import numpy as np
import pytest

from graphc import backend as K

T, B, D, H = 3, 2, 4, 5
rng = np.random.default_rng(0)
X = rng.normal(size=(B, T, D))
H0 = rng.normal(size=(B, H))
W = rng.normal(size=(D, H))
U = rng.normal(size=(H, H)) * 0.5
BIAS = rng.normal(size=H)
MASK = np.array([[1, 0, 1], [1, 1, 0]], dtype=np.float64)      # (samples, time)


@pytest.fixture(autouse=True)
def _fresh():
    K.clear_session()


def run(outputs, feeds):
    f = K.function([p for p, _ in feeds], list(outputs), mode="reference")
    return f([a for _, a in feeds])


def build(go_backwards=False, mask=False, unroll=False):
    """A SimpleRNN: weights W, U read from the step's closure, the bias passed as a constant."""
    x = K.placeholder(shape=(None, T, D), dtype="float64", name="x")
    h0 = K.placeholder(shape=(None, H), dtype="float64", name="h0")
    m = K.placeholder(shape=(None, T), dtype="float64", name="mask") if mask else None
    w, u = K.variable(W, dtype="float64", name="W"), K.variable(U, dtype="float64", name="U")
    b = K.variable(BIAS, dtype="float64", name="b")

    def step(x_t, states):
        h_prev, bias = states
        h = K.tanh(K.dot(x_t, w) + K.dot(h_prev, u) + bias)
        return h, [h]
    last, outputs, states = K.rnn(step, x, [h0], go_backwards=go_backwards, mask=m,
                                  constants=[b], unroll=unroll)
    feeds = [(x, X), (h0, H0)] + ([(m, MASK)] if mask else [])
    return (last, outputs, states[0]), feeds, (w, u, b), x


def numpy_rnn(go_backwards=False, mask=None):
    order = range(T - 1, -1, -1) if go_backwards else range(T)
    h, prev, outs = H0, np.zeros_like(H0), []
    for t in order:
        new = np.tanh(X[:, t] @ W + h @ U + BIAS)
        if mask is not None:
            keep = mask[:, t:t + 1] != 0
            new = np.where(keep, new, h)
            out = np.where(keep, new, prev)
        else:
            out = new
        outs.append(out)
        h, prev = new, out
    return outs[-1], np.stack(outs, axis=1), h


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("mask", [False, True])
def test_rnn_matches_a_numpy_loop(go_backwards, mask):
    outs, feeds, _, _ = build(go_backwards=go_backwards, mask=mask)
    last, outputs, h = run(outs, feeds)
    exp_last, exp_outputs, exp_h = numpy_rnn(go_backwards, MASK if mask else None)
    assert outputs.shape == (B, T, H) and last.shape == (B, H)
    np.testing.assert_allclose(outputs, exp_outputs, rtol=1e-12)
    np.testing.assert_allclose(last, exp_last, rtol=1e-12)
    np.testing.assert_allclose(h, exp_h, rtol=1e-12)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_last_output_that_is_a_state_is_read_from_the_final_state(go_backwards):
    # the step returns its new state as its output: the last output is that final state (no
    # element of the stacked outputs), so the gradient of a loss on the last output alone
    # gives the stacked outputs no cotangent; with a mask it stays their last element
    (last, outputs, h), feeds, (w, u, b), _ = build(go_backwards=go_backwards)
    assert last.node.op == "scan" and last is h
    grads = K.gradients(K.sum(last * last), [w, u, b])
    back = [n for n in K.function([p for p, _ in feeds], grads).graph.nodes()
            if n.op == "scan" and n.attrs["go_backwards"] != go_backwards]
    assert len(back) == 1 and back[0].attrs["n_seq"] == 2   # x and the saved states only
    got = run([last] + grads, feeds)
    np.testing.assert_allclose(got[0], numpy_rnn(go_backwards)[0], rtol=1e-12)
    (m_last, _, _), _, _, _ = build(go_backwards=go_backwards, mask=True)
    assert m_last.node.op != "scan"                 # an element of the stacked outputs


def test_go_backwards_outputs_are_in_processing_order():
    outs, feeds, _, _ = build(go_backwards=True)
    last, outputs, _ = run(outs, feeds)
    # the first processed step reads the last time step, from the initial state
    np.testing.assert_allclose(outputs[:, 0], np.tanh(X[:, T - 1] @ W + H0 @ U + BIAS))
    np.testing.assert_allclose(last, outputs[:, -1])


def test_masked_step_repeats_the_previous_output():
    outs, feeds, _, _ = build(mask=True)
    _, outputs, h = run(outs, feeds)
    np.testing.assert_allclose(outputs[0, 1], outputs[0, 0])   # sample 0 masked at t=1
    np.testing.assert_allclose(outputs[1, 2], outputs[1, 1])   # sample 1 masked at t=2
    np.testing.assert_allclose(h[1], outputs[1, 1])


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("mask", [False, True])
def test_unroll_equals_the_loop(go_backwards, mask):
    loop, feeds, _, _ = build(go_backwards=go_backwards, mask=mask)
    unrolled, feeds_u, _, _ = build(go_backwards=go_backwards, mask=mask, unroll=True)
    assert not any(n.op == "scan" for n in K.function(
        [p for p, _ in feeds_u], list(unrolled), mode="reference").graph.nodes())
    for a, b in zip(run(loop, feeds), run(unrolled, feeds_u)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def _numeric(f, arr, eps=1e-6):
    g = np.zeros_like(arr)
    for k in range(arr.size):
        p, m = arr.copy(), arr.copy()
        p.flat[k] += eps
        m.flat[k] -= eps
        g.flat[k] = (f(p) - f(m)) / (2 * eps)
    return g


@pytest.mark.parametrize("unroll", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("mask", [True, False])     # unmasked: the last output is a state
def test_gradients_through_rnn_match_finite_differences(unroll, go_backwards, mask):
    (last, outputs, h), feeds, weights, x = build(go_backwards=go_backwards, mask=mask,
                                                  unroll=unroll)
    c_out = K.constant(np.random.default_rng(3).uniform(0.5, 1.5, size=(B, T, H)),
                       dtype="float64")
    loss = K.sum(outputs * c_out) + K.sum(K.square(last)) + K.sum(h)
    grads = K.gradients(loss, list(weights) + [x])
    inputs = [p for p, _ in feeds]
    f_loss = K.function(inputs, [loss], mode="reference")
    got = K.function(inputs, grads, mode="reference")([a for _, a in feeds])
    arrays = [a for _, a in feeds]
    for var, g in zip(weights, got):
        def f(val, var=var):
            old = K.get_value(var)
            K.set_value(var, val)
            try:
                return float(f_loss(arrays)[0])
            finally:
                K.set_value(var, old)
        np.testing.assert_allclose(g, _numeric(f, K.get_value(var).copy()), rtol=1e-5,
                                   atol=1e-8, err_msg=f"gradient w.r.t. {var.name}")
    np.testing.assert_allclose(
        got[-1], _numeric(lambda a: float(f_loss([a] + arrays[1:])[0]), X.copy()),
        rtol=1e-5, atol=1e-8)


def test_lazily_created_dropout_mask_is_built_once_outside_the_loop():
    x = K.placeholder(shape=(None, T, D), dtype="float64")
    cell = {"mask": None}

    def step(x_t, states):
        if cell["mask"] is None:                  # a Keras 2 cell's lazy dropout mask
            cell["mask"] = K.dropout(K.ones_like(x_t), 0.5, seed=3)
        h = x_t * cell["mask"] + states[0]
        return h, [h]
    h0 = K.zeros_like(x[:, 0])
    _, outputs, _ = K.rnn(step, x, [h0])
    out, = run([outputs], [(x, np.ones((B, T, D)))])
    kept = out[:, 0] != 0                         # same mask at every step
    for t in range(T):
        np.testing.assert_allclose(out[:, t], out[:, 0] * (t + 1))
    assert kept.any() and not kept.all()


def test_rnn_errors():
    x2 = K.placeholder(shape=(None, D), dtype="float64")
    with pytest.raises(ValueError, match="at least 3D"):
        K.rnn(lambda x_t, s: (x_t, s), x2, [])
    x = K.placeholder(shape=(None, None, D), dtype="float64")
    with pytest.raises(ValueError, match="unrolling requires a fixed number of timesteps"):
        K.rnn(lambda x_t, s: (x_t, s), x, [], unroll=True)
    with pytest.raises(ValueError, match="mask must be \\(samples, time\\)"):
        K.rnn(lambda x_t, s: (x_t, s), x, [], mask=K.placeholder(shape=(None,)))
