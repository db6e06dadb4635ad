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


def _tensorboardx():
    try:
        import tensorboardX
    except ImportError as e:
        raise ImportError("The TensorBoard callback writes its event files with the "
                          "tensorboardX package, which is not installed: "
                          "pip install 'graphc[tensorboard]' (or pip install tensorboardX)"
                          ) from e
    return tensorboardX


def _tb_tag(name):
    # TensorBoard tags as Keras 2 wrote them: 'dense_1/kernel:0' -> 'dense_1/kernel_0'
    return name.replace(':', '_')


def _weight_image(w):
    """A 2-D grayscale image in [0, 1] of a weight array, or None for more than 4 axes.

    A bias is one row; a Dense kernel is shown wider than tall (transposed when it has more
    rows than columns); a Conv2D kernel ``(kh, kw, in, out)`` is a grid of ``kh x kw`` blocks,
    one row per input channel and one column per filter, and a Conv1D kernel ``(k, in, out)``
    the same grid of ``k x 1`` blocks. Blocks are separated by one pixel of the minimum.
    """
    w = np.asarray(w, dtype='float64')
    if w.ndim == 0:
        w = w.reshape(1, 1)
    if w.ndim == 1:
        img = w.reshape(1, -1)
    elif w.ndim == 2:
        img = w.T if w.shape[0] > w.shape[1] else w
    elif w.ndim in (3, 4):
        if w.ndim == 3:
            w = w[:, :, None, :].transpose(0, 2, 1, 3)      # (k, 1, in, out)
        kh, kw, cin, cout = w.shape
        lo, hi = float(w.min()), float(w.max())
        img = np.full((cin * (kh + 1) - 1, cout * (kw + 1) - 1), np.nan)
        for i in range(cin):
            for o in range(cout):
                img[i * (kh + 1):i * (kh + 1) + kh, o * (kw + 1):o * (kw + 1) + kw] = \
                    w[:, :, i, o]
        img = np.where(np.isnan(img), lo, img)
        return _normalise_image(img, lo, hi)
    else:
        return None
    return _normalise_image(img, float(img.min()), float(img.max()))


def _normalise_image(img, lo, hi):
    if not np.isfinite(lo) or not np.isfinite(hi):
        img = np.nan_to_num(img, nan=0., posinf=0., neginf=0.)
        lo, hi = float(img.min()), float(img.max())
    if hi <= lo:
        return np.full(img.shape, 0.5, dtype='float32')
    return ((img - lo) / (hi - lo)).astype('float32')


def _shape_attr(pb, shapes):
    """The ``_output_shapes`` attribute TensorBoard's graph view shows (-1: unknown dim)."""
    dims = [pb['TensorShapeProto'](dim=[pb['TensorShapeProto'].Dim(
        size=d if isinstance(d, int) else -1) for d in shape]) for shape in shapes]
    return pb['AttrValue'](list=pb['AttrValue'].ListValue(shape=dims))


def _ir_graph_def(graph):
    """A TensorBoard ``GraphDef`` of a graphc IR graph: one node per IR node, named by its
    value name (``layer scope/op_id``, so the graph view groups nodes by layer), its op, its
    inputs, output shapes, dtype, attributes and the user's source line; an ``Assign`` node
    per variable update. Built with tensorboardX's protobuf classes."""
    from tensorboardX.proto.attr_value_pb2 import AttrValue
    from tensorboardX.proto.graph_pb2 import GraphDef
    from tensorboardX.proto.node_def_pb2 import NodeDef
    from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboardX.proto.versions_pb2 import VersionDef
    pb = {'AttrValue': AttrValue, 'TensorShapeProto': TensorShapeProto}
    names, used = {}, set()

    def unique(name):
        name = name.replace(':', '_') or 'node'
        base, k = name, 1
        while name in used:
            name = f'{base}_{k}'
            k += 1
        used.add(name)
        return name

    def ref(value):
        name = names[value.node.id]
        return f'{name}:{value.index}' if value.index else name

    ops = {'input': 'Placeholder', 'variable': 'VariableV2', 'constant': 'Const'}
    nodes = []
    for node in graph.nodes():
        out = node.outputs[0]
        names[node.id] = unique(out.name.split(':')[0])
        attr = {'_output_shapes': _shape_attr(pb, [v.type.shape for v in node.outputs]),
                'dtype': AttrValue(s=str(out.type.dtype).encode())}
        for key, value in node.attrs.items():
            if key not in ('var', 'value', 'name'):
                attr[key] = AttrValue(s=repr(value)[:200].encode())
        if node.src:
            attr['_source'] = AttrValue(s=str(node.src).encode())
        nodes.append(NodeDef(name=names[node.id], op=ops.get(node.op, node.op),
                             input=[ref(v) for v in node.inputs], attr=attr))
    for var, new in graph.updates:
        nodes.append(NodeDef(name=unique(names[var.node.id] + '/update'), op='Assign',
                             input=[ref(var), ref(new)],
                             attr={'_output_shapes': _shape_attr(pb, [var.type.shape])}))
    return GraphDef(node=nodes, versions=VersionDef(producer=22))


