"""The configs and files of other Keras versions, in graphc's (Keras 2.2.4's) terms.

Keras 2.2.4 is what graphc's layers and ``saving`` speak. Files written by tf.keras 2.x /
tf-keras and Keras 3 describe the same models with other words; this module translates them:

* ``normalize_model_config``: a model config from tf.keras / tf-keras (``ragged``, dtype
  policies, ``module`` / ``registered_name``, ``Functional``, initializer class names such as
  ``GlorotUniform``) or Keras 3 (``batch_shape``, ``quantization_config``, inbound nodes as
  ``__keras_tensor__`` records) becomes a Keras 2.2.4 config. Options that only matter at
  their neutral value (``groups=1``, ``lora_rank=None``, ``seed``...) are dropped; any other
  option a graphc layer does not take is a ValueError naming the layer and the option.
* ``normalize_training_config`` / ``normalize_optimizer_config``: the compile arguments.
* ``optimizer_state_from_file``: the optimizer state of tf-keras 2.11+ and Keras 3 (slots
  interleaved per variable, ``iteration`` and ``learning_rate`` first) in graphc's order.
* ``load_keras_zip`` / ``save_keras_zip``: Keras 3's ``.keras`` zip (config.json,
  metadata.json, model.weights.h5), checked before anything in it is read.

Example:
    >>> config = normalize_model_config(json.loads(h5file.attrs['model_config']))
"""
from __future__ import annotations

import contextlib
import copy
import inspect
import io
import json
import os
import tempfile
import time
import warnings
import zipfile

import numpy as np

from . import backend as K

__all__ = ['normalize_model_config', 'normalize_training_config', 'normalize_optimizer_config',
           'optimizer_state_from_file', 'load_keras_zip', 'save_keras_zip', 'is_keras_zip']

# Keys of a serialized object that only say where the class lives (tf.keras 2.13+, Keras 3).
_LOCATION_KEYS = ('module', 'registered_name', 'build_config', 'compile_config',
                  'shared_object_id')

# Layer options of newer Keras versions that graphc honours only at their neutral value:
# {option: predicate(value) -> True when the value changes nothing}. Anything else is an error.
_NEUTRAL = {
    'ragged': lambda v: not v,
    'sparse': lambda v: not v,
    'optional': lambda v: not v,
    'autocast': lambda v: True,
    'quantization_config': lambda v: v is None,
    'lora_rank': lambda v: v is None,
    'lora_alpha': lambda v: True,
    'lora_enabled': lambda v: not v,
    'groups': lambda v: v in (None, 1),
    'seed': lambda v: True,                 # only the initial weights / dropout masks
    'use_cudnn': lambda v: True,            # an implementation choice
    'time_major': lambda v: not v,
    # Zeros instead of the previous output at masked steps (Keras 3's Bidirectional sets it);
    # without a mask it changes nothing (a warning when the model has masks).
    'zero_output_for_mask': lambda v: True,
    'synchronized': lambda v: not v,
    'renorm': lambda v: not v,
    'renorm_clipping': lambda v: v is None,
    'renorm_momentum': lambda v: True,
    'fused': lambda v: True,
    'virtual_batch_size': lambda v: v is None,
    'adjustment': lambda v: v is None,
    'input_length': lambda v: True,         # graphc's Embedding takes it; dropped elsewhere
    'activity_regularizer': lambda v: v is None,
    'keepdims': lambda v: not v,
}

# tf.keras / Keras 3 initializer classes as Keras 2.2.4 ones.
_VARIANCE_SCALING = {
    'GlorotUniform': (1.0, 'fan_avg', 'uniform'), 'GlorotNormal': (1.0, 'fan_avg', 'normal'),
    'HeUniform': (2.0, 'fan_in', 'uniform'), 'HeNormal': (2.0, 'fan_in', 'normal'),
    'LecunUniform': (1.0, 'fan_in', 'uniform'), 'LecunNormal': (1.0, 'fan_in', 'normal'),
}

_MIXED_POLICIES = ('mixed_float16', 'mixed_bfloat16')


def _strip_location(obj):
    for key in _LOCATION_KEYS:
        obj.pop(key, None)
    name = obj.get('class_name')
    if isinstance(name, str) and name.startswith('Custom>'):
        obj['class_name'] = name[len('Custom>'):]
    return obj


def _dtype_name(dtype, where):
    """A dtype policy (a dict, as tf.keras 2.13+ / Keras 3 write) or a dtype name, as a dtype
    name."""
    if isinstance(dtype, dict):
        config = dtype.get('config') or {}
        name = config.get('name') if isinstance(config, dict) else None
        if name is None:
            raise ValueError(f"{where}: cannot read the dtype policy {dtype!r}")
        dtype = name
    if dtype in _MIXED_POLICIES:
        warnings.warn(f"{where} was saved with the mixed-precision policy {dtype!r}; graphc "
                      f"loads it as float32 (its variables were float32 already).",
                      stacklevel=4)
        return 'float32'
    return dtype


def _normalize_initializer(obj):
    if not isinstance(obj, dict) or 'class_name' not in obj:
        return obj
    obj = _strip_location(dict(obj))
    config = dict(obj.get('config') or {})
    for key in ('input_axes', 'output_axes'):        # Keras 3, only for its own layers
        config.pop(key, None)
    name = obj['class_name']
    if name in _VARIANCE_SCALING:
        scale, mode, distribution = _VARIANCE_SCALING[name]
        return {'class_name': 'VarianceScaling',
                'config': {'scale': scale, 'mode': mode, 'distribution': distribution,
                           'seed': config.get('seed')}}
    if name == 'VarianceScaling' and config.get('distribution') in (
            'truncated_normal', 'untruncated_normal'):
        config['distribution'] = 'normal'
    return {'class_name': name, 'config': config}


def _normalize_regularizer(obj, where):
    if not isinstance(obj, dict) or 'class_name' not in obj:
        return obj
    obj = _strip_location(dict(obj))
    config = dict(obj.get('config') or {})
    name = obj['class_name']
    if name == 'L1':
        return {'class_name': 'L1L2', 'config': {'l1': config.get('l1', 0.01), 'l2': 0.0}}
    if name == 'L2':
        return {'class_name': 'L1L2', 'config': {'l1': 0.0, 'l2': config.get('l2', 0.01)}}
    if name == 'L1L2':
        return {'class_name': 'L1L2', 'config': {'l1': config.get('l1', 0.0),
                                                 'l2': config.get('l2', 0.0)}}
    return {'class_name': name, 'config': config}


def _layer_classes(custom_objects):
    from .layers import _module_objects
    from .utils.generic_utils import get_custom_objects
    objects = dict(_module_objects())
    objects['Functional'] = objects['Model']
    user = dict(get_custom_objects())
    user.update(custom_objects or {})
    return objects, user


def _accepted_options(cls, layer=True):
    """The config keys ``cls.from_config`` takes: its ``__init__``'s named arguments, and for
    a layer whose ``__init__`` passes ``**kwargs`` on, the base Layer's."""
    from .engine.base_layer import _ALLOWED_KWARGS
    params = inspect.signature(cls.__init__).parameters
    names = {n for n, p in params.items()
             if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)} - {'self'}
    if layer and any(p.kind == p.VAR_KEYWORD for p in params.values()):
        names |= _ALLOWED_KWARGS
    return names


