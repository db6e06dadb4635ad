"""Callbacks: hooks into ``fit`` / ``evaluate`` (Keras 2 ``keras.callbacks``).

A callback subclasses ``Callback`` and overrides any of ``on_train_begin / end``,
``on_epoch_begin / end(epoch, logs)``, ``on_batch_begin / end(batch, logs)``. ``fit`` gives
each callback ``self.model`` and ``self.params``; setting ``model.stop_training = True`` ends
training after the current batch or epoch.

Example:
    >>> early = EarlyStopping(monitor='val_loss', patience=2, restore_best_weights=True)
    >>> model.fit(x, y, validation_split=0.2, callbacks=[early])
"""
from __future__ import annotations

import collections
import csv
import io
import os
import warnings

import numpy as np

from . import backend as K
from .config import atomic_write_text
from .utils.generic_utils import Progbar


class CallbackList:
    """A list of callbacks called together."""

    def __init__(self, callbacks=None):
        self.callbacks = list(callbacks or [])

    def append(self, callback):
        self.callbacks.append(callback)

    def set_params(self, params):
        for c in self.callbacks:
            c.set_params(params)

    def set_model(self, model):
        for c in self.callbacks:
            c.set_model(model)

    def on_epoch_begin(self, epoch, logs=None):
        for c in self.callbacks:
            c.on_epoch_begin(epoch, logs if logs is not None else {})

    def on_epoch_end(self, epoch, logs=None):
        for c in self.callbacks:
            c.on_epoch_end(epoch, logs if logs is not None else {})

    def on_batch_begin(self, batch, logs=None):
        for c in self.callbacks:
            c.on_batch_begin(batch, logs if logs is not None else {})

    def on_batch_end(self, batch, logs=None):
        for c in self.callbacks:
            c.on_batch_end(batch, logs if logs is not None else {})

    def on_train_begin(self, logs=None):
        for c in self.callbacks:
            c.on_train_begin(logs if logs is not None else {})

    def on_train_end(self, logs=None):
        for c in self.callbacks:
            c.on_train_end(logs if logs is not None else {})

    def __iter__(self):
        return iter(self.callbacks)


class Callback:
    """Base class of callbacks; every hook does nothing by default.

    Attributes:
        params: dict with 'batch_size', 'epochs', 'steps', 'samples', 'verbose',
            'do_validation', 'metrics'.
        model: the model being trained.
    """

    def __init__(self):
        self.validation_data = None
        self.model = None
        self.params = {}

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self.model = model

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass


class BaseLogger(Callback):
    """Averages the batch metrics over each epoch (weighted by batch size) into the epoch
    logs. Added to every ``fit`` automatically.

    Args:
        stateful_metrics: metric names taken as last reported, not averaged.
    """

    def __init__(self, stateful_metrics=None):
        super().__init__()
        self.stateful_metrics = set(stateful_metrics or [])

    def on_epoch_begin(self, epoch, logs=None):
        self.seen = 0
        self.totals = {}

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        batch_size = logs.get('size', 0)
        self.seen += batch_size
        for k, v in logs.items():
            if k in ('batch', 'size'):
                continue
            if k in self.stateful_metrics:
                self.totals[k] = v
            elif k in self.totals:
                self.totals[k] += v * batch_size
            else:
                self.totals[k] = v * batch_size

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        for k in self.params.get('metrics', []):
            if k in self.totals:
                if k in self.stateful_metrics:
                    logs[k] = self.totals[k]
                else:
                    logs[k] = float(np.mean(self.totals[k] / max(1, self.seen)))


