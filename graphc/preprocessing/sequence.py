"""Sequence preprocessing (``keras.preprocessing.sequence`` of Keras 2.2.4).

``pad_sequences`` turns a list of variable-length sequences into one array; ``skipgrams``
and ``make_sampling_table`` build word2vec-style training pairs; ``TimeseriesGenerator`` is a
``graphc.utils.Sequence`` of (window, target) batches cut from one long series.

Example:
    >>> pad_sequences([[1, 2, 3], [4]], maxlen=2).tolist()
    [[2, 3], [0, 4]]
"""
from __future__ import annotations

import random

import numpy as np

from ..utils.data_utils import Sequence

__all__ = ['pad_sequences', 'skipgrams', 'make_sampling_table', 'TimeseriesGenerator']

_PADDINGS = ('pre', 'post')


def _is_string_dtype(dtype):
    kind = np.dtype(dtype).kind
    return kind in ('U', 'S')


def pad_sequences(sequences, maxlen=None, dtype='int32', padding='pre', truncating='pre',
                  value=0.):
    """Pad (and cut) sequences to one length, giving an array ``(len(sequences), maxlen)``.

    Sequences longer than ``maxlen`` lose items at the start (``truncating='pre'``) or the end
    (``'post'``); shorter ones are filled with ``value`` before (``padding='pre'``) or after
    (``'post'``) their items. Items may themselves be arrays (all of one shape), which then
    become the trailing axes of the result.

    Args:
        sequences: a list (any iterable) of sequences (lists, arrays, strings...).
        maxlen: the length of the result; default the longest sequence's length.
        dtype: the result's dtype; ``object`` or a string dtype for sequences of strings.
        padding: 'pre' or 'post', where the fill goes.
        truncating: 'pre' or 'post', which end of a long sequence is dropped.
        value: the fill value (a string needs ``dtype=object`` or a string dtype).

    Returns:
        A numpy array of shape ``(len(sequences), maxlen) + item_shape``.

    Raises:
        ValueError: a sequence is not iterable, an option is unknown, items differ in shape,
            or a string ``value`` meets a numeric ``dtype``.

    Example:
        >>> pad_sequences([[1, 2, 3], [4]], maxlen=2, padding='post', truncating='post').tolist()
        [[1, 2], [4, 0]]
    """
    if not hasattr(sequences, '__len__'):
        sequences = list(sequences)
    lengths = []
    for x in sequences:
        if not hasattr(x, '__len__'):
            raise ValueError(f'`sequences` must be a list of iterables. Found non-iterable: '
                             f'{x!r}')
        lengths.append(len(x))
    if padding not in _PADDINGS:
        raise ValueError(f'Padding type "{padding}" not understood: use "pre" or "post"')
    if truncating not in _PADDINGS:
        raise ValueError(f'Truncating type "{truncating}" not understood: use "pre" or "post"')
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    maxlen = int(maxlen)
    if maxlen < 0:
        raise ValueError(f'`maxlen` must be a non-negative integer; got {maxlen}')

    # The shape of one item: taken from the first non-empty sequence.
    sample_shape = ()
    for s in sequences:
        if len(s) > 0:
            sample_shape = np.asarray(s).shape[1:]
            break

    is_object = np.dtype(dtype) == np.dtype(object)
    if isinstance(value, str) and not is_object and not _is_string_dtype(dtype):
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type: "
                         f"{type(value)}\nYou should set `dtype=object` for variable length "
                         f"strings.")

    x = np.full((len(sequences), maxlen) + sample_shape, value, dtype=dtype)
    if maxlen == 0:
        return x
    for idx, s in enumerate(sequences):
        if not len(s):
            continue
        trunc = s[-maxlen:] if truncating == 'pre' else s[:maxlen]
        if is_object and not sample_shape:
            # np.asarray would turn equal-length strings or lists into a 2-D array.
            items = list(trunc)
            trunc = np.empty(len(items), dtype=object)
            for k, item in enumerate(items):
                trunc[k] = item
        else:
            trunc = np.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != sample_shape:
            raise ValueError(f'Shape of sample {trunc.shape[1:]} of sequence at position '
                             f'{idx} is different from expected shape {sample_shape}')
        if padding == 'post':
            x[idx, :len(trunc)] = trunc
        else:
            x[idx, maxlen - len(trunc):] = trunc
    return x


def make_sampling_table(size, sampling_factor=1e-5):
    """The probability of keeping each word rank when sampling skipgram pairs (word2vec).

    Word ``i`` (the ``i``-th most frequent, 1-based ranks) is assumed to follow Zipf's law,
    ``frequency = 1 / (rank * (log(rank) + gamma) + 1/2 - 1/(12 * rank))`` with Euler's
    ``gamma``, and is kept with probability
    ``min(1, sqrt(frequency / sampling_factor) / (frequency / sampling_factor))``,
    so frequent words are kept less often. Entry 0 (the padding index) uses rank 1.

    Args:
        size: the vocabulary size (length of the table).
        sampling_factor: the word2vec sampling factor.

    Returns:
        A float array of length ``size``; ``table[i]`` is the keep probability of rank ``i``.

    Example:
        >>> t = make_sampling_table(5)
        >>> bool(t[1] <= t[4])
        True
    """
    gamma = 0.577
    rank = np.arange(size, dtype='float64')
    if size:
        rank[0] = 1
    inv_fq = rank * (np.log(rank) + gamma) + 0.5 - 1. / (12. * rank)
    f = sampling_factor * inv_fq   # = sampling_factor / frequency
    return np.minimum(1., f / np.sqrt(f))


