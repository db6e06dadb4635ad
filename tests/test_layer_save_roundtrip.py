"""Every layer survives get_config / from_config and save / load_model with identical
predictions (issue 4's "every layer round-trips")."""
import numpy as np
import pytest

from graphc import config
from graphc import layers as L
from graphc.engine import Input, Model
from graphc.models import load_model

rng = np.random.default_rng(0)

# (name, layer factory, input shape without the batch axis, integer input?)
SINGLE = [
    ("Dense", lambda: L.Dense(3, activation="tanh", kernel_regularizer="l2"), (4,), False),
    ("Activation", lambda: L.Activation("softmax"), (4,), False),
    ("Dropout", lambda: L.Dropout(0.3, seed=1), (4,), False),
    ("Flatten", lambda: L.Flatten(), (2, 3), False),
    ("Reshape", lambda: L.Reshape((3, 2)), (6,), False),
    ("Permute", lambda: L.Permute((2, 1)), (2, 3), False),
    ("RepeatVector", lambda: L.RepeatVector(2), (3,), False),
    ("ActivityRegularization", lambda: L.ActivityRegularization(l1=0.1), (3,), False),
    ("Masking", lambda: L.Masking(0.0), (3, 2), False),
    ("Embedding", lambda: L.Embedding(10, 3), (4,), True),
    ("Conv1D", lambda: L.Conv1D(2, 3, padding="same", dilation_rate=2), (6, 2), False),
    ("Conv2D", lambda: L.Conv2D(2, (3, 3), strides=2, activation="relu"), (7, 7, 2), False),
    ("SeparableConv2D", lambda: L.SeparableConv2D(3, (2, 2), depth_multiplier=2), (5, 5, 2),
     False),
    ("DepthwiseConv2D", lambda: L.DepthwiseConv2D((3, 3), padding="same"), (5, 5, 2), False),
    ("Conv2DTranspose", lambda: L.Conv2DTranspose(2, (3, 3), strides=2), (3, 3, 2), False),
    ("UpSampling1D", lambda: L.UpSampling1D(2), (3, 2), False),
    ("UpSampling2D", lambda: L.UpSampling2D((2, 2)), (2, 3, 2), False),
    ("ZeroPadding1D", lambda: L.ZeroPadding1D(1), (3, 2), False),
    ("ZeroPadding2D", lambda: L.ZeroPadding2D(((1, 0), (0, 2))), (3, 3, 2), False),
    ("Cropping1D", lambda: L.Cropping1D((1, 1)), (4, 2), False),
    ("Cropping2D", lambda: L.Cropping2D(((1, 0), (0, 1))), (4, 4, 2), False),
    ("MaxPooling1D", lambda: L.MaxPooling1D(2), (4, 2), False),
    ("MaxPooling2D", lambda: L.MaxPooling2D((2, 2)), (4, 4, 2), False),
    ("AveragePooling1D", lambda: L.AveragePooling1D(2, padding="same"), (5, 2), False),
    ("AveragePooling2D", lambda: L.AveragePooling2D((2, 2)), (4, 4, 2), False),
    ("GlobalMaxPooling1D", lambda: L.GlobalMaxPooling1D(), (4, 2), False),
    ("GlobalAveragePooling1D", lambda: L.GlobalAveragePooling1D(), (4, 2), False),
    ("GlobalMaxPooling2D", lambda: L.GlobalMaxPooling2D(), (3, 3, 2), False),
    ("GlobalAveragePooling2D", lambda: L.GlobalAveragePooling2D(), (3, 3, 2), False),
    ("Conv3D", lambda: L.Conv3D(2, (2, 3, 2), padding="same"), (3, 4, 3, 2), False),
    ("Conv3DTranspose", lambda: L.Conv3DTranspose(2, 2, strides=2, data_format="channels_first"),
     (2, 2, 3, 2), False),
    ("SeparableConv1D", lambda: L.SeparableConv1D(3, 2, depth_multiplier=2), (5, 2), False),
    ("MaxPooling3D", lambda: L.MaxPooling3D(2, padding="same"), (3, 3, 3, 2), False),
    ("AveragePooling3D", lambda: L.AveragePooling3D((1, 2, 2)), (2, 4, 4, 2), False),
    ("GlobalMaxPooling3D", lambda: L.GlobalMaxPooling3D(), (2, 3, 3, 2), False),
    ("GlobalAveragePooling3D", lambda: L.GlobalAveragePooling3D(), (2, 3, 3, 2), False),
    ("UpSampling3D", lambda: L.UpSampling3D((1, 2, 2)), (2, 2, 2, 1), False),
    ("ZeroPadding3D", lambda: L.ZeroPadding3D(((1, 0), (0, 1), (1, 1))), (2, 2, 2, 1), False),
    ("Cropping3D", lambda: L.Cropping3D(((1, 0), (0, 1), (1, 1))), (3, 3, 4, 1), False),
    ("LocallyConnected1D", lambda: L.LocallyConnected1D(2, 2), (5, 3), False),
    ("LocallyConnected2D", lambda: L.LocallyConnected2D(2, (2, 2), data_format="channels_first"),
     (2, 4, 3), False),
    ("SimpleRNN", lambda: L.SimpleRNN(3, return_sequences=True), (4, 2), False),
    ("GRU", lambda: L.GRU(3), (4, 2), False),
    ("LSTM", lambda: L.LSTM(3, go_backwards=True), (4, 2), False),
    ("Bidirectional", lambda: L.Bidirectional(L.LSTM(2), merge_mode="concat"), (4, 2), False),
    ("TimeDistributed", lambda: L.TimeDistributed(L.Dense(2)), (4, 3), False),
    ("BatchNormalization", lambda: L.BatchNormalization(momentum=0.9), (3,), False),
    ("GaussianNoise", lambda: L.GaussianNoise(0.1), (3,), False),
    ("GaussianDropout", lambda: L.GaussianDropout(0.2), (3,), False),
    ("AlphaDropout", lambda: L.AlphaDropout(0.2), (3,), False),
    ("SpatialDropout1D", lambda: L.SpatialDropout1D(0.2), (4, 2), False),
    ("SpatialDropout2D", lambda: L.SpatialDropout2D(0.2), (3, 3, 2), False),
    ("LeakyReLU", lambda: L.LeakyReLU(0.2), (3,), False),
    ("PReLU", lambda: L.PReLU(), (3,), False),
    ("ELU", lambda: L.ELU(0.5), (3,), False),
    ("ThresholdedReLU", lambda: L.ThresholdedReLU(0.1), (3,), False),
    ("Softmax", lambda: L.Softmax(), (3,), False),
    ("ReLU", lambda: L.ReLU(max_value=0.5), (3,), False),
]

