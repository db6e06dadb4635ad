"""Logistic regression written directly with the backend K, on scikit-learn's digits.

Builds the loss symbolically, takes its gradients with K.gradients, makes one training function
with SGD updates (K.update_sub) and prints that function's IR dump and the test accuracy.
Exits with status 1 if the accuracy is not above 90%.

Run:  python examples/backend_basics.py
"""
import sys

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from graphc import backend as K


def main() -> int:
    digits = load_digits()
    data = (digits.data / 16.0).astype("float32")              # pixels 0..16 -> [0, 1]
    labels = np.eye(10, dtype="float32")[digits.target]
    x_train, x_test, y_train, y_test = train_test_split(
        data, labels, test_size=0.25, random_state=0, stratify=digits.target)

    x = K.placeholder(shape=(None, 64), name="x")
    y = K.placeholder(shape=(None, 10), name="y")
    with K.name_scope("logreg"):
        W = K.variable(np.zeros((64, 10)), name="W")
        b = K.variable(np.zeros(10), name="b")
        probs = K.softmax(K.dot(x, W) + b)
    with K.name_scope("loss"):
        loss = K.mean(K.categorical_crossentropy(y, probs))
    grads = K.gradients(loss, [W, b])
    lr = 0.5
    updates = [K.update_sub(p, lr * g) for p, g in zip([W, b], grads)]
    train = K.function([x, y], [loss], updates=updates, name="train_step")
    predict = K.function([x], [K.argmax(probs, axis=-1)], name="predict")

    rng = np.random.default_rng(0)
    batch = 64
    for epoch in range(20):
        order = rng.permutation(len(x_train))
        losses = [train([x_train[i], y_train[i]])[0]
                  for i in np.array_split(order, len(order) // batch)]
        if epoch % 5 == 4:
            print(f"epoch {epoch + 1:2d}: loss {np.mean(losses):.4f}")

    print(train)
    accuracy = float(np.mean(predict([x_test])[0] == y_test.argmax(1)))
    print(f"test accuracy: {accuracy:.3f}")
    return 0 if accuracy > 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
