"""The Keras 2 backend API (K) against numpy."""
import json
import os

import numpy as np
import pytest

from graphc import backend as K
from graphc import config


@pytest.fixture(autouse=True)
def _fresh():
    K.clear_session()
    K.set_learning_phase(0)
    yield
    K.clear_session()   # a set learning phase would hold for later tests' fit / predict


def run(outputs, feeds=()):
    """Evaluate ``outputs`` with the reference executor; feeds: [(placeholder, array)]."""
    feeds = list(feeds)
    f = K.function([p for p, _ in feeds], list(outputs), mode="reference")
    return f([a for _, a in feeds])


rng = np.random.default_rng(0)
A = rng.normal(size=(4, 5)).astype("float32")
B = rng.normal(size=(5, 3)).astype("float32")


def test_placeholder_shapes_and_symbols():
    x = K.placeholder(shape=(None, 784))
    assert x.shape == ("B", 784) and K.int_shape(x) == (None, 784) and K.ndim(x) == 2
    s = K.placeholder(shape=(None, None, 8))
    assert s.shape[0] == "B" and isinstance(s.shape[1], str) and s.shape[1] != "B"
    t = K.placeholder(ndim=3, dtype="int32")
    assert t.ndim == 3 and K.dtype(t) == "int32"
    assert K.is_placeholder(x) and K.is_tensor(x) and not K.is_placeholder(K.exp(x))
    assert not K.is_keras_tensor(x)
    with pytest.raises(ValueError, match="Expected a symbolic tensor"):
        K.is_keras_tensor(np.zeros(2))
    sp = K.placeholder(shape=(2,), sparse=True)   # dense, but declared sparse
    assert K.is_sparse(sp) and not K.is_sparse(x) and K.to_dense(sp) is sp


def test_variables_names_values_and_set_value():
    v = K.variable([[1, 2], [3, 4]])
    v1 = K.variable(np.zeros(2))
    assert v.name == "variable" and v1.name == "variable_1"
    with K.name_scope("dense_1"):
        k = K.variable(np.zeros(2), name="kernel")
    assert k.name == "dense_1/kernel"
    assert K.get_value(v).dtype == np.float32 and K.int_shape(v) == (2, 2)
    assert K.count_params(v) == 4 and K.get_variable_shape(v) == (2, 2)
    K.set_value(v, np.ones((2, 2), "float64"))
    assert K.get_value(v).dtype == np.float32 and K.get_value(v).sum() == 4
    with pytest.raises(ValueError, match=r"'variable' has shape \(2, 2\), the new value has "
                                         r"shape \(3,\)"):
        K.set_value(v, np.ones(3))
    K.batch_set_value([(v, np.zeros((2, 2))), (v1, [5, 6])])
    assert [a.tolist() for a in K.batch_get_value([v, v1])] == [[[0, 0], [0, 0]], [5, 6]]
    got = K.get_value(v1)
    got[0] = 100
    assert K.get_value(v1)[0] == 5          # get_value returns a copy
    with pytest.raises(TypeError, match="expects a variable"):
        K.set_value(K.exp(v), 1)


def test_creation_helpers():
    assert K.eval(K.zeros((2, 3))).tolist() == [[0] * 3] * 2
    assert K.is_placeholder(K.zeros(2)) is False and K.zeros(2).op == "variable"
    np.testing.assert_array_equal(K.eval(K.ones((2,), dtype="int32")), [1, 1])
    np.testing.assert_array_equal(K.eval(K.eye(3)), np.eye(3))
    np.testing.assert_array_equal(K.eval(K.eye((2, 3))), np.eye(2, 3))
    np.testing.assert_array_equal(K.eval(K.constant(2.0, shape=(2, 2))), np.full((2, 2), 2.0))
    x = K.placeholder(shape=(None, 3))
    z, o = run([K.zeros_like(x), K.ones_like(x, dtype="int32")], [(x, A[:, :3])])
    assert z.shape == (4, 3) and not z.any() and o.dtype == np.int32 and o.all()
    u = K.get_value(K.random_uniform_variable((50,), -1, 1, seed=1))
    assert u.min() >= -1 and u.max() <= 1 and u.dtype == np.float32
    n1 = K.get_value(K.random_normal_variable((4,), 0, 1, seed=2))
    n2 = K.get_value(K.random_normal_variable((4,), 0, 1, seed=2))
    np.testing.assert_array_equal(n1, n2)
    assert K.cast_to_floatx([1, 2]).dtype == np.float32


