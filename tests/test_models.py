"""graphc.models: the public Model / Sequential, clone_model, JSON architecture round trip."""
import json

import numpy as np
import pytest

import graphc.models
from graphc.engine.training import Model as EngineModel
from graphc.layers import Dense, Dropout, Input
from graphc.models import Model, Sequential, clone_model
from tests.engine.conftest import reference_executor  # noqa: F401 - autouse fixture


def test_public_names():
    assert Model is EngineModel
    assert issubclass(Sequential, Model)
    with pytest.raises(AttributeError, match='no attribute'):
        graphc.models.not_a_thing


def test_clone_sequential_and_functional_fresh_weights_same_outputs_when_copied():
    seq = Sequential([Dense(4, input_shape=(3,), activation='relu'), Dropout(0.1), Dense(2)])
    x = Input(shape=(3,))
    fun = Model(x, Dense(2)(Dense(4)(x)))
    xs = np.random.rand(5, 3).astype('float32')
    for model in (seq, fun):
        clone = clone_model(model)
        assert type(clone) is type(model)
        assert [type(la) for la in clone.layers] == [type(la) for la in model.layers]
        assert all(a is not b for a, b in zip(clone.weights, model.weights))
        clone.set_weights(model.get_weights())
        np.testing.assert_allclose(clone.predict(xs), model.predict(xs), rtol=1e-6)


def test_clone_deferred_sequential():
    model = Sequential([Dense(2), Dense(1)])
    model.build((None, 3))
    clone = clone_model(model)
    assert clone.input_shape == (None, 3)


def test_to_json_round_trip():
    x = Input(shape=(3,), name='x')
    model = Model(x, Dense(2, name='d')(x), name='m')
    data = json.loads(model.to_json(indent=2))
    assert data['class_name'] == 'Model' and data['config']['name'] == 'm'
    rebuilt = Model.from_config(data['config'])
    assert [la.name for la in rebuilt.layers] == ['x', 'd']
    seq = Sequential([Dense(2, input_shape=(3,))])
    data = json.loads(seq.to_json())
    assert data['class_name'] == 'Sequential'
    assert Sequential.from_config(data['config']).output_shape == (None, 2)
