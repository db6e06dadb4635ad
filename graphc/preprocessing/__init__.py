"""Data preprocessing of the Keras 2 API (``keras.preprocessing``).

- ``sequence``: ``pad_sequences``, ``skipgrams``, ``make_sampling_table``,
  ``TimeseriesGenerator``.
- ``text``: ``Tokenizer``, ``tokenizer_from_json``, ``one_hot``, ``hashing_trick``,
  ``text_to_word_sequence``.
- ``image``: ``ImageDataGenerator`` and its iterators, ``load_img`` / ``save_img`` /
  ``img_to_array`` / ``array_to_img`` (image files need Pillow: ``pip install graphc[image]``)
  and the ``random_*`` / ``apply_*`` transforms (scipy.ndimage).

The submodules load on first use, so ``import graphc`` does not import scipy.ndimage.

Example:
    >>> from graphc.preprocessing import sequence
    >>> sequence.pad_sequences([[1], [2, 3]]).tolist()
    [[0, 1], [2, 3]]
"""
import importlib as _importlib

__all__ = ['image', 'sequence', 'text']


def __getattr__(name):
    if name in __all__:
        return _importlib.import_module(f'{__name__}.{name}')
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