def test_reductions_against_numpy():
    x = K.placeholder(shape=(None, 5))
    outs = run([K.sum(x), K.sum(x, axis=1), K.mean(x, axis=[0, 1], keepdims=True),
                K.max(x, 0), K.min(x, -1), K.prod(x, 1), K.var(x, 0), K.std(x, 1),
                K.argmax(x), K.argmin(x, 0), K.logsumexp(x, 1), K.cumsum(x, 1),
                K.cumprod(x, 0), K.any(x > 1.0, 1), K.all(x > -3.0)], [(x, A)])
    expect = [A.sum(), A.sum(1), A.mean(keepdims=True), A.max(0), A.min(-1), A.prod(1),
              A.var(0), A.std(1), A.argmax(-1), A.argmin(0),
              np.log(np.exp(A).sum(1)), A.cumsum(1), A.cumprod(0), (A > 1).any(1),
              (A > -3).all()]
    for got, want in zip(outs, expect):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_mean_of_bool_and_int_is_float():
    x = K.placeholder(shape=(None, 5))
    (m,) = run([K.mean(K.cast(K.greater(x, 0.0), "int32"))], [(x, A)])
    assert m.dtype == np.float32 and np.isclose(m, (A > 0).mean())


def test_elementwise_against_numpy():
    x = K.placeholder(shape=(None, 5))
    P = np.abs(A) + 0.5
    outs = run([K.square(x), K.abs(x), K.exp(x), K.log(x), K.sqrt(x), K.pow(x, 2),
                K.clip(x, 0.6, 1.0), K.sign(x - 1.0), K.round(x * 3.0), K.sin(x), K.cos(x),
                K.maximum(x, 1.0), K.minimum(1.0, x), K.equal(x, x), K.not_equal(x, 1.0),
                K.greater(x, 1.0), K.greater_equal(x, 1.0), K.less(x, 1.0),
                K.less_equal(x, 1.0), K.sqrt(x - 10.0)], [(x, P)])
    expect = [P ** 2, P, np.exp(P), np.log(P), np.sqrt(P), P ** 2, np.clip(P, 0.6, 1.0),
              np.sign(P - 1), np.round(P * 3), np.sin(P), np.cos(P), np.maximum(P, 1),
              np.minimum(1, P), P == P, P != 1, P > 1, P >= 1, P < 1, P <= 1,
              np.zeros_like(P)]
    for got, want in zip(outs, expect):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["reference", "compiled"])
def test_clip_of_float64_keeps_float64_bounds(mode):
    # 0.1 and 0.3 are not float32 numbers: rounded bounds would be off by ~1e-9.
    x = K.placeholder(shape=(None, 4), dtype="float64")
    y = K.clip(x, 0.1, 0.3)
    (dx,) = K.gradients(K.sum(y * y), [x])
    a = np.array([[0.0, 0.1, 0.2, 1.0], [0.3, 0.3 + 1e-12, 0.1 - 1e-12, -1.0]])
    out, grad = K.function([x], [y, dx], mode=mode)([a])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, np.clip(a, 0.1, 0.3))
    inside = (a >= 0.1) & (a <= 0.3)                     # inclusive bounds, as Theano
    np.testing.assert_array_equal(grad, np.where(inside, 2 * np.clip(a, 0.1, 0.3), 0.0))
    # max < min means max = min (Keras 2), and one-sided clips
    lo_only, swapped = K.function([x], [K.clip(x, 0.1, None), K.clip(x, 0.3, 0.1)],
                                  mode=mode)([a])
    np.testing.assert_array_equal(lo_only, np.maximum(a, 0.1))
    np.testing.assert_array_equal(swapped, np.full_like(a, 0.3))


