"""graphc.applications: Keras 2.2.4's architectures (parameter counts, layer names, input
checks, config and weights round trips), ImageNet weights fetched through get_file from a
local server, preprocess_input / decode_predictions. Only a preprocess_input graph is compiled:
compiling an architecture costs minutes here (see the note below NOTOP_IMAGENET)."""
import hashlib
import json

import numpy as np
import pytest

import graphc
from graphc import applications as A
from graphc import backend as K
from graphc import layers
from graphc.applications import (densenet, imagenet_utils, inception_resnet_v2, inception_v3,
                                 mobilenet, mobilenet_v2, nasnet, resnet50, vgg16, vgg19,
                                 xception)
from graphc.engine.training import Model
from graphc.utils.data_utils import ChecksumError
from tests.utils.http_server import FileServer

# Keras 2.2.4's published parameter counts (include_top=True, classes=1000, default input).
PUBLISHED_PARAMS = {
    'VGG16': 138_357_544, 'VGG19': 143_667_240, 'ResNet50': 25_636_712,
    'InceptionV3': 23_851_784, 'Xception': 22_910_480, 'MobileNet': 4_253_864,
    'DenseNet121': 8_062_504, 'DenseNet169': 14_307_880, 'DenseNet201': 20_242_984,
    'NASNetMobile': 5_326_716, 'MobileNetV2': 3_538_984, 'NASNetLarge': 88_949_818,
    'InceptionResNetV2': 55_873_736,
}

# A small configuration of each architecture (the smallest input it accepts, few classes).
SMALL = {
    'VGG16': lambda **kw: A.VGG16(include_top=False, input_shape=(32, 32, 3), pooling='avg',
                                  **kw),
    'VGG19': lambda **kw: A.VGG19(include_top=False, input_shape=(32, 32, 3), pooling='max',
                                  **kw),
    'ResNet50': lambda **kw: A.ResNet50(include_top=False, input_shape=(197, 197, 3),
                                        pooling='avg', **kw),
    'InceptionV3': lambda **kw: A.InceptionV3(input_shape=(75, 75, 3), classes=3, **kw),
    'InceptionResNetV2': lambda **kw: A.InceptionResNetV2(input_shape=(75, 75, 3), classes=3,
                                                          **kw),
    'Xception': lambda **kw: A.Xception(input_shape=(71, 71, 3), classes=3, **kw),
    'MobileNet': lambda **kw: A.MobileNet(input_shape=(32, 32, 3), alpha=0.25, classes=3,
                                          **kw),
    'MobileNetV2': lambda **kw: A.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, classes=3,
                                              **kw),
    'DenseNet121': lambda **kw: A.DenseNet121(input_shape=(32, 32, 3), classes=3, **kw),
    'DenseNet169': lambda **kw: A.DenseNet169(include_top=False, input_shape=(32, 32, 3),
                                              **kw),
    'DenseNet201': lambda **kw: A.DenseNet201(include_top=False, input_shape=(32, 32, 3),
                                              pooling='max', **kw),
    'NASNetMobile': lambda **kw: A.NASNetMobile(input_shape=(32, 32, 3), classes=3, **kw),
}

