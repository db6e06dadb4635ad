"""Saving and loading models in Keras 2's HDF5 file layout (``keras.engine.saving``).

Files written here load in Keras 2 and files written by Keras 2.x load here. The layout:

``save_model`` (``model.save``)::

    /                      attrs: keras_version, backend, model_config, training_config
    /model_weights         attrs: layer_names, backend, keras_version
    /model_weights/<layer> attrs: weight_names ('dense_1/kernel:0', ...); one dataset per
                           weight, at the path given by its name (so 'dense_1/kernel:0' lies at
                           /model_weights/dense_1/dense_1/kernel:0, as Keras writes it)
    /optimizer_weights     attrs: weight_names; one dataset per optimizer state variable

``save_weights`` puts ``layer_names`` / ``backend`` / ``keras_version`` and the layer groups at
the root. Strings are stored as bytes (fixed-length, as Keras 2 with h5py 2 wrote them, so
Keras 2's ``.decode('utf8')`` works on them); an attribute list too big for one HDF5 object
header is split into ``name0``, ``name1``, ... (Keras 2.2's chunking).

Compatibility decisions:

* ``keras_version`` is written as ``'2.2.4'`` (Keras 2 only checks whether it is ``'1'``, to
  convert Keras 1 weights); graphc's own version goes in the extra attribute
  ``graphc_version``. ``backend`` is ``'graphc'``: Keras only looks for ``'theano'`` (whose
  convolution kernels are flipped), and graphc's kernels follow TensorFlow's convention.
* Optimizer state: ``weight_names`` lists the state in Keras 2.2.4's order (RMSprop, Adagrad
  and Adadelta without ``iterations``; Adam with its ``vhat`` placeholders; Nadam without
  ``m_schedule``), so Keras 2.2.4 and 2.3 restore it. graphc's complete state order is in the
  extra attribute ``graphc_weight_names`` and is what graphc reads back, exactly. Files from
  Keras 2.2.4 or 2.3 are converted on loading.
* Weights written by a Keras 2 Theano backend get their convolution kernels flipped on
  loading, as Keras does. Keras 1 files are not supported (a clear error).

Example:
    >>> model.save('model.h5')
    >>> model = load_model('model.h5')
    >>> model.save_weights('weights.h5'); model.load_weights('weights.h5', by_name=True)
"""
from __future__ import annotations

import contextlib
import inspect
import json
import os
import sys
import tempfile
import warnings

import numpy as np

from . import backend as K

KERAS_VERSION = '2.2.4'
# Keras 2.2's limit on the bytes of one attribute (an HDF5 object header holds 64 KiB).
HDF5_OBJECT_HEADER_LIMIT = 64512

__all__ = ['save_model', 'load_model', 'save_weights', 'load_weights', 'model_from_config',
           'model_from_json', 'model_from_yaml', 'save_weights_to_hdf5_group',
           'load_weights_from_hdf5_group', 'load_weights_from_hdf5_group_by_name',
           'save_attributes_to_hdf5_group', 'load_attributes_from_hdf5_group',
           'preprocess_weights_for_loading']


# --------------------------------------------------------------------------------------------
# h5py, strings and attributes
# --------------------------------------------------------------------------------------------

def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a dependency
        raise ImportError("Saving and loading models needs h5py: pip install h5py") from None
    return h5py


