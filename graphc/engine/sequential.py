"""Sequential: a linear stack of layers (Keras 2's ``keras.models.Sequential``)."""
from __future__ import annotations

import copy

import numpy as np

from ..utils.sparse_utils import issparse
from .base_layer import Layer
from .input_layer import Input, InputLayer
from .training import Model


class Sequential(Model):
    """A linear stack of layers.

    The first layer gives the input shape (``input_shape=``, ``input_dim=`` or
    ``batch_input_shape=``); without one, the model is built on the first data it sees
    (fit / evaluate / predict) or by ``build(input_shape)``.

    Args:
        layers: an optional list of layers to add.
        name: the model's name.

    Example:
        >>> model = Sequential([Dense(32, input_shape=(784,)), Activation('relu'),
        ...                     Dense(10), Activation('softmax')])
        >>> model.compile(optimizer='sgd', loss='categorical_crossentropy')
    """

    def __init__(self, layers=None, name=None):
        super().__init__(name=name)
        self._seq_layers = []
        self._seq_outputs = []
        self._build_input_shape = None
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self):
        """The added layers (the implicit input layer is not listed, as in Keras)."""
        return list(self._seq_layers)

    def add(self, layer):
        """Add a layer on top of the stack.

        Raises:
            TypeError if ``layer`` is not a Layer; ValueError if it has several outputs.
        """
        if not isinstance(layer, Layer):
            raise TypeError(f"The added layer must be an instance of class Layer. Found: "
                            f"{layer!r}")
        if isinstance(layer, InputLayer):
            if self._seq_layers or self.inputs:
                raise ValueError("An InputLayer can only be the first layer of a Sequential "
                                 "model")
            self.inputs = [layer.output]
            self._seq_outputs = []
            self._rebuild(self.inputs[0])
            return
        if not self.inputs:
            batch_shape = self._first_layer_batch_shape(layer)
            if batch_shape is not None:
                dtype = getattr(layer, 'dtype', None)
                if isinstance(layer, Model):
                    dtype = layer.inputs[0].dtype
                x = Input(batch_shape=batch_shape, dtype=dtype, name=f'{layer.name}_input')
                self.inputs = [x]
        if self.inputs:
            previous = self._seq_outputs[-1] if self._seq_outputs else self.inputs[0]
            out = layer(previous)
            if isinstance(out, (list, tuple)):
                raise ValueError(f"All layers in a Sequential model should have a single output "
                                 f"tensor; {layer.name} has {len(out)}. For multi-output "
                                 f"layers, use the functional API.")
            self._seq_layers.append(layer)
            self._seq_outputs.append(out)
            self._rebuild(out)
        else:
            self._seq_layers.append(layer)
            self.built = False

    @staticmethod
    def _first_layer_batch_shape(layer):
        if isinstance(layer, Model) and layer.built and layer._is_graph_network:
            if len(layer.inputs) != 1:
                raise ValueError("A model with several inputs cannot be the first layer of a "
                                 "Sequential model")
            return layer._input_layers[0].batch_input_shape
        shape = getattr(layer, 'batch_input_shape', None)
        return tuple(shape) if shape is not None else None

    def _rebuild(self, output):
        # Drop the previous self-node (inputs -> outputs); keep calls on other tensors.
        self._inbound_nodes = [n for n in self._inbound_nodes if n.inbound_layers]
        self.outputs = [output]
        self._set_graph(self.inputs, [output])
        self._train_function = self._test_function = self._predict_function = None
        if getattr(self, '_compiled', False) and not getattr(self, '_compile_pending', True):
            self._compile_pending = True   # recompile the training graph for the new stack

    def pop(self):
        """Remove the last layer.

        Raises:
            TypeError if the model has no layers.
        """
        if not self._seq_layers:
            raise TypeError('There are no layers in the model.')
        self._seq_layers.pop()
        if self._seq_outputs:
            self._seq_outputs.pop()
        if self._seq_outputs:
            self._rebuild(self._seq_outputs[-1])
        else:
            self.inputs, self.outputs, self.built = [], [], False
            self._is_graph_network = False

    def build(self, input_shape=None):
        """Build the model for inputs of ``input_shape`` (batch axis first, may be None)."""
        if self.built and self.inputs:
            return
        if input_shape is None:
            raise ValueError("You must provide an `input_shape` argument to build a Sequential "
                             "model without an input shape on its first layer")
        if not self._seq_layers:
            raise TypeError("Sequential model cannot be built: model is empty. Add some layers "
                            "first.")
        input_shape = tuple(None if d is None else int(d) for d in input_shape)
        self._build_input_shape = input_shape
        first = self._seq_layers[0]
        x = Input(batch_shape=input_shape, dtype=getattr(first, 'dtype', None),
                  name=f'{first.name}_input')
        layers = self._seq_layers
        self._seq_layers, self._seq_outputs = [], []
        self.inputs = [x]
        for layer in layers:
            self.add(layer)

    def _build_from_data(self, x):
        if isinstance(x, dict):
            x = next(iter(x.values()))
        if isinstance(x, (list, tuple)):
            if len(x) != 1 or not hasattr(x[0], 'shape'):
                x = np.asarray(x)
            else:
                x = x[0]
        if not issparse(x):   # a scipy.sparse matrix has its shape already
            x = np.asarray(x)
        if x.ndim == 1:
            x = x[:, None]
        self.build((None,) + x.shape[1:])

    # -- config -------------------------------------------------------------------------------
    def get_config(self):
        """``{'name': ..., 'layers': [{'class_name', 'config'} ...]}`` (Keras 2.2 layout)."""
        layers = [{'class_name': type(layer).__name__, 'config': layer.get_config()}
                  for layer in self._seq_layers]
        config = {'name': self.name, 'layers': copy.deepcopy(layers)}
        if self._build_input_shape:
            config['build_input_shape'] = self._build_input_shape
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        """Rebuild from ``get_config()`` (also accepts Keras 2.0/2.1's plain list of layer
        configs). ``safe_mode`` as in ``Model.from_config``: a Lambda's saved bytecode is
        refused unless ``safe_mode=False`` (or unsafe deserialisation was enabled)."""
        from ..utils.safe_mode import SafeModeScope
        with SafeModeScope(safe_mode):
            return cls._from_config(config, custom_objects)

    @classmethod
    def _from_config(cls, config, custom_objects):
        from ..layers import deserialize as deserialize_layer
        if isinstance(config, list):
            name, layer_configs, build_shape = None, config, None
        else:
            name = config.get('name')
            layer_configs = config['layers']
            build_shape = config.get('build_input_shape')
        model = cls(name=name)
        for conf in layer_configs:
            model.add(deserialize_layer(conf, custom_objects=custom_objects))
        if not model.inputs and build_shape:
            model.build(build_shape)
        return model

    # -- Keras 2.0 defaults and helpers -------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=10, verbose=1, callbacks=None,
            validation_split=0., validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            **kwargs):
        """Train the model; as ``Model.fit`` but ``epochs`` defaults to 10 (Keras 2.0's
        documented Sequential signature)."""
        return super().fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                           callbacks=callbacks, validation_split=validation_split,
                           validation_data=validation_data, shuffle=shuffle,
                           class_weight=class_weight, sample_weight=sample_weight,
                           initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                           validation_steps=validation_steps, **kwargs)

    def predict_proba(self, x, batch_size=32, verbose=0):
        """The model's output (probabilities), as ``predict``."""
        return self.predict(x, batch_size, verbose)

    def predict_classes(self, x, batch_size=32, verbose=0):
        """Class indices: argmax of the output, or output > 0.5 for one unit."""
        proba = self.predict(x, batch_size=batch_size, verbose=verbose)
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype('int32')
