"""fit / evaluate / predict over batches drawn from a Python generator or a
``graphc.utils.Sequence`` (read in the training thread, or for a Sequence with ``workers > 1``
read ahead by an ``OrderedEnqueuer`` in worker threads or processes)."""
from __future__ import annotations

import numpy as np

from ..utils.generic_utils import Progbar, to_list, unpack_singleton
from .training_arrays import _strategy, make_callbacks


def _is_sequence(data):
    from ..utils.data_utils import Sequence   # first use only: data_utils imports http.client
    return isinstance(data, Sequence) or getattr(data, 'use_sequence_api', False)


class _Batches:
    """Draws batches from a generator or a Sequence (in shuffled order per epoch if asked).

    With a data-parallel strategy ``dist``, a Sequence is read in one order shared by all
    ranks (drawn from the seed and the epoch), each rank reading every size-th batch of it;
    a generator is read as is (each rank's program gives its own)."""

    def __init__(self, data, shuffle=False, dist=None, workers=0, use_multiprocessing=False,
                 max_queue_size=10):
        self.data = data
        self.sequence = _is_sequence(data)
        self.shuffle = shuffle
        self.dist = dist if self.sequence else None
        # Workers read a Sequence ahead, in order, calling on_epoch_end between its epochs.
        # One thread (Keras 2's default workers=1) reads in the training thread instead.
        self._enqueuer = None
        self._stream = None
        workers = int(workers or 0)
        if self.sequence and self.dist is None and workers > 0 and \
                (workers > 1 or use_multiprocessing):
            from ..utils.enqueuers import OrderedEnqueuer
            self._enqueuer = OrderedEnqueuer(data, use_multiprocessing=use_multiprocessing,
                                             shuffle=shuffle)
            self._enqueuer_args = (int(workers), int(max_queue_size))
        self._epoch = 0
        self._step = 0
        self._dist_order = None
        self._order = []
        self._iter = None
        if not self.sequence:
            if not hasattr(data, '__next__'):
                if hasattr(data, '__iter__'):
                    self._iter = iter(data)
                else:
                    raise TypeError(f"Expected a generator or a graphc.utils.Sequence, got "
                                    f"{type(data).__name__}")
            else:
                self._iter = data

    def __len__(self):
        if self.dist is not None:
            return self.dist.sequence_steps(len(self.data))
        return len(self.data) if self.sequence else None

    def next(self):
        if self._enqueuer is not None:
            if self._stream is None:
                self._enqueuer.start(*self._enqueuer_args)
                self._stream = self._enqueuer.get()
            try:
                return next(self._stream)
            except StopIteration:
                raise RuntimeError("The workers reading the Sequence stopped before the "
                                   "last batch") from None
        if self.dist is not None:
            if self._dist_order is None:
                self._dist_order = self.dist.epoch_order(self._epoch, len(self.data),
                                                         self.shuffle, 1)
            index = self.dist.sequence_index(self._dist_order, self._step)
            self._step += 1
            return self.data[index]
        if self.sequence:
            if not self._order:
                self._order = list(range(len(self.data)))
                if self.shuffle:
                    np.random.shuffle(self._order)
                self._order.reverse()
            return self.data[self._order.pop()]
        try:
            return next(self._iter)
        except StopIteration:
            raise ValueError("The generator ran out of data: it must yield batches "
                             "indefinitely (loop over the data), or give steps_per_epoch / "
                             "steps no larger than the number of batches it yields") from None

    def close(self):
        """Stop the workers, if any."""
        if self._enqueuer is not None:
            self._enqueuer.stop()
            self._stream = None

    def epoch_end(self):
        if self._enqueuer is not None:
            return   # the enqueuer calls on_epoch_end once it has read an epoch
        if self.sequence:
            self.data.on_epoch_end()
            self._order = []
            self._epoch += 1
            self._step = 0
            self._dist_order = None


def _unpack(batch, what='generator'):
    if not isinstance(batch, tuple):
        raise ValueError(f"Output of {what} should be a tuple `(x, y, sample_weight)` or "
                         f"`(x, y)`. Found: {type(batch).__name__}")
    if len(batch) == 2:
        return batch[0], batch[1], None
    if len(batch) == 3:
        return batch
    raise ValueError(f"Output of {what} should be a tuple `(x, y, sample_weight)` or "
                     f"`(x, y)`. Found a tuple of {len(batch)} items")


