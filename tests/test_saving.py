"""graphc.saving: model / weight files in Keras 2's HDF5 layout, JSON / YAML architectures,
custom objects, clear mismatch errors and atomic writes."""
import json
import os
import sys

import h5py
import numpy as np
import pytest

import graphc.backend as K
from graphc import config, saving
from graphc.layers import Dense, Input, Layer
from graphc.models import Model, Sequential, load_model, model_from_json, model_from_yaml

RNG = np.random.default_rng(0)
X4 = RNG.normal(size=(6, 4)).astype('float32')
Y2 = RNG.normal(size=(6, 2)).astype('float32')


@pytest.fixture(autouse=True)
def reference_executor():
    """Saving does not depend on the executor: the numpy interpreter keeps these tests fast."""
    previous = config.get('executor')
    config.set('executor', 'reference')
    K.clear_session()   # layer and variable names start afresh: dense_1, dense_1/kernel, ...
    yield
    config.set('executor', previous)


def mlp(units=(3, 2), name=None, layer_names=None):
    layer_names = layer_names or [None] * len(units)
    layers = [Dense(units[0], input_shape=(4,), activation='relu', name=layer_names[0])]
    layers += [Dense(u, name=n) for u, n in zip(units[1:], layer_names[1:])]
    return Sequential(layers, name=name)


def attrs_text(obj, name):
    return saving._text(obj.attrs[name])


# -- round trips --------------------------------------------------------------------------------

def test_sequential_save_load_model_same_predictions_and_config(tmp_path):
    model = mlp()
    path = tmp_path / 'seq.h5'
    model.save(str(path))
    loaded = load_model(str(path), compile=False)
    assert isinstance(loaded, Sequential)
    assert [la.name for la in loaded.layers] == [la.name for la in model.layers]
    np.testing.assert_array_equal(loaded.predict(X4), model.predict(X4))
    assert loaded.get_config()['layers'] == model.get_config()['layers']


def test_functional_shared_layer_two_inputs_two_outputs_round_trip(tmp_path):
    a = Input(shape=(4,), name='in_a')
    b = Input(shape=(4,), name='in_b')
    shared = Dense(3, activation='tanh', name='shared')
    out_a = Dense(2, name='out_a')(shared(a))
    out_b = Dense(1, activation='sigmoid', name='out_b')(shared(b))
    model = Model(inputs=[a, b], outputs=[out_a, out_b])
    model.compile(optimizer='rmsprop', loss=['mse', 'binary_crossentropy'],
                  loss_weights=[1.0, 0.2])
    xb = RNG.normal(size=(6, 4)).astype('float32')
    yb = (RNG.random((6, 1)) > 0.5).astype('float32')
    model.train_on_batch([X4, xb], [Y2, yb])
    path = tmp_path / 'functional.h5'
    model.save(str(path))

    loaded = load_model(str(path))
    assert loaded.input_names == ['in_a', 'in_b']
    assert loaded.output_names == ['out_a', 'out_b']
    # The shared layer is one layer with one set of weights, called twice.
    assert len(loaded.get_layer('shared')._inbound_nodes) == 2
    for got, want in zip(loaded.predict([X4, xb]), model.predict([X4, xb])):
        np.testing.assert_array_equal(got, want)
    assert loaded.loss_weights == [1.0, 0.2]
    assert loaded.train_on_batch([X4, xb], [Y2, yb]) == \
        pytest.approx(model.train_on_batch([X4, xb], [Y2, yb]), rel=1e-6)


@pytest.mark.parametrize('optimizer', ['adam', 'sgd_momentum', 'rmsprop', 'nadam'])
def test_compiled_model_continues_training_with_restored_optimizer_state(tmp_path, optimizer):
    from graphc import optimizers
    opt = {'adam': lambda: optimizers.Adam(lr=0.01),
           'sgd_momentum': lambda: optimizers.SGD(lr=0.05, momentum=0.9, decay=0.01),
           'rmsprop': lambda: optimizers.RMSprop(lr=0.01, decay=0.1),
           'nadam': lambda: optimizers.Nadam(lr=0.01)}[optimizer]()
    model = mlp()
    model.compile(optimizer=opt, loss='mse', metrics=['mae'])
    for _ in range(3):
        model.train_on_batch(X4, Y2)
    path = tmp_path / 'trained.h5'
    model.save(str(path))

    loaded = load_model(str(path))
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for got, want in zip(loaded.optimizer.get_weights(), model.optimizer.get_weights()):
        np.testing.assert_array_equal(got, want)
    # The next steps give the same losses as the original model's (momentum, moments and the
    # iteration count -- which drives decay and bias correction -- all came back).
    for _ in range(2):
        assert loaded.train_on_batch(X4, Y2) == \
            pytest.approx(model.train_on_batch(X4, Y2), rel=1e-6)
    np.testing.assert_allclose(loaded.predict(X4), model.predict(X4), rtol=1e-6, atol=1e-7)


