"""graphc.codegen.cpu.runtime.arrays: the allocation / reshape / min-max intrinsics generated code
uses instead of numba's library overloads (np.empty, .fill, .reshape, .ravel, max, min)."""
import math

import numpy as np
import pytest
from numba import njit

from graphc.codegen.cpu.runtime.arrays import empty_c, fill_c, max2, min2, reshape_c, scale_c


@njit
def _alloc(n):
    a = empty_c((n, 3), np.float32)
    fill_c(a, np.float32(2.5))
    b = empty_c(n, np.bool_)
    fill_c(b, True)
    c = empty_c((), np.int64)
    fill_c(c, 7)
    d = empty_c((2, n, 1), np.uint8)
    fill_c(d, 3)
    return a, b, c, d


def test_empty_c_and_fill_c_match_numpy():
    a, b, c, d = _alloc(4)
    for got, want in ((a, np.full((4, 3), 2.5, np.float32)), (b, np.ones(4, np.bool_)),
                      (c, np.array(7, np.int64)), (d, np.full((2, 4, 1), 3, np.uint8))):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.flags.c_contiguous and got.strides == want.strides
        np.testing.assert_array_equal(got, want)
    assert _alloc(0)[0].shape == (0, 3)


def test_empty_c_rejects_negative_and_huge_sizes():
    with pytest.raises(ValueError, match="negative dimensions"):
        _alloc(-1)
    with pytest.raises(ValueError, match="array is too big"):
        _alloc(1 << 62)


@njit
def _reshape(a, shape):
    return reshape_c(a, shape)


def test_reshape_c_is_a_view_with_numpy_semantics():
    a = np.arange(12, dtype=np.float32)
    for shape in ((3, 4), (2, -1, 3), (-1,), 12):
        got = _reshape(a, shape)
        np.testing.assert_array_equal(got, a.reshape(shape))
        assert got.flags.c_contiguous
    v = _reshape(a, (3, 4))
    v[1, 1] = -1.0                      # a view: writes reach the original
    assert a[5] == -1.0
    assert _reshape(a[:1], ()).shape == ()
    assert _reshape(np.arange(12.0).reshape(3, 4)[1:], 8).shape == (8,)   # 'A', contiguous
    ro = np.arange(4.0)
    ro.flags.writeable = False
    assert not _reshape(ro, (2, 2)).flags.writeable


@pytest.mark.parametrize("shape", [(5, 2), (-1, -1), (5, -1), (-2, -6)])
def test_reshape_c_rejects_a_size_change(shape):
    with pytest.raises(ValueError, match="total size of new array must be unchanged"):
        _reshape(np.arange(12, dtype=np.float32), shape)


def test_reshape_c_rejects_a_non_contiguous_array():
    with pytest.raises(ValueError, match="not contiguous"):
        _reshape(np.arange(12.0).reshape(3, 4)[:, :2], 6)
    with pytest.raises(ValueError, match="not contiguous"):
        _reshape(np.arange(12.0)[::2], 6)


@njit
def _scale(a, s):
    scale_c(a, s)
    return a


def test_scale_c_multiplies_in_place():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(_scale(a.copy(), np.float32(0.5)), a * np.float32(0.5))
    np.testing.assert_array_equal(_scale(np.arange(4), 3), np.arange(4) * 3)


@njit
def _minmax(a, b):
    return max2(a, b), min2(a, b)


@pytest.mark.parametrize("a,b", [(1.0, 2.0), (2.0, 1.0), (math.nan, 1.0), (1.0, math.nan),
                                 (-0.0, 0.0), (3, 7), (True, False)])
def test_max2_min2_follow_the_builtins_nan_rule_included(a, b):
    got = _minmax(a, b)
    want = (max(a, b), min(a, b))
    for g, w in zip(got, want):
        assert (math.isnan(g) and math.isnan(w)) or (g == w and math.copysign(1, g) ==
                                                      math.copysign(1, w))


def test_max2_unifies_mixed_types_like_the_builtin():
    assert _minmax(np.float32(1.5), 2) == (2.0, 1.5)
    assert _minmax(np.int64(4), 1.5) == (4.0, 1.5)
