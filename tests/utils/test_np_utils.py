import numpy as np
import pytest

from graphc.utils import normalize, to_categorical


def test_to_categorical_one_hot_rows():
    out = to_categorical([0, 2, 1])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[1, 0, 0], [0, 0, 1], [0, 1, 0]])


def test_to_categorical_num_classes_and_dtype():
    out = to_categorical(np.array([1, 0]), num_classes=4, dtype='int64')
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [[0, 1, 0, 0], [1, 0, 0, 0]])


def test_to_categorical_drops_trailing_unit_axis():
    out = to_categorical(np.array([[1], [0], [1]]))
    assert out.shape == (3, 2)
    np.testing.assert_array_equal(out, [[0, 1], [1, 0], [0, 1]])


def test_to_categorical_keeps_other_axes():
    y = np.array([[0, 1, 2], [2, 1, 0]])
    out = to_categorical(y)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out[1, 0], [0, 0, 1])
    np.testing.assert_array_equal(out.argmax(-1), y)


def test_to_categorical_accepts_whole_floats():
    np.testing.assert_array_equal(to_categorical([1.0, 0.0]), [[0, 1], [1, 0]])


@pytest.mark.parametrize('y, kwargs, message', [
    ([0, 3], {'num_classes': 3}, 'label 3 is out of range for num_classes=3'),
    ([0, -1], {}, 'must be >= 0'),
    ([0.5], {}, 'whole numbers'),
    ([], {}, 'pass num_classes'),
])
def test_to_categorical_bad_labels(y, kwargs, message):
    with pytest.raises(ValueError, match=message):
        to_categorical(y, **kwargs)


def test_normalize_l2_rows():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(normalize(x), [[0.6, 0.8], [0.0, 0.0], [1.0, 0.0]])


def test_normalize_axis_and_order():
    x = np.array([[1.0, 2.0], [3.0, 2.0]])
    np.testing.assert_allclose(normalize(x, axis=0, order=1), [[0.25, 0.5], [0.75, 0.5]])


def test_normalize_of_a_vector_returns_a_row_as_keras2():
    # Keras 2 keeps the norm as a length-1 axis, so a 1-D input comes back shaped (1, n).
    np.testing.assert_allclose(normalize(np.array([3.0, 4.0])), [[0.6, 0.8]])