MERGE = [("Add", L.Add), ("Subtract", L.Subtract), ("Multiply", L.Multiply),
         ("Average", L.Average), ("Maximum", L.Maximum), ("Minimum", L.Minimum),
         ("Concatenate", L.Concatenate), ("Dot", lambda: L.Dot(axes=1))]


@pytest.fixture(autouse=True)
def reference_executor():
    old = config.get("executor")
    config.set("executor", "reference")
    yield
    config.set("executor", old)


def data(shape, integer):
    if integer:
        return rng.integers(0, 10, size=(3,) + shape).astype("float32")
    return rng.normal(size=(3,) + shape).astype("float32")


def roundtrip(model, xs, tmp_path):
    before = model.predict(xs)
    path = tmp_path / "m.h5"
    model.save(str(path))
    loaded = load_model(str(path))
    after = loaded.predict(xs)
    again = Model.from_config(model.get_config()) if not hasattr(model, "add") else None
    return before, after, again


@pytest.mark.parametrize("name,factory,shape,integer", SINGLE, ids=[s[0] for s in SINGLE])
def test_layer_round_trips_through_config_and_save(name, factory, shape, integer, tmp_path):
    layer = factory()
    cfg = layer.get_config()
    clone = type(layer).from_config(cfg)
    assert clone.get_config() == cfg
    x = Input(shape=shape)
    model = Model(x, layer(x))
    xs = data(shape, integer)
    before, after, again = roundtrip(model, xs, tmp_path)
    np.testing.assert_allclose(after, before, rtol=1e-6, atol=1e-6)
    assert [type(l).__name__ for l in again.layers] == [type(l).__name__ for l in model.layers]


@pytest.mark.parametrize("name,factory", MERGE, ids=[m[0] for m in MERGE])
def test_merge_layer_round_trips(name, factory, tmp_path):
    a, b = Input(shape=(3,)), Input(shape=(3,))
    model = Model([a, b], factory()([a, b]))
    xs = [data((3,), False), data((3,), False)]
    before, after, _ = roundtrip(model, xs, tmp_path)
    np.testing.assert_allclose(after, before, rtol=1e-6, atol=1e-6)
