"""The built-in microbenchmarks: the standard kernels of a deep learning step, each as a
graphc ``K.function`` and a plain-numpy implementation of the same computation.

* ``elementwise`` -- the chain ``tanh(2x + 0.5) * sigmoid(x) + 0.5 x^2`` (one fused loop);
* ``mlp_step``    -- an MLP training step: dense-relu-dense-softmax, crossentropy, backward,
  SGD updates (784-256-10 at batch 64);
* ``conv``        -- conv2d 3x3 'same' + bias + relu on a batch of images;
* ``lstm_step``   -- one LSTM cell step (gates, cell and hidden state).

``size='small'`` gives tiny shapes for tests. Each entry builds ``(function, inputs,
numpy_fn)``; ``numpy_fn(*inputs)`` returns the same outputs as the function's first call.
"""
from __future__ import annotations

import numpy as np

SIZES = ("small", "default")


def _rng():
    return np.random.default_rng(1234)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def elementwise(size: str = "default"):
    from .. import backend as K
    n = 4096 if size == "small" else 1 << 20
    x = K.placeholder(shape=(n,), name="x")
    with K.name_scope("chain"):
        y = K.tanh(2.0 * x + 0.5) * K.sigmoid(x) + 0.5 * x * x
    f = K.function([x], [y], name="elementwise_chain")
    xs = _rng().standard_normal(n).astype(np.float32)

    def numpy_fn(a):
        return [np.tanh(2.0 * a + 0.5) * _sigmoid(a) + 0.5 * a * a]
    return f, [xs], numpy_fn


def mlp_step(size: str = "default"):
    from .. import backend as K
    batch, d_in, d_h, d_out = (16, 64, 32, 10) if size == "small" else (64, 784, 256, 10)
    rng = _rng()
    w1 = (rng.standard_normal((d_in, d_h)) * 0.05).astype(np.float32)
    w2 = (rng.standard_normal((d_h, d_out)) * 0.05).astype(np.float32)
    x = K.placeholder(shape=(None, d_in), name="x")
    y = K.placeholder(shape=(None, d_out), name="y")
    with K.name_scope("dense_1"):
        W1 = K.variable(w1, name="W1")
        b1 = K.variable(np.zeros(d_h, np.float32), name="b1")
        h = K.relu(K.dot(x, W1) + b1)
    with K.name_scope("dense_2"):
        W2 = K.variable(w2, name="W2")
        b2 = K.variable(np.zeros(d_out, np.float32), name="b2")
        logits = K.dot(h, W2) + b2
    with K.name_scope("loss"):
        loss = K.mean(K.categorical_crossentropy(y, K.softmax(logits)))
    params = [W1, b1, W2, b2]
    lr = 0.01
    with K.name_scope("SGD"):
        updates = [K.update_sub(p, lr * g) for p, g in zip(params, K.gradients(loss, params))]
    f = K.function([x, y], [loss], updates=updates, name="mlp_train_step")
    xs = rng.random((batch, d_in), dtype=np.float32)
    ys = np.eye(d_out, dtype=np.float32)[rng.integers(0, d_out, batch)]
    state = [w1.copy(), np.zeros(d_h, np.float32), w2.copy(), np.zeros(d_out, np.float32)]

    def numpy_fn(a, t):
        W1_, b1_, W2_, b2_ = state
        pre = a @ W1_ + b1_
        hid = np.maximum(pre, 0)
        z = hid @ W2_ + b2_
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        eps = np.float32(1e-7)
        pc = np.clip(p, eps, 1 - eps)
        out = np.float32(np.mean(-np.sum(t * np.log(pc), axis=1)))
        n = a.shape[0]
        dz = (p - t) / np.float32(n)
        gW2 = hid.T @ dz
        gb2 = dz.sum(axis=0)
        dh = (dz @ W2_.T) * (pre > 0)
        gW1 = a.T @ dh
        gb1 = dh.sum(axis=0)
        for arr, g in zip(state, (gW1, gb1, gW2, gb2)):
            arr -= np.float32(lr) * g
        return [out]
    return f, [xs, ys], numpy_fn


def conv(size: str = "default"):
    from .. import backend as K
    b, hw, cin, cout = (2, 8, 4, 8) if size == "small" else (16, 28, 8, 16)
    rng = _rng()
    kern = (rng.standard_normal((3, 3, cin, cout)) * 0.1).astype(np.float32)
    bias = (rng.standard_normal(cout) * 0.1).astype(np.float32)
    x = K.placeholder(shape=(None, hw, hw, cin), name="x")
    with K.name_scope("conv2d_1"):
        kv = K.variable(kern, name="kernel")
        bv = K.variable(bias, name="bias")
        y = K.relu(K.bias_add(K.conv2d(x, kv, padding="same"), bv))
    f = K.function([x], [y], name="conv2d_relu")
    xs = rng.standard_normal((b, hw, hw, cin)).astype(np.float32)

    def numpy_fn(a):
        ap = np.pad(a, ((0, 0), (1, 1), (1, 1), (0, 0)))
        win = np.lib.stride_tricks.sliding_window_view(ap, (3, 3), axis=(1, 2))
        # win: (B, H, W, C, kh, kw); kernel: (kh, kw, C, O)
        out = np.tensordot(win, kern, axes=([4, 5, 3], [0, 1, 2])) + bias
        return [np.maximum(out, 0).astype(np.float32)]
    return f, [xs], numpy_fn


def lstm_step(size: str = "default"):
    from .. import backend as K
    b, d, hdim = (8, 16, 16) if size == "small" else (64, 128, 128)
    rng = _rng()
    w = (rng.standard_normal((d, 4 * hdim)) * 0.1).astype(np.float32)
    u = (rng.standard_normal((hdim, 4 * hdim)) * 0.1).astype(np.float32)
    bias = np.zeros(4 * hdim, np.float32)
    x = K.placeholder(shape=(None, d), name="x")
    h = K.placeholder(shape=(None, hdim), name="h")
    c = K.placeholder(shape=(None, hdim), name="c")
    with K.name_scope("lstm_1"):
        W = K.variable(w, name="kernel")
        U = K.variable(u, name="recurrent_kernel")
        B = K.variable(bias, name="bias")
        z = K.dot(x, W) + K.dot(h, U) + B
        i = K.sigmoid(z[:, :hdim])
        fg = K.sigmoid(z[:, hdim:2 * hdim])
        g = K.tanh(z[:, 2 * hdim:3 * hdim])
        o = K.sigmoid(z[:, 3 * hdim:])
        c2 = fg * c + i * g
        h2 = o * K.tanh(c2)
    f = K.function([x, h, c], [h2, c2], name="lstm_step")
    xs = rng.standard_normal((b, d)).astype(np.float32)
    hs = rng.standard_normal((b, hdim)).astype(np.float32)
    cs = rng.standard_normal((b, hdim)).astype(np.float32)

    def numpy_fn(a, hh, cc):
        zz = a @ w + hh @ u + bias
        i_, f_ = _sigmoid(zz[:, :hdim]), _sigmoid(zz[:, hdim:2 * hdim])
        g_, o_ = np.tanh(zz[:, 2 * hdim:3 * hdim]), _sigmoid(zz[:, 3 * hdim:])
        c_new = f_ * cc + i_ * g_
        return [o_ * np.tanh(c_new), c_new]
    return f, [xs, hs, cs], numpy_fn


BUILTINS = {"elementwise": elementwise, "mlp_step": mlp_step, "conv": conv,
            "lstm_step": lstm_step}
