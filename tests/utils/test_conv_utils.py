"""conv_utils: Keras 2's argument and shape helpers of the convolution layers."""
import numpy as np
import pytest

from graphc.utils import conv_utils


def test_normalize_tuple_repeats_an_int_and_checks_length_and_type():
    assert conv_utils.normalize_tuple(3, 2, 'kernel_size') == (3, 3)
    assert conv_utils.normalize_tuple([1, np.int64(2)], 2, 'strides') == (1, 2)
    with pytest.raises(ValueError, match='`strides` argument must be a tuple of 2 integers'):
        conv_utils.normalize_tuple((1, 2, 3), 2, 'strides')
    with pytest.raises(ValueError, match='kernel_size'):
        conv_utils.normalize_tuple((1.5, 2), 2, 'kernel_size')
    with pytest.raises(ValueError, match='pool_size'):
        conv_utils.normalize_tuple('ab', 2, 'pool_size')


def test_normalize_padding_and_data_format():
    assert conv_utils.normalize_padding('SAME') == 'same'
    assert conv_utils.normalize_padding('causal') == 'causal'
    with pytest.raises(ValueError, match="'valid', 'same'"):
        conv_utils.normalize_padding('full')
    assert conv_utils.normalize_data_format('Channels_First') == 'channels_first'
    assert conv_utils.normalize_data_format(None) in ('channels_last', 'channels_first')
    with pytest.raises(ValueError, match='channels_last'):
        conv_utils.normalize_data_format('nhwc')


def test_convert_kernel_flips_the_spatial_axes_only():
    kernel = np.random.RandomState(0).rand(3, 2, 4, 5)
    flipped = conv_utils.convert_kernel(kernel)
    np.testing.assert_array_equal(flipped, kernel[::-1, ::-1, :, :])
    np.testing.assert_array_equal(conv_utils.convert_kernel(flipped), kernel)
    assert flipped.base is None or flipped.base is not kernel   # a copy, not a view
    with pytest.raises(ValueError, match='rank 3 to 5'):
        conv_utils.convert_kernel(np.zeros((3, 3)))


def test_flipped_kernel_turns_cross_correlation_into_convolution():
    x, k = np.random.RandomState(1).rand(9), np.random.RandomState(2).rand(3)
    corr = np.correlate(x, conv_utils.convert_kernel(k.reshape(3, 1, 1))[:, 0, 0], 'valid')
    np.testing.assert_allclose(corr, np.convolve(x, k, 'valid'))


@pytest.mark.parametrize('length,size,padding,stride,dilation', [
    (10, 3, 'valid', 1, 1), (10, 3, 'same', 2, 1), (11, 4, 'full', 3, 1),
    (12, 3, 'valid', 2, 2), (7, 2, 'causal', 1, 3)])
def test_conv_output_length_matches_a_sliding_window_count(length, size, padding, stride,
                                                           dilation):
    eff = (size - 1) * dilation + 1
    pad = {'valid': 0, 'same': eff - 1, 'causal': eff - 1, 'full': 2 * (eff - 1)}[padding]
    windows = len(range(0, length + pad - eff + 1, stride))
    assert conv_utils.conv_output_length(length, size, padding, stride, dilation) == windows
    assert conv_utils.conv_output_length(None, size, padding, stride) is None


@pytest.mark.parametrize('padding', ['valid', 'same', 'full'])
@pytest.mark.parametrize('stride', [1, 2, 3])
def test_conv_input_and_deconv_lengths_invert_the_output_length(padding, stride):
    for out in range(2, 7):
        n = conv_utils.conv_input_length(out, 3, padding, stride)
        if padding != 'same':   # 'same' pads k // 2 on both sides, as Keras counts it
            assert conv_utils.conv_output_length(n, 3, padding, stride) == out
        d = conv_utils.deconv_length(out, stride, 3, padding, None)
        assert conv_utils.conv_output_length(d, 3, padding, stride) == out
    assert conv_utils.conv_input_length(None, 3, padding, stride) is None
    assert conv_utils.deconv_length(None, stride, 3, padding, None) is None


def test_deconv_length_with_output_padding():
    # (n - 1) * stride + kernel - 2 * pad + output_padding
    assert conv_utils.deconv_length(4, 2, 3, 'same', 1) == 3 * 2 + 3 - 2 + 1
    assert conv_utils.deconv_length(4, 2, 3, 'valid', 0) == 3 * 2 + 3
    with pytest.raises(ValueError, match='padding'):
        conv_utils.deconv_length(4, 2, 3, 'causal', 0)