def _keras3_inbound_nodes(nodes, where, shift):
    """Keras 3's ``[{'args': [...], 'kwargs': {...}}]`` as Keras 2's
    ``[[[layer, node, tensor, kwargs], ...], ...]``. ``shift`` maps the names of nested models
    to 1: in Keras 2 (and graphc) a model's node 0 is its own input-to-output node, so the
    calls that Keras 3 numbers from 0 are numbered from 1."""
    out = []
    for node in nodes:
        if not isinstance(node, dict):
            out.append(node)
            continue
        history = []

        def collect(value):
            if isinstance(value, dict) and value.get('class_name') == '__keras_tensor__':
                name, node, tensor = value['config']['keras_history'][:3]
                history.append([name, node + shift.get(name, 0), tensor])
            elif isinstance(value, (list, tuple)):
                for v in value:
                    collect(v)
            elif isinstance(value, dict):
                for v in value.values():
                    collect(v)

        collect(node.get('args', []))
        kwargs = {k: v for k, v in (node.get('kwargs') or {}).items()
                  if v is not None and k not in ('mask', 'training')}
        if kwargs:
            raise ValueError(f"{where}: a call with the arguments {sorted(kwargs)} cannot be "
                             f"rebuilt by graphc")
        out.append([h + [{}] for h in history])
    return out


def _has_own_input(entry):
    """Whether a (normalised) layer entry is a model that has its own input node."""
    if entry.get('class_name') == 'Model':
        return True
    config = entry.get('config')
    if entry.get('class_name') == 'Sequential' and isinstance(config, dict):
        layers = config.get('layers') or []
        return bool(config.get('build_input_shape')) or any(
            x.get('class_name') == 'InputLayer' or 'batch_input_shape' in (x.get('config') or {})
            for x in layers[:1])
    return False


def _coords(coords):
    """Keras 3 writes a single input / output as ``[name, node, tensor]``."""
    if coords and isinstance(coords[0], str):
        return [list(coords)]
    return [list(c) for c in coords]


# Activations whose meaning changed in Keras 3: hard_sigmoid is clip(x/6 + 0.5) there,
# clip(0.2x + 0.5) in Keras 2 / tf.keras 2 / graphc.
_KERAS3_CHANGED_ACTIVATIONS = ('hard_sigmoid',)


def _is_keras3_config(obj):
    """Keras 3 writes ``batch_shape`` for inputs and dtype policies with ``module: 'keras'``;
    tf.keras 2.x writes neither."""
    if isinstance(obj, dict):
        if 'batch_shape' in obj or obj.get('class_name') == '__keras_tensor__':
            return True
        if obj.get('class_name') == 'DTypePolicy' and obj.get('module') == 'keras':
            return True
        return any(_is_keras3_config(v) for v in obj.values())
    if isinstance(obj, list):
        return any(_is_keras3_config(v) for v in obj)
    return False


def _check_activations(config, label, keras3):
    if not keras3:
        return
    for key, value in config.items():
        if key.endswith('activation') and value in _KERAS3_CHANGED_ACTIVATIONS:
            raise ValueError(
                f"{label}: {key}={value!r} was saved by Keras 3, whose hard_sigmoid is "
                f"clip(x/6 + 0.5); graphc's (Keras 2's) is clip(0.2*x + 0.5), so the model "
                f"would predict differently. Use 'sigmoid' in the Keras 3 model, or rebuild "
                f"the model in graphc with a custom activation and load_weights.")


def _is_default_backward(config):
    """Whether a Bidirectional's ``backward_layer`` is its layer run backwards (what
    Bidirectional builds by itself)."""
    forward, backward = config.get('layer'), config.get('backward_layer')
    if not (isinstance(forward, dict) and isinstance(backward, dict)):
        return False
    if forward.get('class_name') != backward.get('class_name'):
        return False
    ignore = ('name', 'go_backwards')
    f = {k: v for k, v in (forward.get('config') or {}).items() if k not in ignore}
    b = {k: v for k, v in (backward.get('config') or {}).items() if k not in ignore}
    return f == b


def _uses_masks(obj):
    if isinstance(obj, dict):
        if obj.get('class_name') == 'Masking' or obj.get('mask_zero') is True:
            return True
        return any(_uses_masks(v) for v in obj.values())
    if isinstance(obj, list):
        return any(_uses_masks(v) for v in obj)
    return False


# Keras 1 layer configs that Keras 2 still read (its legacy interfaces): class names ...
_KERAS1_CLASSES = {
    'Convolution1D': 'Conv1D', 'Convolution2D': 'Conv2D', 'Convolution3D': 'Conv3D',
    'AtrousConvolution1D': 'Conv1D', 'AtrousConvolution2D': 'Conv2D',
    'Deconvolution2D': 'Conv2DTranspose', 'SeparableConvolution2D': 'SeparableConv2D',
}
# ... and argument names (the same for every layer that has them).
_KERAS1_ARGS = {
    'output_dim': 'units', 'nb_filter': 'filters', 'init': 'kernel_initializer',
    'inner_init': 'recurrent_initializer', 'inner_activation': 'recurrent_activation',
    'W_regularizer': 'kernel_regularizer', 'U_regularizer': 'recurrent_regularizer',
    'b_regularizer': 'bias_regularizer', 'W_constraint': 'kernel_constraint',
    'U_constraint': 'recurrent_constraint', 'b_constraint': 'bias_constraint',
    'bias': 'use_bias', 'dropout_W': 'dropout', 'dropout_U': 'recurrent_dropout',
    'border_mode': 'padding', 'subsample': 'strides', 'subsample_length': 'strides',
    'filter_length': 'kernel_size', 'pool_length': 'pool_size', 'stride': 'strides',
    'atrous_rate': 'dilation_rate', 'beta_init': 'beta_initializer',
    'gamma_init': 'gamma_initializer', 'p': 'rate',
}
_KERAS1_EMBEDDING = {'init': 'embeddings_initializer', 'W_regularizer': 'embeddings_regularizer',
                     'W_constraint': 'embeddings_constraint'}