def test_activations_against_numpy():
    x = K.placeholder(shape=(None, 5))
    outs = run([K.relu(x), K.relu(x, alpha=0.1, max_value=1.0), K.elu(x, 0.5),
                K.softplus(x), K.softsign(x), K.sigmoid(x), K.hard_sigmoid(x), K.tanh(x),
                K.softmax(x), K.softmax(x, axis=0), K.log_softmax(x)], [(x, A)])
    e = np.exp(A - A.max(1, keepdims=True))
    sm = e / e.sum(1, keepdims=True)
    e0 = np.exp(A - A.max(0, keepdims=True))
    expect = [np.maximum(A, 0), np.minimum(np.where(A > 0, A, 0.1 * A), 1.0),
              np.where(A > 0, A, 0.5 * (np.exp(A) - 1)), np.log1p(np.exp(A)),
              A / (1 + np.abs(A)), 1 / (1 + np.exp(-A)), np.clip(0.2 * A + 0.5, 0, 1),
              np.tanh(A), sm, e0 / e0.sum(0, keepdims=True), np.log(sm)]
    for got, want in zip(outs, expect):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_linear_algebra_and_shapes():
    x = K.placeholder(shape=(None, 5))
    w = K.variable(B)
    C = rng.normal(size=(4, 5)).astype("float32")
    c = K.constant(C)
    outs = run([K.dot(x, w), K.batch_dot(x, c, axes=1), K.transpose(x),
                K.permute_dimensions(K.reshape(x, (-1, 5, 1)), (0, 2, 1)),
                K.expand_dims(x, 1), K.squeeze(K.expand_dims(x), -1), K.flatten(x),
                K.batch_flatten(K.reshape(x, (4, 5, 1))), K.concatenate([x, x], axis=-1),
                K.stack([x, x], axis=1), K.tile(x, (2, 1)), K.repeat(x, 3),
                K.repeat_elements(x, 2, axis=1), K.reverse(x, 1), x[1:3, ::2], x.T],
               [(x, A)])
    expect = [A @ B, (A * C).sum(1, keepdims=True), A.T, A.reshape(4, 1, 5), A[:, None],
              A, A.reshape(-1), A, np.concatenate([A, A], -1), np.stack([A, A], 1),
              np.tile(A, (2, 1)), np.repeat(A[:, None], 3, 1), np.repeat(A, 2, 1),
              A[:, ::-1], A[1:3, ::2], A.T]
    for got, want in zip(outs, expect):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert K.int_shape(K.dot(x, w)) == (None, 3)
    (s,) = run([K.shape(x)], [(x, A)])
    assert s.tolist() == [4, 5]


def test_gather_one_hot_padding_and_arange():
    emb = K.variable(np.arange(12).reshape(4, 3))
    idx = K.placeholder(shape=(None,), dtype="int32")
    g, oh = run([K.gather(emb, idx), K.one_hot(idx, 4)], [(idx, np.array([3, 0]))])
    np.testing.assert_array_equal(g, [[9, 10, 11], [0, 1, 2]])
    np.testing.assert_array_equal(oh, np.eye(4)[[3, 0]])
    x = K.placeholder(shape=(None, 2, 3, 1))
    X = np.ones((1, 2, 3, 1), "float32")
    p2, pt = run([K.spatial_2d_padding(x, ((1, 0), (0, 2))),
                  K.temporal_padding(K.reshape(x, (-1, 2, 3)), (1, 1))], [(x, X)])
    assert p2.shape == (1, 3, 5, 1) and p2.sum() == 6 and pt.shape == (1, 4, 3)
    np.testing.assert_array_equal(K.eval(K.arange(2, 8, 2)), [2, 4, 6])


