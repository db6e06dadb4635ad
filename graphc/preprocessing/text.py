"""Text preprocessing (``keras.preprocessing.text`` of Keras 2.2.4 / keras-preprocessing 1.0).

``Tokenizer`` builds a word index from texts (index 0 is never a word: it is left for
padding) and turns texts into index sequences or into ``(n, num_words)`` matrices;
``one_hot`` / ``hashing_trick`` map words to indices by hashing, without a vocabulary.

Example:
    >>> tok = Tokenizer()
    >>> tok.fit_on_texts(['the cat sat', 'the dog'])
    >>> tok.texts_to_sequences(['the dog sat'])
    [[1, 4, 3]]
"""
from __future__ import annotations

import hashlib
import json
import warnings
from collections import OrderedDict, defaultdict

import numpy as np

__all__ = ['text_to_word_sequence', 'one_hot', 'hashing_trick', 'Tokenizer',
           'tokenizer_from_json']

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_MODES = ('binary', 'count', 'tfidf', 'freq')


def text_to_word_sequence(text, filters=DEFAULT_FILTERS, lower=True, split=' '):
    """Split a text into words: lower-case it, turn each character of ``filters`` into
    ``split``, split on ``split`` and drop empty words.

    Args:
        text: a string.
        filters: characters removed (replaced by the separator).
        lower: lower-case the text first.
        split: the word separator.

    Returns:
        A list of words.

    Example:
        >>> text_to_word_sequence('Hello, World!  Again.')
        ['hello', 'world', 'again']
    """
    if not isinstance(text, str):
        raise TypeError(f'text_to_word_sequence expects a string; got {type(text).__name__}')
    if lower:
        text = text.lower()
    if filters:
        text = text.translate(str.maketrans({c: split for c in filters}))
    return [w for w in text.split(split) if w]


def _md5_hash(word):
    return int(hashlib.md5(word.encode('utf-8')).hexdigest(), 16)


def hashing_trick(text, n, hash_function=None, filters=DEFAULT_FILTERS, lower=True,
                  split=' '):
    """A text's words as indices in ``1 .. n-1`` by hashing: ``hash(word) % (n - 1) + 1``
    (0 is left for padding). Different words may share an index.

    Args:
        text: a string.
        n: the size of the hashing space (indices are below ``n``).
        hash_function: None (Python's ``hash``, which varies between processes unless
            PYTHONHASHSEED is set), ``'md5'`` (stable), or a function of a word returning an
            int.
        filters, lower, split: as ``text_to_word_sequence``.

    Returns:
        A list of int indices.

    Example:
        >>> hashing_trick('a b a', 10, hash_function='md5')[0] == \\
        ...     hashing_trick('a', 10, hash_function='md5')[0]
        True
    """
    if hash_function is None:
        hash_function = hash
    elif hash_function == 'md5':
        hash_function = _md5_hash
    elif not callable(hash_function):
        raise ValueError(f"hash_function must be None, 'md5' or a function; got "
                         f"{hash_function!r}")
    if int(n) != n or n < 2:
        raise ValueError(f'n must be an integer >= 2 (indices are 1 .. n-1); got {n!r}')
    seq = text_to_word_sequence(text, filters=filters, lower=lower, split=split)
    return [int(hash_function(w) % (n - 1) + 1) for w in seq]


def one_hot(text, n, filters=DEFAULT_FILTERS, lower=True, split=' '):
    """A text's words as indices in ``1 .. n-1`` by hashing with Python's ``hash``
    (``hashing_trick(text, n, hash_function=hash)``); not unique per word.

    Example:
        >>> seq = one_hot('to be or not to be', 50)
        >>> seq[0] == seq[4] and seq[1] == seq[5]
        True
    """
    return hashing_trick(text, n, hash_function=hash, filters=filters, lower=lower,
                         split=split)


