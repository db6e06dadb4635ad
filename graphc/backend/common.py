"""Backend settings and session state: floatx, epsilon, image data format, uids, the learning
phase. Settings are read from and written to ``graphc.config`` (``graphc.json``)."""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from .. import config
from ..function import register_auto_feed
from ..ir.node import name_scope  # noqa: F401  (K.name_scope)
from ..ir.ops import source
from ..ir.types import TensorType

_UIDS: dict = defaultdict(int)
_MANUAL_VAR_INIT = False
_LEARNING_PHASE_VALUE = 0
_LEARNING_PHASE_FIXED = False    # set_learning_phase was called (since clear_session)
_LEARNING_PHASE = None


def backend() -> str:
    """The backend's name: ``'graphc'``."""
    return "graphc"


def floatx() -> str:
    """The default float type, e.g. ``'float32'`` (setting ``floatx`` in graphc.json)."""
    return config.get("floatx")


def set_floatx(value: str) -> None:
    """Set the default float type: one of 'float16', 'float32', 'float64'.

    Example:
        >>> K.set_floatx('float64')
    """
    config.set("floatx", str(value))


def epsilon() -> float:
    """The fuzz factor used in numeric expressions (setting ``epsilon``, default 1e-7)."""
    return config.get("epsilon")


def set_epsilon(e: float) -> None:
    """Set the fuzz factor (a positive number)."""
    config.set("epsilon", float(e))


def image_data_format() -> str:
    """``'channels_last'`` or ``'channels_first'`` (setting ``image_data_format``)."""
    return config.get("image_data_format")


def set_image_data_format(data_format: str) -> None:
    """Set the image data format: 'channels_last' or 'channels_first'."""
    config.set("image_data_format", data_format)


def set_image_dim_ordering(dim_ordering: str) -> None:
    """Keras 1's setter of the image data format: 'th' (channels_first) or 'tf'
    (channels_last).

    Example:
        >>> K.set_image_dim_ordering('th'); K.image_data_format()
        'channels_first'
    """
    if dim_ordering not in ("tf", "th"):
        raise ValueError(f"Unknown dim_ordering: {dim_ordering!r}; expected 'tf' "
                         f"(channels_last) or 'th' (channels_first)")
    set_image_data_format("channels_first" if dim_ordering == "th" else "channels_last")


def image_dim_ordering() -> str:
    """Keras 1's name of the image data format: 'th' (channels_first) or 'tf'."""
    return "th" if image_data_format() == "channels_first" else "tf"


def normalize_data_format(value) -> str:
    """``None`` -> the configured format; otherwise check the value."""
    if value is None:
        return image_data_format()
    v = str(value).lower()
    if v not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got "
                         f"{value!r}")
    return v


def cast_to_floatx(x) -> np.ndarray:
    """A numpy array of ``x`` in the default float type.

    Example:
        >>> K.cast_to_floatx([1, 2]).dtype
        dtype('float32')
    """
    return np.asarray(x, dtype=floatx())


def get_uid(prefix: str = "") -> int:
    """A per-prefix counter for unique layer names: 1, 2, ... (reset by ``clear_session``).

    Example:
        >>> K.get_uid('dense'), K.get_uid('dense')
        (1, 2)
    """
    _UIDS[prefix] += 1
    return _UIDS[prefix]


def reset_uids() -> None:
    """Restart every ``get_uid`` counter."""
    _UIDS.clear()


def manual_variable_initialization(value: bool) -> None:
    """Keras compatibility: graphc variables hold their values from creation, so there is
    nothing to initialise; the flag is recorded and has no other effect."""
    global _MANUAL_VAR_INIT
    _MANUAL_VAR_INIT = bool(value)


def _new_learning_phase():
    global _LEARNING_PHASE
    _LEARNING_PHASE = source("input", TensorType("bool", ()), name="keras_learning_phase")
    _LEARNING_PHASE._uses_learning_phase = False
    register_auto_feed(_LEARNING_PHASE, lambda: np.asarray(bool(_LEARNING_PHASE_VALUE)))


def learning_phase():
    """The learning-phase placeholder: a bool scalar, true while training.

    A function that reads it without taking it as an input is fed the current value
    (``set_learning_phase``, 0 unless set) on every call; pass it as an input to choose per
    call.

    Example:
        >>> f = K.function([x, K.learning_phase()], [K.dropout(x, 0.5)])
        >>> f([batch, 1])
    """
    if _LEARNING_PHASE is None:
        _new_learning_phase()
    return _LEARNING_PHASE


def learning_phase_value() -> int:
    """The value fed to the learning phase when a function does not take it as an input."""
    return _LEARNING_PHASE_VALUE


def set_learning_phase(value) -> None:
    """Set the learning phase: 0 (test) or 1 (train). As in Keras 2, it then holds for
    ``fit``, ``evaluate`` and ``predict`` too (e.g. 1 keeps dropout on in ``predict``), until
    ``clear_session()``; functions that do not take the phase as an input are fed it."""
    global _LEARNING_PHASE_VALUE, _LEARNING_PHASE_FIXED
    if value not in (0, 1):
        raise ValueError(f"Expected learning phase to be 0 or 1, got {value!r}")
    _LEARNING_PHASE_VALUE = int(value)
    _LEARNING_PHASE_FIXED = True


def fixed_learning_phase():
    """The learning phase set with ``set_learning_phase`` (0 or 1), which models use in place
    of their own (1 in fit, 0 in evaluate / predict); None when it was not set."""
    return _LEARNING_PHASE_VALUE if _LEARNING_PHASE_FIXED else None


def clear_session() -> None:
    """Start afresh: reset the uid counters, variable names, symbol names and the learning
    phase (a new placeholder, value 0). Existing tensors keep working in their functions."""
    from . import variables
    global _LEARNING_PHASE_VALUE, _LEARNING_PHASE_FIXED
    reset_uids()
    variables.reset_names()
    _LEARNING_PHASE_VALUE = 0
    _LEARNING_PHASE_FIXED = False
    _new_learning_phase()
