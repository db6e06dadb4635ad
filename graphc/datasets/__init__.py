"""Small standard datasets with Keras 2's ``load_data()`` (``keras.datasets``).

Nothing is downloaded at import: each ``load_data()`` fetches its files on first use into
``<graphc home>/datasets`` (``~/.graphc`` or ``$GRAPHC_HOME``) and checks their hashes. Set
``GRAPHC_DATASETS_ORIGIN`` to a base URL to download from a mirror instead.

Example:
    >>> from graphc.datasets import mnist
    >>> (x_train, y_train), (x_test, y_test) = mnist.load_data()  # doctest: +SKIP
"""
from graphc.datasets import (boston_housing, cifar10, cifar100, fashion_mnist, imdb, mnist,
                             reuters)

__all__ = ['boston_housing', 'cifar10', 'cifar100', 'fashion_mnist', 'imdb', 'mnist',
           'reuters']
