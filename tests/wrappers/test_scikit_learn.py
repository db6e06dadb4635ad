"""graphc.wrappers.scikit_learn: KerasClassifier / KerasRegressor under scikit-learn's
clone, cross_val_score and GridSearchCV. Models are tiny; all but one test run on the numpy
reference executor (fast to build), the cross-validation one on the compiled executor."""
import numpy as np
import pytest

from graphc import backend as K
from graphc import config
from graphc.layers import Dense, Input
from graphc.models import Model, Sequential
from graphc.optimizers import SGD
from graphc.wrappers.scikit_learn import KerasClassifier, KerasRegressor

sklearn = pytest.importorskip('sklearn')
from sklearn.base import clone, is_classifier, is_regressor  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402


@pytest.fixture
def reference():
    previous = config.get('executor')
    config.set('executor', 'reference')
    K.clear_session()
    yield
    config.set('executor', previous)


def _blobs(n=60, classes=3, dim=4, seed=0):
    centers = np.random.RandomState(42).randn(classes, dim) * 3
    rng = np.random.RandomState(seed)
    labels = np.arange(n) % classes
    rng.shuffle(labels)
    x = (centers[labels] + rng.randn(n, dim) * 0.3).astype('float32')
    return x, labels


def build_softmax(hidden=8, lr=0.3):
    model = Sequential([Dense(hidden, activation='relu', input_shape=(4,)),
                        Dense(3, activation='softmax')])
    model.compile(SGD(lr=lr), 'categorical_crossentropy', metrics=['accuracy'])
    return model


def build_sigmoid(metrics=('accuracy',)):
    model = Sequential([Dense(1, activation='sigmoid', input_shape=(4,))])
    model.compile(SGD(lr=0.5), 'binary_crossentropy', metrics=list(metrics))
    return model


def build_linear(lr=0.1):
    x = Input(shape=(4,))
    model = Model(x, Dense(1)(x))          # a functional Model: no predict_classes
    model.compile(SGD(lr=lr), 'mse')
    return model


# -- parameters ------------------------------------------------------------------------------
def test_check_params_rejects_unknown_names_and_nb_epoch():
    with pytest.raises(ValueError, match='hiden is not a legal parameter'):
        KerasClassifier(build_softmax, hiden=4)
    with pytest.raises(ValueError, match='use epochs'):
        KerasClassifier(build_softmax, nb_epoch=2)
    with pytest.raises(ValueError, match='build_fn must be a function'):
        KerasClassifier(build_fn=3)
    with pytest.raises(ValueError, match='must define __call__'):
        KerasRegressor(build_fn=None)
    # names of build_fn, fit, predict and evaluate are all legal
    KerasClassifier(build_softmax, hidden=4, lr=0.1, epochs=2, batch_size=8, verbose=0,
                    shuffle=False, steps=None)


def test_get_params_set_params_and_clone():
    clf = KerasClassifier(build_softmax, hidden=4, epochs=2, callbacks=[])
    assert clf.get_params() == {'build_fn': build_softmax, 'hidden': 4, 'epochs': 2,
                                'callbacks': []}
    twin = clone(clf)
    assert twin is not clf and twin.get_params() == clf.get_params()
    assert twin.set_params(hidden=16) is twin
    assert twin.sk_params['hidden'] == 16 and clf.sk_params['hidden'] == 4
    with pytest.raises(ValueError, match='units is not a legal parameter'):
        twin.set_params(units=3)
    assert 'units' not in twin.sk_params
    assert is_classifier(clf) and not is_regressor(clf)
    assert is_regressor(KerasRegressor(build_linear))


def test_sk_params_are_split_between_build_fn_and_fit(reference):
    seen = {}

    def build(hidden=8):
        seen['hidden'] = hidden
        return build_softmax(hidden)

    x, y = _blobs(12)
    clf = KerasClassifier(build, hidden=5, epochs=3, batch_size=4, verbose=0)
    history = clf.fit(x, y)
    assert seen == {'hidden': 5}
    assert clf.model.layers[0].units == 5
    assert history.params['epochs'] == 3 and len(history.epoch) == 3
    assert history.params['batch_size'] == 4
    history = clf.fit(x, y, epochs=1)          # fit's own arguments win over sk_params
    assert len(history.epoch) == 1
    with pytest.raises(TypeError, match='epoks'):
        clf.fit(x, y, epoks=1)                  # not silently dropped


