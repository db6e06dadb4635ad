"""Model files written by the real Keras libraries load in graphc and predict what the writing
library predicted; graphc's files in both formats load back; hostile HDF5 and .keras files
are refused before their data is read.

The fixtures in tests/fixtures/keras_files were written by tf-keras 2.21 (``tfk_*``) and
Keras 3.15 on JAX (``k3_*``) with make_fixtures.py beside them; each ``.npz`` holds the fixed
inputs and the writing library's predictions.
"""
import json
import os
import time
import tracemalloc
import warnings
import zipfile

import h5py
import numpy as np
import pytest

import graphc.backend as K
from graphc import config, saving
from graphc.layers import Conv2D, Dense, Flatten
from graphc.models import Sequential, load_model, model_from_json

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures', 'keras_files')
MODELS = ('mlp', 'cnn', 'lstm', 'functional', 'bn_emb', 'wrappers')
FILES = [f'tfk_{m}.h5' for m in MODELS] + [f'k3_{m}.h5' for m in MODELS] + \
    [f'k3_{m}.keras' for m in MODELS]


@pytest.fixture(autouse=True)
def reference_executor():
    """Loading does not depend on the executor: the numpy interpreter keeps these tests fast
    (one test below runs the compiled executor)."""
    previous = config.get('executor')
    config.set('executor', 'reference')
    K.clear_session()
    yield
    config.set('executor', previous)


def fixture(name):
    return os.path.join(FIXTURES, name)


def expected(name):
    data = np.load(fixture(name.split('.')[0] + '.npz'))
    inputs = [data[k] for k in sorted(data.files) if k.startswith('x')]
    return (inputs if len(inputs) > 1 else inputs[0]), data


