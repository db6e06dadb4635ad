"""Data checks and helpers of ``compile`` / ``fit``: matching user data to model inputs and
outputs (arrays, lists or dicts keyed by name), sample and class weights, batching."""
from __future__ import annotations

import numpy as np

from .. import backend as K
from ..utils.sparse_utils import issparse, stored_values, to_row_sliceable

_BATCH_HINT = ("(input_shape / shape arguments give the shape of ONE sample and exclude the "
               "batch axis: for data of shape (n, 784) use input_shape=(784,))")


def _as_array(x, name):
    if isinstance(x, np.ndarray):
        return x
    if issparse(x):   # kept sparse (CSR); each batch is densified when it is sliced
        return to_row_sliceable(x, f"Error when checking {name}")
    if hasattr(x, 'values') and hasattr(x, 'columns'):   # a pandas DataFrame
        return np.asarray(x.values)
    try:
        return np.asarray(x)
    except Exception:
        raise TypeError(f"Error when checking {name}: expected a numpy array, got "
                        f"{type(x).__name__}") from None


def standardize_input_data(data, names, shapes=None, check_batch_axis=True,
                           exception_prefix=''):
    """Match ``data`` (array, list or dict) to the model's ``names``; check shapes.

    Args:
        data: None, one array, a list of arrays (in ``names`` order) or a dict keyed by name.
        names: the input (or output) names.
        shapes: the expected shapes, batch axis first (None = any); ``None`` = unchecked.
        check_batch_axis: whether a fixed batch size is checked.
        exception_prefix: 'input' or 'target', used in error messages.
    Returns:
        A list of arrays, one per name (scipy.sparse matrices stay sparse, as CSR).
    Raises:
        ValueError naming the input, the expected and the actual shape.
    """
    if not names:
        if data is not None and hasattr(data, '__len__') and len(data):
            raise ValueError(f"Error when checking model {exception_prefix}: expected no data, "
                             f"but got: {type(data).__name__}")
        return []
    if data is None:
        return [None] * len(names)
    if isinstance(data, dict):
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValueError(f"Error when checking model {exception_prefix}: the data dict has "
                             f"key(s) {unknown} that name no model {exception_prefix}; valid "
                             f"names: {names}")
        missing = [n for n in names if n not in data]
        if missing:
            raise ValueError(f"Error when checking model {exception_prefix}: no data provided "
                             f"for {missing}. Need data for each key in: {names}")
        arrays = [_as_array(data[n], n) for n in names]
    elif isinstance(data, (list, tuple)):
        if data and not hasattr(data[0], 'shape') and len(names) == 1:
            arrays = [np.asarray(data)]   # a plain nested Python list for a single input
        else:
            if len(data) != len(names):
                if data and hasattr(data[0], 'shape'):
                    raise ValueError(
                        f"Error when checking model {exception_prefix}: the list of numpy "
                        f"arrays that you are passing to your model is not the size the model "
                        f"expected. Expected to see {len(names)} array(s) for {names}, but "
                        f"instead got {len(data)} array(s)")
                if len(names) == 1:
                    arrays = [np.asarray(data)]
                else:
                    raise ValueError(f"Error when checking model {exception_prefix}: expected "
                                     f"a list of {len(names)} arrays for {names}")
            else:
                arrays = [_as_array(x, n) for x, n in zip(data, names)]
    else:
        if len(names) != 1:
            raise ValueError(
                f"Error when checking model {exception_prefix}: the model expects "
                f"{len(names)} {exception_prefix} arrays ({names}), but only received one "
                f"array. Pass a list of arrays or a dict keyed by name.")
        arrays = [_as_array(data, names[0])]

    arrays = [a[:, None] if a.ndim == 1 else a for a in arrays]
    if shapes is None:
        return arrays
    hint = _BATCH_HINT if exception_prefix == 'input' else ''
    for name, array, shape in zip(names, arrays, shapes):
        if shape is None:
            continue
        what = 'a sparse matrix' if issparse(array) else 'an array'
        if array.ndim != len(shape):
            raise ValueError(
                f"Error when checking {exception_prefix}: expected {name} to have "
                f"{len(shape)} dimensions (shape {_fmt(shape)}), but got {what} with shape "
                f"{array.shape}" + (" " + hint if hint else ""))
        for axis, (want, got) in enumerate(zip(shape, array.shape)):
            if axis == 0 and not check_batch_axis:
                continue
            if want is not None and want != got:
                raise ValueError(
                    f"Error when checking {exception_prefix}: expected {name} to have shape "
                    f"{_fmt(shape)} but got {what} with shape {array.shape}" +
                    (" " + hint if hint else ""))
    return arrays


