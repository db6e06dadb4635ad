"""ImageNet helpers shared by the applications (Keras 2's ``keras.applications.imagenet_utils``).

``preprocess_input`` scales images the way each pretrained network expects (``mode``):

- ``'caffe'`` (VGG, ResNet50): RGB -> BGR, then subtract the ImageNet mean pixel; no scaling.
- ``'tf'`` (Inception V3, Xception, MobileNet, MobileNetV2, NASNet): scale to [-1, 1].
- ``'torch'`` (DenseNet): scale to [0, 1], then normalise each channel by ImageNet's mean and
  standard deviation.

``decode_predictions`` turns a ``(samples, 1000)`` batch of class probabilities into the top
``(wnid, name, score)`` tuples, reading ImageNet's class index JSON. As in Keras the file is
fetched with ``get_file`` from ``CLASS_INDEX_PATH`` into ``<graphc home>/models``; a local copy
(or a file served elsewhere) can be given with ``class_index_path``.

Example:
    >>> import numpy as np
    >>> x = np.full((1, 2, 2, 3), 127.5, dtype='float32')
    >>> float(preprocess_input(x, mode='tf')[0, 0, 0, 0])
    0.0
"""
from __future__ import annotations

import json
import os
import warnings

import numpy as np

from .. import backend as K

CLASS_INDEX = None
CLASS_INDEX_PATH = ('https://storage.googleapis.com/download.tensorflow.org/'
                    'data/imagenet_class_index.json')
CLASS_INDEX_HASH = 'c2c37ea517e94d9795004a39431a14cb'

_MODES = ('caffe', 'tf', 'torch')
_CAFFE_MEAN = (103.939, 116.779, 123.68)          # BGR order
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


def _check_format_and_mode(data_format, mode):
    if data_format is None:
        data_format = K.image_data_format()
    if data_format not in ('channels_first', 'channels_last'):
        raise ValueError(f"Unknown data_format {data_format!r}: use 'channels_last' or "
                         f"'channels_first'")
    if mode not in _MODES:
        raise ValueError(f"Unknown preprocessing mode {mode!r}: use one of {_MODES}")
    return data_format


def _channel_axis(ndim, data_format):
    if data_format == 'channels_last':
        return ndim - 1
    return 0 if ndim == 3 else 1


def _preprocess_numpy(x, data_format, mode):
    if not issubclass(x.dtype.type, np.floating):
        x = x.astype(K.floatx(), copy=False)
    if mode == 'tf':
        x /= 127.5
        x -= 1.
        return x
    axis = _channel_axis(x.ndim, data_format)
    if x.shape[axis] != 3:
        raise ValueError(f"preprocess_input(mode={mode!r}) expects 3 colour channels on axis "
                         f"{axis} ({data_format}); got an array of shape {x.shape}")
    shape = [1] * x.ndim
    shape[axis] = 3
    if mode == 'torch':
        x /= 255.
        x -= np.reshape(np.asarray(_TORCH_MEAN, x.dtype), shape)
        x /= np.reshape(np.asarray(_TORCH_STD, x.dtype), shape)
        return x
    # caffe: RGB -> BGR, then zero-centre (a flipped view, so the result is a new array)
    x = np.flip(x, axis=axis)
    return x - np.reshape(np.asarray(_CAFFE_MEAN, x.dtype), shape)


def _preprocess_symbolic(x, data_format, mode):
    if mode == 'tf':
        return x / 127.5 - 1.
    ndim = K.ndim(x)
    axis = _channel_axis(ndim, data_format)
    shape = [1] * ndim
    shape[axis] = 3
    if mode == 'torch':
        mean = K.constant(np.reshape(np.asarray(_TORCH_MEAN, 'float32'), shape))
        std = K.constant(np.reshape(np.asarray(_TORCH_STD, 'float32'), shape))
        return (x / 255. - mean) / std
    mean = K.constant(np.reshape(np.asarray(_CAFFE_MEAN, 'float32'), shape))
    return K.reverse(x, axis) - mean


def preprocess_input(x, data_format=None, mode='caffe', **kwargs):
    """Preprocess a batch of RGB images (values in [0, 255]) for an ImageNet network.

    Args:
        x: a 3D or 4D numpy array or symbolic tensor. A float numpy array is modified in place
            where possible (as in Keras; pass ``np.copy(x)`` to keep it); an integer array is
            converted to floatx first.
        data_format: 'channels_last' or 'channels_first'; default ``K.image_data_format()``.
        mode: 'caffe', 'tf' or 'torch' (see the module docstring).

    Returns:
        The preprocessed array or tensor.

    Raises:
        ValueError: an unknown ``data_format`` or ``mode``, or not 3 channels.

    Example:
        >>> x = np.zeros((1, 2, 2, 3), dtype='float32')
        >>> preprocess_input(x)[0, 0, 0].tolist()  # caffe: minus the BGR mean
        [-103.93900299072266, -116.77899932861328, -123.68000030517578]
    """
    if kwargs:
        unknown = sorted(set(kwargs) - {'backend', 'layers', 'models', 'utils'})
        if unknown:
            raise TypeError(f"preprocess_input got unexpected keyword arguments {unknown}")
    data_format = _check_format_and_mode(data_format, mode)
    if isinstance(x, (list, tuple)):
        x = np.asarray(x)
    if isinstance(x, np.ndarray):
        if x.ndim not in (3, 4):
            raise ValueError(f"preprocess_input expects a 3D image or a 4D batch of images; "
                             f"got an array of shape {x.shape}")
        return _preprocess_numpy(x, data_format, mode)
    return _preprocess_symbolic(x, data_format, mode)


