"""Core layers (Keras 2 ``keras.layers.core`` and ``Embedding``): Dense, Activation, Dropout,
Flatten, Reshape, Permute, RepeatVector, Lambda, ActivityRegularization, Masking, Embedding.
"""
from __future__ import annotations

import copy
import types as python_types

import numpy as np

from .. import activations, constraints, initializers, regularizers
from .. import backend as K
from ..engine.base_layer import InputSpec, Layer, shape_text
from ..utils.generic_utils import func_dump, func_load, has_arg


def _ser(module, obj):
    return module.serialize(obj) if obj is not None else None


def _first_layer_kwargs(kwargs, dim_name='input_dim'):
    """Keras's ``input_dim=n`` shortcut -> ``input_shape=(n,)``."""
    if 'input_shape' not in kwargs and dim_name in kwargs:
        kwargs['input_shape'] = (kwargs.pop(dim_name),)
    else:
        kwargs.pop(dim_name, None)
    return kwargs


class Dense(Layer):
    """A densely connected layer: ``activation(dot(input, kernel) + bias)``.

    Args:
        units: the output size.
        activation: an activation name or function (None: linear).
        use_bias: whether to add a bias vector.
        kernel_initializer, bias_initializer: initializers (names or objects).
        kernel_regularizer, bias_regularizer: penalties on the weights.
        activity_regularizer: a penalty on the output.
        kernel_constraint, bias_constraint: projections applied after updates.
        input_dim / input_shape: for the first layer of a model.

    Input shape ``(batch, ..., input_dim)``, output shape ``(batch, ..., units)``.

    Example:
        >>> model = Sequential([Dense(32, input_dim=16, activation='relu')])
    """

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer='glorot_uniform', bias_initializer='zeros',
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**_first_layer_kwargs(kwargs))
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense {self.name}: units must be a positive integer, got "
                             f"{units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Dense {self.name}: the last axis of the input must be known, got "
                             f"input shape {shape_text(input_shape)}")
        self.kernel = self.add_weight(name='kernel', shape=(input_dim, self.units),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight(name='bias', shape=(self.units,),
                                    initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.built = True

    def call(self, inputs):
        output = K.dot(inputs, self.kernel)
        if self.use_bias:
            output = K.bias_add(output, self.bias, data_format='channels_last')
        if self.activation is not None:
            output = self.activation(output)
        return output

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = {
            'units': self.units,
            'activation': activations.serialize(self.activation),
            'use_bias': self.use_bias,
            'kernel_initializer': initializers.serialize(self.kernel_initializer),
            'bias_initializer': initializers.serialize(self.bias_initializer),
            'kernel_regularizer': _ser(regularizers, self.kernel_regularizer),
            'bias_regularizer': _ser(regularizers, self.bias_regularizer),
            'activity_regularizer': _ser(regularizers, self.activity_regularizer),
            'kernel_constraint': _ser(constraints, self.kernel_constraint),
            'bias_constraint': _ser(constraints, self.bias_constraint),
        }
        return {**super().get_config(), **config}


class Activation(Layer):
    """Applies an activation function.

    Args:
        activation: a name ('relu', 'softmax', ...) or a function of a tensor.

    Example:
        >>> model.add(Activation('relu'))
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(),
                'activation': activations.serialize(self.activation)}


class Dropout(Layer):
    """Sets a random fraction ``rate`` of the inputs to 0 during training (scaling the rest
    by 1 / (1 - rate)); the identity at test time.

    Args:
        rate: the fraction to drop, in [0, 1).
        noise_shape: the shape of the binary mask, e.g. ``(batch_size, 1, features)`` to drop
            the same features at every timestep (None entries follow the input).
        seed: a random seed.

    Example:
        >>> model.add(Dropout(0.5))
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        try:
            rate = float(rate)
        except (TypeError, ValueError):
            raise ValueError(f"Dropout {self.name}: rate must be a number in [0, 1), got "
                             f"{rate!r}") from None
        if not 0. <= rate < 1.:
            raise ValueError(f"Dropout {self.name}: rate must be in [0, 1) (the fraction of "
                             f"inputs to drop), got {rate}")
        self.rate = rate
        self.noise_shape = tuple(noise_shape) if noise_shape is not None else None
        self.seed = seed
        self.supports_masking = True

    def _get_noise_shape(self, inputs):
        if self.noise_shape is None:
            return None
        if len(self.noise_shape) != inputs.ndim:
            shape = tuple(d if isinstance(d, int) else None for d in inputs.shape)
            raise ValueError(f"Dropout {self.name}: noise_shape {self.noise_shape} must have one "
                             f"entry per input axis (the input has shape {shape_text(shape)})")
        return self.noise_shape

    def call(self, inputs, training=None):
        if 0. < self.rate < 1.:
            noise_shape = self._get_noise_shape(inputs)

            def dropped_inputs():
                return K.dropout(inputs, self.rate, noise_shape, seed=self.seed)
            return K.in_train_phase(dropped_inputs, inputs, training=training)
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), 'rate': self.rate,
                'noise_shape': list(self.noise_shape) if self.noise_shape else None,
                'seed': self.seed}


