"""multi_gpu_model: Keras's argument and device checks, and a clear word on replication."""
import pytest

from graphc.layers import Dense
from graphc.models import Sequential
from graphc.utils import multi_gpu_model, multi_gpu_utils


@pytest.fixture(scope='module')
def model():
    return Sequential([Dense(1, input_shape=(2,))])


def test_fewer_than_two_gpus_is_refused(model):
    with pytest.raises(ValueError, match='gpus >= 2'):
        multi_gpu_model(model, gpus=1)


def test_missing_devices_are_named(model, monkeypatch):
    monkeypatch.setattr(multi_gpu_utils, '_available_gpus', lambda: [])
    with pytest.raises(ValueError, match=r"only has: \['/cpu:0'\]"):
        multi_gpu_model(model, gpus=2)
    with pytest.raises(ValueError, match='gpus >= 2.*no GPU was found'):
        multi_gpu_model(model)
    monkeypatch.setattr(multi_gpu_utils, '_available_gpus', lambda: ['/gpu:0', '/gpu:1'])
    with pytest.raises(ValueError, match=r"/gpu:3"):
        multi_gpu_model(model, gpus=[0, 3])


def test_enough_gpus_says_graphc_runs_a_model_on_one_device(model, monkeypatch):
    monkeypatch.setattr(multi_gpu_utils, '_available_gpus', lambda: ['/gpu:0', '/gpu:1'])
    with pytest.raises(NotImplementedError, match='one device'):
        multi_gpu_model(model, gpus=2)
