"""Model: a Network that can be compiled and trained (Keras 2's ``training.py``).

``compile`` builds the symbolic loss (weighted, masked, plus the layers' regularization
losses) and the metric tensors. The train, test and predict steps are each ONE ``K.function``
(``model.train_function`` / ``test_function`` / ``predict_function``, built on first use):
the training step computes the forward pass, the loss, the gradients and applies the
optimizer's and the layers' updates in a single compiled call. ``fit`` is a Python loop over
batches calling it.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import backend as K
from ..backend.common import fixed_learning_phase
from ..ir.node import name_scope
from ..utils.generic_utils import to_list, unpack_singleton
from ..utils.sparse_utils import densify_all
from . import training_arrays, training_generator
from .network import Network
from .training_utils import (check_array_length_consistency, check_embedding_indices,
                             check_epochs, check_has_samples,
                             check_loss_and_target_compatibility, check_positive_int,
                             check_steps,
                             embedding_feeds, standardize_input_data,
                             standardize_sample_or_class_weights, standardize_weights,
                             warn_non_finite, weighted_masked_objective)

_BATCH_SIZE_HINT = " (the number of samples per step, e.g. 32)"

_ACC_NAMES = ('accuracy', 'acc')
_CE_NAMES = ('crossentropy', 'ce')


def _fn_name(fn):
    return getattr(fn, '__name__', None)


def _is_library_loss(fn):
    """Whether ``fn`` is one of graphc.losses' functions (whose target shapes are known)."""
    from .. import losses
    name = _fn_name(fn)
    return name is not None and getattr(losses, name, None) is fn


def _check_user_loss_target(y, output_shape, fn, output_name):
    """A user's loss takes targets of any size (its placeholder's sizes are unknown), but each
    target axis must match the output's or be 1 (class indices): the compiled step broadcasts
    the target against the output and must not read past the array's end."""
    if output_shape is None or y is None:
        return
    for got, want in zip(y.shape[1:], output_shape[1:]):
        if want is not None and got not in (1, want):
            raise ValueError(f"A target array with shape {y.shape} was passed for output "
                             f"{output_name!r} of shape {tuple(output_shape)} with the loss "
                             f"{_fn_name(fn) or type(fn).__name__}: each axis of the target "
                             f"must have the output's size or size 1 (e.g. class indices for "
                             f"K.sparse_categorical_crossentropy)")


def _collect_metrics(metrics, output_names):
    """One list of metrics per output, from a list (same for all) or a dict by output name."""
    if not metrics:
        return [[] for _ in output_names]
    if isinstance(metrics, dict):
        unknown = sorted(set(metrics) - set(output_names))
        if unknown:
            raise ValueError(f"Unknown entries in the metrics dictionary: {unknown}; only "
                             f"expected the model outputs: {output_names}")
        return [to_list(metrics.get(name, [])) for name in output_names]
    if isinstance(metrics, (list, tuple)):
        return [list(metrics) for _ in output_names]
    raise TypeError(f"Type of `metrics` argument not understood: expected a list or a dict, "
                    f"found {type(metrics).__name__}")