class Flatten(Layer):
    """Flattens every axis but the batch axis: ``(batch, 3, 4) -> (batch, 12)``.

    Args:
        data_format: 'channels_last' or 'channels_first' (for channels_first inputs the
            order is first made channels_last, as in Keras).
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.input_spec = InputSpec(min_ndim=2)
        self.data_format = K.normalize_data_format(data_format)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if any(d is None for d in rest):
            raise ValueError(f'The shape of the input to "Flatten" is not fully defined (got '
                             f'{shape_text(tuple(rest))}). Make sure to pass a complete '
                             f'"input_shape" or "batch_input_shape" argument to the first '
                             f'layer in your model.')
        return (input_shape[0], int(np.prod(rest)))

    def call(self, inputs):
        if self.data_format == 'channels_first' and inputs.ndim > 2:
            perm = (0,) + tuple(range(2, inputs.ndim)) + (1,)
            inputs = K.permute_dimensions(inputs, perm)
        return K.batch_flatten(inputs)

    def get_config(self):
        return {**super().get_config(), 'data_format': self.data_format}


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (one entry may be -1).

    Args:
        target_shape: the shape of one sample, without the batch axis.

    Example:
        >>> Reshape((3, 4))(x)        # (batch, 12) -> (batch, 3, 4)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)

    def _fix_unknown_dimension(self, input_shape, output_shape):
        output_shape = list(output_shape)
        msg = (f"Reshape {self.name}: total size of the new array must be unchanged (input "
               f"shape {shape_text(tuple(input_shape))}, target shape "
               f"{shape_text(self.target_shape)})")
        known, unknown = 1, None
        for i, d in enumerate(output_shape):
            if d < 0:
                if unknown is not None:
                    raise ValueError(f"Reshape {self.name}: can only specify one unknown "
                                     f"dimension (-1) in target_shape {self.target_shape}")
                unknown = i
            else:
                known *= d
        original = int(np.prod(input_shape))
        if unknown is not None:
            if known == 0 or original % known != 0:
                raise ValueError(msg)
            output_shape[unknown] = original // known
        elif original != known:
            raise ValueError(msg)
        return tuple(output_shape)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if None in rest:
            return (input_shape[0],) + tuple(None if d < 0 else d for d in self.target_shape)
        return (input_shape[0],) + self._fix_unknown_dimension(rest, self.target_shape)

    def call(self, inputs):
        rest = tuple(d if isinstance(d, int) else None for d in inputs.shape[1:])
        target = self.target_shape
        if None not in rest:
            target = self._fix_unknown_dimension(rest, self.target_shape)
        if -1 not in target:
            return K.reshape(inputs, (-1,) + tuple(target))
        batch = inputs.shape[0]
        if isinstance(batch, int):
            return K.reshape(inputs, (batch,) + tuple(target))
        # The batch size and the -1 entry are both unknown, and the reshape op infers one
        # axis. When the other entries multiply to 1 (e.g. (-1, 1)), the sample is a flat
        # vector with size-1 axes around it.
        if int(np.prod([d for d in target if d >= 0])) != 1:
            raise ValueError(
                f"Reshape {self.name}: cannot reshape an input of shape "
                f"{shape_text(inputs.shape)} to {shape_text(self.target_shape)}: the batch size "
                f"and the -1 entry are both unknown here. Give the input a fully known sample "
                f"shape, or a fixed batch size (Input(batch_shape=...)).")
        out = K.batch_flatten(inputs)
        j = target.index(-1)
        for _ in target[j + 1:]:
            out = K.expand_dims(out, -1)
        for _ in target[:j]:
            out = K.expand_dims(out, 1)
        return out

    def get_config(self):
        return {**super().get_config(), 'target_shape': list(self.target_shape)}


class Permute(Layer):
    """Permutes the non-batch axes; ``dims`` counts from 1: ``Permute((2, 1))`` swaps the
    two axes of a ``(batch, a, b)`` input."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute {self.name}: dims must be a permutation of 1..."
                             f"{len(self.dims)} (the batch axis 0 is not permuted), got "
                             f"{self.dims}")
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def call(self, inputs):
        return K.permute_dimensions(inputs, (0,) + self.dims)

    def get_config(self):
        return {**super().get_config(), 'dims': list(self.dims)}


