"""Keras 1 spellings that Keras 2 kept (Keras 2's ``keras.legacy``).

``graphc.legacy.layers`` holds the deprecated layers Keras 2.2 still ships (Highway,
MaxoutDense, AtrousConvolution1D / 2D); ``graphc.legacy.interfaces`` the decorators that
translate Keras 1 argument names into Keras 2 ones, for user layers written against them.
The abstract Keras 1 bases ``Recurrent`` and ``ConvRecurrent2D`` are not provided: graphc's
recurrent layers derive from ``graphc.layers.RNN``.
"""
from . import interfaces, layers  # noqa: F401
