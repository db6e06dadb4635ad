"""Every public module of Keras 2.2.4 at its path in graphc, holding Keras 2.2.4's names.

The lists below are written out from Keras 2.2.4's documentation and modules (the classes and
functions each module defines or documents). Names graphc does not provide yet are listed in
NOT_YET with the reason; a test checks that list stays true, so whoever adds one of them is
told to take it off the list.
"""
import importlib
import warnings

import pytest

import graphc

KERAS_224 = {
    'layers.core': [
        'Masking', 'Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'SpatialDropout3D',
        'Activation', 'Reshape', 'Permute', 'Flatten', 'RepeatVector', 'Lambda', 'Dense',
        'ActivityRegularization'],
    'layers.convolutional': [
        'Conv1D', 'Conv2D', 'Conv3D', 'Conv2DTranspose', 'Conv3DTranspose', 'SeparableConv1D',
        'SeparableConv2D', 'DepthwiseConv2D', 'UpSampling1D', 'UpSampling2D', 'UpSampling3D',
        'ZeroPadding1D', 'ZeroPadding2D', 'ZeroPadding3D', 'Cropping1D', 'Cropping2D',
        'Cropping3D', 'Convolution1D', 'Convolution2D', 'Convolution3D',
        'SeparableConvolution1D', 'SeparableConvolution2D', 'Convolution2DTranspose',
        'Deconvolution2D', 'Deconv2D', 'Deconvolution3D', 'Deconv3D', 'AtrousConv1D',
        'AtrousConv2D'],
    'layers.pooling': [
        'MaxPooling1D', 'AveragePooling1D', 'MaxPooling2D', 'AveragePooling2D', 'MaxPooling3D',
        'AveragePooling3D', 'GlobalAveragePooling1D', 'GlobalMaxPooling1D',
        'GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'GlobalAveragePooling3D',
        'GlobalMaxPooling3D', 'AvgPool1D', 'MaxPool1D', 'AvgPool2D', 'MaxPool2D', 'AvgPool3D',
        'MaxPool3D', 'GlobalMaxPool1D', 'GlobalMaxPool2D', 'GlobalMaxPool3D', 'GlobalAvgPool1D',
        'GlobalAvgPool2D', 'GlobalAvgPool3D'],
    'layers.recurrent': [
        'StackedRNNCells', 'RNN', 'SimpleRNNCell', 'SimpleRNN', 'GRUCell', 'GRU', 'LSTMCell',
        'LSTM'],
    'layers.convolutional_recurrent': ['ConvRNN2D', 'ConvLSTM2DCell', 'ConvLSTM2D'],
    'layers.embeddings': ['Embedding'],
    'layers.local': ['LocallyConnected1D', 'LocallyConnected2D'],
    'layers.merge': [
        'Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum', 'Concatenate', 'Dot',
        'add', 'subtract', 'multiply', 'average', 'maximum', 'minimum', 'concatenate', 'dot'],
    'layers.normalization': ['BatchNormalization'],
    'layers.noise': ['GaussianNoise', 'GaussianDropout', 'AlphaDropout'],
    'layers.advanced_activations': [
        'LeakyReLU', 'PReLU', 'ELU', 'ThresholdedReLU', 'Softmax', 'ReLU'],
    'layers.wrappers': ['Wrapper', 'TimeDistributed', 'Bidirectional'],
    'layers.cudnn_recurrent': ['CuDNNGRU', 'CuDNNLSTM'],
    'engine': ['Input', 'InputLayer', 'InputSpec', 'Layer', 'get_source_inputs', 'Model'],
    'engine.topology': [
        'Layer', 'Node', 'InputSpec', 'Input', 'InputLayer', 'Network', 'get_source_inputs'],
    'engine.training': ['Model'],
    'utils': [
        'np_utils', 'generic_utils', 'data_utils', 'io_utils', 'conv_utils', 'HDF5Matrix',
        'h5dict', 'get_file', 'Sequence', 'GeneratorEnqueuer', 'OrderedEnqueuer',
        'CustomObjectScope', 'custom_object_scope', 'get_custom_objects',
        'serialize_keras_object', 'deserialize_keras_object', 'Progbar',
        'convert_all_kernels_in_model', 'get_source_inputs', 'print_summary', 'plot_model',
        'to_categorical', 'normalize', 'multi_gpu_model'],
    'utils.generic_utils': [
        'CustomObjectScope', 'custom_object_scope', 'get_custom_objects',
        'serialize_keras_object', 'deserialize_keras_object', 'func_dump', 'func_load',
        'has_arg', 'Progbar', 'to_list', 'unpack_singleton', 'object_list_uid', 'is_all_none',
        'slice_arrays', 'transpose_shape'],
    'utils.data_utils': [
        'get_file', 'validate_file', 'Sequence', 'SequenceEnqueuer', 'OrderedEnqueuer',
        'GeneratorEnqueuer'],
    'utils.np_utils': ['to_categorical', 'normalize'],
    'utils.conv_utils': [
        'normalize_tuple', 'normalize_padding', 'convert_kernel', 'conv_output_length',
        'conv_input_length', 'deconv_length'],
    'utils.layer_utils': [
        'count_params', 'print_summary', 'convert_all_kernels_in_model',
        'convert_dense_weights_data_format', 'get_source_inputs'],
    'utils.io_utils': ['HDF5Matrix', 'ask_to_proceed_with_overwrite', 'H5Dict', 'h5dict'],
    'utils.vis_utils': ['model_to_dot', 'plot_model'],
    'utils.multi_gpu_utils': ['multi_gpu_model'],
    'legacy.layers': [
        'MaxoutDense', 'Highway', 'AtrousConvolution1D', 'AtrousConvolution2D', 'Recurrent',
        'ConvRecurrent2D'],
    'legacy.interfaces': [
        'generate_legacy_interface', 'generate_legacy_method_interface',
        'raise_duplicate_arg_error', 'legacy_dense_support', 'legacy_dropout_support',
        'legacy_embedding_support', 'legacy_get_updates_support', 'legacy_add_weight_support',
        'legacy_generator_methods_support', 'legacy_model_constructor_support',
        'legacy_input_support'],
    # the backend's documented functions and its configuration calls
    'backend': [
        'backend', 'epsilon', 'set_epsilon', 'floatx', 'set_floatx', 'cast_to_floatx',
        'image_data_format', 'set_image_data_format', 'normalize_data_format',
        'set_image_dim_ordering', 'image_dim_ordering', 'get_uid', 'reset_uids',
        'clear_session', 'manual_variable_initialization', 'learning_phase',
        'set_learning_phase', 'is_sparse', 'to_dense', 'variable', 'constant',
        'is_keras_tensor', 'is_tensor', 'placeholder', 'is_placeholder', 'shape', 'int_shape',
        'ndim', 'dtype', 'eval', 'zeros', 'ones', 'eye', 'zeros_like', 'ones_like', 'identity',
        'random_uniform_variable', 'random_normal_variable', 'count_params', 'cast', 'update',
        'update_add', 'update_sub', 'moving_average_update', 'dot', 'batch_dot', 'transpose',
        'gather', 'max', 'min', 'sum', 'prod', 'cumsum', 'cumprod', 'var', 'std', 'mean', 'any',
        'all', 'argmax', 'argmin', 'square', 'abs', 'sqrt', 'exp', 'log', 'logsumexp', 'round',
        'sign', 'pow', 'clip', 'equal', 'not_equal', 'greater', 'greater_equal', 'less',
        'less_equal', 'maximum', 'minimum', 'sin', 'cos', 'normalize_batch_in_training',
        'batch_normalization', 'concatenate', 'reshape', 'permute_dimensions',
        'resize_images', 'resize_volumes', 'repeat_elements', 'repeat', 'arange', 'tile',
        'flatten', 'batch_flatten', 'expand_dims', 'squeeze', 'temporal_padding',
        'spatial_2d_padding', 'spatial_3d_padding', 'stack', 'one_hot', 'reverse', 'slice',
        'get_value', 'batch_get_value', 'set_value', 'batch_set_value', 'get_variable_shape',
        'print_tensor', 'function', 'gradients', 'stop_gradient', 'rnn', 'switch',
        'in_train_phase', 'in_test_phase', 'relu', 'elu', 'softmax', 'softplus', 'softsign',
        'categorical_crossentropy', 'sparse_categorical_crossentropy', 'binary_crossentropy',
        'sigmoid', 'hard_sigmoid', 'tanh', 'dropout', 'l2_normalize', 'in_top_k', 'conv1d',
        'conv2d', 'conv2d_transpose', 'separable_conv1d', 'separable_conv2d',
        'depthwise_conv2d', 'conv3d', 'conv3d_transpose', 'pool2d', 'pool3d', 'bias_add',
        'random_normal', 'random_uniform', 'random_binomial', 'truncated_normal',
        'ctc_label_dense_to_sparse', 'ctc_batch_cost', 'ctc_decode', 'map_fn', 'foldl',
        'foldr', 'local_conv1d', 'local_conv2d'],
}