def load_quietly(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return load_model(path, **kwargs)


# -- real files -----------------------------------------------------------------------------

@pytest.mark.parametrize('name', FILES)
def test_keras_file_loads_and_predicts_as_the_writing_library(name):
    model = load_quietly(fixture(name), compile=False)
    x, data = expected(name)
    np.testing.assert_allclose(model.predict(x), data['y'], rtol=0, atol=1e-5)


def test_compiled_executor_predicts_a_keras3_cnn_as_keras():
    config.set('executor', 'compiled')
    model = load_quietly(fixture('k3_cnn.keras'), compile=False)
    x, data = expected('k3_cnn.keras')
    np.testing.assert_allclose(model.predict(x), data['y'], rtol=0, atol=1e-5)


@pytest.mark.parametrize('name', ['tfk_mlp.h5', 'k3_mlp.h5', 'k3_mlp.keras'])
def test_training_continues_from_the_saved_optimizer_state(name):
    """One more full-batch Adam step after loading gives the writing library's weights: the
    optimizer, its hyperparameters, its state (moments, iteration) and the loss all came
    from the file."""
    model = load_quietly(fixture(name))
    assert type(model.optimizer).__name__ == 'Adam'
    assert int(model.optimizer.get_weights()[0]) == 6    # 3 epochs of 2 batches
    x, data = expected(name)
    model.fit(data['train_x'], data['train_y'], batch_size=len(data['train_x']), epochs=1,
              verbose=0, shuffle=False)
    moved = np.abs(data['y_after_fit'] - data['y']).max()
    assert moved > 1e-3
    np.testing.assert_allclose(model.predict(x), data['y_after_fit'], rtol=0, atol=1e-5)


def test_tf_keras_metric_wrappers_become_metric_names():
    model = load_quietly(fixture('tfk_mlp.h5'))
    assert model.loss == 'mse'
    assert model.metrics == ['mean_absolute_error']


def test_model_from_json_of_a_tf_keras_config_then_load_weights():
    with h5py.File(fixture('tfk_functional.h5'), 'r') as f:
        model_json = saving._text(f.attrs['model_config'])
    model = model_from_json(model_json)
    assert [la.name for la in model.layers][-2:] == ['head', 'out']
    model.load_weights(fixture('tfk_functional.h5'))
    x, data = expected('tfk_functional.h5')
    np.testing.assert_allclose(model.predict(x), data['y'], rtol=0, atol=1e-5)


def _graphc_mlp(names=('dense', 'dense_1')):
    return Sequential([Dense(8, activation='relu', input_shape=(4,), name=names[0]),
                       Dense(3, activation='softmax', name=names[1])])


@pytest.mark.parametrize('name', ['tfk_mlp.h5', 'k3_mlp.h5', 'k3_mlp.weights.h5'])
def test_load_weights_by_name_into_a_graphc_model(name):
    model = _graphc_mlp()
    model.load_weights(fixture(name), by_name=True)
    x, data = expected('k3_mlp' if name.startswith('k3') else 'tfk_mlp')
    np.testing.assert_allclose(model.predict(x), data['y'], rtol=0, atol=1e-5)


def test_keras3_weights_by_name_skips_other_layers():
    model = _graphc_mlp(names=('dense', 'other'))
    before = model.layers[1].get_weights()
    model.load_weights(fixture('k3_mlp.weights.h5'), by_name=True)
    with h5py.File(fixture('k3_mlp.weights.h5'), 'r') as f:
        np.testing.assert_array_equal(model.layers[0].get_weights()[0],
                                      f['layers/dense/vars/0'][()])
    np.testing.assert_array_equal(model.layers[1].get_weights()[0], before[0])


# -- configs graphc cannot honour -------------------------------------------------------------

def _keras3_config(name='k3_mlp.h5'):
    with h5py.File(fixture(name), 'r') as f:
        return json.loads(saving._text(f.attrs['model_config']))


@pytest.mark.parametrize('option, value', [('lora_rank', 4), ('quantization_config', {})])
def test_an_option_graphc_cannot_honour_names_the_layer_and_option(option, value):
    cfg = _keras3_config()
    dense = cfg['config']['layers'][1]
    dense['config'][option] = value
    with pytest.raises(ValueError) as info:
        model_from_json(json.dumps(cfg))
    message = str(info.value)
    assert repr(dense['config']['name']) in message and option in message


def test_neutral_new_options_are_accepted():
    cfg = _keras3_config()
    cfg['config']['layers'][1]['config'].update(lora_rank=None, quantization_config=None)
    model = model_from_json(json.dumps(cfg))
    assert model.layers[0].units == 8


def test_ragged_input_is_a_clear_error():
    cfg = _keras3_config()
    cfg['config']['layers'][0]['config']['ragged'] = True
    with pytest.raises(ValueError, match='ragged'):
        model_from_json(json.dumps(cfg))


def test_mixed_precision_policy_loads_as_float32_with_a_warning():
    cfg = _keras3_config()
    cfg['config']['layers'][1]['config']['dtype'] = {
        'module': 'keras', 'class_name': 'DTypePolicy', 'config': {'name': 'mixed_float16'},
        'registered_name': None}
    with pytest.warns(UserWarning, match='mixed_float16'):
        model = model_from_json(json.dumps(cfg))
    assert model.layers[0].dtype == 'float32'


# -- Keras 2.0-2.2 with the Theano backend -----------------------------------------------------

def _keras21_theano_file(path, model, kernel, bias, dense_w, dense_b):
    """A load_model file as Keras 2.1.6 on Theano wrote it: Sequential config as a plain list,
    keras_version '2.1.6', backend 'theano', kernels stored flipped (Theano's convolution)."""
    layers = [{'class_name': type(la).__name__, 'config': la.get_config()}
              for la in model.layers]
    with h5py.File(path, 'w') as f:
        f.attrs['keras_version'] = np.bytes_(b'2.1.6')
        f.attrs['backend'] = np.bytes_(b'theano')
        f.attrs['model_config'] = np.bytes_(json.dumps(
            {'class_name': 'Sequential', 'config': layers}).encode())
        g = f.create_group('model_weights')
        g.attrs['keras_version'] = np.bytes_(b'2.1.6')
        g.attrs['backend'] = np.bytes_(b'theano')
        g.attrs['layer_names'] = np.array([la.name.encode() for la in model.layers])
        arrays = {model.layers[0].name: [('kernel', kernel[::-1, ::-1]), ('bias', bias)],
                  model.layers[2].name: [('kernel', dense_w), ('bias', dense_b)]}
        for la in model.layers:
            lg = g.create_group(la.name)
            entries = arrays.get(la.name, [])
            lg.attrs['weight_names'] = np.array(
                [f'{la.name}/{n}'.encode() for n, _ in entries]) if entries \
                else np.zeros((0,), 'float64')
            for n, value in entries:
                lg.create_dataset(f'{la.name}/{n}', data=value)


def test_keras2_theano_channels_first_conv_kernels_are_flipped(tmp_path):
    rng = np.random.default_rng(3)
    model = Sequential([Conv2D(2, (3, 3), data_format='channels_first', input_shape=(1, 5, 5),
                               name='conv'),
                        Flatten(name='flat'), Dense(2, name='out')])
    kernel = rng.normal(size=(3, 3, 1, 2)).astype('float32')   # Keras 2's layout (any backend)
    bias = rng.normal(size=(2,)).astype('float32')
    dense_w = rng.normal(size=(18, 2)).astype('float32')
    dense_b = rng.normal(size=(2,)).astype('float32')
    model.set_weights([kernel, bias, dense_w, dense_b])
    x = rng.normal(size=(3, 1, 5, 5)).astype('float32')
    path = str(tmp_path / 'theano.h5')
    _keras21_theano_file(path, model, kernel, bias, dense_w, dense_b)
    loaded = load_quietly(path, compile=False)
    np.testing.assert_allclose(loaded.get_weights()[0], kernel)
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-5, atol=1e-5)
    # The same file marked as TensorFlow's is taken as it is (not flipped).
    with h5py.File(path, 'r+') as f:
        f['model_weights'].attrs['backend'] = np.bytes_(b'tensorflow')
        f.attrs['backend'] = np.bytes_(b'tensorflow')
    np.testing.assert_allclose(load_quietly(path, compile=False).get_weights()[0],
                               kernel[::-1, ::-1])