def test_include_optimizer_false_loads_uncompiled_with_a_warning(tmp_path):
    model = mlp()
    model.compile('sgd', 'mse')
    path = tmp_path / 'no_opt.h5'
    model.save(str(path), include_optimizer=False)
    with h5py.File(path, 'r') as f:
        assert 'training_config' not in f.attrs and 'optimizer_weights' not in f
    with pytest.warns(UserWarning, match='not\\* compiled'):
        loaded = load_model(str(path))
    assert loaded.optimizer is None
    np.testing.assert_array_equal(loaded.predict(X4), model.predict(X4))


def test_nested_model_round_trip(tmp_path):
    inner = Sequential([Dense(3, input_shape=(4,), activation='relu')], name='inner')
    x = Input(shape=(4,))
    model = Model(x, Dense(2)(inner(x)))
    model.compile(optimizer='adam', loss='mse')
    model.train_on_batch(X4, Y2)
    path = tmp_path / 'nested.h5'
    model.save(str(path))
    with h5py.File(path, 'r') as f:   # the inner model is one layer holding its weights
        assert len(saving.load_attributes_from_hdf5_group(f['model_weights/inner'],
                                                          'weight_names')) == 2
    loaded = load_model(str(path))
    assert isinstance(loaded.get_layer('inner'), Sequential)
    np.testing.assert_array_equal(loaded.predict(X4), model.predict(X4))
    assert loaded.train_on_batch(X4, Y2) == pytest.approx(model.train_on_batch(X4, Y2),
                                                          rel=1e-6)


def test_load_model_accepts_an_open_h5py_file(tmp_path):
    model = mlp()
    path = tmp_path / 'm.h5'
    with h5py.File(path, 'w') as f:
        saving.save_model(model, f)
    with h5py.File(path, 'r') as f:
        loaded = load_model(f, compile=False)
    np.testing.assert_array_equal(loaded.predict(X4), model.predict(X4))


# -- save_weights / load_weights ----------------------------------------------------------------

def test_save_weights_load_weights_by_order(tmp_path):
    model = mlp()
    path = tmp_path / 'w.h5'
    model.save_weights(str(path))
    other = mlp()   # same architecture, other names and initial weights
    assert not np.allclose(other.predict(X4), model.predict(X4))
    other.load_weights(str(path))
    np.testing.assert_array_equal(other.predict(X4), model.predict(X4))
    # A model file works too (its model_weights group is used).
    model.save(str(tmp_path / 'm.h5'))
    third = mlp()
    third.load_weights(str(tmp_path / 'm.h5'))
    np.testing.assert_array_equal(third.predict(X4), model.predict(X4))


def test_load_weights_by_name_loads_matching_layers_only(tmp_path):
    source = mlp(layer_names=['enc', 'head'])
    path = tmp_path / 'w.h5'
    source.save_weights(str(path))
    target = Sequential([Dense(3, input_shape=(4,), activation='relu', name='enc'),
                         Dense(5, name='new_head')])
    head_before = target.get_layer('new_head').get_weights()
    target.load_weights(str(path), by_name=True)
    for got, want in zip(target.get_layer('enc').get_weights(),
                         source.get_layer('enc').get_weights()):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(target.get_layer('new_head').get_weights(), head_before):
        np.testing.assert_array_equal(got, want)