def _batch_size(x):
    if isinstance(x, dict):
        x = next(iter(x.values()))
    if isinstance(x, (list, tuple)):
        x = x[0]
    return int(np.shape(x)[0])


def fit_generator(model, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None,
                  validation_data=None, validation_steps=None, class_weight=None,
                  shuffle=True, initial_epoch=0, max_queue_size=10, workers=0,
                  use_multiprocessing=False):
    """The loop of ``Model.fit_generator``; returns the History. With ``workers > 1`` (or
    ``use_multiprocessing``) a Sequence is read ahead by that many worker threads (processes
    with ``use_multiprocessing``); a generator is always read in this thread."""
    dist = _strategy(model)
    batches = _Batches(generator, shuffle=shuffle, dist=dist, workers=workers,
                       use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size)
    try:
        return _fit_loop(model, batches, steps_per_epoch, epochs, verbose, callbacks,
                         validation_data, validation_steps, class_weight, initial_epoch,
                         dist)
    finally:
        batches.close()


def _fit_loop(model, batches, steps_per_epoch, epochs, verbose, callbacks, validation_data,
              validation_steps, class_weight, initial_epoch, dist):
    batches._epoch = initial_epoch
    if steps_per_epoch is None:
        if batches.sequence:
            steps_per_epoch = len(batches)
        else:
            raise ValueError("`steps_per_epoch=None` is only valid for a generator based on "
                             "the graphc.utils.Sequence class. Please specify "
                             "`steps_per_epoch` or use the Sequence class.")
    user_validation_steps = validation_steps
    val_gen = validation_data is not None and (
        _is_sequence(validation_data) or hasattr(validation_data, '__next__'))
    if val_gen and validation_steps is None:
        if _is_sequence(validation_data):
            validation_steps = len(validation_data)
        else:
            raise ValueError("`validation_steps=None` is only valid for a validation generator "
                             "based on graphc.utils.Sequence. Please specify `validation_steps`"
                             " or use the Sequence class.")
    do_validation = validation_data is not None
    val_arrays = None
    if do_validation and not val_gen:
        if len(validation_data) not in (2, 3):
            raise ValueError(f"validation_data should be a tuple `(val_x, val_y, "
                             f"val_sample_weight)` or `(val_x, val_y)`; found "
                             f"{len(validation_data)} items")
        val_arrays = validation_data

    # The first batch also builds a model whose input shape was deferred.
    first = batches.next()
    x0, _, _ = _unpack(first)
    model._finish_deferred(x0)
    model._check_compiled()
    out_labels = list(model.metrics_names)
    callback_metrics = out_labels + (['val_' + n for n in out_labels] if do_validation else [])
    cb = make_callbacks(model, callbacks,
                        {'epochs': epochs, 'steps': steps_per_epoch, 'verbose': verbose,
                         'do_validation': do_validation, 'metrics': callback_metrics},
                        verbose, 'steps')
    # As in fit, callbacks see the validation arrays (x + y + sample weights [+ phase]).
    val_ins = None
    if val_arrays is not None:
        vx, vy, vsw = model._standardize_user_data(
            val_arrays[0], val_arrays[1],
            sample_weight=val_arrays[2] if len(val_arrays) == 3 else None,
            where='fit_generator (validation_data)')
        val_ins = vx + vy + vsw + model._lp(0)
    for c in cb:
        c.validation_data = val_ins
    model.stop_training = False
    cb.on_train_begin()
    pending = first
    for epoch in range(initial_epoch, epochs):
        cb.on_epoch_begin(epoch)
        epoch_logs = {}
        for step in range(steps_per_epoch):
            batch = pending if pending is not None else batches.next()
            pending = None
            x, y, sw = _unpack(batch)
            batch_logs = {'batch': step, 'size': _batch_size(x)}
            cb.on_batch_begin(step, batch_logs)
            outs = to_list(model.train_on_batch(x, y, sample_weight=sw,
                                                class_weight=class_weight))
            for label, o in zip(out_labels, outs):
                batch_logs[label] = o
            cb.on_batch_end(step, batch_logs)
            if model.stop_training:
                break
        if do_validation and not model.stop_training:
            if val_gen:
                steps = validation_steps
                if dist is not None and user_validation_steps is None:
                    steps = None    # a Sequence split over the ranks
                val_outs = evaluate_generator(model, validation_data, steps)
            else:
                vx, vy = val_arrays[0], val_arrays[1]
                vsw = val_arrays[2] if len(val_arrays) == 3 else None
                val_outs = model.evaluate(vx, vy, sample_weight=vsw, verbose=0)
            for label, o in zip(out_labels, to_list(val_outs)):
                epoch_logs['val_' + label] = o
        batches.epoch_end()
        cb.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    cb.on_train_end()
    return model.history