# Names graphc does not provide yet. Layers here need new graph ops (convolutional-recurrent
# layers, CTC, higher-order functions); the rest are Keras internals.
NOT_YET = {
    # H5Dict is Keras 2.2.4's private view of an HDF5 group used by its own saving code
    'utils': {'h5dict'},
    'utils.io_utils': {'H5Dict', 'h5dict'},
    # abstract Keras 1 bases; graphc's recurrent layers derive from RNN
    'legacy.layers': {'Recurrent', 'ConvRecurrent2D'},
}

LAYER_MODULES = [m for m in KERAS_224 if m.startswith('layers.')]


def _module(path):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        return importlib.import_module(f'graphc.{path}')


@pytest.mark.parametrize('path', sorted(KERAS_224))
def test_module_imports_at_its_keras_path(path):
    module = _module(path)
    assert module.__name__ == f'graphc.{path}'


@pytest.mark.parametrize('path', sorted(KERAS_224))
def test_module_holds_the_keras_224_names(path):
    module = _module(path)
    missing = [n for n in KERAS_224[path]
               if n not in NOT_YET.get(path, set()) and not hasattr(module, n)]
    assert missing == [], f"graphc.{path} lacks Keras 2.2.4's {missing}"


@pytest.mark.parametrize('path', sorted(NOT_YET))
def test_not_yet_list_only_names_what_is_really_missing(path):
    module = _module(path)
    assert NOT_YET[path] <= set(KERAS_224[path]), "NOT_YET names something Keras lacks"
    present = sorted(n for n in NOT_YET[path] if hasattr(module, n))
    assert present == [], f"graphc.{path} now has {present}: take them off NOT_YET"