# Layer names Keras 2.2.4 gives (the weight files are keyed by them).
KERAS_NAMES = {
    'VGG16': ['block1_conv1', 'block5_conv3', 'block5_pool', 'flatten', 'fc1', 'fc2',
              'predictions'],
    'VGG19': ['block3_conv4', 'block5_conv4', 'predictions'],
    'ResNet50': ['conv1_pad', 'conv1', 'bn_conv1', 'res2a_branch1', 'bn2a_branch1',
                 'res4f_branch2c', 'bn5c_branch2c', 'avg_pool', 'fc1000'],
    'InceptionV3': ['mixed0', 'mixed9_0', 'mixed9_1', 'mixed10', 'avg_pool', 'predictions'],
    'InceptionResNetV2': ['mixed_5b', 'block35_1_mixed', 'block35_1_conv', 'block35_1', 'block35_1_ac',
                          'block35_10_ac', 'mixed_6a', 'block17_1', 'block17_20_ac',
                          'mixed_7a', 'block8_1', 'block8_9_ac', 'block8_10_conv',
                          'block8_10', 'conv_7b', 'conv_7b_bn', 'conv_7b_ac', 'avg_pool',
                          'predictions'],
    'Xception': ['block1_conv1', 'block1_conv1_bn', 'block2_sepconv2_act', 'block2_pool',
                 'block12_sepconv3_bn', 'block13_pool', 'block14_sepconv2_act', 'avg_pool',
                 'predictions'],
    'MobileNet': ['conv1_pad', 'conv1', 'conv1_relu', 'conv_pad_2', 'conv_dw_13',
                  'conv_pw_13_relu', 'reshape_1', 'dropout', 'conv_preds', 'act_softmax',
                  'reshape_2'],
    'MobileNetV2': ['Conv1_pad', 'Conv1', 'bn_Conv1', 'expanded_conv_depthwise',
                    'expanded_conv_project_BN', 'block_1_pad', 'block_2_add',
                    'block_16_project', 'Conv_1', 'Conv_1_bn', 'out_relu', 'Logits'],
    'DenseNet121': ['conv1/conv', 'conv1/bn', 'pool1', 'conv2_block1_0_bn',
                    'conv2_block6_concat', 'pool4_pool', 'conv5_block16_2_conv', 'bn',
                    'avg_pool', 'fc1000'],
    'DenseNet169': ['conv4_block32_concat', 'conv5_block32_concat', 'fc1000'],
    'DenseNet201': ['conv4_block48_concat', 'conv5_block32_concat', 'fc1000'],
    'NASNetMobile': ['stem_conv1', 'stem_bn1', 'reduction_concat_stem_1',
                     'adjust_conv_1_0', 'adjust_conv_projection_1', 'separable_conv_1_normal_left1_0',
                     'normal_concat_3', 'reduction_concat_reduce_4', 'normal_concat_12',
                     'reduction_add4_reduce_8', 'predictions'],
    'NASNetLarge': ['normal_concat_18', 'reduction_concat_reduce_12', 'predictions'],
}

# Keras 2.2.4's weight files for include_top=False: (file name, hash) as get_file is asked.
NOTOP_FILES = {
    'VGG16': ('vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5',
              '6d6bbae143d832006294945121d1f1fc'),
    'VGG19': ('vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5',
              '253f8cb515780f3b799900260a226db6'),
    'ResNet50': ('resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5',
                 'a268eb855778b3df3c7506639542a6af'),
    'InceptionV3': ('inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5',
                    'bcbd6486424b2319ff4ef7d526e38f63'),
    'InceptionResNetV2': ('inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5',
                          'd19885ff4a710c122648d3b5c3b684e4'),
    'Xception': ('xception_weights_tf_dim_ordering_tf_kernels_notop.h5',
                 'b0042744bf5b25fce3cb969f33bebb97'),
    'MobileNet': ('mobilenet_2_5_128_tf_no_top.h5', None),
    'MobileNetV2': ('mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5', None),
    'DenseNet121': ('densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5',
                    '30ee3e1110167f948a6b9946edeeb738'),
    'NASNetMobile': ('nasnet_mobile_no_top.h5', '1ed92395b5b598bdda52abe5c0dbfd63'),
}

# Headless ImageNet builds (any input size the architecture allows; MobileNets need a size
# weights exist for).
NOTOP_IMAGENET = {
    'VGG16': lambda: A.VGG16(include_top=False, weights='imagenet', input_shape=(32, 32, 3)),
    'VGG19': lambda: A.VGG19(include_top=False, weights='imagenet', input_shape=(32, 32, 3)),
    'ResNet50': lambda: A.ResNet50(include_top=False, weights='imagenet', pooling='avg',
                                   input_shape=(197, 197, 3)),
    'InceptionV3': lambda: A.InceptionV3(include_top=False, weights='imagenet',
                                         input_shape=(75, 75, 3)),
    'InceptionResNetV2': lambda: A.InceptionResNetV2(include_top=False, weights='imagenet',
                                                     input_shape=(75, 75, 3)),
    'Xception': lambda: A.Xception(include_top=False, weights='imagenet',
                                   input_shape=(71, 71, 3)),
    'MobileNet': lambda: A.MobileNet(input_shape=(128, 128, 3), alpha=0.25, include_top=False,
                                     weights='imagenet'),
    'MobileNetV2': lambda: A.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35,
                                         include_top=False, weights='imagenet'),
    'DenseNet121': lambda: A.DenseNet121(include_top=False, weights='imagenet',
                                         input_shape=(32, 32, 3)),
    'NASNetMobile': lambda: A.NASNetMobile(include_top=False, weights='imagenet',
                                           input_shape=(32, 32, 3)),
}