def evaluate_generator(model, generator, steps=None, verbose=0, max_queue_size=10, workers=0,
                       use_multiprocessing=False):
    """The loop of ``Model.evaluate_generator``: outputs averaged weighted by batch size
    (``workers`` as in ``fit_generator``)."""
    dist = _strategy(model)
    batches = _Batches(generator, dist=dist, workers=workers,
                       use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size)
    try:
        return _evaluate_loop(model, batches, steps, verbose, dist)
    finally:
        batches.close()


def _evaluate_loop(model, batches, steps, verbose, dist):
    if steps is None:
        if batches.sequence:
            steps = len(batches)
        else:
            raise ValueError("`steps=None` is only valid for a generator based on the "
                             "graphc.utils.Sequence class. Please specify `steps` or use the "
                             "Sequence class.")
    if dist is not None:
        dist.ensure_synced(model)
    progbar = Progbar(target=steps) if verbose == 1 and (dist is None or dist.is_root) \
        else None
    all_outs, sizes = [], []
    for step in range(steps):
        x, y, sw = _unpack(batches.next())
        outs = model.test_on_batch(x, y, sample_weight=sw)
        all_outs.append(to_list(outs))
        sizes.append(_batch_size(x))
        if progbar:
            progbar.update(step + 1)
    batches.epoch_end()
    if not all_outs:
        raise ValueError("evaluate_generator drew no batches (steps=0)")
    if dist is not None:   # each rank read its own batches: reduce the weighted sums
        sums = np.asarray(all_outs, dtype=np.float64).T @ np.asarray(sizes, dtype=np.float64)
        sums, count = dist.reduce_weighted(sums, float(sum(sizes)),
                                           what='the evaluation reduction',
                                           name='evaluate_generator')
        return unpack_singleton([float(v / count) for v in sums])
    averages = [float(np.average([o[i] for o in all_outs], weights=sizes))
                for i in range(len(all_outs[0]))]
    return unpack_singleton(averages)


def predict_generator(model, generator, steps=None, verbose=0, max_queue_size=10, workers=0,
                      use_multiprocessing=False):
    """The loop of ``Model.predict_generator``: outputs concatenated over batches. A batch may
    be ``x`` alone or a tuple ``(x, y[, sample_weight])`` whose ``x`` is used (``workers`` as
    in ``fit_generator``)."""
    batches = _Batches(generator, workers=workers, use_multiprocessing=use_multiprocessing,
                       max_queue_size=max_queue_size)
    try:
        return _predict_loop(model, batches, steps, verbose)
    finally:
        batches.close()


def _predict_loop(model, batches, steps, verbose):
    if steps is None:
        if batches.sequence:
            steps = len(batches)
        else:
            raise ValueError("`steps=None` is only valid for a generator based on the "
                             "graphc.utils.Sequence class. Please specify `steps` or use the "
                             "Sequence class.")
    progbar = Progbar(target=steps) if verbose == 1 else None
    chunks = []
    for step in range(steps):
        batch = batches.next()
        x = batch[0] if isinstance(batch, tuple) and len(batch) in (2, 3) else batch
        chunks.append(to_list(model.predict_on_batch(x)))
        if progbar:
            progbar.update(step + 1)
    batches.epoch_end()
    if not chunks:
        return []
    return unpack_singleton([np.concatenate([c[i] for c in chunks])
                             for i in range(len(chunks[0]))])