# -- graphc writes, graphc reads (the real libraries' side: keras_files/check_graphc_files.py) --

def test_graphc_keras_zip_round_trip(tmp_path):
    model = _graphc_mlp()
    path = str(tmp_path / 'm.keras')
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ['config.json', 'metadata.json',
                                              'model.weights.h5']
        cfg = json.loads(archive.read('config.json'))
    assert cfg['class_name'] == 'Sequential'
    assert cfg['config']['layers'][0]['config']['batch_shape'] == [None, 4]
    x = np.random.default_rng(0).normal(size=(3, 4)).astype('float32')
    loaded = load_quietly(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_graphc_h5_has_keras2_version_and_backend_attributes(tmp_path):
    path = str(tmp_path / 'm.h5')
    _graphc_mlp().save(path)
    with h5py.File(path, 'r') as f:
        for holder in (f, f['model_weights']):
            assert saving._text(holder.attrs['keras_version']).startswith('2.')
            assert saving._text(holder.attrs['backend'])


# -- hostile HDF5 files ------------------------------------------------------------------------

@pytest.fixture
def weights_file(tmp_path):
    model = _graphc_mlp()
    path = str(tmp_path / 'w.h5')
    model.save_weights(path)
    return model, path


def test_a_declared_huge_array_fails_before_its_data_is_read(weights_file, tmp_path):
    model, path = weights_file
    with h5py.File(path, 'r+') as f:
        names = [saving._text(n) for n in f['dense'].attrs['weight_names']]
        del f['dense'][names[0]]
        # 1 GiB declared, nothing written: the file stays a few KB.
        f['dense'].create_dataset(names[0], shape=(2 ** 15, 2 ** 13), dtype='float32',
                                  chunks=(1024, 1024))
    assert os.path.getsize(path) < 64 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r'\(4, 8\).*\(32768, 8192\)'):
            model.load_weights(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2 ** 20


def test_a_declared_huge_array_by_name_fails_too(weights_file):
    model, path = weights_file
    with h5py.File(path, 'r+') as f:
        names = [saving._text(n) for n in f['dense'].attrs['weight_names']]
        del f['dense'][names[0]]
        f['dense'].create_dataset(names[0], shape=(2 ** 15, 2 ** 13), dtype='float32',
                                  chunks=(1024, 1024))
    with pytest.raises(ValueError, match=r'\(32768, 8192\)'):
        model.load_weights(path, by_name=True)
    with pytest.warns(UserWarning, match='Skipping'):
        model.load_weights(path, by_name=True, skip_mismatch=True)


def test_an_external_link_is_refused(weights_file, tmp_path):
    model, path = weights_file
    other = str(tmp_path / 'other.h5')
    with h5py.File(other, 'w') as f:
        f['secret'] = np.zeros((4, 8), 'float32')
    with h5py.File(path, 'r+') as f:
        names = [saving._text(n) for n in f['dense'].attrs['weight_names']]
        del f['dense'][names[0]]
        f['dense'][names[0]] = h5py.ExternalLink(other, '/secret')
    with pytest.raises(ValueError, match='link to another file'):
        model.load_weights(path)


def test_a_virtual_dataset_is_refused(weights_file, tmp_path):
    model, path = weights_file
    other = str(tmp_path / 'source.h5')
    with h5py.File(other, 'w') as f:
        f['data'] = np.zeros((4, 8), 'float32')
    with h5py.File(path, 'r+') as f:
        names = [saving._text(n) for n in f['dense'].attrs['weight_names']]
        del f['dense'][names[0]]
        layout = h5py.VirtualLayout(shape=(4, 8), dtype='float32')
        layout[:] = h5py.VirtualSource(other, 'data', shape=(4, 8))
        f['dense'].create_virtual_dataset(names[0], layout)
    with pytest.raises(ValueError, match='virtual dataset'):
        model.load_weights(path)


def test_a_dataset_stored_in_an_external_file_is_refused(weights_file, tmp_path):
    model, path = weights_file
    raw = tmp_path / 'raw.bin'
    raw.write_bytes(np.zeros((4, 8), 'float32').tobytes())
    with h5py.File(path, 'r+') as f:
        names = [saving._text(n) for n in f['dense'].attrs['weight_names']]
        del f['dense'][names[0]]
        f['dense'].create_dataset(names[0], shape=(4, 8), dtype='float32',
                                  external=[(str(raw), 0, h5py.h5f.UNLIMITED)])
    with pytest.raises(ValueError, match='external file'):
        model.load_weights(path)


def test_a_non_utf8_weight_name_is_a_clear_error(weights_file):
    model, path = weights_file
    with h5py.File(path, 'r+') as f:
        f['dense'].attrs['weight_names'] = np.array([b'dense/\xff\xfe:0', b'dense/bias:0'])
    with pytest.raises(ValueError, match='not valid UTF-8'):
        model.load_weights(path)


def test_a_non_utf8_object_name_is_a_clear_error(weights_file):
    model, path = weights_file
    with h5py.File(path, 'r+') as f:
        f['dense'].create_group(b'\xff\xfe')
    with pytest.raises(ValueError, match='not valid UTF-8'):
        model.load_weights(path)


def test_a_string_dataset_is_not_a_weight(weights_file):
    model, path = weights_file
    with h5py.File(path, 'r+') as f:
        names = [saving._text(n) for n in f['dense'].attrs['weight_names']]
        del f['dense'][names[1]]
        f['dense'][names[1]] = np.array([b'x'] * 8)
    with pytest.raises(ValueError, match='not numbers'):
        model.load_weights(path)


def test_a_huge_declared_optimizer_state_is_not_read(tmp_path):
    model = _graphc_mlp()
    model.compile('adam', 'mse')
    model.fit(np.zeros((4, 4), 'float32'), np.zeros((4, 3), 'float32'), epochs=1, verbose=0)
    path = str(tmp_path / 'm.h5')
    model.save(path)
    with h5py.File(path, 'r+') as f:
        g = f['optimizer_weights']
        name = saving.load_attributes_from_hdf5_group(g, 'graphc_weight_names')[1]
        del g[name]
        g.create_dataset(name, shape=(2 ** 15, 2 ** 13), dtype='float32', chunks=(1024, 1024))
    start = time.perf_counter()
    with pytest.warns(UserWarning, match='freshly initialized optimizer'):
        load_model(path)
    assert time.perf_counter() - start < 30   # reading 1 GiB would not fail, only be slow


# -- hostile .keras archives -------------------------------------------------------------------

def _rewrite_zip(src, dst, extra=(), drop=()):
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, 'w') as b:
        for info in a.infolist():
            if info.filename not in drop:
                b.writestr(info, a.read(info))
        for name, data in extra:
            b.writestr(name, data)