def _fmt(shape):
    return '(' + ', '.join('None' if d is None else str(d) for d in shape) + \
        (',)' if len(shape) == 1 else ')')


def standardize_sample_or_class_weights(weights, output_names, weight_type):
    """A list with one entry per output from None, one value, a list or a dict by name."""
    if weights is None or (isinstance(weights, (list, tuple)) and not weights):
        return [None] * len(output_names)
    if len(output_names) == 1:
        if isinstance(weights, (list, tuple)) and len(weights) == 1:
            return list(weights)
        if isinstance(weights, dict) and output_names[0] in weights:
            return [weights[output_names[0]]]
        return [weights]
    if isinstance(weights, (list, tuple)):
        if len(weights) != len(output_names):
            raise ValueError(f"Provided `{weight_type}` was a list of {len(weights)} elements, "
                             f"but the model has {len(output_names)} outputs ({output_names}). "
                             f"Give one `{weight_type}` per model output.")
        return list(weights)
    if isinstance(weights, dict):
        unknown = sorted(set(weights) - set(output_names))
        if unknown:
            raise ValueError(f"Unknown entries in {weight_type} dictionary: {unknown}. Only "
                             f"expected the model outputs: {output_names}")
        return [weights.get(name) for name in output_names]
    raise TypeError(f"The model has multiple outputs, so `{weight_type}` should be a list or "
                    f"a dict, not {type(weights).__name__}")


def check_array_length_consistency(inputs, targets, weights=None):
    """All arrays must hold the same number of samples; a ValueError says which differ."""
    def lengths(arrays):
        return [a.shape[0] if hasattr(a, 'shape') else len(a) for a in arrays
                if a is not None]
    x_len, y_len, w_len = set(lengths(inputs)), set(lengths(targets)), \
        set(lengths(weights or []))
    if len(x_len) > 1:
        raise ValueError(f"All input arrays (x) should have the same number of samples. Got "
                         f"array shapes: {[a.shape for a in inputs]}")
    if len(y_len) > 1:
        raise ValueError(f"All target arrays (y) should have the same number of samples. Got "
                         f"array shapes: {[a.shape for a in targets if a is not None]}")
    if x_len and y_len and x_len != y_len:
        raise ValueError(f"Input arrays should have the same number of samples as target "
                         f"arrays. Found {x_len.pop()} input samples and {y_len.pop()} target "
                         f"samples.")
    if len(w_len) > 1:
        raise ValueError(f"All sample_weight arrays should have the same number of samples. "
                         f"Got lengths {sorted(w_len)}")
    if y_len and w_len and y_len != w_len:
        raise ValueError(f"Sample_weight arrays should have the same number of samples as "
                         f"target arrays. Got {y_len.pop()} target samples and "
                         f"{w_len.pop()} sample_weight samples.")


def check_loss_and_target_compatibility(targets, loss_fns, output_shapes, names=None):
    """Catch the common loss / target mismatches with an actionable message."""
    names = names or [''] * len(targets)
    for y, loss, shape, out_name in zip(targets, loss_fns, output_shapes, names):
        if y is None or loss is None:
            continue
        name = getattr(loss, '__name__', '')
        if name == 'categorical_crossentropy' and y.shape[-1] == 1:
            raise ValueError(
                f"You are passing a target array of shape {y.shape} for output {out_name} "
                f"while using as loss "
                f"`categorical_crossentropy`. `categorical_crossentropy` expects targets to be "
                f"binary matrices (1s and 0s) of shape (samples, classes). If your targets are "
                f"integer classes, convert them with graphc.utils.to_categorical(y), or use "
                f"the loss `sparse_categorical_crossentropy` instead.")
        if name in ('binary_crossentropy', 'categorical_crossentropy',
                    'mean_squared_error') and shape is not None:
            for want, got in zip(y.shape[1:], shape[1:]):
                if got is not None and want != got:
                    raise ValueError(f"A target array with shape {y.shape} was passed for "
                                     f"output {out_name} of shape {_fmt(shape)} while using "
                                     f"as loss `{name}`. This loss expects targets to have the same "
                                     f"shape as the output.")


