"""The small generic helpers Keras 2's layers import: object_list_uid, is_all_none,
transpose_shape."""
import pytest

from graphc.utils.generic_utils import is_all_none, object_list_uid, transpose_shape


def test_object_list_uid_names_a_list_by_identity():
    a, b = object(), object()
    assert object_list_uid([a, b]) == object_list_uid((a, b))
    assert object_list_uid([a, b]) != object_list_uid([b, a])
    assert object_list_uid(a) == object_list_uid([a]) != object_list_uid([object()])


def test_is_all_none():
    assert is_all_none(None) and is_all_none([None, None]) and is_all_none(())
    assert not is_all_none([None, 0]) and not is_all_none(0)


def test_transpose_shape_moves_the_channel_entry_for_channels_first():
    assert transpose_shape((2, 3, 4, 5), 'channels_first', spatial_axes=(1, 2)) == (2, 5, 3, 4)
    assert transpose_shape([(1, 1), (2, 2), 7], 'channels_first', (0, 1)) == [7, (1, 1), (2, 2)]
    assert transpose_shape((2, 3, 4), 'channels_last', (1,)) == (2, 3, 4)
    with pytest.raises(ValueError, match="'channels_first' or 'channels_last'"):
        transpose_shape((1, 2), 'nchw', (0,))
