"""graphc: a Keras-2-style deep learning library on its own symbolic graph compiler.

``import graphc`` makes the Keras-style modules available as attributes, as ``import keras``
does: ``graphc.layers``, ``graphc.models``, ``graphc.optimizers``, ``graphc.losses`` ...
"""
__version__ = "0.1.0"

from . import config  # noqa: E402,F401
from . import backend  # noqa: E402,F401
from . import activations, constraints, initializers, regularizers  # noqa: E402,F401
from . import losses, metrics, optimizers  # noqa: E402,F401
from . import callbacks, layers, models, utils  # noqa: E402,F401
from . import datasets  # noqa: E402,F401
from .engine import Input, Model  # noqa: E402,F401
from .models import Sequential  # noqa: E402,F401