@pytest.mark.parametrize('path', LAYER_MODULES)
def test_layer_module_names_are_the_classes_of_graphc_layers(path):
    # `from graphc.layers.embeddings import Embedding` must give the very class that
    # `graphc.layers.Embedding` is, not a copy (isinstance checks, deserialisation).
    module = _module(path)
    for name in KERAS_224[path]:
        if hasattr(module, name):
            assert getattr(graphc.layers, name) is getattr(module, name), name


def test_layers_package_exports_every_keras_layer_and_the_legacy_ones():
    expected = {n for m in LAYER_MODULES for n in KERAS_224[m]} - set().union(
        *(NOT_YET.get(m, set()) for m in LAYER_MODULES))
    expected |= {'Input', 'InputLayer', 'InputSpec', 'Layer', 'serialize', 'deserialize',
                 'Highway', 'MaxoutDense', 'AtrousConvolution1D', 'AtrousConvolution2D'}
    assert sorted(n for n in expected if not hasattr(graphc.layers, n)) == []
    assert expected <= set(graphc.layers.__all__)


def test_every_layer_family_named_in_the_layers_package_exists():
    for family in graphc.layers._FAMILIES:
        module = importlib.import_module(f'graphc.layers.{family}')
        for name in module.__all__:
            assert getattr(graphc.layers, name) is getattr(module, name)


def test_utils_package_lists_only_names_it_serves():
    import graphc.utils
    for name in graphc.utils.__all__:
        assert getattr(graphc.utils, name) is not None, name


def test_top_level_package_has_the_keras_submodules():
    # `import graphc as keras; keras.utils.to_categorical(...)` without importing submodules
    names = ('activations', 'backend', 'callbacks', 'constraints', 'datasets', 'engine',
             'initializers', 'layers', 'legacy', 'losses', 'metrics', 'models', 'optimizers',
             'regularizers', 'utils', 'Input', 'Model', 'Sequential')
    assert [n for n in names if not hasattr(graphc, n)] == []


def test_image_dim_ordering_is_the_keras_1_name_of_the_data_format():
    K = graphc.backend
    before = K.image_data_format()
    try:
        K.set_image_dim_ordering('th')
        assert K.image_data_format() == 'channels_first'
        assert K.image_dim_ordering() == 'th'
        K.set_image_data_format('channels_last')
        assert K.image_dim_ordering() == 'tf'
        with pytest.raises(ValueError, match="'tf'"):
            K.set_image_dim_ordering('channels_last')
    finally:
        K.set_image_data_format(before)


def test_backend_reports_its_name():
    assert graphc.backend.backend() == 'graphc'
