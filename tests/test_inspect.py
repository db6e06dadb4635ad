"""graphc.inspect: golden-file dumps, stages, kernels, JSON, DOT, rendering, Jupyter views."""
import json
import os
import re
import runpy

import numpy as np
import pytest

from graphc import inspect as gi
from graphc.ir.graph import Graph

HERE = os.path.dirname(__file__)
GOLDEN = os.path.join(HERE, "golden")
SCRIPT = os.path.join(HERE, "cli_scripts", "tiny_mlp.py")
UPDATE = os.environ.get("GRAPHC_UPDATE_GOLDEN", "") not in ("", "0")


def tiny_mlp():
    """The training step of tests/cli_scripts/tiny_mlp.py (provenance: tiny_mlp.py:N)."""
    from graphc import backend as K
    K.clear_session()                    # variable names do not depend on earlier tests
    return runpy.run_path(SCRIPT, run_name="tiny_mlp")["build"]()


def normalise(text: str) -> str:
    # fused bodies are named after a global node counter; number them in order of appearance
    names = {}
    return re.sub(r"fused_\d+", lambda m: names.setdefault(m.group(), f"fused_{len(names)}"),
                  text)


def check_golden(name: str, text: str):
    path = os.path.join(GOLDEN, name)
    text = normalise(text) + "\n"
    if UPDATE:
        with open(path, "w") as f:
            f.write(text)
    with open(path) as f:
        expected = f.read()
    assert text == expected, (f"dump differs from {path}; if the change is intended, "
                              f"regenerate with GRAPHC_UPDATE_GOLDEN=1")


def test_dump_before_fusion_matches_golden():
    check_golden("mlp_before_fusion.txt", gi.dump(tiny_mlp()))


def test_dump_after_fusion_matches_golden():
    check_golden("mlp_after_fusion.txt", gi.dump(tiny_mlp(), after="fuse", kernels=True))


def test_dump_carries_layer_and_user_line():
    text = gi.dump(tiny_mlp())
    assert re.search(r"= dot\(x, dense_1/W\)\s+# dense_1 @ tiny_mlp.py:\d+", text)


def test_after_fuse_has_fused_nodes_with_bodies_and_fewer_nodes():
    f = tiny_mlp()
    fused = gi.optimized(f, after="fuse")
    assert len(fused) < len(f.graph)
    ks = gi.kernels(fused)
    assert ks and all(len(k["ops"]) >= 2 for k in ks)
    assert any("dense_1" in layer for k in ks for layer in k["layers"])
    assert "body = graph fused_" in gi.dump(f, after="fuse")


def test_stage_names_number_repeated_passes():
    assert gi.stage_names(["dce", "cse", "dce"]) == ["input", "dce", "cse", "dce#2"]


def test_after_repeated_pass_means_its_last_run_and_hash_selects_one():
    f = tiny_mlp()
    all_stages = gi.stages(f, pipeline=["cse", "fuse", "cse"])
    assert [s[0] for s in all_stages] == ["input", "cse", "fuse", "cse#2"]
    last = gi.dump(f, after="cse", pipeline=["cse", "fuse", "cse"])
    first = gi.dump(f, after="cse#1", pipeline=["cse", "fuse", "cse"])
    assert "fused(" in last and "fused(" not in first


def test_unknown_pass_names_the_valid_ones():
    with pytest.raises(gi.InspectError, match=r"unknown pass 'fusion'.*fuse"):
        gi.dump(tiny_mlp(), after="fusion")


def test_pass_not_in_pipeline_is_an_error():
    with pytest.raises(gi.InspectError, match="not in this pipeline"):
        gi.dump(tiny_mlp(), after="fuse", pipeline="fast_compile")


def test_unknown_format_and_object_are_errors():
    with pytest.raises(gi.InspectError, match="valid formats"):
        gi.dump(tiny_mlp(), format="yaml")
    with pytest.raises(gi.InspectError, match="holds no graphc graph"):
        gi.graph_of(42)


def test_dump_all_shows_every_stage():
    text = gi.dump_all(tiny_mlp(), pipeline="fast_run")
    for name in gi.stage_names("fast_run")[1:]:
        assert f" after {name} (" in text
    assert "as built" in text


