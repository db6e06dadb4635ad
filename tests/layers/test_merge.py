"""Merge layers and their functional forms: values, broadcasting, masks, gradients,
configs and errors."""
import numpy as np
import pytest

from graphc import backend as K
from graphc import layers as L

from ._helpers import apply, check_grads, floatx, roundtrip

RNG = np.random.default_rng(3)


@pytest.mark.parametrize('cls,fn', [
    (L.Add, lambda a, b, c: a + b + c),
    (L.Multiply, lambda a, b, c: a * b * c),
    (L.Average, lambda a, b, c: (a + b + c) / 3),
    (L.Maximum, lambda a, b, c: np.maximum(np.maximum(a, b), c)),
    (L.Minimum, lambda a, b, c: np.minimum(np.minimum(a, b), c)),
])
def test_elementwise_merges_match_numpy(cls, fn):
    a, b, c = (RNG.standard_normal((2, 3, 4)).astype('float32') for _ in range(3))
    y, _ = apply(cls(), [a, b, c])
    np.testing.assert_allclose(y, fn(a, b, c), rtol=1e-5, atol=1e-6)


def test_subtract_takes_exactly_two_inputs():
    a, b = (RNG.standard_normal((2, 4)).astype('float32') for _ in range(2))
    y, _ = apply(L.Subtract(), [a, b])
    np.testing.assert_allclose(y, a - b, rtol=1e-6)
    with pytest.raises(ValueError, match=r"subtract_\d+.*exactly 2 inputs"):
        L.Subtract()([L.Input(shape=(4,))] * 3)


def test_merge_broadcasts_inputs_of_different_rank():
    a = RNG.standard_normal((2, 3, 4)).astype('float32')
    b = RNG.standard_normal((2, 4)).astype('float32')
    y, sym = apply(L.Add(), [a, b])
    assert sym._keras_shape == (None, 3, 4)
    np.testing.assert_allclose(y, a + b[:, None, :], rtol=1e-6)
    c = RNG.standard_normal((2, 1, 4)).astype('float32')
    y, sym = apply(L.Multiply(), [a, c])
    assert sym._keras_shape == (None, 3, 4)
    np.testing.assert_allclose(y, a * c, rtol=1e-6)


@pytest.mark.parametrize('axis', [-1, 1, 2])
def test_concatenate_matches_numpy(axis):
    a = RNG.standard_normal((2, 3, 4)).astype('float32')
    b = RNG.standard_normal((2, 3, 4)).astype('float32')
    y, _ = apply(L.Concatenate(axis=axis), [a, b])
    np.testing.assert_array_equal(y, np.concatenate([a, b], axis=axis))


def test_concatenate_shape_mismatch_names_the_layer():
    with pytest.raises(ValueError, match=r"concatenate_\d+.*matching shapes"):
        L.Concatenate()([L.Input(shape=(3, 4)), L.Input(shape=(2, 5))])
    with pytest.raises(ValueError, match=r"list of inputs"):
        L.Add()(L.Input(shape=(3,)))
    with pytest.raises(ValueError, match=r"broadcast"):
        L.Add()([L.Input(shape=(3,)), L.Input(shape=(4,))])


@pytest.mark.parametrize('axes,shape1,shape2', [
    (1, (2, 4), (2, 4)), (-1, (2, 3, 4), (2, 5, 4)), ((2, 1), (2, 3, 4), (2, 4, 5)),
    ((1, 1), (2, 3, 4), (2, 3, 5))])
def test_dot_matches_numpy(axes, shape1, shape2):
    a = RNG.standard_normal(shape1).astype('float32')
    b = RNG.standard_normal(shape2).astype('float32')
    y, sym = apply(L.Dot(axes), [a, b])
    ax = (axes, axes) if isinstance(axes, int) else axes
    ax = (ax[0] % a.ndim, ax[1] % b.ndim)
    want = np.stack([np.tensordot(a[i], b[i], axes=(ax[0] - 1, ax[1] - 1))
                     for i in range(a.shape[0])])
    if want.ndim == 1:
        want = want[:, None]
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)


def test_dot_normalize_gives_cosine_similarity():
    a = RNG.standard_normal((3, 5)).astype('float32')
    b = RNG.standard_normal((3, 5)).astype('float32')
    y, _ = apply(L.Dot(axes=1, normalize=True), [a, b])
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    np.testing.assert_allclose(y[:, 0], cos, rtol=1e-5)
    with pytest.raises(ValueError, match=r"dot_\d+.*incompatib"):
        L.Dot(axes=1)([L.Input(shape=(3,)), L.Input(shape=(4,))])


def test_functional_forms():
    a, b = L.Input(shape=(3,)), L.Input(shape=(3,))
    va, vb = (RNG.standard_normal((2, 3)).astype('float32') for _ in range(2))
    cases = [(L.add, va + vb), (L.subtract, va - vb), (L.multiply, va * vb),
             (L.average, (va + vb) / 2), (L.maximum, np.maximum(va, vb)),
             (L.minimum, np.minimum(va, vb)), (L.concatenate, np.concatenate([va, vb], -1)),
             (lambda xs: L.dot(xs, axes=1), (va * vb).sum(1, keepdims=True))]
    for fn, want in cases:
        y = fn([a, b])
        out = K.function([a, b], [y], mode='reference')([va, vb])[0]
        np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)


def test_masks_are_combined():
    ids1 = np.array([[1, 2, 0], [3, 0, 0]])
    ids2 = np.array([[1, 0, 0], [3, 3, 3]])
    i1, i2 = L.Input(shape=(3,), dtype='int32'), L.Input(shape=(3,), dtype='int32')
    e1 = L.Embedding(4, 2, mask_zero=True)(i1)
    e2 = L.Embedding(4, 2, mask_zero=True)(i2)
    added = L.Add()([e1, e2])
    catted = L.Concatenate()([e1, e2])
    f = K.function([i1, i2], [added._keras_mask, catted._keras_mask], mode='reference')
    m_add, m_cat = f([ids1, ids2])
    np.testing.assert_array_equal(m_add, (ids1 != 0) & (ids2 != 0))
    np.testing.assert_array_equal(m_cat, (ids1 != 0) & (ids2 != 0))


@pytest.mark.parametrize('layer,n', [(L.Add(), 2), (L.Multiply(), 3), (L.Average(), 2),
                                     (L.Maximum(), 2), (L.Concatenate(axis=1), 2),
                                     (L.Subtract(), 2)])
def test_merge_gradients(layer, n):
    with floatx('float64'):
        xs = [RNG.standard_normal((2, 3)) for _ in range(n)]
        check_grads(layer, xs, wrt_weights=False)


def test_dot_gradients():
    with floatx('float64'):
        check_grads(L.Dot((2, 1)), [RNG.standard_normal((2, 3, 4)),
                                    RNG.standard_normal((2, 4, 2))], wrt_weights=False)
        check_grads(L.Dot(1, normalize=True), [RNG.standard_normal((2, 3)),
                                               RNG.standard_normal((2, 3))],
                    wrt_weights=False)


@pytest.mark.parametrize('layer', [L.Add(), L.Subtract(), L.Multiply(), L.Average(),
                                   L.Maximum(), L.Minimum(), L.Concatenate(axis=1),
                                   L.Dot(axes=(1, 2), normalize=True)])
def test_config_round_trip(layer):
    roundtrip(layer)
