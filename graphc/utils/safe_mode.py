"""Safe mode: model files and configs may not run code unless the user opts in.

A Lambda layer whose function is a Python ``lambda`` is saved as marshalled bytecode.
Rebuilding it runs that bytecode, so a model file from an untrusted source could run anything.
As in Keras 3, deserialisation refuses such code by default ("safe mode"); functions saved by
name (registered with ``get_custom_objects()`` / ``custom_object_scope`` or passed in
``custom_objects``) still load. To load code you trust:

- pass ``safe_mode=False`` to ``load_model``, ``model_from_json`` / ``model_from_yaml`` /
  ``model_from_config``, ``Model.from_config`` / ``Sequential.from_config`` or
  ``graphc.layers.deserialize``; or
- call ``graphc.config.enable_unsafe_deserialization()`` once for the whole process.

An explicit ``safe_mode=True`` is always safe, even after ``enable_unsafe_deserialization()``.
Every place in graphc that turns saved bytes back into code goes through :func:`load_code`.

Example:
    >>> from graphc.utils.safe_mode import in_safe_mode, SafeModeScope
    >>> in_safe_mode()
    True
    >>> with SafeModeScope(False):
    ...     in_safe_mode()
    False
"""
from __future__ import annotations

import marshal
import threading

_state = threading.local()       # .scope: the innermost SafeModeScope's value, or None
_unsafe_enabled = False          # set by enable_unsafe_deserialization()


def enable_unsafe_deserialization() -> None:
    """Allow deserialising Lambda bytecode (and any saved code) in this whole process, where
    no ``safe_mode`` argument says otherwise. Only do this for files you trust."""
    global _unsafe_enabled
    _unsafe_enabled = True


def in_safe_mode() -> bool:
    """Whether deserialisation must refuse saved code here: the innermost ``SafeModeScope``
    (set by a ``safe_mode=`` argument), else ``True`` unless unsafe deserialisation was
    enabled for the process."""
    scope = getattr(_state, 'scope', None)
    if scope is not None:
        return scope
    return not _unsafe_enabled


class SafeModeScope:
    """Sets safe mode inside a ``with`` block; ``None`` keeps the enclosing setting.

    Args:
        safe_mode: True (refuse saved code), False (allow it) or None (inherit).
    """

    def __init__(self, safe_mode: bool | None = True):
        if safe_mode is not None and not isinstance(safe_mode, bool):
            raise TypeError(f"safe_mode must be True, False or None, got {safe_mode!r}")
        self.safe_mode = safe_mode

    def __enter__(self):
        self._saved = getattr(_state, 'scope', None)
        if self.safe_mode is not None:
            _state.scope = self.safe_mode
        return self

    def __exit__(self, *exc):
        _state.scope = self._saved
        return False


class UnsafeDeserializationError(ValueError):
    """Saved code (e.g. a Lambda's bytecode) met while safe mode is on."""


def check_code_allowed(what: str) -> None:
    """Raise :class:`UnsafeDeserializationError` naming ``what`` when in safe mode.

    Args:
        what: the thing that holds the code, in the user's terms (e.g.
            ``"the function of Lambda layer 'square'"``).
    """
    if in_safe_mode():
        raise UnsafeDeserializationError(
            f"Refusing to deserialise {what}: it is saved as Python bytecode, and loading it "
            f"would run code from the file (arbitrary code execution). Safe mode is on by "
            f"default. If you trust the source of this model, pass safe_mode=False to the "
            f"loading function (load_model, model_from_json, from_config, ...) or call "
            f"graphc.config.enable_unsafe_deserialization(); otherwise save the function by "
            f"name: define it with def, register it with custom_object_scope / "
            f"get_custom_objects() or pass it in custom_objects.")


def load_code(raw: bytes, what: str):
    """The code object marshalled in ``raw``, after the safe-mode check for ``what``.

    The only place graphc unmarshals saved code.
    """
    check_code_allowed(what)
    try:
        return marshal.loads(raw)
    except (EOFError, ValueError, TypeError) as e:
        raise ValueError(f"{what}: the saved bytecode is damaged or was written by another "
                         f"Python version ({e})") from None
