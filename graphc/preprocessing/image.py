"""Image preprocessing and real-time augmentation (``keras.preprocessing.image`` of Keras
2.2.4 / keras-preprocessing 1.0).

``ImageDataGenerator`` describes random transforms and normalisation; its ``flow``,
``flow_from_directory`` and ``flow_from_dataframe`` return iterators that are
``graphc.utils.Sequence`` objects, so ``model.fit_generator(gen.flow(x, y))`` draws each
sample once per epoch. Geometric transforms use ``scipy.ndimage``; reading and writing image
files needs Pillow (``pip install graphc[image]``).

Conventions: a single image is a 3-D array (rows, cols, channels) for ``channels_last`` or
(channels, rows, cols) for ``channels_first``; a batch adds a leading sample axis.

Example:
    >>> gen = ImageDataGenerator(horizontal_flip=True, rescale=1. / 255)
    >>> x = np.zeros((4, 8, 8, 3)); y = np.arange(4)
    >>> batch_x, batch_y = gen.flow(x, y, batch_size=2, shuffle=False)[0]
    >>> batch_x.shape, batch_y.tolist()
    ((2, 8, 8, 3), [0, 1])
"""
from __future__ import annotations

import io
import os
import tempfile
import threading
import warnings

import numpy as np
# Imported here, not on first use: worker processes forked while another thread imports
# would deadlock on an import lock they inherited held (see _load_image_plugins).
from scipy import ndimage

from .. import backend as K
from ..utils.data_utils import Sequence

try:
    from PIL import Image as pil_image
except ImportError:   # image files need Pillow; the array functions do not
    pil_image = None

__all__ = [
    'ImageDataGenerator', 'Iterator', 'NumpyArrayIterator', 'DirectoryIterator',
    'DataFrameIterator', 'load_img', 'save_img', 'img_to_array', 'array_to_img',
    'random_rotation', 'random_shift', 'random_shear', 'random_zoom', 'random_channel_shift',
    'random_brightness', 'apply_affine_transform', 'apply_channel_shift',
    'apply_brightness_shift', 'flip_axis', 'transform_matrix_offset_center', 'list_pictures',
]

_FILL_MODES = ('constant', 'nearest', 'reflect', 'wrap')
_COLOR_MODES = ('grayscale', 'rgb', 'rgba')
_WHITE_LIST_FORMATS = ('png', 'jpg', 'jpeg', 'bmp', 'ppm', 'tif', 'tiff')
_PIL_INTERPOLATION = ('nearest', 'bilinear', 'bicubic', 'hamming', 'box', 'lanczos')


def _require_pillow(what):
    if pil_image is None:
        raise ImportError(f'{what} needs Pillow to read and write image files; install it '
                          f'with `pip install graphc[image]` (or `pip install pillow`).')


def _load_image_plugins():
    """Import Pillow's file-format plugins now (Pillow imports them on the first open or
    save). An iterator calls this in the parent process, so that worker processes forked
    from it (fit_generator with use_multiprocessing) decode and encode files without
    importing anything: a fork can copy an import lock that another thread holds."""
    if pil_image is not None:
        pil_image.init()


def _data_format(data_format):
    if data_format is None:
        data_format = K.image_data_format()
    if data_format not in ('channels_last', 'channels_first'):
        raise ValueError(f'`data_format` should be "channels_last" (channel after row and '
                         f'column) or "channels_first" (channel before row and column). '
                         f'Received: {data_format!r}')
    return data_format


def _float_dtype(dtype):
    return K.floatx() if dtype is None else dtype


# --------------------------------------------------------------------------------------------
# Transforms of one image
# --------------------------------------------------------------------------------------------

def transform_matrix_offset_center(matrix, x, y):
    """The 3x3 homogeneous ``matrix`` applied about the centre of an ``x`` by ``y`` image
    (rows by cols) instead of about pixel (0, 0).

    The centre is ``((x - 1) / 2, (y - 1) / 2)``, the middle of the pixel grid, so that a
    rotation by 90 degrees or a zoom maps the pixel grid of a square image onto itself.
    """
    o_x, o_y = (x - 1) / 2., (y - 1) / 2.
    offset = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]])
    reset = np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    return offset @ matrix @ reset


def _check_fill_mode(fill_mode):
    if fill_mode not in _FILL_MODES:
        raise ValueError(f'fill_mode must be one of {", ".join(_FILL_MODES)}; got '
                         f'{fill_mode!r}')
    # scipy's 'wrap' is not periodic at the edges; 'grid-wrap' is Keras's documented
    # 'abcdabcd|abcdabcd|abcdabcd'.
    return 'grid-wrap' if fill_mode == 'wrap' else fill_mode


def apply_affine_transform(x, theta=0, tx=0, ty=0, shear=0, zx=1, zy=1, row_axis=0,
                           col_axis=1, channel_axis=2, fill_mode='nearest', cval=0., order=1):
    """Rotate, shift, shear and zoom one image (about its centre).

    The transform maps each output pixel ``(r, c)`` to the input position it is read from:
    ``input = R(theta) . T(tx, ty) . S(shear) . Z(zx, zy) . (output - centre) + centre``.
    So a shift ``tx = 2`` reads row ``r + 2`` into row ``r`` (the content moves 2 rows up),
    and a zoom ``zx = 2`` reads rows twice as far from the centre (the content shrinks).

    Args:
        x: a 3-D image array.
        theta: rotation angle in degrees.
        tx, ty: shift along the row axis and the column axis, in pixels.
        shear: shear angle in degrees.
        zx, zy: zoom factors along rows and columns.
        row_axis, col_axis, channel_axis: the axes of ``x``.
        fill_mode: 'constant', 'nearest', 'reflect' or 'wrap', for points outside the input.
        cval: the fill value for 'constant'.
        order: spline interpolation order (0 nearest, 1 bilinear).

    Returns:
        The transformed image (a new array of ``x``'s shape).

    Example:
        >>> img = np.zeros((5, 5, 1)); img[2, 2, 0] = 1
        >>> int(np.argmax(apply_affine_transform(img, tx=1)[:, 2, 0]))
        1
    """
    mode = _check_fill_mode(fill_mode)
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f'apply_affine_transform expects one 3-D image; got shape {x.shape}')
    matrix = None
    if theta != 0:
        t = np.deg2rad(theta)
        matrix = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    if tx != 0 or ty != 0:
        shift = np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
        matrix = shift if matrix is None else matrix @ shift
    if shear != 0:
        s = np.deg2rad(shear)
        shear_m = np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]])
        matrix = shear_m if matrix is None else matrix @ shear_m
    if zx != 1 or zy != 1:
        zoom = np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]])
        matrix = zoom if matrix is None else matrix @ zoom
    if matrix is None:
        return x.copy()

    h, w = x.shape[row_axis], x.shape[col_axis]
    matrix = transform_matrix_offset_center(matrix, h, w)
    channels = np.moveaxis(x, channel_axis, 0)
    # After moving the channel axis first, the (row, col) axes keep their relative order.
    swap = row_axis > col_axis
    out = []
    for channel in channels:
        plane = channel.T if swap else channel
        plane = ndimage.affine_transform(plane, matrix[:2, :2], matrix[:2, 2], order=order,
                                         mode=mode, cval=cval)
        out.append(plane.T if swap else plane)
    return np.moveaxis(np.stack(out, axis=0), 0, channel_axis).astype(x.dtype, copy=False)