def test_crossentropies_follow_keras_formulas():
    eps = K.epsilon()
    t = np.eye(5, dtype="float32")[[0, 2, 4, 1]]
    logits = A
    probs = np.exp(A) / np.exp(A).sum(1, keepdims=True)
    y = K.placeholder(shape=(None, 5))
    o = K.placeholder(shape=(None, 5))
    lab = K.placeholder(shape=(None, 1))
    outs = run([K.categorical_crossentropy(y, o), K.categorical_crossentropy(y, o, True),
                K.sparse_categorical_crossentropy(lab, o),
                K.sparse_categorical_crossentropy(lab, o, from_logits=True),
                K.binary_crossentropy(y, K.sigmoid(o))],
               [(y, t), (o, probs), (lab, np.array([[0], [2], [4], [1]], "float32"))])
    pc = np.clip(probs / probs.sum(1, keepdims=True), eps, 1 - eps)
    want_cat = -(t * np.log(pc)).sum(1)
    np.testing.assert_allclose(outs[0], want_cat, rtol=1e-5)
    lp = probs - np.log(np.exp(probs).sum(1, keepdims=True))      # probs fed as logits
    np.testing.assert_allclose(outs[1], -(t * lp).sum(1), rtol=1e-5)
    np.testing.assert_allclose(outs[2], want_cat, rtol=1e-5)
    np.testing.assert_allclose(outs[3], -lp[range(4), [0, 2, 4, 1]], rtol=1e-5)
    s = np.clip(1 / (1 + np.exp(-probs)), eps, 1 - eps)
    np.testing.assert_allclose(outs[4], -(t * np.log(s) + (1 - t) * np.log(1 - s)),
                               rtol=1e-4, atol=1e-6)
    del logits


