"""CPU lowerings: graph nodes -> numba source inside a generated segment, by op family.

The table and the queries the writer asks (``native_supported``, ``fresh_outputs``,
``writes_destination``, ``emit``) live in :mod:`.registry`; each family module registers its
lowerings there with ``@lowers(...)`` when it is imported, which this package does once for all
of them. Helpers every family shares are in :mod:`.common`.
"""
from __future__ import annotations

from . import elementwise, indexing, linalg, loop, nn, reduce, shape, softmax  # noqa: F401
from .registry import (LOWERINGS, Lowering, emit, fresh_outputs, lowering_of,  # noqa: F401
                       native_supported, writes_destination)
