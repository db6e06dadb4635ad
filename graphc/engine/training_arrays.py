"""The loops of fit / evaluate / predict over numpy arrays (batches sliced in Python; each
batch is one call of the compiled step). scipy.sparse data (CSR) is densified one batch at a
time, after its rows are sliced."""
from __future__ import annotations

import numpy as np

from ..utils.generic_utils import Progbar, slice_arrays, to_list, unpack_singleton
from ..utils.sparse_utils import densify_all
from .training_utils import batch_shuffle, check_num_samples, make_batches


def _slice(ins, ids, learning_phase, stop=None):
    """Slice the data arrays (by index array, or ``ids:stop``) and densify the sparse ones'
    slices; the trailing learning-phase scalar is passed whole."""
    if learning_phase:
        return densify_all(slice_arrays(ins[:-1], ids, stop)) + [ins[-1]]
    return densify_all(slice_arrays(ins, ids, stop))


def _log_value(o):
    o = np.asarray(o)
    return float(o) if o.ndim == 0 else o


def _strategy(model):
    """The data-parallel strategy training ``model``, or None (graphc.distribute)."""
    from ..distribute.strategy import strategy_for
    return strategy_for(model)


def make_callbacks(model, callbacks, params, verbose, count_mode):
    """History + BaseLogger (+ ProgbarLogger) + the user's callbacks, set up for ``model``.
    In data-parallel training, ranks other than 0 drop the progress bar and the callbacks
    that write files."""
    from .. import callbacks as cbks   # imported on first fit: keeps `import graphc` light
    model.history = cbks.History()
    chain = [cbks.BaseLogger(stateful_metrics=getattr(model, 'stateful_metric_names', []))]
    if verbose:
        chain.append(cbks.ProgbarLogger(count_mode=count_mode))
    chain += list(callbacks or []) + [model.history]
    for c in chain:
        if not isinstance(c, cbks.Callback):
            raise TypeError(f"callbacks must be graphc.callbacks.Callback instances, got "
                            f"{type(c).__name__}")
    dist = _strategy(model)
    if dist is not None:
        chain = [c for c in chain if dist.keeps_callback(c)]
    callback_list = cbks.CallbackList(chain)
    callback_list.set_model(model)
    callback_list.set_params(params)
    return callback_list


def fit_loop(model, f, ins, out_labels=None, batch_size=None, epochs=100, verbose=1,
             callbacks=None, val_f=None, val_ins=None, shuffle=True, callback_metrics=None,
             initial_epoch=0, steps_per_epoch=None, validation_steps=None,
             learning_phase=False):
    """Run the training loop of ``fit`` over arrays.

    Args:
        model: the model (receives ``history`` and ``stop_training``).
        f: the compiled training step.
        ins: the feeds: x arrays, y arrays, sample weights [, learning phase].
        out_labels: names of f's outputs (``model.metrics_names``).
        val_f, val_ins: the test step and its feeds, for validation at each epoch's end.
        callback_metrics: the names of the logged values (with 'val_' ones).
    Returns:
        The model's ``History``.
    """
    do_validation = bool(val_f) and bool(val_ins)
    out_labels = out_labels or []
    num_samples = check_num_samples(ins[:-1] if learning_phase else ins, batch_size,
                                    steps_per_epoch, 'steps_per_epoch')
    callbacks = make_callbacks(
        model, callbacks,
        {'batch_size': batch_size, 'epochs': epochs, 'steps': steps_per_epoch,
         'samples': num_samples, 'verbose': verbose, 'do_validation': do_validation,
         'metrics': callback_metrics or []},
        verbose, 'steps' if steps_per_epoch is not None else 'samples')
    model.stop_training = False
    for c in callbacks:
        c.validation_data = val_ins
    callbacks.on_train_begin()
    dist = _strategy(model)
    index_array = np.arange(num_samples) if num_samples is not None else None
    for epoch in range(initial_epoch, epochs):
        callbacks.on_epoch_begin(epoch)
        epoch_logs = {}
        if steps_per_epoch is not None:
            for step in range(steps_per_epoch):
                batch_logs = {'batch': step, 'size': 1}
                callbacks.on_batch_begin(step, batch_logs)
                outs = to_list(f(densify_all(ins)))
                for label, o in zip(out_labels, outs):
                    batch_logs[label] = _log_value(o)
                callbacks.on_batch_end(step, batch_logs)
                if model.stop_training:
                    break
            if do_validation:
                val_outs = to_list(test_loop(model, val_f, val_ins, steps=validation_steps,
                                             verbose=0, learning_phase=learning_phase))
                for label, o in zip(out_labels, val_outs):
                    epoch_logs['val_' + label] = o
        else:
            if dist is not None:   # the same order on every rank, from (seed, epoch)
                index_array = dist.epoch_order(epoch, num_samples, shuffle, batch_size)
            elif shuffle == 'batch':
                index_array = batch_shuffle(index_array, batch_size)
            elif shuffle:
                np.random.shuffle(index_array)
            batches = make_batches(num_samples, batch_size)
            for batch_index, (start, end) in enumerate(batches):
                ids = index_array[start:end]
                local = dist.shard(ids) if dist is not None else ids
                ins_batch = _slice(ins, local, learning_phase)
                batch_logs = {'batch': batch_index, 'size': len(ids)}
                callbacks.on_batch_begin(batch_index, batch_logs)
                outs = to_list(f(ins_batch))
                for label, o in zip(out_labels, outs):
                    batch_logs[label] = _log_value(o)
                callbacks.on_batch_end(batch_index, batch_logs)
                if model.stop_training:
                    break
            if do_validation and not model.stop_training:
                val_outs = to_list(test_loop(model, val_f, val_ins, batch_size=batch_size,
                                             verbose=0, learning_phase=learning_phase))
                for label, o in zip(out_labels, val_outs):
                    epoch_logs['val_' + label] = o
        callbacks.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    callbacks.on_train_end()
    return model.history