def _keras1_layer(name, config, label):
    """A Keras 1 layer config (``output_dim``, ``nb_filter``, ``border_mode``,
    ``dim_ordering`` ...) in Keras 2's arguments, as Keras 2's legacy interfaces converted
    them; Keras 2 configs come back unchanged."""
    keys = set(config)
    if name not in _KERAS1_CLASSES and not keys & (set(_KERAS1_ARGS) | {
            'dim_ordering', 'nb_row', 'nb_col', 'consume_less', 'forget_bias_init', 'mode'}):
        return name, config
    name = _KERAS1_CLASSES.get(name, name)
    config = dict(config)
    table = dict(_KERAS1_ARGS, **(_KERAS1_EMBEDDING if name == 'Embedding' else {}))
    if name == 'Embedding':
        del table['output_dim']          # the same name in Keras 1 and 2
    if name in ('Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'SpatialDropout3D',
                'GaussianDropout', 'AlphaDropout'):
        table['p'] = 'rate'
    elif 'p' in table:
        del table['p']
    for old, new in table.items():
        if old in config and new not in config:
            config[new] = config.pop(old)
    if 'nb_row' in config and 'nb_col' in config:
        config['kernel_size'] = (config.pop('nb_row'), config.pop('nb_col'))
    ordering = config.pop('dim_ordering', None)
    if ordering is not None:
        config['data_format'] = {'tf': 'channels_last', 'th': 'channels_first'}.get(ordering)
    implementation = config.pop('consume_less', None)
    if implementation is not None:
        config['implementation'] = {'cpu': 0, 'mem': 1, 'gpu': 2}.get(implementation, 1)
    forget = config.pop('forget_bias_init', None)
    if forget is not None:
        config['unit_forget_bias'] = forget == 'one'
    if name == 'BatchNormalization' and config.pop('mode', 0) != 0:
        raise ValueError(f"{label}: Keras 1's BatchNormalization mode other than 0 was removed "
                         f"in Keras 2 and is not supported by graphc")
    if name in ('LSTM', 'GRU', 'SimpleRNN') and 'input_dim' in config and \
            'batch_input_shape' not in config:
        config['batch_input_shape'] = (None, config.pop('input_length', None),
                                       config.pop('input_dim'))
    return name, config


def _normalize_layer(obj, classes, user, keras3=False, masks=False):
    """One ``{'class_name', 'config', ...}`` layer (or model) entry, in place of a copy."""
    obj = _strip_location(dict(obj))
    name = obj['class_name']
    if name not in user and isinstance(obj.get('config'), dict):
        name, obj['config'] = _keras1_layer(name, obj['config'],
                                            f"Layer {obj['config'].get('name', '?')!r} "
                                            f"({name})")
        obj['class_name'] = name
    if name == 'Functional':
        obj['class_name'] = name = 'Model'
    config = obj.get('config')
    if isinstance(config, list):                    # Keras 2.0's Sequential config
        obj['config'] = [_normalize_layer(c, classes, user, keras3, masks) for c in config]
        return obj
    config = dict(config or {})
    label = f"Layer {config.get('name', '?')!r} ({name})"
    if 'dtype' in config:
        config['dtype'] = _dtype_name(config['dtype'], label)
    _check_activations(config, label, keras3)
    if name == 'InputLayer':
        if 'batch_shape' in config:
            config['batch_input_shape'] = config.pop('batch_shape')
        if config.get('ragged'):
            raise ValueError(f"{label}: ragged inputs (ragged=True) are not supported by "
                             f"graphc; feed dense, padded arrays")
        config.pop('ragged', None)
        config.pop('optional', None)
    for key, value in list(config.items()):
        if key.endswith('_initializer'):
            config[key] = _normalize_initializer(value)
        elif key.endswith('_regularizer'):
            config[key] = _normalize_regularizer(value, label)
        elif key.endswith('_constraint') and isinstance(value, dict):
            config[key] = _strip_location(dict(value))
    if name == 'BatchNormalization' and isinstance(config.get('axis'), (list, tuple)):
        if len(config['axis']) != 1:
            raise ValueError(f"{label}: normalising over several axes {config['axis']} is not "
                             f"supported by graphc")
        config['axis'] = config['axis'][0]
    if isinstance(config.get('layers'), list):       # a nested Sequential / Functional
        config['layers'] = [_normalize_layer(c, classes, user, keras3, masks)
                            for c in config['layers']]
    for key in ('layer', 'cell', 'backward_layer'):  # wrappers and RNN cells
        if isinstance(config.get(key), dict) and 'class_name' in config[key]:
            config[key] = _normalize_layer(config[key], classes, user, keras3, masks)
    if name == 'Bidirectional' and _is_default_backward(config):
        del config['backward_layer']        # Keras 3 writes the default one out
    if name in ('Model', 'Sequential'):
        for key in ('input_layers', 'output_layers'):
            if key in config:
                config[key] = _coords(config[key])
        config.pop('trainable', None)
        config.pop('dtype', None)
    if name == 'Model' and isinstance(config.get('layers'), list):
        shift = {entry['config'].get('name', entry.get('name')): 1
                 for entry in config['layers'] if _has_own_input(entry)}
        for entry in config['layers']:
            if 'inbound_nodes' in entry:
                entry['inbound_nodes'] = _keras3_inbound_nodes(
                    entry['inbound_nodes'], f"Layer {entry.get('name')!r}", shift)
    cls = classes.get(name) if name not in user else None
    if cls is not None and name not in ('Model', 'Sequential', 'Lambda'):
        # A Lambda's from_config reads its own keys (function, function_type ...); RNNs and
        # wrappers pop their sub-layers before calling __init__.
        allowed = _accepted_options(cls) | {'cell', 'cells', 'layer', 'num_constants'}
        for key in sorted(set(config) - allowed):
            neutral = _NEUTRAL.get(key)
            if neutral is not None and neutral(config[key]):
                if key == 'zero_output_for_mask' and config[key] and masks:
                    warnings.warn(f"{label}: zero_output_for_mask=True is not supported by "
                                  f"graphc; at masked time steps this layer's outputs repeat "
                                  f"the previous step's instead of being zeros.", stacklevel=5)
                del config[key]
            else:
                shown = repr(config[key])
                shown = shown if len(shown) <= 80 else shown[:77] + '...'
                raise ValueError(
                    f"{label}: the option {key}={shown} is not supported by graphc's "
                    f"{name} (Keras 2.2.4's arguments), so the saved model cannot be rebuilt "
                    f"faithfully. Change it in the Keras that saved the model, or load the "
                    f"weights into a model built in graphc with model.load_weights(..., "
                    f"by_name=True).")
    obj['config'] = config
    return obj


def normalize_model_config(config, custom_objects=None):
    """A model (or layer) config of tf.keras 2.x / tf-keras / Keras 3 in Keras 2.2.4's form.

    Configs already in Keras 2's form come back equal. The input is not modified.

    Args:
        config: ``{'class_name': ..., 'config': ...}``.
        custom_objects: the user's classes (their options are not checked).
    Returns:
        The converted config.
    Raises:
        ValueError naming the layer and the option that graphc cannot honour.

    Example:
        >>> normalize_model_config({'class_name': 'Functional', 'config': {...}})['class_name']
        'Model'
    """
    if not isinstance(config, dict) or 'class_name' not in config:
        return config
    classes, user = _layer_classes(custom_objects)
    return _normalize_layer(copy.deepcopy(config), classes, user, _is_keras3_config(config),
                            _uses_masks(config))


def _per_gate(kernel, n_gates, transform):
    return np.hstack([transform(k) for k in np.hsplit(kernel, n_gates)])


def _from_cudnn_input(kernel):
    # Keras 2 stores a CuDNN layer's input kernel per gate as CuDNN's (units, input_dim)
    # matrix read row by row into (input_dim, units); this gives the generic kernel back.
    return kernel.T.reshape(kernel.shape, order='F')


def _to_cudnn_input(kernel):
    # the inverse of _from_cudnn_input
    return kernel.T.reshape(kernel.shape, order='C')