class Model(Network):
    """A functional model: ``Model(inputs, outputs)`` with compile / fit / evaluate / predict.

    Example:
        >>> x = Input(shape=(784,))
        >>> y = Dense(10, activation='softmax')(Dense(64, activation='relu')(x))
        >>> model = Model(inputs=x, outputs=y)
        >>> model.compile(optimizer='rmsprop', loss='categorical_crossentropy',
        ...               metrics=['accuracy'])
        >>> history = model.fit(data, labels, epochs=5)
    """

    # -- compile ------------------------------------------------------------------------------
    def compile(self, optimizer, loss=None, metrics=None, loss_weights=None,
                sample_weight_mode=None, weighted_metrics=None, target_tensors=None,
                **kwargs):
        """Configure the model for training.

        Args:
            optimizer: an optimizer or its name ('sgd', 'Adam', 'rmsprop', ...).
            loss: a loss name or function; a list (one per output) or a dict keyed by output
                name.
            metrics: a list of metric names / functions ('accuracy' is resolved to binary,
                categorical or sparse categorical accuracy from the loss and output shape),
                or a dict keyed by output name.
            loss_weights: a list or a dict of scalar weights of the outputs' losses.
            sample_weight_mode: None (one weight per sample) or 'temporal' (per timestep);
                a list or dict for several outputs.
            weighted_metrics: metrics weighted by sample_weight / class_weight.
            target_tensors: tensors to use as targets instead of fed placeholders.
        Raises:
            ValueError naming the argument and the valid choices.
        """
        if kwargs:
            raise TypeError(f"compile: unknown keyword argument(s) {sorted(kwargs)}")
        from .. import optimizers
        self.optimizer = optimizers.get(optimizer)
        self.loss = loss or {}
        self.metrics = metrics
        self.loss_weights = loss_weights
        self.sample_weight_mode = sample_weight_mode
        self.weighted_metrics = weighted_metrics
        self._compile_args = dict(loss=loss, metrics=metrics, loss_weights=loss_weights,
                                  sample_weight_mode=sample_weight_mode,
                                  weighted_metrics=weighted_metrics,
                                  target_tensors=target_tensors)
        self._compiled = True
        self._train_function = self._test_function = self._predict_function = None
        if not self.built:
            self._compile_pending = True   # Sequential without an input shape: on first data
            return
        self._compile_pending = False
        self._build_training_graph(**self._compile_args)

    def _build_training_graph(self, loss, metrics, loss_weights, sample_weight_mode,
                              weighted_metrics, target_tensors):
        from .. import losses
        n = len(self.outputs)
        names = self.output_names

        # Loss functions, one per output (None: the output is not trained).
        if loss is None or isinstance(loss, dict):
            # No loss at all is a model trained on its add_loss losses only (Keras 2's VAE
            # examples: ``vae.add_loss(vae_loss); vae.compile(optimizer='rmsprop')``).
            loss = loss or {}
            unknown = sorted(set(loss) - set(names))
            if unknown:
                raise ValueError(f"Unknown entries in the loss dictionary: {unknown}. Only "
                                 f"expected the following keys (the model's output names): "
                                 f"{names}")
            if not loss and not self.losses:
                raise ValueError("compile() needs a loss, e.g. loss='mse' or "
                                 "loss='categorical_crossentropy' (or losses added with "
                                 "model.add_loss)")
            if isinstance(loss, dict) and loss and not self.losses and \
                    not any(name in loss for name in names):
                raise ValueError(f"The loss dictionary names no model output; the outputs "
                                 f"are: {names}")
            for name in names:
                if name not in loss:
                    warnings.warn(f'Output "{name}" missing from loss dictionary. We assume '
                                  f'this was done on purpose, and we will not be expecting any '
                                  f'data to be passed to "{name}" during training.',
                                  stacklevel=3)
            loss_fns = [losses.get(loss[name]) if name in loss else None for name in names]
        elif isinstance(loss, (list, tuple)):
            if len(loss) != n:
                raise ValueError(f"When passing a list as loss, it should have one entry per "
                                 f"model output. The model has {n} outputs ({names}), but you "
                                 f"passed loss={list(loss)}")
            loss_fns = [losses.get(x) for x in loss]
        else:
            if not loss:
                raise ValueError("compile() needs a loss, e.g. loss='mse' or "
                                 "loss='categorical_crossentropy'")
            loss_fns = [losses.get(loss) for _ in range(n)]
        self.loss_functions = loss_fns
        skipped = [i for i, f in enumerate(loss_fns) if f is None]
        self._skipped_outputs = skipped

        # Loss weights.
        if loss_weights is None:
            weights = [1.] * n
        elif isinstance(loss_weights, dict):
            unknown = sorted(set(loss_weights) - set(names))
            if unknown:
                raise ValueError(f"Unknown entries in the loss_weights dictionary: {unknown}. "
                                 f"Only expected the model outputs: {names}")
            weights = [float(loss_weights.get(name, 1.)) for name in names]
        elif isinstance(loss_weights, (list, tuple)):
            if len(loss_weights) != n:
                raise ValueError(f"When passing a list as loss_weights, it should have one "
                                 f"entry per model output. The model has {n} outputs, but you "
                                 f"passed loss_weights={list(loss_weights)}")
            weights = [float(w) for w in loss_weights]
        else:
            raise TypeError(f"Could not interpret loss_weights argument: {loss_weights!r}; "
                            f"expected a list or a dict keyed by output name")
        self._loss_weights_list = weights

        # Targets.
        if target_tensors is not None:
            if isinstance(target_tensors, dict):
                target_tensors = [target_tensors.get(name) for name in names]
            target_tensors = to_list(target_tensors, allow_tuple=True)
            if len(target_tensors) != n:
                raise ValueError(f"When passing a list as `target_tensors`, it should have one "
                                 f"entry per model output. The model has {n} outputs, but you "
                                 f"passed {len(target_tensors)} target tensors")
        self.targets, self._unweighted_outputs = [], []
        self._feed_targets, self._feed_output_names = [], []
        self._feed_output_shapes, self._feed_loss_fns = [], []
        self._feed_user_loss_shapes = []     # the output's shape where a user's loss is fed
        for i, (y, name, fn) in enumerate(zip(self.outputs, names, loss_fns)):
            if i in skipped:
                self.targets.append(None)
                continue
            shape = tuple(y._keras_shape) if hasattr(y, '_keras_shape') else K.int_shape(y)
            if _fn_name(fn) == 'sparse_categorical_crossentropy':
                feed_shape = shape[:-1] + (1,)
            elif not _is_library_loss(fn):
                # A user's loss may take targets of any shape (e.g. class indices for
                # K.sparse_categorical_crossentropy): only the rank is known, as in Keras 2.
                feed_shape = (None,) * len(shape)
            else:
                feed_shape = shape
            given = target_tensors[i] if target_tensors is not None else None
            if given is not None and not K.is_placeholder(given):
                target = given             # computed in the graph: nothing to feed, no weights
                self._unweighted_outputs.append(i)
            else:
                target = given if given is not None else K.placeholder(
                    shape=(None,) + tuple(feed_shape[1:]), dtype=y.dtype, name=f'{name}_target')
                self._feed_targets.append(target)
                self._feed_output_names.append(name)
                self._feed_output_shapes.append(feed_shape)
                self._feed_loss_fns.append(fn)
                self._feed_user_loss_shapes.append(None if _is_library_loss(fn) else shape)
            self.targets.append(target)

        # Sample weights.
        if isinstance(sample_weight_mode, dict):
            unknown = sorted(set(sample_weight_mode) - set(names))
            if unknown:
                raise ValueError(f"Unknown entries in sample_weight_mode dictionary: {unknown}. "
                                 f"Only expected the model outputs: {names}")
            modes = [sample_weight_mode.get(name) for name in names]
        elif isinstance(sample_weight_mode, (list, tuple)):
            if len(sample_weight_mode) != n:
                raise ValueError(f"When passing a list as sample_weight_mode, it should have "
                                 f"one entry per model output ({n})")
            modes = list(sample_weight_mode)
        else:
            modes = [sample_weight_mode] * n
        for m in modes:
            if m not in (None, 'temporal'):
                raise ValueError(f"sample_weight_mode must be None or 'temporal', got {m!r}")
        self.sample_weight_modes = modes
        self._feed_sample_weight_modes = []
        self.sample_weights, self._feed_sample_weights = [], []
        for i, (name, mode) in enumerate(zip(names, modes)):
            if i in skipped or i in self._unweighted_outputs:
                self.sample_weights.append(None)
                continue
            shape = (None, None) if mode == 'temporal' else (None,)
            w = K.placeholder(shape=shape, dtype=K.floatx(), name=f'{name}_sample_weights')
            self.sample_weights.append(w)
            self._feed_sample_weights.append(w)
            self._feed_sample_weight_modes.append(mode)

        # The total loss.
        masks = [getattr(y, '_keras_mask', None) for y in self.outputs]
        self.metrics_names = ['loss']
        self.metrics_tensors = []
        self.metrics_updates = []
        self.stateful_metric_names = []
        total = None
        with name_scope('loss'):
            for i, name in enumerate(names):
                if i in skipped:
                    continue
                objective = weighted_masked_objective(loss_fns[i])
                with name_scope(f'{name}_loss'):
                    out_loss = objective(self.targets[i], self.outputs[i],
                                         self.sample_weights[i], masks[i])
                if n > 1:
                    self.metrics_tensors.append(out_loss)
                    self.metrics_names.append(f'{name}_loss')
                term = out_loss if weights[i] == 1. else out_loss * weights[i]
                total = term if total is None else total + term
            if total is None:
                if not self.losses:
                    raise ValueError("The model cannot be compiled because it has no loss to "
                                     "optimize.")
                total = 0.
            for penalty in self.losses:
                total = penalty + total
        self.total_loss = total

        # Metrics.
        nested = _collect_metrics(metrics, names)
        nested_weighted = _collect_metrics(weighted_metrics, names)
        with name_scope('metrics'):
            for i, name in enumerate(names):
                if i in skipped:
                    continue
                self._add_output_metrics(i, nested[i], None, masks[i])
                self._add_output_metrics(i, nested_weighted[i], self.sample_weights[i],
                                         masks[i])
        self._collected_trainable_weights = self.trainable_weights

    def _resolve_metric(self, i, metric):
        from .. import losses
        from .. import metrics as metrics_module
        if metric in _ACC_NAMES or metric in _CE_NAMES:
            shape = self.outputs[i]._keras_shape if hasattr(self.outputs[i], '_keras_shape') \
                else K.int_shape(self.outputs[i])
            loss_name = _fn_name(self.loss_functions[i])
            if shape[-1] == 1 or loss_name == 'binary_crossentropy':
                fn = metrics_module.binary_accuracy if metric in _ACC_NAMES \
                    else losses.binary_crossentropy
            elif loss_name == 'sparse_categorical_crossentropy':
                fn = metrics_module.sparse_categorical_accuracy if metric in _ACC_NAMES \
                    else losses.sparse_categorical_crossentropy
            else:
                fn = metrics_module.categorical_accuracy if metric in _ACC_NAMES \
                    else losses.categorical_crossentropy
            return fn, ('acc' if metric in _ACC_NAMES else 'ce')
        fn = metrics_module.get(metric)
        return fn, getattr(fn, 'name', None) or _fn_name(fn) or type(fn).__name__

    def _add_output_metrics(self, i, metric_list, weights, mask):
        prefix = 'weighted_' if weights is not None else ''
        for metric in metric_list:
            fn, base = self._resolve_metric(i, metric)
            metric_name = prefix + base
            with name_scope(metric_name):
                value = weighted_masked_objective(fn)(self.targets[i], self.outputs[i],
                                                      weights, mask)
            if len(self.output_names) > 1:
                metric_name = f'{self.output_names[i]}_{metric_name}'
            unique, j = metric_name, 1
            while unique in self.metrics_names:
                unique = f'{metric_name}_{j}'
                j += 1
            self.metrics_names.append(unique)
            self.metrics_tensors.append(value)

    # -- the compiled steps -------------------------------------------------------------------
    def _check_compiled(self):
        if not getattr(self, '_compiled', False):
            raise RuntimeError("You must compile your model before training/testing. Use "
                               "`model.compile(optimizer, loss)`.")
        if getattr(self, '_compile_pending', False):
            raise RuntimeError(f"The model {self.name} has not been built yet (its first layer "
                               f"has no input shape): call fit / evaluate / predict with data "
                               f"first, or give the first layer an input_shape")

    def _uses_dynamic_learning_phase(self):
        return self.uses_learning_phase and not isinstance(K.learning_phase(), int)

    def _feeds(self):
        return self._feed_inputs + self._feed_targets + self._feed_sample_weights

    @property
    def train_function(self):
        """The training step: ``f(x + y + sample_weights [+ learning_phase]) -> [loss,
        metrics...]``, applying the optimizer's and the layers' updates."""
        self._check_compiled()
        if self._train_function is None:
            inputs = self._feeds()
            if self._uses_dynamic_learning_phase():
                inputs = inputs + [K.learning_phase()]
            from ..distribute.strategy import strategy_for
            dist = strategy_for(self)
            if dist is not None:   # data-parallel: gradients, allreduce, then the updates
                with name_scope('training'):
                    self._train_function = dist.train_function(self, inputs)
                return self._train_function
            with name_scope('training'):
                with name_scope(type(self.optimizer).__name__):
                    training_updates = self.optimizer.get_updates(
                        loss=self.total_loss, params=self._collected_trainable_weights)
                updates = list(self.updates) + list(training_updates) + self.metrics_updates
                self._train_function = K.function(
                    inputs, [self.total_loss] + self.metrics_tensors, updates=updates,
                    name='train_function')
        return self._train_function

    @property
    def test_function(self):
        """The evaluation step: ``f(x + y + sample_weights [+ learning_phase]) -> [loss,
        metrics...]`` (no weight updates)."""
        self._check_compiled()
        if self._test_function is None:
            inputs = self._feeds()
            if self._uses_dynamic_learning_phase():
                inputs = inputs + [K.learning_phase()]
            self._test_function = K.function(
                inputs, [self.total_loss] + self.metrics_tensors,
                updates=self.state_updates + self.metrics_updates, name='test_function')
        return self._test_function

    @property
    def predict_function(self):
        """The prediction step: ``f(x [+ learning_phase]) -> outputs``."""
        if getattr(self, '_predict_function', None) is None:
            inputs = list(self._feed_inputs)
            if self._uses_dynamic_learning_phase():
                inputs = inputs + [K.learning_phase()]
            self._predict_function = K.function(inputs, self.outputs,
                                                updates=self.state_updates,
                                                name='predict_function')
        return self._predict_function

    def _make_train_function(self):
        return self.train_function

    def _make_test_function(self):
        return self.test_function

    def _make_predict_function(self):
        return self.predict_function

    def _lp(self, value):
        if not self._uses_dynamic_learning_phase():
            return []
        fixed = fixed_learning_phase()   # K.set_learning_phase overrides fit's 1 / predict's 0
        return [np.asarray(value if fixed is None else fixed, dtype=bool)]

    # -- data ---------------------------------------------------------------------------------
    def _build_from_data(self, x):
        """Build a model whose input shape was deferred (Sequential), from the data."""
        raise RuntimeError(f"The model {self.name} has not been built")

    def _finish_deferred(self, x):
        if not self.built:
            self._build_from_data(x)
        if getattr(self, '_compile_pending', False):
            self._compile_pending = False
            self._build_training_graph(**self._compile_args)

    def _standardize_x(self, x):
        arrays = standardize_input_data(x, self._feed_input_names, self._feed_input_shapes,
                                        check_batch_axis=False, exception_prefix='input')
        # Indices an Embedding cannot look up: checked here, in numpy, on the user's values
        # (before the cast to the feed dtype truncates them, and before the compiled step).
        check_embedding_indices(arrays, self._feed_input_names, embedding_feeds(self))
        out = []
        for a, tensor in zip(arrays, self._feed_inputs):
            if a is not None and a.dtype.name != tensor.dtype:
                a = a.astype(tensor.dtype)
            out.append(a)
        return out

    def _data_names(self, prefix=''):
        """How warnings and errors name the arrays of ``xs + ys``."""
        return ([f"{prefix}x (input {n!r})" for n in self._feed_input_names] +
                [f"{prefix}y (target of output {n!r})" for n in self._feed_output_names])

    def _standardize_user_data(self, x, y=None, sample_weight=None, class_weight=None,
                               check_array_lengths=True, batch_size=None, where='fit'):
        if x is None:
            raise ValueError("No input data (x) given; pass x (and y) as numpy arrays, lists "
                             "of arrays or dicts keyed by input name")
        self._finish_deferred(x)
        self._check_compiled()
        xs = self._standardize_x(x)
        if y is None and not self._feed_targets:
            # Every output is untrained (add_loss losses only) or has a target tensor.
            if sample_weight is not None or class_weight is not None:
                raise ValueError("sample_weight / class_weight weigh the targets of the "
                                 "model's outputs, but this model takes no target data")
            ys, weights = [], []
        else:
            ys, weights = self._standardize_targets(y, sample_weight, class_weight)
        if check_array_lengths:
            check_array_length_consistency(xs, ys, weights)
        check_has_samples(where, xs + ys, self._data_names())
        if self.stateful and batch_size and xs and xs[0].shape[0] % batch_size:
            raise ValueError(f"In a stateful network, you should only pass inputs with a number "
                             f"of samples that can be divided by the batch size. Found: "
                             f"{xs[0].shape[0]} samples, batch size {batch_size}")
        return xs, ys, weights

    def _standardize_targets(self, y, sample_weight, class_weight):
        """The target arrays and the per-sample weights, in the order of the fed targets."""
        if y is None:
            raise ValueError("No target data (y) given; fit / evaluate / train_on_batch need "
                             "targets for the model's outputs")
        if isinstance(y, dict):
            extra = sorted(set(y) - set(self.output_names))
            if extra:
                raise ValueError(f"Error when checking model target: the data dict has key(s) "
                                 f"{extra} that name no model output; valid names: "
                                 f"{self.output_names}")
            y = {k: v for k, v in y.items() if k in self._feed_output_names}
        ys = standardize_input_data(y, self._feed_output_names, None,
                                    exception_prefix='target')
        check_loss_and_target_compatibility(ys, self._feed_loss_fns, self._feed_output_shapes,
                                            self._feed_output_names)
        ys = standardize_input_data(ys, self._feed_output_names, self._feed_output_shapes,
                                    check_batch_axis=False, exception_prefix='target')
        for a, shape, fn, name in zip(ys, self._feed_user_loss_shapes, self._feed_loss_fns,
                                      self._feed_output_names):
            _check_user_loss_target(a, shape, fn, name)
        ys = [a.astype(t.dtype) if a.dtype.name != t.dtype else a
              for a, t in zip(ys, self._feed_targets)]
        sws = standardize_sample_or_class_weights(sample_weight, self._feed_output_names,
                                                  'sample_weight')
        cws = standardize_sample_or_class_weights(class_weight, self._feed_output_names,
                                                  'class_weight')
        weights = [standardize_weights(ref, sw, cw, mode) for ref, sw, cw, mode
                   in zip(ys, sws, cws, self._feed_sample_weight_modes)]
        return ys, weights

    def _out_labels(self):
        return list(self.metrics_names)

    # -- fit / evaluate / predict -------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None,
            validation_split=0., validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            **kwargs):
        """Train the model for ``epochs`` epochs over the data.

        Args:
            x: input data: an array, a list of arrays, or a dict keyed by input name.
            y: target data, the same way by output name.
            batch_size: samples per gradient step (default 32); the last batch may be smaller.
            epochs: the epoch to stop at (training runs epochs ``initial_epoch .. epochs-1``).
            verbose: 0 silent, 1 progress bar, 2 one line per epoch.
            callbacks: a list of ``graphc.callbacks.Callback``.
            validation_split: the fraction of the data (taken from the end, before shuffling)
                held out for validation.
            validation_data: ``(x_val, y_val)`` or ``(x_val, y_val, sample_weights)``.
            shuffle: True (shuffle every epoch), False, or 'batch' (shuffle whole batches).
            class_weight: dict class index -> weight of its samples in the loss.
            sample_weight: per-sample (or per-timestep, 'temporal') loss weights.
            initial_epoch: the epoch to start at (to resume training).
            steps_per_epoch: steps per epoch when the data is a single batch-less feed.
            validation_steps: steps of validation with ``steps_per_epoch``.
        Returns:
            A ``History`` whose ``history`` dict holds each metric per epoch.
        """
        if 'nb_epoch' in kwargs:
            epochs = kwargs.pop('nb_epoch')
        if kwargs:
            raise TypeError(f"fit: unknown keyword argument(s) {sorted(kwargs)}")
        if batch_size is None and steps_per_epoch is None:
            batch_size = 32
        batch_size = check_positive_int('fit', 'batch_size', batch_size, _BATCH_SIZE_HINT)
        epochs, initial_epoch = check_epochs('fit', epochs, initial_epoch)
        steps_per_epoch = check_steps('fit', 'steps_per_epoch', steps_per_epoch)
        validation_steps = check_steps('fit', 'validation_steps', validation_steps)
        if verbose not in (0, 1, 2):
            raise ValueError(f"fit: verbose must be 0, 1 or 2, got {verbose!r}")
        if shuffle not in (True, False, 'batch'):
            raise ValueError(f"fit: shuffle must be True, False or 'batch', got {shuffle!r}")
        if x is None and y is None and steps_per_epoch is None:
            raise ValueError("fit: no data given; pass x and y")
        self._finish_deferred(x)
        self._check_compiled()
        xs, ys, sws = self._standardize_user_data(x, y, sample_weight, class_weight,
                                                  batch_size=batch_size)
        do_validation = False
        val_ins = []
        checked, checked_names = xs + ys, self._data_names()   # for the NaN / Inf warning
        if validation_data is not None:
            do_validation = True
            if len(validation_data) == 2:
                val_x, val_y = validation_data
                val_sw = None
            elif len(validation_data) == 3:
                val_x, val_y, val_sw = validation_data
            else:
                raise ValueError(f"When passing validation_data, it must contain 2 (x_val, "
                                 f"y_val) or 3 (x_val, y_val, val_sample_weights) items, "
                                 f"however it contains {len(validation_data)} items")
            vx, vy, vsw = self._standardize_user_data(val_x, val_y, sample_weight=val_sw,
                                                      batch_size=batch_size,
                                                      where='fit (validation_data)')
            val_ins = vx + vy + vsw + self._lp(0)
            checked += vx + vy
            checked_names += self._data_names('validation ')
        elif validation_split and 0. < validation_split < 1.:
            do_validation = True
            n = xs[0].shape[0] if xs else ys[0].shape[0]
            split_at = int(n * (1. - validation_split))
            xs, vx = [a[:split_at] for a in xs], [a[split_at:] for a in xs]
            ys, vy = [a[:split_at] for a in ys], [a[split_at:] for a in ys]
            sws, vsw = [a[:split_at] for a in sws], [a[split_at:] for a in sws]
            val_ins = vx + vy + vsw + self._lp(0)
        elif validation_split:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
        elif validation_steps:
            raise ValueError("validation_steps is given but there is no validation data")
        warn_non_finite('fit', checked, checked_names)

        ins = xs + ys + sws + self._lp(1)
        f = self.train_function
        val_f = self.test_function if do_validation else None
        out_labels = self._out_labels()
        callback_metrics = list(out_labels)
        if do_validation:
            callback_metrics += ['val_' + n for n in out_labels]
        return training_arrays.fit_loop(
            self, f, ins, out_labels=out_labels, batch_size=batch_size, epochs=epochs,
            verbose=verbose, callbacks=callbacks, val_f=val_f, val_ins=val_ins,
            shuffle=shuffle, callback_metrics=callback_metrics, initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch, validation_steps=validation_steps,
            learning_phase=self._uses_dynamic_learning_phase())

    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, sample_weight=None,
                 steps=None):
        """The loss and metrics of the model on the data, averaged over samples.

        Args:
            x, y: as in ``fit``.
            batch_size: samples per step (default 32).
            verbose: 0 or 1 (progress bar).
            sample_weight: per-sample weights.
            steps: number of steps, instead of batches of ``batch_size``.
        Returns:
            The loss (a float) if the model has no metrics, else the list
            ``[loss, metric...]`` named by ``model.metrics_names``.
        """
        if batch_size is None and steps is None:
            batch_size = 32
        batch_size = check_positive_int('evaluate', 'batch_size', batch_size, _BATCH_SIZE_HINT)
        steps = check_steps('evaluate', 'steps', steps)
        xs, ys, sws = self._standardize_user_data(x, y, sample_weight, batch_size=batch_size,
                                                  where='evaluate')
        warn_non_finite('evaluate', xs + ys, self._data_names(),
                        'the loss and metrics will be NaN or Inf')
        ins = xs + ys + sws + self._lp(0)
        return training_arrays.test_loop(self, self.test_function, ins, batch_size=batch_size,
                                         verbose=verbose, steps=steps,
                                         learning_phase=self._uses_dynamic_learning_phase())

    def predict(self, x, batch_size=None, verbose=0, steps=None):
        """The model's outputs on input data, computed batch by batch.

        Args:
            x: an array, a list of arrays or a dict keyed by input name.
            batch_size: default 32.
            verbose: 0 or 1.
            steps: number of steps, instead of batches.
        Returns:
            An array (a list of arrays for several outputs).
        """
        if batch_size is None and steps is None:
            batch_size = 32
        batch_size = check_positive_int('predict', 'batch_size', batch_size, _BATCH_SIZE_HINT)
        steps = check_steps('predict', 'steps', steps)
        self._finish_deferred(x)
        xs = self._standardize_x(x)
        if steps is None and xs and xs[0] is not None and xs[0].shape[0] == 0:
            return self._empty_prediction(xs)
        if self.stateful and xs and xs[0].shape[0] > batch_size and \
                xs[0].shape[0] % batch_size:
            raise ValueError(f"In a stateful network, you should only pass inputs with a number "
                             f"of samples that can be divided by the batch size. Found: "
                             f"{xs[0].shape[0]} samples. Batch size: {batch_size}.")
        ins = xs + self._lp(0)
        return training_arrays.predict_loop(self, self.predict_function, ins,
                                            batch_size=batch_size, verbose=verbose,
                                            steps=steps,
                                            learning_phase=self._uses_dynamic_learning_phase())

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None):
        """One gradient step on one batch.

        Returns:
            The loss (a float) or ``[loss, metric...]``.
        """
        xs, ys, sws = self._standardize_user_data(x, y, sample_weight, class_weight,
                                                  where='train_on_batch')
        outputs = self.train_function(densify_all(xs + ys) + sws + self._lp(1))
        return unpack_singleton([_scalar(o) for o in outputs])

    def test_on_batch(self, x, y, sample_weight=None):
        """The loss and metrics on one batch (no update)."""
        xs, ys, sws = self._standardize_user_data(x, y, sample_weight, where='test_on_batch')
        outputs = self.test_function(densify_all(xs + ys) + sws + self._lp(0))
        return unpack_singleton([_scalar(o) for o in outputs])

    def predict_on_batch(self, x):
        """The model's outputs on one batch."""
        self._finish_deferred(x)
        xs = self._standardize_x(x)
        if xs and xs[0] is not None and xs[0].shape[0] == 0:
            return self._empty_prediction(xs)
        outputs = self.predict_function(densify_all(xs) + self._lp(0))
        return unpack_singleton(list(outputs))

    def _empty_prediction(self, xs):
        """The outputs for zero samples (as Keras 2: empty arrays, batch axis of length 0)."""
        shapes = [K.int_shape(o) for o in self.outputs]
        if all(d is not None for s in shapes for d in s[1:]):
            return unpack_singleton([np.zeros((0,) + tuple(s[1:]), dtype=K.dtype(o))
                                     for s, o in zip(shapes, self.outputs)])
        return unpack_singleton(list(self.predict_function(densify_all(xs) + self._lp(0))))

    # -- generators ---------------------------------------------------------------------------
    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1,
                      callbacks=None, validation_data=None, validation_steps=None,
                      class_weight=None, max_queue_size=10, workers=1,
                      use_multiprocessing=False, shuffle=True, initial_epoch=0):
        """Train on batches from a Python generator or a ``graphc.utils.Sequence``.

        Args:
            generator: yields ``(x, y)`` or ``(x, y, sample_weight)`` batches forever, or a
                Sequence.
            steps_per_epoch: batches per epoch (default ``len(sequence)``).
            validation_data: a generator / Sequence, or ``(x_val, y_val[, sw])``.
            validation_steps: batches drawn from a validation generator.
            shuffle: shuffle the order of a Sequence's batches every epoch.
            max_queue_size, workers, use_multiprocessing: with ``workers > 1``, or with
                ``use_multiprocessing``, a Sequence is read ahead by that many worker threads
                (processes) keeping up to ``max_queue_size`` batches; otherwise, and always
                for a generator, batches are drawn in the training thread.
        Returns:
            A ``History``.
        """
        epochs, initial_epoch = check_epochs('fit_generator', epochs, initial_epoch)
        steps_per_epoch = check_steps('fit_generator', 'steps_per_epoch', steps_per_epoch)
        validation_steps = check_steps('fit_generator', 'validation_steps', validation_steps)
        return training_generator.fit_generator(
            self, generator, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose,
            callbacks=callbacks, validation_data=validation_data,
            validation_steps=validation_steps, class_weight=class_weight, shuffle=shuffle,
            initial_epoch=initial_epoch, max_queue_size=max_queue_size, workers=workers,
            use_multiprocessing=use_multiprocessing)

    def evaluate_generator(self, generator, steps=None, max_queue_size=10, workers=1,
                           use_multiprocessing=False, verbose=0):
        """The loss and metrics over batches of a generator or Sequence (averaged by the
        number of samples per batch; ``workers`` as in ``fit_generator``)."""
        steps = check_steps('evaluate_generator', 'steps', steps)
        return training_generator.evaluate_generator(
            self, generator, steps=steps, verbose=verbose, max_queue_size=max_queue_size,
            workers=workers, use_multiprocessing=use_multiprocessing)

    def predict_generator(self, generator, steps=None, max_queue_size=10, workers=1,
                          use_multiprocessing=False, verbose=0):
        """The outputs for the input batches of a generator or Sequence, concatenated
        (``workers`` as in ``fit_generator``)."""
        steps = check_steps('predict_generator', 'steps', steps)
        return training_generator.predict_generator(
            self, generator, steps=steps, verbose=verbose, max_queue_size=max_queue_size,
            workers=workers, use_multiprocessing=use_multiprocessing)


def _scalar(x):
    x = np.asarray(x)
    return float(x) if x.ndim == 0 else x
