"""graphc.legacy: the Keras 1 layers and argument decorators that Keras 2 kept."""
import warnings

import numpy as np
import pytest

import graphc
from graphc import backend as K
from graphc.layers import Input, Layer
from graphc.legacy import interfaces
from graphc.legacy.layers import AtrousConvolution1D, AtrousConvolution2D, Highway, MaxoutDense


def _quiet(factory, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return factory(*args, **kwargs)


@pytest.fixture(scope='module')
def legacy_model():
    x = Input((3,))
    highway = _quiet(Highway, activation='relu', name='hw')
    maxout = _quiet(MaxoutDense, 2, nb_feature=3, name='mo')
    return graphc.models.Model(x, [highway(x), maxout(x)])


def test_highway_and_maxout_compute_their_formulas(legacy_model):
    a = np.random.RandomState(0).rand(4, 3).astype('float32')
    rng = np.random.RandomState(1)
    legacy_model.set_weights([rng.randn(*w.shape).astype('float32')
                              for w in legacy_model.get_weights()])
    h, m = legacy_model.predict(a)
    W, W_carry, b, b_carry, MW, Mb = legacy_model.get_weights()
    gate = 1. / (1. + np.exp(-(a @ W_carry + b_carry)))
    np.testing.assert_allclose(h, np.maximum(a @ W + b, 0) * gate + a * (1 - gate),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m, np.max(np.einsum('bi,kio->bko', a, MW) + Mb, axis=1),
                               rtol=1e-5, atol=1e-6)


def test_legacy_layers_warn_and_round_trip_their_config():
    with pytest.warns(UserWarning, match='deprecated'):
        layer = Highway(bias=False, activation='tanh', input_dim=4)
    assert layer.batch_input_shape == (None, 4)
    config = graphc.layers.serialize(layer)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        clone = graphc.layers.deserialize(config)
    assert type(clone) is Highway and clone.get_config() == layer.get_config()
    with pytest.warns(UserWarning, match='deprecated'):
        mo = MaxoutDense(5, nb_feature=2, W_regularizer='l2')
    assert mo.get_config()['W_regularizer']['class_name'] == 'L1L2'


def test_maxout_refuses_a_nonpositive_size():
    with pytest.raises(ValueError, match='output_dim and nb_feature must be positive'):
        _quiet(MaxoutDense, 0)


def test_atrous_convolutions_are_dilated_convolutions():
    with pytest.warns(UserWarning, match='dilation_rate'):
        conv = AtrousConvolution2D(4, (3, 3), atrous_rate=(2, 2))
    assert type(conv).__name__ == 'Conv2D' and conv.dilation_rate == (2, 2)
    conv1 = _quiet(AtrousConvolution1D, 2, 3, atrous_rate=3)
    assert conv1.dilation_rate == (3,)
    assert graphc.layers.AtrousConv2D is AtrousConvolution2D


def test_legacy_interface_renames_keras_1_arguments():
    class MyDense(Layer):
        @interfaces.legacy_dense_support
        def __init__(self, units, kernel_initializer='glorot_uniform', use_bias=True,
                     **kwargs):
            super().__init__(**kwargs)
            self.units, self.kernel_initializer, self.use_bias = (units, kernel_initializer,
                                                                 use_bias)

    with pytest.warns(UserWarning, match='output_dim -> units'):
        layer = MyDense(output_dim=3, init='zeros', bias=False)
    assert (layer.units, layer.kernel_initializer, layer.use_bias) == (3, 'zeros', False)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert MyDense(4).units == 4   # Keras 2 arguments pass without a warning
    with pytest.raises(TypeError, match='both the legacy keyword argument `init`'):
        MyDense(3, init='zeros', kernel_initializer='ones')
    with pytest.raises(TypeError, match='only 1 positional'):
        MyDense(3, 'zeros')


def test_legacy_add_weight_accepts_the_keras_1_order():
    class Scale(Layer):
        def build(self, input_shape):
            with pytest.warns(UserWarning, match=r'\(name, shape'):
                self.w = self._legacy_add_weight((input_shape[-1],), 'ones', 'w')
            self.built = True

        _legacy_add_weight = interfaces.legacy_add_weight_support(Layer.add_weight)

        def call(self, x):
            return x * self.w

    layer = Scale()
    layer.build((None, 3))
    np.testing.assert_array_equal(K.get_value(layer.w), np.ones(3))
    assert layer.w in layer.trainable_weights
