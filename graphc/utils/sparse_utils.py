"""scipy.sparse data at graphc's boundary.

graphc has no sparse tensors: a sparse placeholder (``K.placeholder(sparse=True)``,
``Input(..., sparse=True)``) is a dense placeholder that remembers it was declared sparse.
scipy.sparse matrices given as data are kept sparse (as CSR, so rows can be sliced) until
one batch is sliced from them, and only that batch is densified: a large sparse dataset is
never made dense whole.

scipy is not imported here: a scipy.sparse matrix can only exist once the user's program
has imported ``scipy.sparse``, so the test looks for that module in ``sys.modules``.
"""
from __future__ import annotations

import sys

import numpy as np


def issparse(x) -> bool:
    """True if ``x`` is a scipy.sparse matrix or array (without importing scipy).

    Example:
        >>> import scipy.sparse
        >>> issparse(scipy.sparse.eye(3)), issparse(np.eye(3))
        (True, False)
    """
    sp = sys.modules.get('scipy.sparse')
    return sp is not None and sp.issparse(x)


def to_row_sliceable(x, name='the data'):
    """A sparse matrix as CSR (rows can be sliced and indexed), other data unchanged.

    Raises:
        ValueError: a sparse matrix that is not 2-D (samples, features).
    """
    if not issparse(x):
        return x
    if x.ndim != 2:
        raise ValueError(f"{name}: a sparse matrix must be 2-D (samples, features), got one "
                         f"of shape {x.shape}")
    return x if x.format == 'csr' else x.tocsr()


def densify(x):
    """``x.toarray()`` for a sparse matrix, ``x`` itself otherwise."""
    return x.toarray() if issparse(x) else x


def densify_all(arrays):
    """``densify`` over a list (a dict's values, a tuple) of feeds."""
    if isinstance(arrays, dict):
        return {k: densify(a) for k, a in arrays.items()}
    return [densify(a) for a in arrays]


def stored_values(x):
    """The values a check for NaN / bad indices must look at: a sparse matrix's stored
    entries (its implicit zeros are fine everywhere), an array itself."""
    return np.asarray(x.data) if issparse(x) else x
