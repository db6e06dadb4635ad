"""The functional Model as a graph: topology, shared layers, nesting, configs, summary."""
import json

import numpy as np
import pytest

from graphc import backend as K
from graphc.layers import Dense, Dropout, Input, Lambda, deserialize
from graphc.models import Model, Sequential


def _mlp():
    x = Input(shape=(4,), name='x')
    h = Dense(8, activation='relu', name='hidden')(x)
    y = Dense(2, name='out')(h)
    return Model(x, y, name='mlp')


def test_layers_are_ordered_from_inputs_to_outputs():
    model = _mlp()
    assert [la.name for la in model.layers] == ['x', 'hidden', 'out']
    assert model.input_names == ['x'] and model.output_names == ['out']
    assert model.input_shape == (None, 4) and model.output_shape == (None, 2)
    assert model.get_layer('hidden') is model.layers[1]
    assert model.get_layer(index=2).name == 'out'


def test_get_layer_errors():
    model = _mlp()
    with pytest.raises(ValueError, match=r"No such layer: nope.*'hidden'"):
        model.get_layer('nope')
    with pytest.raises(ValueError, match='only has 3 layers'):
        model.get_layer(index=7)


def test_diamond_dag_and_multiple_outputs():
    x = Input(shape=(3,))
    a = Dense(2, name='a')(x)
    b = Dense(2, name='b')(x)
    c = Lambda(lambda t: t[0] + t[1], name='sum')([a, b])
    model = Model(inputs=x, outputs=[c, a])
    assert [la.name for la in model.layers][-1] in ('sum', 'a')
    assert {la.name for la in model.layers} == {x._keras_history[0].name, 'a', 'b', 'sum'}
    xs = np.random.rand(5, 3).astype('float32')
    out_c, out_a = model.predict(xs)
    wa, ba = model.get_layer('a').get_weights()
    wb, bb = model.get_layer('b').get_weights()
    np.testing.assert_allclose(out_a, xs @ wa + ba, rtol=1e-5)
    np.testing.assert_allclose(out_c, xs @ wa + ba + xs @ wb + bb, rtol=1e-5)


def test_graph_disconnected_is_a_clear_error():
    x1, x2 = Input(shape=(2,), name='in_1'), Input(shape=(2,), name='in_2')
    y = Lambda(lambda t: t[0] * t[1])([x1, x2])
    with pytest.raises(ValueError, match=r'Graph disconnected.*in_2'):
        Model(inputs=x1, outputs=y)


def test_inputs_must_come_from_input():
    x = Input(shape=(2,))
    h = Dense(2)(x)
    with pytest.raises(ValueError, match='must come from `graphc.layers.Input`'):
        Model(inputs=h, outputs=Dense(1)(h))
    with pytest.raises(ValueError, match='produced by graphc layers'):
        Model(inputs=x, outputs=K.placeholder(shape=(None, 2)))


def test_duplicate_layer_names_rejected():
    x = Input(shape=(2,))
    y = Dense(2, name='same')(Dense(2, name='same')(x))
    with pytest.raises(ValueError, match="'same' is used 2 times"):
        Model(x, y)


def test_shared_layer_has_one_set_of_weights():
    a, b = Input(shape=(3,)), Input(shape=(3,))
    shared = Dense(2)
    model = Model([a, b], [shared(a), shared(b)])
    assert len(model.trainable_weights) == 2
    xs = np.random.rand(4, 3).astype('float32')
    ya, yb = model.predict([xs, xs])
    np.testing.assert_allclose(ya, yb)


def test_model_is_callable_with_its_weights():
    inner = _mlp()
    x = Input(shape=(4,))
    y = inner(x)
    outer = Model(x, Dense(1)(y))
    assert inner in outer.layers
    assert len(outer.trainable_weights) == 6
    xs = np.random.rand(3, 4).astype('float32')
    np.testing.assert_allclose(Model(x, y).predict(xs), inner.predict(xs), rtol=1e-6)
    assert inner.output_shape == (None, 2)      # still the model's own output


def test_nested_model_trains_shared_weights():
    inner = _mlp()
    x = Input(shape=(4,))
    outer = Model(x, inner(x))
    outer.compile('sgd', 'mse')
    before = inner.get_weights()[0].copy()
    outer.train_on_batch(np.ones((2, 4)), np.ones((2, 2)))
    assert not np.allclose(before, inner.get_weights()[0])


def test_compute_output_shape_follows_graph():
    model = _mlp()
    assert model.compute_output_shape((None, 4)) == (None, 2)
    assert model.compute_output_shape((7, 4)) == (7, 2)


def test_uses_learning_phase_from_dropout():
    x = Input(shape=(3,))
    assert not Model(x, Dense(2)(x)).uses_learning_phase
    assert Model(x, Dropout(0.5)(Dense(2)(x))).uses_learning_phase


def test_functional_config_round_trip_gives_same_predictions():
    x = Input(shape=(3,), name='x')
    shared = Dense(2, name='shared')
    a = shared(x)
    b = shared(Dense(3, name='pre')(x))
    model = Model(x, [a, b], name='two')
    config = model.get_config()
    assert config['input_layers'] == [['x', 0, 0]]
    assert [c['name'] for c in config['layers']] == [la.name for la in model.layers]
    json.dumps(config)
    clone = Model.from_config(json.loads(json.dumps(config)))
    clone.set_weights(model.get_weights())
    xs = np.random.rand(5, 3).astype('float32')
    for got, want in zip(clone.predict(xs), model.predict(xs)):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    assert clone.name == 'two'
    assert len(clone.get_layer('shared')._inbound_nodes) == 2


def test_nested_model_config_round_trip():
    inner = _mlp()
    x = Input(shape=(4,), name='outer_in')
    outer = Model(x, Dense(1, name='head')(inner(x)))
    data = json.loads(outer.to_json())
    assert data['class_name'] == 'Model'
    clone = deserialize({'class_name': 'Model', 'config': data['config']})
    clone.set_weights(outer.get_weights())
    xs = np.random.rand(2, 4).astype('float32')
    np.testing.assert_allclose(clone.predict(xs), outer.predict(xs), rtol=1e-6)


def test_summary_table_functional():
    lines = []
    x = Input(shape=(3,), name='inp')
    a = Dense(2, name='a')(x)
    b = Dense(2, name='b')(x)
    model = Model(x, Lambda(lambda t: t[0] + t[1], name='add')([a, b]))
    model.summary(print_fn=lines.append)
    text = '\n'.join(lines)
    assert lines[1].startswith('Layer (type)') and 'Connected to' in lines[1]
    assert 'a (Dense)' in text and 'inp[0][0]' in text
    assert any(line.strip() == 'b[0][0]' for line in lines)   # second inbound of 'add'
    assert 'Total params: 16' in text
    assert 'Trainable params: 16' in text and 'Non-trainable params: 0' in text


def test_summary_sequential_table_matches_keras_layout():
    lines = []
    model = Sequential([Dense(32, input_shape=(784,), name='dense_a'), Dense(10, name='dense_b')])
    model.summary(print_fn=lines.append)
    assert lines[0] == '_' * 65
    assert lines[1].rstrip() == 'Layer (type)                 Output Shape              Param #'
    assert lines[3].rstrip() == ('dense_a (Dense)              (None, 32)                '
                                 '25120')
    assert 'Total params: 25,450' in lines
