"""Utilities of the Keras 2 API (``keras.utils``).

The names below are loaded from their submodules on first use (PEP 562), so importing
``graphc.utils.generic_utils`` (which every layer does) does not import the HTTP and archive
code of ``data_utils`` or the graphviz glue of ``vis_utils``.

Example:
    >>> from graphc.utils import to_categorical
    >>> to_categorical([1], 2).tolist()
    [[0.0, 1.0]]
"""
import importlib as _importlib

# public name -> submodule that defines it
_WHERE = {
    'Sequence': 'data_utils', 'get_file': 'data_utils',
    'CustomObjectScope': 'generic_utils', 'Progbar': 'generic_utils',
    'custom_object_scope': 'generic_utils', 'deserialize_keras_object': 'generic_utils',
    'get_custom_objects': 'generic_utils', 'serialize_keras_object': 'generic_utils',
    'normalize': 'np_utils', 'to_categorical': 'np_utils',
    'model_to_dot': 'vis_utils', 'plot_model': 'vis_utils',
    'GeneratorEnqueuer': 'data_utils', 'OrderedEnqueuer': 'data_utils',
    'HDF5Matrix': 'io_utils', 'convert_all_kernels_in_model': 'layer_utils',
    'get_source_inputs': 'layer_utils', 'print_summary': 'layer_utils',
    'multi_gpu_model': 'multi_gpu_utils',
}
_SUBMODULES = ('data_utils', 'generic_utils', 'np_utils', 'vis_utils', 'conv_utils',
               'layer_utils', 'io_utils', 'multi_gpu_utils', 'enqueuers', 'safe_mode')

__all__ = [
    'to_categorical', 'normalize', 'get_file', 'Sequence', 'Progbar', 'custom_object_scope',
    'CustomObjectScope', 'get_custom_objects', 'serialize_keras_object',
    'deserialize_keras_object', 'plot_model', 'model_to_dot', 'GeneratorEnqueuer',
    'OrderedEnqueuer', 'HDF5Matrix', 'convert_all_kernels_in_model', 'get_source_inputs',
    'print_summary', 'multi_gpu_model',
]


def __getattr__(name):
    sub = _WHERE.get(name)
    if sub is None:
        if name in _SUBMODULES:
            return _importlib.import_module(f'{__name__}.{name}')
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(f'{__name__}.{sub}'), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