def _text(value):
    """An attribute value (bytes, numpy bytes, str, 0-d array) as a str."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bytes, np.bytes_)):
        try:
            return bytes(value).decode('utf8')
        except UnicodeDecodeError:
            raise ValueError(f"The file holds the name {bytes(value)[:80]!r}, which is not "
                             f"valid UTF-8 text: the file is damaged or was not written by "
                             f"Keras or graphc") from None
    return str(value)


def _set_text_attr(group, name, text):
    """Store ``text`` as bytes: fixed-length when it fits in an object header (what Keras 2
    wrote with h5py 2), else variable-length (large model configs)."""
    data = text.encode('utf8') if isinstance(text, str) else bytes(text)
    if len(data) < HDF5_OBJECT_HEADER_LIMIT:
        group.attrs[name] = np.bytes_(data)
    else:
        h5py = _h5py()
        group.attrs.create(name, np.array(data, dtype=h5py.string_dtype('utf-8')))


def save_attributes_to_hdf5_group(group, name, data):
    """Store a list of strings as the attribute ``name`` of ``group``, split into ``name0``,
    ``name1``, ... when it would not fit in one HDF5 object header (as Keras 2.2 does).

    Args:
        group: an h5py Group or File.
        name: the attribute name (e.g. ``'layer_names'``).
        data: a list of str or bytes.
    Raises:
        ValueError if a single item is too long to be stored at all.

    Example:
        >>> save_attributes_to_hdf5_group(f, 'layer_names', ['dense_1', 'dense_2'])
    """
    items = [x.encode('utf8') if isinstance(x, str) else bytes(x) for x in data]
    too_long = [x.decode('utf8', 'replace') for x in items if len(x) > HDF5_OBJECT_HEADER_LIMIT]
    if too_long:
        raise ValueError(f"Cannot save the attribute {name!r}: these items are longer than "
                         f"{HDF5_OBJECT_HEADER_LIMIT} bytes, the HDF5 object header limit: "
                         f"{too_long}")
    if not items:
        # Keras 2 stores an empty list this way (an empty float array); readers accept it.
        group.attrs[name] = np.zeros((0,), dtype='float64')
        return
    array = np.array(items)
    chunks = 1
    parts = [array]
    while any(p.nbytes > HDF5_OBJECT_HEADER_LIMIT for p in parts):
        chunks += 1
        parts = np.array_split(array, chunks)
    if chunks == 1:
        group.attrs[name] = array
    else:
        for i, part in enumerate(parts):
            group.attrs[f'{name}{i}'] = part


def load_attributes_from_hdf5_group(group, name):
    """A list of strings stored by ``save_attributes_to_hdf5_group`` (whole or chunked).

    Args:
        group: an h5py Group or File.
        name: the attribute name.
    Returns:
        A list of str (empty when the attribute is absent).

    Example:
        >>> load_attributes_from_hdf5_group(f, 'layer_names')
        ['dense_1', 'dense_2']
    """
    if name in group.attrs:
        values = [group.attrs[name]]
    else:
        values, i = [], 0
        while f'{name}{i}' in group.attrs:
            values.append(group.attrs[f'{name}{i}'])
            i += 1
    out = []
    for value in values:
        out.extend(_text(x) for x in np.atleast_1d(value))
    return out


def _json_default(obj):
    """``json.dumps``'s fallback for configs (Keras 2's ``get_json_type``)."""
    if hasattr(obj, 'get_config'):
        return {'class_name': type(obj).__name__, 'config': obj.get_config()}
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (bytes, np.bytes_)):
        return bytes(obj).decode('utf8')
    if callable(obj) and hasattr(obj, '__name__'):
        return obj.__name__
    raise TypeError(f"Not JSON serializable: {obj!r} (of type {type(obj).__name__})")


def _dumps(obj):
    return json.dumps(obj, default=_json_default)


# --------------------------------------------------------------------------------------------
# Files: atomic writes and clear open errors
# --------------------------------------------------------------------------------------------

def _is_h5_object(filepath):
    h5py = _h5py()
    return isinstance(filepath, (h5py.File, h5py.Group))


def _ask_to_overwrite(filepath):
    """Keras 2's prompt when ``overwrite=False`` and the file exists; without a terminal to
    ask on, an error."""
    if not (sys.stdin and sys.stdin.isatty()):
        raise FileExistsError(f"{filepath} already exists and overwrite=False; pass "
                              f"overwrite=True to replace it")
    while True:
        answer = input(f'[WARNING] {filepath} already exists - overwrite? [y/n] ').strip()
        if answer.lower() in ('y', 'n'):
            return answer.lower() == 'y'
        print('Enter "y" (overwrite) or "n" (cancel).')


def _file_mode(filepath):
    if os.path.exists(filepath):
        return os.stat(filepath).st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def _atomic_h5_file(filepath, overwrite):
    """Yield an h5py File open for writing on a temporary file in ``filepath``'s folder; on
    success it replaces ``filepath`` in one step (``os.replace``), on any error it is removed
    and ``filepath`` is left as it was. Yields None when the user declines to overwrite."""
    h5py = _h5py()
    filepath = os.fspath(filepath)
    if not overwrite and os.path.isfile(filepath) and not _ask_to_overwrite(filepath):
        yield None
        return
    folder = os.path.dirname(os.path.abspath(filepath))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Cannot save to {filepath}: the folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{os.path.basename(filepath)}.',
                               suffix='.tmp')
    os.close(fd)
    try:
        with h5py.File(tmp, 'w') as f:
            yield f
            f.flush()
        with open(tmp, 'rb') as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode(filepath))
        os.replace(tmp, filepath)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _open_for_reading(filepath):
    """Yield an open h5py File (or the given File / Group) with errors in the user's terms."""
    h5py = _h5py()
    if _is_h5_object(filepath):
        yield filepath
        return
    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path}")
    try:
        f = h5py.File(path, 'r')
    except OSError as e:
        raise OSError(f"Cannot read {path}: it is not an HDF5 file or it is damaged ({e}). "
                      f"graphc reads the .h5 files of model.save / model.save_weights and of "
                      f"Keras 2.") from None
    with f:
        _check_h5_tree(f, f"The file {path}")
        yield f


def _decode_key(name, where):
    """An HDF5 link name as str (h5py gives bytes for names that are not UTF-8)."""
    if isinstance(name, bytes):
        try:
            return name.decode('utf8')
        except UnicodeDecodeError:
            raise ValueError(f"{where} holds an object whose name {name[:80]!r} is not valid "
                             f"UTF-8: the file is damaged or was not written by Keras or "
                             f"graphc") from None
    return name