def _rnn_layout(cls, layer, bias_shape, units, n_gates):
    """Which layer a set of RNN weights belongs to, from its bias shape (Keras 2.2.4)."""
    if bias_shape == (2 * units * n_gates,):
        return 'CuDNN'
    if bias_shape == (2, units * n_gates):
        return 'GRU(reset_after=True)'
    if bias_shape == (units * n_gates,):
        return 'LSTM' if n_gates == 4 else 'GRU(reset_after=False)'
    raise ValueError(f"Layer {layer.name!r}: the saved {cls} bias has shape {bias_shape}, which "
                     f"fits neither the CuDNN layout ({(2 * units * n_gates,)}) nor the generic "
                     f"one")


def convert_rnn_weights(layer, weights):
    """Keras 2.2.4's conversion of recurrent weights between the CuDNN layout and the
    generic one, in either direction: CuDNNLSTM weights into an LSTM (and back), CuDNNGRU
    weights into a GRU(reset_after=True) (and back). Input kernels are re-laid out gate by
    gate, recurrent kernels transposed gate by gate; CuDNNLSTM's separate input and recurrent
    biases are summed (an LSTM's bias is split in two equal halves the other way),
    CuDNNGRU's become GRU(reset_after=True)'s two rows. The file's layer is recognised by
    its bias shape; weights already in the layer's layout come back unchanged.

    Raises:
        ValueError when CuDNNGRU weights meet a GRU with ``reset_after=False`` (or the
        reverse): their arithmetic differs.
    """
    cls = type(layer).__name__
    if cls not in ('LSTM', 'GRU', 'CuDNNLSTM', 'CuDNNGRU') or len(weights) != 3:
        return weights
    kernel, recurrent, bias = (np.asarray(w) for w in weights)
    units = recurrent.shape[0]
    n_gates = 4 if cls in ('LSTM', 'CuDNNLSTM') else 3
    source = _rnn_layout(cls, layer, bias.shape, units, n_gates)
    if cls.startswith('CuDNN'):
        target = 'CuDNN'
    elif cls == 'LSTM':
        target = 'LSTM'
    else:
        target = f"GRU(reset_after={bool(getattr(layer, 'reset_after', False))})"
    if source == target:
        return weights
    if 'GRU(reset_after=False)' in (source, target):
        if source == 'CuDNN':
            raise ValueError(f"Layer {layer.name!r}: the file holds CuDNNGRU weights, which "
                             f"only load into a GRU with reset_after=True (and "
                             f"recurrent_activation='sigmoid')")
        raise ValueError(f"Layer {layer.name!r}: {source} weights do not load into "
                         f"{target if target != 'CuDNN' else cls}; only a GRU with "
                         f"reset_after=True shares CuDNNGRU's arithmetic")
    from_cudnn = source == 'CuDNN'
    kernel = _per_gate(kernel, n_gates, _from_cudnn_input if from_cudnn else _to_cudnn_input)
    recurrent = _per_gate(recurrent, n_gates, lambda k: k.T)
    if n_gates == 4:
        half = units * n_gates
        bias = bias[:half] + bias[half:] if from_cudnn else np.tile(0.5 * bias, 2)
    else:
        bias = bias.reshape(2, units * n_gates) if from_cudnn else bias.reshape(-1)
    return [kernel, recurrent, bias]


# --------------------------------------------------------------------------------------------
# Training configuration and optimizer
# --------------------------------------------------------------------------------------------

# Optimizer options of tf.keras 2.11+ / Keras 3 that change nothing at these values.
_OPTIMIZER_NEUTRAL = {
    'name': lambda v: True, 'weight_decay': lambda v: not v,
    'clipnorm': lambda v: v is None, 'clipvalue': lambda v: v is None,
    'global_clipnorm': lambda v: v is None, 'use_ema': lambda v: not v,
    'ema_momentum': lambda v: True, 'ema_overwrite_frequency': lambda v: True,
    'jit_compile': lambda v: True, 'is_legacy_optimizer': lambda v: True,
    'loss_scale_factor': lambda v: v is None, 'gradient_accumulation_steps': lambda v: v is None,
    'centered': lambda v: not v, 'momentum': lambda v: not v,
}


def normalize_optimizer_config(config):
    """An optimizer config of tf.keras 2.11+ / Keras 3 in graphc's terms: ``Custom>Adam`` is
    ``Adam``; neutral options are dropped; options graphc cannot honour (weight decay, EMA,
    a learning-rate schedule) are dropped with a warning naming them."""
    if not isinstance(config, dict) or 'class_name' not in config:
        return config
    from . import optimizers
    config = _strip_location(copy.deepcopy(config))
    name = config['class_name']
    inner = dict(config.get('config') or {})
    cls = optimizers._OBJECTS.get(optimizers._LOWER.get(str(name).lower(), name))
    if cls is None:
        return {'class_name': name, 'config': inner}
    allowed = _accepted_options(cls, layer=False) | {'clipnorm', 'clipvalue'}
    if isinstance(inner.get('learning_rate'), dict):
        schedule = inner.pop('learning_rate')
        initial = (schedule.get('config') or {}).get('initial_learning_rate')
        warnings.warn(f"The saved {name} optimizer uses the learning-rate schedule "
                      f"{schedule.get('class_name')!r}, which graphc does not have; the "
                      f"initial rate {initial} is used as a constant.", stacklevel=4)
        if initial is not None:
            inner['learning_rate'] = initial
    dropped = []
    for key in sorted(set(inner) - allowed):
        neutral = _OPTIMIZER_NEUTRAL.get(key)
        if neutral is None or not neutral(inner[key]):
            dropped.append(f'{key}={inner[key]!r}')
        del inner[key]
    for key in ('clipnorm', 'clipvalue'):
        if inner.get(key) is None:
            inner.pop(key, None)
    if dropped:
        warnings.warn(f"The saved {name} optimizer has option(s) {dropped} that graphc's "
                      f"{cls.__name__} does not take; they are ignored.", stacklevel=4)
    return {'class_name': cls.__name__, 'config': inner}


def _metric_name(metric):
    if isinstance(metric, dict) and 'class_name' in metric:
        config = metric.get('config') or {}
        fn = config.get('fn')
        if isinstance(fn, str):
            return fn
        from .engine.base_layer import to_snake_case
        return config.get('name') or to_snake_case(metric['class_name'])
    if isinstance(metric, list):
        return [_metric_name(m) for m in metric]
    if isinstance(metric, dict):
        return {k: _metric_name(v) for k, v in metric.items()}
    return metric


def _loss_name(loss):
    if isinstance(loss, dict) and 'class_name' in loss:
        config = loss.get('config') or {}
        if config.get('from_logits'):
            raise ValueError(f"The saved loss {loss['class_name']} has from_logits=True, which "
                             f"graphc's losses do not take: load with compile=False and "
                             f"compile the model with a loss of your choice")
        fn = config.get('fn')
        if isinstance(fn, str):
            return fn
        from .engine.base_layer import to_snake_case
        return to_snake_case(loss['class_name'])
    if isinstance(loss, list):
        return [_loss_name(x) for x in loss]
    if isinstance(loss, dict):
        return {k: _loss_name(v) for k, v in loss.items()}
    return loss