def test_load_weights_by_name_shape_mismatch_raises_or_skips(tmp_path):
    source = mlp(layer_names=['enc', 'head'])
    path = tmp_path / 'w.h5'
    source.save_weights(str(path))
    target = Sequential([Dense(3, input_shape=(4,), activation='relu', name='enc'),
                         Dense(5, name='head')])
    with pytest.raises(ValueError, match=r"'head'.*shape \(3, 5\).*saved weight has shape "
                                         r"\(3, 2\)"):
        target.load_weights(str(path), by_name=True)
    head_before = target.get_layer('head').get_weights()
    with pytest.warns(UserWarning, match='Skipping loading of weights for layer head'):
        target.load_weights(str(path), by_name=True, skip_mismatch=True)
    np.testing.assert_array_equal(target.get_layer('enc').get_weights()[0],
                                  source.get_layer('enc').get_weights()[0])
    np.testing.assert_array_equal(target.get_layer('head').get_weights()[0], head_before[0])
    with pytest.raises(ValueError, match='skip_mismatch=True only works with by_name=True'):
        target.load_weights(str(path), skip_mismatch=True)


# -- errors in the user's terms -----------------------------------------------------------------

def test_layer_count_mismatch_error(tmp_path):
    path = tmp_path / 'w3.h5'
    mlp(units=(3, 3, 2)).save_weights(str(path))
    model = mlp(units=(3, 2))
    before = model.get_weights()
    with pytest.raises(ValueError, match='You are trying to load a weight file containing 3 '
                                         'layers into a model with 2 layers'):
        model.load_weights(str(path))
    for got, want in zip(model.get_weights(), before):   # nothing was assigned
        np.testing.assert_array_equal(got, want)


def test_weight_shape_mismatch_names_layer_weight_and_both_shapes(tmp_path):
    path = tmp_path / 'w.h5'
    mlp(units=(3, 2)).save_weights(str(path))
    model = Sequential([Dense(5, input_shape=(4,), name='wide'), Dense(2, name='top')])
    before = model.get_weights()
    with pytest.raises(ValueError) as info:
        model.load_weights(str(path))
    message = str(info.value)
    assert "'wide'" in message and 'wide/kernel' in message
    assert '(4, 5)' in message and '(4, 3)' in message
    for got, want in zip(model.get_weights(), before):
        np.testing.assert_array_equal(got, want)


def test_unknown_layer_class_names_it_and_points_to_custom_objects(tmp_path):
    model = Sequential([Scale(input_shape=(4,)), Dense(2)])
    path = tmp_path / 'custom.h5'
    model.save(str(path))
    with pytest.raises(ValueError, match=r'Unknown layer: Scale.*custom_objects'):
        load_model(str(path))


def test_save_weights_file_is_not_a_model(tmp_path):
    path = tmp_path / 'w.h5'
    mlp().save_weights(str(path))
    with pytest.raises(ValueError, match='No model found.*load_weights'):
        load_model(str(path))


def test_not_an_hdf5_file_and_missing_file(tmp_path):
    bad = tmp_path / 'bad.h5'
    bad.write_bytes(b'not hdf5 at all')
    with pytest.raises(OSError, match='not an HDF5 file'):
        load_model(str(bad))
    with pytest.raises(FileNotFoundError, match='missing.h5'):
        mlp().load_weights(str(tmp_path / 'missing.h5'))


def test_keras1_file_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / 'keras1.h5'
    with h5py.File(path, 'w') as f:   # Keras 1 wrote no keras_version
        f.attrs['layer_names'] = np.array([b'dense_1'])
        g = f.create_group('dense_1')
        g.attrs['weight_names'] = np.array([b'dense_1_W', b'dense_1_b'])
        g['dense_1_W'] = np.zeros((4, 3), 'float32')
        g['dense_1_b'] = np.zeros((3,), 'float32')
    with pytest.raises(ValueError, match='written by Keras 1'):
        Sequential([Dense(3, input_shape=(4,))]).load_weights(str(path))


def test_overwrite_false_without_a_terminal_refuses(tmp_path, monkeypatch):
    path = tmp_path / 'w.h5'
    model = mlp()
    model.save_weights(str(path))
    monkeypatch.setattr(sys, 'stdin', None)
    with pytest.raises(FileExistsError, match='overwrite=True'):
        model.save_weights(str(path), overwrite=False)


# -- custom objects -----------------------------------------------------------------------------

