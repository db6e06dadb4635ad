"""Reading the CIFAR batch files (Python pickles of ``{'data', 'labels'}`` dicts).

Example:
    >>> x, y = load_batch('cifar-10-batches-py/data_batch_1')  # doctest: +SKIP
    >>> x.shape
    (10000, 3, 32, 32)
"""
from __future__ import annotations

import numpy as np

from graphc.datasets._files import safe_pickle_load


def load_batch(fpath, label_key='labels'):
    """Read one CIFAR batch file.

    Args:
        fpath: path of the batch file.
        label_key: the key of the labels ('labels' for CIFAR-10, 'fine_labels' or
            'coarse_labels' for CIFAR-100).

    Returns:
        ``(data, labels)``: uint8 images shaped (n, 3, 32, 32) and the list of labels.
    """
    with open(fpath, 'rb') as f:
        batch = safe_pickle_load(f, fpath, encoding='bytes')
    batch = {k.decode('utf8') if isinstance(k, bytes) else k: v for k, v in batch.items()}
    for key in ('data', label_key):
        if key not in batch:
            raise ValueError(f"{fpath} is not a CIFAR batch: it has no {key!r} entry "
                             f"(it has {', '.join(sorted(batch))})")
    data = np.asarray(batch['data'], dtype=np.uint8)
    data = data.reshape(data.shape[0], 3, 32, 32)
    return data, batch[label_key]


def to_image_format(x, image_data_format):
    """(n, 3, 32, 32) images as (n, 32, 32, 3) when the format is ``channels_last``."""
    if image_data_format == 'channels_last':
        return x.transpose(0, 2, 3, 1)
    return x
