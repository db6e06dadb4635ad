"""graphc.utils.plot_model / model_to_dot keep Keras's import path and draw the layer graph."""
import shutil

import pytest

from graphc.layers import Dense
from graphc.models import Sequential
from graphc.utils import model_to_dot, plot_model


def small_model():
    return Sequential([Dense(4, input_shape=(3,), name="hidden"), Dense(2, name="out")])


def test_model_to_dot_names_layers_and_shapes():
    dot = model_to_dot(small_model(), show_shapes=True)
    assert "hidden: Dense" in dot and "out: Dense" in dot
    assert "(?, 3)" in dot and "(?, 2)" in dot
    assert "->" in dot


def test_plot_model_writes_a_png_or_says_how_to_get_graphviz(tmp_path):
    target = tmp_path / "model.png"
    if shutil.which("dot") is None:
        with pytest.raises(Exception, match="(?i)graphviz"):
            plot_model(small_model(), to_file=str(target))
        assert not target.exists()
    else:
        plot_model(small_model(), to_file=str(target), show_shapes=True)
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
