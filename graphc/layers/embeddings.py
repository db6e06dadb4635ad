"""Keras 2's ``keras.layers.embeddings``: the ``Embedding`` layer (defined with the core layers
in ``graphc.layers.core``)."""
from .core import Embedding  # noqa: F401

__all__ = ['Embedding']