def test_json_names_match_and_every_reference_is_defined_first():
    f = tiny_mlp()
    doc = json.loads(gi.dump(f, after="fuse", format="json"))
    assert [i["name"] for i in doc["inputs"]] == ["x", "y"]
    defined = {i["name"] for i in doc["inputs"]} | {v["name"] for v in doc["variables"]}
    defined |= {c["name"] for c in doc["constants"]}
    for node in doc["nodes"]:
        for ref in node["inputs"]:
            assert ref in defined or not ref.startswith("%"), ref
        defined |= {o["name"] for o in node["outputs"]}
    assert all(o in defined for o in doc["outputs"])
    assert len(doc["updates"]) == 4
    bodies = [n for n in doc["nodes"] if n["op"] == "fused"]
    assert bodies and all(n["body"]["nodes"] for n in bodies)
    assert len(doc["nodes"]) == len(gi.optimized(f, after="fuse"))


def test_dot_draws_fused_kernels_as_clusters_with_typed_edges():
    g = gi.optimized(tiny_mlp(), after="fuse")
    dot = gi.to_dot(g)
    assert dot.startswith('digraph "train_step" {') and dot.rstrip().endswith("}")
    assert dot.count("subgraph cluster_") == len(gi.kernels(g))
    assert 'label="f32[B,8]"' in dot
    assert dot.count("{") == dot.count("}")
    flat = gi.to_dot(g, expand_fused=False, shapes=False)
    assert "subgraph" not in flat and 'label="f32[B,8]"' not in flat


def test_dot_of_unfused_graph_has_outputs_and_updates():
    dot = gi.to_dot(tiny_mlp())
    assert "output 0" in dot and dot.count("update ") == 4


@pytest.mark.skipif(not gi.graphviz_available(), reason="Graphviz 'dot' is not installed")
def test_render_png_and_svg(tmp_path):
    f = tiny_mlp()
    png = gi.render(f, str(tmp_path / "g.png"), after="fuse")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and (tmp_path / "g.png").read_bytes() == png
    svg = gi.render(gi.to_dot(gi.optimized(f)), format="svg")
    assert b"<svg" in svg and b"cluster" in svg


def test_render_without_graphviz_says_how_to_install(monkeypatch):
    import builtins
    monkeypatch.setattr(gi.shutil, "which", lambda name: None)
    real_import = builtins.__import__

    def no_pydot(name, *a, **k):
        if name == "pydot":
            raise ImportError("no pydot")
        return real_import(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", no_pydot)
    with pytest.raises(gi.GraphvizNotFound, match="apt-get install graphviz"):
        gi.render(tiny_mlp(), format="svg")
    view = gi.show(tiny_mlp())
    assert view._repr_svg_() is None
    assert "<pre>" in view._repr_html_() and "graphviz" in view._repr_html_()


def test_render_rejects_unknown_picture_format():
    with pytest.raises(gi.InspectError, match="svg, png, pdf"):
        gi.render(tiny_mlp(), format="gif")


def test_show_for_jupyter():
    view = gi.show(tiny_mlp(), after="fuse")
    html = view._repr_html_()
    assert ("<svg" in html) == gi.graphviz_available()
    assert "train_step" in str(view)


def test_to_networkx_annotates_fused_bodies():
    g = gi.to_networkx(tiny_mlp(), after="fuse")
    fused = [d for _, d in g.nodes(data=True) if d["op"] == "fused"]
    assert fused and all(len(d["body_ops"]) >= 2 for d in fused)


def test_graph_of_values_and_bare_graph():
    f = tiny_mlp()
    g = gi.graph_of(f.outputs[0])
    assert isinstance(g, Graph) and [v.node.attrs["name"] for v in g.inputs] == ["x", "y"]
    assert gi.graph_of(f.graph) is f.graph


def test_generated_source_is_the_functions_own():
    from graphc import backend as K
    x = K.placeholder(shape=(None, 4), name="x")
    f = K.function([x], [K.tanh(x) * 2.0], name="small")
    src = gi.generated_source(f)
    assert "@njit" in src and "def seg0" in src
    assert src == f.executor.source
    out = f([np.zeros((2, 4), np.float32)])[0]
    assert out.shape == (2, 4)


def test_model_to_dot_and_plot_model(tmp_path):
    from graphc.layers import Dense
    from graphc.models import Sequential
    model = Sequential([Dense(5, activation="relu", input_shape=(3,), name="d1"),
                        Dense(2, name="d2")])
    dot = gi.model_to_dot(model, show_shapes=True)
    assert "d1: Dense" in dot and "d2: Dense" in dot and "->" in dot
    if gi.graphviz_available():
        data = gi.plot_model(model, to_file=str(tmp_path / "m.svg"))
        assert b"<svg" in data
    g = gi.graph_of(model)          # not compiled: its predict step
    assert g.name == "predict_function"
    with pytest.raises(gi.InspectError, match="not compiled"):
        gi.graph_of(model, step="train")
