"""scikit-learn estimators around graphc models (Keras 2's ``keras.wrappers.scikit_learn``).

``KerasClassifier`` and ``KerasRegressor`` build a fresh model on every ``fit`` by calling
``build_fn``, so scikit-learn's model selection (``cross_val_score``, ``GridSearchCV``,
``clone``) works on them. The keyword arguments given to the constructor (``sk_params``) are
split by name: those that ``build_fn`` accepts go to it, those that ``fit`` / ``predict`` /
``predict_proba`` / ``evaluate`` accept go to those calls (``epochs``, ``batch_size``,
``verbose`` ...). A name that none of them accepts is rejected with a ValueError.

Example:
    >>> def build(hidden=8):
    ...     model = Sequential([Dense(hidden, activation='relu', input_shape=(4,)),
    ...                         Dense(3, activation='softmax')])
    ...     model.compile('adam', 'categorical_crossentropy', metrics=['accuracy'])
    ...     return model
    >>> clf = KerasClassifier(build_fn=build, epochs=5, batch_size=16, verbose=0)
    >>> cross_val_score(clf, x, y, cv=3)
    >>> GridSearchCV(clf, {'hidden': [4, 8]}, cv=3).fit(x, y)

scikit-learn itself is only needed by the code that calls these estimators; importing this
module does not import it.
"""
from __future__ import annotations

import types

import numpy as np

from ..models import Sequential
from ..utils.generic_utils import has_arg, to_list
from ..utils.np_utils import to_categorical

__all__ = ['BaseWrapper', 'KerasClassifier', 'KerasRegressor']


def _loss_name(model):
    loss = getattr(model, 'loss', None)
    return getattr(loss, '__name__', loss)


class BaseWrapper:
    """The part common to ``KerasClassifier`` and ``KerasRegressor``; use those.

    Args:
        build_fn: what builds and compiles the model on each ``fit``: a function, an
            instance of a class with a ``__call__`` method, or None, in which case the
            subclass of the wrapper must define ``__call__``. It returns a compiled model.
        **sk_params: the arguments of ``build_fn`` and of ``fit`` / ``predict`` /
            ``predict_proba`` / ``evaluate``, by name. Arguments given to ``fit`` /
            ``predict`` ... directly take precedence over these.
    Raises:
        ValueError: an ``sk_params`` name that none of those functions accepts.
    """

    def __init__(self, build_fn=None, **sk_params):
        self.build_fn = build_fn
        self.sk_params = sk_params
        self.check_params(sk_params)

    # -- parameters --------------------------------------------------------------------------
    def _build_callable(self):
        """The callable whose signature lists the model-building parameters."""
        if self.build_fn is None:
            return self.__call__
        if isinstance(self.build_fn, (types.FunctionType, types.MethodType)):
            return self.build_fn
        return self.build_fn.__call__

    def _legal_param_fns(self):
        return [Sequential.fit, Sequential.predict, Sequential.predict_classes,
                Sequential.evaluate, self._build_callable()]

    def check_params(self, params):
        """Check that every name in ``params`` is an argument of ``build_fn`` or of the
        model's ``fit`` / ``predict`` / ``predict_classes`` / ``evaluate``.

        Raises:
            ValueError: naming the first unknown parameter.
        """
        if self.build_fn is None and not any('__call__' in vars(k) for k in type(self).__mro__):
            raise ValueError(f"{type(self).__name__}: build_fn is None, so the class must "
                             f"define __call__ to build the model")
        if self.build_fn is not None and not callable(self.build_fn):
            raise ValueError(f"{type(self).__name__}: build_fn must be a function or an "
                             f"object with a __call__ method, got {self.build_fn!r}")
        fns = self._legal_param_fns()
        for name in params:
            if name == 'nb_epoch':
                raise ValueError("nb_epoch is no longer a legal parameter; use epochs")
            if not any(has_arg(fn, name) for fn in fns):
                raise ValueError(f"{name} is not a legal parameter: it is not an argument of "
                                 f"build_fn nor of the model's fit / predict / evaluate")

    def get_params(self, deep=True):
        """The estimator's parameters: ``build_fn`` and every ``sk_params`` entry.

        Args:
            deep: accepted for scikit-learn's API; the parameters are the same either way.
        Returns:
            A new dict (the values are the stored objects, not copies, as ``clone`` needs).
        """
        params = dict(self.sk_params)
        params['build_fn'] = self.build_fn
        return params

    def set_params(self, **params):
        """Set ``sk_params`` entries (and ``build_fn``) by name.

        Returns:
            self.
        Raises:
            ValueError: an unknown parameter name (checked before anything is set).
        """
        params = dict(params)
        build_fn = params.pop('build_fn', self.build_fn)
        previous = self.build_fn
        self.build_fn = build_fn
        try:
            self.check_params(params)
        except ValueError:
            self.build_fn = previous
            raise
        self.sk_params.update(params)
        return self

    def filter_sk_params(self, fn, override=None):
        """The ``sk_params`` entries that ``fn`` accepts as arguments, updated with the
        entries of ``override`` that it accepts.

        Args:
            fn: any callable.
            override: a dict of values that replace ``sk_params`` ones.
        Returns:
            A new dict.
        """
        res = {name: value for name, value in self.sk_params.items() if has_arg(fn, name)}
        for name, value in (override or {}).items():
            if has_arg(fn, name):
                res[name] = value
        return res

    # -- training ----------------------------------------------------------------------------
    def _build_model(self):
        fn = self._build_callable()
        if self.build_fn is None:
            model = self.__call__(**self.filter_sk_params(fn))
        else:
            model = self.build_fn(**self.filter_sk_params(fn))
        if not hasattr(model, 'fit') or not hasattr(model, 'predict'):
            raise TypeError(f"{type(self).__name__}: build_fn must return a compiled graphc "
                            f"model, got {type(model).__name__}")
        return model

    def fit(self, x, y, **kwargs):
        """Build a new model with ``build_fn`` and train it on ``(x, y)``.

        Args:
            x: array of shape ``(n_samples, ...)``.
            y: array of shape ``(n_samples,)`` or ``(n_samples, n_outputs)``.
            **kwargs: arguments of the model's ``fit``; they take precedence over
                ``sk_params``.
        Returns:
            The ``History`` of the training.
        """
        self.model = self._build_model()
        y = np.asarray(y)
        if _loss_name(self.model) == 'categorical_crossentropy' and y.ndim != 2:
            y = to_categorical(y)
        fit_args = self.filter_sk_params(Sequential.fit)
        fit_args.update(kwargs)     # unfiltered: a misspelt argument is the model's TypeError
        return self.model.fit(x, y, **fit_args)

    def _check_fitted(self):
        if getattr(self, 'model', None) is None:
            raise RuntimeError(f"This {type(self).__name__} is not fitted yet: call fit "
                               f"before predict or score")