def normalize_training_config(config):
    """A ``training_config`` of tf.keras 2.x / Keras 3 (metric wrappers, loss objects,
    ``run_eagerly`` ...) in Keras 2.2.4's form."""
    config = dict(config)
    for key in ('run_eagerly', 'steps_per_execution', 'jit_compile', 'auto_scale_loss'):
        config.pop(key, None)
    config['loss'] = _loss_name(config.get('loss'))
    metrics = _metric_name(config.get('metrics'))
    # tf.keras 2.x nests the metrics per output: [[m1, m2]] for one output.
    if isinstance(metrics, list) and len(metrics) == 1 and isinstance(metrics[0], list):
        metrics = metrics[0]
    config['metrics'] = metrics
    if config.get('weighted_metrics') is not None:
        weighted = _metric_name(config['weighted_metrics'])
        if isinstance(weighted, list) and len(weighted) == 1 and isinstance(weighted[0], list):
            weighted = weighted[0]
        config['weighted_metrics'] = weighted
    if 'optimizer_config' in config:
        config['optimizer_config'] = normalize_optimizer_config(config['optimizer_config'])
    return config


# --------------------------------------------------------------------------------------------
# Optimizer state
# --------------------------------------------------------------------------------------------

# graphc's state of each optimizer: the slots per trainable weight, in graphc's order
# (``[iterations] + slot0 for every weight + slot1 for every weight ...``), and the slot names
# tf.keras 2.11+ / Keras 3 give them, in their per-variable order.
_SLOTS = {
    'Adam': (('m', 'momentum'), ('v', 'velocity')),
    'Adamax': (('m', 'momentum'), ('u', 'norm')),
    'RMSprop': (('velocity',),),
    'Adagrad': (('accumulator',),),
    'Adadelta': (('accumulated_grad',), ('accumulated_delta_var',)),
    'SGD': (('m', 'momentum'),),
}


def _slot_of(name, slots):
    """The slot index a state name belongs to: tf.keras 2.11+ writes
    ``Adam/m/dense/kernel:0``, Keras 3 ``adam/dense_kernel_momentum``; None if unknown."""
    parts = name.split('/')
    for s, aliases in enumerate(slots):
        if len(parts) >= 3 and parts[1] in aliases:
            return s
    last = parts[-1].split(':')[0]
    for s, aliases in enumerate(slots):
        if any(len(a) > 1 and last.endswith('_' + a) for a in aliases):
            return s
    return None


def _by_slot(names, values, slots, n_params):
    """The file's slot arrays grouped by slot (each in the file's variable order), from
    their names; without usable names, slots interleaved per variable (what tf.keras 2.11+
    and Keras 3 write for Adam)."""
    n_slots = len(slots)
    if names is not None:
        groups = [[] for _ in slots]
        for name, value in zip(names, values):
            s = _slot_of(name, slots)
            if s is None:
                break
            groups[s].append(value)
        else:
            if all(len(g) == n_params for g in groups):
                return groups
    if len(values) != n_slots * n_params:
        return None
    return [[values[p * n_slots + s] for p in range(n_params)] for s in range(n_slots)]


def _is_new_layout(names):
    """tf.keras 2.11+ names its first state ``iteration:0``, Keras 3 ``<opt>/iteration``."""
    return bool(names) and names[0].split('/')[-1].split(':')[0] == 'iteration'


def optimizer_state_from_file(optimizer, names, values):
    """The optimizer state of tf.keras 2.11+ / Keras 3 (``iteration``, Keras 3's
    ``learning_rate``, then each trainable variable's slots) as graphc's state list, or None
    when the file's state is in another layout or does not fit.

    Args:
        optimizer: the graphc optimizer, with its state variables made.
        names: the file's state names (None for a ``.keras`` file, whose state is unnamed).
        values: the arrays, in the file's order.
    """
    if names is not None and not _is_new_layout(names):
        return None
    values = list(values)
    ours = [tuple(K.int_shape(w)) for w in optimizer.weights]
    cls = type(optimizer).__name__
    slots = _SLOTS.get(cls)
    if slots is None or not ours or not values:
        return None
    iteration = values[0]
    rest = values[1:]
    rest_names = names[1:] if names is not None else None
    if rest_names and rest_names[0].split('/')[-1].split(':')[0] == 'learning_rate':
        rest, rest_names = rest[1:], rest_names[1:]
    elif names is None and len(values) >= 2 and np.ndim(values[1]) == 0:
        rest = rest[1:]                                 # .keras: learning_rate second
    n_slots = len(slots)
    n_params = (len(ours) - 1) // n_slots
    if (len(ours) - 1) != n_slots * n_params:
        return None
    if cls == 'SGD' and not rest:                       # no momentum: no slots
        state = [iteration] + [np.zeros(s, dtype=K.floatx()) for s in ours[1:]]
    else:
        groups = _by_slot(rest_names, rest, slots, n_params)
        if groups is None:
            return None
        state = [iteration] + [v for group in groups for v in group]
    state = [np.asarray(v) for v in state]
    if any(tuple(v.shape) != s for v, s in zip(state[1:], ours[1:])):
        return None
    state[0] = np.asarray(state[0]).astype(K.dtype(optimizer.weights[0]))
    return state


# --------------------------------------------------------------------------------------------
# Keras 3's .keras zip
# --------------------------------------------------------------------------------------------

_ZIP_MEMBERS = ('config.json', 'metadata.json', 'model.weights.h5')
_JSON_LIMIT = 64 * 2 ** 20          # bytes of config.json / metadata.json
_H5_OVERHEAD = 16 * 2 ** 20         # bytes of an HDF5 file beyond its arrays' data


def is_keras_zip(filepath):
    """Whether ``filepath`` is a path to a zip file (Keras 3's ``.keras`` format)."""
    if not isinstance(filepath, (str, os.PathLike)):
        return False
    path = os.fspath(filepath)
    return os.path.isfile(path) and zipfile.is_zipfile(path)


def _check_zip_members(archive, path):
    """Refuse member names a Keras 3 file does not have (absolute paths, ``..``, others) and
    JSON members whose declared size is unreasonable, before anything is read."""
    seen = set()
    infos = {}
    for info in archive.infolist():
        name = info.filename
        parts = name.replace('\\', '/').split('/')
        if name.startswith(('/', '\\')) or '..' in parts or ':' in parts[0]:
            raise ValueError(f"{path}: the archive member name {name!r} points outside the "
                             f"archive; this is not a Keras file graphc will read")
        if name in seen:
            raise ValueError(f"{path}: the archive holds {name!r} twice")
        seen.add(name)
        if name in _ZIP_MEMBERS:
            infos[name] = info
        elif not (name == 'assets/' or name.startswith('assets/')):
            raise ValueError(f"{path}: unexpected member {name!r} in a .keras archive (a Keras "
                             f"3 file holds {', '.join(_ZIP_MEMBERS)} and assets/)")
    for name in ('config.json', 'model.weights.h5'):
        if name not in infos:
            raise ValueError(f"{path} is a zip archive without {name}: not a Keras 3 .keras "
                             f"file")
    for name in ('config.json', 'metadata.json'):
        if name in infos and infos[name].file_size > _JSON_LIMIT:
            raise ValueError(f"{path}: {name} declares {infos[name].file_size} bytes, more "
                             f"than the {_JSON_LIMIT} a model description may take")
    return infos


