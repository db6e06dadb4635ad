"""A tiny MLP training step written with the backend K (used by the inspect / CLI tests).

Running it trains for a few steps; `graphc dump` stops it at the first call of `train`.
"""
import numpy as np

from graphc import backend as K


def build():
    rng = np.random.default_rng(0)
    x = K.placeholder(shape=(None, 4), name="x")
    y = K.placeholder(shape=(None, 3), name="y")
    with K.name_scope("dense_1"):
        W1 = K.variable(rng.standard_normal((4, 8)) * 0.5, name="W")
        b1 = K.variable(np.zeros(8), name="b")
        h = K.relu(K.dot(x, W1) + b1)
    with K.name_scope("dense_2"):
        W2 = K.variable(rng.standard_normal((8, 3)) * 0.5, name="W")
        b2 = K.variable(np.zeros(3), name="b")
        logits = K.dot(h, W2) + b2
    with K.name_scope("loss"):
        loss = K.mean(K.square(logits - y))
    params = [W1, b1, W2, b2]
    grads = K.gradients(loss, params)
    with K.name_scope("SGD"):
        updates = [K.update_sub(p, 0.1 * g) for p, g in zip(params, grads)]
    return K.function([x, y], [loss], updates=updates, name="train_step")


if __name__ == "__main__":
    train = build()
    data = np.random.default_rng(1).random((16, 4)).astype("float32")
    target = np.random.default_rng(2).random((16, 3)).astype("float32")
    for _ in range(3):
        print("loss", train([data, target])[0])
