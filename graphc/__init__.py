"""graphc: a Keras-2-style deep learning library on its own symbolic graph compiler."""
__version__ = "0.1.0"
