"""K.map_fn / foldl / foldr, K.print_tensor, random shapes with run-time sizes, K.eval of random
tensors, and CTC (loss, decoding, label conversion) against numpy references."""
import itertools

import numpy as np
import pytest

import graphc.backend as K


# -- map_fn, foldl, foldr -------------------------------------------------------------------

@pytest.fixture(scope="module")
def folds():
    a = K.placeholder((4, 3))
    x = K.placeholder((None, 3))
    mapped = K.map_fn(lambda r: K.sum(K.square(r)) + K.constant(1.), x)
    left = K.foldl(lambda acc, v: acc * 2. + v, a)
    right = K.foldr(lambda acc, v: acc * 2. + v, a, initializer=np.zeros(3, "float32"))
    grad = K.gradients(K.sum(left * K.constant([1., 2., 3.])) + K.sum(right), [a])[0]
    f = K.function([a, x], [mapped, left, right, grad])
    return f


def test_map_fn_applies_fn_to_each_row(folds):
    x = np.arange(15, dtype="float32").reshape(5, 3)
    mapped = folds([np.zeros((4, 3), "float32"), x])[0]
    np.testing.assert_allclose(mapped, (x ** 2).sum(axis=1) + 1, rtol=1e-6)


def test_foldl_and_foldr_visit_the_elements_in_order_and_differentiate(folds):
    a = np.random.RandomState(1).randn(4, 3).astype("float32")
    _, left, right, grad = folds([a, np.zeros((2, 3), "float32")])
    acc = a[0]
    for row in a[1:]:
        acc = acc * 2 + row
    np.testing.assert_allclose(left, acc, rtol=1e-5)
    acc = np.zeros(3)
    for row in a[::-1]:
        acc = acc * 2 + row
    np.testing.assert_allclose(right, acc, rtol=1e-5)
    # d left / d a[k] = 2 ** (3 - k) (the first element starts the accumulator),
    # d right / d a[k] = 2 ** k
    want = np.array([2. ** (3 - k) for k in range(4)])[:, None] * [1., 2., 3.] + \
        np.array([2. ** k for k in range(4)])[:, None]
    np.testing.assert_allclose(grad, want, rtol=1e-6)


def test_map_fn_casts_to_dtype_and_rejects_a_scalar():
    y = K.map_fn(lambda r: r * 2, K.constant([1.5, 2.5]), dtype="int32")
    assert y.dtype == "int32"
    with pytest.raises(ValueError, match="at least one axis"):
        K.map_fn(lambda r: r, K.constant(1.))


def test_fold_rejects_an_fn_changing_the_accumulator_shape():
    with pytest.raises(ValueError, match="shaped like the accumulator"):
        K.foldl(lambda acc, v: K.concatenate([acc, v]), K.constant(np.ones((3, 2))))


# -- random shapes, K.eval --------------------------------------------------------------------

def test_random_normal_shape_mixing_ints_and_run_time_sizes():
    z = K.placeholder((None, 4))
    eps = K.random_normal((K.shape(z)[0], 2), seed=3)
    wide = K.random_uniform((3, K.shape(z)[-1]), seed=3)
    f = K.function([z], [eps, wide])          # compiled: the batch size stays symbolic
    a, b = f([np.zeros((5, 4), "float32")])
    assert a.shape == (5, 2) and b.shape == (3, 4)
    a2, _ = f([np.zeros((7, 4), "float32")])
    assert a2.shape == (7, 2)
    assert abs(float(np.concatenate([a.ravel(), a2.ravel()]).std()) - 1.) < 0.6


def test_random_shape_rejects_other_symbolic_sizes_clearly():
    z = K.placeholder((None, 4))
    with pytest.raises(TypeError, match=r"int or K.shape\(x\)\[i\]"):
        K.random_normal((K.shape(z)[0] * 2, 2))


def test_eval_of_a_random_tensor_draws_a_new_sample_each_call():
    r = K.random_normal((4, 3))
    a, b = K.eval(r), K.eval(r)
    assert a.shape == (4, 3)
    assert not np.array_equal(a, b)
    c = K.constant([1., 2.])
    np.testing.assert_array_equal(K.eval(c * 2), [2., 4.])


# -- print_tensor ------------------------------------------------------------------------------

