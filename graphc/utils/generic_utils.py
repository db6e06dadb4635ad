"""Generic helpers of the Keras 2 API: the progress bar and (de)serialisation of named objects.

``Progbar`` draws the bar that ``fit`` prints. ``serialize_keras_object`` /
``deserialize_keras_object`` turn layers, losses, optimizers ... into configs and back, looking
names up in a module's objects and in the user's custom objects (``custom_object_scope``).

Example:
    >>> from graphc.utils.generic_utils import deserialize_keras_object
    >>> deserialize_keras_object('relu', module_objects={'relu': abs}) is abs
    True
"""
from __future__ import annotations

import collections
import difflib
import inspect
import sys
import time

import numpy as np

_GLOBAL_CUSTOM_OBJECTS: dict = {}


# --------------------------------------------------------------------------------------------
# Custom objects
# --------------------------------------------------------------------------------------------

class CustomObjectScope:
    """Makes custom objects visible to deserialisation inside a ``with`` block.

    Args:
        *args: dictionaries mapping names to classes or functions.

    Example:
        >>> def my_act(x):
        ...     return x
        >>> with CustomObjectScope({'my_act': my_act}):
        ...     'my_act' in get_custom_objects()
        True
        >>> 'my_act' in get_custom_objects()
        False
    """

    def __init__(self, *args):
        for i, objects in enumerate(args):
            if not isinstance(objects, dict):
                raise TypeError(
                    f"CustomObjectScope arguments must be dicts of name -> object; argument {i} "
                    f"is a {type(objects).__name__}")
        self.custom_objects = args
        self.backup = None

    def __enter__(self):
        self.backup = _GLOBAL_CUSTOM_OBJECTS.copy()
        for objects in self.custom_objects:
            _GLOBAL_CUSTOM_OBJECTS.update(objects)
        return self

    def __exit__(self, *exc):
        _GLOBAL_CUSTOM_OBJECTS.clear()
        _GLOBAL_CUSTOM_OBJECTS.update(self.backup)


def custom_object_scope(*args):
    """A ``CustomObjectScope`` over the given dicts (Keras 2's ``custom_object_scope``).

    Args:
        *args: dictionaries mapping names to classes or functions.

    Returns:
        A context manager.

    Example:
        >>> with custom_object_scope({'my_loss': len}):
        ...     get_custom_objects()['my_loss'] is len
        True
    """
    return CustomObjectScope(*args)


def get_custom_objects():
    """The global dict of custom objects; edit it to register objects for good.

    Returns:
        The (mutable) global name -> object dict.

    Example:
        >>> get_custom_objects()['my_act'] = abs
        >>> del get_custom_objects()['my_act']
    """
    return _GLOBAL_CUSTOM_OBJECTS


# --------------------------------------------------------------------------------------------
# Serialisation
# --------------------------------------------------------------------------------------------

def serialize_keras_object(instance):
    """The config of an object: ``{'class_name', 'config'}`` if it has ``get_config``, else its
    ``__name__`` (functions), or None for None.

    Args:
        instance: an object with ``get_config()``, a named function or class, or None.

    Returns:
        A dict, a string or None.

    Example:
        >>> serialize_keras_object(abs)
        'abs'
    """
    if instance is None:
        return None
    if hasattr(instance, 'get_config'):
        return {'class_name': instance.__class__.__name__, 'config': instance.get_config()}
    if hasattr(instance, '__name__'):
        return instance.__name__
    raise ValueError(
        f"Cannot serialize {instance!r}: it has neither a get_config() method nor a __name__")


def _valid_names(module_objects, custom_objects):
    names = set()
    for source in (module_objects or {}, _GLOBAL_CUSTOM_OBJECTS, custom_objects or {}):
        for name, obj in source.items():
            if name.startswith('_') or inspect.ismodule(obj) or not callable(obj):
                continue
            names.add(name)
    return sorted(names)