# No architecture is compiled here: the smallest (MobileNet, alpha=0.25, 32x32, 3 classes)
# took 134 s to its first predict and 536 s more to its first train_on_batch, cold, on this
# 2-core machine under load (~3 min of CPU), above the ~90 s this whole file may take.


def _build_full(name):
    return getattr(A, name)(weights=None)


@pytest.mark.parametrize('name', sorted(PUBLISHED_PARAMS))
def test_full_model_has_keras_param_count_and_layer_names(name):
    model = _build_full(name)
    assert model.count_params() == PUBLISHED_PARAMS[name]
    names = {layer.name for layer in model.layers}
    assert set(KERAS_NAMES[name]) <= names, set(KERAS_NAMES[name]) - names
    assert len(names) == len(model.layers)          # unique, as Keras requires
    assert model.output_shape == (None, 1000)
    del model


@pytest.fixture(scope='module')
def small_models():
    """One small model of each architecture, built once (weights=None)."""
    return {name: build(weights=None) for name, build in SMALL.items()}


def _weights_of(model):
    return [np.asarray(w) for w in model.get_weights()]


@pytest.mark.parametrize('name', sorted(SMALL))
def test_small_model_weights_and_config_round_trip(name, small_models, tmp_path):
    model = small_models[name]
    path = tmp_path / 'w.h5'
    model.save_weights(str(path))
    # a fresh build given weights=<path> (Keras's third kind of `weights`) loads the file
    other = SMALL[name](weights=str(path))
    for a, b in zip(_weights_of(model), _weights_of(other)):
        np.testing.assert_array_equal(a, b)
    # the architecture is serialisable: from_config gives the same layers and counts
    clone = Model.from_config(model.get_config())
    assert [la.name for la in clone.layers] == [la.name for la in model.layers]
    assert clone.count_params() == model.count_params()
    # weights=None is trainable: every kernel is a trainable weight
    trainable = {id(w) for w in model.trainable_weights}
    assert all(id(la.kernel) in trainable for la in model.layers if hasattr(la, 'kernel'))


@pytest.mark.parametrize('name', sorted(NOTOP_FILES))
def test_imagenet_asks_get_file_for_keras_published_file(name, monkeypatch):
    asked = {}

    class Asked(Exception):
        pass

    def fake_get_file(fname, origin, cache_subdir='datasets', file_hash=None, **kwargs):
        asked.update(fname=fname, origin=origin, cache_subdir=cache_subdir, hash=file_hash)
        raise Asked

    monkeypatch.setattr('graphc.utils.data_utils.get_file', fake_get_file)
    with pytest.raises(Asked):
        NOTOP_IMAGENET[name]()
    fname, file_hash = NOTOP_FILES[name]
    assert asked['fname'] == fname
    assert asked['hash'] == file_hash
    assert asked['cache_subdir'] == 'models'
    assert asked['origin'].startswith('https://github.com/') and asked['origin'].endswith(
        {'NASNetMobile': 'NASNet-mobile-no-top.h5'}.get(name, fname))


# --------------------------------------------------------------------------------------------
# ImageNet weights served from 127.0.0.1
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def server():
    s = FileServer()
    yield s
    s.close()