class Scale(Layer):
    """A custom layer with one weight per feature (multiplies the input)."""

    def __init__(self, initial=2.0, **kwargs):
        super().__init__(**kwargs)
        self.initial = initial

    def build(self, input_shape):
        self.scale = self.add_weight('scale', (input_shape[-1],),
                                     initializer=lambda shape, dtype=None:
                                     np.full(shape, self.initial, dtype=dtype or 'float32'))
        super().build(input_shape)

    def call(self, x):
        return x * self.scale

    def get_config(self):
        return dict(super().get_config(), initial=self.initial)


def scaled_mse(y_true, y_pred):
    return K.mean(K.square(y_pred - y_true), axis=-1) * 3.0


def test_custom_layer_and_custom_loss_through_custom_objects(tmp_path):
    model = Sequential([Scale(initial=1.5, input_shape=(4,)), Dense(2)])
    model.compile(optimizer='adam', loss=scaled_mse)
    model.train_on_batch(X4, Y2)
    path = tmp_path / 'custom.h5'
    model.save(str(path))
    with h5py.File(path, 'r') as f:
        assert json.loads(attrs_text(f, 'training_config'))['loss'] == 'scaled_mse'

    with pytest.raises(ValueError, match='scaled_mse.*custom_objects'):
        load_model(str(path), custom_objects={'Scale': Scale})
    loaded = load_model(str(path), custom_objects={'Scale': Scale, 'scaled_mse': scaled_mse})
    assert loaded.layers[0].initial == 1.5
    np.testing.assert_array_equal(loaded.predict(X4), model.predict(X4))
    assert loaded.train_on_batch(X4, Y2) == pytest.approx(model.train_on_batch(X4, Y2),
                                                          rel=1e-6)


# -- JSON / YAML --------------------------------------------------------------------------------

def test_to_json_model_from_json_round_trip():
    model = mlp()
    clone = model_from_json(model.to_json(), custom_objects=None)
    assert clone.get_config()['layers'] == model.get_config()['layers']
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone.predict(X4), model.predict(X4))


def test_model_from_json_with_a_custom_layer():
    model = Sequential([Scale(initial=0.5, input_shape=(4,))])
    clone = model_from_json(model.to_json(), custom_objects={'Scale': Scale})
    np.testing.assert_allclose(clone.predict(X4), 0.5 * X4)
    with pytest.raises(ValueError, match='Unknown layer: Scale'):
        model_from_json(model.to_json())


def test_to_yaml_model_from_yaml_round_trip():
    yaml = pytest.importorskip('yaml')
    model = mlp()
    clone = model_from_yaml(model.to_yaml())
    assert clone.get_config()['layers'] == model.get_config()['layers']
    # Keras 2's to_yaml dumps shapes as Python tuples (!!python/tuple); those load too.
    keras_style = yaml.dump({'class_name': 'Sequential', 'config': {
        'name': 'seq', 'layers': [{'class_name': 'Dense', 'config': {
            'name': 'd', 'units': 2, 'batch_input_shape': (None, 4)}}]}})
    assert '!!python/tuple' in keras_style
    assert model_from_yaml(keras_style).layers[0].batch_input_shape == (None, 4)


def test_model_from_yaml_without_pyyaml_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, 'yaml', None)
    with pytest.raises(ImportError, match='pip install pyyaml'):
        model_from_yaml('class_name: Sequential')


def test_model_from_config_rejects_a_list():
    with pytest.raises(TypeError, match='Sequential.from_config'):
        saving.model_from_config([{'class_name': 'Dense', 'config': {'units': 2}}])


# -- atomic writes ------------------------------------------------------------------------------

def test_crash_mid_save_leaves_the_old_file_whole(tmp_path, monkeypatch):
    model = mlp(layer_names=['first', 'second'])
    path = tmp_path / 'model.h5'
    model.save(str(path))
    good = path.read_bytes()
    expected = model.predict(X4)

    original = Dense.weights

    def exploding(self):
        if self.name == 'second':   # the file already holds the config and the first layer
            raise RuntimeError('simulated crash while reading weights')
        return original.fget(self)

    model.get_layer('first').set_weights([w + 1 for w in model.get_layer('first').get_weights()])
    monkeypatch.setattr(Dense, 'weights', property(exploding))
    with pytest.raises(RuntimeError, match='simulated crash'):
        model.save(str(path))
    with pytest.raises(RuntimeError, match='simulated crash'):
        model.save_weights(str(path))
    monkeypatch.undo()

    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ['model.h5']   # no temporary file left behind
    np.testing.assert_array_equal(load_model(str(path), compile=False).predict(X4), expected)