def _unknown(printable_module_name, name, module_objects, custom_objects):
    valid = _valid_names(module_objects, custom_objects)
    msg = f"Unknown {printable_module_name}: {name}"
    close = difflib.get_close_matches(str(name), valid, n=3)
    if close:
        msg += f". Did you mean: {', '.join(close)}?"
    msg += f" Valid names are: {', '.join(valid) if valid else '(none)'}."
    msg += (" If it is your own object, pass it in custom_objects={...} or register it with "
            "custom_object_scope / get_custom_objects().")
    return ValueError(msg)


def _lookup(name, module_objects, custom_objects, printable_module_name):
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name in _GLOBAL_CUSTOM_OBJECTS:
        return _GLOBAL_CUSTOM_OBJECTS[name]
    obj = (module_objects or {}).get(name)
    if obj is None:
        raise _unknown(printable_module_name, name, module_objects, custom_objects)
    return obj


def deserialize_keras_object(identifier, module_objects=None, custom_objects=None,
                             printable_module_name='object'):
    """Rebuild an object from its name or its ``{'class_name', 'config'}`` dict.

    Names are looked up in ``custom_objects``, then the global custom objects, then
    ``module_objects``. A class is built with ``cls.from_config(config)`` (passing
    ``custom_objects=`` when it accepts it), else ``cls(**config)``; a name returns the object.

    Args:
        identifier: a string name or a config dict.
        module_objects: dict of the built-in objects (e.g. a module's ``globals()``).
        custom_objects: dict of the user's objects.
        printable_module_name: what the objects are, for error messages (e.g. 'activation').

    Returns:
        The object (for a name) or the new instance (for a config).

    Raises:
        ValueError: ``Unknown <printable_module_name>: <name>`` listing the valid names, or a
            malformed config.

    Example:
        >>> deserialize_keras_object('abs', {'abs': abs}, printable_module_name='function')
        <built-in function abs>
    """
    if isinstance(identifier, dict):
        config = identifier
        if 'class_name' not in config or 'config' not in config:
            raise ValueError(
                f"Improper config format for a {printable_module_name}: {config!r}; expected a "
                "dict with keys 'class_name' and 'config'")
        cls = _lookup(config['class_name'], module_objects, custom_objects, printable_module_name)
        custom_objects = custom_objects or {}
        if hasattr(cls, 'from_config'):
            if has_arg(cls.from_config, 'custom_objects'):
                merged = dict(_GLOBAL_CUSTOM_OBJECTS)
                merged.update(custom_objects)
                return cls.from_config(config['config'], custom_objects=merged)
            with CustomObjectScope(custom_objects):
                return cls.from_config(config['config'])
        # By convention a callable without from_config takes the config as keyword arguments.
        with CustomObjectScope(custom_objects):
            return cls(**config['config'])
    if isinstance(identifier, str):
        return _lookup(identifier, module_objects, custom_objects, printable_module_name)
    raise ValueError(
        f"Could not interpret serialized {printable_module_name}: {identifier!r} (expected a "
        f"name string or a config dict, got {type(identifier).__name__})")


# --------------------------------------------------------------------------------------------
# Python functions as data (Lambda layers)
# --------------------------------------------------------------------------------------------

def func_dump(func):
    """Serialise a Python function as ``(base64 bytecode, defaults, closure values)``.

    Only for functions that cannot be saved by name (a ``lambda``); loading the result runs
    its bytecode, which safe mode refuses (see ``graphc.utils.safe_mode``).

    Example:
        >>> code, defaults, closure = func_dump(lambda x: x + 1)
    """
    import base64
    import marshal
    raw = base64.b64encode(marshal.dumps(func.__code__)).decode('ascii')
    closure = tuple(c.cell_contents for c in func.__closure__) if func.__closure__ else None
    return raw, func.__defaults__, closure