def _read_member(archive, info, limit, path):
    """A member's bytes, refusing more than ``limit`` bytes whatever the archive declares."""
    if info.file_size > limit:
        raise ValueError(f"{path}: {info.filename} declares {info.file_size} bytes, more than "
                         f"the {limit} this model can need")
    with archive.open(info) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path}: {info.filename} holds more than the {limit} bytes it may")
    return data


def _weights_limit(model):
    """The most bytes a model.weights.h5 for ``model`` can need: the weights, up to three
    optimizer slots per weight (Adam with amsgrad), and HDF5's own structure."""
    weights = sum(int(np.prod(K.int_shape(w))) * np.dtype(K.dtype(w)).itemsize
                  for w in model.weights)
    return 4 * weights + _H5_OVERHEAD


def load_keras_zip_weights(model, path, by_name=False, skip_mismatch=False):
    """``model.load_weights('m.keras')``: the weights of a Keras 3 ``.keras`` file (checked as
    by ``load_keras_zip``) into an existing model."""
    with zipfile.ZipFile(path) as archive:
        infos = _check_zip_members(archive, path)
        with _zip_weights_file(archive, infos['model.weights.h5'], _weights_limit(model),
                               path) as f:
            load_keras3_weights(model, f, f"The .keras file {path}", by_name=by_name,
                                skip_mismatch=skip_mismatch)


def _vars_groups(group):
    """``{layer name: h5 group}`` of the layers under a Keras 3 weights group."""
    out = {}
    layers = group.get('layers')
    if layers is None:
        return out
    for key in layers:
        g = layers[key]
        vars_group = g.get('vars')
        name = key
        if vars_group is not None and 'name' in vars_group.attrs:
            from .saving import _text
            name = _text(vars_group.attrs['name'])
        out[name] = g
    return out


# Sub-objects whose variables belong to a layer, in graphc's weight order.
_SUB_OBJECTS = ('cell', 'forward_layer', 'backward_layer', 'layer')


def _layer_datasets(group):
    """A Keras 3 layer's variables in order: its own ``vars/0..n``, then its sub-objects'."""
    out = []
    vars_group = group.get('vars')
    if vars_group is not None:
        keys = sorted(vars_group.keys(), key=lambda k: int(k) if k.isdigit() else 1 << 30)
        out += [vars_group[k] for k in keys]
    for key in _SUB_OBJECTS:
        if key in group:
            out += _layer_datasets(group[key])
    return out


def _collect_weights(model, group, where):
    """``[(layer, [datasets])]`` for the layers of ``model`` with weights, from a Keras 3
    weights group; nested models are followed."""
    from .engine.network import Network
    groups = _vars_groups(group)
    pairs = []
    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name not in groups:
            raise ValueError(f"{where} has no weights for the layer {layer.name!r} (it holds "
                             f"{sorted(groups)})")
        sub = groups[layer.name]
        if isinstance(layer, Network):
            pairs += _collect_weights(layer, sub, where)
        else:
            pairs.append((layer, _layer_datasets(sub)))
    return pairs


def load_keras3_weights(model, group, where, by_name=False, skip_mismatch=False):
    """Load a Keras 3 weights file (``model.weights.h5`` of a ``.keras`` zip, or a
    ``.weights.h5`` of ``save_weights``) into ``model``, after checking every array's shape
    and dtype against the model before any data is read."""
    from .saving import _check_dataset, _check_h5_tree
    _check_h5_tree(group, where)
    pairs = []
    if by_name:
        groups = _vars_groups(group)
        for layer in model.layers:
            if layer.weights and layer.name in groups:
                pairs.append((layer, _layer_datasets(groups[layer.name])))
    else:
        pairs = _collect_weights(model, group, where)
    assign = []
    for layer, dsets in pairs:
        symbolic = list(layer.weights)
        problem = None
        if len(dsets) != len(symbolic):
            problem = (f"layer {layer.name!r} expects {len(symbolic)} weights, but the file "
                       f"has {len(dsets)}")
        else:
            for w, d in zip(symbolic, dsets):
                _check_dataset(d, where)
                if tuple(d.shape) != tuple(K.int_shape(w)):
                    problem = (f"layer {layer.name!r}: weight {w.name!r} has shape "
                               f"{tuple(K.int_shape(w))}, but the saved weight has shape "
                               f"{tuple(d.shape)}")
                    break
        if problem:
            if skip_mismatch:
                warnings.warn(f"Skipping loading of weights: {problem}", stacklevel=3)
                continue
            raise ValueError(f"{where}: {problem}")
        assign.append((symbolic, dsets))
    K.batch_set_value([(w, np.asarray(d[()])) for symbolic, dsets in assign
                       for w, d in zip(symbolic, dsets)])
    return group.get('optimizer')


@contextlib.contextmanager
def _zip_weights_file(archive, info, limit, path):
    """The archive's model.weights.h5 as an open h5py File, read through a size-limited copy
    in memory."""
    from .saving import _h5py
    data = _read_member(archive, info, limit, path)
    with _h5py().File(io.BytesIO(data), 'r') as f:
        yield f


def load_keras_zip(path, custom_objects=None, compile=True, safe_mode=None):  # noqa: A002
    """Load a Keras 3 ``.keras`` file: the architecture (config.json), the weights
    (model.weights.h5) and, with ``compile=True``, the compile configuration and optimizer
    state. Member names and sizes are checked before anything is read."""
    from .saving import _compile_from_config, model_from_config
    where = f"The .keras file {path}"
    with zipfile.ZipFile(path) as archive:
        infos = _check_zip_members(archive, path)
        text = _read_member(archive, infos['config.json'], _JSON_LIMIT, path)
        try:
            config = json.loads(text)
        except ValueError as e:
            raise ValueError(f"{where}: config.json is not valid JSON ({e})") from None
        compile_config = config.get('compile_config') if isinstance(config, dict) else None
        model = model_from_config(config, custom_objects=custom_objects, safe_mode=safe_mode)
        with _zip_weights_file(archive, infos['model.weights.h5'], _weights_limit(model),
                               path) as f:
            optimizer_group = load_keras3_weights(model, f, where)
            if not compile or not compile_config:
                return model
            training = _training_from_compile_config(compile_config)
            if not training.get('optimizer_config'):
                training['optimizer_config'] = _optimizer_from_state(optimizer_group, where)
            _compile_from_config(model, training, custom_objects)
            if optimizer_group is not None and model.built:
                _load_keras3_optimizer(model, optimizer_group, where)
    return model


def _training_from_compile_config(compile_config):
    config = compile_config.get('config', compile_config) if isinstance(
        compile_config, dict) else {}
    training = {'loss': config.get('loss'), 'metrics': config.get('metrics'),
                'weighted_metrics': config.get('weighted_metrics'),
                'loss_weights': config.get('loss_weights'),
                'optimizer_config': config.get('optimizer')}
    if isinstance(training['optimizer_config'], str):
        training['optimizer_config'] = {'class_name': training['optimizer_config'],
                                        'config': {}}
    return normalize_training_config(training)


