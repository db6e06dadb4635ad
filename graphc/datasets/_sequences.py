"""The word-index sequence preparation shared by imdb and reuters (Keras 2's conventions).

Index 0 is padding, ``start_char`` (1) marks a sequence's start, ``oov_char`` (2) stands for
cut words, and real words start at ``index_from`` (3), ranked by frequency.
"""
from __future__ import annotations

import numpy as np


def object_array(sequences):
    """A 1-D object array of the given lists (never 2-D, even when all have one length)."""
    out = np.empty(len(sequences), dtype=object)
    for i, seq in enumerate(sequences):
        out[i] = seq
    return out


def remove_long_seq(maxlen, seq, label):
    """The sequences shorter than ``maxlen`` (strictly, as in Keras 2) and their labels."""
    kept = [(x, y) for x, y in zip(seq, label) if len(x) < maxlen]
    return [x for x, _ in kept], [y for _, y in kept]


def shift(xs, start_char, index_from):
    """Add ``index_from`` to every word index and put ``start_char`` in front."""
    head = [] if start_char is None else [start_char]
    return [head + [int(w) + index_from for w in x] for x in xs]


def cut_vocabulary(xs, num_words, skip_top, oov_char):
    """Replace (or, with ``oov_char=None``, drop) the words outside ``[skip_top, num_words)``.

    With ``num_words=None`` every word is kept.
    """
    if not num_words:
        num_words = max((max(x, default=0) for x in xs), default=0) + 1
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def check_kwargs(function, kwargs):
    """Keras 2's ``nb_words`` alias, and a TypeError for any other unknown keyword."""
    import warnings
    num_words = kwargs.pop('nb_words', None)
    if num_words is not None:
        warnings.warn(f"{function}: the 'nb_words' argument is deprecated; use 'num_words'",
                      DeprecationWarning, stacklevel=3)
    if kwargs:
        raise TypeError(f"{function} got unexpected keyword arguments: {sorted(kwargs)}")
    return num_words
