"""Input and InputLayer: the entry points of a functional model.

``Input(shape=(784,))`` returns a placeholder tensor whose batch axis is the symbol ``"B"``
(shown as ``None`` in Keras-style shapes), produced by an ``InputLayer``.
"""
from __future__ import annotations

from .. import backend as K
from .base_layer import Layer, Node, static_shape


class InputLayer(Layer):
    """The layer that produces a model's input placeholder.

    Args:
        input_shape: the shape of one sample (no batch axis).
        batch_size: a fixed batch size, or None (any batch size).
        batch_input_shape: the full shape including the batch axis (instead of the above).
        dtype: the placeholder's dtype (default floatx).
        input_tensor: an existing tensor to use instead of a new placeholder.
        sparse: declare the input sparse: its placeholder is dense (graphc has no sparse
            tensors) and remembers it (``K.is_sparse``); scipy.sparse matrices given to fit /
            evaluate / predict are densified one batch at a time. Kept in the config.
        name: the layer's name.

    Example:
        >>> layer = InputLayer(input_shape=(784,))
        >>> layer.output.shape
        ('B', 784)
    """

    def __init__(self, input_shape=None, batch_size=None, batch_input_shape=None, dtype=None,
                 input_tensor=None, sparse=False, name=None):
        if not name:
            name = f'input_{K.get_uid("input")}'
        super().__init__(dtype=dtype, name=name)
        self.trainable = False
        self.built = True
        self.sparse = bool(sparse)
        if input_shape is not None and batch_input_shape is not None:
            raise ValueError(f"InputLayer {name}: give only one of input_shape and "
                             f"batch_input_shape, not both")
        if input_tensor is not None and batch_input_shape is None:
            batch_input_shape = static_shape(input_tensor)
        if batch_input_shape is None:
            if input_shape is None:
                raise ValueError(f"InputLayer {name} needs an input_shape or batch_input_shape "
                                 f"argument (the shape of one sample, e.g. input_shape=(784,))")
            if isinstance(input_shape, int):
                input_shape = (input_shape,)
            batch_input_shape = (batch_size,) + tuple(input_shape)
        batch_input_shape = tuple(None if d is None else int(d) for d in batch_input_shape)
        self.batch_input_shape = batch_input_shape
        self.dtype = dtype or K.floatx()
        self.is_placeholder = input_tensor is None
        if input_tensor is None:
            input_tensor = K.placeholder(shape=batch_input_shape, dtype=self.dtype,
                                         sparse=self.sparse, name=name)
        input_tensor._uses_learning_phase = False
        input_tensor._keras_history = (self, 0, 0)
        input_tensor._keras_shape = batch_input_shape
        input_tensor._keras_mask = None
        Node(self, inbound_layers=[], node_indices=[], tensor_indices=[],
             input_tensors=[input_tensor], output_tensors=[input_tensor], input_masks=[None],
             output_masks=[None], input_shapes=[batch_input_shape],
             output_shapes=[batch_input_shape])

    def get_config(self):
        return {'batch_input_shape': self.batch_input_shape, 'dtype': self.dtype,
                'sparse': self.sparse, 'name': self.name}


def Input(shape=None, batch_shape=None, name=None, dtype=None, sparse=False, tensor=None):
    """A symbolic input tensor of a functional model (``keras.layers.Input``).

    Args:
        shape: the shape of one sample, without the batch axis (e.g. ``(784,)``).
        batch_shape: the full shape with the batch axis (e.g. ``(32, 784)``), instead.
        name: a name (unique in the model; fit / predict accept dicts keyed by it).
        dtype: default floatx ('float32').
        sparse: declare the input sparse (``K.is_sparse(x)`` is True). graphc has no sparse
            tensors: the input is dense, and scipy.sparse matrices (CSR, CSC, COO ...) given
            to fit / evaluate / predict / *_on_batch are densified one batch at a time
            (rows sliced first, so the whole matrix is never densified). numpy arrays work
            too.
        tensor: an existing tensor to wrap.
    Returns:
        The input tensor.

    Example:
        >>> x = Input(shape=(784,))
        >>> y = Dense(10)(x)
        >>> s = Input(shape=(20000,), sparse=True)   # e.g. a bag of words
        >>> model = Model(s, Dense(2)(s))
        >>> model.predict(scipy.sparse.random(100, 20000, density=0.001, format='csr'))
    """
    if shape is None and batch_shape is None and tensor is None:
        raise ValueError("Please provide to Input either a `shape` or a `batch_shape` argument. "
                         "Note that `shape` does not include the batch dimension.")
    if shape is not None and batch_shape is None:
        if isinstance(shape, int):
            shape = (shape,)
        batch_shape = (None,) + tuple(shape)
    layer = InputLayer(batch_input_shape=batch_shape, name=name, dtype=dtype, sparse=sparse,
                       input_tensor=tensor)
    return layer._inbound_nodes[0].output_tensors[0]
