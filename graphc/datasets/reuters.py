"""Reuters newswires labelled over 46 topics (11,228 wires).

Each wire is a list of word indices ranked by frequency, with the same conventions as
``imdb``: 0 padding, ``start_char`` at the start, ``oov_char`` for cut words, words from
``index_from``.

Example:
    >>> from graphc.datasets import reuters
    >>> (x_train, y_train), (x_test, y_test) = reuters.load_data(num_words=10000)  # doctest: +SKIP
"""
from __future__ import annotations

import json

import numpy as np

from graphc.datasets import _files
from graphc.datasets._sequences import (check_kwargs, cut_vocabulary, object_array,
                                        remove_long_seq, shift)


def load_data(path='reuters.npz', num_words=None, skip_top=0, maxlen=None, test_split=0.2,
              seed=113, start_char=1, oov_char=2, index_from=3, **kwargs):
    """Load the Reuters newswires, downloading them on first use.

    Args:
        path: where to cache the file (relative to ``<graphc home>/datasets``).
        num_words: keep the words of rank below ``num_words`` (after ``index_from`` is
            added); others become ``oov_char``. None keeps every word.
        skip_top: also replace the indices below ``skip_top``.
        maxlen: keep only the wires shorter than ``maxlen`` (start mark included).
        test_split: the fraction of the wires in the test set, in [0, 1].
        seed: the seed of the shuffle before the split.
        start_char: the index put at the start of every wire (None: none).
        oov_char: the index of cut words (None: cut words are dropped).
        index_from: the offset added to every word index.
        **kwargs: only the deprecated ``nb_words`` (= ``num_words``).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: object arrays of lists of ints, and int
        topic arrays (0-45).
    """
    num_words = check_kwargs('reuters.load_data', kwargs) or num_words
    if not 0 <= test_split <= 1:
        raise ValueError(f"test_split must be in [0, 1]; got {test_split!r}")
    path = _files.fetch('reuters.npz', fname=path)
    f = _files.load_npz(path)
    xs, labels = f['x'], f['y']

    indices = np.arange(len(xs))
    np.random.RandomState(seed).shuffle(indices)
    xs, labels = xs[indices], labels[indices]

    xs = shift(xs, start_char, index_from)
    if maxlen:
        xs, labels = remove_long_seq(maxlen, xs, labels)
    xs = cut_vocabulary(xs, num_words, skip_top, oov_char)

    idx = int(len(xs) * (1 - test_split))
    return ((object_array(xs[:idx]), np.array(labels[:idx])),
            (object_array(xs[idx:]), np.array(labels[idx:])))


def get_word_index(path='reuters_word_index.json'):
    """The dict word -> rank (1 = most frequent) of the Reuters data.

    Args:
        path: where to cache the file (relative to ``<graphc home>/datasets``).

    Returns:
        dict str -> int.
    """
    path = _files.fetch('reuters_word_index.json', fname=path)
    with open(path, encoding='utf-8') as f:
        return json.load(f)