# -- the file layout: Keras 2.2's, attribute by attribute ----------------------------------------

def test_save_model_layout_matches_keras_2_2(tmp_path):
    model = mlp(layer_names=['dense_a', 'dense_b'])
    model.compile(optimizer='sgd', loss='mse', metrics=['accuracy'])
    model.train_on_batch(X4, Y2)
    path = tmp_path / 'layout.h5'
    model.save(str(path))
    with h5py.File(path, 'r') as f:
        assert set(f.attrs) == {'keras_version', 'backend', 'model_config', 'training_config',
                                'graphc_version'}
        for name in ('keras_version', 'backend', 'model_config', 'training_config'):
            # bytes, so that Keras 2's `.decode('utf8')` works on them
            assert isinstance(f.attrs[name], np.bytes_)
        assert attrs_text(f, 'keras_version') == '2.2.4'
        assert attrs_text(f, 'backend') == 'graphc'
        model_config = json.loads(attrs_text(f, 'model_config'))
        assert set(model_config) == {'class_name', 'config'}
        assert model_config['class_name'] == 'Sequential'
        assert set(model_config['config']) >= {'name', 'layers'}
        dense = model_config['config']['layers'][0]
        assert dense['class_name'] == 'Dense'
        assert dense['config']['batch_input_shape'] == [None, 4]
        assert dense['config']['kernel_initializer']['class_name'] == 'VarianceScaling'
        training = json.loads(attrs_text(f, 'training_config'))
        assert set(training) == {'optimizer_config', 'loss', 'metrics', 'sample_weight_mode',
                                 'loss_weights'}
        assert training['optimizer_config']['class_name'] == 'SGD'
        assert set(training['optimizer_config']['config']) >= {'lr', 'momentum', 'decay',
                                                               'nesterov'}
        assert training['loss'] == 'mse' and training['metrics'] == ['accuracy']

        assert set(f) == {'model_weights', 'optimizer_weights'}
        group = f['model_weights']
        assert set(group.attrs) == {'layer_names', 'backend', 'keras_version'}
        assert group.attrs['layer_names'].dtype.kind == 'S'
        assert saving.load_attributes_from_hdf5_group(group, 'layer_names') == \
            ['dense_a', 'dense_b']
        assert set(group) == {'dense_a', 'dense_b'}
        names = saving.load_attributes_from_hdf5_group(group['dense_a'], 'weight_names')
        assert names == ['dense_a/kernel:0', 'dense_a/bias:0']
        # The dataset lies at the path its name spells, as with Keras 2 + TensorFlow.
        kernel = group['dense_a/dense_a/kernel:0']
        assert kernel.shape == (4, 3) and kernel.dtype == np.float32
        np.testing.assert_array_equal(kernel[()], model.get_layer('dense_a').get_weights()[0])

        opt = f['optimizer_weights']
        opt_names = saving.load_attributes_from_hdf5_group(opt, 'weight_names')
        assert opt_names[0].startswith('SGD/iterations')
        assert len(opt_names) == 1 + 4   # iterations + one moment per weight (Keras 2.2.4)
        assert opt[opt_names[0]][()] == 1


def test_save_weights_layout_puts_layer_names_at_the_root(tmp_path):
    model = mlp(layer_names=['dense_a', 'dense_b'])
    path = tmp_path / 'w.h5'
    model.save_weights(str(path))
    with h5py.File(path, 'r') as f:
        assert set(f.attrs) == {'layer_names', 'backend', 'keras_version'}
        assert set(f) == {'dense_a', 'dense_b'}
        assert saving.load_attributes_from_hdf5_group(f['dense_b'], 'weight_names') == \
            ['dense_b/kernel:0', 'dense_b/bias:0']
        assert f['dense_b/dense_b/bias:0'].shape == (2,)


def test_functional_layout_lists_input_layers_with_no_weights(tmp_path):
    x = Input(shape=(4,), name='features')
    model = Model(x, Dense(2, name='out')(x))
    path = tmp_path / 'f.h5'
    model.save(str(path))
    with h5py.File(path, 'r') as f:
        group = f['model_weights']
        assert saving.load_attributes_from_hdf5_group(group, 'layer_names') == \
            ['features', 'out']
        assert saving.load_attributes_from_hdf5_group(group['features'], 'weight_names') == []
        config = json.loads(attrs_text(f, 'model_config'))
        assert config['class_name'] == 'Model'
        assert set(config['config']) == {'name', 'layers', 'input_layers', 'output_layers'}
        assert config['config']['input_layers'] == [['features', 0, 0]]