def _optimizer_from_state(group, where):
    """Keras 3.15 leaves the optimizer out of a .keras file's compile_config; its class is
    then read from the name of the saved state (``adam``, ``rm_sprop_1`` ...) and its
    learning rate from the state, with Keras 3's defaults for the rest (as Keras 3 itself
    would need)."""
    from . import optimizers
    from .saving import _check_dataset, _text
    vars_group = group.get('vars') if group is not None else None
    if vars_group is None or 'name' not in vars_group.attrs:
        warnings.warn(f"{where} names no optimizer; the model is compiled with RMSprop, "
                      f"Keras 3's default.", stacklevel=4)
        return {'class_name': 'RMSprop', 'config': {}}
    name = _text(vars_group.attrs['name'])
    base = name.rstrip('0123456789').rstrip('_').replace('_', '').lower()
    if base not in optimizers._LOWER:
        raise ValueError(f"{where}: the saved optimizer {name!r} is not one graphc has "
                         f"({sorted(optimizers._OBJECTS)}); load with compile=False")
    config = {}
    if '1' in vars_group:
        _check_dataset(vars_group['1'], where)
        if vars_group['1'].shape == ():
            config['learning_rate'] = float(vars_group['1'][()])
    warnings.warn(f"{where} holds the state of the optimizer {name!r} but not its "
                  f"configuration (Keras 3.x leaves it out): graphc uses "
                  f"{optimizers._LOWER[base]} with the saved learning rate and Keras 3's "
                  f"defaults for its other arguments.", stacklevel=4)
    if optimizers._LOWER[base] in ('Adam', 'Adamax', 'Nadam', 'RMSprop', 'Adagrad',
                                    'Adadelta'):
        config['epsilon'] = 1e-7
    return {'class_name': optimizers._LOWER[base], 'config': config}


def _load_keras3_optimizer(model, group, where):
    from .saving import _check_dataset
    if hasattr(model, '_make_train_function'):
        model._make_train_function()
    vars_group = group.get('vars')
    if vars_group is None:
        return
    keys = sorted(vars_group.keys(), key=lambda k: int(k) if k.isdigit() else 1 << 30)
    dsets = [vars_group[k] for k in keys]
    for d in dsets:
        _check_dataset(d, where)
    total = sum(int(np.prod(K.int_shape(w))) for w in model.optimizer.weights)
    if sum(int(np.prod(d.shape)) for d in dsets) > 2 * total + 16:
        warnings.warn(f"{where}: the saved optimizer state is larger than this model's "
                      f"optimizer can hold; the optimizer starts afresh.", stacklevel=3)
        return
    state = optimizer_state_from_file(model.optimizer, None, [d[()] for d in dsets])
    if state is None:
        warnings.warn(f"{where}: the saved optimizer state does not fit the "
                      f"{type(model.optimizer).__name__} optimizer of this model; the "
                      f"optimizer starts afresh.", stacklevel=3)
        return
    model.optimizer.set_weights(state)


# --------------------------------------------------------------------------------------------
# Writing Keras 3's .keras zip
# --------------------------------------------------------------------------------------------

def save_keras_zip(model, filepath, overwrite=True, include_optimizer=True):
    """Write ``model`` as a Keras 3 ``.keras`` file, atomically.

    Keras 3 rebuilds the model from config.json (graphc's Keras 2 config, in Keras 3's
    words) and reads model.weights.h5 by its layer paths. For a compiled model whose
    optimizer Keras 3 has with the same state (SGD, RMSprop, Adagrad, Adam without amsgrad,
    Adamax), the compile configuration and the optimizer state are written too, so training
    continues in Keras 3 (or in graphc); other optimizers are left out with a warning.
    """
    from .saving import _ask_to_overwrite, _file_mode
    path = os.fspath(filepath)
    if not overwrite and os.path.isfile(path) and not _ask_to_overwrite(path):
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Cannot save to {path}: the folder {folder} does not exist")
    config = _keras3_layer(model)
    compile_config, state = (None, None)
    if include_optimizer and getattr(model, 'optimizer', None) is not None:
        compile_config, state = _keras3_compile(model)
    if compile_config is not None:
        config['compile_config'] = compile_config
    from . import __version__
    metadata = {'keras_version': '3.0.0', 'graphc_version': __version__,
                'date_saved': time.strftime('%Y-%m-%d@%H:%M:%S')}
    weights = io.BytesIO()
    from .saving import _h5py
    with _h5py().File(weights, 'w') as f:
        _write_keras3_weights(model, f)
        opt_vars = f.create_group('optimizer').create_group('vars')
        for i, value in enumerate(state or []):
            opt_vars.create_dataset(str(i), data=np.asarray(value))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{os.path.basename(path)}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as fh:
            with zipfile.ZipFile(fh, 'w', compression=zipfile.ZIP_STORED) as archive:
                archive.writestr('metadata.json', json.dumps(metadata))
                archive.writestr('config.json', json.dumps(config, default=_json_default))
                archive.writestr('model.weights.h5', weights.getvalue())
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _json_default(obj):
    from .saving import _json_default as default
    return default(obj)


# graphc optimizer -> (Keras 3 class, {graphc config key: Keras 3 key}, extra Keras 3 config).
_KERAS3_OPTIMIZERS = {
    'SGD': ('SGD', {'momentum': 'momentum', 'nesterov': 'nesterov'}, {}),
    'RMSprop': ('RMSprop', {'rho': 'rho', 'epsilon': 'epsilon'}, {}),
    'Adagrad': ('Adagrad', {'epsilon': 'epsilon'}, {'initial_accumulator_value': 0.0}),
    'Adam': ('Adam', {'beta_1': 'beta_1', 'beta_2': 'beta_2', 'epsilon': 'epsilon'}, {}),
    'Adamax': ('Adamax', {'beta_1': 'beta_1', 'beta_2': 'beta_2', 'epsilon': 'epsilon'}, {}),
}