class KerasClassifier(BaseWrapper):
    """scikit-learn's classifier API for a graphc model.

    ``fit`` maps the labels to class indices 0..n_classes-1 (``classes_`` holds the labels
    in sorted order, as ``np.unique`` gives them) and one-hot encodes them when the model's
    loss is ``categorical_crossentropy``; ``predict`` maps the indices back to the labels.
    One-hot ``y`` (two columns or more) is taken as is, its classes being the columns.

    Args:
        build_fn: a function (or callable object) returning a compiled model, whose output
            is one sigmoid unit or one softmax unit per class; see ``BaseWrapper``.
        **sk_params: arguments of ``build_fn`` and of ``fit`` / ``predict`` / ``evaluate``.
    """

    _estimator_type = 'classifier'

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, Tags, TargetTags
        return Tags(estimator_type='classifier', target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags())

    def fit(self, x, y, sample_weight=None, **kwargs):
        """Build a new model and train it on ``(x, y)``.

        Args:
            x: array of shape ``(n_samples, n_features)``.
            y: labels of shape ``(n_samples,)`` or ``(n_samples, 1)``, or a one-hot
                ``(n_samples, n_classes)`` array.
            sample_weight: per-sample weights of the loss.
            **kwargs: arguments of the model's ``fit``.
        Returns:
            The ``History`` of the training.
        Raises:
            ValueError: ``y`` of any other shape.
        """
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:
            self.classes_ = np.arange(y.shape[1])
        elif y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
            y = y.reshape(-1)
            self.classes_ = np.unique(y)
            y = np.searchsorted(self.classes_, y)
        else:
            raise ValueError(f"KerasClassifier.fit: y must have shape (n_samples,), "
                             f"(n_samples, 1) or (n_samples, n_classes); got {y.shape}")
        self.n_classes_ = len(self.classes_)
        if sample_weight is not None:
            kwargs['sample_weight'] = sample_weight
        return super().fit(x, y, **kwargs)

    def _class_indices(self, x, **kwargs):
        proba = self.model.predict(x, **self.filter_sk_params(Sequential.predict, kwargs))
        proba = np.asarray(proba)
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba[..., 0] > 0.5).astype('int64')

    def predict(self, x, **kwargs):
        """The predicted class labels (from ``classes_``), shape ``(n_samples,)``.

        Args:
            x: array of shape ``(n_samples, n_features)``.
            **kwargs: arguments of the model's ``predict_classes``.
        """
        self._check_fitted()
        if hasattr(self.model, 'predict_classes'):
            kwargs = self.filter_sk_params(Sequential.predict_classes, kwargs)
            classes = np.asarray(self.model.predict_classes(x, **kwargs))
            if classes.ndim > 1 and classes.shape[-1] == 1:
                classes = classes[..., 0]
        else:   # a functional Model has no predict_classes
            classes = self._class_indices(x, **kwargs)
        return self.classes_[classes]

    def predict_proba(self, x, **kwargs):
        """Class probabilities, shape ``(n_samples, n_classes)``; for one sigmoid output the
        two columns ``[1 - p, p]``, as scikit-learn expects.

        Args:
            x: array of shape ``(n_samples, n_features)``.
            **kwargs: arguments of the model's ``predict_proba``.
        """
        self._check_fitted()
        kwargs = self.filter_sk_params(Sequential.predict_proba, kwargs)
        if hasattr(self.model, 'predict_proba'):
            probs = self.model.predict_proba(x, **kwargs)
        else:
            probs = self.model.predict(x, **kwargs)
        probs = np.asarray(probs)
        if probs.shape[1] == 1:
            probs = np.hstack([1 - probs, probs])
        return probs

    def score(self, x, y, **kwargs):
        """The model's accuracy on ``(x, y)``, as computed by its ``accuracy`` metric.

        Args:
            x: array of shape ``(n_samples, n_features)``.
            y: labels as given to ``fit``.
            **kwargs: arguments of the model's ``evaluate``.
        Returns:
            The accuracy (a float; scikit-learn maximises it).
        Raises:
            ValueError: the model was not compiled with ``metrics=['accuracy']``.
        """
        self._check_fitted()
        y = np.asarray(y)
        if not (y.ndim == 2 and y.shape[1] > 1):
            y = np.searchsorted(self.classes_, y.reshape(-1))
        kwargs = self.filter_sk_params(Sequential.evaluate, kwargs)
        if _loss_name(self.model) == 'categorical_crossentropy' and y.ndim != 2:
            y = to_categorical(y, num_classes=self.n_classes_)
        outputs = to_list(self.model.evaluate(x, y, **kwargs))
        for name, output in zip(self.model.metrics_names, outputs):
            if name in ('accuracy', 'acc'):
                return float(output)
        raise ValueError("The model is not configured to compute accuracy. You should pass "
                         "`metrics=['accuracy']` to the `model.compile()` method.")