class RepeatVector(Layer):
    """Repeats a ``(batch, features)`` input ``n`` times: ``(batch, n, features)``."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def call(self, inputs):
        return K.repeat(inputs, self.n)

    def get_config(self):
        return {**super().get_config(), 'n': self.n}


def _module_name(fn):
    """The module a named function was defined in ('' when it cannot be found by name)."""
    module = getattr(fn, '__module__', None)
    qualname = getattr(fn, '__qualname__', '')
    if not module or '<' in qualname or '.' in qualname:   # lambdas, nested functions
        return ''
    return module


def _function_in_loaded_module(module_name, name):
    """``module_name.name`` when that module is already imported and holds a function of that
    name; else None. Never imports anything."""
    import sys
    module = sys.modules.get(module_name) if isinstance(module_name, str) else None
    fn = getattr(module, name, None) if module is not None and isinstance(name, str) else None
    return fn if callable(fn) else None


# graphc's own functions that a saved Lambda may name and safe mode may resolve:
# {(module, name): function}. Only graphc modules register here, and only modules under
# _IMPORTABLE_PREFIX are imported to find one (those define architectures, nothing runs on
# import), so a file never chooses the code that runs or the function that is called.
_LIBRARY_FUNCTIONS: dict = {}
_IMPORTABLE_PREFIX = 'graphc.applications.'


def register_lambda_function(fn):
    """Register a module-level function of graphc as safe for a ``Lambda`` to name: saved
    configs name it, and loading finds it again in safe mode, importing its graphc module
    when needed. Returns ``fn`` (use as a decorator)."""
    module = _module_name(fn)
    if not module.startswith('graphc.'):
        raise ValueError(f'register_lambda_function is for module-level functions of graphc; '
                         f'got {fn!r} (module {module or "unknown"!r}). Pass your own '
                         f'functions in custom_objects instead.')
    _LIBRARY_FUNCTIONS[(module, fn.__name__)] = fn
    return fn


def _library_function(module_name, name):
    """The registered graphc function ``module_name.name``, importing ``module_name`` first
    when it is a graphc.applications module not yet imported; None when there is none."""
    import importlib
    import sys
    if not (isinstance(module_name, str) and isinstance(name, str)):
        return None
    if module_name not in sys.modules and module_name.startswith(_IMPORTABLE_PREFIX) and \
            module_name.replace('.', '').isidentifier():
        try:
            importlib.import_module(module_name)
        except ImportError:
            return None
    return _LIBRARY_FUNCTIONS.get((module_name, name))


class Lambda(Layer):
    """Wraps an expression as a layer: ``Lambda(lambda x: x ** 2)``.

    Args:
        function: the function of the input tensor(s) (written with ``K``).
        output_shape: the output shape (tuple without batch axis) or a function of the input
            shape; default: computed from the function's output, else the input shape.
        mask: a mask, or a function ``(inputs, mask) -> mask``.
        arguments: extra keyword arguments passed to ``function``.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self.arguments = arguments if arguments else {}
        self.supports_masking = mask is not None
        self.mask = mask
        if output_shape is None or callable(output_shape):
            self._output_shape = output_shape
        else:
            self._output_shape = tuple(output_shape)

    def call(self, inputs, mask=None):
        arguments = dict(self.arguments)
        if has_arg(self.function, 'mask'):
            arguments['mask'] = mask
        out = self.function(inputs, **arguments)
        self._last_output = out
        return out

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            out = getattr(self, '_last_output', None)
            if out is not None and hasattr(out, 'shape'):
                return (input_shape[0] if not isinstance(input_shape, list) else
                        input_shape[0][0],) + tuple(
                    d if isinstance(d, int) else None for d in out.shape[1:])
            if isinstance(out, (list, tuple)):
                return [(None,) + tuple(d if isinstance(d, int) else None
                                        for d in o.shape[1:]) for o in out]
            return input_shape
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        batch = input_shape[0][0] if isinstance(input_shape, list) else input_shape[0]
        return (batch,) + tuple(self._output_shape)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def get_config(self):
        if isinstance(self.function, python_types.LambdaType) and \
                self.function.__name__ == '<lambda>':
            function, function_type = func_dump(self.function), 'lambda'
        else:
            function, function_type = self.function.__name__, 'function'
        extra = {}
        if function_type == 'function' and _module_name(self.function):
            extra['module'] = _module_name(self.function)
        if isinstance(self._output_shape, python_types.LambdaType) and \
                self._output_shape.__name__ == '<lambda>':
            output_shape, output_shape_type = func_dump(self._output_shape), 'lambda'
        elif callable(self._output_shape):
            output_shape, output_shape_type = self._output_shape.__name__, 'function'
            if _module_name(self._output_shape):
                extra['output_shape_module'] = _module_name(self._output_shape)
        else:
            output_shape = list(self._output_shape) if self._output_shape else None
            output_shape_type = 'raw'
        return {**super().get_config(), 'function': function, 'function_type': function_type,
                'output_shape': output_shape, 'output_shape_type': output_shape_type,
                'arguments': self.arguments, **extra}

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        """Rebuild from ``get_config()``. A ``lambda`` saved as bytecode is refused in safe
        mode (``safe_mode=None``: the enclosing setting, safe by default); a function saved by
        name is looked up in ``custom_objects`` and the registered custom objects."""
        from ..utils.safe_mode import SafeModeScope
        with SafeModeScope(safe_mode):
            return cls._from_config(config, custom_objects)

    @classmethod
    def _from_config(cls, config, custom_objects):
        from ..utils.generic_utils import get_custom_objects
        from ..utils.safe_mode import UnsafeDeserializationError, in_safe_mode
        config = copy.deepcopy(config)
        globs = dict(globals())
        globs.update(get_custom_objects())
        if custom_objects:
            globs.update(custom_objects)

        modules = {'function': config.pop('module', None),
                   'output_shape': config.pop('output_shape_module', None)}

        def load(value, kind, what):
            role = 'function' if what == 'function' else 'output_shape function'
            where = f"the {role} of Lambda layer {config.get('name')!r}"
            if isinstance(value, dict) and 'class_name' in value:
                # Keras 3 writes {'class_name': '__lambda__', 'config': {'value': (code,
                # defaults, closure)}} for a lambda and {'class_name': 'function',
                # 'config': name} for a named function.
                inner = value.get('config')
                if value.get('class_name') == '__lambda__':
                    kind = 'lambda'
                    value = inner.get('value', inner) if isinstance(inner, dict) else inner
                elif value.get('class_name') == 'function' and isinstance(inner, str):
                    modules[what] = value.get('module') or modules[what]
                    kind, value = 'function', inner
                else:
                    raise ValueError(f"{where}: cannot read the saved function {value!r}")
            if kind == 'function':
                if isinstance(value, str) and value in globs:
                    return globs[value]
                library = _library_function(modules[what], value)
                if library is not None:            # graphc's own registered function
                    return library
                # A named function is found where it was defined, if that module is already
                # imported (the file only names it: nothing is imported or run because of it).
                # Not in safe mode: a file could then call any function of any imported module
                # with arguments of its choosing (Keras 3's CVE-2025-1550 and its sequels), so
                # safe mode only resolves custom and registered objects.
                if modules[what] and in_safe_mode():
                    raise UnsafeDeserializationError(
                        f"Lambda layer {config.get('name')!r}: the file names the function "
                        f"{value!r} of module {modules[what]!r}. In safe mode a saved function "
                        f"is only looked up among custom objects: pass it in custom_objects "
                        f"(or register it with custom_object_scope / get_custom_objects()), "
                        f"or, if you trust this file, pass safe_mode=False to look it up in "
                        f"its module (or call graphc.config.enable_unsafe_deserialization()).")
                found = _function_in_loaded_module(modules[what], value)
                if found is not None:
                    return found
                module = f" (module {modules[what]!r})" if modules[what] else ""
                raise ValueError(f"Lambda layer {config.get('name')}: unknown function "
                                 f"{value!r}{module}; import the module that defines it before "
                                 f"loading, or pass it in custom_objects")
            if kind == 'lambda':
                if isinstance(value, dict):        # {'code': ..., 'defaults': ..., ...}
                    value = (value.get('code'), value.get('defaults'), value.get('closure'))
                return func_load(value, globs=globs, what=where)
            return value

        config['function'] = load(config['function'], config.pop('function_type', 'function'),
                                  'function')
        out_type = config.pop('output_shape_type', 'raw')
        config['output_shape'] = load(config.get('output_shape'), out_type, 'output_shape')
        return cls(**config)