@pytest.fixture(scope='module')
def served_vgg16(server, tmp_path_factory):
    """A VGG16 (no top, 32x32) weights file in Keras's save_weights layout, on the server."""
    source = vgg16.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = tmp_path_factory.mktemp('served') / 'w.h5'
    source.save_weights(str(path))
    data = path.read_bytes()
    name = 'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5'
    server.files['/' + name] = data
    return source, server.url(name), hashlib.md5(data).hexdigest()


def test_imagenet_weights_are_fetched_checked_and_loaded(served_vgg16, monkeypatch, tmp_path):
    source, url, md5 = served_vgg16
    monkeypatch.setenv('GRAPHC_HOME', str(tmp_path))
    monkeypatch.setattr(vgg16, 'WEIGHTS_PATH_NO_TOP', url)
    monkeypatch.setattr(vgg16, 'WEIGHTS_HASH_NO_TOP', md5)
    model = A.VGG16(include_top=False, weights='imagenet', input_shape=(32, 32, 3))
    for a, b in zip(_weights_of(source), _weights_of(model)):
        np.testing.assert_array_equal(a, b)
    cached = tmp_path / 'models' / 'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5'
    assert hashlib.md5(cached.read_bytes()).hexdigest() == md5


def test_imagenet_weights_with_wrong_hash_are_refused(served_vgg16, monkeypatch, tmp_path):
    _, url, _ = served_vgg16
    monkeypatch.setenv('GRAPHC_HOME', str(tmp_path))
    monkeypatch.setattr(vgg16, 'WEIGHTS_PATH_NO_TOP', url)   # Keras's real hash is kept
    with pytest.raises(ChecksumError):
        A.VGG16(include_top=False, weights='imagenet', input_shape=(32, 32, 3))
    assert not (tmp_path / 'models' / 'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5'
                ).exists()


# --------------------------------------------------------------------------------------------
# Keras's argument checks
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize('build, message', [
    (lambda: A.ResNet50(weights=None, include_top=False, input_shape=(100, 100, 3)),
     'at least 197x197'),
    (lambda: A.InceptionV3(weights=None, include_top=False, input_shape=(60, 80, 3)),
     'at least 75x75'),
    (lambda: A.Xception(weights=None, include_top=False, input_shape=(70, 70, 3)),
     'at least 71x71'),
    (lambda: A.InceptionResNetV2(weights=None, include_top=False, input_shape=(74, 90, 3)),
     'at least 75x75'),
    (lambda: A.InceptionResNetV2(weights='imagenet', classes=10), '`classes` should be 1000'),
    (lambda: inception_resnet_v2.inception_resnet_block(layers.Input((8, 8, 4)), 0.1,
                                                        'block99', 1),
     'Unknown Inception-ResNet block type'),
    (lambda: A.VGG16(weights='imagenet', include_top=False, input_shape=(64, 64, 1)),
     '3 channels'),
    (lambda: A.VGG16(weights='imagenet', include_top=True, input_shape=(64, 64, 3)),
     'should be (224, 224, 3)'),
    (lambda: A.DenseNet121(weights='imagenet', classes=10), '`classes` should be 1000'),
    (lambda: A.VGG19(weights='no/such/file.h5'), 'path to the weights file'),
    (lambda: A.VGG16(weights=None, include_top=True, input_shape=(None, None, 3)),
     'static `input_shape`'),
    (lambda: A.VGG16(weights=None, include_top=False, input_shape=(32, 32)),
     'three integers'),
    (lambda: A.MobileNet(weights='imagenet', alpha=0.3, include_top=False), 'alpha'),
    (lambda: A.MobileNet(weights='imagenet', input_shape=(100, 100, 3), include_top=False),
     'static square shape'),
    (lambda: A.MobileNetV2(weights='imagenet', depth_multiplier=2), 'depth multiplier'),
    (lambda: A.NASNetMobile(weights=None, include_top=False, pooling='sum'), 'pooling'),
    (lambda: nasnet.NASNet(weights=None, penultimate_filters=100, default_size=224),
     'divisible by 24'),
])
def test_bad_arguments_get_keras_errors(build, message):
    with pytest.raises(ValueError, match=None) as info:
        build()
    assert message in str(info.value)