@pytest.mark.parametrize('member, message', [('../evil.py', 'outside the archive'),
                                             ('/etc/evil', 'outside the archive'),
                                             ('payload.bin', 'unexpected member')])
def test_keras_zip_member_names_are_checked(tmp_path, member, message):
    path = str(tmp_path / 'bad.keras')
    _rewrite_zip(fixture('k3_mlp.keras'), path, extra=[(member, b'x')])
    with pytest.raises(ValueError, match=message):
        load_model(path)


def test_keras_zip_without_weights_is_refused(tmp_path):
    path = str(tmp_path / 'bad.keras')
    _rewrite_zip(fixture('k3_mlp.keras'), path, drop=('model.weights.h5',))
    with pytest.raises(ValueError, match='without model.weights.h5'):
        load_model(path)


def test_keras_zip_weights_larger_than_the_model_needs_are_refused(tmp_path):
    path = str(tmp_path / 'big.keras')
    with zipfile.ZipFile(fixture('k3_mlp.keras')) as a, \
            zipfile.ZipFile(path, 'w', compression=zipfile.ZIP_DEFLATED) as b:
        b.writestr('config.json', a.read('config.json'))
        # 80 MB of zeros compress to ~80 KB: a small file that would expand in memory.
        b.writestr('model.weights.h5', bytes(80 * 2 ** 20))
    assert os.path.getsize(path) < 2 ** 20
    with pytest.raises(ValueError, match='more than the'):
        load_model(path)



