"""Engine behaviour that Keras 2 programs rely on (issue: the whole Keras 2 API, item 5)."""
import warnings

import numpy as np
import pytest

from graphc import backend as K
from graphc.layers import Dense, Dropout, Input, Lambda, Layer, Reshape, SimpleRNN
from graphc.models import Model, Sequential


def test_a_one_element_list_is_passed_on_as_its_tensor():
    x = Input((3,))
    # K.gradients returns a list; a Lambda returning it gives the next layer a tensor
    grads = Lambda(lambda t: K.gradients(K.sum(K.square(t)), [t]))(x)
    assert not isinstance(grads, list)
    y = Dense(2, kernel_initializer='ones', bias_initializer='zeros')([grads])
    model = Model(x, y)
    a = np.arange(6, dtype='float32').reshape(2, 3)
    np.testing.assert_allclose(model.predict(a), np.repeat((2 * a).sum(1, keepdims=True), 2, 1))


def test_a_layer_returning_a_one_element_list_gives_a_tensor():
    x = Input((3,))
    out = Lambda(lambda t: [t * 2.])(x)
    assert not isinstance(out, list) and out._keras_shape == (None, 3)


def test_a_model_may_repeat_an_output_with_a_warning():
    x = Input((3,))
    y = Dense(2)(x)
    with pytest.warns(UserWarning, match='outputs passed to the model is redundant'):
        model = Model(x, [y, y])
    a = np.random.RandomState(0).rand(4, 3).astype('float32')
    first, second = model.predict(a)
    np.testing.assert_array_equal(first, second)
    model.compile('sgd', ['mse', 'mae'])
    history = model.fit(a, [np.ones((4, 2))] * 2, epochs=1, verbose=0)
    assert np.isfinite(history.history['loss'][0])
    with pytest.raises(ValueError, match='inputs passed to the model is redundant'):
        Model([x, x], y)


def test_dropout_noise_shape_given_as_a_list_shares_the_mask():
    x = Input((6, 4))
    layer = Dropout(0.5, noise_shape=[None, 1, 4], seed=1)
    f = K.function([x, K.learning_phase()], [layer(x)])
    out = f([np.ones((3, 6, 4), 'float32'), 1])[0]
    kept = out != 0
    assert kept.any() and not kept.all()
    assert (kept == kept[:, :1, :]).all()          # one decision per sample and feature
    np.testing.assert_allclose(out[kept], 2.)      # kept values scaled by 1 / (1 - rate)
    assert layer.get_config()['noise_shape'] == [None, 1, 4]
    np.testing.assert_array_equal(f([np.ones((3, 6, 4), 'float32'), 0])[0], 1.)


def test_reshape_minus_one_with_unknown_dimensions():
    x = Input((None, 2))
    a, b = Reshape((-1, 1))(x), Reshape((1, -1, 1))(x)
    model = Model(x, [a, b])
    assert model.output_shape == [(None, None, 1), (None, 1, None, 1)]
    data = np.arange(12, dtype='float32').reshape(2, 3, 2)
    first, second = model.predict(data)
    np.testing.assert_array_equal(first, data.reshape(2, 6, 1))
    np.testing.assert_array_equal(second, data.reshape(2, 1, 6, 1))
    with pytest.raises(ValueError, match='both unknown.*batch_shape'):
        Reshape((-1, 2))(x)


def test_reshape_minus_one_with_a_fixed_batch_size():
    x = Input(batch_shape=(2, None, 2))
    model = Model(x, Reshape((-1, 4))(x))
    data = np.arange(16, dtype='float32').reshape(2, 4, 2)
    np.testing.assert_array_equal(model.predict(data, batch_size=2), data.reshape(2, 2, 4))


def test_reshape_minus_one_with_known_dimensions():
    model = Sequential([Reshape((-1, 1), input_shape=(6,))])
    assert model.output_shape == (None, 6, 1)


def test_simple_rnn_accepts_implementation_with_a_warning():
    with pytest.warns(UserWarning, match='`implementation` argument in `SimpleRNN`'):
        layer = SimpleRNN(3, implementation=2)
    assert 'implementation' not in layer.get_config()
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        SimpleRNN(3)


def cube(x):
    return x * x * x


def cube_shape(input_shape):
    return input_shape