class TerminateOnNaN(Callback):
    """Stops training when the loss becomes NaN or infinite (and says so)."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get('loss')
        if loss is not None and not np.all(np.isfinite(loss)):
            print(f'Batch {batch}: Invalid loss, terminating training')
            self.model.stop_training = True


class ProgbarLogger(Callback):
    """Prints the progress bar and metrics during ``fit`` (added when verbose > 0).

    Args:
        count_mode: 'samples' or 'steps' (what the bar counts).
        stateful_metrics: metric names shown as last reported.
    """

    def __init__(self, count_mode='samples', stateful_metrics=None):
        super().__init__()
        if count_mode not in ('samples', 'steps'):
            raise ValueError(f"Unknown `count_mode`: {count_mode!r}; valid: 'samples', 'steps'")
        self.use_steps = count_mode == 'steps'
        self.stateful_metrics = set(stateful_metrics or [])

    def on_train_begin(self, logs=None):
        self.verbose = self.params['verbose']
        self.epochs = self.params['epochs']

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose:
            print(f'Epoch {epoch + 1}/{self.epochs}')
            self.target = self.params['steps'] if self.use_steps else self.params['samples']
            self.progbar = Progbar(target=self.target, verbose=self.verbose,
                                   stateful_metrics=self.stateful_metrics)
        self.seen = 0
        self.log_values = []

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        self.seen += 1 if self.use_steps else logs.get('size', 0)
        self.log_values = [(k, logs[k]) for k in self.params['metrics'] if k in logs]
        # The epoch's last batch is drawn at epoch end, with the validation figures.
        if self.verbose and self.target is not None and self.seen < self.target:
            self.progbar.update(self.seen, self.log_values)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        for k in self.params['metrics']:
            if k in logs and k.startswith('val_'):
                self.log_values.append((k, logs[k]))
        if self.verbose:
            self.progbar.update(self.seen, self.log_values, finalize=True)


class History(Callback):
    """Records the epoch logs: ``history.history['loss']`` is the list of epoch losses and
    ``history.epoch`` the epoch numbers. ``fit`` returns it."""

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)


def _monitor_op(mode, monitor, name):
    if mode not in ('auto', 'min', 'max'):
        warnings.warn(f"{name} mode {mode!r} is unknown, fallback to auto mode.")
        mode = 'auto'
    if mode == 'min':
        return np.less
    if mode == 'max':
        return np.greater
    return np.greater if ('acc' in monitor or monitor.startswith('fmeasure')) else np.less


class ModelCheckpoint(Callback):
    """Save the model (or only its weights) after every ``period`` epochs.

    Args:
        filepath: a path, possibly a template filled from the epoch logs, e.g.
            ``'weights.{epoch:02d}-{val_loss:.2f}.hdf5'`` (``epoch`` counts from 1).
        monitor: the quantity compared with ``save_best_only``.
        verbose: 1 prints a line per save.
        save_best_only: save only when ``monitor`` improved (the file then holds the best).
        save_weights_only: ``model.save_weights`` instead of ``model.save``.
        mode: 'auto', 'min' or 'max' (auto: max for accuracies, else min).
        period: epochs between checkpoints.
    """

    def __init__(self, filepath, monitor='val_loss', verbose=0, save_best_only=False,
                 save_weights_only=False, mode='auto', period=1):
        super().__init__()
        self.monitor = monitor
        self.verbose = verbose
        self.filepath = filepath
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.period = period
        self.epochs_since_last_save = 0
        self.monitor_op = _monitor_op(mode, monitor, 'ModelCheckpoint')
        self.best = np.inf if self.monitor_op is np.less else -np.inf

    def _save(self, filepath):
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epochs_since_last_save += 1
        if self.epochs_since_last_save < self.period:
            return
        self.epochs_since_last_save = 0
        try:
            filepath = self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as e:
            raise KeyError(f"ModelCheckpoint: the file name template {self.filepath!r} names "
                           f"{e}, which is not in the epoch logs {sorted(logs)}") from None
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"Can save best model only with {self.monitor} available, "
                              f"skipping.", RuntimeWarning)
                return
            if self.monitor_op(current, self.best):
                if self.verbose > 0:
                    print(f'\nEpoch {epoch + 1:05d}: {self.monitor} improved from '
                          f'{self.best:0.5f} to {current:0.5f}, saving model to {filepath}')
                self.best = current
                self._save(filepath)
            elif self.verbose > 0:
                print(f'\nEpoch {epoch + 1:05d}: {self.monitor} did not improve from '
                      f'{self.best:0.5f}')
        else:
            if self.verbose > 0:
                print(f'\nEpoch {epoch + 1:05d}: saving model to {filepath}')
            self._save(filepath)


class EarlyStopping(Callback):
    """Stop training when a monitored quantity has stopped improving.

    Args:
        monitor: the quantity to watch (e.g. 'val_loss').
        min_delta: the smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        verbose: 1 prints when it stops.
        mode: 'auto', 'min' or 'max'.
        baseline: stop if the quantity does not improve on this value.
        restore_best_weights: on stopping, put back the weights of the best epoch.
    """

    def __init__(self, monitor='val_loss', min_delta=0, patience=0, verbose=0, mode='auto',
                 baseline=None, restore_best_weights=False):
        super().__init__()
        self.monitor = monitor
        self.baseline = baseline
        self.patience = patience
        self.verbose = verbose
        self.min_delta = abs(min_delta)
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.monitor_op = _monitor_op(mode, monitor, 'EarlyStopping')
        if self.monitor_op is np.less:
            self.min_delta *= -1

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        if self.baseline is not None:
            self.best = self.baseline
        else:
            self.best = np.inf if self.monitor_op is np.less else -np.inf
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs or {})}",
                          RuntimeWarning)
            return
        if self.monitor_op(current - self.min_delta, self.best):
            self.best = current
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True
                if self.restore_best_weights and self.best_weights is not None:
                    if self.verbose > 0:
                        print('Restoring model weights from the end of the best epoch')
                    self.model.set_weights(self.best_weights)

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f'Epoch {self.stopped_epoch + 1:05d}: early stopping')


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of each epoch.

    Args:
        schedule: ``schedule(epoch)`` or ``schedule(epoch, lr)`` -> new learning rate
            (epoch counts from 0).
        verbose: 1 prints the new rate.
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        if not hasattr(self.model.optimizer, 'lr'):
            raise ValueError('Optimizer must have a "lr" attribute.')
        lr = float(K.get_value(self.model.optimizer.lr))
        try:
            lr = self.schedule(epoch, lr)
        except TypeError:  # old-style schedule(epoch)
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.floating, int, np.integer)):
            raise ValueError(f'The output of the "schedule" function should be a float, got '
                             f'{lr!r}')
        K.set_value(self.model.optimizer.lr, lr)
        if self.verbose > 0:
            print(f'\nEpoch {epoch + 1:05d}: LearningRateScheduler setting learning rate to '
                  f'{lr}.')

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs['lr'] = float(K.get_value(self.model.optimizer.lr))


class ReduceLROnPlateau(Callback):
    """Reduce the learning rate when a metric has stopped improving.

    Args:
        monitor: the quantity to watch.
        factor: new_lr = lr * factor (must be < 1).
        patience: epochs without improvement before reducing.
        verbose: 1 prints each reduction.
        mode: 'auto', 'min' or 'max'.
        min_delta: the smallest change that counts as an improvement.
        cooldown: epochs to wait after a reduction before watching again.
        min_lr: lower bound of the learning rate.
    """

    def __init__(self, monitor='val_loss', factor=0.1, patience=10, verbose=0, mode='auto',
                 min_delta=1e-4, cooldown=0, min_lr=0, **kwargs):
        super().__init__()
        if 'epsilon' in kwargs:
            min_delta = kwargs.pop('epsilon')
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unknown argument(s) {sorted(kwargs)}")
        if factor >= 1.0:
            raise ValueError('ReduceLROnPlateau does not support a factor >= 1.0.')
        self.monitor = monitor
        self.factor = factor
        self.min_lr = min_lr
        self.min_delta = min_delta
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.mode = mode
        self._reset()

    def _reset(self):
        if self.mode not in ('auto', 'min', 'max'):
            warnings.warn(f'Learning Rate Plateau Reducing mode {self.mode} is unknown, '
                          f'fallback to auto mode.', RuntimeWarning)
            self.mode = 'auto'
        if self.mode == 'min' or (self.mode == 'auto' and 'acc' not in self.monitor):
            self.monitor_op = lambda a, b: np.less(a, b - self.min_delta)
            self.best = np.inf
        else:
            self.monitor_op = lambda a, b: np.greater(a, b + self.min_delta)
            self.best = -np.inf
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs['lr'] = float(K.get_value(self.model.optimizer.lr))
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Reduce LR on plateau conditioned on metric `{self.monitor}` which "
                          f"is not available. Available metrics are: {','.join(logs)}",
                          RuntimeWarning)
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(K.get_value(self.model.optimizer.lr))
                if old_lr > self.min_lr:
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    K.set_value(self.model.optimizer.lr, new_lr)
                    if self.verbose > 0:
                        print(f'\nEpoch {epoch + 1:05d}: ReduceLROnPlateau reducing learning '
                              f'rate to {new_lr}.')
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class CSVLogger(Callback):
    """Write the epoch logs to a CSV file, one row per epoch.

    Args:
        filename: the CSV file.
        separator: the field separator.
        append: add to an existing file (its header is kept) instead of replacing it.
    """

    def __init__(self, filename, separator=',', append=False):
        super().__init__()
        self.sep = separator
        self.filename = filename
        self.append = append
        self.keys = None
        self._text = ''

    def on_train_begin(self, logs=None):
        self.keys = None
        self._text = ''
        if self.append and os.path.exists(self.filename):
            with open(self.filename) as f:
                self._text = f.read()
            if self._text and not self._text.endswith('\n'):
                self._text += '\n'
            first = self._text.splitlines()[0] if self._text else ''
            if first:
                self.keys = first.split(self.sep)[1:]

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}

        def fmt(v):
            if isinstance(v, str):
                return v
            if np.ndim(v) == 0:
                return repr(float(v))
            return '"[%s]"' % ', '.join(str(float(x)) for x in np.ravel(v))

        write_header = self.keys is None
        if self.keys is None:
            self.keys = sorted(logs)
        if self.model is not None and self.model.stop_training:
            logs = dict((k, logs.get(k, 'NA')) for k in self.keys)
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=self.sep, lineterminator='\n',
                            quoting=csv.QUOTE_MINIMAL)
        if write_header:
            writer.writerow(['epoch'] + self.keys)
        writer.writerow([epoch] + [fmt(logs.get(k, 'NA')) for k in self.keys])
        self._text += buf.getvalue()
        atomic_write_text(self.filename, self._text)

    def on_train_end(self, logs=None):
        pass


class LambdaCallback(Callback):
    """A callback from plain functions.

    Args:
        on_epoch_begin / on_epoch_end: ``f(epoch, logs)``.
        on_batch_begin / on_batch_end: ``f(batch, logs)``.
        on_train_begin / on_train_end: ``f(logs)``.

    Example:
        >>> LambdaCallback(on_epoch_end=lambda epoch, logs: print(logs['loss']))
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_batch_begin=None,
                 on_batch_end=None, on_train_begin=None, on_train_end=None, **kwargs):
        super().__init__()
        self.__dict__.update(kwargs)
        noop2 = lambda a, logs: None  # noqa: E731
        noop1 = lambda logs: None  # noqa: E731
        self.on_epoch_begin = on_epoch_begin or noop2
        self.on_epoch_end = on_epoch_end or noop2
        self.on_batch_begin = on_batch_begin or noop2
        self.on_batch_end = on_batch_end or noop2
        self.on_train_begin = on_train_begin or noop1
        self.on_train_end = on_train_end or noop1


class RemoteMonitor(Callback):
    """Send the epoch logs as JSON to a server (POST ``root + path``).

    Args:
        root: the server's root URL.
        path: the path on the server.
        field: the form field holding the JSON (when ``send_as_json`` is False).
        headers: extra HTTP headers.
        send_as_json: send the logs as the JSON body instead of a form field.
    """

    def __init__(self, root='http://localhost:9000', path='/publish/epoch/end/',
                 field='data', headers=None, send_as_json=False):
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json

    def on_epoch_end(self, epoch, logs=None):
        import json
        import urllib.parse
        import urllib.request
        send = collections.OrderedDict(epoch=epoch)
        for k, v in (logs or {}).items():
            send[k] = float(v) if np.ndim(v) == 0 else np.asarray(v).tolist()
        if self.send_as_json:
            body = json.dumps(send).encode()
            headers = {'Content-Type': 'application/json', **(self.headers or {})}
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode()
            headers = dict(self.headers or {})
        request = urllib.request.Request(self.root + self.path, data=body, headers=headers)
        try:
            urllib.request.urlopen(request, timeout=10).close()
        except OSError as e:
            warnings.warn(f'Warning: could not reach RemoteMonitor root server at '
                          f'{self.root}: {e}')
