"""Where the dataset files come from, their hashes, and safe readers for their formats.

The origins and hashes are those Keras uses. The environment variable
``GRAPHC_DATASETS_ORIGIN`` (read at each call) replaces every origin's base URL, e.g. with a
local mirror: ``GRAPHC_DATASETS_ORIGIN=http://mirror.local/keras/`` makes ``mnist.load_data()``
fetch ``http://mirror.local/keras/mnist.npz``. The hashes are still checked.

The ragged datasets (imdb, reuters) and the CIFAR batches are stored as Python pickles. They
are read with an unpickler that only rebuilds numpy arrays, lists, numbers and strings, so a
planted file cannot run code even before its hash is checked.
"""
from __future__ import annotations

import io
import os
import pickle
import zipfile

import numpy as np

from graphc.utils.data_utils import get_file

ORIGIN_ENV = 'GRAPHC_DATASETS_ORIGIN'

KERAS_ORIGIN = 'https://storage.googleapis.com/tensorflow/tf-keras-datasets/'
CIFAR_ORIGIN = 'https://www.cs.toronto.edu/~kriz/'

# Remote file name -> (default base URL, sha256 or md5 of the file).
FILES = {
    'mnist.npz': (
        KERAS_ORIGIN, '731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1'),
    'train-labels-idx1-ubyte.gz': (
        KERAS_ORIGIN, 'a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845'),
    'train-images-idx3-ubyte.gz': (
        KERAS_ORIGIN, '3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84'),
    't10k-labels-idx1-ubyte.gz': (
        KERAS_ORIGIN, '67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5'),
    't10k-images-idx3-ubyte.gz': (
        KERAS_ORIGIN, '346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073'),
    'cifar-10-python.tar.gz': (
        CIFAR_ORIGIN, '6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce'),
    'cifar-100-python.tar.gz': (
        CIFAR_ORIGIN, '85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7'),
    'imdb.npz': (
        KERAS_ORIGIN, '69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f'),
    'imdb_word_index.json': (KERAS_ORIGIN, 'bfafd718b763782e994055a2d397834f'),
    'reuters.npz': (
        KERAS_ORIGIN, 'd6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916'),
    'reuters_word_index.json': (KERAS_ORIGIN, '4d44cc38712099c9e383dc6e5f11a921'),
    'boston_housing.npz': (
        KERAS_ORIGIN, 'f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5'),
}


def origin_of(remote_name):
    """The URL of a dataset file (honouring ``$GRAPHC_DATASETS_ORIGIN``)."""
    base = os.environ.get(ORIGIN_ENV) or FILES[remote_name][0]
    return base.rstrip('/') + '/' + remote_name


def fetch(remote_name, fname=None, cache_subdir='datasets', untar=False):
    """``get_file`` for a known dataset file: its origin and hash come from ``FILES``.

    Args:
        remote_name: the file's name at the origin (a key of ``FILES``).
        fname: the name in the cache (default ``remote_name``).
        cache_subdir: the folder in the graphc home.
        untar: extract the tar archive and return the folder ``fname``.

    Returns:
        The local path.
    """
    return get_file(fname or remote_name, origin=origin_of(remote_name),
                    file_hash=FILES[remote_name][1], cache_subdir=cache_subdir, untar=untar)


# Globals a dataset pickle may name: what numpy needs to rebuild arrays, and the bytes helper
# that protocol-2 pickles written by Python 3 use. ``numpy.core`` is numpy 1's name.
_ALLOWED_GLOBALS = {
    ('numpy._core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', 'scalar'),
    ('numpy._core.numeric', '_frombuffer'),
    ('numpy', 'ndarray'),
    ('numpy', 'dtype'),
    ('_codecs', 'encode'),
}


class _SafeUnpickler(pickle.Unpickler):
    def __init__(self, file, where, encoding):
        super().__init__(file, encoding=encoding)
        self.where = where

    def find_class(self, module, name):
        if module.startswith('numpy.core.'):
            module = 'numpy._core.' + module[len('numpy.core.'):]
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"{self.where} names {module}.{name}; dataset files may only hold numpy arrays, "
            "lists, numbers and strings, so it was not loaded (delete it to download it again)")


def safe_pickle_load(file, where, encoding='bytes'):
    """Unpickle data made of numpy arrays, lists, dicts, numbers and strings only.

    Args:
        file: a binary file object.
        where: the file's name, for error messages.
        encoding: how Python 2 ``str`` objects are decoded ('bytes' keeps them as bytes).

    Returns:
        The unpickled object.
    """
    return _SafeUnpickler(file, where, encoding).load()


def load_npz(path):
    """Read every array of an ``.npz`` file, object arrays through ``safe_pickle_load``.

    Args:
        path: the .npz file.

    Returns:
        dict name -> array.
    """
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if not member.endswith('.npy'):
                continue
            key = member[:-len('.npy')]
            where = f'{path}[{key}]'
            with archive.open(member) as f:
                data = io.BytesIO(f.read())
            version = np.lib.format.read_magic(data)
            if version == (1, 0):
                _, _, dtype = np.lib.format.read_array_header_1_0(data)
            elif version == (2, 0):
                _, _, dtype = np.lib.format.read_array_header_2_0(data)
            else:
                dtype = None  # a format this reader does not parse: let numpy refuse pickles
            if dtype is not None and dtype.hasobject:
                # Python 2 numpy pickles need latin1 to rebuild their raw array bytes.
                arrays[key] = safe_pickle_load(data, where, encoding='latin1')
            else:
                data.seek(0)
                arrays[key] = np.lib.format.read_array(data, allow_pickle=False)
    return arrays