class Tokenizer:
    """Turns texts into sequences of word indices or into vectors (Keras 2's Tokenizer).

    ``fit_on_texts`` counts words; words are indexed by falling count (ties in order of first
    appearance) from 1, and with ``oov_token`` that token takes index 1. Index 0 is reserved.
    Only words of index below ``num_words`` (the ``num_words - 1`` most frequent) are kept
    when converting; other words become ``oov_token``'s index if it is set, else are dropped.

    Args:
        num_words: keep the ``num_words - 1`` most frequent words (None: all).
        filters: characters stripped from texts.
        lower: lower-case texts.
        split: the word separator.
        char_level: every character is a token.
        oov_token: a token that replaces out-of-vocabulary words in ``texts_to_sequences``.
        document_count: the number of documents seen (normally left at 0).

    Attributes:
        word_counts: OrderedDict word -> count over all texts fitted.
        word_docs: dict word -> number of texts containing it.
        word_index / index_word: word <-> index.
        index_docs: dict index -> number of texts (or sequences) containing it.
        document_count: the number of texts (or sequences) fitted.

    Example:
        >>> tok = Tokenizer(num_words=3, oov_token='<?>')
        >>> tok.fit_on_texts(['b b a', 'a b c'])
        >>> tok.word_index
        {'<?>': 1, 'b': 2, 'a': 3, 'c': 4}
        >>> tok.texts_to_sequences(['b a d'])
        [[2, 1, 1]]
    """

    def __init__(self, num_words=None, filters=DEFAULT_FILTERS, lower=True, split=' ',
                 char_level=False, oov_token=None, document_count=0, **kwargs):
        if 'nb_words' in kwargs:   # Keras 1 spelling
            warnings.warn('The `nb_words` argument in `Tokenizer` has been renamed '
                          '`num_words`.')
            num_words = kwargs.pop('nb_words')
        if kwargs:
            raise TypeError(f'Unrecognized keyword arguments: {sorted(kwargs)}')
        if num_words is not None and (int(num_words) != num_words or num_words < 0):
            raise ValueError(f'num_words must be None or a non-negative integer; got '
                             f'{num_words!r}')
        self.word_counts = OrderedDict()
        self.word_docs = defaultdict(int)
        self.filters = filters
        self.split = split
        self.lower = lower
        self.num_words = num_words
        self.document_count = document_count
        self.char_level = char_level
        self.oov_token = oov_token
        self.index_docs = defaultdict(int)
        self.word_index = {}
        self.index_word = {}

    # -- tokenising ---------------------------------------------------------------------------
    def _tokens(self, text):
        if self.char_level or isinstance(text, list):
            if self.lower:
                text = [t.lower() for t in text] if isinstance(text, list) else text.lower()
            return text
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    def fit_on_texts(self, texts):
        """Update the vocabulary from texts (strings, or lists of tokens).

        Args:
            texts: an iterable of strings, or of lists of strings (already tokens).
        """
        if isinstance(texts, str):
            raise TypeError('fit_on_texts expects a list of texts, not one string (wrap it '
                            'in a list)')
        for text in texts:
            self.document_count += 1
            seq = self._tokens(text)
            for w in seq:
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
            for w in set(seq):
                self.word_docs[w] += 1

        # Stable sort: words of equal count keep their order of first appearance.
        wcounts = sorted(self.word_counts.items(), key=lambda wc: wc[1], reverse=True)
        sorted_voc = [] if self.oov_token is None else [self.oov_token]
        sorted_voc.extend(w for w, _ in wcounts if w != self.oov_token)
        self.word_index = {w: i for i, w in enumerate(sorted_voc, start=1)}
        self.index_word = {i: w for w, i in self.word_index.items()}
        for w, c in self.word_docs.items():
            self.index_docs[self.word_index[w]] = c

    def fit_on_sequences(self, sequences):
        """Update the document counts from index sequences (needed for 'tfidf' matrices when
        the tokenizer was not fitted on texts).

        Args:
            sequences: a list of lists of word indices.
        """
        self.document_count += len(sequences)
        for seq in sequences:
            for i in set(seq):
                self.index_docs[i] += 1

    def _kept_index(self, i, oov_index):
        """``i`` if the index is kept under ``num_words``, else the OOV index (or None)."""
        if self.num_words and i >= self.num_words:
            return oov_index
        return i

    def texts_to_sequences(self, texts):
        """Each text as a list of word indices (only words known to the tokenizer).

        Args:
            texts: a list of strings (or of token lists).

        Returns:
            A list of lists of ints.
        """
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts):
        """Yield ``texts_to_sequences`` row by row (one list per text)."""
        if isinstance(texts, str):
            raise TypeError('texts_to_sequences expects a list of texts, not one string '
                            '(wrap it in a list)')
        oov_index = self.word_index.get(self.oov_token)
        for text in texts:
            vect = []
            for w in self._tokens(text):
                i = self.word_index.get(w)
                if i is not None:
                    i = self._kept_index(i, oov_index)
                    if i is not None:
                        vect.append(i)
                elif self.oov_token is not None and oov_index is not None:
                    vect.append(oov_index)
            yield vect

    def sequences_to_texts(self, sequences):
        """Each index sequence back to a string of words joined by spaces (unknown indices
        dropped, indices at or above ``num_words`` shown as ``oov_token``).

        Example:
            >>> tok = Tokenizer()
            >>> tok.fit_on_texts(['a b'])
            >>> tok.sequences_to_texts([[2, 1, 9]])
            ['b a']
        """
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences):
        """Yield ``sequences_to_texts`` row by row."""
        oov_index = self.word_index.get(self.oov_token)
        for seq in sequences:
            vect = []
            for num in seq:
                num = int(num)
                if num in self.index_word:
                    kept = self._kept_index(num, oov_index)
                    if kept is not None:
                        vect.append(self.index_word[kept])
                elif self.oov_token is not None and oov_index is not None:
                    vect.append(self.index_word[oov_index])
            yield ' '.join(vect)

    # -- vectorising --------------------------------------------------------------------------
    def texts_to_matrix(self, texts, mode='binary'):
        """Texts as a ``(len(texts), num_words)`` matrix (see ``sequences_to_matrix``)."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences, mode='binary'):
        """Index sequences as a ``(len(sequences), num_words)`` float matrix.

        Column ``j`` of row ``i`` is, for index ``j`` occurring ``c > 0`` times in sequence
        ``i``: 1 ('binary'), ``c`` ('count'), ``c / len(sequence)`` ('freq') or
        ``(1 + log c) * log(1 + document_count / (1 + index_docs[j]))`` ('tfidf').
        Indices at or above ``num_words`` are ignored.

        Args:
            sequences: a list of lists of indices.
            mode: 'binary', 'count', 'tfidf' or 'freq'.

        Returns:
            A float64 numpy array.
        """
        if mode not in _MODES:
            raise ValueError(f'Unknown vectorization mode: {mode!r}; use one of '
                             f'{", ".join(_MODES)}')
        if not self.num_words:
            if self.word_index:
                num_words = len(self.word_index) + 1
            else:
                raise ValueError('Specify a dimension (`num_words` argument), or fit on some '
                                 'text data first.')
        else:
            num_words = self.num_words
        if mode == 'tfidf' and not self.document_count:
            raise ValueError('Fit the Tokenizer on some data before using tfidf mode.')

        x = np.zeros((len(sequences), num_words))
        for i, seq in enumerate(sequences):
            if not len(seq):
                continue
            counts = defaultdict(int)
            for j in seq:
                if j >= num_words:
                    continue
                counts[int(j)] += 1
            for j, c in counts.items():
                if mode == 'count':
                    x[i, j] = c
                elif mode == 'freq':
                    x[i, j] = c / len(seq)
                elif mode == 'binary':
                    x[i, j] = 1
                else:
                    tf = 1 + np.log(c)
                    idf = np.log(1 + self.document_count / (1 + self.index_docs.get(j, 0)))
                    x[i, j] = tf * idf
        return x

    # -- saving -------------------------------------------------------------------------------
    def get_config(self):
        """The tokenizer's settings and vocabulary as a JSON-ready dict."""
        return {
            'num_words': self.num_words,
            'filters': self.filters,
            'lower': self.lower,
            'split': self.split,
            'char_level': self.char_level,
            'oov_token': self.oov_token,
            'document_count': self.document_count,
            'word_counts': json.dumps(self.word_counts),
            'word_docs': json.dumps(self.word_docs),
            'index_docs': json.dumps(self.index_docs),
            'index_word': json.dumps(self.index_word),
            'word_index': json.dumps(self.word_index),
        }

    def to_json(self, **kwargs):
        """The tokenizer as a JSON string (``tokenizer_from_json`` reads it back).

        Args:
            **kwargs: passed to ``json.dumps`` (e.g. ``indent=2``).
        """
        return json.dumps({'class_name': self.__class__.__name__,
                           'config': self.get_config()}, **kwargs)


