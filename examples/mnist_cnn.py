"""A small convnet on handwritten digits: Conv2D -> MaxPooling2D -> Conv2D -> MaxPooling2D ->
Flatten -> Dense(10, softmax), Adam, then the test accuracy.

MNIST (28x28) is downloaded on first use (graphc.datasets.mnist). When the download is not
reachable, or with ``--offline``, the program says so and uses scikit-learn's handwritten
digits instead: 1797 real 8x8 scans that ship with scikit-learn. Both convolutions use
'same' padding, so the same network runs on 28x28 and on 8x8 images (8 -> 4 -> 2 after the
two poolings).

Run:  python examples/mnist_cnn.py [--epochs 12] [--batch-size 128] [--quick] [--offline]
"""
import argparse
import sys

import numpy as np

from graphc.layers import Conv2D, Dense, Flatten, MaxPooling2D
from graphc.models import Sequential
from graphc.utils import to_categorical


def load_data(offline=False):
    """((x_train, y_train), (x_test, y_test), name): float32 images (n, h, w, 1) in [0, 1]
    and int labels 0..9."""
    if not offline:
        try:
            from graphc.datasets import mnist
            (x_train, y_train), (x_test, y_test) = mnist.load_data()
            return ((x_train[..., None] / 255.0, y_train), (x_test[..., None] / 255.0, y_test),
                    'MNIST')
        except Exception as e:  # offline, blocked, or a broken download: say so, fall back
            print(f'MNIST is not available ({type(e).__name__}: {e}).', file=sys.stderr)
    print("Using scikit-learn's handwritten digits instead (1797 real 8x8 images that ship "
          "with scikit-learn; 80% train, 20% test).")
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = digits.images[..., None] / 16.0
    order = np.random.RandomState(0).permutation(len(x))
    split = int(0.8 * len(x))
    train, test = order[:split], order[split:]
    return (x[train], digits.target[train]), (x[test], digits.target[test]), 'sklearn digits'


def build_model(input_shape, num_classes=10):
    """The convnet; both convolutions keep the spatial size ('same' padding)."""
    model = Sequential()
    model.add(Conv2D(32, (3, 3), padding='same', activation='relu', input_shape=input_shape))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Conv2D(64, (3, 3), padding='same', activation='relu'))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Flatten())
    model.add(Dense(num_classes, activation='softmax'))
    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--epochs', type=int, default=None,
                        help='training epochs (default 12, or 4 with --quick)')
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--quick', action='store_true',
                        help='a CI-speed run: few epochs, at most 6000 training images')
    parser.add_argument('--offline', action='store_true',
                        help="do not try the download; use scikit-learn's digits")
    args = parser.parse_args(argv)
    epochs = args.epochs if args.epochs is not None else (4 if args.quick else 12)

    np.random.seed(1337)  # graphc's initializers draw from numpy's global state
    (x_train, y_train), (x_test, y_test), name = load_data(args.offline)
    if args.quick:
        x_train, y_train = x_train[:6000], y_train[:6000]
        x_test, y_test = x_test[:2000], y_test[:2000]
    x_train, x_test = x_train.astype('float32'), x_test.astype('float32')
    y_train, y_test = to_categorical(y_train, 10), to_categorical(y_test, 10)
    print(f'{name}: {len(x_train)} training and {len(x_test)} test images of shape '
          f'{x_train.shape[1:]}')

    model = build_model(x_train.shape[1:])
    model.summary()
    # Small data sets need more steps per epoch than MNIST's 469: use smaller batches there.
    batch_size = min(args.batch_size, max(16, len(x_train) // 50))
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=2,
              validation_data=(x_test, y_test))
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    print(f'Test loss: {loss:.4f}')
    print(f'Test accuracy: {acc:.4f}')
    return acc


if __name__ == '__main__':
    main()