def standardize_weights(y, sample_weight=None, class_weight=None, sample_weight_mode=None):
    """Per-sample (or per-timestep) weights from ``sample_weight`` or ``class_weight``.

    Returns:
        A float array of shape (n,) (or (n, timesteps) in 'temporal' mode).
    """
    if sample_weight_mode is not None and sample_weight_mode != 'temporal':
        raise ValueError(f'sample_weight_mode should be None or "temporal", got '
                         f'{sample_weight_mode!r}')
    if sample_weight_mode == 'temporal':
        if y.ndim < 3:
            raise ValueError(f"Found a target array with shape {y.shape}: temporal "
                             f"sample_weight_mode needs targets of rank >= 3")
        if sample_weight is not None and np.ndim(sample_weight) != 2:
            raise ValueError(f"Found a sample_weight array with shape "
                             f"{np.shape(sample_weight)}; in 'temporal' mode sample_weight must "
                             f"have shape (samples, timesteps)")
    elif sample_weight is not None and np.ndim(sample_weight) != 1:
        raise ValueError(f"Found a sample_weight array with shape {np.shape(sample_weight)}. "
                         f"sample_weight should be a 1D array of shape (samples,); for "
                         f"per-timestep weights compile with sample_weight_mode='temporal'")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=K.floatx())
        if sample_weight.shape[:1] != y.shape[:1]:
            raise ValueError(f"Found a sample_weight array with shape {sample_weight.shape} for "
                             f"an input with shape {y.shape}. sample_weight must have one "
                             f"entry per sample")
        return sample_weight
    if isinstance(class_weight, dict):
        if y.ndim > 2:
            raise ValueError("class_weight is not supported for 3+ dimensional targets")
        if issparse(y):   # one-hot rows: argmax per row (a (n, 1) matrix)
            y = np.asarray(y.argmax(axis=1)) if y.shape[1] > 1 else y.toarray()
        if y.shape[1] > 1:
            classes = np.argmax(y, axis=1)
        else:
            classes = np.reshape(y, (y.shape[0],)).astype(np.int64)
        missing = sorted(set(classes.tolist()) - set(class_weight))
        if missing:
            raise ValueError(f"class_weight must contain all classes in the data; the classes "
                             f"{missing} exist in the data but not in class_weight")
        return np.asarray([class_weight[c] for c in classes.tolist()], dtype=K.floatx())
    shape = y.shape[:2] if sample_weight_mode == 'temporal' else y.shape[:1]
    return np.ones(shape, dtype=K.floatx())


# -- argument and data checks of fit / evaluate / predict ------------------------------------

def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_positive_int(where, name, value, hint=''):
    """``value`` as an int; a clear error unless it is a positive integer (None passes)."""
    if value is None:
        return None
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}{hint}")
    return int(value)


def check_steps(where, name, value):
    """A step count as an int (None passes). Keras 2 loops ``while steps_done < steps``, so
    a positive float such as ``len(x_train) / 32`` (its own documentation's spelling) counts
    as the next integer up; zero, a negative number, NaN or a non-number is an error."""
    if value is None:
        return None
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and value > 0:
        return int(np.ceil(value))
    return check_positive_int(where, name, value)


def check_epochs(where, epochs, initial_epoch=0):
    """``(epochs, initial_epoch)`` as ints. Keras 2 takes integers: a float with an integer
    value (``3.0``) is accepted, ``2.5`` or a negative count is an error."""
    out = []
    for name, value in (('epochs', epochs), ('initial_epoch', initial_epoch)):
        if isinstance(value, (float, np.floating)) and np.isfinite(value) and \
                float(value).is_integer():
            value = int(value)
        if not _is_int(value):
            raise ValueError(f"{where}: {name} must be an integer (a number of epochs), got "
                             f"{value!r}")
        if value < 0:
            raise ValueError(f"{where}: {name} must be >= 0, got {value!r}")
        out.append(int(value))
    return tuple(out)


def check_has_samples(where, arrays, names):
    """A clear error when the data holds no samples (a batch axis of length 0)."""
    for a, name in zip(arrays, names):
        if a is not None and getattr(a, 'ndim', 0) and a.shape[0] == 0:
            raise ValueError(f"{where}: {name} has no samples (shape {tuple(a.shape)}); "
                             f"pass at least one sample")


def warn_non_finite(where, arrays, names, consequence='the loss and then every weight will '
                                                      'turn NaN'):
    """One warning naming every float array holding NaN or Inf (Keras 2 trains on silently
    and the weights turn NaN; TerminateOnNaN only stops once they have)."""
    bad = []
    for a, name in zip(arrays, names):
        if a is None:
            continue
        a = stored_values(a)
        if not np.issubdtype(np.asarray(a).dtype, np.floating):
            continue
        finite = np.isfinite(a)
        if finite.all():
            continue
        n_nan = int(np.isnan(a).sum())
        n_inf = int(a.size - finite.sum()) - n_nan
        what = ' and '.join(f"{n} {kind}" for n, kind in ((n_nan, 'NaN'), (n_inf, 'Inf'))
                            if n)
        bad.append(f"{name} contains {what} value{'s' if n_nan + n_inf > 1 else ''}")
    if bad:
        import warnings
        warnings.warn(f"{where}: {'; '.join(bad)}: {consequence}. Clean the data first "
                      f"(e.g. keep the rows where np.isfinite(x).all(axis=1)).",
                      RuntimeWarning, stacklevel=3)


