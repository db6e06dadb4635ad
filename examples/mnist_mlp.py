"""The Fashion-MNIST MLP of the Keras 2 guide: Flatten -> Dense(1024, relu) -> Dense(10,
softmax), Adam, 10 epochs, then evaluate on the test set.

Fashion-MNIST is downloaded on first use (graphc.datasets.fashion_mnist). When the download
is not reachable, the program says so and falls back to scikit-learn's handwritten digits
(8x8 images that ship with scikit-learn), so it always runs offline.

Run:  python examples/mnist_mlp.py [--epochs 10] [--batch-size 32]

Data-parallel over MPI (graphc.distribute, ``pip install 'graphc[dist]'``): each rank trains
on its half of every global batch of --batch-size samples and the gradients are averaged, so
two ranks follow one process:

      mpiexec -n 2 python examples/mnist_mlp.py --distributed --quick
      python examples/mnist_mlp.py --quick          # the same accuracy, one process

``--quick`` trains 3 epochs on scikit-learn's digits without shuffling, so the two runs see
the same batches and agree to float32 rounding (with shuffling, the data-parallel run draws
its epoch orders from a seed shared by the ranks, so the runs agree statistically).
"""
import argparse
import sys

import numpy as np

from graphc.layers import Dense, Flatten
from graphc.models import Sequential
from graphc.utils import to_categorical


def load_data(quick=False):
    """((x_train, y_train), (x_test, y_test), name): images scaled to [0, 1], int labels."""
    try:
        if quick:
            raise LookupError('--quick uses the digits that ship with scikit-learn')
        from graphc.datasets import fashion_mnist
        (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
        return (x_train / 255.0, y_train), (x_test / 255.0, y_test), 'Fashion-MNIST'
    except LookupError:
        pass
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
    parser.add_argument('--distributed', action='store_true',
                        help='data-parallel over the ranks of mpiexec (graphc.distribute)')
    parser.add_argument('--quick', action='store_true',
                        help="3 epochs on scikit-learn's digits, no shuffling")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs = min(args.epochs, 3)

    optimizer, callbacks, root = 'Adam', [], True
    if args.distributed:
        import graphc.distribute as hvd
        hvd.init()
        optimizer = hvd.DistributedOptimizer('Adam')
        callbacks = [hvd.BroadcastGlobalVariablesCallback(0)]
        root = hvd.rank() == 0

    np.random.seed(0)
    (x_train, y_train), (x_test, y_test), name = load_data(args.quick)
    x_train, x_test = x_train.astype('float32'), x_test.astype('float32')
    y_train, y_test = to_categorical(y_train, 10), to_categorical(y_test, 10)
    if root:
        print(f'{name}: {len(x_train)} training and {len(x_test)} test images of shape '
              f'{x_train.shape[1:]}')

    model = Sequential()
    model.add(Flatten())
    model.add(Dense(1024, activation='relu'))
    model.add(Dense(10, activation='softmax'))
    model.compile(optimizer=optimizer, loss='categorical_crossentropy', metrics=['accuracy'])
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
              callbacks=callbacks, shuffle=not args.quick, verbose=1 if root else 0)
    if root:
        model.summary()
    loss, acc = model.evaluate(x_test, y_test, verbose=0)   # data-parallel: reduced over ranks
    if root:
        print(f'test loss: {loss:.4f}  test accuracy: {acc:.4f}')
    return loss, acc


if __name__ == '__main__':
    main()