def tokenizer_from_json(json_string):
    """A Tokenizer from the JSON of ``Tokenizer.to_json`` (plain JSON: nothing is executed).

    Example:
        >>> tok = Tokenizer()
        >>> tok.fit_on_texts(['a b b'])
        >>> tokenizer_from_json(tok.to_json()).word_index == tok.word_index
        True
    """
    try:
        data = json.loads(json_string)
        config = dict(data['config'])
        if data.get('class_name', 'Tokenizer') != 'Tokenizer':
            raise ValueError(f"the JSON describes a {data.get('class_name')!r}, not a "
                             f"Tokenizer")
        word_counts = json.loads(config.pop('word_counts'))
        word_docs = json.loads(config.pop('word_docs'))
        index_docs = {int(k): v for k, v in json.loads(config.pop('index_docs')).items()}
        index_word = {int(k): v for k, v in json.loads(config.pop('index_word')).items()}
        word_index = json.loads(config.pop('word_index'))
    except (TypeError, KeyError, ValueError, AttributeError) as e:
        raise ValueError(f'Not the JSON of a Tokenizer (from Tokenizer.to_json()): {e}') \
            from None
    tokenizer = Tokenizer(**config)
    tokenizer.word_counts = OrderedDict(word_counts)
    tokenizer.word_docs = defaultdict(int, word_docs)
    tokenizer.index_docs = defaultdict(int, index_docs)
    tokenizer.word_index = word_index
    tokenizer.index_word = index_word
    return tokenizer