def test_crossentropy_of_a_softmax_or_sigmoid_works_on_its_logits():
    # as tf.keras: the loss and its gradient come from the logits, so a confidently wrong
    # prediction (logits +-1e4) has a finite loss and the gradient softmax(z) - t, which
    # Keras 2's eps-clip of the probabilities would have zeroed
    z = K.placeholder(shape=(None, 3))
    y = K.placeholder(shape=(None, 3))
    lab = K.placeholder(shape=(None,), dtype="int64")
    Z = np.array([[1e4, 0.0, -1e4], [0.5, -0.5, 2.0]], "float32")
    T = np.array([[0, 0, 1], [0, 1, 0]], "float32")
    cat = K.categorical_crossentropy(y, K.softmax(z))
    sparse = K.sparse_categorical_crossentropy(lab, K.softmax(z))
    binary = K.binary_crossentropy(y, K.sigmoid(z))
    assert cat.node.op == "softmax_cross_entropy" and cat.node.inputs[0] is z
    assert sparse.node.op == "sparse_softmax_cross_entropy" and sparse.node.inputs[0] is z
    assert binary.node.op == "sigmoid_cross_entropy" and binary.node.inputs[0] is z
    # a softmax along another axis than the loss's is not its logits
    other = K.categorical_crossentropy(y, K.softmax(z, axis=0))
    assert other.node.op != "softmax_cross_entropy"
    feeds = [(z, Z), (y, T), (lab, np.array([2, 1]))]
    grads = [K.gradients(K.sum(loss), [z])[0] for loss in (cat, sparse, binary)]
    lc, ls, gc, gs, gb = run([cat, sparse] + grads, feeds)
    p = np.exp(Z - Z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(lc, [2e4, -np.log(p[1, 1])], rtol=1e-5)
    np.testing.assert_allclose(ls, lc, rtol=1e-6)
    np.testing.assert_allclose(gc, p - T, atol=1e-6)
    np.testing.assert_allclose(gs, p - T, atol=1e-6)
    assert gc[0, 0] == pytest.approx(1.0) and gc[0, 2] == pytest.approx(-1.0)
    sig = 1 / (1 + np.exp(-Z.astype(np.float64)))
    np.testing.assert_allclose(gb, sig - T, atol=1e-6)


def test_l2_normalize_in_top_k_and_batch_norm():
    x = K.placeholder(shape=(None, 5))
    tgt = K.placeholder(shape=(None,), dtype="int32")
    targets = np.array([0, 1, 2, 3])
    normed, mean, var = K.normalize_batch_in_training(x, None, None, [0])
    outs = run([K.l2_normalize(x, axis=1), K.in_top_k(x, tgt, 2), normed, mean, var],
               [(x, A), (tgt, targets)])
    np.testing.assert_allclose(outs[0], A / np.linalg.norm(A, axis=1, keepdims=True),
                               rtol=1e-5)
    rank = (A > A[range(4), targets][:, None]).sum(1)
    np.testing.assert_array_equal(outs[1], rank < 2)
    np.testing.assert_allclose(outs[2], (A - A.mean(0)) / np.sqrt(A.var(0) + 1e-3),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(outs[3], A.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outs[4], A.var(0), rtol=1e-5)


def test_conv_pool_and_bias_add():
    x = K.placeholder(shape=(None, 5, 5, 2))
    X = rng.normal(size=(1, 5, 5, 2)).astype("float32")
    Kr = rng.normal(size=(3, 3, 2, 4)).astype("float32")
    conv, pool, avg, biased = run(
        [K.conv2d(x, K.constant(Kr)), K.pool2d(x, (2, 2), strides=(2, 2)),
         K.pool2d(x, (5, 5), pool_mode="avg"), K.bias_add(x, K.constant([1.0, 2.0]))],
        [(x, X)])
    want = np.zeros((1, 3, 3, 4), "float32")
    for i in range(3):
        for j in range(3):
            want[0, i, j] = np.tensordot(X[0, i:i + 3, j:j + 3], Kr, axes=3)
    np.testing.assert_allclose(conv, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(pool[0, 0, 0], X[0, :2, :2].max((0, 1)))
    np.testing.assert_allclose(avg[0, 0, 0], X[0].mean((0, 1)), rtol=1e-5)
    np.testing.assert_allclose(biased, X + [1.0, 2.0])
    s = K.placeholder(shape=(None, 6, 2))
    c1 = K.conv1d(s, K.constant(np.ones((3, 2, 1))), padding="causal")
    (out,) = run([c1], [(s, np.ones((1, 6, 2), "float32"))])
    np.testing.assert_allclose(out[0, :, 0], [2, 4, 6, 6, 6, 6])


def test_gradients_against_numpy():
    x = K.placeholder(shape=(None, 5))
    w = K.variable(B)
    loss = K.mean(K.square(K.dot(x, w)))
    grads = K.gradients(loss, [w])
    assert isinstance(grads, list) and len(grads) == 1
    (g,) = run(grads, [(x, A)])
    np.testing.assert_allclose(g, 2 * A.T @ (A @ B) / (4 * 3), rtol=1e-5)
    (gs,) = run(K.gradients(K.sum(K.stop_gradient(x * w[:, 0]) * w[:, 0]), [w]), [(x, A)])
    assert np.allclose(gs[:, 1:], 0) and np.allclose(gs[:, 0], (A * B[:, 0]).sum(0))


def test_update_helpers():
    w = K.variable([1.0, 2.0])
    for pair, want in [(K.update(w, [5.0, 5.0]), [5, 5]), (K.update_add(w, 1.0), [6, 6]),
                       (K.update_sub(w, [1.0, 2.0]), [5, 4]),
                       (K.moving_average_update(w, K.constant([1.0, 0.0]), 0.5), [3, 2])]:
        assert pair[0] is w
        K.function([], [], updates=[pair], mode="reference")([])
        np.testing.assert_allclose(K.get_value(w), want)


def test_switch_and_learning_phase():
    x = K.placeholder(shape=(None, 3))
    y = K.in_train_phase(x * 2.0, x * 3.0)
    assert y._uses_learning_phase
    f = K.function([x], [y], mode="reference")
    ones = np.ones((2, 3), "float32")
    assert f([ones])[0][0, 0] == 3.0                 # learning phase 0 by default
    K.set_learning_phase(1)
    assert f([ones])[0][0, 0] == 2.0                 # fed with the current value
    K.set_learning_phase(0)
    g = K.function([x, K.learning_phase()], [y], mode="reference")
    assert g([ones, 1])[0][0, 0] == 2.0 and g([ones, 0])[0][0, 0] == 3.0
    assert K.in_train_phase(x, x * 2.0, training=1) is x
    assert K.in_test_phase(x, lambda: x * 2.0, training=0) is x
    with pytest.raises(ValueError, match="0 or 1"):
        K.set_learning_phase(2)
    c = K.placeholder(shape=(None,))
    (s,) = run([K.switch(K.greater(c, 0.0), x, -x)], [(x, ones), (c, np.array([1.0, -1.0]))])
    np.testing.assert_array_equal(s, [[1, 1, 1], [-1, -1, -1]])


def test_dropout_scales_kept_units_and_follows_noise_shape():
    x = K.placeholder(shape=(None, 4, 100))
    (d,) = run([K.dropout(x, 0.25, noise_shape=(None, 1, 100), seed=1)],
               [(x, np.ones((3, 4, 100), "float32"))])
    assert set(np.unique(d)) <= {0.0, np.float32(1 / 0.75)}
    assert (d == d[:, :1, :]).all()                          # same mask along axis 1
    with pytest.raises(ValueError, match="level must be in"):
        K.dropout(x, 1.0)


def test_random_tensors():
    x = K.placeholder(shape=(None, 3))
    u, n, t, b = run([K.random_uniform((1000,), -2.0, -1.0, seed=1),
                      K.random_normal(K.shape(x), 5.0, 0.1, seed=2),
                      K.truncated_normal((1000,), 0.0, 1.0, seed=3),
                      K.random_binomial((1000,), 0.3, seed=4)], [(x, np.zeros((7, 3)))])
    assert u.min() >= -2 and u.max() <= -1 and n.shape == (7, 3) and abs(n.mean() - 5) < 0.2
    assert np.abs(t).max() <= 2.0 and set(np.unique(b)) <= {0.0, 1.0}


def test_python_operators_and_custom_metric_mean_pred():
    def mean_pred(y_true, y_pred):
        return K.mean(y_pred)

    yt = K.placeholder(shape=(None, 3))
    yp = K.placeholder(shape=(None, 3))
    expr = (yp + 1.0) * 2.0 - yp / 2.0 - (-yp) ** 2 + abs(yp)
    m, e = run([mean_pred(yt, yp), expr], [(yt, A[:, :3]), (yp, A[:, :3])])
    P = A[:, :3]
    np.testing.assert_allclose(m, P.mean(), rtol=1e-6)
    np.testing.assert_allclose(e, (P + 1) * 2 - P / 2 - P ** 2 + np.abs(P), rtol=1e-5)


def test_settings_floatx_epsilon_and_image_data_format():
    assert K.floatx() == "float32" and K.epsilon() == 1e-7
    assert K.image_data_format() == "channels_last" and K.backend() == "graphc"
    try:
        K.set_floatx("float64")
        assert K.variable(1.0).dtype == "float64" and K.placeholder(shape=(2,)).dtype == "float64"
        K.set_epsilon(1e-4)
        assert K.epsilon() == 1e-4
        K.set_image_data_format("channels_first")
        assert K.image_data_format() == "channels_first"
        with pytest.raises(ValueError, match="valid choices are: float16, float32, float64"):
            K.set_floatx("float8")
        with pytest.raises(ValueError, match="channels_last, channels_first"):
            K.set_image_data_format("nchw")
    finally:
        config.reset()


def test_graphc_json_unknown_setting_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHC_HOME", str(tmp_path))
    (tmp_path / "graphc.json").write_text(json.dumps({"floatx": "float32", "flaotx": 1}))
    config.reset()
    try:
        with pytest.raises(config.ConfigError, match="unknown setting 'flaotx'.*valid settings"):
            K.floatx()
    finally:
        monkeypatch.undo()
        config.reset()
    assert os.environ["GRAPHC_HOME"] != str(tmp_path) and K.floatx() == "float32"


def test_uids_and_clear_session():
    assert K.get_uid("dense") == 1 and K.get_uid("dense") == 2 and K.get_uid("conv") == 1
    lp = K.learning_phase()
    K.clear_session()
    assert K.get_uid("dense") == 1 and K.learning_phase() is not lp
    K.manual_variable_initialization(True)
    K.manual_variable_initialization(False)


def test_errors_are_clear():
    x = K.placeholder(shape=(None, 5))
    with pytest.raises(ValueError, match="cannot be broadcast"):
        x + K.constant(np.zeros(4))
    with pytest.raises(ValueError, match="depend on the placeholder"):
        K.eval(x * 2.0)
    with pytest.raises(TypeError, match="K.variable takes an array-like"):
        K.variable(x)
    with pytest.raises(ValueError, match="at most one dimension"):
        K.reshape(x, (-1, -1))
