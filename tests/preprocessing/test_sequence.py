"""graphc.preprocessing.sequence against Keras 2.2.4's documented behaviour (expected arrays
worked out by hand from the documented padding / truncating rules)."""
import random

import numpy as np
import pytest

from graphc.preprocessing.sequence import (TimeseriesGenerator, make_sampling_table,
                                           pad_sequences, skipgrams)
from graphc.utils import Sequence


# -- pad_sequences --------------------------------------------------------------------------

@pytest.mark.parametrize('padding, truncating, expected', [
    ('pre', 'pre', [[2, 3], [0, 4]]),
    ('post', 'pre', [[2, 3], [4, 0]]),
    ('pre', 'post', [[1, 2], [0, 4]]),
    ('post', 'post', [[1, 2], [4, 0]]),
])
def test_pad_sequences_padding_and_truncating(padding, truncating, expected):
    out = pad_sequences([[1, 2, 3], [4]], maxlen=2, padding=padding, truncating=truncating)
    assert out.dtype == np.int32
    assert out.tolist() == expected


def test_pad_sequences_default_maxlen_is_longest_and_value_fills():
    out = pad_sequences([[1], [2, 3, 4], []], value=-1)
    assert out.tolist() == [[-1, -1, 1], [2, 3, 4], [-1, -1, -1]]


def test_pad_sequences_float_dtype_keeps_fractions():
    out = pad_sequences([[0.5, 1.5], [2.25]], dtype='float32', padding='post', value=9.)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[0.5, 1.5], [2.25, 9.]])


def test_pad_sequences_int_dtype_truncates_floats():
    assert pad_sequences([[1.7, 2.2]]).tolist() == [[1, 2]]


def test_pad_sequences_vector_items_become_trailing_axes():
    seqs = [np.ones((3, 2)), np.full((1, 2), 5.)]
    out = pad_sequences(seqs, maxlen=2, dtype='float64')
    assert out.shape == (2, 2, 2)
    np.testing.assert_array_equal(out[0], np.ones((2, 2)))
    np.testing.assert_array_equal(out[1], [[0, 0], [5, 5]])


def test_pad_sequences_items_of_different_shapes_are_an_error():
    with pytest.raises(ValueError, match='different from expected shape'):
        pad_sequences([np.ones((2, 2)), np.ones((2, 3))])


def test_pad_sequences_strings_with_object_dtype():
    out = pad_sequences([['a', 'bb'], ['ccc']], dtype=object, value='<pad>')
    assert out.dtype == object
    assert out.tolist() == [['a', 'bb'], ['<pad>', 'ccc']]


def test_pad_sequences_equal_length_strings_stay_items_with_object_dtype():
    out = pad_sequences([['ab', 'cd'], ['ef']], dtype=object, value='', padding='post')
    assert out.shape == (2, 2)
    assert out.tolist() == [['ab', 'cd'], ['ef', '']]


def test_pad_sequences_unicode_dtype():
    out = pad_sequences([['x', 'yy']], maxlen=3, dtype='<U3', value='-')
    assert out.tolist() == [['-', 'x', 'yy']]


def test_pad_sequences_string_value_with_int_dtype_is_an_error():
    with pytest.raises(ValueError, match='dtype=object'):
        pad_sequences([['a']], value='x')


def test_pad_sequences_bad_options_and_inputs():
    with pytest.raises(ValueError, match='Padding type "middle"'):
        pad_sequences([[1]], padding='middle')
    with pytest.raises(ValueError, match='Truncating type "both"'):
        pad_sequences([[1]], truncating='both')
    with pytest.raises(ValueError, match='non-iterable'):
        pad_sequences([1, 2])
    with pytest.raises(ValueError, match='maxlen'):
        pad_sequences([[1]], maxlen=-1)


def test_pad_sequences_maxlen_zero_and_no_sequences():
    assert pad_sequences([[1, 2]], maxlen=0).shape == (1, 0)
    assert pad_sequences([]).shape == (0, 0)


def test_pad_sequences_accepts_a_generator_of_arrays():
    out = pad_sequences(np.arange(k) + 1 for k in (1, 2))
    assert out.tolist() == [[0, 1], [1, 2]]


# -- make_sampling_table / skipgrams ---------------------------------------------------------

def test_make_sampling_table_follows_the_zipf_formula():
    size, factor = 50, 1e-3
    table = make_sampling_table(size, factor)
    assert table.shape == (size,)
    rank = 10
    freq = 1. / (rank * (np.log(rank) + 0.577) + 0.5 - 1. / (12 * rank))
    ratio = freq / factor
    assert table[rank] == pytest.approx(min(1., np.sqrt(ratio) / ratio))
    # Frequent (low rank) words are kept less often; probabilities stay within (0, 1].
    assert np.all(np.diff(table[1:]) >= 0)
    assert np.all((table > 0) & (table <= 1))


