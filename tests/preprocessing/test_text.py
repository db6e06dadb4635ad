"""graphc.preprocessing.text against Keras 2.2.4 / keras-preprocessing 1.0's documented
behaviour (index 0 reserved, words indexed by falling frequency, num_words keeps the
num_words-1 most frequent)."""
import json

import numpy as np
import pytest

from graphc.preprocessing.text import (Tokenizer, hashing_trick, one_hot,
                                       text_to_word_sequence, tokenizer_from_json)

TEXTS = ['The cat sat on the mat.', 'The dog ate my homework!', 'a cat, a dog']
# counts: the 3, cat 2, a 2, dog 2, sat 1, on 1, mat 1, ate 1, my 1, homework 1
# order by count, ties by first appearance: the, cat, dog, a, sat, on, mat, ate, my, homework


def test_text_to_word_sequence_filters_lowercases_and_splits():
    assert text_to_word_sequence('Hello, World!\tYes') == ['hello', 'world', 'yes']
    assert text_to_word_sequence('A-B c', lower=False, filters='') == ['A-B', 'c']
    assert text_to_word_sequence('x;y;;z', split=';') == ['x', 'y', 'z']
    with pytest.raises(TypeError):
        text_to_word_sequence(['not', 'a', 'string'])


def test_hashing_trick_md5_is_stable_and_in_range():
    seq = hashing_trick('apple banana apple cherry', 7, hash_function='md5')
    assert seq[0] == seq[2]
    assert all(1 <= i <= 6 for i in seq)
    import hashlib
    expected = int(hashlib.md5(b'banana').hexdigest(), 16) % 6 + 1
    assert seq[1] == expected
    assert hashing_trick('a b', 5, hash_function=len) == [2, 2]


def test_one_hot_same_word_same_index():
    seq = one_hot('Red blue red GREEN blue', 1000)
    assert seq[0] == seq[2] and seq[1] == seq[4]
    assert all(1 <= i < 1000 for i in seq)
    with pytest.raises(ValueError):
        one_hot('a', 1)


def test_tokenizer_word_index_by_frequency_and_first_appearance():
    tok = Tokenizer()
    tok.fit_on_texts(TEXTS)
    assert tok.document_count == 3
    assert tok.word_index == {'the': 1, 'cat': 2, 'dog': 3, 'a': 4, 'sat': 5, 'on': 6,
                              'mat': 7, 'ate': 8, 'my': 9, 'homework': 10}
    assert tok.index_word[3] == 'dog'
    assert tok.word_counts['the'] == 3 and tok.word_counts['a'] == 2
    assert tok.word_docs['the'] == 2 and tok.word_docs['a'] == 1
    assert tok.index_docs[1] == 2 and tok.index_docs[2] == 2
    assert list(tok.word_counts)[:3] == ['the', 'cat', 'sat']   # order of first appearance


def test_tokenizer_texts_to_sequences_and_back():
    tok = Tokenizer()
    tok.fit_on_texts(TEXTS)
    seqs = tok.texts_to_sequences(['the cat ate a fish'])
    assert seqs == [[1, 2, 8, 4]]                       # unknown 'fish' dropped
    assert list(tok.texts_to_sequences_generator(['dog'])) == [[3]]
    assert tok.sequences_to_texts(seqs) == ['the cat ate a']


def test_tokenizer_num_words_keeps_the_most_frequent_minus_one():
    tok = Tokenizer(num_words=3)
    tok.fit_on_texts(TEXTS)
    assert len(tok.word_index) == 10                    # the index keeps every word
    assert tok.texts_to_sequences(['the cat dog a']) == [[1, 2]]
    assert tok.sequences_to_texts([[1, 2, 3, 4]]) == ['the cat']
    assert tok.texts_to_matrix(['the dog']).shape == (1, 3)


def test_tokenizer_oov_token_takes_index_one():
    tok = Tokenizer(num_words=4, oov_token='<unk>')
    tok.fit_on_texts(TEXTS)
    assert tok.word_index['<unk>'] == 1 and tok.word_index['the'] == 2
    # 'dog' is index 4 >= num_words -> oov; 'zebra' unknown -> oov
    assert tok.texts_to_sequences(['the dog zebra cat']) == [[2, 1, 1, 3]]
    assert tok.sequences_to_texts([[2, 4, 99]]) == ['the <unk> <unk>']


