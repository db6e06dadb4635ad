"""Keras 2's ``keras.layers.cudnn_recurrent``.

``CuDNNLSTM`` and ``CuDNNGRU`` are not in graphc yet (they need the CuDNN weight layout
converted for graphc's recurrent loop); this module holds Keras's path.
"""

__all__ = []