def _read_class_index(path):
    """The class index JSON ``{"0": ["n01440764", "tench"], ...}``, checked."""
    try:
        with open(path, encoding='utf-8') as f:
            index = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f"Cannot read the ImageNet class index {path}: {e}") from None
    if not isinstance(index, dict) or not all(
            isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(s, str) for s in v)
            for v in index.values()):
        raise ValueError(f"{path} is not an ImageNet class index: expected a JSON object "
                         f"mapping class numbers to [wnid, name] pairs")
    return index


def decode_predictions(preds, top=5, class_index_path=None, **kwargs):
    """The top ``(wnid, class_name, score)`` tuples of each sample of a batch of ImageNet
    predictions, highest score first.

    Args:
        preds: an array of shape ``(samples, 1000)``.
        top: how many classes to return per sample.
        class_index_path: a local ImageNet class index JSON to read instead of fetching
            ``CLASS_INDEX_PATH`` with ``get_file`` (graphc's addition to Keras's arguments).

    Returns:
        A list (one per sample) of lists of tuples.

    Raises:
        ValueError: ``preds`` is not 2D with 1000 columns, or the class index is malformed.

    Example:
        >>> decode_predictions(model.predict(x), top=3)  # doctest: +SKIP
        [[('n02504458', 'African_elephant', 0.82), ...]]
    """
    global CLASS_INDEX
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError('`decode_predictions` expects a batch of predictions (i.e. a 2D '
                         f'array of shape (samples, 1000)). Found array with shape: '
                         f'{preds.shape}')
    if class_index_path is not None:
        index = _read_class_index(os.fspath(class_index_path))
    else:
        if CLASS_INDEX is None:
            from ..utils.data_utils import get_file
            path = get_file('imagenet_class_index.json', CLASS_INDEX_PATH,
                            cache_subdir='models', file_hash=CLASS_INDEX_HASH)
            CLASS_INDEX = _read_class_index(path)
        index = CLASS_INDEX
    missing = [i for i in range(preds.shape[1]) if str(i) not in index]
    if missing:
        raise ValueError(f"The ImageNet class index has no entry for class(es) {missing[:5]}"
                         f"{' ...' if len(missing) > 5 else ''}")
    results = []
    for pred in preds:
        best = np.argsort(pred, kind='stable')[-top:][::-1]
        results.append([tuple(index[str(i)]) + (pred[i],) for i in best])
    return results


def _obtain_input_shape(input_shape, default_size, min_size, data_format, require_flatten,
                        weights=None):
    """The model's input shape (without the batch axis): ``input_shape`` checked, or the
    default one. Follows Keras 2.2.4's rules.

    Args:
        input_shape: None or the user's shape tuple.
        default_size: the default height and width.
        min_size: the smallest height / width the network accepts.
        data_format: 'channels_last' or 'channels_first'.
        require_flatten: the model ends in Flatten / Dense (``include_top``): the shape must be
            static, and with ImageNet weights it must be the default one.
        weights: None, 'imagenet' or a path; with 'imagenet' there must be 3 channels.

    Returns:
        A shape tuple (may hold None for height and width).

    Raises:
        ValueError naming the argument, the shape given and what is expected.
    """
    if input_shape is not None:
        try:
            input_shape = tuple(input_shape)
        except TypeError:
            raise ValueError(f"`input_shape` must be a tuple of three integers; got "
                             f"{input_shape!r}") from None
    channels_first = data_format == 'channels_first'
    if weights != 'imagenet' and input_shape and len(input_shape) == 3:
        channels = input_shape[0] if channels_first else input_shape[-1]
        if channels not in (1, 3):
            warnings.warn(f'This model usually expects 1 or 3 input channels. However, it '
                          f'was passed an input_shape with {channels} input channels.',
                          stacklevel=3)
        default_shape = ((channels, default_size, default_size) if channels_first
                         else (default_size, default_size, channels))
    else:
        default_shape = ((3, default_size, default_size) if channels_first
                         else (default_size, default_size, 3))
    if weights == 'imagenet' and require_flatten:
        if input_shape is not None and input_shape != default_shape:
            raise ValueError(f'When setting `include_top=True` and loading `imagenet` '
                             f'weights, `input_shape` should be {default_shape}; got '
                             f'{input_shape}.')
        return default_shape
    if input_shape:
        if len(input_shape) != 3:
            raise ValueError(f'`input_shape` must be a tuple of three integers (height, width '
                             f'and channels, without the batch axis); got {input_shape}')
        channels = input_shape[0] if channels_first else input_shape[-1]
        spatial = input_shape[1:] if channels_first else input_shape[:2]
        if channels != 3 and weights == 'imagenet':
            raise ValueError(f'The input must have 3 channels to load `imagenet` weights; '
                             f'got `input_shape={input_shape}`')
        if any(s is not None and s < min_size for s in spatial):
            raise ValueError(f'Input size must be at least {min_size}x{min_size}; got '
                             f'`input_shape={input_shape}`')
    elif require_flatten:
        input_shape = default_shape
    else:
        input_shape = (3, None, None) if channels_first else (None, None, 3)
    if require_flatten and None in input_shape:
        raise ValueError(f'If `include_top` is True, you should specify a static '
                         f'`input_shape`. Got `input_shape={input_shape}`')
    return input_shape