def skipgrams(sequence, vocabulary_size, window_size=4, negative_samples=1., shuffle=True,
              categorical=False, sampling_table=None, seed=None):
    """(word, context) pairs with labels: 1 for a word inside the window, 0 for a random word.

    For each non-zero word ``w_i`` (index 0 is skipped as padding), every non-zero ``w_j`` with
    ``0 < |i - j| <= window_size`` gives a positive pair ``[w_i, w_j]``. Then
    ``int(negative_samples * positives)`` negative pairs ``[w, r]`` are added: ``w`` runs over
    the positive pairs' first words in random order, ``r`` is uniform in
    ``1 .. vocabulary_size - 1``.

    Args:
        sequence: a list of word indices (e.g. one ``texts_to_sequences`` row).
        vocabulary_size: one more than the largest word index.
        window_size: how far the context reaches on each side.
        negative_samples: negatives per positive pair (0 for none).
        shuffle: shuffle the pairs (and their labels alike).
        categorical: labels as ``[0, 1]`` / ``[1, 0]`` instead of ``1`` / ``0``.
        sampling_table: keep probabilities per index (``make_sampling_table``); a word ``w_i``
            is skipped with probability ``1 - sampling_table[w_i]``.
        seed: seed of the shuffle.

    Returns:
        ``(couples, labels)``: lists of ``[word, context]`` pairs and of their labels.

    Example:
        >>> couples, labels = skipgrams([1, 2], 3, window_size=1, negative_samples=0,
        ...                             shuffle=False)
        >>> couples, labels
        ([[1, 2], [2, 1]], [1, 1])
    """
    couples, labels = [], []
    positive = [0, 1] if categorical else 1
    negative = [1, 0] if categorical else 0
    n = len(sequence)
    for i, wi in enumerate(sequence):
        if not wi:
            continue
        if sampling_table is not None and sampling_table[wi] < random.random():
            continue
        for j in range(max(0, i - window_size), min(n, i + window_size + 1)):
            if j == i:
                continue
            wj = sequence[j]
            if not wj:
                continue
            couples.append([wi, wj])
            labels.append(positive)

    if negative_samples > 0 and couples:
        num_negative = int(len(labels) * negative_samples)
        words = [c[0] for c in couples]
        random.shuffle(words)
        couples += [[words[i % len(words)], random.randint(1, vocabulary_size - 1)]
                    for i in range(num_negative)]
        labels += [negative] * num_negative

    if shuffle:
        if seed is None:
            seed = random.randint(0, 10 ** 7)
        order = list(range(len(couples)))
        random.Random(seed).shuffle(order)
        couples = [couples[k] for k in order]
        labels = [labels[k] for k in order]
    return couples, labels


class TimeseriesGenerator(Sequence):
    """Batches of (window, target) pairs cut from one time series, as a ``Sequence``.

    Sample ``k`` of the generator ends just before row ``i = start_index + length + k*stride``:
    its input is ``data[i - length:i:sampling_rate]`` and its target ``targets[i]``, for every
    ``i`` up to ``end_index``.

    Args:
        data: an indexable series (list or array) whose first axis is time.
        targets: the targets, one per time step (same length as ``data``).
        length: the window length (in time steps, before sampling).
        sampling_rate: the step between rows inside a window.
        stride: the step between successive windows.
        start_index, end_index: the first and last time steps that may be used (as a target,
            ``start_index + length`` onwards); ``end_index`` defaults to the last step.
        shuffle: draw windows at random (with replacement) instead of in order.
        reverse: give each window's rows in reverse time order.
        batch_size: windows per batch (the last batch may be smaller).

    Example:
        >>> data = np.arange(10).reshape(10, 1)
        >>> gen = TimeseriesGenerator(data, data, length=3, batch_size=2)
        >>> x, y = gen[0]
        >>> x[:, :, 0].tolist(), y[:, 0].tolist()
        ([[0, 1, 2], [1, 2, 3]], [3, 4])
    """

    def __init__(self, data, targets, length, sampling_rate=1, stride=1, start_index=0,
                 end_index=None, shuffle=False, reverse=False, batch_size=128):
        if len(data) != len(targets):
            raise ValueError(f'Data and targets have to be of same length. Data length is '
                             f'{len(data)} while target length is {len(targets)}')
        for name, v in (('length', length), ('sampling_rate', sampling_rate),
                        ('stride', stride), ('batch_size', batch_size)):
            if int(v) != v or v < 1:
                raise ValueError(f'`{name}` must be a positive integer; got {v!r}')
        self.data = data
        self.targets = targets
        self.length = int(length)
        self.sampling_rate = int(sampling_rate)
        self.stride = int(stride)
        self.start_index = int(start_index) + self.length
        self.end_index = len(data) - 1 if end_index is None else int(end_index)
        self.shuffle = shuffle
        self.reverse = reverse
        self.batch_size = int(batch_size)
        if self.start_index > self.end_index:
            raise ValueError(f'`start_index+length={self.start_index} > end_index='
                             f'{self.end_index}` is disallowed, as no part of the sequence '
                             f'would be left to be used as current step.')

    def __len__(self):
        span = self.batch_size * self.stride
        return (self.end_index - self.start_index + span) // span

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f'batch {index} of a TimeseriesGenerator of {len(self)} batches')
        index %= len(self)
        if self.shuffle:
            rows = np.random.randint(self.start_index, self.end_index + 1, size=self.batch_size)
        else:
            i = self.start_index + self.batch_size * self.stride * index
            rows = np.arange(i, min(i + self.batch_size * self.stride, self.end_index + 1),
                             self.stride)
        samples = np.array([self.data[row - self.length:row:self.sampling_rate]
                            for row in rows])
        targets = np.array([self.targets[row] for row in rows])
        if self.reverse:
            return samples[:, ::-1, ...], targets
        return samples, targets