def embedding_feeds(model):
    """For each feed input of ``model``, the Embedding layers of the model that read it
    directly (their indices can be checked in numpy before the compiled step)."""
    from ..layers.core import Embedding
    layers = {id(la) for la in model.layers}
    found = []
    for tensor in model._feed_inputs:
        history = getattr(tensor, '_keras_history', None)
        readers = []
        if history is not None:
            for node in history[0]._outbound_nodes:
                layer = node.outbound_layer
                if isinstance(layer, Embedding) and id(layer) in layers and \
                        any(t is tensor for t in node.input_tensors):
                    readers.append(layer)
        found.append(readers)
    return found


def check_embedding_indices(arrays, names, readers):
    """A clear error, naming the layer, for an index an Embedding cannot look up: negative
    (it would silently wrap around), >= input_dim, or not a finite number."""
    for a, name, layers in zip(arrays, names, readers):
        if not layers or a is None or a.size == 0:
            continue
        if issparse(a):   # its implicit zeros are valid indices; check the stored values
            if _indices_ok(a, layers):
                continue
            a = a.toarray()   # only to name the bad index and its position below
        if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
            raise ValueError(f"Embedding layer {layers[0].name!r}: its input {name!r} holds "
                             f"NaN or Inf; indices must be integers in [0, "
                             f"{layers[0].input_dim})")
        lo, hi = a.min(), a.max()
        for layer in layers:
            if lo < 0 or hi >= layer.input_dim:
                value = lo if lo < 0 else hi
                at = tuple(int(i) for i in np.argwhere(a == value)[0])
                why = ("negative indices are not allowed (they would silently wrap around)"
                       if value < 0 else f"the vocabulary has input_dim={layer.input_dim} "
                                         f"entries (largest index {layer.input_dim - 1})")
                shown = value.item()
                if isinstance(shown, float) and shown.is_integer():
                    shown = int(shown)
                raise ValueError(f"Embedding layer {layer.name!r}: its input {name!r} holds "
                                 f"index {shown!r} at position {at}; indices must be in "
                                 f"[0, {layer.input_dim}): {why}")


def _indices_ok(sparse, layers):
    values = stored_values(sparse)
    if not values.size:
        return True
    if np.issubdtype(values.dtype, np.floating) and not np.isfinite(values).all():
        return False
    return values.min() >= 0 and values.max() < min(layer.input_dim for layer in layers)


def batch_shuffle(index_array, batch_size):
    """Shuffle whole batches of ``index_array`` (fit(shuffle='batch'), for HDF5 data)."""
    n_batches = len(index_array) // batch_size
    head = index_array[:n_batches * batch_size].reshape((n_batches, batch_size))
    np.random.shuffle(head)
    return np.append(head.flatten(), index_array[n_batches * batch_size:])


def make_batches(size, batch_size):
    """``(start, end)`` pairs covering ``range(size)``; the last batch may be smaller."""
    n = int(np.ceil(size / float(batch_size)))
    return [(i * batch_size, min(size, (i + 1) * batch_size)) for i in range(n)]


def check_num_samples(ins, batch_size=None, steps=None, steps_name='steps'):
    """The number of samples in ``ins`` (None when ``steps`` is given)."""
    if steps is not None:
        return None
    for x in ins:
        if x is not None and hasattr(x, 'shape'):
            return int(x.shape[0])
    raise ValueError(f"When no input data is given, `{steps_name}` must be set")


def weighted_masked_objective(fn):
    """Wrap a per-sample loss or metric so it applies a mask and sample weights.

    The result maps ``(y_true, y_pred, weights, mask=None)`` to a scalar: the mean over
    samples of ``fn``, with masked steps removed and each sample weighted (normalised by the
    fraction of non-zero weights, as Keras 2).
    """
    if fn is None:
        return None

    def weighted(y_true, y_pred, weights, mask=None):
        score = fn(y_true, y_pred)
        if mask is not None:
            mask = K.cast(mask, K.floatx())
            score = score * mask
            score = score / K.mean(mask)
        if weights is not None:
            ndim = K.ndim(score)
            weight_ndim = K.ndim(weights)
            if ndim > weight_ndim:
                score = K.mean(score, axis=list(range(weight_ndim, ndim)))
            score = score * weights
            score = score / K.mean(K.cast(K.not_equal(weights, 0), K.floatx()))
        return K.mean(score)

    weighted.__name__ = getattr(fn, '__name__', 'objective')
    return weighted


def iter_sequence_infinite(seq):
    """Yield the batches of a Sequence forever (epoch after epoch)."""
    while True:
        for item in seq:
            yield item