def test_input_tensor_becomes_the_model_input_and_its_sources_are_kept():
    inp = layers.Input(shape=(32, 32, 3))
    model = A.MobileNet(input_tensor=inp, alpha=0.25, weights=None, include_top=False)
    assert model.inputs[0] is inp
    scaled = layers.Lambda(lambda t: t * 2.0)(inp)
    model = A.DenseNet121(input_tensor=scaled, weights=None, include_top=False)
    assert model.inputs[0] is inp          # the source Input, not the Lambda's output


def test_channels_last_only_models_warn_and_restore_the_setting():
    K.set_image_data_format('channels_first')
    try:
        with pytest.warns(UserWarning, match='channels_last'):
            model = A.Xception(weights=None, include_top=False, input_shape=(71, 71, 3))
        assert K.image_data_format() == 'channels_first'
    finally:
        K.set_image_data_format('channels_last')
    assert model.output_shape[-1] == 2048


def test_channels_first_vgg16_puts_channels_first():
    K.set_image_data_format('channels_first')
    try:
        model = A.VGG16(weights=None, include_top=False, input_shape=(3, 32, 32))
    finally:
        K.set_image_data_format('channels_last')
    assert model.output_shape == (None, 512, 1, 1)


def test_module_paths_match_keras():
    assert graphc.applications.vgg16.VGG16 is A.VGG16
    for module, fn in [(vgg19, 'VGG19'), (resnet50, 'ResNet50'), (inception_v3, 'InceptionV3'),
                       (inception_resnet_v2, 'InceptionResNetV2'),
                       (xception, 'Xception'), (mobilenet, 'MobileNet'),
                       (mobilenet_v2, 'MobileNetV2'), (densenet, 'DenseNet121'),
                       (densenet, 'DenseNet169'), (densenet, 'DenseNet201'),
                       (nasnet, 'NASNetMobile'), (nasnet, 'NASNetLarge')]:
        assert getattr(module, fn) is getattr(A, fn)
        assert callable(module.preprocess_input) and callable(module.decode_predictions)


# --------------------------------------------------------------------------------------------
# preprocess_input and decode_predictions
# --------------------------------------------------------------------------------------------

def _image():
    return np.random.RandomState(1).randint(0, 256, size=(2, 4, 5, 3)).astype('float32')


def test_preprocess_caffe_is_bgr_minus_mean():
    x = _image()
    out = vgg16.preprocess_input(x.copy())
    expected = x[..., ::-1] - np.array([103.939, 116.779, 123.68], 'float32')
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    first = imagenet_utils.preprocess_input(np.moveaxis(x, -1, 1).copy(),
                                            data_format='channels_first')
    np.testing.assert_allclose(np.moveaxis(first, 1, -1), expected, rtol=1e-6)
    ints = resnet50.preprocess_input(x.astype('uint8'))      # ints become floatx
    assert ints.dtype == np.float32


def test_preprocess_tf_and_torch_modes():
    x = _image()
    for module in (inception_v3, inception_resnet_v2, xception, mobilenet, mobilenet_v2,
                   nasnet):
        np.testing.assert_allclose(module.preprocess_input(x.copy()), x / 127.5 - 1,
                                   rtol=1e-6, atol=1e-6)
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(densenet.preprocess_input(x.copy()),
                               (x / 255. - mean) / std, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match='mode'):
        imagenet_utils.preprocess_input(x, mode='keras')
    with pytest.raises(ValueError, match='data_format'):
        imagenet_utils.preprocess_input(x, data_format='nhwc')


def test_preprocess_symbolic_matches_numpy():
    x = _image()
    inp = layers.Input(shape=(4, 5, 3))
    outs = [imagenet_utils.preprocess_input(inp, mode=m) for m in ('caffe', 'tf', 'torch')]
    values = K.function([inp], outs)([x])
    for mode, value in zip(('caffe', 'tf', 'torch'), values):
        np.testing.assert_allclose(
            value, imagenet_utils.preprocess_input(x.copy(), mode=mode), rtol=1e-5, atol=1e-4)


