"""A small convnet trained on augmented images from ImageDataGenerator with fit_generator
(the structure of Keras 2's cifar10_cnn.py), then the test accuracy.

CIFAR-10 (32x32 colour images, graphc.datasets.cifar10) is downloaded on first use. When the
download is not reachable, or with ``--offline``, the program says so and uses scikit-learn's
handwritten digits instead (1797 real 8x8 grayscale scans that ship with scikit-learn).
Every convolution uses 'same' padding, so the same network runs on 32x32 and on 8x8 images
(8 -> 4 -> 2 after the two poolings). The augmentation is the original's (small shifts,
horizontal flips) for CIFAR-10; for digits, whose meaning a mirror image changes, it is small
rotations and shifts instead.

Run:  python examples/cifar10_cnn.py [--epochs 50] [--batch-size 32] [--quick] [--offline]
"""
import argparse
import sys

import numpy as np

from graphc.layers import Activation, Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from graphc.models import Sequential
from graphc.preprocessing.image import ImageDataGenerator
from graphc.utils import to_categorical

NUM_CLASSES = 10


def load_data(offline=False):
    """((x_train, y_train), (x_test, y_test), name, augmentation): float32 images in [0, 1],
    int labels 0..9, and the ImageDataGenerator arguments that suit the images."""
    if not offline:
        try:
            from graphc.datasets import cifar10
            (x_train, y_train), (x_test, y_test) = cifar10.load_data()
            augment = dict(width_shift_range=0.1, height_shift_range=0.1,
                           horizontal_flip=True, fill_mode='nearest')
            return ((x_train / 255., y_train.ravel()), (x_test / 255., y_test.ravel()),
                    'CIFAR-10', augment)
        except Exception as e:  # offline, blocked, or a broken download: say so, fall back
            print(f'CIFAR-10 is not available ({type(e).__name__}: {e}).', file=sys.stderr)
    print("Using scikit-learn's handwritten digits instead (1797 real 8x8 images that ship "
          "with scikit-learn; 80% train, 20% test).")
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = digits.images[..., None] / 16.
    order = np.random.RandomState(0).permutation(len(x))
    split = int(0.8 * len(x))
    train, test = order[:split], order[split:]
    augment = dict(rotation_range=10, width_shift_range=0.1, height_shift_range=0.1,
                   fill_mode='constant', cval=0.)
    return ((x[train], digits.target[train]), (x[test], digits.target[test]),
            'sklearn digits', augment)


def build_model(input_shape, filters=32, dense=512):
    model = Sequential()
    model.add(Conv2D(filters, (3, 3), padding='same', input_shape=input_shape))
    model.add(Activation('relu'))
    model.add(Conv2D(filters, (3, 3), padding='same'))
    model.add(Activation('relu'))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))

    model.add(Conv2D(2 * filters, (3, 3), padding='same'))
    model.add(Activation('relu'))
    model.add(Conv2D(2 * filters, (3, 3), padding='same'))
    model.add(Activation('relu'))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))

    model.add(Flatten())
    model.add(Dense(dense))
    model.add(Activation('relu'))
    model.add(Dropout(0.5))
    model.add(Dense(NUM_CLASSES))
    model.add(Activation('softmax'))
    # The original uses RMSprop(lr=1e-4, decay=1e-6) over 100 epochs; Adam converges in the
    # few epochs of a short run.
    model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--epochs', type=int, default=None,
                        help='training epochs (default 50, or 10 with --quick)')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--quick', action='store_true',
                        help='a CI-speed run: few epochs, a smaller model, at most 5000 '
                             'training images')
    parser.add_argument('--offline', action='store_true',
                        help="do not try the download; use scikit-learn's digits")
    args = parser.parse_args(argv)
    epochs = args.epochs if args.epochs is not None else (10 if args.quick else 50)

    np.random.seed(1337)  # graphc's initializers and the augmentation draw from numpy
    (x_train, y_train), (x_test, y_test), name, augment = load_data(args.offline)
    if args.quick:
        x_train, y_train = x_train[:5000], y_train[:5000]
        x_test, y_test = x_test[:1000], y_test[:1000]
    x_train, x_test = x_train.astype('float32'), x_test.astype('float32')
    y_train = to_categorical(y_train, NUM_CLASSES)
    y_test = to_categorical(y_test, NUM_CLASSES)
    print(f'{name}: {len(x_train)} training and {len(x_test)} test images of shape '
          f'{x_train.shape[1:]}')

    filters, dense = (16, 128) if args.quick else (32, 512)
    model = build_model(x_train.shape[1:], filters, dense)

    print('Using real-time data augmentation:', ', '.join(f'{k}={v}'
                                                         for k, v in augment.items()))
    datagen = ImageDataGenerator(**augment)
    datagen.fit(x_train)   # only needed for featurewise statistics / ZCA; kept as in Keras
    model.fit_generator(datagen.flow(x_train, y_train, batch_size=args.batch_size),
                        epochs=epochs, validation_data=(x_test, y_test), verbose=2,
                        workers=2)
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    print(f'Test loss: {loss:.4f}')
    print(f'Test accuracy: {acc:.4f}')
    return acc


if __name__ == '__main__':
    main()