def func_load(code, defaults=None, closure=None, globs=None, what='a saved Python function'):
    """The function ``func_dump`` serialised; refused in safe mode (it runs saved bytecode).

    Args:
        code: the base64 bytecode, or the whole ``(code, defaults, closure)`` triple.
        defaults, closure: as ``func_dump`` returned them.
        globs: the globals the function sees.
        what: the owner of the function, for errors (e.g. ``"the function of Lambda layer
            'sq'"``).
    Raises:
        UnsafeDeserializationError (a ValueError) in safe mode, naming ``what`` and the
        opt-in (``safe_mode=False`` or ``graphc.config.enable_unsafe_deserialization()``).
    """
    import base64
    import binascii
    import types

    from .safe_mode import check_code_allowed, load_code
    check_code_allowed(what)
    if isinstance(code, (tuple, list)):
        if len(code) != 3:
            raise ValueError(f"{what}: expected (bytecode, defaults, closure), got "
                             f"{len(code)} items")
        code, defaults, closure = code
    if isinstance(defaults, list):
        defaults = tuple(defaults)
    if not isinstance(code, str):
        raise ValueError(f"{what}: the saved bytecode must be a base64 string, got "
                         f"{type(code).__name__}")
    try:
        raw = base64.b64decode(code.encode('ascii'))
    except (binascii.Error, UnicodeEncodeError) as e:
        raise ValueError(f"{what}: the saved bytecode is not valid base64 ({e})") from None
    code_obj = load_code(raw, what)
    if not isinstance(code_obj, types.CodeType):
        raise ValueError(f"{what}: the saved bytecode holds a {type(code_obj).__name__}, "
                         f"not a code object")

    def cell(value):
        return (lambda: value).__closure__[0]
    if closure is not None:
        closure = tuple(cell(c) for c in closure)
    return types.FunctionType(code_obj, globs if globs is not None else globals(),
                              name=code_obj.co_name, argdefs=defaults, closure=closure)


# --------------------------------------------------------------------------------------------
# Small helpers the Keras 2 engine uses
# --------------------------------------------------------------------------------------------