# -- hard_sigmoid changed meaning in Keras 3 ---------------------------------------------------

def test_keras3_hard_sigmoid_is_refused_on_loading():
    with zipfile.ZipFile(fixture('k3_lstm.keras')) as archive:
        cfg = json.loads(archive.read('config.json'))
    cfg['config']['layers'][1]['config']['recurrent_activation'] = 'hard_sigmoid'
    with pytest.raises(ValueError, match=r"'lstm'.*recurrent_activation='hard_sigmoid'"):
        model_from_json(json.dumps(cfg))


def test_tf_keras_hard_sigmoid_loads_as_keras2s():
    with h5py.File(fixture('tfk_lstm.h5'), 'r') as f:
        cfg = json.loads(saving._text(f.attrs['model_config']))
    cfg['config']['layers'][1]['config']['recurrent_activation'] = 'hard_sigmoid'
    model = model_from_json(json.dumps(cfg))
    assert model.layers[0].cell.recurrent_activation.__name__ == 'hard_sigmoid'


def test_saving_keras2_hard_sigmoid_for_keras3_is_refused(tmp_path):
    from graphc.layers import LSTM
    model = Sequential([LSTM(2, input_shape=(3, 2), name='rnn')])   # Keras 2's default
    with pytest.raises(ValueError, match=r"'rnn'.*hard_sigmoid.*\.h5"):
        model.save(str(tmp_path / 'm.keras'))
    assert not os.listdir(tmp_path)


# -- Keras 2's CuDNNLSTM / CuDNNGRU files ----------------------------------------------------

def _to_cudnn(kernel, recurrent, n_gates):
    """Keras 2's layout of a CuDNN layer's kernels (the inverse of its loading conversion)."""
    def per_gate(k, f):
        return np.hstack([f(b) for b in np.hsplit(k, n_gates)])
    return (per_gate(kernel, lambda b: b.T.reshape(b.shape, order='C')),
            per_gate(recurrent, lambda b: b.T))


def _cudnn_file(path, model, cls, weights):
    layer = model.layers[0]
    config = dict(layer.get_config())
    keep = ('name', 'trainable', 'units', 'return_sequences', 'return_state', 'go_backwards',
            'stateful', 'kernel_initializer', 'recurrent_initializer', 'bias_initializer',
            'kernel_regularizer', 'recurrent_regularizer', 'bias_regularizer',
            'activity_regularizer', 'kernel_constraint', 'recurrent_constraint',
            'bias_constraint', 'batch_input_shape', 'dtype')
    layer_config = {k: v for k, v in config.items() if k in keep}
    if cls == 'CuDNNLSTM':
        layer_config['unit_forget_bias'] = True
    model_config = {'class_name': 'Sequential', 'config': {'name': 'rnn', 'layers': [
        {'class_name': cls, 'config': layer_config}]}}
    with h5py.File(path, 'w') as f:
        f.attrs['keras_version'] = np.bytes_(b'2.2.4')
        f.attrs['backend'] = np.bytes_(b'tensorflow')
        f.attrs['model_config'] = np.bytes_(json.dumps(model_config).encode())
        g = f.create_group('model_weights')
        g.attrs['layer_names'] = np.array([layer.name.encode()])
        lg = g.create_group(layer.name)
        names = [f'{layer.name}/{n}:0' for n in ('kernel', 'recurrent_kernel', 'bias')]
        lg.attrs['weight_names'] = np.array([n.encode() for n in names])
        for n, value in zip(names, weights):
            lg.create_dataset(n, data=value)


