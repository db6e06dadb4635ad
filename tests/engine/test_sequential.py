"""Sequential: list constructor, add / pop, deferred build, config."""
import numpy as np
import pytest

from graphc.layers import Activation, Dense, Dropout, Flatten, Input, InputLayer
from graphc.models import Model, Sequential


def test_list_constructor_and_add_are_equivalent():
    a = Sequential([Dense(4, input_shape=(3,)), Activation('relu'), Dense(2)])
    b = Sequential()
    b.add(Dense(4, input_dim=3))
    b.add(Activation('relu'))
    b.add(Dense(2))
    for m in (a, b):
        assert len(m.layers) == 3
        assert m.input_shape == (None, 3) and m.output_shape == (None, 2)
        assert len(m.trainable_weights) == 4


def test_add_rejects_non_layers_and_multi_output():
    model = Sequential()
    with pytest.raises(TypeError, match='must be an instance of class Layer'):
        model.add('dense')


def test_pop_removes_last_layer():
    model = Sequential([Dense(4, input_shape=(3,)), Dense(2)])
    model.pop()
    assert len(model.layers) == 1 and model.output_shape == (None, 4)
    assert model.predict(np.ones((2, 3))).shape == (2, 4)
    model.pop()
    assert model.layers == []
    with pytest.raises(TypeError, match='no layers'):
        model.pop()


def test_deferred_build_on_first_data():
    model = Sequential()
    model.add(Flatten())
    model.add(Dense(8, activation='relu'))
    model.add(Dense(2, activation='softmax'))
    assert not model.built
    with pytest.raises(ValueError, match='not yet been built'):
        model.summary()
    model.compile(optimizer='Adam', loss='categorical_crossentropy', metrics=['accuracy'])
    x = np.random.rand(10, 3, 2).astype('float32')
    y = np.eye(2)[np.arange(10) % 2]
    model.fit(x, y, epochs=1, verbose=0)
    assert model.built and model.input_shape == (None, 3, 2)
    assert model.layers[1].input_shape == (None, 6)
    assert model.predict(x).shape == (10, 2)


def test_explicit_build_and_input_layer():
    model = Sequential([Dense(3), Dense(1)])
    model.build((None, 5))
    assert model.output_shape == (None, 1)
    model2 = Sequential([InputLayer(input_shape=(4,)), Dense(2)])
    assert model2.input_shape == (None, 4)
    assert model2.layers[0].name.startswith('dense')


def test_add_after_compile_recompiles():
    model = Sequential([Dense(3, input_shape=(2,))])
    model.compile('sgd', 'mse')
    model.add(Dense(1))
    loss = model.train_on_batch(np.ones((4, 2)), np.ones((4, 1)))
    assert np.isfinite(loss)


def test_sequential_as_a_layer_of_a_functional_model():
    seq = Sequential([Dense(4, input_shape=(3,)), Dense(2)])
    x = Input(shape=(3,))
    model = Model(x, seq(x))
    xs = np.random.rand(5, 3).astype('float32')
    np.testing.assert_allclose(model.predict(xs), seq.predict(xs), rtol=1e-6)


def test_model_as_first_layer_of_sequential():
    inner = Sequential([Dense(4, input_shape=(3,))])
    outer = Sequential([inner, Dense(1)])
    assert outer.input_shape == (None, 3) and outer.output_shape == (None, 1)


def test_config_round_trip_same_predictions():
    model = Sequential([Dense(4, input_shape=(3,), activation='tanh'), Dropout(0.2), Dense(2)])
    clone = Sequential.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    xs = np.random.rand(5, 3).astype('float32')
    np.testing.assert_allclose(clone.predict(xs), model.predict(xs), rtol=1e-6)
    # Keras 2.0 / 2.1 wrote a plain list of layer configs
    legacy = Sequential.from_config(model.get_config()['layers'])
    assert [type(la) for la in legacy.layers] == [type(la) for la in model.layers]


def test_predict_classes_and_proba():
    model = Sequential([Dense(3, input_shape=(2,), activation='softmax')])
    xs = np.random.rand(4, 2)
    np.testing.assert_array_equal(model.predict_classes(xs), model.predict(xs).argmax(-1))
    np.testing.assert_allclose(model.predict_proba(xs), model.predict(xs))