# -- a file exactly as Keras 2.2.4 (TensorFlow backend) writes it --------------------------------

KERAS_MODEL_CONFIG = {
    'class_name': 'Sequential',
    'config': {'name': 'sequential_1', 'layers': [
        {'class_name': 'Dense', 'config': {
            'name': 'dense_1', 'trainable': True, 'batch_input_shape': [None, 4],
            'dtype': 'float32', 'units': 3, 'activation': 'relu', 'use_bias': True,
            'kernel_initializer': {'class_name': 'VarianceScaling', 'config': {
                'scale': 1.0, 'mode': 'fan_avg', 'distribution': 'uniform', 'seed': None}},
            'bias_initializer': {'class_name': 'Zeros', 'config': {}},
            'kernel_regularizer': None, 'bias_regularizer': None,
            'activity_regularizer': None, 'kernel_constraint': None,
            'bias_constraint': None}},
        {'class_name': 'Dense', 'config': {
            'name': 'dense_2', 'trainable': True, 'units': 2, 'activation': 'linear',
            'use_bias': True,
            'kernel_initializer': {'class_name': 'VarianceScaling', 'config': {
                'scale': 1.0, 'mode': 'fan_avg', 'distribution': 'uniform', 'seed': None}},
            'bias_initializer': {'class_name': 'Zeros', 'config': {}},
            'kernel_regularizer': None, 'bias_regularizer': None,
            'activity_regularizer': None, 'kernel_constraint': None,
            'bias_constraint': None}}]}}
KERAS_TRAINING_CONFIG = {
    'optimizer_config': {'class_name': 'SGD', 'config': {
        'lr': 0.10000000149011612, 'momentum': 0.8999999761581421, 'decay': 0.0,
        'nesterov': False}},
    'loss': 'mean_squared_error', 'metrics': [], 'sample_weight_mode': None,
    'loss_weights': None}


def write_keras_2_2_4_file(path, weights, moments, iterations, text=np.bytes_):
    """Write the file Keras 2.2.4 + TensorFlow + h5py 2 writes for the model above
    (``text=str``: strings as h5py 3 stores them, variable-length)."""
    names = [[b'dense_1/kernel:0', b'dense_1/bias:0'], [b'dense_2/kernel:0', b'dense_2/bias:0']]

    def t(s):
        return text(s.encode('utf8')) if text is np.bytes_ else s

    with h5py.File(path, 'w') as f:
        f.attrs['keras_version'] = t('2.2.4')
        f.attrs['backend'] = t('tensorflow')
        f.attrs['model_config'] = t(json.dumps(KERAS_MODEL_CONFIG))
        f.attrs['training_config'] = t(json.dumps(KERAS_TRAINING_CONFIG))
        group = f.create_group('model_weights')
        group.attrs['layer_names'] = np.array([b'dense_1', b'dense_2'])
        group.attrs['backend'] = t('tensorflow')
        group.attrs['keras_version'] = t('2.2.4')
        for layer, layer_names, values in zip(['dense_1', 'dense_2'], names,
                                              [weights[:2], weights[2:]]):
            g = group.create_group(layer)
            g.attrs['weight_names'] = np.array(layer_names)
            for name, value in zip(layer_names, values):
                g.create_dataset(name.decode(), data=value)
        opt = f.create_group('optimizer_weights')
        opt_names = [b'SGD/iterations:0'] + [f'training/SGD/Variable{s}:0'.encode()
                                             for s in ('', '_1', '_2', '_3')]
        opt.attrs['weight_names'] = np.array(opt_names)
        opt.create_dataset('SGD/iterations:0', data=np.int64(iterations))
        for name, value in zip(opt_names[1:], moments):
            opt.create_dataset(name.decode(), data=value)


def numpy_forward(weights, x):
    w1, b1, w2, b2 = weights
    hidden = np.maximum(x @ w1 + b1, 0.0)
    return hidden, hidden @ w2 + b2