def _class_index():
    return {str(i): [f'n{i:08d}', f'class_{i}'] for i in range(1000)}


def _preds():
    preds = np.random.RandomState(2).rand(2, 1000).astype('float32')
    preds[0, 7], preds[0, 3], preds[1, 999] = 5., 4., 9.
    return preds


def test_decode_predictions_from_a_local_class_index(tmp_path):
    path = tmp_path / 'index.json'
    path.write_text(json.dumps(_class_index()))
    top = imagenet_utils.decode_predictions(_preds(), top=2, class_index_path=path)
    assert [t[:2] for t in top[0]] == [('n00000007', 'class_7'), ('n00000003', 'class_3')]
    assert top[0][0][2] == pytest.approx(5.)
    assert top[1][0][:2] == ('n00000999', 'class_999') and len(top[1]) == 2
    with pytest.raises(ValueError, match='shape'):
        imagenet_utils.decode_predictions(np.zeros((2, 10)), class_index_path=path)
    path.write_text('[1, 2, 3]')
    with pytest.raises(ValueError, match='not an ImageNet class index'):
        imagenet_utils.decode_predictions(_preds(), class_index_path=path)


def test_decode_predictions_fetches_the_class_index_with_get_file(server, monkeypatch,
                                                                  tmp_path):
    data = json.dumps(_class_index()).encode()
    server.files['/imagenet_class_index.json'] = data
    monkeypatch.setenv('GRAPHC_HOME', str(tmp_path))
    monkeypatch.setattr(imagenet_utils, 'CLASS_INDEX', None)
    monkeypatch.setattr(imagenet_utils, 'CLASS_INDEX_PATH',
                        server.url('imagenet_class_index.json'))
    with pytest.raises(ChecksumError):       # Keras's hash: not this file
        vgg19.decode_predictions(_preds())
    monkeypatch.setattr(imagenet_utils, 'CLASS_INDEX_HASH', hashlib.md5(data).hexdigest())
    top = vgg19.decode_predictions(_preds(), top=1)
    assert top[0][0][:2] == ('n00000007', 'class_7')
    assert (tmp_path / 'models' / 'imagenet_class_index.json').exists()


@pytest.mark.parametrize('name', ['MobileNet', 'NASNetMobile', 'InceptionResNetV2'])
def test_small_model_save_model_load_model(name, small_models, tmp_path):
    from graphc.models import load_model
    model = small_models[name]
    path = tmp_path / 'model.h5'
    model.save(str(path))
    loaded = load_model(str(path), compile=False)
    assert [la.name for la in loaded.layers] == [la.name for la in model.layers]
    for a, b in zip(_weights_of(model), _weights_of(loaded)):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------------------------
# InceptionResNetV2's residual scaling: a registered function, loadable in safe mode
# --------------------------------------------------------------------------------------------

def test_inception_resnet_v2_blocks_scale_their_residual_by_keras_factors(small_models):
    model = small_models['InceptionResNetV2']
    lambdas = [la for la in model.layers if isinstance(la, layers.Lambda)]
    expected = ([(f'block35_{i}', 0.17) for i in range(1, 11)] +
                [(f'block17_{i}', 0.1) for i in range(1, 21)] +
                [(f'block8_{i}', 0.2) for i in range(1, 10)] + [('block8_10', 1.0)])
    assert [(la.name, la.arguments['scale']) for la in lambdas] == expected
    config = lambdas[0].get_config()
    assert config['function'] == 'scaled_residual' and config['function_type'] == 'function'
    assert config['module'] == 'graphc.applications.inception_resnet_v2'
    a, b = np.arange(6.).reshape(2, 3), np.ones((2, 3))
    np.testing.assert_allclose(inception_resnet_v2.scaled_residual([a, b], scale=0.17),
                               a + 0.17)
    # the last block8 has no relu after it; the others do
    names = {la.name for la in model.layers}
    assert 'block8_9_ac' in names and 'block8_10_ac' not in names


