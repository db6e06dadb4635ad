"""layer_utils: parameter counts, the summary, kernel conversion and source inputs."""
import numpy as np
import pytest

from graphc import backend as K
from graphc.layers import Add, Conv1D, Conv2D, Dense, Flatten, Input
from graphc.models import Model, Sequential
from graphc.utils import layer_utils


@pytest.fixture(scope='module')
def convnet():
    model = Sequential([Conv2D(3, (2, 3), input_shape=(5, 5, 2)), Flatten(), Dense(2)])
    return model


def test_count_params_counts_each_variable_once(convnet):
    weights = convnet.trainable_weights
    expected = 2 * 3 * 2 * 3 + 3 + 4 * 3 * 3 * 2 + 2
    assert layer_utils.count_params(weights) == expected
    assert layer_utils.count_params(weights + weights[:1]) == expected
    assert layer_utils.count_params([]) == 0


def test_print_summary_writes_the_table_through_print_fn(convnet):
    lines = []
    layer_utils.print_summary(convnet, print_fn=lines.append)
    text = '\n'.join(lines)
    total = layer_utils.count_params(convnet.weights)
    assert 'conv2d' in text.lower() and f'Total params: {total}' in text.replace(',', '')


def test_convert_all_kernels_flips_only_convolution_kernels(convnet):
    before = [K.get_value(w).copy() for w in convnet.weights]
    assert layer_utils.convert_all_kernels_in_model(convnet) == 1
    after = [K.get_value(w) for w in convnet.weights]
    np.testing.assert_array_equal(after[0], before[0][::-1, ::-1])
    for a, b in zip(after[1:], before[1:]):
        np.testing.assert_array_equal(a, b)
    layer_utils.convert_all_kernels_in_model(convnet)   # flipping twice restores it
    np.testing.assert_array_equal(K.get_value(convnet.weights[0]), before[0])


def test_convert_all_kernels_reaches_nested_models():
    inner = Sequential([Conv1D(2, 3, input_shape=(6, 1))])
    x = Input((6, 1))
    outer = Model(x, inner(x))
    kernel = K.get_value(inner.layers[0].kernel).copy()
    assert layer_utils.convert_all_kernels_in_model(outer) == 1
    np.testing.assert_array_equal(K.get_value(inner.layers[0].kernel), kernel[::-1])


@pytest.mark.parametrize('target', ['channels_first', 'channels_last'])
def test_convert_dense_weights_data_format_keeps_the_outputs(target):
    rng = np.random.RandomState(0)
    dense = Dense(4)
    dense.build((None, 2 * 3 * 5))
    kernel, bias = rng.rand(30, 4).astype('float32'), rng.rand(4).astype('float32')
    dense.set_weights([kernel, bias])
    if target == 'channels_first':   # trained on (2, 3, 5) channels_last maps
        old_shape, maps = (2, 3, 5), rng.rand(2, 3, 5)
        new_maps = np.moveaxis(maps, -1, 0)
    else:                            # trained on (5, 2, 3) channels_first maps
        old_shape, maps = (5, 2, 3), rng.rand(5, 2, 3)
        new_maps = np.moveaxis(maps, 0, -1)
    layer_utils.convert_dense_weights_data_format(dense, old_shape, target)
    new_kernel, new_bias = dense.get_weights()
    np.testing.assert_allclose(new_maps.reshape(-1) @ new_kernel, maps.reshape(-1) @ kernel,
                               rtol=1e-5)
    np.testing.assert_array_equal(new_bias, bias)
    with pytest.raises(ValueError, match='flattens to 12'):
        layer_utils.convert_dense_weights_data_format(dense, (2, 2, 3), target)


def test_get_source_inputs_walks_back_to_the_input_tensors():
    a, b, c = Input((2,)), Input((2,)), Input((2,))
    ab = Add()([a, b])
    out = Dense(2)(Add()([ab, Dense(2)(a), c]))
    sources = layer_utils.get_source_inputs(out)
    assert len(sources) == 3 and all(s is t for s, t in zip(sources, [a, b, c]))
    assert layer_utils.get_source_inputs(a)[0] is a
    plain = K.placeholder(shape=(None, 2))
    assert layer_utils.get_source_inputs(plain) == [plain]