class KerasRegressor(BaseWrapper):
    """scikit-learn's regressor API for a graphc model.

    ``score`` is the negative of the model's loss (scikit-learn maximises scores).

    Args:
        build_fn: a function (or callable object) returning a compiled model.
        **sk_params: arguments of ``build_fn`` and of ``fit`` / ``predict`` / ``evaluate``.
    """

    _estimator_type = 'regressor'

    def __sklearn_tags__(self):
        from sklearn.utils import RegressorTags, Tags, TargetTags
        return Tags(estimator_type='regressor', target_tags=TargetTags(required=True),
                    regressor_tags=RegressorTags())

    def predict(self, x, **kwargs):
        """The predictions, shape ``(n_samples,)`` for a model with one output unit (the
        unit axis is squeezed), else the model's output.

        Args:
            x: array of shape ``(n_samples, n_features)``.
            **kwargs: arguments of the model's ``predict``.
        """
        self._check_fitted()
        kwargs = self.filter_sk_params(Sequential.predict, kwargs)
        preds = np.asarray(self.model.predict(x, **kwargs))
        if preds.ndim > 1 and preds.shape[-1] == 1:
            preds = preds[..., 0]
        return preds

    def score(self, x, y, **kwargs):
        """The negative of the model's loss on ``(x, y)``.

        Args:
            x: array of shape ``(n_samples, n_features)``.
            y: targets.
            **kwargs: arguments of the model's ``evaluate``.
        Returns:
            ``-loss`` (a float).
        """
        self._check_fitted()
        kwargs = self.filter_sk_params(Sequential.evaluate, kwargs)
        loss = self.model.evaluate(x, y, **kwargs)
        if isinstance(loss, (list, tuple)):
            return -float(loss[0])
        return -float(loss)
