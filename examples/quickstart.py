"""The Sequential quick start of the Keras 2 guide, on real data: scikit-learn's handwritten
digits (1797 8x8 images, 10 classes; ships with scikit-learn, no download).

Run:  python examples/quickstart.py [--epochs 20]
Prints the training progress and the test accuracy.
"""
import argparse

import numpy as np
from sklearn.datasets import load_digits

import graphc
import graphc.optimizers  # noqa: F401 - graphc.optimizers.SGD below
from graphc.layers import Activation, Dense
from graphc.models import Sequential
from graphc.utils import to_categorical


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--epochs', type=int, default=20)
    parser.add_argument('--batch-size', type=int, default=32)
    args = parser.parse_args(argv)

    digits = load_digits()
    x = (digits.data / 16.0).astype('float32')              # 64 pixels in [0, 1]
    y = to_categorical(digits.target, 10)
    order = np.random.RandomState(0).permutation(len(x))
    split = int(0.8 * len(x))
    x_train, y_train = x[order[:split]], y[order[:split]]
    x_test, y_test = x[order[split:]], y[order[split:]]

    model = Sequential()
    model.add(Dense(units=64, input_dim=64))
    model.add(Activation('relu'))
    model.add(Dense(units=10))
    model.add(Activation('softmax'))
    model.compile(loss='categorical_crossentropy',
                  optimizer=graphc.optimizers.SGD(lr=0.01, momentum=0.9, nesterov=True),
                  metrics=['accuracy'])
    model.summary()
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size)
    loss_and_metrics = model.evaluate(x_test, y_test, batch_size=128, verbose=0)
    classes = model.predict(x_test, batch_size=128)
    print(f'test loss: {loss_and_metrics[0]:.4f}  test accuracy: {loss_and_metrics[1]:.4f}')
    print(f'(predict agrees: {np.mean(classes.argmax(-1) == y_test.argmax(-1)):.4f})')
    return loss_and_metrics


if __name__ == '__main__':
    main()
