"""Safe mode: no entry point runs a Lambda's saved bytecode unless the user opts in.

The hostile Lambda below writes a marker file whenever it runs (rebuilding a model calls it
once on the model's input tensors), so "the marker is absent" means "no code from the file
ran".
"""
import json
import os

import numpy as np
import pytest

from graphc import config
from graphc.cli import main as cli_main
from graphc.layers import Dense, Input, Lambda, deserialize, serialize
from graphc.models import Model, Sequential
from graphc.saving import load_model, model_from_config, model_from_json, model_from_yaml
from graphc.utils import safe_mode as sm
from graphc.utils.generic_utils import func_dump, func_load

SAFE_ERROR = (r"(?s)Lambda layer 'evil'.*arbitrary code execution.*safe_mode=False"
              r".*enable_unsafe_deserialization")


def _hostile(marker):
    """A lambda that writes ``marker`` (its path travels as a saved default argument)."""
    return lambda t, marker=marker: (open(marker, 'a').close(), t)[1]


@pytest.fixture(scope='module')
def saved(tmp_path_factory):
    """A functional and a Sequential model holding the hostile Lambda, and the saved file."""
    folder = tmp_path_factory.mktemp('safe_mode')
    marker = str(folder / 'marker')
    inp = Input(shape=(3,))
    functional = Model(inp, Dense(2)(Lambda(_hostile(marker), name='evil')(inp)))
    sequential = Sequential([Lambda(_hostile(marker), input_shape=(3,), name='evil'),
                             Dense(2)])
    path = str(folder / 'evil.h5')
    functional.save(path)
    os.remove(marker)          # building the models above ran the lambda
    return {'marker': marker, 'path': path, 'functional': functional,
            'sequential': sequential}


@pytest.fixture
def marker(saved):
    """The marker path, absent at the start of the test."""
    if os.path.exists(saved['marker']):
        os.remove(saved['marker'])
    return saved['marker']


def _loaders(saved):
    functional, sequential = saved['functional'], saved['sequential']
    model_config = {'class_name': 'Model', 'config': functional.get_config()}
    return {
        'load_model': lambda **kw: load_model(saved['path'], compile=False, **kw),
        'model_from_json': lambda **kw: model_from_json(functional.to_json(), **kw),
        'model_from_yaml': lambda **kw: model_from_yaml(functional.to_yaml(), **kw),
        'model_from_config': lambda **kw: model_from_config(model_config, **kw),
        'Model.from_config': lambda **kw: Model.from_config(functional.get_config(), **kw),
        'Sequential.from_config': lambda **kw: Sequential.from_config(
            sequential.get_config(), **kw),
        'layers.deserialize': lambda **kw: deserialize(
            json.loads(json.dumps(serialize(functional.get_layer('evil')))), **kw),
    }


ENTRY_POINTS = ['load_model', 'model_from_json', 'model_from_yaml', 'model_from_config',
                'Model.from_config', 'Sequential.from_config', 'layers.deserialize']


@pytest.mark.parametrize('entry', ENTRY_POINTS)
def test_entry_point_refuses_lambda_bytecode_by_default(saved, marker, entry):
    load = _loaders(saved)[entry]
    with pytest.raises(sm.UnsafeDeserializationError, match=SAFE_ERROR):
        load()
    with pytest.raises(ValueError, match=SAFE_ERROR):     # explicit safe_mode=True too
        load(safe_mode=True)
    assert not os.path.exists(marker)


@pytest.mark.parametrize('entry', ENTRY_POINTS)
def test_entry_point_loads_lambda_with_safe_mode_false(saved, marker, entry):
    loaded = _loaders(saved)[entry](safe_mode=False)
    if entry == 'layers.deserialize':
        assert isinstance(loaded, Lambda)
        loaded(Input(shape=(3,)))              # a layer runs its function when called
    assert os.path.exists(marker)              # the saved code did run: the opt-in works


def test_loaded_model_computes_the_same(saved, marker):
    model = load_model(saved['path'], compile=False, safe_mode=False)
    x = np.random.RandomState(0).rand(4, 3).astype('float32')
    np.testing.assert_allclose(model.predict(x), saved['functional'].predict(x), rtol=1e-6)


def test_enable_unsafe_deserialization_is_the_process_wide_opt_in(saved, marker,
                                                                   monkeypatch):
    monkeypatch.setattr(sm, '_unsafe_enabled', False)
    config.enable_unsafe_deserialization()
    assert not sm.in_safe_mode()
    with pytest.raises(ValueError, match=SAFE_ERROR):       # explicit True still wins
        load_model(saved['path'], compile=False, safe_mode=True)
    assert not os.path.exists(marker)
    load_model(saved['path'], compile=False)
    assert os.path.exists(marker)


def test_safe_mode_scope_nests_and_restores():
    assert sm.in_safe_mode()
    with sm.SafeModeScope(False):
        assert not sm.in_safe_mode()
        with sm.SafeModeScope(None):
            assert not sm.in_safe_mode()
        with sm.SafeModeScope(True):
            assert sm.in_safe_mode()
        assert not sm.in_safe_mode()
    assert sm.in_safe_mode()
    with pytest.raises(TypeError, match='safe_mode must be True, False or None'):
        sm.SafeModeScope('no')