def flip_axis(x, axis):
    """``x`` reversed along ``axis`` (a copy)."""
    return np.flip(np.asarray(x), axis).copy()


def apply_channel_shift(x, intensity, channel_axis=0):
    """Add ``intensity`` to every channel of one image, clipped to the image's range.

    Args:
        x: a 3-D image.
        intensity: the value added.
        channel_axis: the channel axis of ``x``.
    """
    x = np.asarray(x)
    lo, hi = np.min(x), np.max(x)
    return np.clip(x + intensity, lo, hi).astype(x.dtype, copy=False)


def apply_brightness_shift(x, brightness):
    """Scale an image's intensities by ``brightness`` (0 black, 1 unchanged), as Pillow's
    ``ImageEnhance.Brightness`` does; an image within 0..255 stays clipped to 0..255.

    Unlike Keras 2.2.4 (which went through an 8-bit Pillow image and so rescaled any image to
    0..255 and rounded it) the image keeps its own value range and precision.
    """
    x = np.asarray(x)
    out = x * brightness
    if np.min(x) >= 0 and np.max(x) <= 255:
        out = np.clip(out, 0, 255)
    return out.astype(x.dtype, copy=False)


def random_rotation(x, rg, row_axis=1, col_axis=2, channel_axis=0, fill_mode='nearest',
                    cval=0., interpolation_order=1):
    """Rotate one image by a random angle in ``[-rg, rg]`` degrees (the default axes are
    ``channels_first``, as Keras 2's)."""
    theta = np.random.uniform(-rg, rg)
    return apply_affine_transform(x, theta=theta, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_shift(x, wrg, hrg, row_axis=1, col_axis=2, channel_axis=0, fill_mode='nearest',
                 cval=0., interpolation_order=1):
    """Shift one image by random fractions ``[-hrg, hrg]`` of its height and ``[-wrg, wrg]``
    of its width."""
    h, w = x.shape[row_axis], x.shape[col_axis]
    tx = np.random.uniform(-hrg, hrg) * h
    ty = np.random.uniform(-wrg, wrg) * w
    return apply_affine_transform(x, tx=tx, ty=ty, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_shear(x, intensity, row_axis=1, col_axis=2, channel_axis=0, fill_mode='nearest',
                 cval=0., interpolation_order=1):
    """Shear one image by a random angle in ``[-intensity, intensity]`` degrees."""
    shear = np.random.uniform(-intensity, intensity)
    return apply_affine_transform(x, shear=shear, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def _zoom_pair(zoom_range, what='`zoom_range`'):
    if np.isscalar(zoom_range):
        return [1 - zoom_range, 1 + zoom_range]
    if len(zoom_range) == 2:
        return [zoom_range[0], zoom_range[1]]
    raise ValueError(f'{what} should be a float or a tuple or list of two floats. '
                     f'Received: {zoom_range!r}')


def random_zoom(x, zoom_range, row_axis=1, col_axis=2, channel_axis=0, fill_mode='nearest',
                cval=0., interpolation_order=1):
    """Zoom one image by random factors in ``zoom_range = (lower, upper)``, drawn separately
    for rows and columns."""
    if np.isscalar(zoom_range) or len(zoom_range) != 2:
        raise ValueError(f'`zoom_range` should be a tuple or list of two floats. '
                         f'Received: {zoom_range!r}')
    if zoom_range[0] == 1 and zoom_range[1] == 1:
        zx, zy = 1, 1
    else:
        zx, zy = np.random.uniform(zoom_range[0], zoom_range[1], 2)
    return apply_affine_transform(x, zx=zx, zy=zy, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_channel_shift(x, intensity_range, channel_axis=0):
    """Add one random value in ``[-intensity_range, intensity_range]`` to all channels."""
    intensity = np.random.uniform(-intensity_range, intensity_range)
    return apply_channel_shift(x, intensity, channel_axis=channel_axis)


def random_brightness(x, brightness_range):
    """Scale an image's brightness by a random factor in ``brightness_range``."""
    if np.isscalar(brightness_range) or len(brightness_range) != 2:
        raise ValueError(f'`brightness_range should be tuple or list of two floats. '
                         f'Received: {brightness_range!r}')
    return apply_brightness_shift(x, np.random.uniform(brightness_range[0],
                                                       brightness_range[1]))


# --------------------------------------------------------------------------------------------
# Image files and arrays
# --------------------------------------------------------------------------------------------

def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A 3-D image array as a Pillow image (1 channel: 'L', 3: 'RGB', 4: 'RGBA').

    Args:
        x: a 3-D array.
        data_format: 'channels_last' or 'channels_first' (default: the backend's setting).
        scale: shift and scale the values to 0..255 first (min to 0, max to 255 when the
            minimum is negative; else max to 255).
        dtype: the float type the array is read as.

    Returns:
        A ``PIL.Image.Image``.
    """
    _require_pillow('array_to_img')
    data_format = _data_format(data_format)
    x = np.asarray(x, dtype=_float_dtype(dtype))
    if x.ndim != 3:
        raise ValueError(f'Expected image array to have rank 3 (single image). Got array '
                         f'with shape: {x.shape}')
    if data_format == 'channels_first':
        x = x.transpose(1, 2, 0)
    if scale:
        x = x + max(-np.min(x), 0)
        x_max = np.max(x)
        if x_max != 0:
            x = x / x_max
        x = x * 255
    channels = x.shape[2]
    if channels == 4:
        return pil_image.fromarray(x.astype('uint8'), 'RGBA')
    if channels == 3:
        return pil_image.fromarray(x.astype('uint8'), 'RGB')
    if channels == 1:
        if np.max(x) > 255:   # 32-bit signed integer grayscale
            return pil_image.fromarray(x[:, :, 0].astype('int32'), 'I')
        return pil_image.fromarray(x[:, :, 0].astype('uint8'), 'L')
    raise ValueError(f'Unsupported channel number: {channels} (an image has 1, 3 or 4)')


def img_to_array(img, data_format=None, dtype=None):
    """A Pillow image (or any 2-D / 3-D array-like) as a 3-D float array.

    Args:
        img: a ``PIL.Image.Image``.
        data_format: 'channels_last' or 'channels_first'.
        dtype: the array's dtype (default the backend's floatx).

    Returns:
        A 3-D numpy array.
    """
    data_format = _data_format(data_format)
    x = np.asarray(img, dtype=_float_dtype(dtype))
    if x.ndim == 3:
        if data_format == 'channels_first':
            x = x.transpose(2, 0, 1)
    elif x.ndim == 2:
        x = x.reshape((1,) + x.shape) if data_format == 'channels_first' \
            else x.reshape(x.shape + (1,))
    else:
        raise ValueError(f'Unsupported image shape: {x.shape}')
    return x


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Save a 3-D image array as an image file (written to a temporary file in the same
    folder and renamed into place, so a reader never sees half a file).

    Args:
        path: a file path, or a writable binary file object.
        x: the image array.
        data_format: 'channels_last' or 'channels_first'.
        file_format: 'png', 'jpeg', ... (default: from the file name's extension).
        scale: scale the values to 0..255 (see ``array_to_img``).
        **kwargs: passed to Pillow's ``Image.save`` (e.g. ``quality=90``).
    """
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == 'RGBA' and str(file_format or os.path.splitext(str(path))[1][1:]).lower() \
            in ('jpg', 'jpeg'):
        warnings.warn('The JPG format does not support RGBA images, converting to RGB.')
        img = img.convert('RGB')
    if not isinstance(path, (str, os.PathLike)):
        img.save(path, format=file_format, **kwargs)
        return
    path = os.fspath(path)
    if file_format is None:
        ext = os.path.splitext(path)[1][1:].lower()
        file_format = {'jpg': 'jpeg', 'tif': 'tiff'}.get(ext, ext) or None
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp-img-')
    try:
        with os.fdopen(fd, 'wb') as f:
            img.save(f, format=file_format, **kwargs)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_img(path, grayscale=False, color_mode='rgb', target_size=None,
             interpolation='nearest'):
    """Read an image file as a Pillow image (decoding only: nothing in the file is run).

    Args:
        path: the file path (or a binary file object).
        grayscale: deprecated, use ``color_mode='grayscale'``.
        color_mode: 'grayscale', 'rgb' or 'rgba'.
        target_size: ``(height, width)`` to resize to, or None.
        interpolation: the resampling used to resize: 'nearest', 'bilinear', 'bicubic',
            'hamming', 'box' or 'lanczos'.

    Returns:
        A ``PIL.Image.Image``.
    """
    _require_pillow('load_img')
    if grayscale:
        warnings.warn('grayscale is deprecated. Please use color_mode = "grayscale"')
        color_mode = 'grayscale'
    if color_mode not in _COLOR_MODES:
        raise ValueError('color_mode must be "grayscale", "rgb", or "rgba"')
    if interpolation not in _PIL_INTERPOLATION:
        raise ValueError(f'Invalid interpolation method {interpolation!r} specified. '
                         f'Supported methods are {", ".join(_PIL_INTERPOLATION)}')
    if isinstance(path, (str, os.PathLike)):
        with open(path, 'rb') as f:   # read now: the file is closed when we return
            img = pil_image.open(io.BytesIO(f.read()))
    else:
        img = pil_image.open(path)
    mode = {'grayscale': 'L', 'rgb': 'RGB', 'rgba': 'RGBA'}[color_mode]
    if img.mode != mode:
        img = img.convert(mode)
    if target_size is not None:
        width_height = (int(target_size[1]), int(target_size[0]))
        if img.size != width_height:
            resample = getattr(pil_image.Resampling, interpolation.upper())
            img = img.resize(width_height, resample)
    return img


def list_pictures(directory, ext='jpg|jpeg|bmp|png|ppm'):
    """The image files (by extension) anywhere under ``directory``, sorted."""
    exts = tuple('.' + e for e in ext.split('|'))
    return sorted(os.path.join(root, f) for root, _, files in os.walk(directory)
                  for f in files if f.lower().endswith(exts))


# --------------------------------------------------------------------------------------------
# ImageDataGenerator
# --------------------------------------------------------------------------------------------

def _shift_amount(shift_range, size, rng):
    """One random shift in pixels for ``width_shift_range`` / ``height_shift_range``."""
    if isinstance(shift_range, (list, tuple, np.ndarray)):
        amount = rng.choice(np.asarray(shift_range))
    elif isinstance(shift_range, (int, np.integer)) and not isinstance(shift_range, bool) \
            and shift_range >= 1:
        # An int n: whole pixels from the open interval (-n, n).
        amount = rng.randint(-shift_range + 1, shift_range)
    else:
        amount = rng.uniform(-shift_range, shift_range)
    if np.max(np.abs(shift_range)) < 1:   # fractions of the image size
        amount = amount * size
    return float(amount)


class ImageDataGenerator:
    """Batches of image data with real-time augmentation and normalisation (Keras 2).

    Args:
        featurewise_center: subtract the data set's per-channel mean (from ``fit``).
        samplewise_center: subtract each sample's mean.
        featurewise_std_normalization: divide by the data set's per-channel std (``fit``).
        samplewise_std_normalization: divide each sample by its std.
        zca_whitening: apply ZCA whitening (``fit``); implies featurewise centring.
        zca_epsilon: the epsilon added to the eigenvalues in ZCA whitening.
        rotation_range: random rotations in ``[-rotation_range, rotation_range]`` degrees.
        width_shift_range, height_shift_range: float (a fraction of the size if < 1, else
            pixels), drawn from ``[-v, v]``; int n: whole pixels in ``(-n, n)``; or a list of
            the allowed values.
        brightness_range: ``(lower, upper)`` brightness factors, or None.
        shear_range: shear angle in degrees, counter-clockwise, in ``[-v, v]``.
        zoom_range: float z for ``[1 - z, 1 + z]``, or ``[lower, upper]``.
        channel_shift_range: random channel shifts in ``[-v, v]``.
        fill_mode: 'constant', 'nearest', 'reflect' or 'wrap' for points outside the image.
        cval: the fill value for 'constant'.
        horizontal_flip, vertical_flip: flip at random (half of the images).
        rescale: multiply the data by this value (after the other transforms), if not
            None or 0.
        preprocessing_function: a function of one image (a 3-D array) returning an array
            of the same shape, run on each image after augmentation.
        data_format: 'channels_last' or 'channels_first' (default the backend's setting).
        validation_split: the fraction of images reserved for ``subset='validation'``.
        dtype: the dtype of the generated arrays (default the backend's floatx).

    Example:
        >>> gen = ImageDataGenerator(featurewise_center=True)
        >>> x = np.random.rand(8, 4, 4, 3).astype('float32')
        >>> gen.fit(x)
        >>> gen.mean.shape
        (1, 1, 3)
    """

    def __init__(self, featurewise_center=False, samplewise_center=False,
                 featurewise_std_normalization=False, samplewise_std_normalization=False,
                 zca_whitening=False, zca_epsilon=1e-6, rotation_range=0,
                 width_shift_range=0., height_shift_range=0., brightness_range=None,
                 shear_range=0., zoom_range=0., channel_shift_range=0., fill_mode='nearest',
                 cval=0., horizontal_flip=False, vertical_flip=False, rescale=None,
                 preprocessing_function=None, data_format=None, validation_split=0.0,
                 dtype=None):
        self.featurewise_center = featurewise_center
        self.samplewise_center = samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening = zca_whitening
        self.zca_epsilon = zca_epsilon
        self.rotation_range = rotation_range
        self.width_shift_range = width_shift_range
        self.height_shift_range = height_shift_range
        self.shear_range = shear_range
        self.channel_shift_range = channel_shift_range
        _check_fill_mode(fill_mode)
        self.fill_mode = fill_mode
        self.cval = cval
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.rescale = rescale
        if preprocessing_function is not None and not callable(preprocessing_function):
            raise ValueError('`preprocessing_function` must be a function of one image')
        self.preprocessing_function = preprocessing_function
        self.dtype = _float_dtype(dtype)
        self.data_format = _data_format(data_format)
        if self.data_format == 'channels_first':
            self.channel_axis, self.row_axis, self.col_axis = 1, 2, 3
        else:
            self.channel_axis, self.row_axis, self.col_axis = 3, 1, 2
        if validation_split and not 0 < validation_split < 1:
            raise ValueError(f'`validation_split` must be strictly between 0 and 1. '
                             f'Received: {validation_split}')
        self._validation_split = validation_split

        self.mean = None
        self.std = None
        self.principal_components = None

        self.zoom_range = _zoom_pair(zoom_range)
        if zca_whitening:
            if not featurewise_center:
                self.featurewise_center = True
                warnings.warn('This ImageDataGenerator specifies `zca_whitening`, which '
                              'overrides setting of `featurewise_center`.')
            if featurewise_std_normalization:
                self.featurewise_std_normalization = False
                warnings.warn('This ImageDataGenerator specifies `zca_whitening` which '
                              'overrides setting of `featurewise_std_normalization`.')
        if self.featurewise_std_normalization and not self.featurewise_center:
            self.featurewise_center = True
            warnings.warn('This ImageDataGenerator specifies '
                          '`featurewise_std_normalization`, which overrides setting of '
                          '`featurewise_center`.')
        if samplewise_std_normalization and not samplewise_center:
            self.samplewise_center = True
            warnings.warn('This ImageDataGenerator specifies `samplewise_std_normalization`, '
                          'which overrides setting of `samplewise_center`.')
        if brightness_range is not None:
            if np.isscalar(brightness_range) or len(brightness_range) != 2:
                raise ValueError(f'`brightness_range should be tuple or list of two floats. '
                                 f'Received: {brightness_range!r}')
        self.brightness_range = brightness_range

    # -- iterators ----------------------------------------------------------------------------
    def flow(self, x, y=None, batch_size=32, shuffle=True, sample_weight=None, seed=None,
             save_to_dir=None, save_prefix='', save_format='png', subset=None):
        """Augmented batches of numpy data, as a ``NumpyArrayIterator`` (a Sequence).

        Args:
            x: a 4-D array of images, or a list whose first item is that array and whose
                other items are arrays passed through unchanged (extra model inputs).
            y: labels, or None (the batches are then ``x`` alone).
            batch_size, shuffle, seed: batching, shuffling each epoch, and the random seed.
            sample_weight: per-sample weights, given as the batches' third item.
            save_to_dir: a folder to also save the augmented images to (for inspection).
            save_prefix, save_format: their file names' prefix and format ('png', 'jpeg').
            subset: 'training' or 'validation' with ``validation_split``.

        Returns:
            Batches ``(x, y)``, ``(x, y, sample_weight)`` or ``x``.
        """
        return NumpyArrayIterator(
            x, y, self, batch_size=batch_size, shuffle=shuffle, sample_weight=sample_weight,
            seed=seed, data_format=self.data_format, save_to_dir=save_to_dir,
            save_prefix=save_prefix, save_format=save_format, subset=subset, dtype=self.dtype)

    def flow_from_directory(self, directory, target_size=(256, 256), color_mode='rgb',
                            classes=None, class_mode='categorical', batch_size=32,
                            shuffle=True, seed=None, save_to_dir=None, save_prefix='',
                            save_format='png', follow_links=False, subset=None,
                            interpolation='nearest'):
        """Augmented batches of the images in a folder with one subfolder per class.

        Args:
            directory: the folder; each subfolder holds one class's images (png, jpg, jpeg,
                bmp, ppm, tif, tiff; searched recursively).
            target_size: ``(height, width)`` every image is resized to.
            color_mode: 'grayscale', 'rgb' or 'rgba' (1, 3 or 4 channels).
            classes: the class subfolder names (default: all subfolders, sorted); their order
                gives the class indices (``class_indices``).
            class_mode: 'categorical' (one-hot), 'binary' (0/1), 'sparse' (integer), 'input'
                (the images themselves, for autoencoders) or None (images only).
            batch_size, shuffle, seed, save_to_dir, save_prefix, save_format: as ``flow``.
            follow_links: follow symbolic links to folders.
            subset: 'training' or 'validation' with ``validation_split``.
            interpolation: how images are resized (see ``load_img``).

        Returns:
            A ``DirectoryIterator``.
        """
        return DirectoryIterator(
            directory, self, target_size=target_size, color_mode=color_mode, classes=classes,
            class_mode=class_mode, data_format=self.data_format, batch_size=batch_size,
            shuffle=shuffle, seed=seed, save_to_dir=save_to_dir, save_prefix=save_prefix,
            save_format=save_format, follow_links=follow_links, subset=subset,
            interpolation=interpolation, dtype=self.dtype)

    def flow_from_dataframe(self, dataframe, directory=None, x_col='filename', y_col='class',
                            has_ext=True, target_size=(256, 256), color_mode='rgb',
                            classes=None, class_mode='categorical', batch_size=32,
                            shuffle=True, seed=None, save_to_dir=None, save_prefix='',
                            save_format='png', subset=None, interpolation='nearest',
                            sort=True, drop_duplicates=True):
        """Augmented batches of the image files listed in a pandas DataFrame.

        Args:
            dataframe: a DataFrame with a column of file names (``x_col``) and, unless
                ``class_mode`` is 'input' or None, a column of labels (``y_col``).
            directory: the folder the file names are relative to (None: paths as given).
            x_col, y_col: the column names.
            has_ext: whether the file names include their extension (if not, the file in
                ``directory`` with that name and an image extension is used).
            class_mode: 'categorical', 'binary', 'sparse', 'input', 'other' (the ``y_col``
                values as they are) or None.
            sort: sort the rows by file name first; drop_duplicates: drop repeated files.
            Others: as ``flow_from_directory``.

        Returns:
            A ``DataFrameIterator``.
        """
        return DataFrameIterator(
            dataframe, directory, self, x_col=x_col, y_col=y_col, has_ext=has_ext,
            target_size=target_size, color_mode=color_mode, classes=classes,
            class_mode=class_mode, data_format=self.data_format, batch_size=batch_size,
            shuffle=shuffle, seed=seed, save_to_dir=save_to_dir, save_prefix=save_prefix,
            save_format=save_format, subset=subset, interpolation=interpolation,
            dtype=self.dtype, sort=sort, drop_duplicates=drop_duplicates)

    # -- normalisation ------------------------------------------------------------------------
    def standardize(self, x):
        """Apply the normalisation (preprocessing_function, rescale, sample- and feature-wise
        centring and scaling, ZCA) to an image or a batch; returns a new array.

        Args:
            x: one image or a batch of images.
        """
        x = np.array(x, dtype=self.dtype)   # a copy: the caller's array is left alone
        if self.preprocessing_function:
            x = np.asarray(self.preprocessing_function(x), dtype=self.dtype)
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x /= (np.std(x, keepdims=True) + K.epsilon())
        if self.featurewise_center:
            if self.mean is not None:
                x -= self.mean
            else:
                warnings.warn("This ImageDataGenerator specifies `featurewise_center`, but "
                              "it hasn't been fit on any training data. Fit it first by "
                              "calling `.fit(numpy_data)`.")
        if self.featurewise_std_normalization:
            if self.std is not None:
                x /= (self.std + K.epsilon())
            else:
                warnings.warn("This ImageDataGenerator specifies "
                              "`featurewise_std_normalization`, but it hasn't been fit on "
                              "any training data. Fit it first by calling "
                              "`.fit(numpy_data)`.")
        if self.zca_whitening:
            if self.principal_components is not None:
                flat = x.reshape((-1, int(np.prod(x.shape[-3:]))))
                x = (flat @ self.principal_components).reshape(x.shape).astype(self.dtype)
            else:
                warnings.warn("This ImageDataGenerator specifies `zca_whitening`, but it "
                              "hasn't been fit on any training data. Fit it first by calling "
                              "`.fit(numpy_data)`.")
        return x

    # -- augmentation -------------------------------------------------------------------------
    def get_random_transform(self, img_shape, seed=None):
        """Random parameters of one image's transform (for ``apply_transform``).

        Args:
            img_shape: the image's shape (3-D).
            seed: a random seed (None: numpy's global random state).

        Returns:
            A dict with 'theta', 'tx', 'ty', 'shear', 'zx', 'zy', 'flip_horizontal',
            'flip_vertical', 'channel_shift_intensity' and 'brightness'.
        """
        rng = np.random if seed is None else np.random.RandomState(seed)
        return self._random_transform_params(img_shape, rng)

    def _random_transform_params(self, img_shape, rng):
        row, col = self.row_axis - 1, self.col_axis - 1
        theta = rng.uniform(-self.rotation_range, self.rotation_range) \
            if self.rotation_range else 0
        tx = _shift_amount(self.height_shift_range, img_shape[row], rng) \
            if np.any(self.height_shift_range) else 0
        ty = _shift_amount(self.width_shift_range, img_shape[col], rng) \
            if np.any(self.width_shift_range) else 0
        shear = rng.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0
        if self.zoom_range[0] == 1 and self.zoom_range[1] == 1:
            zx, zy = 1, 1
        else:
            zx, zy = rng.uniform(self.zoom_range[0], self.zoom_range[1], 2)
        flip_horizontal = bool(self.horizontal_flip and rng.random_sample() < 0.5)
        flip_vertical = bool(self.vertical_flip and rng.random_sample() < 0.5)
        channel_shift_intensity = None
        if self.channel_shift_range != 0:
            channel_shift_intensity = rng.uniform(-self.channel_shift_range,
                                                  self.channel_shift_range)
        brightness = None
        if self.brightness_range is not None:
            brightness = rng.uniform(self.brightness_range[0], self.brightness_range[1])
        return {'theta': theta, 'tx': tx, 'ty': ty, 'shear': shear, 'zx': zx, 'zy': zy,
                'flip_horizontal': flip_horizontal, 'flip_vertical': flip_vertical,
                'channel_shift_intensity': channel_shift_intensity, 'brightness': brightness}

    def apply_transform(self, x, transform_parameters):
        """Transform one image by the given parameters (see ``get_random_transform``; missing
        keys mean no change).

        Args:
            x: a 3-D image.
            transform_parameters: a dict of 'theta', 'tx', 'ty', 'shear', 'zx', 'zy',
                'flip_horizontal', 'flip_vertical', 'channel_shift_intensity', 'brightness'.

        Returns:
            The transformed image.
        """
        p = transform_parameters
        row, col, channel = self.row_axis - 1, self.col_axis - 1, self.channel_axis - 1
        x = apply_affine_transform(x, p.get('theta', 0), p.get('tx', 0), p.get('ty', 0),
                                   p.get('shear', 0), p.get('zx', 1), p.get('zy', 1),
                                   row_axis=row, col_axis=col, channel_axis=channel,
                                   fill_mode=self.fill_mode, cval=self.cval)
        if p.get('channel_shift_intensity') is not None:
            x = apply_channel_shift(x, p['channel_shift_intensity'], channel)
        if p.get('flip_horizontal', False):
            x = flip_axis(x, col)
        if p.get('flip_vertical', False):
            x = flip_axis(x, row)
        if p.get('brightness') is not None:
            x = apply_brightness_shift(x, p['brightness'])
        return x

    def random_transform(self, x, seed=None):
        """One image with a random transform applied (see ``get_random_transform``)."""
        return self.apply_transform(x, self.get_random_transform(np.shape(x), seed))

    def fit(self, x, augment=False, rounds=1, seed=None):
        """Compute the data set statistics that the featurewise options and ZCA need.

        Args:
            x: a 4-D array of images (all of them, or a representative sample).
            augment: fit on randomly transformed copies instead.
            rounds: the number of transformed copies of each image with ``augment``.
            seed: the random seed for ``augment``.
        """
        x = np.array(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ValueError(f'Input to `.fit()` should have rank 4. Got array with shape: '
                             f'{x.shape}')
        if x.shape[self.channel_axis] not in (1, 3, 4):
            warnings.warn(
                f'Expected input to be images (as Numpy array) following the data format '
                f'convention "{self.data_format}" (channels on axis {self.channel_axis}), '
                f'i.e. expected either 1, 3 or 4 channels on axis {self.channel_axis}. '
                f'However, it was passed an array with shape {x.shape} '
                f'({x.shape[self.channel_axis]} channels).')
        if augment:
            rng = np.random if seed is None else np.random.RandomState(seed)
            ax = np.zeros((rounds * x.shape[0],) + x.shape[1:], dtype=self.dtype)
            for r in range(rounds):
                for i in range(x.shape[0]):
                    params = self._random_transform_params(x[i].shape, rng)
                    ax[i + r * x.shape[0]] = self.apply_transform(x[i], params)
            x = ax

        axes = (0, self.row_axis, self.col_axis)
        shape = [1, 1, 1]
        shape[self.channel_axis - 1] = x.shape[self.channel_axis]
        if self.featurewise_center:
            self.mean = np.mean(x, axis=axes).reshape(shape)
            x = x - self.mean
        if self.featurewise_std_normalization:
            self.std = np.std(x, axis=axes).reshape(shape)
            x = x / (self.std + K.epsilon())
        if self.zca_whitening:
            from scipy import linalg
            flat = x.reshape((x.shape[0], -1)).astype('float64')
            sigma = flat.T @ flat / flat.shape[0]
            u, s, _ = linalg.svd(sigma)
            s_inv = 1. / np.sqrt(s[np.newaxis] + self.zca_epsilon)
            self.principal_components = ((u * s_inv) @ u.T).astype(self.dtype)


# --------------------------------------------------------------------------------------------
# Iterators
# --------------------------------------------------------------------------------------------

class Iterator(Sequence):
    """Base of the image iterators: a ``Sequence`` of batches over ``n`` samples.

    Within an epoch the samples are visited in one order (shuffled at the start of each
    epoch with ``shuffle``), so indexing batches ``0 .. len - 1`` in any order, from any
    thread or worker process, gives every sample exactly once; ``on_epoch_end`` draws the
    next epoch's order. Iterating (``next(it)``) instead loops over the batches forever, as
    Keras 2's iterators.

    The random transforms of batch ``i`` come from a generator seeded by ``(epoch seed, i)``,
    so they do not depend on which thread or process reads the batch, nor in what order. The
    epoch seed comes from ``seed`` and the epoch number, or (``seed=None``) from numpy's
    global random state when the epoch's order is drawn (``np.random.seed`` repeats a run).

    Subclasses implement ``_get_batches_of_transformed_samples(index_array, rng)``.
    """

    def __init__(self, n, batch_size, shuffle, seed):
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f'batch_size must be a positive integer; got {batch_size!r}')
        self.n = int(n)
        self.batch_size = int(batch_size)
        self.seed = seed
        self.shuffle = shuffle
        self.batch_index = 0
        self.total_batches_seen = 0
        self.epoch = 0
        self.lock = threading.Lock()
        # Drawn now, not at the first batch: worker processes forked later must share it.
        self._set_index_array()
        self.index_generator = self._flow_index()

    def _set_index_array(self):
        rs = np.random if self.seed is None else \
            np.random.RandomState([self.seed % (2 ** 32), self.epoch])
        self._epoch_seed = int(rs.randint(2 ** 31 - 1))
        self.index_array = rs.permutation(self.n) if self.shuffle else np.arange(self.n)

    def _batch_rng(self, idx):
        return np.random.RandomState([self._epoch_seed, idx])

    def __getstate__(self):   # picklable for worker processes: no lock, no live generator
        state = self.__dict__.copy()
        state.pop('lock', None)
        state.pop('index_generator', None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.lock = threading.Lock()
        self.index_generator = self._flow_index()

    def __getitem__(self, idx):
        if not 0 <= idx < len(self):
            raise ValueError(f'Asked to retrieve element {idx}, but the Sequence has length '
                             f'{len(self)}')
        with self.lock:
            index_array = self.index_array[self.batch_size * idx:
                                           self.batch_size * (idx + 1)]
            self.total_batches_seen += 1
            rng = self._batch_rng(idx)
        return self._get_batches_of_transformed_samples(index_array, rng)

    def __len__(self):
        return (self.n + self.batch_size - 1) // self.batch_size

    def on_epoch_end(self):
        with self.lock:
            self.epoch += 1
            self._set_index_array()

    def reset(self):
        """Start the endless iteration (``next``) again from the first batch."""
        self.batch_index = 0

    def _flow_index(self):
        self.reset()
        fresh = True   # the order drawn at construction serves the first epoch
        while True:
            if self.batch_index == 0 and not fresh:
                self.epoch += 1
                self._set_index_array()
            fresh = False
            current = self.batch_index * self.batch_size
            if self.n > current + self.batch_size:
                self.batch_index += 1
            else:
                self.batch_index = 0
            idx = current // self.batch_size
            self.total_batches_seen += 1
            yield self.index_array[current:current + self.batch_size], self._batch_rng(idx)

    def __iter__(self):
        return self

    def __next__(self):
        with self.lock:
            index_array, rng = next(self.index_generator)
        return self._get_batches_of_transformed_samples(index_array, rng)

    next = __next__

    def _get_batches_of_transformed_samples(self, index_array, rng):
        raise NotImplementedError

    # -- shared by the iterators ---------------------------------------------------------------
    def _augment(self, x, rng):
        gen = self.image_data_generator
        params = gen._random_transform_params(x.shape, rng)
        return gen.standardize(gen.apply_transform(x.astype(self.dtype), params))

    def _save_batch(self, batch_x, index_array, rng):
        for i, j in enumerate(index_array):
            fname = (f'{self.save_prefix}_{j}_{rng.randint(10 ** 7)}.'
                     f'{self.save_format}')
            save_img(os.path.join(self.save_to_dir, fname), batch_x[i],
                     data_format=self.data_format, scale=True)


def _check_subset(subset):
    if subset is not None and subset not in ('training', 'validation'):
        raise ValueError(f'Invalid subset name: {subset!r}; expected "training" or '
                         f'"validation"')


class NumpyArrayIterator(Iterator):
    """Batches of augmented images from numpy arrays (``ImageDataGenerator.flow``).

    Args:
        x: a 4-D image array, or a list ``[images, other_array, ...]``.
        y: labels or None.
        image_data_generator: the ``ImageDataGenerator`` whose transforms are applied.
        batch_size, shuffle, sample_weight, seed, data_format, save_to_dir, save_prefix,
        save_format, subset, dtype: see ``ImageDataGenerator.flow``.
    """

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=False,
                 sample_weight=None, seed=None, data_format=None, save_to_dir=None,
                 save_prefix='', save_format='png', subset=None, dtype=None):
        self.dtype = _float_dtype(dtype)
        if isinstance(x, (tuple, list)):
            if len(x) < 2:
                raise ValueError('`x` given as a list must be [images, other arrays...]')
            misc = x[1] if isinstance(x[1], list) else x[1:]
            x_misc = [np.asarray(a) for a in misc]
            x = x[0]
            for a in x_misc:
                if len(x) != len(a):
                    raise ValueError(f'All of the arrays in `x` should have the same length. '
                                     f'Found a pair with: len(x[0]) = {len(x)}, '
                                     f'len(x[?]) = {len(a)}')
        else:
            x_misc = []
        if y is not None and len(x) != len(y):
            raise ValueError(f'`x` (images tensor) and `y` (labels) should have the same '
                             f'length. Found: x.shape = {np.shape(x)}, y.shape = '
                             f'{np.shape(y)}')
        if sample_weight is not None and len(x) != len(sample_weight):
            raise ValueError(f'`x` (images tensor) and `sample_weight` should have the same '
                             f'length. Found: x.shape = {np.shape(x)}, sample_weight.shape = '
                             f'{np.shape(sample_weight)}')
        _check_subset(subset)
        if y is not None:
            y = np.asarray(y)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight)
        if subset is not None:
            split_idx = int(len(x) * image_data_generator._validation_split)
            if y is not None and not np.array_equal(np.unique(y[:split_idx]), np.unique(y)):
                raise ValueError('Training and validation subsets have different number of '
                                 'classes after the split. If your numpy arrays are sorted '
                                 'by the label, you might want to shuffle them.')
            part = slice(None, split_idx) if subset == 'validation' else slice(split_idx, None)
            x = x[part]
            x_misc = [a[part] for a in x_misc]
            y = y[part] if y is not None else None
            sample_weight = sample_weight[part] if sample_weight is not None else None
        self.x = np.asarray(x, dtype=self.dtype)
        if self.x.ndim != 4:
            raise ValueError(f'Input data in `NumpyArrayIterator` should have rank 4 '
                             f'(samples, then one image each). You passed an array with '
                             f'shape {self.x.shape}')
        self.data_format = _data_format(data_format)
        channels_axis = 3 if self.data_format == 'channels_last' else 1
        if self.x.shape[channels_axis] not in (1, 3, 4):
            warnings.warn(
                f'NumpyArrayIterator is set to use the data format convention '
                f'"{self.data_format}" (channels on axis {channels_axis}), i.e. expected '
                f'either 1, 3, or 4 channels on axis {channels_axis}. However, it was passed '
                f'an array with shape {self.x.shape} ({self.x.shape[channels_axis]} '
                f'channels).')
        self.x_misc = x_misc
        self.y = y
        self.sample_weight = sample_weight
        self.image_data_generator = image_data_generator
        self.save_to_dir = save_to_dir
        self.save_prefix = save_prefix
        self.save_format = save_format
        if save_to_dir:
            _require_pillow('flow(save_to_dir=...)')
            _load_image_plugins()
        super().__init__(self.x.shape[0], batch_size, shuffle, seed)

    def _get_batches_of_transformed_samples(self, index_array, rng=None):
        rng = np.random if rng is None else rng
        batch_x = np.zeros((len(index_array),) + self.x.shape[1:], dtype=self.dtype)
        for i, j in enumerate(index_array):
            batch_x[i] = self._augment(self.x[j], rng)
        if self.save_to_dir:
            self._save_batch(batch_x, index_array, rng)
        misc = [a[index_array] for a in self.x_misc]
        inputs = [batch_x] + misc if misc else batch_x
        if self.y is None:
            return inputs
        if self.sample_weight is None:
            return inputs, self.y[index_array]
        return inputs, self.y[index_array], self.sample_weight[index_array]


_CLASS_MODES = ('categorical', 'binary', 'sparse', 'input', None)


class _FileIterator(Iterator):
    """What DirectoryIterator and DataFrameIterator share: images read from files, resized,
    augmented, and labelled by ``class_mode``."""

    def _setup_images(self, image_data_generator, target_size, color_mode, data_format,
                      save_to_dir, save_prefix, save_format, interpolation, dtype):
        _require_pillow(type(self).__name__)
        _load_image_plugins()
        self.image_data_generator = image_data_generator
        self.target_size = tuple(int(s) for s in target_size)
        if color_mode not in _COLOR_MODES:
            raise ValueError(f'Invalid color mode: {color_mode!r}; expected "rgb", "rgba", or '
                             f'"grayscale".')
        if interpolation not in _PIL_INTERPOLATION:
            raise ValueError(f'Invalid interpolation method {interpolation!r} specified. '
                             f'Supported methods are {", ".join(_PIL_INTERPOLATION)}')
        self.color_mode = color_mode
        self.data_format = _data_format(data_format)
        channels = {'rgba': 4, 'rgb': 3, 'grayscale': 1}[color_mode]
        self.image_shape = (self.target_size + (channels,)
                            if self.data_format == 'channels_last'
                            else (channels,) + self.target_size)
        self.save_to_dir = save_to_dir
        self.save_prefix = save_prefix
        self.save_format = save_format
        self.interpolation = interpolation
        self.dtype = _float_dtype(dtype)

    @property
    def filepaths(self):
        return self._filepaths

    def _get_batches_of_transformed_samples(self, index_array, rng=None):
        rng = np.random if rng is None else rng
        batch_x = np.zeros((len(index_array),) + self.image_shape, dtype=self.dtype)
        for i, j in enumerate(index_array):
            img = load_img(self._filepaths[j], color_mode=self.color_mode,
                           target_size=self.target_size, interpolation=self.interpolation)
            x = img_to_array(img, data_format=self.data_format, dtype=self.dtype)
            img.close()
            batch_x[i] = self._augment(x, rng)
        if self.save_to_dir:
            self._save_batch(batch_x, index_array, rng)
        mode = self.class_mode
        if mode is None:
            return batch_x
        if mode == 'input':
            return batch_x, batch_x.copy()
        if mode == 'sparse':
            return batch_x, self.classes[index_array]
        if mode == 'binary':
            return batch_x, self.classes[index_array].astype(self.dtype)
        if mode == 'categorical':
            batch_y = np.zeros((len(index_array), self.num_classes), dtype=self.dtype)
            batch_y[np.arange(len(index_array)), self.classes[index_array]] = 1.
            return batch_x, batch_y
        return batch_x, self._other_y[index_array]   # 'other' (data frames)


def _split_range(image_data_generator, subset):
    _check_subset(subset)
    if subset is None:
        return None
    v = image_data_generator._validation_split
    return (0., v) if subset == 'validation' else (v, 1.)


def _has_image_ext(fname):
    return fname.lower().rsplit('.', 1)[-1] in _WHITE_LIST_FORMATS and '.' in fname


class DirectoryIterator(_FileIterator):
    """Batches of augmented images read from a folder of class subfolders
    (``ImageDataGenerator.flow_from_directory``; see there for the arguments).

    Attributes:
        class_indices: dict class name -> index.
        classes: the class index of every image (in ``filenames`` order).
        filenames: the image paths relative to ``directory``.
        samples, num_classes: counts.
    """

    def __init__(self, directory, image_data_generator, target_size=(256, 256),
                 color_mode='rgb', classes=None, class_mode='categorical', batch_size=32,
                 shuffle=True, seed=None, data_format=None, save_to_dir=None, save_prefix='',
                 save_format='png', follow_links=False, subset=None, interpolation='nearest',
                 dtype=None):
        self._setup_images(image_data_generator, target_size, color_mode, data_format,
                           save_to_dir, save_prefix, save_format, interpolation, dtype)
        if class_mode not in _CLASS_MODES:
            raise ValueError(f'Invalid class_mode: {class_mode!r}; expected one of '
                             f'"categorical", "binary", "sparse", "input" or None.')
        if not os.path.isdir(directory):
            raise ValueError(f'flow_from_directory: {directory!r} is not a folder')
        self.directory = directory
        self.class_mode = class_mode
        split = _split_range(image_data_generator, subset)
        self.subset = subset

        if not classes:
            classes = sorted(d for d in os.listdir(directory)
                             if os.path.isdir(os.path.join(directory, d)))
        self.num_classes = len(classes)
        self.class_indices = dict(zip(classes, range(len(classes))))
        if class_mode == 'binary' and self.num_classes != 2:
            warnings.warn(f'class_mode="binary" expects 2 classes; found {self.num_classes}')

        filenames, labels = [], []
        for name in classes:
            subdir = os.path.join(directory, name)
            if not os.path.isdir(subdir):
                raise ValueError(f'The class {name!r} has no folder {subdir!r}')
            files = sorted(
                os.path.relpath(os.path.join(root, f), directory)
                for root, _, fs in os.walk(subdir, followlinks=follow_links)
                for f in fs if _has_image_ext(f))
            if split is not None:
                files = files[int(split[0] * len(files)):int(split[1] * len(files))]
            filenames += files
            labels += [self.class_indices[name]] * len(files)
        self.filenames = filenames
        self.classes = np.array(labels, dtype='int32')
        self.samples = len(filenames)
        self._filepaths = [os.path.join(directory, f) for f in filenames]
        print(f'Found {self.samples} images belonging to {self.num_classes} classes.')
        super().__init__(self.samples, batch_size, shuffle, seed)


class DataFrameIterator(_FileIterator):
    """Batches of augmented images whose files and labels are listed in a pandas DataFrame
    (``ImageDataGenerator.flow_from_dataframe``; see there for the arguments)."""

    def __init__(self, dataframe, directory, image_data_generator, x_col='filename',
                 y_col='class', has_ext=True, target_size=(256, 256), color_mode='rgb',
                 classes=None, class_mode='categorical', batch_size=32, shuffle=True,
                 seed=None, data_format=None, save_to_dir=None, save_prefix='',
                 save_format='png', subset=None, interpolation='nearest', dtype=None,
                 sort=True, drop_duplicates=True):
        self._setup_images(image_data_generator, target_size, color_mode, data_format,
                           save_to_dir, save_prefix, save_format, interpolation, dtype)
        modes = _CLASS_MODES + ('other',)
        if class_mode not in modes:
            raise ValueError(f'Invalid class_mode: {class_mode!r}; expected one of '
                             f'"categorical", "binary", "sparse", "input", "other" or None.')
        if not hasattr(dataframe, 'columns'):
            raise TypeError('flow_from_dataframe expects a pandas DataFrame')
        needs_y = class_mode not in ('input', None)
        for col in (x_col, y_col) if needs_y else (x_col,):
            if col not in dataframe.columns:
                raise ValueError(f'The DataFrame has no column {col!r} (columns: '
                                 f'{list(dataframe.columns)})')
        self.class_mode = class_mode
        self.directory = directory
        split = _split_range(image_data_generator, subset)

        df = dataframe.copy()
        df[x_col] = df[x_col].astype(str)
        if drop_duplicates:
            df = df.drop_duplicates(subset=x_col)
        if not has_ext:
            df[x_col] = [self._with_ext(f) for f in df[x_col]]
        if sort:
            df = df.sort_values(by=x_col, kind='mergesort')
        base = directory if directory is not None else ''
        keep = [bool(f) and _has_image_ext(f) and os.path.isfile(os.path.join(base, f))
                for f in df[x_col]]
        dropped = len(keep) - sum(keep)
        if dropped:
            warnings.warn(f'flow_from_dataframe: {dropped} rows name no image file that '
                          f'exists (or have no image extension) and were left out.')
        df = df[keep]
        if split is not None:
            n = len(df)
            df = df.iloc[int(split[0] * n):int(split[1] * n)]

        if class_mode in ('categorical', 'binary', 'sparse'):
            if not classes:
                classes = sorted(set(str(c) for c in df[y_col]))
            self.class_indices = dict(zip(classes, range(len(classes))))
            labels = [str(c) for c in df[y_col]]
            unknown = sorted(set(labels) - set(self.class_indices))
            if unknown:
                raise ValueError(f'Labels {unknown} in column {y_col!r} are not among '
                                 f'`classes` {list(classes)}')
            self.classes = np.array([self.class_indices[c] for c in labels], dtype='int32')
        else:
            self.class_indices = {}
            self.classes = None
        self.num_classes = len(self.class_indices)
        self._other_y = df[y_col].values if class_mode == 'other' else None
        self.filenames = list(df[x_col])
        self._filepaths = [os.path.join(base, f) for f in self.filenames]
        self.samples = len(self.filenames)
        if class_mode in ('categorical', 'binary', 'sparse'):
            print(f'Found {self.samples} images belonging to {self.num_classes} classes.')
        else:
            print(f'Found {self.samples} images.')
        super().__init__(self.samples, batch_size, shuffle, seed)

    def _with_ext(self, name):
        base = self.directory if self.directory is not None else ''
        for ext in _WHITE_LIST_FORMATS:
            for cand in (f'{name}.{ext}', f'{name}.{ext.upper()}'):
                if os.path.isfile(os.path.join(base, cand)):
                    return cand
        return ''