def test_a_lambda_of_a_named_function_reloads_without_custom_objects(tmp_path):
    import sys

    from graphc.models import load_model
    x = Input((2,))
    model = Model(x, Lambda(cube, output_shape=cube_shape, name='cube')(x))
    config = model.get_layer('cube').get_config()
    assert (config['function'], config['module']) == ('cube', __name__)
    assert config['output_shape_module'] == __name__
    path = str(tmp_path / 'cube.h5')
    model.save(path)
    # Looking a name up in any imported module is opt-in (safe mode resolves custom objects
    # only: a file could otherwise call any imported function with its own arguments).
    with pytest.raises(ValueError, match="function 'cube' of module .*custom_objects"
                                         ".*safe_mode=False"):
        load_model(path, compile=False)
    loaded = load_model(path, compile=False, safe_mode=False)   # no bytecode either way
    layer = loaded.get_layer('cube')
    assert layer.function is cube and layer._output_shape is cube_shape
    np.testing.assert_allclose(loaded.predict(np.array([[2., -1.]], 'float32')), [[8., -1.]])
    objects = {'cube': cube, 'cube_shape': cube_shape}
    assert load_model(path, compile=False, custom_objects=objects).get_layer('cube').function \
        is cube
    assert 'graphc_never_imported_module' not in sys.modules
    config['module'] = 'graphc_never_imported_module'
    with pytest.raises(ValueError, match="unknown function 'cube'.*graphc_never_imported_module"
                                         ".*import the module"):
        Lambda.from_config(config, safe_mode=False)
    assert 'graphc_never_imported_module' not in sys.modules   # nothing was imported
    assert Lambda.from_config(config, custom_objects={'cube': abs, 'cube_shape': cube_shape}
                              ).function is abs


def test_set_learning_phase_holds_for_predict_and_evaluate():
    model = Sequential([Dropout(0.5, input_shape=(400,))])
    model.compile('sgd', 'mse')
    ones = np.ones((2, 400), 'float32')
    assert (model.predict(ones) == 0).sum() == 0             # predict runs in test mode
    try:
        K.set_learning_phase(1)
        dropped = model.predict(ones) == 0
        assert 0 < dropped.sum() < dropped.size               # dropout on, as Keras 2 does
        assert (model.predict_on_batch(ones) == 0).any()
        assert model.evaluate(ones, ones, verbose=0) > 0.       # dropped entries cost
        K.set_learning_phase(0)
        assert (model.predict(ones) == 0).sum() == 0
    finally:
        K.clear_session()
    assert K.learning_phase_value() == 0
    assert (model.predict(ones) == 0).sum() == 0