def numpy_sgd_momentum_step(weights, moments, x, y, lr=0.1, momentum=0.9):
    """One Keras 2 SGD step with momentum on the mse loss of the model above."""
    w1, b1, w2, b2 = weights
    hidden, out = numpy_forward(weights, x)
    g_out = 2.0 * (out - y) / out.size
    g_w2, g_b2 = hidden.T @ g_out, g_out.sum(0)
    g_hidden = (g_out @ w2.T) * (hidden > 0)
    g_w1, g_b1 = x.T @ g_hidden, g_hidden.sum(0)
    new_weights, new_moments = [], []
    for p, g, m in zip(weights, [g_w1, g_b1, g_w2, g_b2], moments):
        v = momentum * m - lr * g
        new_moments.append(v)
        new_weights.append(p + v)
    return new_weights, new_moments


@pytest.mark.parametrize('text', [np.bytes_, str], ids=['h5py2-bytes', 'h5py3-str'])
def test_a_keras_2_2_4_file_loads_with_the_right_predictions_and_optimizer_state(tmp_path,
                                                                                 text):
    rng = np.random.default_rng(7)
    weights = [rng.normal(size=s).astype('float32') for s in ((4, 3), (3,), (3, 2), (2,))]
    moments = [rng.normal(scale=0.1, size=w.shape).astype('float32') for w in weights]
    path = tmp_path / 'keras224.h5'
    write_keras_2_2_4_file(path, weights, moments, iterations=17, text=text)

    model = load_model(str(path))
    assert [la.name for la in model.layers] == ['dense_1', 'dense_2']
    np.testing.assert_allclose(model.predict(X4), numpy_forward(weights, X4)[1], rtol=1e-5,
                               atol=1e-6)
    state = model.optimizer.get_weights()
    assert int(state[0]) == 17
    for got, want in zip(state[1:], moments):
        np.testing.assert_array_equal(got, want)
    # One training step uses the saved momentum: compare with Keras's update in numpy.
    model.train_on_batch(X4, Y2)
    expected, _ = numpy_sgd_momentum_step(weights, moments, X4, Y2)
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_a_keras_weights_file_loads_by_order_and_by_name(tmp_path):
    rng = np.random.default_rng(3)
    weights = [rng.normal(size=s).astype('float32') for s in ((4, 3), (3,), (3, 2), (2,))]
    path = tmp_path / 'keras224.h5'
    write_keras_2_2_4_file(path, weights, [np.zeros_like(w) for w in weights], 0)
    model = mlp()
    model.load_weights(str(path))
    np.testing.assert_allclose(model.predict(X4), numpy_forward(weights, X4)[1], rtol=1e-5,
                               atol=1e-6)
    named = mlp(layer_names=['dense_2', 'dense_1'][::-1])
    named.load_weights(str(path), by_name=True)
    np.testing.assert_array_equal(named.get_layer('dense_2').get_weights()[1], weights[3])


# -- optimizer state in Keras 2.2.4's order ------------------------------------------------------

@pytest.mark.parametrize('name,keras_count', [('Adam', 1 + 3 * 4), ('RMSprop', 4),
                                              ('Adagrad', 4), ('Adadelta', 8),
                                              ('Nadam', 1 + 2 * 4), ('Adamax', 1 + 2 * 4)])
def test_optimizer_state_written_in_keras_order_and_read_back_from_it(tmp_path, name,
                                                                      keras_count):
    from graphc import optimizers
    model = mlp()
    model.compile(optimizer=getattr(optimizers, name)(), loss='mse')
    for _ in range(2):
        model.train_on_batch(X4, Y2)
    path = tmp_path / 'opt.h5'
    model.save(str(path))
    with h5py.File(path, 'a') as f:
        group = f['optimizer_weights']
        assert len(saving.load_attributes_from_hdf5_group(group, 'weight_names')) == keras_count
        del group.attrs['graphc_weight_names']   # now it reads like a Keras 2.2.4 file
    loaded = load_model(str(path))
    got, want = loaded.optimizer.get_weights(), model.optimizer.get_weights()
    assert len(got) == len(want)
    if name in ('RMSprop', 'Adagrad', 'Adadelta'):
        assert int(got[0]) == 0      # Keras 2.2.4 does not save their iteration count
        got, want = got[1:], want[1:]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6)   # Nadam's m_schedule is recomputed


