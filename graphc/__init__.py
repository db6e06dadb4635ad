"""graphc: a Keras-2-style deep learning library on its own symbolic graph compiler.

``import graphc`` makes the Keras-style modules available as attributes, as ``import keras``
does: ``graphc.layers``, ``graphc.models``, ``graphc.optimizers``, ``graphc.losses`` ...

The core of the Keras API (backend, layers, models, losses, metrics, optimizers, ...) is
imported eagerly. ``graphc.callbacks``, ``graphc.utils``, ``graphc.datasets`` and
``graphc.preprocessing`` are imported on first attribute access (PEP 562), so a process that
only builds and runs a model does not pay for the HTTP, archive and dataset code (~25 ms of
every start with ``.pyc`` files, more without).
"""
import importlib as _importlib

from .version import __version__  # noqa: E402,F401

from . import config  # noqa: E402,F401
from . import backend  # noqa: E402,F401
from . import activations, constraints, initializers, regularizers  # noqa: E402,F401
from . import losses, metrics, optimizers  # noqa: E402,F401
from . import layers, models  # noqa: E402,F401
from .engine import Input, Model  # noqa: E402,F401
from .models import Sequential  # noqa: E402,F401

# submodules imported on first use: ``graphc.callbacks`` works exactly as before
_LAZY = ("callbacks", "utils", "datasets", "preprocessing", "applications")


def __getattr__(name):
    if name in _LAZY:
        module = _importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