def test_saved_inception_resnet_v2_loads_in_safe_mode_in_a_fresh_process(small_models,
                                                                         tmp_path):
    import subprocess
    import sys
    path = tmp_path / 'irv2.h5'
    small_models['InceptionResNetV2'].save(str(path))
    # nothing imports graphc.applications first: loading finds the registered function
    code = ('import sys; from graphc.models import load_model; '
            'm = load_model(sys.argv[1], compile=False); '
            'print(m.get_layer("block17_3").function.__module__, m.count_params())')
    out = subprocess.run([sys.executable, '-c', code, str(path)], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ['graphc.applications.inception_resnet_v2',
                                  str(small_models['InceptionResNetV2'].count_params())]


@pytest.mark.parametrize('function, module', [
    ('conv2d_bn', 'graphc.applications.inception_resnet_v2'),     # not registered
    ('get_file', 'graphc.utils.data_utils'),                        # not registered
    ('scaled_residual', 'graphc.applications.no_such_module'),
])
def test_safe_mode_still_refuses_unregistered_functions_a_lambda_names(function, module):
    from graphc.utils.safe_mode import UnsafeDeserializationError
    config = {'name': 'lam', 'trainable': True, 'function': function,
              'function_type': 'function', 'module': module, 'output_shape': None,
              'output_shape_type': 'raw', 'arguments': {}}
    with pytest.raises(UnsafeDeserializationError, match=function):
        layers.Lambda.from_config(config)


def test_only_graphc_functions_can_be_registered_for_lambdas():
    from graphc.layers.core import register_lambda_function
    with pytest.raises(ValueError, match='custom_objects'):
        register_lambda_function(np.add)
    with pytest.raises(ValueError, match='custom_objects'):
        register_lambda_function(lambda x: x)


# ResNet50 is left out: its smallest input (197x197) makes one training step take about 45 s
# on the reference interpreter; its layers are the ones the other architectures train here
# (Conv2D, BatchNormalization, Activation, add, pooling).
TRAINED = sorted(n for n in SMALL if n != 'ResNet50')


@pytest.mark.parametrize('name', TRAINED)
def test_small_model_predicts_and_takes_a_training_step(name, small_models):
    """Each architecture predicts and trains one step (compile, fit on a batch of two) on the
    reference interpreter, which runs every op of the graph: finite outputs, a finite loss,
    every trainable weight that gets a gradient changed and BatchNormalization's moving
    statistics updated. (Native compilation of a whole architecture costs minutes cold
    here.)"""
    from graphc import config
    from graphc.optimizers import SGD
    model = small_models[name]
    previous = config.get('executor')
    config.set('executor', 'reference')
    try:
        rng = np.random.default_rng(0)
        x = rng.uniform(0, 1, (2,) + tuple(model.input_shape[1:])).astype(np.float32)
        out = model.predict(x)
        assert out.shape == (2,) + tuple(model.output_shape[1:])
        assert np.isfinite(out).all()
        top = model.layers[-1].__class__.__name__ in ('Dense', 'Activation', 'Reshape')
        if top and out.shape[-1] == 3:      # classes=3 heads end in a softmax
            np.testing.assert_allclose(out.reshape(2, -1).sum(axis=1), 1, rtol=1e-5)
            loss, y = 'categorical_crossentropy', np.eye(3, dtype=np.float32)[[0, 2]]
        else:                                # feature extractors: regress the features
            loss, y = 'mse', np.zeros(out.shape, np.float32)
        model.compile(optimizer=SGD(lr=0.05), loss=loss)
        before = _weights_of(model)
        moving = [i for i, w in enumerate(model.weights) if 'moving_mean' in w.name]
        value = model.train_on_batch(x, y)
        assert np.isfinite(value)
        after = _weights_of(model)
        changed = [not np.array_equal(a, b) for a, b in zip(before, after)]
        trainable = {id(w) for w in model.trainable_weights}
        kernels = [i for i, w in enumerate(model.weights)
                   if id(w) in trainable and 'kernel' in w.name]
        assert kernels and all(changed[i] for i in kernels)
        assert all(changed[i] for i in moving)
        assert all(np.isfinite(a).all() for a in after)
    finally:
        config.set('executor', previous)
