"""The image transforms and ImageDataGenerator's normalisation, checked by properties: a flip
twice is the identity, a shift moves a pixel where expected, a rotation by 90 degrees is
np.rot90, featurewise std gives unit variance, ZCA gives decorrelated data."""
import numpy as np
import pytest

from graphc.preprocessing import image
from graphc.preprocessing.image import (ImageDataGenerator, apply_affine_transform,
                                        apply_brightness_shift, apply_channel_shift, flip_axis,
                                        random_brightness, random_channel_shift,
                                        random_rotation, random_shear, random_shift,
                                        random_zoom)


def _dot(shape=(7, 7, 1), at=(3, 3)):
    x = np.zeros(shape, dtype='float32')
    x[at[0], at[1], :] = 1.
    return x


def _where(x):
    return tuple(int(v) for v in np.unravel_index(np.argmax(x[..., 0]), x.shape[:2]))


# -- geometric transforms --------------------------------------------------------------------

def test_flip_twice_is_identity_and_once_reverses():
    x = np.random.RandomState(0).rand(4, 5, 3)
    for axis in range(3):
        np.testing.assert_array_equal(flip_axis(flip_axis(x, axis), axis), x)
    np.testing.assert_array_equal(flip_axis(x, 1)[:, 0], x[:, -1])


def test_shift_moves_a_pixel_by_the_shift():
    x = _dot()
    # tx reads row r + tx into row r: the content moves tx rows up; ty likewise for columns.
    assert _where(apply_affine_transform(x, tx=2)) == (1, 3)
    assert _where(apply_affine_transform(x, ty=-3)) == (3, 6)
    assert _where(apply_affine_transform(x, tx=-1, ty=1)) == (4, 2)


def test_shift_in_channels_first_layout():
    x = np.moveaxis(_dot(shape=(7, 7, 2)), 2, 0)
    out = apply_affine_transform(x, tx=2, row_axis=1, col_axis=2, channel_axis=0)
    assert out.shape == (2, 7, 7)
    assert out[0, 1, 3] == 1 and out[1, 1, 3] == 1 and out.sum() == 2


def test_rotation_by_90_is_rot90_and_four_turns_are_identity():
    x = np.random.RandomState(1).rand(6, 6, 2)
    np.testing.assert_allclose(apply_affine_transform(x, theta=90), np.rot90(x, -1),
                               atol=1e-6)
    y = x
    for _ in range(4):
        y = apply_affine_transform(y, theta=90)
    np.testing.assert_allclose(y, x, atol=1e-6)


def test_zoom_scales_distances_from_the_centre():
    # Columns hold their own index: a zoom zy reads column c0 + (c - c0) * zy (exact under
    # bilinear interpolation for a linear ramp).
    ramp = np.tile(np.arange(9, dtype='float64'), (9, 1))[..., None]
    out = apply_affine_transform(ramp, zx=0.5, zy=0.5)
    np.testing.assert_allclose(out[4, :, 0], 4 + (np.arange(9) - 4) * 0.5)
    np.testing.assert_allclose(apply_affine_transform(ramp, zx=1, zy=1), ramp)


def test_shear_reads_rows_along_a_slant():
    rows = np.tile(np.arange(9, dtype='float64')[:, None], (1, 9))[..., None]
    s = 20.
    out = apply_affine_transform(rows, shear=s)
    # in_row = r0 + (r - r0) - sin(s) * (c - c0), inside the image
    r, c = 4, 5
    assert out[r, c, 0] == pytest.approx(4 + 0 - np.sin(np.deg2rad(s)) * (c - 4))


@pytest.mark.parametrize('mode, expected_top', [
    ('constant', [-5.] * 3),
    ('nearest', [0., 1., 2.]),
    ('wrap', [6., 7., 8.]),       # the last row comes round
    ('reflect', [0., 1., 2.]),    # abcd|dcba: the first row mirrored
])
def test_fill_modes_fill_the_uncovered_row(mode, expected_top):
    x = np.arange(9, dtype='float64').reshape(3, 3, 1)
    out = apply_affine_transform(x, tx=-1, fill_mode=mode, cval=-5.)
    np.testing.assert_allclose(out[0, :, 0], expected_top)
    np.testing.assert_allclose(out[1:, :, 0], x[:2, :, 0])


def test_bad_fill_mode_is_an_error():
    with pytest.raises(ValueError, match='fill_mode'):
        apply_affine_transform(_dot(), tx=1, fill_mode='mirror')
    with pytest.raises(ValueError, match='fill_mode'):
        ImageDataGenerator(fill_mode='edge')


