"""Pickling of models: ``pickle.dumps(model)`` holds the model as the HDF5 bytes of
``model.save`` (architecture, weights, and for a compiled model its training configuration and
optimizer state), so ``pickle.loads`` gives a model that predicts the same and trains on from
the same optimizer state.

Classes of the user's own layers travel by reference (pickle imports them by name, as it does
for any class); a ``lambda`` in a Lambda layer is restored from its saved bytecode, since
unpickling already trusts the data it is given.

Example:
    >>> clone = pickle.loads(pickle.dumps(model))
"""
from __future__ import annotations

import io

__all__ = ['model_to_bytes', 'model_from_bytes']


def _user_classes(model):
    """The classes of layers (at any depth) that graphc does not define: name -> class."""
    found = {}
    stack = list(getattr(model, 'layers', []))
    while stack:
        layer = stack.pop()
        cls = type(layer)
        if not cls.__module__.startswith('graphc.'):
            found[cls.__name__] = cls
        stack.extend(getattr(layer, 'layers', []))
    return found


def model_to_bytes(model):
    """``(data, custom_objects, compiled)`` for pickling ``model``."""
    import h5py

    from ..saving import save_model
    if not getattr(model, '_is_graph_network', False):
        raise TypeError(f"Cannot pickle model {model.name!r}: only Sequential and functional "
                        f"models (built from Input tensors) can be pickled; a subclassed model "
                        f"has no architecture to save. Pickle its weights (get_weights()) "
                        f"instead.")
    compiled = getattr(model, 'optimizer', None) is not None
    buffer = io.BytesIO()
    with h5py.File(buffer, 'w') as f:
        save_model(model, f, include_optimizer=compiled)
    return buffer.getvalue(), _user_classes(model), compiled


def model_from_bytes(data, custom_objects, compiled):
    """The model that ``model_to_bytes`` saved (pickle's reconstructor)."""
    import h5py

    from ..saving import load_model
    with h5py.File(io.BytesIO(data), 'r') as f:
        return load_model(f, custom_objects=custom_objects, compile=compiled, safe_mode=False)
