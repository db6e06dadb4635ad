"""Layer: build / call / weights / losses / updates / input checks / node bookkeeping."""
import numpy as np
import pytest

from graphc import backend as K
from graphc.engine.base_layer import InputSpec, Layer, is_keras_tensor, to_snake_case
from graphc.layers import Dense, Input


class Scale(Layer):
    """A layer with one trainable and one non-trainable weight and a regularizer."""

    def build(self, input_shape):
        self.w = self.add_weight('w', (input_shape[-1],), initializer='ones',
                                 regularizer='l2')
        self.count = self.add_weight('count', (), initializer='zeros', trainable=False)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_shape[-1]})
        self.built = True

    def call(self, x):
        self.add_update([K.update_add(self.count, K.constant(1.))], x)
        return x * self.w


def test_snake_case_names():
    assert to_snake_case('Dense') == 'dense'
    assert to_snake_case('MaxPooling2D') == 'max_pooling2d'
    assert to_snake_case('InputLayer') == 'input_layer'


def test_layer_names_are_unique_per_class():
    assert Dense(2).name == 'dense_1'
    assert Dense(2).name == 'dense_2'
    assert Dense(2, name='mine').name == 'mine'


def test_unknown_keyword_is_a_clear_error():
    with pytest.raises(TypeError, match="unknown keyword argument.*'input_sahpe'"):
        Dense(2, input_sahpe=(3,))


def test_build_on_first_call_creates_weights_named_by_layer():
    x = Input(shape=(3,))
    layer = Scale(name='scale')
    y = layer(x)
    assert layer.built
    assert [w.name for w in layer.trainable_weights] == ['scale/w']
    assert [w.name for w in layer.non_trainable_weights] == ['scale/count']
    assert len(layer.weights) == 2
    assert len(layer.losses) == 1            # the l2 penalty
    assert len(layer.get_updates_for([x])) == 1
    assert layer.get_updates_for(None) == []
    assert is_keras_tensor(y)
    assert y._keras_shape == (None, 3)


def test_call_runs_in_the_layer_name_scope():
    x = Input(shape=(3,))
    y = Dense(2, name='my_dense')(x)
    assert y.node.scope.split('/')[0] == 'my_dense'


def test_non_trainable_layer_moves_weights():
    layer = Scale()
    layer(Input(shape=(2,)))
    layer.trainable = False
    assert layer.trainable_weights == []
    assert len(layer.non_trainable_weights) == 2
    assert layer.updates == []


def test_get_and_set_weights_round_trip_and_errors():
    layer = Dense(2)
    layer(Input(shape=(3,)))
    w = [np.arange(6, dtype='float32').reshape(3, 2), np.array([1., 2.], 'float32')]
    layer.set_weights(w)
    got = layer.get_weights()
    np.testing.assert_array_equal(got[0], w[0])
    np.testing.assert_array_equal(got[1], w[1])
    with pytest.raises(ValueError, match='expecting 2 weights'):
        layer.set_weights(w[:1])
    with pytest.raises(ValueError, match=r'\(3, 2\).*\(2, 3\)'):
        layer.set_weights([w[0].T, w[1]])


def test_weights_argument_sets_initial_values():
    kernel = np.ones((3, 2), 'float32')
    layer = Dense(2, weights=[kernel, np.zeros(2, 'float32')])
    layer(Input(shape=(3,)))
    np.testing.assert_array_equal(layer.get_weights()[0], kernel)


def test_count_params_needs_a_built_layer():
    with pytest.raises(ValueError, match="isn't built"):
        Dense(2).count_params()
    layer = Dense(2)
    layer(Input(shape=(3,)))
    assert layer.count_params() == 8


def test_input_spec_error_names_layer_and_shapes():
    layer = Dense(4, name='dense_a')
    layer(Input(shape=(3,)))
    with pytest.raises(ValueError, match=r'dense_a.*axis -1.*value 3.*\(None, 5\)'):
        layer(Input(shape=(5,)))
    with pytest.raises(ValueError, match=r'dense_b.*min_ndim=2.*ndim=1'):
        Dense(4, name='dense_b')(Input(batch_shape=(3,)))


def test_node_bookkeeping_single_and_multiple_calls():
    a, b = Input(shape=(3,)), Input(shape=(3,))
    shared = Dense(4, name='shared')
    ya = shared(a)
    assert shared.input is a and shared.output is ya
    assert shared.input_shape == (None, 3) and shared.output_shape == (None, 4)
    yb = shared(b)
    with pytest.raises(AttributeError, match=r'shared has multiple inbound nodes.*get_output_at'):
        shared.output
    with pytest.raises(AttributeError, match=r'get_input_at'):
        shared.input
    assert shared.get_output_at(0) is ya and shared.get_output_at(1) is yb
    assert shared.get_input_at(1) is b
    assert shared.get_input_shape_at(1) == (None, 3)
    assert shared.get_output_shape_at(0) == (None, 4)
    assert shared.output_shape == (None, 4)   # the same at every node
    assert len(shared.weights) == 2            # one set of weights
    with pytest.raises(ValueError, match='only 2 inbound nodes'):
        shared.get_output_at(5)


def test_unconnected_layer_has_no_output():
    with pytest.raises(AttributeError, match='not connected'):
        Dense(2).output


def test_layer_on_a_plain_placeholder_makes_no_node():
    x = K.placeholder(shape=(None, 3))
    layer = Dense(2)
    y = layer(x)
    assert not is_keras_tensor(y)
    assert layer._inbound_nodes == []


def test_identity_layer_output_is_a_new_tensor():
    x = Input(shape=(2,))
    y = Layer()(x)
    assert y is not x
    assert y._keras_history[0] is not x._keras_history[0]


def test_get_config_from_config():
    layer = Dense(3, name='d', trainable=False)
    config = layer.get_config()
    clone = Dense.from_config(config)
    assert clone.name == 'd' and clone.units == 3 and clone.trainable is False