def _check_h5_tree(group, where):
    """Refuse, before any data is read, what a Keras weight file never holds: links to other
    files (external links), virtual datasets and datasets stored in external files (both read
    other files), and names that are not UTF-8."""
    h5py = _h5py()
    seen = set()
    stack = [group]
    while stack:
        g = stack.pop()
        if g.id in seen:
            continue
        seen.add(g.id)
        try:
            names = list(g.id.__iter__())
        except UnicodeDecodeError:
            raise ValueError(f"{where} holds an object whose name is not valid UTF-8: the "
                             f"file is damaged or was not written by Keras or graphc") from None
        for raw in names:
            name = _decode_key(raw, where)
            link = g.get(raw, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                raise ValueError(f"{where}: {g.name}/{name} is a link to another file "
                                 f"({link.filename}); graphc does not follow links out of a "
                                 f"weight file")
            try:
                obj = g.get(raw)
            except (KeyError, OSError):
                raise ValueError(f"{where}: {g.name}/{name} is a broken link") from None
            if isinstance(obj, h5py.Group):
                stack.append(obj)
            elif isinstance(obj, h5py.Dataset):
                _check_dataset(obj, where)


def _check_dataset(dset, where):
    """A weight dataset must be plain numbers stored in this file."""
    h5py = _h5py()
    if not isinstance(dset, h5py.Dataset):
        raise ValueError(f"{where}: {getattr(dset, 'name', dset)} is not an array")
    if dset.is_virtual:
        raise ValueError(f"{where}: {dset.name} is a virtual dataset (its data lies in other "
                         f"files); graphc does not read those")
    if dset.external:
        raise ValueError(f"{where}: {dset.name} stores its data in the external file(s) "
                         f"{[e[0] for e in dset.external]}; graphc does not read those")
    if dset.dtype.kind not in 'biuf':
        raise ValueError(f"{where}: {dset.name} holds {dset.dtype} values, not numbers: it "
                         f"is not a weight array")


def _file_attr(group, name):
    """An attribute of a weights group, else of its file's root (where Keras also puts it)."""
    for holder in (group, getattr(group, 'file', None)):
        if holder is not None and name in holder.attrs:
            return _text(holder.attrs[name])
    return None


def _file_versions(group, where):
    """``(keras_version, backend)`` of a weights group; Keras 1 files are refused."""
    version = _file_attr(group, 'keras_version')
    if version is None or version == '1' or version.startswith('1.'):
        found = 'has no keras_version attribute' if version is None \
            else f"has keras_version {version!r}"
        raise ValueError(f"{where} {found}: it was written by Keras 1, whose weight layout "
                         f"graphc does not read. Load it in Keras 2 and save it again "
                         f"(model.save / model.save_weights), then load that file.")
    return version, _file_attr(group, 'backend')


def _where(group):
    filename = getattr(getattr(group, 'file', None), 'filename', None)
    return f"The weight file {filename}" if filename else "The weight file"


# --------------------------------------------------------------------------------------------
# Layer weights
# --------------------------------------------------------------------------------------------

def _weight_name(variable, index, taken):
    """The HDF5 name of a weight: its variable name with TensorFlow's ':0' suffix (as Keras 2
    with TensorFlow writes), made unique within the layer."""
    name = getattr(variable, 'name', None)
    if not name:
        name = f'param_{index}'
    elif ':' not in name.rsplit('/', 1)[-1]:
        name = f'{name}:0'
    return _unique_name(name, taken)


def _unique_name(name, taken):
    if name in taken:
        i = 1
        while f'{name}_{i}' in taken:
            i += 1
        name = f'{name}_{i}'
    taken.add(name)
    return name


def _write_arrays(group, names, values):
    for name, value in zip(names, values):
        value = np.asarray(value)
        dset = group.create_dataset(name, value.shape, dtype=value.dtype)
        if value.shape:
            dset[:] = value
        else:
            dset[()] = value


def save_weights_to_hdf5_group(f, layers):
    """Write the layers' weights into an HDF5 group in Keras 2's layout.

    Args:
        f: an h5py File or Group.
        layers: the layers, in order (``model.layers``).

    Example:
        >>> with h5py.File('w.h5', 'w') as f:
        ...     save_weights_to_hdf5_group(f, model.layers)
    """
    save_attributes_to_hdf5_group(f, 'layer_names', [layer.name for layer in layers])
    _set_text_attr(f, 'backend', K.backend())
    _set_text_attr(f, 'keras_version', KERAS_VERSION)
    for layer in layers:
        g = f.create_group(layer.name)
        symbolic = list(layer.weights)
        values = K.batch_get_value(symbolic)
        taken = set()
        names = [_weight_name(w, i, taken) for i, w in enumerate(symbolic)]
        save_attributes_to_hdf5_group(g, 'weight_names', names)
        _write_arrays(g, names, values)


def _read_layer_group(f, name):
    """A layer's weight names and datasets (not their data: the caller compares the declared
    shapes with the model first). Links out of the file are refused here too, for h5py
    objects given by the caller, which were not checked on opening."""
    h5py = _h5py()
    if name not in f:
        raise ValueError(f"{_where(f)} lists the layer {name!r} in layer_names but has no "
                         f"group for it: the file is damaged")
    g = f[name]
    weight_names = load_attributes_from_hdf5_group(g, 'weight_names')
    values = []
    for weight_name in weight_names:
        if isinstance(g.get(weight_name, getlink=True), h5py.ExternalLink):
            raise ValueError(f"{_where(f)}: layer {name!r}: the weight {weight_name!r} is a "
                             f"link to another file; graphc does not follow links out of a "
                             f"weight file")
        if weight_name not in g:
            raise ValueError(f"{_where(f)}: layer {name!r} lists the weight {weight_name!r} "
                             f"but holds no data for it: the file is damaged")
        _check_dataset(g[weight_name], _where(f))
        values.append(g[weight_name])
    return weight_names, values


def _check_declared(layer, symbolic, dsets, file_layer, k):
    """Compare the sizes the file declares with the model before any data is read (a file
    that declares a huge array fails here, cheaply)."""
    for w, d in zip(symbolic, dsets):
        want = tuple(K.int_shape(w))
        if int(np.prod(d.shape)) not in _loadable_sizes(layer, want):
            raise ValueError(
                f"Layer #{k} (named {layer.name!r} in the current model, {file_layer!r} in the "
                f"file): weight {getattr(w, 'name', w)!r} has shape {want}, but the saved "
                f"weight has shape {tuple(d.shape)}. The model's architecture differs from "
                f"the one that saved the file (check the layer's arguments, e.g. units or "
                f"input_shape).")


def _loadable_sizes(layer, shape):
    size = int(np.prod(shape))
    # A CuDNN RNN's bias holds the input and the recurrent biases (twice the size of an LSTM's
    # or a GRU(reset_after=False)'s), and the other way round.
    if len(shape) == 1:
        return (size, 2 * size, size // 2) if type(layer).__name__.startswith('CuDNN') \
            else (size, 2 * size)
    return (size,)


def _read(dsets):
    return [np.asarray(d[()]) for d in dsets]


def _convert_kernel(kernel):
    """A convolution kernel (spatial..., in, out) flipped along its spatial axes: Theano's
    convolution <-> TensorFlow's correlation."""
    spatial = kernel.ndim - 2
    return np.ascontiguousarray(kernel[(slice(None, None, -1),) * spatial])


_CONV_LAYERS = ('Conv1D', 'Conv2D', 'Conv3D', 'Conv2DTranspose', 'ConvLSTM2D')


def preprocess_weights_for_loading(layer, weights, original_keras_version=None,
                                   original_backend=None, reshape=False):
    """Convert weights read from a file to what ``layer`` holds.

    Keras 2.2.4's conversions (graphc keeps Keras 2's weight layout for every layer):
    convolution kernels written by the Theano backend are flipped; CuDNNLSTM / CuDNNGRU
    weights become LSTM / GRU weights and back (``keras_formats.convert_rnn_weights``); for
    ``Bidirectional`` both halves are converted; with ``reshape=True`` an array of the right
    size but another shape is reshaped.

    Args:
        layer: the layer the weights are for.
        weights: the list of arrays from the file.
        original_keras_version: the file's keras_version.
        original_backend: the file's backend ('tensorflow', 'theano', 'graphc', ...).
        reshape: reshape arrays whose size matches but whose shape differs.
    Returns:
        The list of arrays to set.

    Example:
        >>> preprocess_weights_for_loading(conv, [k, b], '2.2.4', 'theano')
    """
    weights = list(weights)
    cls = type(layer).__name__
    if cls == 'Bidirectional' and weights and hasattr(layer, 'forward_layer'):
        half = len(weights) // 2
        forward = preprocess_weights_for_loading(layer.forward_layer, weights[:half],
                                                 original_keras_version, original_backend)
        backward = preprocess_weights_for_loading(layer.backward_layer, weights[half:],
                                                  original_keras_version, original_backend)
        weights = forward + backward
    if cls in ('LSTM', 'GRU', 'CuDNNLSTM', 'CuDNNGRU'):
        from .keras_formats import convert_rnn_weights   # CuDNN <-> generic layouts
        weights = convert_rnn_weights(layer, weights)
    if cls in _CONV_LAYERS and original_backend == 'theano' and weights:
        weights[0] = _convert_kernel(weights[0])
        if cls == 'ConvLSTM2D' and len(weights) > 1:
            weights[1] = _convert_kernel(weights[1])
    if reshape:
        symbolic = layer.weights
        for i, (w, value) in enumerate(zip(symbolic, weights)):
            shape = tuple(K.int_shape(w))
            if value.shape != shape and value.size == int(np.prod(shape)):
                weights[i] = np.reshape(value, shape)
    return weights


def _check_shapes(layer, symbolic, values, file_layer, k):
    for w, value in zip(symbolic, values):
        want = tuple(K.int_shape(w))
        if tuple(value.shape) != want:
            raise ValueError(
                f"Layer #{k} (named {layer.name!r} in the current model, {file_layer!r} in the "
                f"file): weight {getattr(w, 'name', w)!r} has shape {want}, but the saved "
                f"weight has shape {tuple(value.shape)}. The model's architecture differs from "
                f"the one that saved the file (check the layer's arguments, e.g. units or "
                f"input_shape).")


def load_weights_from_hdf5_group(f, layers, reshape=False):
    """Load weights written by ``save_weights_to_hdf5_group`` (or Keras 2) into ``layers``,
    matching layers with weights by their order (names do not matter).

    Nothing is assigned unless every layer matches.

    Args:
        f: an h5py File or Group holding ``layer_names`` (a save_weights file's root, or the
            ``model_weights`` group of a model file).
        layers: the model's layers.
        reshape: reshape saved arrays of the right size but a different shape.
    Raises:
        ValueError: the file has another number of layers with weights, or a layer's weights
            differ in number or shape (naming the layer, the weight and both shapes).

    Example:
        >>> with h5py.File('w.h5', 'r') as f:
        ...     load_weights_from_hdf5_group(f, model.layers)
    """
    version, backend = _file_versions(f, _where(f))
    model_layers = [layer for layer in layers if layer.weights]
    file_layers = []
    for name in load_attributes_from_hdf5_group(f, 'layer_names'):
        weight_names, values = _read_layer_group(f, name)
        if weight_names:
            file_layers.append((name, values))
    if len(file_layers) != len(model_layers):
        raise ValueError(
            f"You are trying to load a weight file containing {len(file_layers)} layers into a "
            f"model with {len(model_layers)} layers (counting layers that have weights: file "
            f"{[n for n, _ in file_layers]}, model {[la.name for la in model_layers]}). To load "
            f"into the layers whose names match, use load_weights(filepath, by_name=True).")
    # Every layer is compared with the file before any array is read.
    for k, (layer, (name, dsets)) in enumerate(zip(model_layers, file_layers)):
        symbolic = list(layer.weights)
        if len(dsets) != len(symbolic):
            raise ValueError(
                f"Layer #{k} (named {layer.name!r} in the current model) was found to "
                f"correspond to layer {name!r} in the save file. However the new layer "
                f"{layer.name} expects {len(symbolic)} weights, but the saved weights have "
                f"{len(dsets)} elements.")
        _check_declared(layer, symbolic, dsets, name, k)
    pairs = []
    for k, (layer, (name, dsets)) in enumerate(zip(model_layers, file_layers)):
        symbolic = list(layer.weights)
        values = preprocess_weights_for_loading(layer, _read(dsets), version, backend,
                                                reshape)
        _check_shapes(layer, symbolic, values, name, k)
        pairs += zip(symbolic, values)
    K.batch_set_value(pairs)


def load_weights_from_hdf5_group_by_name(f, layers, skip_mismatch=False, reshape=False):
    """Load weights into the layers whose names match a layer of the file; other layers (in
    the model or in the file) are left alone.

    Args:
        f: an h5py File or Group holding ``layer_names``.
        layers: the model's layers.
        skip_mismatch: warn and skip a layer whose weights differ in number or shape, instead
            of raising.
        reshape: reshape saved arrays of the right size but a different shape.
    Raises:
        ValueError: a layer's weights differ in number or shape (unless ``skip_mismatch``).

    Example:
        >>> load_weights_from_hdf5_group_by_name(f, model.layers, skip_mismatch=True)
    """
    version, backend = _file_versions(f, _where(f))
    index = {}
    for layer in layers:
        index.setdefault(layer.name, []).append(layer)
    pairs = []
    for k, name in enumerate(load_attributes_from_hdf5_group(f, 'layer_names')):
        targets = index.get(name, [])
        if not targets:
            continue
        _, dsets = _read_layer_group(f, name)
        for layer in targets:
            symbolic = list(layer.weights)
            if len(dsets) != len(symbolic):
                message = (f"Layer #{k} (named {layer.name!r}) expects {len(symbolic)} "
                           f"weight(s), but the saved weights have {len(dsets)} element(s)")
                if skip_mismatch:
                    warnings.warn(f"Skipping loading of weights for layer {layer.name}: "
                                  f"{message}", stacklevel=2)
                    continue
                raise ValueError(message + "; pass skip_mismatch=True to skip such layers")
            try:
                _check_declared(layer, symbolic, dsets, name, k)
            except ValueError as error:
                if not skip_mismatch:
                    raise
                warnings.warn(f"Skipping loading of weights for layer {layer.name}: {error}",
                              stacklevel=2)
                continue
            values = preprocess_weights_for_loading(layer, _read(dsets), version, backend,
                                                    reshape)
            if skip_mismatch:
                bad = [(w, v) for w, v in zip(symbolic, values)
                       if tuple(K.int_shape(w)) != tuple(v.shape)]
                if bad:
                    w, v = bad[0]
                    warnings.warn(f"Skipping loading of weights for layer {layer.name}: weight "
                                  f"{w.name!r} has shape {tuple(K.int_shape(w))}, but the "
                                  f"saved weight has shape {tuple(v.shape)}", stacklevel=2)
                    continue
            _check_shapes(layer, symbolic, values, name, k)
            pairs += zip(symbolic, values)
    K.batch_set_value(pairs)


def save_weights(model, filepath, overwrite=True):
    """Save all layer weights of ``model`` to an HDF5 file in Keras 2's ``save_weights``
    layout, atomically (a crash never leaves a half-written file in place of a good one).

    Args:
        model: a model (or any object with ``layers``).
        filepath: where to write (a path, or an open h5py File / Group).
        overwrite: False asks before replacing an existing file (an error without a
            terminal).

    Example:
        >>> save_weights(model, 'weights.h5')   # what model.save_weights calls
    """
    if _is_h5_object(filepath):
        save_weights_to_hdf5_group(filepath, model.layers)
        return
    with _atomic_h5_file(filepath, overwrite) as f:
        if f is not None:
            save_weights_to_hdf5_group(f, model.layers)


def load_weights(model, filepath, by_name=False, skip_mismatch=False, reshape=False):
    """Load weights from a ``save_weights`` or ``save_model`` file (graphc's or Keras 2's).

    Args:
        model: the model to load into.
        filepath: the .h5 file (or an open h5py File / Group).
        by_name: load into layers by name (the model may differ from the saved one); default:
            by the order of the layers with weights (the architecture must be the same).
        skip_mismatch: with ``by_name``, skip (with a warning) layers whose weights differ in
            number or shape.
        reshape: reshape saved arrays of the right size but another shape.
    Raises:
        ValueError on any mismatch, naming the layer and the shapes.

    Example:
        >>> load_weights(model, 'weights.h5', by_name=True)   # model.load_weights(...)
    """
    if skip_mismatch and not by_name:
        raise ValueError("skip_mismatch=True only works with by_name=True: loading by order "
                         "needs every layer to match")
    from . import keras_formats
    if keras_formats.is_keras_zip(filepath):
        keras_formats.load_keras_zip_weights(model, os.fspath(filepath), by_name=by_name,
                                             skip_mismatch=skip_mismatch)
        return
    with _open_for_reading(filepath) as f:
        if 'layer_names' not in f.attrs and 'layer_names0' not in f.attrs and 'layers' in f \
                and 'vars' in f:
            # Keras 3's save_weights layout (layers/<name>/vars/<i>).
            keras_formats.load_keras3_weights(model, f, _where(f), by_name=by_name,
                                              skip_mismatch=skip_mismatch)
            return
        if 'layer_names' not in f.attrs and not any(
                k.startswith('layer_names') for k in f.attrs) and 'model_weights' in f:
            f = f['model_weights']
        if 'layer_names' not in f.attrs and 'layer_names0' not in f.attrs:
            raise ValueError(f"{_where(f)} holds no layer weights (no 'layer_names' attribute "
                             f"at its root or in 'model_weights'): it was not written by "
                             f"save_weights / save_model")
        if by_name:
            load_weights_from_hdf5_group_by_name(f, model.layers, skip_mismatch=skip_mismatch,
                                                 reshape=reshape)
        else:
            load_weights_from_hdf5_group(f, model.layers, reshape=reshape)


# --------------------------------------------------------------------------------------------
# Optimizer state: graphc's order <-> Keras 2.2.4's order
# --------------------------------------------------------------------------------------------

def _keras224_state(optimizer, values):
    """graphc's optimizer state (``optimizer.weights`` order) in Keras 2.2.4's order, as
    ``(index into values or None for a placeholder, placeholder array)`` entries."""
    cls = type(optimizer).__name__
    n = len(values)
    if cls in ('RMSprop', 'Adagrad', 'Adadelta'):       # Keras 2.2.4: no iterations
        return [(i, None) for i in range(1, n)]
    if cls == 'Nadam':                                   # Keras 2.2.4: no m_schedule
        return [(0, None)] + [(i, None) for i in range(2, n)]
    if cls == 'Adam' and not getattr(optimizer, 'amsgrad', False):
        params = (n - 1) // 2                            # Keras 2.2.4: vhat placeholders
        return [(i, None) for i in range(n)] + \
            [(None, np.zeros((1,), dtype=K.floatx()))] * params
    return [(i, None) for i in range(n)]


def _nadam_m_schedule(optimizer, iterations):
    """Nadam's momentum schedule after ``iterations`` steps (Keras 2.2.4 does not save it)."""
    beta_1 = float(K.get_value(optimizer.beta_1))
    decay = float(optimizer.schedule_decay)
    t = np.arange(1, int(iterations) + 1, dtype='float64')
    return np.asarray(np.prod(beta_1 * (1.0 - 0.5 * 0.96 ** (t * decay))), dtype=K.floatx())


def _from_keras_state(optimizer, values):
    """Keras 2.2.4's (or 2.3's) optimizer state as graphc's list, or None if it does not
    fit."""
    ours = [tuple(K.int_shape(w)) for w in optimizer.weights]
    n = len(ours)

    def fits(candidate):
        return len(candidate) == n and all(
            tuple(np.shape(v)) == s for v, s in zip(candidate, ours))

    if fits(values):                                     # graphc / Keras 2.3 order
        return list(values)
    cls = type(optimizer).__name__
    if cls == 'SGD' and len(values) == 1:                # Keras 2.3 without momentum
        candidate = list(values) + [np.zeros(s, dtype=K.floatx()) for s in ours[1:]]
    elif cls in ('RMSprop', 'Adagrad', 'Adadelta') and len(values) == n - 1:
        candidate = [np.zeros((), dtype='int64')] + list(values)
    elif cls == 'Nadam' and len(values) == n - 1 and values:
        candidate = [values[0], _nadam_m_schedule(optimizer, np.asarray(values[0]))] + \
            list(values[1:])
    elif cls == 'Adam' and (len(values) - 1) == 3 * ((n - 1) // 2):
        candidate = list(values[:n])
    else:
        return None
    return candidate if fits(candidate) else None


def _save_optimizer_weights(f, optimizer):
    symbolic = list(getattr(optimizer, 'weights', []) or [])
    if not symbolic:
        return
    values = K.batch_get_value(symbolic)
    group = f.create_group('optimizer_weights')
    taken = set()
    ours = [_weight_name(w, i, taken) for i, w in enumerate(symbolic)]
    keras_names = []
    extra_names, extra_values = [], []
    for k, (index, placeholder) in enumerate(_keras224_state(optimizer, values)):
        if index is not None:
            keras_names.append(ours[index])
        else:
            name = _unique_name(f'{type(optimizer).__name__}/vhat_placeholder_'
                                f'{len(extra_names)}:0', taken)
            keras_names.append(name)
            extra_names.append(name)
            extra_values.append(placeholder)
    save_attributes_to_hdf5_group(group, 'weight_names', keras_names)
    save_attributes_to_hdf5_group(group, 'graphc_weight_names', ours)
    _write_arrays(group, ours + extra_names, list(values) + extra_values)


def _load_optimizer_weights(model, group):
    optimizer = model.optimizer
    if hasattr(model, '_make_train_function'):
        model._make_train_function()   # creates the optimizer's state variables
    if 'graphc_weight_names' in group.attrs or 'graphc_weight_names0' in group.attrs:
        names = load_attributes_from_hdf5_group(group, 'graphc_weight_names')
    else:
        names = load_attributes_from_hdf5_group(group, 'weight_names')
    where = _where(group)
    missing = [name for name in names if name not in group]
    if missing:
        raise ValueError(f"{where}: the optimizer state lists {missing[:3]} but holds no data "
                         f"for them: the file is damaged")
    dsets = [group[name] for name in names]
    for d in dsets:
        _check_dataset(d, where)
    # The state may hold a few more arrays than ours (Keras 2.2.4's vhat placeholders,
    # Keras 3's learning rate), never many more elements: checked before reading.
    ours = sum(int(np.prod(K.int_shape(w))) for w in optimizer.weights)
    declared = sum(int(np.prod(d.shape)) for d in dsets)
    state = None
    if declared <= 2 * ours + len(dsets) + 16:
        from .keras_formats import optimizer_state_from_file
        values = _read(dsets)
        state = optimizer_state_from_file(optimizer, names, values)
        if state is None:
            state = _from_keras_state(optimizer, values)
    if state is None:
        shapes = [tuple(K.int_shape(w)) for w in optimizer.weights]
        warnings.warn(
            f"Error in loading the saved optimizer state: the file holds {len(dsets)} arrays "
            f"of shapes {[tuple(d.shape) for d in dsets]}, but the {type(optimizer).__name__} "
            f"optimizer of this model has {len(shapes)} of shapes {shapes}. As a result, your "
            f"model is starting with a freshly initialized optimizer.", stacklevel=3)
        return
    optimizer.set_weights(state)


# --------------------------------------------------------------------------------------------
# Whole models
# --------------------------------------------------------------------------------------------

def _training_config(model):
    optimizer = model.optimizer
    config = {
        'optimizer_config': {'class_name': type(optimizer).__name__,
                             'config': optimizer.get_config()},
        'loss': getattr(model, 'loss', None),
        'metrics': getattr(model, 'metrics', None),
        'sample_weight_mode': getattr(model, 'sample_weight_mode', None),
        'loss_weights': getattr(model, 'loss_weights', None),
    }
    weighted = getattr(model, 'weighted_metrics', None)
    if weighted:
        config['weighted_metrics'] = weighted
    return config


def _serialize_model(model, f, include_optimizer):
    from . import __version__
    _set_text_attr(f, 'keras_version', KERAS_VERSION)
    _set_text_attr(f, 'backend', K.backend())
    _set_text_attr(f, 'graphc_version', __version__)
    model_config = {'class_name': type(model).__name__, 'config': model.get_config()}
    _set_text_attr(f, 'model_config', _dumps(model_config))
    save_weights_to_hdf5_group(f.create_group('model_weights'), model.layers)
    optimizer = getattr(model, 'optimizer', None)
    if include_optimizer and optimizer is not None and getattr(model, '_compiled', True):
        _set_text_attr(f, 'training_config', _dumps(_training_config(model)))
        _save_optimizer_weights(f, optimizer)


def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """Save a model to one HDF5 file: its architecture, weights, training configuration
    (loss, optimizer, metrics) and optimizer state, in Keras 2's layout. The file is written
    atomically: a temporary file in the same folder replaces ``filepath`` only once complete.

    Args:
        model: a Sequential or functional Model.
        filepath: the .h5 path (or an open h5py File / Group, written in place).
        overwrite: False asks before replacing an existing file (an error without a
            terminal).
        include_optimizer: also save the training configuration and optimizer state.

    Example:
        >>> save_model(model, 'model.h5')   # model.save('model.h5')
        >>> model = load_model('model.h5')
    """
    if _is_h5_object(filepath):
        _serialize_model(model, filepath, include_optimizer)
        return
    if os.fspath(filepath).endswith('.keras'):
        from .keras_formats import save_keras_zip
        save_keras_zip(model, filepath, overwrite=overwrite,
                       include_optimizer=include_optimizer)
        return
    with _atomic_h5_file(filepath, overwrite) as f:
        if f is not None:
            _serialize_model(model, f, include_optimizer)


def _convert_custom_objects(obj, custom_objects):
    """Names in a training config that denote the user's objects, replaced by them."""
    if isinstance(obj, list):
        return [_convert_custom_objects(x, custom_objects) for x in obj]
    if isinstance(obj, dict):
        return {k: _convert_custom_objects(v, custom_objects) for k, v in obj.items()}
    if isinstance(obj, str) and obj in custom_objects:
        return custom_objects[obj]
    return obj


def _rebuild_user_objects(training_config, custom_objects):
    """The training config with each saved loss / metric object of the user's
    (``{'class_name', 'config'}`` whose class is in ``custom_objects`` or registered) rebuilt
    from its config; Keras's own loss and metric classes are left to be read by name."""
    from .utils.generic_utils import deserialize_keras_object, get_custom_objects
    objects = dict(get_custom_objects())
    objects.update(custom_objects or {})

    def rebuild(obj):
        if isinstance(obj, list):
            return [rebuild(x) for x in obj]
        if isinstance(obj, dict) and set(obj) == {'class_name', 'config'} and \
                obj['class_name'] in objects:
            return deserialize_keras_object(obj, custom_objects=objects,
                                            printable_module_name='loss or metric object')
        if isinstance(obj, dict):
            return {k: rebuild(v) for k, v in obj.items()}
        return obj

    config = dict(training_config)
    for key in ('loss', 'metrics', 'weighted_metrics'):
        if config.get(key) is not None:
            config[key] = rebuild(config[key])
    return config


def _optimizer_from_config(config, objects):
    """The optimizer of a training config. Arguments this graphc optimizer does not take
    (e.g. Keras 2.3's Adagrad ``initial_accumulator_value``) are dropped with a warning."""
    from . import optimizers
    try:
        return optimizers.deserialize(config, custom_objects=objects)
    except TypeError as error:
        default = optimizers.deserialize({'class_name': config['class_name'], 'config': {}},
                                         custom_objects=objects)
        cls = type(default)
        params = inspect.signature(cls.__init__).parameters.values()
        allowed = {p.name for p in params if p.kind != p.VAR_KEYWORD} - {'self'}
        allowed |= {'clipnorm', 'clipvalue'}
        given = dict(config.get('config') or {})
        dropped = sorted(set(given) - allowed)
        if not dropped:
            raise error
        warnings.warn(f"The saved {cls.__name__} optimizer has argument(s) {dropped} that "
                      f"graphc's {cls.__name__} does not take; they are ignored.",
                      stacklevel=4)
        return cls.from_config({k: v for k, v in given.items() if k in allowed})


def _compile_from_config(model, training_config, custom_objects):
    from .utils.generic_utils import get_custom_objects
    objects = dict(get_custom_objects())
    objects.update(custom_objects or {})
    optimizer = _optimizer_from_config(training_config['optimizer_config'], objects)
    kwargs = {}
    if training_config.get('weighted_metrics'):
        kwargs['weighted_metrics'] = _convert_custom_objects(
            training_config['weighted_metrics'], objects)
    model.compile(optimizer=optimizer,
                  loss=_convert_custom_objects(training_config.get('loss'), objects),
                  metrics=_convert_custom_objects(training_config.get('metrics'), objects),
                  loss_weights=training_config.get('loss_weights'),
                  sample_weight_mode=training_config.get('sample_weight_mode'), **kwargs)


def load_model(filepath, custom_objects=None, compile=True,  # noqa: A002 - Keras's name
               safe_mode=None):
    """Load a model saved by ``save_model`` / ``model.save`` (or by Keras 2): architecture,
    weights and, with ``compile=True``, the compiled training configuration and optimizer
    state, so training continues where it stopped.

    Args:
        filepath: the .h5 path (or an open h5py File / Group).
        custom_objects: dict mapping the names of your own layers, losses, metrics,
            activations ... to the classes / functions.
        compile: compile the model with the saved loss, metrics and optimizer (a warning if
            the file has no training configuration).
        safe_mode: refuse a Lambda's saved bytecode, which would run code from the file
            (Keras 3's safe mode). Default None: safe, unless
            ``graphc.config.enable_unsafe_deserialization()`` was called; pass False only
            for files you trust. Lambdas saved by function name load either way.
    Returns:
        The model.
    Raises:
        ValueError: the file holds no model (e.g. it came from save_weights), an unknown class
            or function name (pass it in ``custom_objects``), or weights that do not fit;
            a Lambda saved as bytecode in safe mode.

    Example:
        >>> model = load_model('model.h5', custom_objects={'MyLayer': MyLayer})
    """
    from . import keras_formats
    from .utils.generic_utils import custom_object_scope
    from .utils.safe_mode import SafeModeScope
    custom_objects = dict(custom_objects or {})
    if keras_formats.is_keras_zip(filepath):
        with custom_object_scope(custom_objects), SafeModeScope(safe_mode):
            return keras_formats.load_keras_zip(os.fspath(filepath), custom_objects,
                                                compile=compile, safe_mode=safe_mode)
    with _open_for_reading(filepath) as f, custom_object_scope(custom_objects), \
            SafeModeScope(safe_mode):
        if 'model_config' not in f.attrs:
            raise ValueError(f"No model found in config file {getattr(f, 'filename', '')}: it "
                             f"holds no 'model_config' attribute (a file of save_weights holds "
                             f"weights only: build the model in code, then call "
                             f"model.load_weights(filepath))")
        model_config = json.loads(_text(f.attrs['model_config']))
        if 'model_weights' not in f:
            raise ValueError(f"{_where(f)} has a model config but no 'model_weights' group: "
                             f"the file is damaged")
        _file_versions(f['model_weights'], _where(f))
        model = model_from_config(model_config, custom_objects=custom_objects)
        load_weights_from_hdf5_group(f['model_weights'], model.layers)
        if not compile:
            return model
        if 'training_config' not in f.attrs:
            warnings.warn("No training configuration found in save file: the model was *not* "
                          "compiled. Compile it manually.", stacklevel=2)
            return model
        training_config = json.loads(_text(f.attrs['training_config']))
        training_config = _rebuild_user_objects(training_config, custom_objects)
        training_config = keras_formats.normalize_training_config(training_config)
        _compile_from_config(model, training_config, custom_objects)
        if 'optimizer_weights' in f:
            if not model.built:
                warnings.warn("The loaded model is not built (its first layer has no input "
                              "shape), so its optimizer state could not be restored.",
                              stacklevel=2)
            else:
                _load_optimizer_weights(model, f['optimizer_weights'])
    return model


# --------------------------------------------------------------------------------------------
# Architecture only: config / JSON / YAML
# --------------------------------------------------------------------------------------------

def model_from_config(config, custom_objects=None, safe_mode=None):
    """A model (or layer) from its ``{'class_name': ..., 'config': ...}`` dict, with fresh
    weights.

    Args:
        config: the dict (``{'class_name': type(model).__name__, 'config':
            model.get_config()}``).
        custom_objects: dict mapping names of your own classes / functions to them.
        safe_mode: refuse a Lambda's saved bytecode (default: safe unless
            ``graphc.config.enable_unsafe_deserialization()`` was called); see ``load_model``.
    Returns:
        The model.
    Raises:
        TypeError for a list (use ``Sequential.from_config``); ValueError naming an unknown
        class and pointing to ``custom_objects``.

    Example:
        >>> clone = model_from_config({'class_name': 'Sequential',
        ...                            'config': model.get_config()})
    """
    if isinstance(config, list):
        raise TypeError("model_from_config expects a dictionary ({'class_name': ..., "
                        "'config': ...}), not a list. Maybe you meant to use "
                        "Sequential.from_config(config)?")
    if not isinstance(config, dict) or 'class_name' not in config or 'config' not in config:
        raise ValueError(f"model_from_config expects a dict with keys 'class_name' and "
                         f"'config', got {type(config).__name__}"
                         + (f" with keys {sorted(config)}" if isinstance(config, dict) else ""))
    from .keras_formats import normalize_model_config
    from .layers import deserialize
    from .utils.generic_utils import custom_object_scope
    with custom_object_scope(dict(custom_objects or {})):
        # tf.keras 2.x / Keras 3 configs in Keras 2.2.4's words (others come back equal).
        config = normalize_model_config(config, custom_objects)
        return deserialize(config, custom_objects=custom_objects, safe_mode=safe_mode)


def model_from_json(json_string, custom_objects=None, safe_mode=None):
    """A model from the JSON of ``model.to_json()`` (architecture only, fresh weights).

    Args:
        json_string: the JSON string.
        custom_objects: dict mapping names of your own classes / functions to them.
        safe_mode: refuse a Lambda's saved bytecode (default: safe unless
            ``graphc.config.enable_unsafe_deserialization()`` was called); see ``load_model``.
    Returns:
        The model.

    Example:
        >>> model = model_from_json(model.to_json())
    """
    try:
        config = json.loads(json_string)
    except (TypeError, ValueError) as e:
        raise ValueError(f"model_from_json: the string is not valid JSON ({e})") from None
    return model_from_config(config, custom_objects=custom_objects, safe_mode=safe_mode)


def _yaml_loader(yaml):
    """A safe YAML loader that also reads the ``!!python/tuple`` tags Keras 2's ``to_yaml``
    writes for shapes (and nothing else that could run code)."""
    class Loader(yaml.SafeLoader):
        pass

    def tuple_constructor(loader, node):
        return tuple(loader.construct_sequence(node, deep=True))

    Loader.add_constructor('tag:yaml.org,2002:python/tuple', tuple_constructor)
    return Loader


def model_from_yaml(yaml_string, custom_objects=None, safe_mode=None):
    """A model from the YAML of ``model.to_yaml()`` (architecture only, fresh weights).

    Needs PyYAML (``pip install pyyaml``).

    Args:
        yaml_string: the YAML string.
        custom_objects: dict mapping names of your own classes / functions to them.
        safe_mode: refuse a Lambda's saved bytecode (default: safe unless
            ``graphc.config.enable_unsafe_deserialization()`` was called); see ``load_model``.
    Returns:
        The model.

    Example:
        >>> model = model_from_yaml(model.to_yaml())
    """
    try:
        import yaml
    except ImportError:
        raise ImportError("model_from_yaml needs PyYAML, which is not installed: "
                          "pip install pyyaml") from None
    config = yaml.load(yaml_string, Loader=_yaml_loader(yaml))
    return model_from_config(config, custom_objects=custom_objects, safe_mode=safe_mode)