def times_two(t):
    return t * 2


def same_shape(shape):
    return shape


def test_lambda_of_a_named_function_loads_in_safe_mode(tmp_path):
    inp = Input(shape=(3,))
    model = Model(inp, Lambda(times_two, output_shape=same_shape, name='named')(inp))
    layer_config = model.get_layer('named').get_config()
    assert layer_config['function'] == 'times_two'            # saved by name, no bytecode
    assert layer_config['output_shape'] == 'same_shape'
    path = str(tmp_path / 'named.h5')
    model.save(path)
    objects = {'times_two': times_two, 'same_shape': same_shape}
    loaded = load_model(path, compile=False, custom_objects=objects)
    x = np.ones((2, 3), 'float32')
    np.testing.assert_allclose(loaded.predict(x), 2 * x)
    clone = model_from_json(model.to_json(), custom_objects=objects)
    assert clone.get_layer('named').function is times_two
    # Without custom_objects, safe mode does not look the name up in its module; the opt-in
    # finds it there (the module is already imported).
    with pytest.raises(sm.UnsafeDeserializationError, match="function 'times_two' of module"):
        model_from_json(model.to_json())
    assert model_from_json(model.to_json(), safe_mode=False).get_layer('named').function \
        is times_two
    unknown = model.to_json().replace(f'"module": "{__name__}"', '"module": "not_imported_mod"')
    with pytest.raises(ValueError, match="unknown function 'times_two'"):
        model_from_json(unknown, safe_mode=False)


def write_marker(t, path):
    """An imported function a hostile file could name, with arguments of its choosing."""
    open(path, 'a').close()
    return t


def test_a_file_cannot_call_an_imported_function_by_name_in_safe_mode(saved, marker):
    config = {'name': 'by_name', 'function': 'write_marker', 'function_type': 'function',
              'module': __name__, 'output_shape': None, 'output_shape_type': 'raw',
              'arguments': {'path': marker}}
    with pytest.raises(sm.UnsafeDeserializationError, match="Lambda layer 'by_name'"):
        Lambda.from_config(config)
    assert not os.path.exists(marker)
    Lambda.from_config(config, safe_mode=False)(Input(shape=(3,)))
    assert os.path.exists(marker)                  # the opt-in does find and run it


def test_lambda_output_shape_bytecode_is_refused_too():
    inp = Input(shape=(3,))
    layer = Lambda(times_two, output_shape=lambda s: s, name='shaped')
    layer(inp)
    with pytest.raises(ValueError, match="output_shape function of Lambda layer 'shaped'"):
        deserialize(serialize(layer), custom_objects={'times_two': times_two})
    clone = deserialize(serialize(layer), custom_objects={'times_two': times_two},
                        safe_mode=False)
    assert clone.compute_output_shape((None, 3)) == (None, 3)


def test_func_load_checks_before_decoding_anything():
    # Garbage that would fail to decode: safe mode refuses before looking at it.
    with pytest.raises(sm.UnsafeDeserializationError, match="the function of X"):
        func_load('%%% not base64 %%%', what='the function of X')
    with sm.SafeModeScope(False):
        with pytest.raises(ValueError, match='not valid base64'):
            func_load('%%% not base64 %%%', what='the function of X')
        fn = func_load(func_dump(lambda a, b=3: a * b))
    assert fn(2) == 6


@pytest.mark.filterwarnings('ignore:No training configuration')
def test_cli_dump_refuses_then_loads_with_the_flag(saved, marker, capsys):
    code = cli_main(['dump', saved['path']])
    err = capsys.readouterr().err
    assert code == 1
    assert "Lambda layer 'evil'" in err and '--unsafe-deserialization' in err
    assert not os.path.exists(marker)
    code = cli_main(['dump', saved['path'], '--unsafe-deserialization'])
    out = capsys.readouterr().out
    assert code == 0 and 'graph' in out
    assert os.path.exists(marker)


def test_keras_3_function_configs_go_through_the_same_guard(saved, marker):
    config = saved['functional'].get_layer('evil').get_config()
    keras3 = dict(config, function={'class_name': '__lambda__',
                                    'config': {'value': config['function']}})
    del keras3['function_type']
    with pytest.raises(sm.UnsafeDeserializationError, match="Lambda layer 'evil'"):
        Lambda.from_config(keras3)
    layer = Lambda.from_config(keras3, safe_mode=False)
    layer(Input(shape=(3,)))
    assert os.path.exists(marker)
    named = dict(keras3, name='named', function={'class_name': 'function',
                                                 'config': 'times_two'})
    assert Lambda.from_config(named, custom_objects={'times_two': times_two}).function \
        is times_two
    with pytest.raises(ValueError, match="cannot read the saved function"):
        Lambda.from_config(dict(keras3, function={'class_name': 'Other', 'config': {}}))


def test_clone_model_of_an_in_memory_lambda_model_is_not_refused(saved, marker):
    from graphc.models import clone_model
    clone = clone_model(saved['sequential'])           # the user's own code, not a file
    assert [type(la).__name__ for la in clone.layers] == ['Lambda', 'Dense']
    assert clone_model(saved['functional']).get_layer('evil') is not None
    assert sm.in_safe_mode()                           # the scope did not leak