def test_fit_generator_gives_callbacks_the_validation_arrays():
    from graphc.callbacks import Callback

    class Record(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.seen = self.validation_data

    def batches():
        while True:
            yield np.ones((2, 2), 'float32'), np.ones((2, 1), 'float32')

    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile('sgd', 'mse')
    vx, vy = np.arange(6, dtype='float32').reshape(3, 2), np.zeros((3, 1), 'float32')
    record = Record()
    model.fit_generator(batches(), steps_per_epoch=1, epochs=1, validation_data=(vx, vy),
                        callbacks=[record], verbose=0)
    x_seen, y_seen, weights_seen = record.seen        # as fit gives them
    np.testing.assert_array_equal(x_seen, vx)
    np.testing.assert_array_equal(y_seen, vy)
    np.testing.assert_array_equal(weights_seen, np.ones(3))
    record = Record()
    model.fit_generator(batches(), steps_per_epoch=1, epochs=1, validation_data=batches(),
                        validation_steps=1, callbacks=[record], verbose=0)
    assert record.seen is None                          # a generator: no arrays to give


class Scale(Layer):   # a user's layer: pickled by reference to its class
    def build(self, input_shape):
        self.w = self.add_weight('w', (int(input_shape[-1]),), initializer='ones')
        self.built = True

    def call(self, x):
        return x * self.w


def test_pickling_a_model_round_trips_weights_and_optimizer_state():
    import pickle
    rng = np.random.RandomState(0)
    x, y = rng.rand(8, 3).astype('float32'), rng.rand(8, 2).astype('float32')
    model = Sequential([Scale(input_shape=(3,)), Dense(2), Lambda(lambda t: t * 3.)])
    model.compile('adam', 'mse', metrics=['mae'])
    model.fit(x, y, epochs=2, verbose=0)
    clone = pickle.loads(pickle.dumps(model))
    assert type(clone.layers[0]) is Scale and clone is not model
    np.testing.assert_allclose(clone.predict(x), model.predict(x), rtol=1e-6)
    state = K.batch_get_value(model.optimizer.weights)
    assert len(state) > 1 and int(state[0]) == 2          # iterations, then Adam's moments
    for a, b in zip(state, K.batch_get_value(clone.optimizer.weights)):
        np.testing.assert_array_equal(a, b)
    # training goes on from the same state: the same next step
    first = model.fit(x, y, epochs=1, shuffle=False, verbose=0).history['loss']
    again = clone.fit(x, y, epochs=1, shuffle=False, verbose=0).history['loss']
    np.testing.assert_allclose(first, again, rtol=1e-6)


def test_pickling_an_uncompiled_functional_model():
    import pickle
    inp = Input((3,))
    model = Model(inp, Dense(1)(inp))
    with warnings.catch_warnings():
        warnings.simplefilter('error')     # no "not compiled" warning on loading
        clone = pickle.loads(pickle.dumps(model))
    a = np.ones((2, 3), 'float32')
    np.testing.assert_allclose(clone.predict(a), model.predict(a))
    assert getattr(clone, 'optimizer', None) is None


def test_a_subclassed_model_says_it_cannot_be_pickled():
    import pickle

    class Custom(Model):
        def call(self, inputs):
            return inputs

    with pytest.raises(TypeError, match='only Sequential and functional models'):
        pickle.dumps(Custom())


def test_clone_model_with_input_tensors_and_user_layers():
    from graphc.layers import Add
    from graphc.models import clone_model
    a, b = Input((3,), name='a'), Input((3,), name='b')
    shared = Dense(3, name='shared')
    out = Dense(2, name='head')(Add()([shared(a), Scale(name='scale')(shared(b))]))
    model = Model([a, b], out, name='two_inputs')
    p, q = K.placeholder(shape=(None, 3)), Input((3,), name='q')
    wrapped = clone_model(model, input_tensors=[p, q])   # a plain tensor gets an Input layer
    assert wrapped.inputs[0] is p and wrapped.inputs[1] is q
    assert wrapped.layers[0].name == 'input_wrapper_for_a'
    clone = clone_model(model, input_tensors=[Input((3,)), Input((3,))])
    assert clone.name == 'two_inputs'
    assert type(clone.get_layer('scale')) is Scale           # the user's class, no lookup
    assert clone.get_layer('shared') is not shared
    assert len(clone.get_layer('shared')._inbound_nodes) == 2   # still shared in the clone
    clone.set_weights(model.get_weights())
    data = [np.random.RandomState(1).rand(2, 3).astype('float32') for _ in range(2)]
    np.testing.assert_allclose(clone.predict(data), model.predict(data), rtol=1e-6)
    with pytest.raises(ValueError, match='has 2 input.*holds 1'):
        clone_model(model, input_tensors=q)


def test_clone_sequential_on_a_tensor():
    from graphc.models import clone_model
    model = Sequential([Scale(input_shape=(3,)), Dense(2)], name='seq')
    x = Input((3,))
    clone = clone_model(model, input_tensors=x)
    assert isinstance(clone, Sequential) and clone.inputs[0] is x
    assert [type(la) for la in clone.layers] == [Scale, Dense]
    placeholder = K.placeholder(shape=(None, 3))
    assert clone_model(model, input_tensors=placeholder).inputs[0] is placeholder
    with pytest.raises(ValueError, match='functional API'):
        clone_model(model, input_tensors=Dense(3)(Input((4,))))


class WeightedMSE:
    """A loss object with get_config (built from its config when the model is loaded)."""

    def __init__(self, weight=1.):
        self.weight = weight
        self.__name__ = 'weighted_mse'

    def __call__(self, y_true, y_pred):
        return self.weight * K.mean(K.square(y_pred - y_true), axis=-1)

    def get_config(self):
        return {'weight': self.weight}


class ScaledMAE(WeightedMSE):
    """A metric object with get_config."""

    def __init__(self, weight=1.):
        super().__init__(weight)
        self.__name__ = 'scaled_mae'

    def __call__(self, y_true, y_pred):
        return self.weight * K.mean(K.abs(y_pred - y_true), axis=-1)


def test_loss_and_metric_objects_with_get_config_save_and_reload(tmp_path):
    from graphc import losses, metrics
    from graphc.models import load_model
    assert losses.serialize(WeightedMSE(3.)) == {'class_name': 'WeightedMSE',
                                                 'config': {'weight': 3.}}
    assert metrics.serialize(ScaledMAE(2.))['config'] == {'weight': 2.}
    assert losses.serialize(losses.mse) == 'mean_squared_error'
    rebuilt = losses.deserialize(losses.serialize(WeightedMSE(3.)),
                                 custom_objects={'WeightedMSE': WeightedMSE})
    assert isinstance(rebuilt, WeightedMSE) and rebuilt.weight == 3.

    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile('sgd', WeightedMSE(3.), metrics=[ScaledMAE(2.)])
    x, y = np.ones((4, 2), 'float32'), np.zeros((4, 1), 'float32')
    assert model.fit(x, y, epochs=1, verbose=0).history.keys() == {'loss', 'scaled_mae'}
    path = str(tmp_path / 'objects.h5')
    model.save(path)
    loaded = load_model(path, custom_objects={'WeightedMSE': WeightedMSE,
                                              'ScaledMAE': ScaledMAE})
    assert isinstance(loaded.loss, WeightedMSE) and loaded.loss.weight == 3.
    assert loaded.metrics_names == ['loss', 'scaled_mae']
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0),
                               rtol=1e-6)
    with pytest.raises(ValueError, match='Unknown loss function: weighted_mse'):
        load_model(path)      # without the class: its name is unknown, as before