class ActivityRegularization(Layer):
    """The identity, adding ``l1 * sum(|x|) + l2 * sum(x**2)`` of its input to the loss."""

    def __init__(self, l1=0., l2=0., **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.l1 = float(l1)
        self.l2 = float(l2)
        self.activity_regularizer = regularizers.L1L2(l1=self.l1, l2=self.l2)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), 'l1': self.l1, 'l2': self.l2}


class Masking(Layer):
    """Masks timesteps whose features all equal ``mask_value``: later layers (and the loss)
    skip them. Output = input with masked timesteps zeroed."""

    def __init__(self, mask_value=0., **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.mask_value = mask_value

    def compute_mask(self, inputs, mask=None):
        return K.any(K.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs):
        boolean_mask = K.any(K.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        return inputs * K.cast(boolean_mask, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), 'mask_value': self.mask_value}


class Embedding(Layer):
    """Maps integer indices to dense vectors: ``(batch, length) -> (batch, length,
    output_dim)``.

    Args:
        input_dim: the vocabulary size (largest index + 1).
        output_dim: the vector size.
        embeddings_initializer, embeddings_regularizer, embeddings_constraint: for the
            ``(input_dim, output_dim)`` matrix.
        activity_regularizer: a penalty on the output.
        mask_zero: index 0 is padding and is masked (then input_dim must count it).
        input_length: the sequence length (needed before Flatten / Dense).

    Example:
        >>> model.add(Embedding(1000, 64, input_length=10))
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer='uniform',
                 embeddings_regularizer=None, activity_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, input_length=None, **kwargs):
        if 'input_shape' not in kwargs:
            kwargs['input_shape'] = (input_length,) if input_length else (None,)
        super().__init__(**kwargs)
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero
        self.input_length = input_length

    def build(self, input_shape):
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          name='embeddings',
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint,
                                          dtype=K.floatx())
        self.built = True

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return K.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        if self.input_length is None:
            return tuple(input_shape) + (self.output_dim,)
        lengths = self.input_length if isinstance(self.input_length, (list, tuple)) \
            else [self.input_length]
        if len(lengths) != len(input_shape) - 1:
            raise ValueError(f"Embedding {self.name}: input_length {self.input_length} does not "
                             f"match the input shape {shape_text(tuple(input_shape))}")
        for want, got in zip(lengths, input_shape[1:]):
            if want is not None and got is not None and want != got:
                raise ValueError(f"Embedding {self.name}: input_length is {self.input_length}, "
                                 f"but received input has shape "
                                 f"{shape_text(tuple(input_shape))}")
        return (input_shape[0],) + tuple(lengths) + (self.output_dim,)

    def call(self, inputs):
        if not inputs.dtype.startswith('int'):
            inputs = K.cast(inputs, 'int32')
        return K.gather(self.embeddings, inputs)

    def get_config(self):
        config = {
            'input_dim': self.input_dim, 'output_dim': self.output_dim,
            'embeddings_initializer': initializers.serialize(self.embeddings_initializer),
            'embeddings_regularizer': _ser(regularizers, self.embeddings_regularizer),
            'activity_regularizer': _ser(regularizers, self.activity_regularizer),
            'embeddings_constraint': _ser(constraints, self.embeddings_constraint),
            'mask_zero': self.mask_zero, 'input_length': self.input_length,
        }
        return {**super().get_config(), **config}


def __getattr__(name):
    # Keras 2 defines SpatialDropout1D/2D/3D in keras.layers.core; graphc keeps them with the
    # other noise layers (which import Dropout from here), so they load on first access.
    if name in ('SpatialDropout1D', 'SpatialDropout2D', 'SpatialDropout3D'):
        from . import noise
        return getattr(noise, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
