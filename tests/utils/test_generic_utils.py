import io
import re
import sys

import numpy as np
import pytest

from graphc.utils import (CustomObjectScope, Progbar, custom_object_scope,
                          deserialize_keras_object, get_custom_objects, serialize_keras_object)


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(autouse=True)
def no_ipykernel(monkeypatch):
    monkeypatch.delitem(sys.modules, 'ipykernel', raising=False)


FINAL = re.compile(r'^4/4 \[={30}\] - \d+s \d+(us|ms|s)/step - loss: 0\.6250 - acc: 0\.5000$')


def _run_epoch(bar):
    bar.update(1, [('loss', 1.0), ('acc', 0.0)])
    bar.update(2, [('loss', 0.5), ('acc', 1.0)])
    bar.update(4, [('loss', 0.5), ('acc', 0.5)])  # a step of 2 counts twice


def test_progbar_terminal_redraws_one_line():
    stream = FakeTerminal()
    bar = Progbar(4, interval=0, stream=stream)
    _run_epoch(bar)
    out = stream.getvalue()
    assert out.count('\r') == 3 and out.endswith('\n') and out.count('\n') == 1
    assert '1/4 [======>.......................] - ETA: ' in out
    assert FINAL.match(out.split('\r')[-1].rstrip('\n').rstrip())


def test_progbar_not_a_terminal_prints_only_the_final_line(capsys):
    bar = Progbar(4, interval=0)
    _run_epoch(bar)
    out = capsys.readouterr().out
    assert '\r' not in out and out.count('\n') == 1
    assert FINAL.match(out.rstrip('\n'))


def test_progbar_shown_values_are_the_exposed_averages():
    bar = Progbar(4, verbose=0)
    _run_epoch(bar)
    averages = bar.averages()
    assert averages['loss'] == pytest.approx((1.0 + 0.5 + 2 * 0.5) / 4)
    assert averages['acc'] == pytest.approx((0.0 + 1.0 + 2 * 0.5) / 4)
    verbose = Progbar(4, stream=io.StringIO())
    _run_epoch(verbose)
    assert f"loss: {averages['loss']:.4f}" in verbose.last_line


def test_progbar_verbose2_prints_one_summary_line():
    stream = FakeTerminal()
    bar = Progbar(4, verbose=2, stream=stream)
    _run_epoch(bar)
    assert re.fullmatch(r' - \d+s - loss: 0\.6250 - acc: 0\.5000\n', stream.getvalue())


def test_progbar_verbose0_is_silent():
    stream = FakeTerminal()
    _run_epoch(Progbar(4, verbose=0, stream=stream))
    assert stream.getvalue() == ''


def test_progbar_stateful_metric_shows_last_value_and_small_values_use_exponent():
    stream = io.StringIO()
    bar = Progbar(2, stateful_metrics=['auc'], stream=stream)
    bar.update(1, [('auc', 0.25), ('lr', 1e-5)])
    bar.update(2, [('auc', 0.75), ('lr', 1e-5)])
    assert bar.averages()['auc'] == 0.75
    assert 'auc: 0.7500' in stream.getvalue() and 'lr: 1.0000e-05' in stream.getvalue()


def test_progbar_unknown_target_prints_when_finalized():
    stream = io.StringIO()
    bar = Progbar(None, stream=stream)
    bar.add(5)
    bar.add(5)
    assert stream.getvalue() == ''
    bar.update(10, finalize=True)
    assert stream.getvalue().startswith('     10/Unknown - ')


def test_progbar_rejects_bad_verbose():
    with pytest.raises(ValueError, match='verbose must be 0, 1 or 2'):
        Progbar(3, verbose=3)


def my_activation(x):
    return x


class Scale:
    def __init__(self, factor=1.0):
        self.factor = factor

    def get_config(self):
        return {'factor': self.factor}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


MODULE = {'relu': abs, 'Scale': Scale, 'np': np}


def test_serialize_roundtrip_of_config_object_and_function():
    config = serialize_keras_object(Scale(2.5))
    assert config == {'class_name': 'Scale', 'config': {'factor': 2.5}}
    rebuilt = deserialize_keras_object(config, MODULE)
    assert isinstance(rebuilt, Scale) and rebuilt.factor == 2.5
    assert serialize_keras_object(my_activation) == 'my_activation'
    assert serialize_keras_object(None) is None


def test_unknown_name_error_lists_valid_names():
    with pytest.raises(ValueError) as err:
        deserialize_keras_object('rellu', MODULE, printable_module_name='activation')
    message = str(err.value)
    assert message.startswith('Unknown activation: rellu')
    assert 'Valid names are: Scale, relu' in message and 'Did you mean: relu' in message
    assert 'np' not in message.split('Valid names are:')[1].split('.')[0]


def test_custom_objects_argument_and_scope():
    assert deserialize_keras_object('my_activation', MODULE,
                                    {'my_activation': my_activation}) is my_activation
    with custom_object_scope({'my_activation': my_activation}):
        assert deserialize_keras_object('my_activation', MODULE) is my_activation
    assert 'my_activation' not in get_custom_objects()
    with pytest.raises(ValueError, match='Unknown object: my_activation'):
        deserialize_keras_object('my_activation', MODULE)


def test_scope_restores_previous_globals():
    get_custom_objects()['kept'] = abs
    try:
        with CustomObjectScope({'kept': len, 'extra': max}):
            assert get_custom_objects()['kept'] is len
        assert get_custom_objects()['kept'] is abs and 'extra' not in get_custom_objects()
    finally:
        del get_custom_objects()['kept']


def test_from_config_receives_custom_objects_when_it_accepts_them():
    seen = {}

    class Wrapper:
        @classmethod
        def from_config(cls, config, custom_objects=None):
            seen.update(custom_objects)
            return cls()

    deserialize_keras_object({'class_name': 'Wrapper', 'config': {}}, {'Wrapper': Wrapper},
                             {'my_activation': my_activation})
    assert seen == {'my_activation': my_activation}


def test_callable_without_from_config_gets_config_as_kwargs():
    def make(units):
        return ('made', units)

    out = deserialize_keras_object({'class_name': 'make', 'config': {'units': 3}},
                                   {'make': make})
    assert out == ('made', 3)


@pytest.mark.parametrize('identifier, message', [
    ({'class_name': 'Scale'}, 'Improper config format'),
    (42, 'Could not interpret serialized object: 42'),
])
def test_malformed_identifiers(identifier, message):
    with pytest.raises(ValueError, match=message):
        deserialize_keras_object(identifier, MODULE)


def test_serialize_unnamed_object_is_an_error():
    with pytest.raises(ValueError, match='Cannot serialize'):
        serialize_keras_object(object())