def test_print_tensor_prints_its_message_at_run_time_and_returns_x(capsys):
    x = K.placeholder((None, 2))
    y = K.print_tensor(x * 2., message="twice: ")
    f = K.function([x], [K.sum(y)], mode="reference")
    capsys.readouterr()
    out = f([np.array([[1., 3.]], "float32")])
    assert float(out[0]) == 8.
    assert "twice: [[2. 6.]]" in capsys.readouterr().out
    f([np.array([[0., 5.]], "float32")])
    assert "twice: [[ 0. 10.]]" in capsys.readouterr().out
    g = K.function([x], K.gradients(K.sum(y), [x]), mode="reference")
    np.testing.assert_array_equal(g([np.ones((1, 2), "float32")])[0], [[2., 2.]])


# -- CTC ---------------------------------------------------------------------------------------

def _collapse(path, blank):
    out, prev = [], None
    for c in path:
        if c != blank and c != prev:
            out.append(c)
        prev = c
    return tuple(out)


def _brute_probs(probs, length):
    """{labelling: probability} by enumerating every alignment of the first ``length`` steps."""
    n_cls = probs.shape[1]
    table = {}
    for path in itertools.product(range(n_cls), repeat=length):
        p = np.prod([probs[t, c] for t, c in enumerate(path)])
        key = _collapse(path, n_cls - 1)
        table[key] = table.get(key, 0.) + p
    return table


def _forward_np(probs, labels, length):
    """-log p(labels) by the forward algorithm (probabilities, float64)."""
    blank = probs.shape[1] - 1
    ext = [blank]
    for c in labels:
        ext += [c, blank]
    alpha = np.zeros(len(ext))
    alpha[0] = probs[0, ext[0]]
    if len(ext) > 1:
        alpha[1] = probs[0, ext[1]]
    for t in range(1, length):
        new = np.zeros_like(alpha)
        for s in range(len(ext)):
            a = alpha[s] + (alpha[s - 1] if s >= 1 else 0.)
            if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
                a += alpha[s - 2]
            new[s] = a * probs[t, ext[s]]
        alpha = new
    total = alpha[-1] + (alpha[-2] if len(ext) > 1 else 0.)
    return -np.log(total)


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


N_CLS, MAX_LAB = 4, 3


@pytest.fixture(scope="module")
def ctc_case():
    rng = np.random.RandomState(0)
    probs = _softmax(rng.randn(4, 5, N_CLS)).astype("float32")
    # a repeated label, a short label padded with -1, an empty label, a short input
    labels = np.array([[1, 1, 0], [2, -1, -1], [-1, -1, -1], [0, 2, 1]], "float32")
    lab_len = np.array([[3], [1], [0], [2]], "int64")
    in_len = np.array([[5], [5], [4], [3]], "int64")
    return probs, labels, lab_len, in_len


@pytest.fixture(scope="module")
def ctc_fn():
    yt = K.placeholder((None, MAX_LAB))
    yp = K.placeholder((None, None, N_CLS))
    il = K.placeholder((None, 1), dtype="int64")
    ll = K.placeholder((None, 1), dtype="int64")
    loss = K.ctc_batch_cost(yt, yp, il, ll)
    grad = K.gradients(K.sum(loss), [yp])[0]
    return [yt, yp, il, ll], loss, grad, K.function([yt, yp, il, ll], [loss, grad])


def _reference_losses(probs, labels, lab_len, in_len):
    # Keras: the loss is taken on log(y_pred + epsilon), renormalised over the categories
    p = probs.astype(np.float64) + K.epsilon()
    p /= p.sum(-1, keepdims=True)
    return np.array([_forward_np(p[b], labels[b, :lab_len[b, 0]].astype(int), in_len[b, 0])
                     for b in range(len(p))]), p


def test_ctc_batch_cost_matches_the_forward_algorithm_and_brute_force(ctc_case, ctc_fn):
    probs, labels, lab_len, in_len = ctc_case
    loss, _ = ctc_fn[3]([labels, probs, in_len, lab_len])
    assert loss.shape == (4, 1)
    want, p = _reference_losses(probs, labels, lab_len, in_len)
    np.testing.assert_allclose(loss[:, 0], want, rtol=1e-4)
    for b in range(4):
        table = _brute_probs(p[b], in_len[b, 0])
        key = tuple(labels[b, :lab_len[b, 0]].astype(int))
        np.testing.assert_allclose(loss[b, 0], -np.log(table[key]), rtol=1e-4)


