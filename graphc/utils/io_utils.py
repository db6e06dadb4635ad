"""Input / output helpers (Keras 2's ``keras.utils.io_utils``): ``HDF5Matrix``, a dataset of
an HDF5 file used in place of a numpy array, and the overwrite prompt.

Example:
    >>> x = HDF5Matrix('data.h5', 'images', start=0, end=1000)
    >>> model.fit(x, y, shuffle='batch')
"""
from __future__ import annotations

import numpy as np

__all__ = ['HDF5Matrix', 'ask_to_proceed_with_overwrite']


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("HDF5Matrix needs h5py: pip install h5py") from None
    return h5py


class HDF5Matrix:
    """Rows ``start:end`` of a dataset in an HDF5 file, read on demand, indexed like a numpy
    array (an int, a slice, or a sorted list of ints); ``normalizer`` is applied to whatever
    is read. Each file is opened once (read-only) and shared between instances.

    Args:
        datapath: the HDF5 file's path.
        dataset: the dataset's name in the file, e.g. 'images'.
        start: the first row.
        end: one past the last row (default: the dataset's length).
        normalizer: a function applied to the rows read, or None.

    Example:
        >>> x = HDF5Matrix('data.h5', 'x', normalizer=lambda a: a / 255.)
        >>> x[:32].shape
        (32, 28, 28)
    """

    refs: dict = {}

    def __init__(self, datapath, dataset, start=0, end=None, normalizer=None):
        h5py = _h5py()
        if datapath not in self.refs:
            self.refs[datapath] = h5py.File(datapath, 'r')
        f = self.refs[datapath]
        if dataset not in f:
            raise KeyError(f"HDF5Matrix: no dataset {dataset!r} in {datapath}; it holds "
                           f"{sorted(f.keys())}")
        self.data = f[dataset]
        rows = self.data.shape[0]
        self.start = int(start)
        self.end = rows if end is None else int(end)
        if not 0 <= self.start <= self.end <= rows:
            raise ValueError(f"HDF5Matrix: start={start}, end={end} must satisfy 0 <= start "
                             f"<= end <= {rows} (the rows of {dataset!r})")
        self.normalizer = normalizer
        if normalizer is not None:
            first = normalizer(self.data[:1])
            self._base_shape, self._base_dtype = first.shape[1:], first.dtype
        else:
            self._base_shape, self._base_dtype = self.data.shape[1:], self.data.dtype

    def __len__(self):
        return self.end - self.start

    def _row(self, i):
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"HDF5Matrix index {i} out of range for {len(self)} rows")
        return i + self.start

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                key = list(range(start, stop, step))
            else:
                out = self.data[self.start + start:self.start + max(stop, start)]
        if isinstance(key, slice):
            pass
        elif isinstance(key, (int, np.integer)):
            out = self.data[self._row(key)]
        elif isinstance(key, (list, np.ndarray)):
            rows = [self._row(i) for i in key]
            # h5py reads strictly increasing indices: read those, then index in numpy
            uniq, inverse = np.unique(rows, return_inverse=True)
            out = self.data[list(uniq)] if len(uniq) else self.data[0:0]
            out = out[inverse.reshape(-1)] if len(rows) else out
        else:
            raise IndexError(f"HDF5Matrix indices must be an int, a slice or a list of ints, "
                             f"got {type(key).__name__}")
        return self.normalizer(out) if self.normalizer is not None else out

    def __array__(self, dtype=None, copy=None):
        out = np.asarray(self[:])
        return out.astype(dtype) if dtype is not None else out

    @property
    def shape(self):
        """``(rows, ...)``: the selected rows, after the normalizer."""
        return (len(self),) + tuple(self._base_shape)

    @property
    def dtype(self):
        """The dtype of what indexing returns (after the normalizer)."""
        return self._base_dtype

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape))


def ask_to_proceed_with_overwrite(filepath):
    """Ask on the terminal whether to overwrite ``filepath``.

    Returns:
        True to overwrite, False to keep the file.
    """
    while True:
        answer = input(f"[WARNING] {filepath} already exists - overwrite? [y/n] ").strip().lower()
        if answer in ('y', 'n'):
            break
        print('Enter "y" (overwrite) or "n" (cancel).')
    if answer == 'n':
        return False
    print('[TIP] Next time specify overwrite=True!')
    return True
