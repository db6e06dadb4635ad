"""IMDB movie reviews labelled by sentiment (25,000 training and 25,000 test reviews).

Each review is a list of word indices; words are ranked by frequency, so index ``index_from``
is the most frequent word. 0 is padding, ``start_char`` marks the start of a review and
``oov_char`` stands for words cut by ``num_words`` / ``skip_top``.

Example:
    >>> from graphc.datasets import imdb
    >>> (x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=10000)  # doctest: +SKIP
"""
from __future__ import annotations

import json

import numpy as np

from graphc.datasets import _files
from graphc.datasets._sequences import (check_kwargs, cut_vocabulary, object_array,
                                        remove_long_seq, shift)


def load_data(path='imdb.npz', num_words=None, skip_top=0, maxlen=None, seed=113,
              start_char=1, oov_char=2, index_from=3, **kwargs):
    """Load the IMDB reviews, downloading them on first use.

    Args:
        path: where to cache the file (relative to ``<graphc home>/datasets``).
        num_words: keep the words of rank below ``num_words`` (after ``index_from`` is
            added); others become ``oov_char``. None keeps every word.
        skip_top: also replace the indices below ``skip_top`` (the most frequent words).
        maxlen: keep only the reviews shorter than ``maxlen`` (start mark included).
        seed: the seed of the shuffles of the training and test sets.
        start_char: the index put at the start of every review (None: none).
        oov_char: the index of cut words (None: cut words are dropped).
        index_from: the offset added to every word index.
        **kwargs: only the deprecated ``nb_words`` (= ``num_words``).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: object arrays of lists of ints, and int
        label arrays (0 negative, 1 positive).

    Raises:
        ValueError: ``maxlen`` removed every review of a split.
    """
    num_words = check_kwargs('imdb.load_data', kwargs) or num_words
    path = _files.fetch('imdb.npz', fname=path)
    f = _files.load_npz(path)
    x_train, labels_train = f['x_train'], f['y_train']
    x_test, labels_test = f['x_test'], f['y_test']

    rng = np.random.RandomState(seed)
    indices = np.arange(len(x_train))
    rng.shuffle(indices)
    x_train, labels_train = x_train[indices], labels_train[indices]
    indices = np.arange(len(x_test))
    rng.shuffle(indices)
    x_test, labels_test = x_test[indices], labels_test[indices]

    x_train = shift(x_train, start_char, index_from)
    x_test = shift(x_test, start_char, index_from)
    if maxlen:
        x_train, labels_train = remove_long_seq(maxlen, x_train, labels_train)
        x_test, labels_test = remove_long_seq(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(
                f"After keeping only the sequences shorter than maxlen={maxlen}, the "
                f"{'training' if not x_train else 'test'} set is empty; increase maxlen")

    xs = cut_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    idx = len(x_train)
    return ((object_array(xs[:idx]), np.array(labels_train)),
            (object_array(xs[idx:]), np.array(labels_test)))


def get_word_index(path='imdb_word_index.json'):
    """The dict word -> rank (1 = most frequent) of the IMDB data.

    Add ``index_from`` to a rank to get the index used in ``load_data``'s sequences.

    Args:
        path: where to cache the file (relative to ``<graphc home>/datasets``).

    Returns:
        dict str -> int.
    """
    path = _files.fetch('imdb_word_index.json', fname=path)
    with open(path, encoding='utf-8') as f:
        return json.load(f)
