"""The Keras 2 backend API (imported as ``K``) on graphc's symbolic IR.

``from graphc import backend as K`` gives the functions Keras layers, losses, metrics and
user code call: ``K.placeholder``, ``K.variable``, ``K.dot``, ``K.mean``, ``K.gradients``,
``K.function`` ... Each builds IR nodes (``graphc.ir``); ``K.function`` makes them callable.

Example:
    >>> from graphc import backend as K
    >>> x = K.placeholder(shape=(None, 3))
    >>> f = K.function([x], [K.sum(K.square(x), axis=1)])
    >>> f([np.ones((2, 3))])
    [array([3., 3.], dtype=float32)]
"""
from .common import (  # noqa: F401
    backend, floatx, set_floatx, epsilon, set_epsilon, image_data_format,
    set_image_data_format, set_image_dim_ordering, image_dim_ordering, normalize_data_format,
    cast_to_floatx, get_uid, reset_uids,
    manual_variable_initialization, learning_phase, learning_phase_value, set_learning_phase,
    clear_session, name_scope,
)
from .variables import (  # noqa: F401
    placeholder, is_placeholder, is_tensor, is_keras_tensor, is_sparse, to_dense, variable,
    constant, zeros, ones, eye, zeros_like, ones_like, identity, random_uniform_variable,
    random_normal_variable, int_shape, get_variable_shape, ndim, dtype, shape, count_params,
    eval, get_value, batch_get_value, set_value, batch_set_value, update, update_add,
    update_sub, moving_average_update,
)
from .ops import (  # noqa: F401
    sum, prod, mean, max, min, var, std, any, all, argmax, argmin, logsumexp, cumsum,
    cumprod, square, abs, exp, log, sign, sin, cos, floor, ceil, log1p, expm1, round, sqrt,
    pow, clip, equal, not_equal, greater, greater_equal, less, less_equal, maximum, minimum,
    logical_and, logical_or, cast, dot, batch_dot, transpose, permute_dimensions, reshape,
    expand_dims, squeeze, flatten, batch_flatten, concatenate, stack, gather, one_hot, tile,
    repeat, repeat_elements, reverse, temporal_padding, spatial_2d_padding,
    spatial_3d_padding, resize_images, slice, arange,
)
from .nn import (  # noqa: F401
    relu, elu, selu, softplus, softsign, sigmoid, hard_sigmoid, tanh, softmax, log_softmax,
    categorical_crossentropy, sparse_categorical_crossentropy, binary_crossentropy,
    l2_normalize, in_top_k, batch_normalization, normalize_batch_in_training, conv1d, conv2d,
    conv2d_transpose, depthwise_conv2d, separable_conv2d, pool2d, pool1d, bias_add,
    random_uniform, random_normal, truncated_normal, random_binomial, dropout,
    separable_conv1d,
)
from .volumetric import conv3d, conv3d_transpose, pool3d, resize_volumes  # noqa: F401
from .local import local_conv1d, local_conv2d  # noqa: F401
from .graph import (  # noqa: F401
    function, gradients, stop_gradient, switch, in_train_phase, in_test_phase,
)
from ..function import Function  # noqa: F401
from .rnn import rnn  # noqa: E402,F401
from .host import print_tensor  # noqa: E402,F401
from .functional import map_fn, foldl, foldr  # noqa: E402,F401
from .ctc import ctc_batch_cost, ctc_decode, ctc_label_dense_to_sparse  # noqa: E402,F401
