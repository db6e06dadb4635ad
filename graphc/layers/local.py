"""Keras 2's ``keras.layers.local`` (locally-connected layers).

``LocallyConnected1D`` and ``LocallyConnected2D`` are not in graphc yet (they need the
unshared-weights convolution op); this module holds Keras's path so that ``from
graphc.layers.local import ...`` names what is missing instead of failing at the import.
"""

__all__ = []
