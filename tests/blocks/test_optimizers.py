"""Optimizers: each update equals Keras 2.2's formula recomputed in numpy, step after step."""
import numpy as np
import pytest

import graphc.backend as K
from graphc import optimizers

W0 = np.array([[0.5, -1.0], [2.0, 0.25]], np.float32)
X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -0.7]], np.float32)


def grad_np(w):
    # loss = sum((X @ w)**2) / 2  ->  dL/dw = X.T @ X @ w
    return X.T @ (X @ w)


def run(opt, steps=3):
    w = K.variable(W0.copy())
    x = K.placeholder(shape=(None, 2))
    loss = K.sum(K.square(K.dot(x, w))) / 2.0
    updates = opt.get_updates(loss, [w])
    f = K.function([x], [loss], updates=updates)
    out = []
    for _ in range(steps):
        f([X])
        out.append(K.get_value(w).copy())
    return out


def np_steps(step, state, steps=3):
    w = W0.astype(np.float64)
    out = []
    for t in range(1, steps + 1):
        w = step(w, grad_np(w), state, t)
        out.append(w.copy())
    return out


def check(opt, step, state=None, steps=3):
    got = run(opt, steps)
    exp = np_steps(step, {} if state is None else state, steps)
    for g, e in zip(got, exp):
        np.testing.assert_allclose(g, e, rtol=2e-5, atol=2e-6)


def test_sgd_momentum_nesterov():
    def step(w, g, s, t):
        m = s.get("m", 0.0)
        v = 0.9 * m - 0.01 * g
        s["m"] = v
        return w + 0.9 * v - 0.01 * g
    check(optimizers.SGD(lr=0.01, momentum=0.9, nesterov=True), step)


def test_sgd_decay():
    def step(w, g, s, t):
        lr = 0.1 * (1.0 / (1.0 + 0.5 * (t - 1)))
        return w - lr * g
    check(optimizers.SGD(learning_rate=0.1, decay=0.5), step)


def test_rmsprop():
    def step(w, g, s, t):
        a = 0.9 * s.get("a", 0.0) + 0.1 * g * g
        s["a"] = a
        return w - 0.001 * g / (np.sqrt(a) + 1e-7)
    check(optimizers.RMSprop(), step)


def test_adagrad():
    def step(w, g, s, t):
        a = s.get("a", 0.0) + g * g
        s["a"] = a
        return w - 0.01 * g / (np.sqrt(a) + 1e-7)
    check(optimizers.Adagrad(), step)


def test_adadelta():
    def step(w, g, s, t):
        a = 0.95 * s.get("a", 0.0) + 0.05 * g * g
        d = s.get("d", 0.0)
        u = g * np.sqrt(d + 1e-7) / np.sqrt(a + 1e-7)
        s["a"], s["d"] = a, 0.95 * d + 0.05 * u * u
        return w - 1.0 * u
    check(optimizers.Adadelta(), step)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam(amsgrad):
    def step(w, g, s, t):
        lr_t = 0.001 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        m = 0.9 * s.get("m", 0.0) + 0.1 * g
        v = 0.999 * s.get("v", 0.0) + 0.001 * g * g
        s["m"], s["v"] = m, v
        if amsgrad:
            s["vhat"] = np.maximum(s.get("vhat", 0.0), v)
            v = s["vhat"]
        return w - lr_t * m / (np.sqrt(v) + 1e-7)
    check(optimizers.Adam(amsgrad=amsgrad), step)


def test_adamax():
    def step(w, g, s, t):
        lr_t = 0.002 / (1 - 0.9 ** t)
        m = 0.9 * s.get("m", 0.0) + 0.1 * g
        u = np.maximum(0.999 * s.get("u", 0.0), np.abs(g))
        s["m"], s["u"] = m, u
        return w - lr_t * m / (u + 1e-7)
    check(optimizers.Adamax(), step)


def test_nadam():
    def step(w, g, s, t):
        sched = s.get("sched", 1.0)
        c_t = 0.9 * (1 - 0.5 * 0.96 ** (t * 0.004))
        c_t1 = 0.9 * (1 - 0.5 * 0.96 ** ((t + 1) * 0.004))
        new_sched = sched * c_t
        next_sched = sched * c_t * c_t1
        s["sched"] = new_sched
        g_prime = g / (1 - new_sched)
        m = 0.9 * s.get("m", 0.0) + 0.1 * g
        v = 0.999 * s.get("v", 0.0) + 0.001 * g * g
        s["m"], s["v"] = m, v
        m_bar = (1 - c_t) * g_prime + c_t1 * m / (1 - next_sched)
        return w - 0.002 * m_bar / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-7)
    check(optimizers.Nadam(), step)


def test_clipnorm_and_clipvalue():
    def step_norm(w, g, s, t):
        n = np.sqrt(np.sum(g * g))
        g = g * 1.0 / n if n >= 1.0 else g
        return w - 0.1 * g
    check(optimizers.SGD(lr=0.1, clipnorm=1.0), step_norm)

    def step_value(w, g, s, t):
        return w - 0.1 * np.clip(g, -0.5, 0.5)
    check(optimizers.SGD(lr=0.1, clipvalue=0.5), step_value)


def test_get_by_name_is_case_insensitive_and_unknown_lists_choices():
    assert isinstance(optimizers.get("Adam"), optimizers.Adam)
    assert isinstance(optimizers.get("rmsprop"), optimizers.RMSprop)
    with pytest.raises(ValueError, match="adamw.*valid|Unknown optimizer"):
        optimizers.get("adamw")


def test_config_round_trip_and_lr_alias():
    opt = optimizers.Adam(learning_rate=0.01, amsgrad=True)
    cfg = opt.get_config()
    assert abs(cfg["lr"] - 0.01) < 1e-9 and cfg["amsgrad"] is True
    again = optimizers.Adam.from_config(cfg)
    assert abs(float(K.get_value(again.lr)) - 0.01) < 1e-9
    ser = optimizers.serialize(opt)
    assert ser["class_name"] == "Adam"
    assert isinstance(optimizers.deserialize(ser), optimizers.Adam)


def test_unknown_keyword_is_an_error():
    with pytest.raises(TypeError, match="momentun"):
        optimizers.SGD(momentun=0.9)