def test_random_transforms_stay_in_their_ranges():
    np.random.seed(0)
    x = np.zeros((1, 9, 9))   # channels first, the default axes of the random_* functions
    x[0, 4, 4] = 1
    for _ in range(5):
        out = random_shift(x, 0.2, 0.2, fill_mode='constant')   # at most 1.8 pixels
        r, c = np.unravel_index(np.argmax(out[0]), (9, 9))
        assert abs(r - 4) <= 2 and abs(c - 4) <= 2
        assert random_rotation(x, 30).shape == x.shape
        assert random_shear(x, 10).shape == x.shape
        assert random_zoom(x, (0.9, 1.1)).shape == x.shape
    np.testing.assert_allclose(random_zoom(x, (1, 1)), x)
    np.testing.assert_allclose(random_rotation(x, 0), x, atol=1e-12)
    with pytest.raises(ValueError, match='zoom_range'):
        random_zoom(x, (0.5, 1, 2))


def test_channel_shift_adds_one_value_clipped_to_the_image_range():
    x = np.stack([np.full((2, 2), 10.), np.full((2, 2), 20.), np.full((2, 2), 30.)], axis=-1)
    out = apply_channel_shift(x, 5., channel_axis=2)
    np.testing.assert_allclose(out[0, 0], [15., 25., 30.])   # 35 clipped to the max, 30
    out = random_channel_shift(x, 4., channel_axis=2)
    shift = out[0, 0, 0] - 10.
    assert -4 <= shift <= 4
    np.testing.assert_allclose(out[0, 0, 1], np.clip(20 + shift, 10, 30))


def test_brightness_scales_and_clips_to_255():
    x = np.array([[[100., 200., 0.]]])
    np.testing.assert_allclose(apply_brightness_shift(x, 0.5), [[[50., 100., 0.]]])
    np.testing.assert_allclose(apply_brightness_shift(x, 1.5), [[[150., 255., 0.]]])
    np.random.seed(3)
    out = random_brightness(x, (0.2, 0.4))
    assert 20 <= out[0, 0, 0] <= 40
    with pytest.raises(ValueError, match='brightness_range'):
        random_brightness(x, 0.5)


# -- ImageDataGenerator: transforms ----------------------------------------------------------

def test_apply_transform_flips_and_shifts_in_the_generator_layout():
    x = np.random.RandomState(2).rand(5, 6, 3).astype('float32')
    gen = ImageDataGenerator(data_format='channels_last')
    np.testing.assert_array_equal(gen.apply_transform(x, {'flip_horizontal': True}),
                                  x[:, ::-1, :])
    np.testing.assert_array_equal(gen.apply_transform(x, {'flip_vertical': True}),
                                  x[::-1, :, :])
    both = gen.apply_transform(gen.apply_transform(x, {'flip_horizontal': True}),
                               {'flip_horizontal': True})
    np.testing.assert_array_equal(both, x)
    gen_cf = ImageDataGenerator(data_format='channels_first')
    x_cf = np.moveaxis(x, 2, 0)
    np.testing.assert_array_equal(gen_cf.apply_transform(x_cf, {'flip_horizontal': True}),
                                  x_cf[:, :, ::-1])
    dot = np.moveaxis(_dot(), 2, 0)
    moved = gen_cf.apply_transform(dot, {'tx': 1, 'ty': 2})
    assert moved[0, 2, 1] == 1


def test_get_random_transform_respects_every_range_and_its_seed():
    gen = ImageDataGenerator(rotation_range=10, width_shift_range=0.25, height_shift_range=3,
                             shear_range=5, zoom_range=0.2, channel_shift_range=7,
                             brightness_range=(0.5, 1.5), horizontal_flip=True,
                             vertical_flip=True)
    seen_tx, seen_flip = set(), set()
    for seed in range(40):
        p = gen.get_random_transform((8, 12, 3), seed=seed)
        assert -10 <= p['theta'] <= 10
        assert -3 < p['tx'] < 3 and p['tx'] == int(p['tx'])   # int n: pixels in (-n, n)
        assert -0.25 * 12 <= p['ty'] <= 0.25 * 12                # fraction of the width
        assert -5 <= p['shear'] <= 5
        assert 0.8 <= p['zx'] <= 1.2 and 0.8 <= p['zy'] <= 1.2
        assert -7 <= p['channel_shift_intensity'] <= 7
        assert 0.5 <= p['brightness'] <= 1.5
        seen_tx.add(p['tx'])
        seen_flip.add((p['flip_horizontal'], p['flip_vertical']))
    assert seen_tx == {-2., -1., 0., 1., 2.}
    assert len(seen_flip) == 4
    assert gen.get_random_transform((8, 12, 3), seed=5) == \
        gen.get_random_transform((8, 12, 3), seed=5)


def test_shift_range_list_picks_from_the_list_and_float_over_one_is_pixels():
    gen = ImageDataGenerator(width_shift_range=[-4, 4], height_shift_range=2.5)
    for seed in range(20):
        p = gen.get_random_transform((10, 10, 1), seed=seed)
        assert p['ty'] in (-4., 4.)
        assert -2.5 <= p['tx'] <= 2.5
    plain = ImageDataGenerator().get_random_transform((10, 10, 1))
    assert plain['theta'] == 0 and plain['tx'] == 0 and plain['zx'] == 1
    assert plain['brightness'] is None and plain['channel_shift_intensity'] is None