def test_keras_2_3_optimizer_config_and_state_load(tmp_path):
    """Keras 2.3 writes 'learning_rate', Adagrad's initial_accumulator_value, and SGD without
    momentum keeps only its iteration count."""
    model = mlp()
    model.compile(optimizer='sgd', loss='mse')
    model.train_on_batch(X4, Y2)
    path = tmp_path / 'm.h5'
    model.save(str(path))
    with h5py.File(path, 'a') as f:
        training = json.loads(attrs_text(f, 'training_config'))
        training['optimizer_config'] = {'class_name': 'SGD', 'config': {
            'learning_rate': 0.5, 'momentum': 0.0, 'decay': 0.0, 'nesterov': False}}
        f.attrs['training_config'] = np.bytes_(json.dumps(training).encode())
        del f['optimizer_weights']
        opt = f.create_group('optimizer_weights')
        opt.attrs['weight_names'] = np.array([b'SGD/iterations:0'])
        opt['SGD/iterations:0'] = np.int64(5)
    loaded = load_model(str(path))
    assert loaded.optimizer.get_config()['lr'] == 0.5
    assert int(loaded.optimizer.get_weights()[0]) == 5

    with h5py.File(path, 'a') as f:
        training['optimizer_config'] = {'class_name': 'Adagrad', 'config': {
            'learning_rate': 0.25, 'decay': 0.0, 'initial_accumulator_value': 0.1}}
        f.attrs['training_config'] = np.bytes_(json.dumps(training).encode())
        del f['optimizer_weights']
    with pytest.warns(UserWarning, match="initial_accumulator_value"):
        loaded = load_model(str(path))
    assert loaded.optimizer.get_config()['lr'] == 0.25


def test_optimizer_state_that_does_not_fit_warns_and_starts_fresh(tmp_path):
    model = mlp()
    model.compile(optimizer='adam', loss='mse')
    model.train_on_batch(X4, Y2)
    path = tmp_path / 'm.h5'
    model.save(str(path))
    with h5py.File(path, 'a') as f:   # the file now says SGD, but holds Adam's state
        training = json.loads(attrs_text(f, 'training_config'))
        training['optimizer_config'] = {'class_name': 'SGD', 'config': {'lr': 0.01}}
        f.attrs['training_config'] = np.bytes_(json.dumps(training).encode())
    with pytest.warns(UserWarning, match='freshly initialized optimizer'):
        loaded = load_model(str(path))
    np.testing.assert_array_equal(loaded.predict(X4), model.predict(X4))


# -- conversions and attribute chunking ----------------------------------------------------------

def test_theano_kernels_are_flipped_on_loading():
    Conv2D = pytest.importorskip('graphc.layers.convolutional').Conv2D
    layer = Conv2D(2, (2, 3), input_shape=(5, 5, 1))
    Sequential([layer])
    kernel = np.arange(2 * 3 * 1 * 2, dtype='float32').reshape(2, 3, 1, 2)
    bias = np.zeros(2, 'float32')
    out = saving.preprocess_weights_for_loading(layer, [kernel, bias], '2.2.4', 'theano')
    np.testing.assert_array_equal(out[0], kernel[::-1, ::-1])
    same = saving.preprocess_weights_for_loading(layer, [kernel, bias], '2.2.4', 'tensorflow')
    np.testing.assert_array_equal(same[0], kernel)


def test_long_attribute_lists_are_chunked_like_keras(tmp_path):
    names = [f'layer_with_a_long_name_{i:05d}_' + 'x' * 40 for i in range(2000)]
    with h5py.File(tmp_path / 'a.h5', 'w') as f:
        saving.save_attributes_to_hdf5_group(f, 'layer_names', names)
        assert 'layer_names' not in f.attrs and 'layer_names0' in f.attrs
        assert saving.load_attributes_from_hdf5_group(f, 'layer_names') == names


def test_large_model_config_attribute_is_stored(tmp_path):
    text = json.dumps({'class_name': 'Sequential', 'config': {'pad': 'y' * 100000}})
    with h5py.File(tmp_path / 'a.h5', 'w') as f:
        saving._set_text_attr(f, 'model_config', text)
    with h5py.File(tmp_path / 'a.h5', 'r') as f:
        assert saving._text(f.attrs['model_config']) == text