def test_ctc_batch_cost_is_infinite_free_when_the_label_cannot_fit(ctc_fn):
    # three equal labels need at least five steps; with four the probability is 0
    probs = _softmax(np.zeros((1, 4, N_CLS))).astype("float32")
    loss, grad = ctc_fn[3]([np.array([[1, 1, 1]], "float32"), probs,
                            np.array([[4]], "int64"), np.array([[3]], "int64")])
    assert loss[0, 0] > 50 and np.isfinite(loss).all() and np.isfinite(grad).all()


def test_ctc_batch_cost_gradient_matches_finite_differences(ctc_case, ctc_fn):
    probs, labels, lab_len, in_len = ctc_case
    inputs, loss, grad, compiled = ctc_fn
    ref = K.function(inputs, [K.sum(loss), grad], mode="reference")
    p64 = probs.astype(np.float64)
    _, g = compiled([labels, probs, in_len, lab_len])

    def total(p):
        want, _ = _reference_losses(p, labels, lab_len, in_len)
        return want.sum()
    rng = np.random.RandomState(1)
    h = 1e-6
    for _ in range(6):
        idx = tuple(rng.randint(s) for s in probs.shape)
        up, down = p64.copy(), p64.copy()
        up[idx] += h
        down[idx] -= h
        fd = (total(up) - total(down)) / (2 * h)
        np.testing.assert_allclose(g[idx], fd, rtol=2e-3, atol=1e-4)
    # the reference interpreter agrees with the compiled function
    np.testing.assert_allclose(ref([labels, probs, in_len, lab_len])[1], g, rtol=1e-4,
                               atol=1e-6)


def test_ctc_batch_cost_needs_static_label_columns():
    with pytest.raises(ValueError, match="static max_string_length"):
        K.ctc_batch_cost(K.placeholder((None, None)), K.placeholder((None, 5, 3)),
                         K.placeholder((None, 1)), K.placeholder((None, 1)))


def test_ctc_label_dense_to_sparse_marks_the_padding():
    dense = K.eval(K.ctc_label_dense_to_sparse(np.array([[1, 2, 3], [4, 5, 6]]),
                                               np.array([2, 0])))
    np.testing.assert_array_equal(dense, [[1, 2, -1], [-1, -1, -1]])


def test_ctc_decode_greedy_merges_repeats_and_drops_blanks():
    blank = 3
    path = [[0, 0, blank, 0, 1, 1, 2], [2, blank, blank, 2, 2, 1, 0]]
    probs = np.full((2, 7, 4), 0.1, "float32")
    for b, p in enumerate(path):
        probs[b, np.arange(7), p] = 0.7
    yp = K.placeholder((None, None, 4))
    il = K.placeholder((None,), dtype="int64")
    (decoded,), log_prob = K.ctc_decode(yp, il, greedy=True)
    f = K.function([yp, il], [decoded, log_prob])
    d, lp = f([probs, np.array([7, 5], "int64")])
    np.testing.assert_array_equal(d, [[0, 0, 1, 2], [2, 2, -1, -1]])
    logp = np.log(probs + K.epsilon())
    logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
    np.testing.assert_allclose(lp[:, 0], [-logp[0].max(-1).sum(), -logp[1, :5].max(-1).sum()],
                               rtol=1e-5)


def test_ctc_decode_beam_search_finds_the_most_probable_labellings():
    rng = np.random.RandomState(2)
    probs = _softmax(2 * rng.randn(2, 5, 3)).astype("float32")
    lengths = np.array([5, 4])
    (top1, top2), log_prob = K.ctc_decode(K.constant(probs), K.constant(lengths),
                                          greedy=False, beam_width=50, top_paths=2)
    d1, d2, lp = K.eval(top1), K.eval(top2), K.eval(log_prob)
    p = probs.astype(np.float64) + K.epsilon()
    p /= p.sum(-1, keepdims=True)
    for b in range(2):
        ranked = sorted(_brute_probs(p[b], lengths[b]).items(), key=lambda kv: -kv[1])
        for k, d in enumerate((d1, d2)):
            got = tuple(int(c) for c in d[b] if c >= 0)
            assert got == ranked[k][0]
            np.testing.assert_allclose(lp[b, k], np.log(ranked[k][1]), rtol=1e-5)


def test_ctc_decode_rejects_bad_arguments():
    yp = K.placeholder((None, 5, 3))
    with pytest.raises(ValueError, match="top_paths"):
        K.ctc_decode(yp, K.placeholder((None,)), greedy=False, beam_width=2, top_paths=3)
