"""The Fashion-MNIST MLP of the Keras 2 guide: Flatten -> Dense(1024, relu) -> Dense(10,
softmax), Adam, 10 epochs, then evaluate on the test set.

Fashion-MNIST is downloaded on first use (graphc.datasets.fashion_mnist). When the download
is not reachable, the program says so and falls back to scikit-learn's handwritten digits
(8x8 images that ship with scikit-learn), so it always runs offline.

Run:  python examples/mnist_mlp.py [--epochs 10] [--batch-size 32]
"""
import argparse
import sys

import numpy as np

from graphc.layers import Dense, Flatten
from graphc.models import Sequential
from graphc.utils import to_categorical


def load_data():
    """((x_train, y_train), (x_test, y_test), name): images scaled to [0, 1], int labels."""
    try:
        from graphc.datasets import fashion_mnist
        (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
        return (x_train / 255.0, y_train), (x_test / 255.0, y_test), 'Fashion-MNIST'
    except Exception as e:  # offline, blocked, or a broken download: say so and fall back
        print(f'Fashion-MNIST is not available ({type(e).__name__}: {e}).', file=sys.stderr)
        print("Falling back to scikit-learn's handwritten digits (1797 8x8 images).",
              file=sys.stderr)
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = digits.images / 16.0
    order = np.random.RandomState(0).permutation(len(x))
    split = int(0.8 * len(x))
    train, test = order[:split], order[split:]
    return (x[train], digits.target[train]), (x[test], digits.target[test]), 'sklearn digits'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--epochs', type=int, default=10)
    parser.add_argument('--batch-size', type=int, default=32)
    args = parser.parse_args(argv)

    (x_train, y_train), (x_test, y_test), name = load_data()
    x_train, x_test = x_train.astype('float32'), x_test.astype('float32')
    y_train, y_test = to_categorical(y_train, 10), to_categorical(y_test, 10)
    print(f'{name}: {len(x_train)} training and {len(x_test)} test images of shape '
          f'{x_train.shape[1:]}')

    model = Sequential()
    model.add(Flatten())
    model.add(Dense(1024, activation='relu'))
    model.add(Dense(10, activation='softmax'))
    model.compile(optimizer='Adam', loss='categorical_crossentropy', metrics=['accuracy'])
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size)
    model.summary()
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    print(f'test loss: {loss:.4f}  test accuracy: {acc:.4f}')
    return loss, acc


if __name__ == '__main__':
    main()
