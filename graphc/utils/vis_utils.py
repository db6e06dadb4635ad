"""Model pictures (Keras 2's ``keras.utils.vis_utils``): ``plot_model`` and ``model_to_dot``.

They live in ``graphc.inspect`` with the other graph pictures; this module keeps Keras's import
paths working (``from graphc.utils import plot_model``).
"""


def model_to_dot(model, show_shapes=False, show_layer_names=True, rankdir="TB"):
    """DOT text of a model's layer graph. See ``graphc.inspect.model_to_dot``."""
    from ..inspect import model_to_dot as impl
    return impl(model, show_shapes, show_layer_names, rankdir)


def plot_model(model, to_file="model.png", show_shapes=False, show_layer_names=True,
               rankdir="TB"):
    """Draw a model to ``to_file`` with Graphviz (a clear error says how to install it when
    the ``dot`` program is missing). See ``graphc.inspect.plot_model``."""
    from ..inspect import plot_model as impl
    return impl(model, to_file, show_shapes, show_layer_names, rankdir)