def test_cudnn_lstm_weights_load_into_lstm(tmp_path):
    from graphc.layers import LSTM
    rng = np.random.default_rng(5)
    model = Sequential([LSTM(3, recurrent_activation='sigmoid', input_shape=(4, 2),
                             name='cudnn_lstm_1')])
    kernel, recurrent, bias = [rng.normal(size=w.shape).astype('float32')
                               for w in model.get_weights()]
    model.set_weights([kernel, recurrent, bias])
    k, rk = _to_cudnn(kernel, recurrent, 4)
    split = rng.normal(size=bias.shape).astype('float32')
    path = str(tmp_path / 'cudnn_lstm.h5')
    _cudnn_file(path, model, 'CuDNNLSTM', [k, rk, np.concatenate([bias - split, split])])
    loaded = load_quietly(path, compile=False)
    assert type(loaded.layers[0]).__name__ == 'CuDNNLSTM'
    x = rng.normal(size=(2, 4, 2)).astype('float32')
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-5, atol=1e-5)


def test_cudnn_gru_weights_load_into_gru_reset_after(tmp_path):
    from graphc.layers import GRU
    rng = np.random.default_rng(6)
    model = Sequential([GRU(3, recurrent_activation='sigmoid', reset_after=True,
                            input_shape=(4, 2), name='cudnn_gru_1')])
    kernel, recurrent, bias = [rng.normal(size=w.shape).astype('float32')
                               for w in model.get_weights()]
    model.set_weights([kernel, recurrent, bias])
    k, rk = _to_cudnn(kernel, recurrent, 3)
    path = str(tmp_path / 'cudnn_gru.h5')
    _cudnn_file(path, model, 'CuDNNGRU', [k, rk, bias.reshape(-1)])
    loaded = load_quietly(path, compile=False)
    assert loaded.layers[0].reset_after
    x = rng.normal(size=(2, 4, 2)).astype('float32')
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-5, atol=1e-5)
    # Into a GRU without reset_after (Keras 2's default): a clear error.
    plain = Sequential([GRU(3, input_shape=(4, 2), name='cudnn_gru_1')])
    with pytest.raises(ValueError, match='reset_after=True'):
        plain.load_weights(path)


def test_graphc_keras_zip_keeps_the_optimizer_state(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 4)).astype('float32')
    y = rng.normal(size=(8, 3)).astype('float32')
    model = _graphc_mlp()
    model.compile('adam', 'mse')
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    path = str(tmp_path / 'm.keras')
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        compile_config = json.loads(archive.read('config.json'))['compile_config']
    assert compile_config['optimizer']['class_name'] == 'Adam'
    assert compile_config['loss'] == 'mse'
    loaded = load_quietly(path)
    for a, b in zip(loaded.optimizer.get_weights(), model.optimizer.get_weights()):
        np.testing.assert_array_equal(a, b)
    for m in (model, loaded):
        m.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=0, atol=1e-6)


# -- Keras 1 layer configs that Keras 2 still read ---------------------------------------------

def test_keras1_layer_configs_load_with_keras2_arguments():
    keras1 = {'class_name': 'Sequential', 'config': [
        {'class_name': 'Convolution2D', 'config': {
            'name': 'conv', 'nb_filter': 3, 'nb_row': 2, 'nb_col': 2, 'border_mode': 'same',
            'subsample': [1, 1], 'dim_ordering': 'th', 'init': 'glorot_uniform',
            'activation': 'relu', 'W_regularizer': None, 'b_regularizer': None, 'bias': True,
            'batch_input_shape': [None, 1, 4, 4]}},
        {'class_name': 'Flatten', 'config': {'name': 'flat'}},
        {'class_name': 'Dropout', 'config': {'name': 'drop', 'p': 0.25}},
        {'class_name': 'Dense', 'config': {'name': 'dense', 'output_dim': 2,
                                           'init': 'he_normal', 'activation': 'linear'}}]}
    model = model_from_json(json.dumps(keras1))
    conv, _, drop, dense = model.layers
    assert type(conv).__name__ == 'Conv2D'
    assert (conv.filters, tuple(conv.kernel_size), conv.padding, conv.data_format) == \
        (3, (2, 2), 'same', 'channels_first')
    assert drop.rate == 0.25 and dense.units == 2
    assert model.predict(np.zeros((1, 1, 4, 4), 'float32')).shape == (1, 2)