def test_callable_object_and_subclass_call_build_the_model(reference):
    class Builder:
        def __call__(self, hidden=6):
            return build_softmax(hidden)

    class MyClassifier(KerasClassifier):
        def __call__(self, hidden=7):
            return build_softmax(hidden)

    x, y = _blobs(12)
    clf = KerasClassifier(Builder(), hidden=3, epochs=1, verbose=0)
    clf.fit(x, y)
    assert clf.model.layers[0].units == 3
    sub = MyClassifier(epochs=1, verbose=0)
    sub.fit(x, y)
    assert sub.model.layers[0].units == 7
    with pytest.raises(ValueError, match='depth is not a legal'):
        MyClassifier(depth=2)


# -- the classifier --------------------------------------------------------------------------
def test_classifier_maps_labels_and_scores_with_the_accuracy_metric(reference):
    x, idx = _blobs(60)
    names = np.array(['cat', 'ant', 'bee'])
    y = names[idx]
    clf = KerasClassifier(build_softmax, epochs=30, batch_size=10, verbose=0)
    with pytest.raises(RuntimeError, match='not fitted'):
        clf.predict(x)
    clf.fit(x, y)
    assert list(clf.classes_) == ['ant', 'bee', 'cat'] and clf.n_classes_ == 3
    pred = clf.predict(x)
    assert pred.shape == (60,) and set(pred) <= set(names)
    proba = clf.predict_proba(x)
    assert proba.shape == (60, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], pred)
    score = clf.score(x, y)
    assert score == pytest.approx(np.mean(pred == y), abs=1e-6)
    assert score > 0.9                          # separable blobs; chance is 1/3


def test_classifier_with_one_sigmoid_unit(reference):
    x, idx = _blobs(40, classes=2)
    y = np.where(idx == 1, 5, -5)
    clf = KerasClassifier(build_sigmoid, epochs=20, batch_size=10, verbose=0)
    clf.fit(x, y.reshape(-1, 1))
    proba = clf.predict_proba(x)
    assert proba.shape == (40, 2)
    np.testing.assert_allclose(proba[:, 1:], clf.model.predict(x), rtol=1e-6)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    pred = clf.predict(x)
    np.testing.assert_array_equal(pred, np.where(proba[:, 1] > 0.5, 5, -5))
    assert clf.score(x, y) == pytest.approx(np.mean(pred == y), abs=1e-6)

    plain = KerasClassifier(build_sigmoid, metrics=(), epochs=1, verbose=0)
    plain.fit(x, y)
    with pytest.raises(ValueError, match="metrics=\\['accuracy'\\]"):
        plain.score(x, y)
    with pytest.raises(ValueError, match='y must have shape'):
        plain.fit(x, y.reshape(-1, 1, 1))


def test_grid_search_picks_the_better_setting(reference):
    x, y = _blobs(45)
    clf = KerasClassifier(build_softmax, batch_size=15, verbose=0)
    search = GridSearchCV(clf, {'epochs': [1, 25], 'lr': [0.01]}, cv=3)
    search.fit(x, y)
    scores = search.cv_results_['mean_test_score']
    assert scores.shape == (2,) and scores[1] > scores[0] + 0.2
    assert search.best_params_ == {'epochs': 25, 'lr': 0.01}
    assert search.best_estimator_.model is not None     # refit on all the data
    assert search.predict(x).shape == (45,)


# -- the regressor ---------------------------------------------------------------------------
def _linear_data(n=40, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.rand(n, 4).astype('float32')
    y = (x @ np.array([1., -2., 0.5, 3.]) + 0.25).astype('float32')
    return x, y


def test_regressor_predict_and_negative_loss_score(reference):
    x, y = _linear_data()
    reg = KerasRegressor(build_linear, epochs=5, batch_size=8, verbose=0)
    reg.fit(x, y)
    pred = reg.predict(x)
    assert pred.shape == (40,)
    mse = float(np.mean((pred - y) ** 2))
    assert reg.score(x, y) == pytest.approx(-mse, rel=1e-4)
    assert reg.score(x, y) == pytest.approx(-reg.model.evaluate(x, y, verbose=0), rel=1e-6)


def test_regressor_grid_search_prefers_more_training(reference):
    x, y = _linear_data(30)
    search = GridSearchCV(KerasRegressor(build_linear, batch_size=10, verbose=0),
                          {'epochs': [1, 40]}, cv=3)
    search.fit(x, y)
    assert search.best_params_ == {'epochs': 40}
    assert search.best_score_ > -0.5            # -mse of a nearly fitted linear model


def test_cross_val_score_on_the_compiled_executor():
    # One architecture and fixed sizes: every fold reuses the same compiled steps.
    K.clear_session()
    x, y = _blobs(45)
    clf = KerasClassifier(build_softmax, epochs=20, batch_size=15, verbose=0)
    scores = cross_val_score(clf, x, y, cv=3)
    assert scores.shape == (3,)
    assert np.all((scores >= 0) & (scores <= 1))
    assert scores.mean() > 0.8                  # chance is 1/3