def test_tokenizer_char_level_and_token_lists():
    tok = Tokenizer(char_level=True)
    tok.fit_on_texts(['abA', 'b'])
    assert tok.word_index == {'a': 1, 'b': 2}
    assert tok.texts_to_sequences(['ba']) == [[2, 1]]
    tok = Tokenizer(lower=False)
    tok.fit_on_texts([['X', 'y'], ['y']])
    assert tok.word_index == {'y': 1, 'X': 2}


def test_tokenizer_filters_lower_split_options():
    tok = Tokenizer(filters='', lower=False, split=',')
    tok.fit_on_texts(['Hi!,there,Hi!'])
    assert tok.word_index == {'Hi!': 1, 'there': 2}


def test_sequences_to_matrix_four_modes():
    tok = Tokenizer()
    tok.fit_on_texts(TEXTS)
    seqs = [[1, 1, 2], [3]]
    binary = tok.sequences_to_matrix(seqs, mode='binary')
    assert binary.shape == (2, 11)
    np.testing.assert_array_equal(binary[0, :4], [0, 1, 1, 0])
    count = tok.sequences_to_matrix(seqs, mode='count')
    np.testing.assert_array_equal(count[0, :3], [0, 2, 1])
    freq = tok.sequences_to_matrix(seqs, mode='freq')
    np.testing.assert_allclose(freq[0, :3], [0, 2 / 3, 1 / 3])
    tfidf = tok.sequences_to_matrix(seqs, mode='tfidf')
    # 'the' (index 1): twice in the row, in 2 of 3 documents
    expected = (1 + np.log(2)) * np.log(1 + 3 / (1 + 2))
    assert tfidf[0, 1] == pytest.approx(expected)
    assert tfidf[1, 3] == pytest.approx(1 * np.log(1 + 3 / (1 + 2)))
    assert tfidf[0, 0] == 0
    np.testing.assert_array_equal(tok.texts_to_matrix(['the the cat'], mode='count')[0, :3],
                                  [0, 2, 1])
    with pytest.raises(ValueError, match='Unknown vectorization mode'):
        tok.sequences_to_matrix(seqs, mode='onehot')


def test_sequences_to_matrix_needs_a_size_or_a_fit():
    with pytest.raises(ValueError, match='num_words'):
        Tokenizer().sequences_to_matrix([[1]])
    with pytest.raises(ValueError, match='tfidf'):
        Tokenizer(num_words=5).sequences_to_matrix([[1]], mode='tfidf')


def test_fit_on_sequences_enables_tfidf_without_texts():
    tok = Tokenizer(num_words=4)
    tok.fit_on_sequences([[1, 2], [1], [3, 3]])
    assert tok.document_count == 3
    assert tok.index_docs[1] == 2 and tok.index_docs[3] == 1
    m = tok.sequences_to_matrix([[3, 3]], mode='tfidf')
    assert m[0, 3] == pytest.approx((1 + np.log(2)) * np.log(1 + 3 / 2))


def test_tokenizer_json_round_trip():
    tok = Tokenizer(num_words=5, oov_token='?', filters='!', lower=False)
    tok.fit_on_texts(TEXTS)
    text = tok.to_json()
    assert json.loads(text)['class_name'] == 'Tokenizer'
    back = tokenizer_from_json(text)
    assert back.word_index == tok.word_index
    assert back.index_word == tok.index_word
    assert dict(back.index_docs) == dict(tok.index_docs)
    assert back.word_counts == tok.word_counts
    assert (back.num_words, back.oov_token, back.filters, back.lower,
            back.document_count) == (5, '?', '!', False, 3)
    assert back.texts_to_sequences(['The dog x']) == tok.texts_to_sequences(['The dog x'])
    np.testing.assert_array_equal(back.texts_to_matrix(TEXTS, 'tfidf'),
                                  tok.texts_to_matrix(TEXTS, 'tfidf'))


def test_tokenizer_from_json_rejects_other_json():
    with pytest.raises(ValueError, match='Tokenizer'):
        tokenizer_from_json('{"class_name": "Dense", "config": {}}')
    with pytest.raises(ValueError, match='Tokenizer'):
        tokenizer_from_json('[1, 2]')


def test_tokenizer_argument_errors():
    with pytest.raises(TypeError, match='Unrecognized keyword'):
        Tokenizer(words=3)
    with pytest.warns(UserWarning, match='num_words'):
        assert Tokenizer(nb_words=7).num_words == 7
    with pytest.raises(TypeError, match='list of texts'):
        Tokenizer().fit_on_texts('one string')
