"""Keras 2's ``keras.layers.convolutional_recurrent``.

``ConvRNN2D``, ``ConvLSTM2DCell`` and ``ConvLSTM2D`` are not in graphc yet (they need a
convolution inside the recurrent step); this module holds Keras's path.
"""

__all__ = []
