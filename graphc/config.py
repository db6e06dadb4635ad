"""Settings: the graphc home folder and its ``graphc.json`` (the counterpart of keras.json).

The home is ``$GRAPHC_HOME`` when set, else ``~/.graphc``. On first use ``graphc.json`` is
created there with the defaults below. An unknown key or a bad value in the file is an error
that names the key, the file and the valid choices.

Example:
    >>> from graphc import config
    >>> config.get("floatx")
    'float32'
"""
from __future__ import annotations

import json
import os
import tempfile

DEFAULTS = {
    "floatx": "float32",
    "epsilon": 1e-7,
    "image_data_format": "channels_last",
    "device": "cpu",
    "backend": "graphc",
    "pipeline": "fast_run",     # optimisation pipeline used by K.function
    "executor": "compiled",     # "compiled" (native code) or "reference" (numpy interpreter)
}

_CHOICES = {
    "floatx": ("float16", "float32", "float64"),
    "image_data_format": ("channels_last", "channels_first"),
    "device": ("cpu", "cuda"),
    "backend": ("graphc",),
    "pipeline": ("fast_run", "fast_compile", "none"),
    "executor": ("compiled", "reference"),
}

_settings: dict | None = None


class ConfigError(ValueError):
    """A bad key or value in graphc.json or passed to a setter."""


def home() -> str:
    """The graphc home folder (created 0700 if missing: it holds the compile cache)."""
    path = os.environ.get("GRAPHC_HOME") or os.path.join(os.path.expanduser("~"), ".graphc")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def settings_path() -> str:
    return os.path.join(home(), "graphc.json")


def subdir(name: str) -> str:
    """A folder inside the home (e.g. ``datasets``, ``cache``), created if missing."""
    path = os.path.join(home(), name)
    os.makedirs(path, exist_ok=True)
    return path


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so that a crash leaves either the old or the new file whole."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _validate(key, value, where: str):
    if key not in DEFAULTS:
        raise ConfigError(
            f"unknown setting {key!r} in {where}; valid settings are: {', '.join(sorted(DEFAULTS))}")
    if key in _CHOICES and value not in _CHOICES[key]:
        raise ConfigError(
            f"setting {key!r} in {where} is {value!r}; valid choices are: "
            f"{', '.join(_CHOICES[key])}")
    if key == "epsilon" and not (isinstance(value, (int, float)) and value > 0):
        raise ConfigError(f"setting 'epsilon' in {where} must be a positive number, got {value!r}")


def load() -> dict:
    """Read graphc.json (creating it with defaults if absent) and return the settings."""
    global _settings
    path = settings_path()
    settings = dict(DEFAULTS)
    if os.path.exists(path):
        try:
            with open(path) as f:
                data = json.load(f)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path} is not valid JSON: {e}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path} must hold a JSON object, got {type(data).__name__}")
        for key, value in data.items():
            _validate(key, value, path)
            settings[key] = value
    else:
        try:
            atomic_write_text(path, json.dumps(DEFAULTS, indent=4) + "\n")
        except OSError:
            pass  # a read-only home still works with the defaults
    _settings = settings
    return settings


def get(key: str):
    """The current value of a setting."""
    if _settings is None:
        load()
    if key not in DEFAULTS:
        raise ConfigError(f"unknown setting {key!r}; valid settings are: {', '.join(sorted(DEFAULTS))}")
    return _settings[key]


def set(key: str, value) -> None:  # noqa: A001 - mirrors Keras's set_* functions
    """Change a setting for this process (graphc.json is not rewritten)."""
    if _settings is None:
        load()
    _validate(key, value, "graphc.config.set")
    _settings[key] = value


def enable_unsafe_deserialization() -> None:
    """Let deserialisation run saved Python bytecode (a Lambda layer's ``lambda``) in this
    whole process, as Keras 3's ``keras.config.enable_unsafe_deserialization()``.

    By default ``load_model``, ``model_from_json`` / ``model_from_yaml``, ``from_config`` and
    ``graphc dump`` refuse it, since loading it runs code from the file. An explicit
    ``safe_mode=True`` argument still refuses. Only call this for files you trust.

    Example:
        >>> from graphc import config
        >>> config.enable_unsafe_deserialization()   # doctest: +SKIP
    """
    from .utils.safe_mode import enable_unsafe_deserialization as enable
    enable()


def reset() -> None:
    """Forget the loaded settings; the next get() reads graphc.json again."""
    global _settings
    _settings = None