def _keras3_compile(model):
    """Keras 3's compile_config and optimizer state (``iteration``, ``learning_rate``, then
    each trainable weight's slots), or ``(None, None)`` with a warning when Keras 3 has no
    optimizer with the same state."""
    from .saving import _training_config
    optimizer = model.optimizer
    cls = type(optimizer).__name__
    opt_config = optimizer.get_config()
    if cls not in _KERAS3_OPTIMIZERS or opt_config.get('amsgrad') or opt_config.get('decay'):
        warnings.warn(f"The {cls} optimizer ({opt_config}) has no Keras 3 equivalent with the "
                      f"same state; the .keras file holds the architecture and weights only.",
                      stacklevel=4)
        return None, None
    name, keys, extra = _KERAS3_OPTIMIZERS[cls]
    k3 = {'name': name.lower(), 'learning_rate': opt_config.get('lr')}
    k3.update({theirs: opt_config[ours] for ours, theirs in keys.items() if ours in opt_config})
    k3.update(extra)
    for key in ('clipnorm', 'clipvalue'):
        if opt_config.get(key) is not None:
            k3[key] = opt_config[key]
    training = _training_config(model)
    loss = training.get('loss')
    if callable(loss):
        loss = loss.__name__
    compile_config = {
        'optimizer': {'module': 'keras.optimizers', 'class_name': name, 'config': k3,
                      'registered_name': None},
        'loss': loss, 'loss_weights': training.get('loss_weights'),
        'metrics': training.get('metrics') or None, 'weighted_metrics': None,
        'run_eagerly': False, 'steps_per_execution': 1, 'jit_compile': False}
    state = K.batch_get_value(list(optimizer.weights))
    if not state:                      # not trained yet: Keras 3 starts its state afresh
        return compile_config, None
    slots = len(_SLOTS[cls])
    if cls == 'SGD' and not float(K.get_value(optimizer.momentum)):
        slots = 0                      # Keras 3's SGD keeps no momentum slot at momentum 0
    n_params = (len(state) - 1) // len(_SLOTS[cls])
    out = [np.asarray(state[0], dtype='int64'),
           np.asarray(opt_config.get('lr'), dtype='float32')]
    for p in range(n_params):
        out += [state[1 + s * n_params + p] for s in range(slots)]
    return compile_config, out


def _snake(name):
    from .engine.base_layer import to_snake_case
    return to_snake_case(name)


def _write_keras3_weights(model, group):
    """Keras 3's layout: ``layers/<snake class name>[_k]/vars/<i>`` with the layer's name in
    the ``vars`` group's ``name`` attribute; an RNN's weights under ``cell``."""
    from .engine.network import Network
    layers = group.create_group('layers')
    counts = {}
    for layer in model.layers:
        base = _snake(type(layer).__name__)
        k = counts.get(base, 0)
        counts[base] = k + 1
        key = base if k == 0 else f'{base}_{k}'
        g = layers.create_group(key)
        if isinstance(layer, Network):
            g.create_group('vars').attrs['name'] = layer.name
            _write_keras3_weights(layer, g)
            continue
        _write_keras3_layer(layer, g)
    if 'vars' not in group:
        group.create_group('vars')


def _write_keras3_layer(layer, g):
    """One layer's variables where Keras 3 keeps them: its own ``vars``, an RNN's under
    ``cell``, a Bidirectional's under ``forward_layer`` / ``backward_layer``, a wrapper's
    under ``layer``."""
    own = g.create_group('vars')
    own.attrs['name'] = layer.name
    if hasattr(layer, 'forward_layer') and hasattr(layer, 'backward_layer'):
        _write_keras3_layer(layer.forward_layer, g.create_group('forward_layer'))
        _write_keras3_layer(layer.backward_layer, g.create_group('backward_layer'))
        return
    if hasattr(layer, 'layer') and not hasattr(layer, 'cell'):
        _write_keras3_layer(layer.layer, g.create_group('layer'))
        return
    if hasattr(layer, 'cell') and layer.weights:
        own = g.create_group('cell').create_group('vars')
        own.attrs['name'] = getattr(layer.cell, 'name', f'{layer.name}_cell')
    for i, value in enumerate(K.batch_get_value(list(layer.weights))):
        own.create_dataset(str(i), data=np.asarray(value))


def _keras3_object(obj, module):
    """A Keras 2 ``{'class_name', 'config'}`` of an initializer / regularizer / constraint
    in Keras 3's words."""
    if not isinstance(obj, dict) or 'class_name' not in obj:
        return obj
    config = dict(obj.get('config') or {})
    if obj['class_name'] == 'VarianceScaling' and config.get('distribution') == 'normal':
        config['distribution'] = 'truncated_normal'     # what Keras 2's 'normal' draws
    return {'module': module, 'class_name': obj['class_name'], 'config': config,
            'registered_name': None}


def _keras3_layer(layer):
    """graphc's config of ``layer`` as Keras 3's serialized layer."""
    from .engine.sequential import Sequential
    name = type(layer).__name__
    config = layer.get_config()
    if isinstance(layer, Sequential):
        layers = [_keras3_layer(x) for x in layer.layers]
        first = layer.layers[0] if layer.layers else None
        shape = getattr(first, 'batch_input_shape', None)
        if shape is None and layer.inputs:
            shape = K.int_shape(layer.inputs[0])
        if shape is not None:
            layers.insert(0, {'module': 'keras.layers', 'class_name': 'InputLayer',
                              'config': {'batch_shape': list(shape),
                                         'dtype': layer.inputs[0].dtype
                                         if layer.inputs else 'float32',
                                         'sparse': False, 'name': f'{layer.name}_input'},
                              'registered_name': None})
        return {'module': 'keras', 'class_name': 'Sequential',
                'config': {'name': layer.name, 'trainable': True, 'layers': layers},
                'registered_name': None}
    if hasattr(layer, '_input_coordinates') and 'layers' in config:
        # Keras 3 numbers a nested model's calls from 0; Keras 2 and graphc from 1 (node 0
        # is the model's own input-to-output node).
        from .engine.network import Network
        shift = {sub.name for sub in layer.layers if isinstance(sub, Network)}

        def renumber(entries):
            return [[e[0], e[1] - 1 if e[0] in shift else e[1]] + list(e[2:])
                    for e in entries]

        for entry, sub in zip(config['layers'], layer.layers):
            converted = _keras3_layer(sub)
            entry['class_name'] = converted['class_name']
            entry['config'] = converted['config']
            entry['module'] = converted['module']
            entry['registered_name'] = None
            entry['inbound_nodes'] = [renumber(node) for node in entry['inbound_nodes']]
        config['input_layers'] = renumber(config['input_layers'])
        config['output_layers'] = renumber(config['output_layers'])
        return {'module': 'keras.src.models.functional', 'class_name': 'Functional',
                'config': config, 'registered_name': None}
    config = dict(config)
    for key, value in config.items():
        if key.endswith('activation') and value in _KERAS3_CHANGED_ACTIVATIONS:
            raise ValueError(
                f"Layer {layer.name!r} ({name}): {key}={value!r} cannot be saved for Keras 3, "
                f"whose hard_sigmoid is clip(x/6 + 0.5) where Keras 2's (graphc's) is "
                f"clip(0.2*x + 0.5): the model would predict differently there. Save it as .h5 "
                f"(read by Keras 2 and tf-keras), or build the layer with 'sigmoid'.")
    if name == 'InputLayer':
        config['batch_shape'] = list(config.pop('batch_input_shape'))
        config.pop('sparse', None)
    else:
        config.pop('batch_input_shape', None)
    if name == 'Embedding':
        config.pop('input_length', None)
    if isinstance(config.get('layer'), dict) and hasattr(layer, 'layer'):
        config['layer'] = _keras3_layer(layer.layer)       # wrappers
    for key, value in list(config.items()):
        for suffix, module in (('_initializer', 'keras.initializers'),
                               ('_regularizer', 'keras.regularizers'),
                               ('_constraint', 'keras.constraints')):
            if key.endswith(suffix):
                config[key] = _keras3_object(value, module)
    return {'module': 'keras.layers', 'class_name': name, 'config': config,
            'registered_name': None}