def test_skipgrams_positive_pairs_inside_the_window():
    couples, labels = skipgrams([1, 2, 0, 3], vocabulary_size=4, window_size=1,
                                negative_samples=0, shuffle=False)
    # 1<->2 are neighbours; 0 is padding and is neither a word nor a context.
    assert couples == [[1, 2], [2, 1]]
    assert labels == [1, 1]
    couples, _ = skipgrams([1, 2, 0, 3], vocabulary_size=4, window_size=2,
                           negative_samples=0, shuffle=False)
    assert couples == [[1, 2], [2, 1], [2, 3], [3, 2]]


def test_skipgrams_negatives_count_labels_and_range():
    random.seed(0)
    seq = [1, 2, 3, 4, 5]
    couples, labels = skipgrams(seq, vocabulary_size=6, window_size=2, negative_samples=2.,
                                categorical=True, seed=3)
    pos = [c for c, l in zip(couples, labels) if l == [0, 1]]
    neg = [c for c, l in zip(couples, labels) if l == [1, 0]]
    assert len(pos) == 14          # 2+3+4+3+2 neighbours within distance 2
    assert len(neg) == 2 * len(pos)
    assert all(1 <= c[1] <= 5 and c[0] in seq for c in neg)
    assert sorted(tuple(c) for c in pos) == sorted(
        (a, b) for i, a in enumerate(seq) for j, b in enumerate(seq) if 0 < abs(i - j) <= 2)


def test_skipgrams_shuffle_keeps_pairs_with_their_labels():
    seq = [1, 2, 3]
    plain, plain_labels = skipgrams(seq, 4, window_size=1, negative_samples=0, shuffle=False)
    shuffled, labels = skipgrams(seq, 4, window_size=1, negative_samples=0, seed=1)
    assert sorted(map(tuple, shuffled)) == sorted(map(tuple, plain))
    again, _ = skipgrams(seq, 4, window_size=1, negative_samples=0, seed=1)
    assert again == shuffled


def test_skipgrams_sampling_table_of_zeros_drops_every_word():
    couples, labels = skipgrams([1, 2, 3], 4, sampling_table=np.zeros(4))
    assert couples == [] and labels == []


# -- TimeseriesGenerator ---------------------------------------------------------------------

def test_timeseries_generator_documented_example():
    data = np.array([[i] for i in range(50)])
    targets = np.array([[i] for i in range(50)])
    gen = TimeseriesGenerator(data, targets, length=10, sampling_rate=2, batch_size=2)
    assert isinstance(gen, Sequence)
    assert len(gen) == 20
    x, y = gen[0]
    np.testing.assert_array_equal(x, [[[0], [2], [4], [6], [8]], [[1], [3], [5], [7], [9]]])
    np.testing.assert_array_equal(y, [[10], [11]])


def test_timeseries_generator_covers_every_target_once_with_stride():
    data = np.arange(20)
    gen = TimeseriesGenerator(data, data * 10, length=3, stride=2, batch_size=3,
                              start_index=1, end_index=15)
    ys = np.concatenate([gen[i][1] for i in range(len(gen))])
    np.testing.assert_array_equal(ys, np.arange(4, 16, 2) * 10)
    x, _ = gen[len(gen) - 1]
    np.testing.assert_array_equal(x[-1], [11, 12, 13])


def test_timeseries_generator_reverse_and_shuffle():
    data = np.arange(30)
    x, y = TimeseriesGenerator(data, data, length=4, reverse=True, batch_size=5)[0]
    np.testing.assert_array_equal(x[0], [3, 2, 1, 0])
    np.random.seed(0)
    x, y = TimeseriesGenerator(data, data, length=4, shuffle=True, batch_size=8)[1]
    assert x.shape == (8, 4)
    np.testing.assert_array_equal(x[:, -1] + 1, y)   # each window ends just before its target
    assert np.all(y >= 4)


def test_timeseries_generator_errors():
    with pytest.raises(ValueError, match='same length'):
        TimeseriesGenerator(np.arange(5), np.arange(4), length=2)
    with pytest.raises(ValueError, match='no part of the sequence'):
        TimeseriesGenerator(np.arange(5), np.arange(5), length=5)
    gen = TimeseriesGenerator(np.arange(5), np.arange(5), length=2)
    with pytest.raises(IndexError):
        gen[len(gen)]