def test_loop(model, f, ins, batch_size=None, verbose=0, steps=None, learning_phase=False):
    """Evaluate in batches; returns the sample-weighted mean of each of f's outputs (a float,
    or a list of floats)."""
    data = ins[:-1] if learning_phase else ins
    num_samples = check_num_samples(data, batch_size, steps, 'steps')
    dist = _strategy(model) if steps is None else None
    if dist is not None:
        return _test_loop_parallel(model, dist, f, ins, num_samples, batch_size, verbose,
                                   learning_phase)
    target = steps if steps is not None else num_samples
    progbar = Progbar(target=target) if verbose == 1 else None
    outs = []
    if steps is not None:
        for step in range(steps):
            batch_outs = to_list(f(densify_all(ins)))
            if not outs:
                outs = [0.] * len(batch_outs)
            for i, o in enumerate(batch_outs):
                outs[i] += np.asarray(o, dtype=np.float64)
            if progbar:
                progbar.update(step + 1)
        outs = [o / steps for o in outs]
    else:
        for start, end in make_batches(num_samples, batch_size):
            batch_outs = to_list(f(_slice(ins, start, learning_phase, end)))
            if not outs:
                outs = [0.] * len(batch_outs)
            for i, o in enumerate(batch_outs):
                outs[i] += np.asarray(o, dtype=np.float64) * (end - start)
            if progbar:
                progbar.update(end)
        outs = [o / num_samples for o in outs]
    return unpack_singleton([_log_value(o) for o in outs])


def _test_loop_parallel(model, dist, f, ins, num_samples, batch_size, verbose,
                        learning_phase):
    """test_loop in data-parallel training: each rank evaluates its contiguous part of the
    samples, and one allreduce of the sample-weighted sums gives the global means."""
    dist.ensure_synced(model)
    lo, hi = dist.shard_range(num_samples)
    progbar = Progbar(target=num_samples) if verbose == 1 and dist.is_root else None
    n_outs = len(getattr(model, 'metrics_names', None) or []) or 1
    sums = np.zeros(n_outs, dtype=np.float64)
    for start, end in make_batches(hi - lo, batch_size):
        batch_outs = to_list(f(_slice(ins, lo + start, learning_phase, lo + end)))
        sums += np.asarray([np.asarray(o, dtype=np.float64) for o in batch_outs]) * \
            (end - start)
        if progbar:
            progbar.update(min(num_samples, end * dist.size))   # ranks run in step
    sums, count = dist.reduce_weighted(sums, hi - lo, what='the evaluation reduction',
                                       name=getattr(f, 'name', 'test_function'))
    if progbar:
        progbar.update(num_samples)
    return unpack_singleton([float(s / count) for s in sums])


def predict_loop(model, f, ins, batch_size=32, verbose=0, steps=None, learning_phase=False):
    """Predict in batches; returns the outputs concatenated over batches (an array, or a list
    of arrays for several outputs)."""
    data = ins[:-1] if learning_phase else ins
    num_samples = check_num_samples(data, batch_size, steps, 'steps')
    target = steps if steps is not None else num_samples
    progbar = Progbar(target=target) if verbose == 1 else None
    if steps is not None:
        chunks = []
        for step in range(steps):
            chunks.append(to_list(f(densify_all(ins))))
            if progbar:
                progbar.update(step + 1)
        result = [np.concatenate([c[i] for c in chunks]) for i in range(len(chunks[0]))] \
            if chunks else []
        return unpack_singleton(result)
    outs = []
    for start, end in make_batches(num_samples, batch_size):
        batch_outs = to_list(f(_slice(ins, start, learning_phase, end)))
        if not outs:
            outs = [np.empty((num_samples,) + np.asarray(o).shape[1:], dtype=np.asarray(o).dtype)
                    for o in batch_outs]
        for out, o in zip(outs, batch_outs):
            out[start:end] = o
        if progbar:
            progbar.update(end)
    return unpack_singleton(outs)