def test_keras1_lstm_config_loads():
    keras1 = {'class_name': 'Sequential', 'config': [{'class_name': 'LSTM', 'config': {
        'name': 'lstm', 'output_dim': 3, 'input_dim': 2, 'input_length': 5,
        'inner_activation': 'sigmoid', 'inner_init': 'orthogonal', 'consume_less': 'gpu',
        'forget_bias_init': 'one', 'dropout_W': 0.0, 'dropout_U': 0.0}}]}
    lstm = model_from_json(json.dumps(keras1)).layers[0]
    assert lstm.units == 3 and lstm.implementation == 2 and lstm.unit_forget_bias
    assert lstm.recurrent_activation.__name__ == 'sigmoid'
    assert tuple(lstm.batch_input_shape) == (None, 5, 2)


# -- Keras 3's lambda format --------------------------------------------------------------------

def _keras3_lambda_config():
    from graphc.utils.generic_utils import func_dump
    code, defaults, closure = func_dump(lambda x: x + 1)
    cfg = _keras3_config()
    cfg['config']['layers'][1] = {
        'module': 'keras.layers', 'class_name': 'Lambda', 'registered_name': None,
        'config': {'name': 'plus_one', 'trainable': True, 'dtype': 'float32', 'arguments': {},
                   'function': {'class_name': '__lambda__', 'config': {
                       'code': code, 'defaults': defaults, 'closure': closure}}}}
    del cfg['config']['layers'][2]
    return cfg


def test_keras3_lambda_is_refused_in_safe_mode():
    from graphc.utils.safe_mode import UnsafeDeserializationError
    with pytest.raises(UnsafeDeserializationError, match='plus_one'):
        model_from_json(json.dumps(_keras3_lambda_config()))


def test_keras3_lambda_loads_when_the_user_opts_in():
    model = model_from_json(json.dumps(_keras3_lambda_config()), safe_mode=False)
    x = np.arange(4, dtype='float32').reshape(1, 4)
    np.testing.assert_array_equal(model.predict(x), x + 1)


def test_an_open_h5py_file_given_by_the_caller_is_checked_too(weights_file, tmp_path):
    model, path = weights_file
    other = str(tmp_path / 'other.h5')
    with h5py.File(other, 'w') as f:
        f['secret'] = np.zeros((4, 8), 'float32')
    with h5py.File(path, 'r+') as f:
        names = [saving._text(n) for n in f['dense'].attrs['weight_names']]
        del f['dense'][names[0]]
        f['dense'][names[0]] = h5py.ExternalLink(other, '/secret')
    with h5py.File(path, 'r') as f:
        with pytest.raises(ValueError, match='link to another file'):
            model.load_weights(f)


@pytest.mark.parametrize('by_name', [False, True])
def test_load_weights_from_a_keras3_zip(by_name):
    model = _graphc_mlp()
    model.load_weights(fixture('k3_mlp.keras'), by_name=by_name)
    x, data = expected('k3_mlp.keras')
    np.testing.assert_allclose(model.predict(x), data['y'], rtol=0, atol=1e-5)


def test_optimizer_slots_are_matched_by_name_not_position(tmp_path):
    """tf-keras lists Adam's state interleaved (m, v per variable); other optimizers and
    versions group it by slot. The same state listed slot by slot loads the same."""
    import shutil
    path = str(tmp_path / 'regrouped.h5')
    shutil.copy(fixture('tfk_mlp.h5'), path)
    with h5py.File(path, 'r+') as f:
        g = f['optimizer_weights']
        names = saving.load_attributes_from_hdf5_group(g, 'weight_names')
        regrouped = names[:1] + [n for n in names if '/m/' in n] + \
            [n for n in names if '/v/' in n]
        assert regrouped != names
        g.attrs['weight_names'] = np.array([n.encode() for n in regrouped])
    model = load_quietly(path)
    x, data = expected('tfk_mlp.h5')
    model.fit(data['train_x'], data['train_y'], batch_size=len(data['train_x']), epochs=1,
              verbose=0, shuffle=False)
    np.testing.assert_allclose(model.predict(x), data['y_after_fit'], rtol=0, atol=1e-5)