def get_from_module(identifier, module_objects, printable_module_name):
    """Keras's ``get(identifier)`` for a module of configurable objects (initializers,
    regularizers, constraints): None -> None; a config dict -> deserialized; a name ->
    the object of that name (case-insensitive), instantiated with its defaults; a callable ->
    itself.

    Example:
        >>> get_from_module("MaxNorm", _OBJECTS, "constraint")
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize_keras_object(identifier, module_objects=module_objects,
                                        printable_module_name=printable_module_name)
    if isinstance(identifier, str):
        lower = {k.lower(): k for k in module_objects}
        name = lower.get(identifier.lower(), identifier)
        return deserialize_keras_object(name, module_objects=module_objects,
                                        printable_module_name=printable_module_name)()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret {printable_module_name} identifier: {identifier!r}")


def has_arg(fn, name, accept_all=False):
    """Whether callable ``fn`` accepts a keyword argument ``name``.

    Args:
        fn: a callable.
        name: the argument name.
        accept_all: also True when ``fn`` takes ``**kwargs``.

    Returns:
        bool.

    Example:
        >>> has_arg(lambda x, y=1: x, 'y')
        True
    """
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    if accept_all and any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return True
    p = params.get(name)
    return p is not None and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                        inspect.Parameter.KEYWORD_ONLY)


def to_list(x, allow_tuple=False):
    """``x`` as a list: a list is returned as is, anything else is wrapped.

    Args:
        x: an object or a list.
        allow_tuple: also convert tuples to lists.

    Returns:
        A list.

    Example:
        >>> to_list(3)
        [3]
    """
    if isinstance(x, list):
        return x
    if allow_tuple and isinstance(x, tuple):
        return list(x)
    return [x]


def unpack_singleton(x):
    """The only element of a one-element list or tuple, else ``x`` itself.

    Example:
        >>> unpack_singleton([5])
        5
    """
    if isinstance(x, (list, tuple)) and len(x) == 1:
        return x[0]
    return x


def slice_arrays(arrays, start=None, stop=None):
    """Slice an array or a list of arrays (None entries stay None).

    Args:
        arrays: an array, a list of arrays, or None.
        start: an int, or a list / array of indices (then ``stop`` is ignored).
        stop: an int.

    Returns:
        The slice(s), in the same structure.

    Example:
        >>> slice_arrays([np.arange(5), None], 1, 3)[0].tolist()
        [1, 2]
    """
    if arrays is None:
        return [None]
    if isinstance(arrays, list):
        if hasattr(start, '__len__'):
            return [None if a is None else a[start] for a in arrays]
        return [None if a is None else a[start:stop] for a in arrays]
    if hasattr(start, '__len__'):
        return arrays[start]
    return arrays[start:stop]


def object_list_uid(object_list):
    """A string naming a list of objects by identity (to key caches on which tensors or
    masks were passed).

    Example:
        >>> object_list_uid([a, b]) == object_list_uid([a, b])
        True
    """
    return ', '.join(str(abs(id(x))) for x in to_list(object_list, allow_tuple=True))


def is_all_none(iterable_or_element):
    """True when the element, or every item of the list / tuple, is None.

    Example:
        >>> is_all_none([None, None]), is_all_none([None, 1])
        (True, False)
    """
    return all(x is None for x in to_list(iterable_or_element, allow_tuple=True))


def transpose_shape(shape, target_format, spatial_axes):
    """``shape`` given in channels_last order, rearranged for ``target_format``: with
    'channels_first' the channel entry moves before the spatial entries.

    Args:
        shape: a tuple or list (e.g. a padding or cropping spec, or a shape).
        target_format: 'channels_first' or 'channels_last'.
        spatial_axes: the positions of the spatial entries in ``shape``.

    Returns:
        A tuple or list like ``shape``.

    Raises:
        ValueError: an unknown ``target_format``.

    Example:
        >>> transpose_shape((2, 3, 4, 5), 'channels_first', spatial_axes=(1, 2))
        (2, 5, 3, 4)
    """
    if target_format == 'channels_last':
        return shape
    if target_format != 'channels_first':
        raise ValueError(f"The data format must be 'channels_first' or 'channels_last', got "
                         f"{target_format!r}")
    first, last = spatial_axes[0], spatial_axes[-1] + 1
    new = list(shape[:first]) + [shape[last]] + list(shape[first:last]) + list(shape[last + 1:])
    return type(shape)(new) if isinstance(shape, (list, tuple)) else new


# --------------------------------------------------------------------------------------------
# Progress bar
# --------------------------------------------------------------------------------------------

def _is_terminal(stream):
    if 'ipykernel' in sys.modules:
        return True
    isatty = getattr(stream, 'isatty', None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def _format_value(avg):
    return ' %.4f' % avg if abs(avg) > 1e-3 else ' %.4e' % avg


class Progbar:
    """The Keras 2 progress bar.

    ``verbose=1`` on a terminal (or in Jupyter) redraws one live line with ``\\r``:
    ``1875/1875 [==============================] - 2s 1ms/step - loss: 0.5100 - acc: 0.8200``.
    When the output is not a terminal (a log file, a pipe, CI) only the final line is printed,
    instead of one line per redraw. ``verbose=2`` prints one line at the end:
    `` - 2s - loss: 0.5100 - acc: 0.8200``.

    The figures shown are the averages over the samples seen (weighted by the step sizes
    passed to ``update``), except for ``stateful_metrics``, shown as last given. They are
    available unrounded from ``averages()``; ``last_line`` holds the last line drawn.

    Args:
        target: the total number of steps (or samples), or None if unknown.
        width: the bar's width in characters.
        verbose: 0 (silent), 1 (bar) or 2 (one line at the end).
        interval: the minimum seconds between two redraws on a terminal.
        stateful_metrics: names of metrics shown as given, not averaged.
        unit_name: the unit in the per-unit time (``1ms/step``).
        stream: where to write; default ``sys.stdout`` at the time of each write.

    Example:
        >>> bar = Progbar(2, verbose=0)
        >>> bar.update(1, [('loss', 1.0)]); bar.update(2, [('loss', 0.5)])
        >>> bar.averages()['loss']
        0.75
    """

    def __init__(self, target, width=30, verbose=1, interval=0.05, stateful_metrics=None,
                 unit_name='step', stream=None):
        if verbose not in (0, 1, 2):
            raise ValueError(f"Progbar verbose must be 0, 1 or 2, got {verbose!r}")
        if target is not None and target < 0:
            raise ValueError(f"Progbar target must be >= 0 or None, got {target!r}")
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics) if stateful_metrics else set()
        self._stream = stream
        self._dynamic_display = _is_terminal(self._out())
        self._total_width = 0
        self._seen_so_far = 0
        self._values = collections.OrderedDict()  # name -> [weighted sum, weight]
        self._start = time.time()
        self._last_update = 0.0
        self.last_line = ''

    def _out(self):
        return self._stream if self._stream is not None else sys.stdout

    def averages(self):
        """The values as shown: name -> average over the steps seen (or last value, for
        stateful metrics).

        Returns:
            An ordered dict of floats (numpy values for array-valued metrics).
        """
        out = collections.OrderedDict()
        for name, (total, count) in self._values.items():
            avg = np.mean(total / max(1, count))
            out[name] = float(avg) if np.ndim(avg) == 0 else avg
        return out

    def _values_text(self):
        return ''.join(' - %s:%s' % (k, _format_value(v)) for k, v in self.averages().items())

    def _bar_text(self, current):
        if self.target is None:
            return '%7d/Unknown' % current
        numdigits = len(str(int(self.target)))
        bar = '%*d/%d [' % (numdigits, current, self.target)
        prog = float(current) / self.target if self.target else 1.0
        prog_width = min(self.width, int(self.width * prog))
        if prog_width > 0:
            bar += '=' * (prog_width - 1)
            bar += '>' if current < self.target else '='
        bar += '.' * (self.width - prog_width)
        return bar + ']'

    def _time_text(self, now, current, final):
        time_per_unit = (now - self._start) / current if current else 0.0
        if not final and self.target is not None and current < self.target:
            eta = time_per_unit * (self.target - current)
            if eta > 3600:
                fmt = '%d:%02d:%02d' % (eta // 3600, (eta % 3600) // 60, eta % 60)
            elif eta > 60:
                fmt = '%d:%02d' % (eta // 60, eta % 60)
            else:
                fmt = '%ds' % eta
            return ' - ETA: %s' % fmt
        info = ' - %.0fs' % (now - self._start)
        if time_per_unit >= 1:
            info += ' %.0fs/%s' % (time_per_unit, self.unit_name)
        elif time_per_unit >= 1e-3:
            info += ' %.0fms/%s' % (time_per_unit * 1e3, self.unit_name)
        else:
            info += ' %.0fus/%s' % (time_per_unit * 1e6, self.unit_name)
        return info

    def update(self, current, values=None, finalize=None):
        """Move the bar to step ``current`` and record metric values.

        Args:
            current: the index of the current step (steps seen so far).
            values: list of ``(name, value)``; each value is weighted by the steps since the
                last update (stateful metrics are taken as is).
            finalize: whether this is the last update; default: ``current >= target``. With an
                unknown target, pass ``finalize=True`` to print the final line.
        """
        for name, value in values or []:
            if name in self.stateful_metrics:
                self._values[name] = [value, 1]
                continue
            step = current - self._seen_so_far
            if name not in self._values:
                self._values[name] = [value * step, step]
            else:
                self._values[name][0] += value * step
                self._values[name][1] += step
        self._seen_so_far = current
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if self.verbose == 0:
            return
        now = time.time()
        if self.verbose == 1:
            if not finalize and (not self._dynamic_display
                                 or now - self._last_update < self.interval):
                return
            line = self._bar_text(current) + self._time_text(now, current, finalize)
            line += self._values_text()
            self._write_line(line, finalize, redraw=self._dynamic_display)
        elif finalize:
            line = ' - %.0fs' % (now - self._start) + self._values_text()
            self._write_line(line, True, redraw=False)
        self._last_update = now

    def _write_line(self, line, final, redraw):
        out = self._out()
        self.last_line = line
        if redraw:
            pad = ' ' * max(0, self._total_width - len(line))
            out.write('\r' + line + pad)
            self._total_width = len(line)
        else:
            out.write(line)
        if final:
            out.write('\n')
            self._total_width = 0
        out.flush()

    def add(self, n, values=None):
        """Advance the bar by ``n`` steps (see ``update``)."""
        self.update(self._seen_so_far + n, values)