def test_random_transform_of_a_constant_image_under_flips_and_rotation_stays_constant():
    gen = ImageDataGenerator(rotation_range=40, horizontal_flip=True, zoom_range=0.3,
                             fill_mode='nearest')
    x = np.full((6, 6, 1), 3.5, dtype='float32')
    np.testing.assert_allclose(gen.random_transform(x, seed=1), x, rtol=1e-6)


# -- ImageDataGenerator: normalisation -------------------------------------------------------

def test_featurewise_center_and_std_give_zero_mean_unit_variance_per_channel():
    rng = np.random.RandomState(0)
    x = rng.rand(20, 4, 4, 3) * [1., 10., 100.] + [5., -3., 50.]
    gen = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True)
    gen.fit(x)
    assert gen.mean.shape == (1, 1, 3) and gen.std.shape == (1, 1, 3)
    out = gen.standardize(x)
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(0, 1, 2)), 1, atol=1e-4)
    np.testing.assert_allclose(gen.standardize(x[0]), out[0], rtol=1e-5, atol=1e-5)


def test_featurewise_statistics_in_channels_first():
    x = np.random.RandomState(1).rand(10, 3, 4, 5) * np.array([2., 8., 1.]).reshape(1, 3, 1, 1)
    gen = ImageDataGenerator(featurewise_center=True, data_format='channels_first')
    gen.fit(x)
    assert gen.mean.shape == (3, 1, 1)
    np.testing.assert_allclose(gen.standardize(x).mean(axis=(0, 2, 3)), 0, atol=1e-5)


def test_zca_whitening_decorrelates():
    rng = np.random.RandomState(0)
    base = rng.randn(400, 9)
    mix = rng.randn(9, 9)
    x = (base @ mix).reshape(400, 3, 3, 1)   # strongly correlated pixels
    flat = x.reshape(400, -1)
    assert np.abs(np.corrcoef(flat.T) - np.eye(9)).max() > 0.3
    with pytest.warns(UserWarning, match='zca_whitening'):
        gen = ImageDataGenerator(zca_whitening=True, zca_epsilon=1e-8)
    assert gen.featurewise_center
    gen.fit(x)
    white = gen.standardize(x).reshape(400, -1).astype('float64')
    cov = white.T @ white / 400
    np.testing.assert_allclose(cov, np.eye(9), atol=1e-3)


def test_samplewise_center_and_std():
    x = np.random.RandomState(2).rand(3, 4, 4, 1) * 50 + 7
    with pytest.warns(UserWarning, match='samplewise_center'):
        gen = ImageDataGenerator(samplewise_std_normalization=True)
    for img in x:
        out = gen.standardize(img)
        assert abs(out.mean()) < 1e-4 and abs(out.std() - 1) < 1e-4


def test_preprocessing_function_runs_before_rescale_and_input_is_not_modified():
    calls = []

    def prep(img):
        calls.append(float(img.max()))
        return img + 1.

    gen = ImageDataGenerator(preprocessing_function=prep, rescale=0.5)
    x = np.full((2, 2, 1), 4., dtype='float32')
    out = gen.standardize(x)
    np.testing.assert_allclose(out, 2.5)      # (4 + 1) * 0.5
    assert calls == [4.]
    np.testing.assert_array_equal(x, 4.)      # the caller's array is left alone


def test_standardize_before_fit_warns():
    gen = ImageDataGenerator(featurewise_center=True)
    with pytest.warns(UserWarning, match='fit'):
        gen.standardize(np.ones((2, 2, 1)))


def test_fit_with_augment_and_bad_input():
    gen = ImageDataGenerator(featurewise_center=True, horizontal_flip=True)
    x = np.random.RandomState(0).rand(5, 3, 3, 1)
    gen.fit(x, augment=True, rounds=3, seed=1)
    # flips do not change the mean over the data set
    np.testing.assert_allclose(gen.mean.ravel(), [x.mean()], rtol=1e-5)
    with pytest.raises(ValueError, match='rank 4'):
        gen.fit(x[0])
    with pytest.warns(UserWarning, match='channels'):
        gen.fit(np.zeros((2, 3, 3, 5)))


@pytest.mark.parametrize('kwargs, match', [
    ({'validation_split': 1.5}, 'validation_split'),
    ({'zoom_range': (0.5, 1, 2)}, 'zoom_range'),
    ({'brightness_range': 0.3}, 'brightness_range'),
    ({'data_format': 'channels_middle'}, 'data_format'),
    ({'preprocessing_function': 3}, 'preprocessing_function'),
])
def test_generator_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ImageDataGenerator(**kwargs)


def test_generator_zoom_range_forms_and_std_warning():
    assert ImageDataGenerator(zoom_range=0.25).zoom_range == [0.75, 1.25]
    assert ImageDataGenerator(zoom_range=[0.5, 2]).zoom_range == [0.5, 2]
    with pytest.warns(UserWarning, match='featurewise_center'):
        assert ImageDataGenerator(featurewise_std_normalization=True).featurewise_center
    assert image.ImageDataGenerator is ImageDataGenerator
