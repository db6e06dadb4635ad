"""Shared checks for the layer tests: run a layer, compare its output shape with
compute_output_shape, check gradients against central finite differences, round-trip configs.

Functions run on the reference interpreter (``mode='reference'``): the values are the same as
compiled code's (the codegen tests check that) and nothing is compiled, so tests stay fast.
"""
import contextlib
import json

import numpy as np

from graphc import backend as K
from graphc import layers as L

MODE = 'reference'


@contextlib.contextmanager
def floatx(dtype):
    """Temporarily build layers and inputs in ``dtype`` (float64 for finite differences)."""
    old = K.floatx()
    K.set_floatx(dtype)
    try:
        yield
    finally:
        K.set_floatx(old)


@contextlib.contextmanager
def reference_executor():
    """Models built inside run on the reference interpreter (no native compile: fast tests;
    the code generator has its own equivalence tests)."""
    from graphc import config
    old = config.get('executor')
    config.set('executor', 'reference')
    try:
        yield
    finally:
        config.set('executor', old)


@contextlib.contextmanager
def data_format(fmt):
    """Temporarily change ``K.image_data_format()``."""
    old = K.image_data_format()
    K.set_image_data_format(fmt)
    try:
        yield
    finally:
        K.set_image_data_format(old)


def apply(layer, x, training=None, batch_shape=False, **call_kwargs):
    """Call ``layer`` on an Input shaped like ``x`` and evaluate it on ``x``.

    Returns ``(outputs, symbolic_output)``; ``outputs`` is a numpy array (or a list for a
    layer with several outputs). The Keras shape is checked against compute_output_shape and
    against the computed array (batch axis excepted).
    """
    xs = x if isinstance(x, list) else [x]
    inputs = []
    for a in xs:
        a = np.asarray(a)
        shape = a.shape if batch_shape else (None,) + a.shape[1:]
        dtype = a.dtype.name if a.dtype.kind in 'iu' else K.floatx()
        inputs.append(L.Input(batch_shape=shape, dtype=dtype))
    y = layer(inputs if isinstance(x, list) else inputs[0], **call_kwargs)
    ys = y if isinstance(y, list) else [y]
    feeds = list(inputs)
    values = [np.asarray(a, dtype=i.dtype) for a, i in zip(xs, inputs)]
    if training is not None:
        feeds.append(K.learning_phase())
        values.append(np.asarray(bool(training)))
    # As Keras's training function: the layer's updates run only in a training call.
    updates = layer.get_updates_for(inputs if isinstance(x, list) else inputs[0]) + \
        layer.get_updates_for(None) if training or getattr(layer, 'stateful', False) else []
    f = K.function(feeds, ys, updates=updates, mode=MODE)
    outs = f(values)
    expect = layer.compute_output_shape(
        [tuple(i._keras_shape) for i in inputs] if isinstance(x, list)
        else tuple(inputs[0]._keras_shape))
    expect = expect if isinstance(y, list) else [expect]
    for sym, out, want in zip(ys, outs, expect):
        assert tuple(sym._keras_shape) == tuple(want)
        assert len(out.shape) == len(want)
        for got, w in zip(out.shape[1:], tuple(want)[1:]):
            assert w is None or got == w, (out.shape, want)
    return (outs if isinstance(y, list) else outs[0]), y


def check_grads(layer, x, wrt_weights=True, n_checks=6, tol=1e-5, seed=0, **call_kwargs):
    """Compare the symbolic gradient of ``sum(layer(x) * R)`` with central differences,
    w.r.t. the input and every trainable weight (float64; ``n_checks`` entries of each)."""
    rng = np.random.default_rng(seed)
    xs = x if isinstance(x, list) else [x]
    inputs = [L.Input(batch_shape=np.shape(a), dtype='float64') for a in xs]
    y = layer(inputs if isinstance(x, list) else inputs[0], **call_kwargs)
    y = y[0] if isinstance(y, list) else y
    r = K.constant(rng.standard_normal(_runtime_shape(inputs, xs, y)), dtype='float64')
    loss = K.sum(y * r)
    params = list(inputs) + (list(layer.trainable_weights) if wrt_weights else [])
    grads = K.gradients(loss, params)
    f_loss = K.function(inputs, [loss], mode=MODE)
    f_grad = K.function(inputs, grads, mode=MODE)
    xs = [np.asarray(a, dtype='float64') for a in xs]
    got = f_grad(xs)
    eps = 1e-6
    for k, p in enumerate(params):
        if k < len(inputs):
            base = xs[k]

            def value(arr, k=k):
                feed = list(xs)
                feed[k] = arr
                return float(f_loss(feed)[0])
        else:
            base = K.get_value(p).astype('float64')

            def value(arr, p=p):
                old = K.get_value(p)
                K.set_value(p, arr)
                try:
                    return float(f_loss(xs)[0])
                finally:
                    K.set_value(p, old)
        flat = base.reshape(-1)
        idx = rng.choice(flat.size, size=min(n_checks, flat.size), replace=False)
        for i in idx:
            plus, minus = flat.copy(), flat.copy()
            plus[i] += eps
            minus[i] -= eps
            num = (value(plus.reshape(base.shape)) - value(minus.reshape(base.shape))) / (2 * eps)
            ana = np.asarray(got[k]).reshape(-1)[i]
            assert abs(num - ana) <= tol * max(1.0, abs(num)), \
                (getattr(p, 'name', k), i, num, ana)


def _runtime_shape(inputs, xs, y):
    f = K.function(inputs, [y], mode=MODE)
    return f([np.asarray(a, 'float64') for a in xs])[0].shape


def roundtrip(layer):
    """``from_config(get_config())`` through JSON gives an equal config."""
    config = layer.get_config()
    text = json.dumps(L.serialize(layer))
    clone = L.deserialize(json.loads(text))
    assert type(clone) is type(layer)
    assert json.loads(json.dumps(clone.get_config())) == json.loads(json.dumps(config))
    return clone