class TensorBoard(Callback):
    """Write TensorBoard logs (Keras 2's ``keras.callbacks.TensorBoard``).

    Writes real TensorBoard event files in ``log_dir`` (through the tensorboardX writer
    library: ``pip install 'graphc[tensorboard]'``), which ``tensorboard --logdir=log_dir``
    shows:

    * Scalars: every entry of the epoch logs (``loss``, ``acc``, ``val_loss`` ...), at step
      ``epoch`` -- or, with ``update_freq`` 'batch' or N, the batch logs every batch / every N
      samples and the epoch logs, all at step "samples seen so far" (as Keras 2.2.4 does).
    * Histograms (every ``histogram_freq`` epochs, on the validation data): each weight
      (tag ``dense_1/kernel``), each layer's output (``dense_1_out``) and, with
      ``write_grads``, each weight's gradient of the loss (``dense_1/kernel_grad``),
      averaged over the validation batches.
    * Graphs: the model's training step as graphc's IR (nodes grouped by layer; the forward
      and loss graph when ``fit`` has not built the training step), and the layer graph as
      the "conceptual graph" (the model's JSON config).
    * Images (with ``write_images``, every ``histogram_freq`` epochs): each weight as a
      grayscale image (Dense kernels, biases, Conv1D / Conv2D kernels as grids of filters).
    * Projector (every ``embeddings_freq`` epochs): the outputs of ``embeddings_layer_names``
      (default: every ``Embedding`` layer) on ``embeddings_data``, one row per sample, with
      the labels of ``embeddings_metadata``.

    Args:
        log_dir: the directory of the event files.
        histogram_freq: epochs between histograms (0: none); needs validation data.
        batch_size: samples per step when computing the histograms and the embeddings.
        write_graph: write the graphs.
        write_grads: also histograms of the gradients (needs ``histogram_freq`` > 0).
        write_images: weights as images.
        embeddings_freq: epochs between embedding snapshots (0: none).
        embeddings_layer_names: the layers whose outputs are embedded (default: every
            ``Embedding`` layer).
        embeddings_metadata: a metadata file (TSV: one label per line, or a header line and
            tab-separated columns) for every embedded layer, or a dict layer name -> file.
        embeddings_data: the input(s) whose layer outputs are embedded.
        update_freq: 'epoch', 'batch', or an integer number of samples between writes.

    Example:
        >>> tb = TensorBoard(log_dir='./logs', histogram_freq=1, write_grads=True)
        >>> model.fit(x, y, validation_split=0.2, epochs=5, callbacks=[tb])
    """

    def __init__(self, log_dir='./logs', histogram_freq=0, batch_size=32, write_graph=True,
                 write_grads=False, write_images=False, embeddings_freq=0,
                 embeddings_layer_names=None, embeddings_metadata=None, embeddings_data=None,
                 update_freq='epoch'):
        super().__init__()
        _tensorboardx()             # fail early, naming the extra; not kept (deepcopy-able)
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = int(histogram_freq)
        if self.histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be >= 0, got {histogram_freq}")
        if write_grads and self.histogram_freq == 0:
            warnings.warn("TensorBoard: write_grads will be ignored because histogram_freq "
                          "is 0; set histogram_freq > 0 to write gradient histograms")
            write_grads = False
        self.batch_size = int(batch_size)
        if self.batch_size < 1:
            raise ValueError(f"TensorBoard: batch_size must be >= 1, got {batch_size}")
        self.write_graph = write_graph
        self.write_grads = write_grads
        self.write_images = write_images
        self.embeddings_freq = int(embeddings_freq)
        self.embeddings_layer_names = embeddings_layer_names
        self.embeddings_metadata = embeddings_metadata
        self.embeddings_data = embeddings_data
        if self.embeddings_freq and embeddings_data is None:
            raise ValueError("TensorBoard: to visualize embeddings, embeddings_data must be "
                             "provided")
        if update_freq == 'batch':
            self.update_freq = 1
        elif update_freq == 'epoch':
            self.update_freq = 'epoch'
        elif isinstance(update_freq, (int, np.integer)) and not isinstance(update_freq, bool) \
                and update_freq > 0:
            self.update_freq = int(update_freq)
        else:
            raise ValueError(f"TensorBoard: update_freq must be 'batch', 'epoch' or a "
                             f"positive number of samples, got {update_freq!r}")
        self.writer = None
        self.samples_seen = 0
        self.samples_seen_at_last_write = 0
        self._hist_fn = None
        self._hist_fn_model = None
        self._embed_fn = None

    # -- setup -------------------------------------------------------------------------------
    def set_model(self, model):
        super().set_model(model)
        if self.writer is not None:
            self.writer.close()
        self.writer = _tensorboardx().SummaryWriter(logdir=self.log_dir)
        self._hist_fn = self._embed_fn = None
        if self.write_graph:
            self._write_graphs(model)
            self.writer.flush()

    def _write_graphs(self, model):
        from tensorboardX.proto import event_pb2
        from .ir.graph import Graph
        function = getattr(model, '_train_function', None)
        if function is not None:
            graph = function.graph
        elif getattr(model, 'total_loss', None) is not None:
            graph = Graph(model._feeds(), [model.total_loss] + list(model.outputs))
        else:
            graph = Graph(list(model.inputs), list(model.outputs))
        file_writer = self.writer._get_file_writer()
        file_writer.add_event(event_pb2.Event(
            graph_def=_ir_graph_def(graph).SerializeToString()))
        to_json = getattr(model, 'to_json', None)
        if to_json is None:
            return
        try:
            config = to_json()
        except (NotImplementedError, TypeError, ValueError):
            return      # a model with an unserializable layer: the IR graph is still there
        from tensorboardX.proto import summary_pb2, tensor_pb2, tensor_shape_pb2
        # The "conceptual graph": TensorBoard's graph plugin draws the layers of a Keras
        # model config stored as a string tensor under plugin 'graph_keras_model'.
        metadata = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(
                plugin_name='graph_keras_model', content=b'1'))
        tensor = tensor_pb2.TensorProto(dtype='DT_STRING', string_val=[config.encode()],
                                        tensor_shape=tensor_shape_pb2.TensorShapeProto())
        file_writer.add_summary(summary_pb2.Summary(value=[summary_pb2.Summary.Value(
            tag='keras', metadata=metadata, tensor=tensor)]), global_step=0)

    def on_train_begin(self, logs=None):
        self.samples_seen = 0
        self.samples_seen_at_last_write = 0

    # -- scalars -----------------------------------------------------------------------------
    def _write_logs(self, logs, index):
        for name, value in (logs or {}).items():
            if name in ('batch', 'size'):
                continue
            if np.ndim(value) != 0 and np.size(value) != 1:
                continue        # a non-scalar metric has no scalar plot
            self.writer.add_scalar(name, float(np.asarray(value).reshape(())), int(index))
        self.writer.flush()

    def on_batch_end(self, batch, logs=None):
        if self.update_freq == 'epoch':
            return
        logs = logs or {}
        self.samples_seen += int(logs.get('size', 1))
        if self.samples_seen - self.samples_seen_at_last_write >= self.update_freq:
            self._write_logs(logs, self.samples_seen)
            self.samples_seen_at_last_write = self.samples_seen

    def on_epoch_end(self, epoch, logs=None):
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            if not self.validation_data:
                raise ValueError("If printing histograms, validation_data must be provided "
                                 "(validation_data or validation_split in fit), and cannot "
                                 "be a generator.")
            self._write_histograms(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self._write_embeddings(epoch)
        index = epoch if self.update_freq == 'epoch' else self.samples_seen
        self._write_logs(logs, index)

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.close()

    # -- histograms and images ---------------------------------------------------------------
    def _feeds_with_phase(self):
        feeds = list(self.model._feeds())
        if self.model._uses_dynamic_learning_phase():
            feeds.append(K.learning_phase())
        return feeds

    def _histogram_function(self):
        """One K.function from the test feeds to the layer outputs (and the gradients of
        the loss with respect to the trainable weights, with write_grads), built once."""
        if self._hist_fn is None or self._hist_fn_model is not self.model:
            outputs, self._hist_tags = [], []
            for layer in self.model.layers:
                try:
                    out = layer.output
                except (AttributeError, ValueError, RuntimeError):
                    continue        # a shared layer has no single output
                if isinstance(out, (list, tuple)):
                    tagged = [(f'{layer.name}_out_{j}', t) for j, t in enumerate(out)]
                else:
                    tagged = [(f'{layer.name}_out', out)]
                for tag, tensor in tagged:
                    outputs.append(tensor)
                    self._hist_tags.append(('all', tag))
            if self.write_grads:
                weights = list(self.model.trainable_weights)
                grads = K.gradients(self.model.total_loss, weights)
                for w, g in zip(weights, grads):
                    outputs.append(g)
                    self._hist_tags.append(('mean', f'{_tb_tag(w.name)}_grad'))
            self._hist_fn = K.function(self._feeds_with_phase(), outputs,
                                       name='tensorboard_histograms') if outputs else None
            self._hist_fn_model = self.model
        return self._hist_fn

    def _write_histograms(self, epoch):
        for layer in self.model.layers:
            for weight, value in zip(layer.weights, layer.get_weights()):
                tag = _tb_tag(weight.name)
                self.writer.add_histogram(tag, value, epoch)
                if self.write_images:
                    img = _weight_image(value)
                    if img is not None:
                        self.writer.add_image(f'{tag}/image', img, epoch, dataformats='HW')
        fn = self._histogram_function()
        if fn is None:
            return
        n_feeds = len(self.model._feeds())
        data = list(self.validation_data)
        arrays, rest = data[:n_feeds], data[n_feeds:]
        n = arrays[0].shape[0]
        collected = [[] for _ in self._hist_tags]
        for start in range(0, n, self.batch_size):
            batch = [a[start:start + self.batch_size] for a in arrays] + rest
            size = batch[0].shape[0]
            for k, value in enumerate(fn(batch)):
                collected[k].append((np.asarray(value), size))
        for (kind, tag), parts in zip(self._hist_tags, collected):
            if kind == 'mean':      # gradients: the sample-weighted mean over the batches
                value = sum(v * s for v, s in parts) / max(1, n)
            else:                   # layer outputs: every validation sample
                value = np.concatenate([v for v, _ in parts], axis=0)
            self.writer.add_histogram(tag, value, epoch)
        self.writer.flush()

    # -- embeddings --------------------------------------------------------------------------
    def _embedding_layers(self):
        from .layers import Embedding
        names = self.embeddings_layer_names
        if names is None:
            layers = [l for l in self.model.layers if isinstance(l, Embedding)]
        else:
            by_name = {l.name: l for l in self.model.layers}
            unknown = [n for n in names if n not in by_name]
            if unknown:
                raise ValueError(f"TensorBoard: embeddings_layer_names {unknown} are not "
                                 f"layers of the model; its layers are {sorted(by_name)}")
            layers = [by_name[n] for n in names]
        if not layers:
            raise ValueError("TensorBoard: embeddings_freq is set but the model has no "
                             "Embedding layer; name the layers in embeddings_layer_names")
        return layers

    def _metadata_for(self, layer_name):
        meta = self.embeddings_metadata
        path = meta.get(layer_name) if isinstance(meta, dict) else meta
        if path is None:
            return None, None
        with open(path, encoding='utf-8') as f:
            lines = f.read().splitlines()
        if lines and '\t' in lines[0]:     # several columns: the first line is the header
            return [line.split('\t') for line in lines[1:]], lines[0].split('\t')
        return lines, None

    def _write_embeddings(self, epoch):
        from .utils.generic_utils import to_list
        layers = self._embedding_layers()
        inputs = [np.asarray(a) for a in to_list(self.embeddings_data)]
        if self._embed_fn is None:
            feeds = list(self.model.inputs)
            if self.model._uses_dynamic_learning_phase():
                feeds.append(K.learning_phase())
            self._embed_fn = K.function(feeds, [l.output for l in layers],
                                        name='tensorboard_embeddings')
        phase = [np.asarray(False)] if self.model._uses_dynamic_learning_phase() else []
        n = inputs[0].shape[0]
        parts = [[] for _ in layers]
        for start in range(0, n, self.batch_size):
            outs = self._embed_fn([a[start:start + self.batch_size] for a in inputs] + phase)
            for k, out in enumerate(outs):
                parts[k].append(np.asarray(out).reshape(np.shape(out)[0], -1))
        for layer, chunks in zip(layers, parts):
            matrix = np.concatenate(chunks, axis=0)
            labels, header = self._metadata_for(layer.name)
            if labels is not None and len(labels) != matrix.shape[0]:
                raise ValueError(f"TensorBoard: the metadata of layer {layer.name} has "
                                 f"{len(labels)} rows but embeddings_data has "
                                 f"{matrix.shape[0]} samples")
            self.writer.add_embedding(matrix, metadata=labels, metadata_header=header,
                                      tag=layer.name, global_step=epoch)
